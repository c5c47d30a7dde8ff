#include "sim/metrics/collector.h"

#include <algorithm>

#include <fmt/format.h>

#include "core/dtype.h"
#include "core/error.h"
#include "plan/sharding.h"

namespace apex {

MetricsCollector::MetricsCollector(const PlanInstance& instance, const RunOptions& options)
    : inst_(instance),
      options_(options),
      peak_flops_(math_peak_flops(instance.d().cluster.gpu, instance.sharded.math)),
      power_(instance.d().cluster.gpu, peak_flops_),
      frontend_ns_(seconds_to_ns(instance.engine.costs.frontend_latency)),
      all_(options.record_requests),
      stages_(options.stages.size(), RequestStats(options.record_requests)) {
  // Physical floors of every run (checked always; cheap). A replica's G GPUs together stream its
  // weights once per step and compute at most G x peak FLOP/s. Counted low, so only a model faster
  // than the hardware trips them: the embedding tables (a lookup reads a few rows), the LM head
  // (its width may differ) and an encoder (read only in steps that encode) are left out, and
  // packed weights count at their bare width (no scales).
  const ShardedModel& sm = instance.sharded;
  const Model& m = sm.model();
  const Plan& plan = instance.plan;
  const double replica_gpus = static_cast<double>(plan.tp) * plan.pp;
  double streamed = sm.weight_bytes_per_replica;  // routed experts excluded (read as activated)
  for (const Stage& st : plan.stages) {
    Stage left_out = st;  // the embedding, the LM head and (encoder-decoder) the encoder
    for (std::size_t c = 0; c < m.cells.size(); ++c) {
      if (m.cells[c].role != CellRole::Encoder) left_out.cell_counts[c] = 0;
    }
    streamed -= stage_weight_bytes(m, plan, left_out, sm.precision) * plan.tp;
  }
  streamed *= dtype_bytes(sm.precision.weight) / sm.weight_width;
  // A token interval holds at least one whole step (a request is in one micro-batch at a time,
  // which passes every stage); speculative decoding emits up to spec_tokens + 1 tokens in one.
  itl_floor_ns_ = std::max(0.0, streamed) / (replica_gpus * instance.d().cluster.gpu.hbm_bandwidth) /
                  (instance.engine.costs.spec_tokens + 1) * 1e9;
  // A first token needs the prompt's linear FLOPs (the prefix a cache may hold excepted); an
  // encoder-decoder model's, its encoder's over the input.
  prefill_flops_per_token_ = m.encoder_decoder ? sm.encoder_flops_per_token : sm.linear_flops_per_token;
  replica_flop_rate_ = replica_gpus * peak_flops_;
}

std::size_t MetricsCollector::stats_memory_bytes() const {
  std::size_t bytes = all_.memory_bytes();
  for (const RequestStats& s : stages_)
    bytes += s.memory_bytes();
  return bytes;
}

void RequestStats::fill(SimResult& out) {
  out.requests = finished;
  out.prompt_tokens = prompt_tokens;
  out.output_tokens = output_tokens;
  out.ttft = ttft.summary();
  out.tpot = tpot.summary();
  out.e2e = e2e.summary();
  out.queue = queue.summary();
  flush_itl();
  out.itl = itl.summary_seconds();
  out.first_arrival = first_arrival < 0 ? 0 : ns_to_seconds(first_arrival);
  out.last_completion = ns_to_seconds(last_completion);
  out.makespan = finished > 0 ? ns_to_seconds(last_completion - first_arrival) : 0;
  if (out.makespan > 0) {
    out.throughput_tokens_per_s = static_cast<double>(output_tokens) / out.makespan;
    out.requests_per_s = static_cast<double>(finished) / out.makespan;
    out.goodput_requests_per_s = static_cast<double>(slo_met) / out.makespan;
  }
  out.slo_attainment = finished > 0 ? static_cast<double>(slo_met) / static_cast<double>(finished) : 0;
}

void MetricsCollector::on_tokens(ActiveRequest& a, std::int32_t n, TimeNs now) {
  emitted_tokens_ += static_cast<std::uint64_t>(n);
  if (a.first_token < 0) {
    a.first_token = now;
  } else {
    // n tokens in one step share the interval (token-weighted, as vLLM's time_per_output_token).
    const TimeNs gap = now - a.last_token;
    each_stats(a, [&](RequestStats& s) { s.add_itl(gap / n, static_cast<std::uint64_t>(n)); });
  }
  a.last_token = now;
}

void MetricsCollector::on_finish(const ActiveRequest& a, TimeNs now) {
  // TTFT and E2E as the client sees them: the engine's plus the front end's latency (HTTP,
  // tokenization, detokenization and streaming). TPOT is the engine's decode, unchanged by it.
  const double t_ttft = ns_to_seconds(a.first_token - a.arrival + frontend_ns_);
  const double t_e2e = ns_to_seconds(now - a.arrival + frontend_ns_);
  double t_tpot = 0;
  if (a.output > 1) {
    t_tpot = (ns_to_seconds(now - a.arrival) - ns_to_seconds(a.first_token - a.arrival)) /
             static_cast<double>(a.output - 1);
  }
  // Physical sanity, always on: no first token before the prefill's compute could be done.
  const std::int32_t computed = inst_.d().model.encoder_decoder ? a.prompt : std::max(0, a.prompt - a.prefix);
  const double ttft_floor = static_cast<double>(computed) * prefill_flops_per_token_ / replica_flop_rate_;
  APEX_ASSERT(t_ttft >= ttft_floor * (1 - 1e-6) - 1e-6,
              fmt::format("TTFT below the prefill compute bound: request {} ({} prompt tokens to compute) "
                          "got its first token after {:.6g} s, its linear FLOPs need {:.6g} s at peak",
                          a.id, computed, t_ttft, ttft_floor));
  bool ok = true;
  const Deployment& d = inst_.d();
  if (d.ttft_slo > 0 && t_ttft > d.ttft_slo) ok = false;
  if (d.tpot_slo > 0 && a.output > 1 && t_tpot > d.tpot_slo) ok = false;
  each_stats(a, [&](RequestStats& s) {
    s.ttft.add(t_ttft);
    s.e2e.add(t_e2e);
    if (a.output > 1) s.tpot.add(t_tpot);
    if (ok) ++s.slo_met;
    ++s.finished;
    s.prompt_tokens += static_cast<std::uint64_t>(a.prompt);
    s.output_tokens += static_cast<std::uint64_t>(a.output);
    s.last_completion = std::max(s.last_completion, now);
  });
  if (options_.record_requests) {
    records_.push_back(RequestRecord{a.id, ns_to_seconds(a.arrival), t_ttft, t_e2e, t_tpot, a.prompt,
                                     a.output, a.replica, a.preemptions});
  }
}

SimResult MetricsCollector::result(const MemoryFootprint& memory) {
  SimResult out;
  out.plan = inst_.plan;
  out.memory = memory;
  out.engine = inst_.engine.name;
  all_.fill(out);
  double stage_start = 0;
  for (std::size_t k = 0; k < stages_.size(); ++k) {
    const LoadStage& st = options_.stages[k];
    StageResult& sr = out.stages.emplace_back();
    sr.rate = st.rate;
    sr.start = stage_start;
    sr.end = stage_start + st.duration_s;
    stage_start = sr.end;
    stages_[k].fill(sr.metrics);
  }
  out.iterations = iterations_;
  out.preemptions = preemptions_;
  if (options_.fast_forwarded != nullptr) *options_.fast_forwarded = fast_forwarded_;
  out.peak_kv_utilization = peak_kv_;
  out.peak_active_requests = peak_active_;
  out.prefix_hit_tokens = prefix_hit_tokens_;
  out.request_records = std::move(records_);
  out.time = time_;
  out.time.measured = options_.breakdown;
  if (iterations_ > 0) {
    out.mean_batch_seqs = static_cast<double>(batch_seqs_) / static_cast<double>(iterations_);
    out.mean_batch_tokens = static_cast<double>(batch_tokens_) / static_cast<double>(iterations_);
  }
  // No token interval shorter than one step's weight reads from HBM (out.itl.min is exact).
  APEX_ASSERT(out.itl.count == 0 || out.itl.min * 1e9 >= itl_floor_ns_ * (1 - 1e-6) - inst_.plan.pp - 1,
              fmt::format("ITL below the weight-read time of a step: {:.6g} s, reading the weights from HBM "
                          "takes {:.6g} s",
                          out.itl.min, itl_floor_ns_ * 1e-9));
  const int gpus = inst_.plan.gpus();
  const int dp = inst_.plan.dp;
  if (out.makespan > 0) {
    out.mfu = flops_ / (out.makespan * peak_flops_ * gpus);
    out.mbu = bytes_ / (out.makespan * inst_.d().cluster.gpu.hbm_bandwidth * gpus);
    out.mean_active_requests = active_time_integral_ / out.makespan;
    out.busy_fraction = std::min(1.0, busy_replica_time_ / (out.makespan * dp));
    APEX_ASSERT(out.mfu <= 1.0 + 1e-9, "MFU above 100%: the cost model is faster than the peak");
    APEX_ASSERT(out.mbu <= 1.0 + 1e-9, "MBU above 100%: the cost model is faster than HBM");
  }
  out.energy_j = power_.idle_energy(gpus, out.makespan) + dynamic_energy_;
  // Physical sanity, always on: every request that arrived finished with all its tokens, and no
  // GPU drew more than its maximum power.
  const std::uint64_t finished = all_.finished, output_tokens = all_.output_tokens;
  APEX_ASSERT(arrived_ == finished, "requests not conserved: arrived != finished");
  APEX_ASSERT(emitted_tokens_ == output_tokens, "tokens not conserved: sampled != requested output tokens");
  const double max_energy = inst_.d().cluster.gpu.power_max_w * gpus * out.makespan;
  APEX_ASSERT(out.energy_j <= max_energy * (1 + 1e-9) + 1e-9, "energy above max power x GPUs x makespan");
  out.energy_per_output_token_j = output_tokens > 0 ? out.energy_j / static_cast<double>(output_tokens) : 0;
  out.energy_per_request_j = finished > 0 ? out.energy_j / static_cast<double>(finished) : 0;
  out.mean_power_per_gpu_w = out.makespan > 0 ? out.energy_j / (out.makespan * gpus) : 0;
  return out;
}

}  // namespace apex
