#include "dist/serialize.h"

#include <fmt/format.h>

#include "sim/metrics/registry.h"

namespace apex {

NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(Stage, first_layer, end_layer, cell_counts, has_embedding, has_lm_head)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(Plan, dp, tp, pp, ep, attn_dp, stages)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(RequestRecord, id, arrival, ttft, e2e, tpot, prompt, output, replica,
                                   preemptions)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(LimitUse, recorded, max_num_seqs, max_num_batched_tokens, kv_cache,
                                   seqs_needed, tokens_needed, kv_blocks_needed, kv_admit_needed,
                                   kv_peak_used)

namespace {

// The structural parts listed above, counted: a field added to one of them stops this from
// compiling until it is added to its NLOHMANN list. Every other field of SimResult is sent
// through the metric registry (sim/metrics/registry.cpp), which keeps its own inventory.
[[maybe_unused]] void structural_inventory(Plan& p, Stage& s, RequestRecord& q, StageResult& l, LimitUse& u) {
  [[maybe_unused]] auto& [recorded, seqs, tokens, kv, seqs_needed, tokens_needed, kv_blocks_needed,
                          kv_admit_needed, kv_peak_used] = u;
  [[maybe_unused]] auto& [rate, start, end, metrics] = l;
  [[maybe_unused]] auto& [dp, tp, pp, ep, attn_dp, stages] = p;
  [[maybe_unused]] auto& [first_layer, end_layer, cell_counts, has_embedding, has_lm_head] = s;
  [[maybe_unused]] auto& [id, arrival, ttft, e2e, tpot, prompt, output, replica, preemptions] = q;
}

}  // namespace

Json sim_result_to_json(const SimResult& r) {
  Json fields = Json::object();
  for (const Metric& m : metric_registry()) {
    if (m.raw()) fields[std::string(m.id)] = metric_raw_json(m, r);
  }
  Json stages = Json::array();
  for (const StageResult& l : r.stages) {
    stages.push_back(Json{
        {"rate", l.rate}, {"start", l.start}, {"end", l.end}, {"metrics", sim_result_to_json(l.metrics)}});
  }
  return Json{{"plan", r.plan},
              {"request_records", r.request_records},
              {"fields", fields},
              {"stages", stages},
              {"limits", r.limits}};
}

SimResult sim_result_from_json(const Json& j) {
  SimResult r;
  j.at("plan").get_to(r.plan);
  j.at("request_records").get_to(r.request_records);
  j.at("limits").get_to(r.limits);
  for (const Json& l : j.at("stages")) {
    r.stages.push_back(StageResult{l.at("rate").get<double>(), l.at("start").get<double>(),
                                   l.at("end").get<double>(), sim_result_from_json(l.at("metrics"))});
  }
  const Json& fields = j.at("fields");
  std::size_t raw = 0;
  for (const Metric& m : metric_registry()) {
    if (!m.raw()) continue;
    ++raw;
    metric_set_raw_json(m, r, fields.at(std::string(m.id)));
  }
  if (fields.size() != raw) {
    throw std::runtime_error(
        fmt::format("serialized result has {} fields, the metric registry {}: ranks built from different "
                    "sources?",
                    fields.size(), raw));
  }
  return r;
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
