#include "dist/serialize.h"

namespace apex {

NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(Stage, first_layer, end_layer, cell_counts, has_embedding, has_lm_head)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(Plan, dp, tp, pp, ep, attn_dp, stages)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(Summary, count, mean, p50, p90, p99, min, max)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(MemoryFootprint, capacity, budget, weights, activation, runtime_reserve,
                                   kv_cache, kv_bytes_per_token, kv_blocks, block_size)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(SimResult, plan, memory, engine, ttft, tpot, itl, e2e, queue, requests,
                                   prompt_tokens, output_tokens, first_arrival, last_completion, makespan,
                                   throughput_tokens_per_s, requests_per_s, mfu, mbu, energy_j,
                                   energy_per_output_token_j, energy_per_request_j, mean_power_per_gpu_w,
                                   slo_attainment, goodput_requests_per_s, iterations, preemptions,
                                   mean_batch_seqs, mean_batch_tokens, busy_fraction, peak_kv_utilization,
                                   peak_active_requests, mean_active_requests)

Json sim_result_to_json(const SimResult& r) {
  return Json(r);
}
SimResult sim_result_from_json(const Json& j) {
  return j.get<SimResult>();
}

Json outcome_to_json(const PlanOutcome& o) {
  Json j;
  j["score"] = o.score;
  j["cost"] = o.cost_per_million_tokens;
  if (o.result) j["result"] = sim_result_to_json(*o.result);
  return j;
}

void outcome_from_json(const Json& j, PlanOutcome& o) {
  o.score = j.at("score").get<double>();
  o.cost_per_million_tokens = j.at("cost").get<double>();
  if (j.contains("result")) o.result = sim_result_from_json(j.at("result"));
}

}  // namespace apex
