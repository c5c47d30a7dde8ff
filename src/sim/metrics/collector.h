// sim/metrics/collector.h — everything a simulation measures, gathered as it happens (requests
// finishing, tokens sampled, micro-batches launched) and turned into a SimResult at the end.
#pragma once

#include <cstdint>
#include <vector>

#include "core/error.h"
#include "core/stats.h"
#include "perf/energy.h"
#include "sim/instance.h"
#include "sim/request_state.h"
#include "sim/simulator.h"

namespace apex {

// The per-request measurements of a set of requests: the whole run, or one load stage.
struct RequestStats {
  explicit RequestStats(bool exact) : ttft(exact), tpot(exact), e2e(exact), queue(exact) {}
  LatencySample ttft, tpot, e2e, queue;  // ttft and e2e client-side
  LogHistogram itl;                      // token-weighted, always the histogram
  std::uint64_t finished = 0, prompt_tokens = 0, output_tokens = 0, slo_met = 0;
  TimeNs first_arrival = -1, last_completion = 0;

  // Token intervals, run-length: the decodes of one step mostly share their interval, so equal
  // ones are counted together and added to `itl` once (its count, sum, extremes and buckets do not
  // depend on the order or grouping of its adds).
  void add_itl(TimeNs gap, std::uint64_t times) {
    if (gap == itl_run_gap_) {
      itl_run_ += times;
      return;
    }
    flush_itl();
    itl_run_gap_ = gap;
    itl_run_ = times;
  }
  void flush_itl() {
    if (itl_run_ > 0) itl.add(itl_run_gap_, itl_run_);
    itl_run_ = 0;
  }

  // The per-request fields of a result: latency summaries, counts, makespan and the rates over it.
  void fill(SimResult& out);
  std::size_t memory_bytes() const {
    return ttft.memory_bytes() + tpot.memory_bytes() + e2e.memory_bytes() + queue.memory_bytes() +
           itl.memory_bytes();
  }

 private:
  TimeNs itl_run_gap_ = -1;
  std::uint64_t itl_run_ = 0;
};

class MetricsCollector {
 public:
  MetricsCollector(const PlanInstance& instance, const RunOptions& options);

  void on_arrival(const ActiveRequest& a, std::uint64_t active) {
    ++arrived_;
    each_stats(a, [&](RequestStats& s) {
      if (s.first_arrival < 0) s.first_arrival = a.arrival;
    });
    peak_active_ = std::max(peak_active_, active);
  }
  // Time passes from one instant to the next with `active` requests in the system.
  void advance(TimeNs from, TimeNs to, std::uint64_t active) {
    active_time_integral_ += static_cast<double>(active) * ns_to_seconds(to - from);
  }
  void on_scheduled(ActiveRequest& a, TimeNs now) {
    if (a.queue_recorded) return;
    each_stats(a, [&](RequestStats& s) { s.queue.add(ns_to_seconds(now - a.arrival)); });
    a.queue_recorded = true;
  }
  void on_tokens(ActiveRequest& a, std::int32_t n, TimeNs now);
  // A set of requests that sample tokens together (a steady decode stretch): how many count in
  // the run's statistics and in each load stage's.
  struct TokenGroup {
    std::uint64_t all = 0;
    std::vector<std::uint64_t> stages;
  };
  void join(TokenGroup& g, const ActiveRequest& a) {
    ++g.all;
    if (stages_.empty()) return;
    g.stages.resize(stages_.size());
    each_stats(a, [&](RequestStats& s) {
      if (&s != &all_) ++g.stages[static_cast<std::size_t>(&s - stages_.data())];
    });
  }
  // Every request of `g` sampled one token `gap` after its previous one: the same as on_tokens(a,
  // 1, now) for each (the token-latency histogram's sum is exact, so the order does not matter).
  void on_tokens(const TokenGroup& g, TimeNs gap) {
    emitted_tokens_ += g.all;
    all_.add_itl(gap, g.all);
    for (std::size_t k = 0; k < g.stages.size(); ++k)
      stages_[k].add_itl(gap, g.stages[k]);
  }
  void on_finish(const ActiveRequest& a, TimeNs now);
  void on_preempt() { ++preemptions_; }
  void on_fast_forward(FastForwardCounts::Kind k) {
    ++(k == FastForwardCounts::kPlanned ? fast_forwarded_.planned : fast_forwarded_.without_queue);
  }
  void on_prefix_hit(std::int32_t tokens) { prefix_hit_tokens_ += static_cast<std::uint64_t>(tokens); }
  // One micro-batch launched: its work on a replica whose stages took `stage_s` each.
  void on_launch(const BatchShape& shape, const Work& w, const std::vector<double>& stage_s,
                 int gpus_per_stage) {
    ++iterations_;
    batch_seqs_ += static_cast<std::uint64_t>(shape.seqs());
    batch_tokens_ += static_cast<std::uint64_t>(shape.tokens());
    flops_ += w.model_flops;
    bytes_ += w.bytes_read;
    // While a stage computes, each of its GPUs draws idle power plus a dynamic part (perf/energy.h).
    double busy_gpu_s = 0;
    for (double s : stage_s)
      busy_gpu_s += s * gpus_per_stage;
    dynamic_energy_ += power_.dynamic_energy(w, busy_gpu_s);
  }
  void on_busy(double replica_seconds) { busy_replica_time_ += replica_seconds; }
  void on_kv_use(double utilization) { peak_kv_ = std::max(peak_kv_, utilization); }
  TimeBreakdown& time() { return time_; }

  SimResult result(const MemoryFootprint& memory);
  // Heap and object bytes of the per-request statistics (records excluded): bounded by the range
  // of the latencies, not by the number of requests, unless exact values are kept.
  std::size_t stats_memory_bytes() const;

 private:
  // The statistics a request counts in: the run's, and its load stage's when stages are measured.
  template <class F>
  void each_stats(const ActiveRequest& a, F&& f) {
    f(all_);
    if (stages_.empty()) return;
    APEX_ASSERT(a.stage >= 0 && static_cast<std::size_t>(a.stage) < stages_.size(),
                "request of a load stage the run does not measure");
    f(stages_[static_cast<std::size_t>(a.stage)]);
  }

  const PlanInstance& inst_;
  RunOptions options_;
  double peak_flops_;
  PowerModel power_;
  TimeNs frontend_ns_;  // client-side latency added to every TTFT and E2E
  // Physical floors (the constructor): the shortest possible token interval, and the FLOPs per
  // prompt token and FLOP rate of a replica that bound a first token from below.
  double itl_floor_ns_ = 0, prefill_flops_per_token_ = 0, replica_flop_rate_ = 1;
  RequestStats all_;
  std::vector<RequestStats> stages_;  // one per RunOptions::stages
  std::uint64_t iterations_ = 0, preemptions_ = 0, batch_seqs_ = 0, batch_tokens_ = 0, peak_active_ = 0;
  std::uint64_t prefix_hit_tokens_ = 0;
  FastForwardCounts fast_forwarded_;
  std::uint64_t arrived_ = 0, emitted_tokens_ = 0;  // for the conservation checks
  double flops_ = 0, bytes_ = 0, dynamic_energy_ = 0, busy_replica_time_ = 0;
  double peak_kv_ = 0;
  double active_time_integral_ = 0;  // ∫ (requests in the system) dt, for Little's law
  TimeBreakdown time_;
  std::vector<RequestRecord> records_;
};

}  // namespace apex
