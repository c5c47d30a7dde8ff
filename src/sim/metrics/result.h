// sim/metrics/result.h — what one simulated run measured: SimResult and its parts.
//
// Every field is registered once in sim/metrics/registry.cpp, which drives the JSON, CSV and
// table reports and the MPI serialization; a field added here must be registered there (the
// build checks the field counts).
#pragma once

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "core/stats.h"
#include "perf/cost_model.h"
#include "plan/plan.h"

namespace apex {

// Where the replica time of a run went, summed over iterations (seconds; with pp > 1 the kernel
// parts are stage-seconds summed over the stages).
struct TimeBreakdown {
  bool measured = false;  // kernel parts were collected (RunOptions::breakdown)
  CostModel::StepBreakdown kernels;
  double cpu_overhead = 0;  // engine step overhead before each micro-batch launches
  double pp_transfer = 0;   // activations sent between pipeline stages
};

// One served request, for --per-request output.
struct RequestRecord {
  std::uint64_t id = 0;
  double arrival = 0, ttft = 0, e2e = 0, tpot = 0;  // seconds
  std::int32_t prompt = 0, output = 0;
  std::int32_t replica = 0;
  std::int32_t preemptions = 0;
};

struct StageResult;

// How close a run came to its engine's limits, so a search can reuse it for other values of the
// knobs (search --tune): a limit that never decided anything may take any value at least its
// `needed` figure without changing the run. Not a reported metric (no registry entry).
struct LimitUse {
  bool recorded = false;  // filled by the simulator; false (unknown): the run is reused for nothing
  // A limit that bound: it refused or shortened something (a sequence at max_num_seqs, tokens or
  // a step at the token budget, a block allocation, admission or reservation, or it evicted a
  // cached prefix), so only its exact value reproduces the run.
  bool max_num_seqs = false, max_num_batched_tokens = false, kv_cache = false;
  std::int64_t seqs_needed = 0;    // the smallest max_num_seqs passing every check the run made
  std::int64_t tokens_needed = 0;  // the same for max_num_batched_tokens
  // KV blocks per replica: every allocation and reservation fits without eviction in at least
  // `kv_blocks_needed`; every admission in `kv_admit_needed` above the admission watermark.
  std::int64_t kv_blocks_needed = 0, kv_admit_needed = 0;
  std::int64_t kv_peak_used = 0;  // blocks not free at a launch, at most (peak_kv_utilization × blocks)

  void merge(const LimitUse& o) {
    max_num_seqs = max_num_seqs || o.max_num_seqs;
    max_num_batched_tokens = max_num_batched_tokens || o.max_num_batched_tokens;
    kv_cache = kv_cache || o.kv_cache;
    seqs_needed = std::max(seqs_needed, o.seqs_needed);
    tokens_needed = std::max(tokens_needed, o.tokens_needed);
    kv_blocks_needed = std::max(kv_blocks_needed, o.kv_blocks_needed);
    kv_admit_needed = std::max(kv_admit_needed, o.kv_admit_needed);
    kv_peak_used = std::max(kv_peak_used, o.kv_peak_used);
  }
};

struct SimResult {
  Plan plan;
  MemoryFootprint memory;
  std::string engine;
  Summary ttft, tpot, itl, e2e, queue;  // seconds; queue = arrival -> first scheduled
  std::uint64_t requests = 0;
  std::uint64_t prompt_tokens = 0, output_tokens = 0;
  double first_arrival = 0, last_completion = 0;
  double makespan = 0;                 // first arrival -> last completion
  double throughput_tokens_per_s = 0;  // output tokens / makespan
  double requests_per_s = 0;
  double mfu = 0, mbu = 0;
  double energy_j = 0, energy_per_output_token_j = 0, energy_per_request_j = 0;
  double mean_power_per_gpu_w = 0;  // energy / (makespan × GPUs), idle time included
  double slo_attainment = 1.0;      // fraction of requests meeting every given SLO
  double goodput_requests_per_s = 0;
  std::uint64_t iterations = 0, preemptions = 0;
  double mean_batch_seqs = 0, mean_batch_tokens = 0;
  double busy_fraction = 0;  // share of replica-time with a micro-batch in flight
  double peak_kv_utilization = 0;
  std::uint64_t peak_active_requests = 0;   // arrived, not finished (memory scales with this)
  std::uint64_t prefix_hit_tokens = 0;      // prompt tokens whose KV came from the prefix cache
  std::uint64_t prefix_cpu_hit_tokens = 0;  // of those, loaded back from the CPU offload tier
  std::uint64_t cpu_offload_blocks = 0;     // CPU KV offload tier per replica, blocks (0 = off)
  double mean_active_requests = 0;          // time-averaged requests in the system (Little's L)
  TimeBreakdown time;
  std::vector<RequestRecord> request_records;  // in completion order; only with record_requests
  // One per load stage of a load profile (RunOptions::stages), the requests that arrived in it;
  // empty otherwise.
  std::vector<StageResult> stages;
  LimitUse limits;  // for the search's reuse across knob values; not reported
};

// The requests that arrived in one load stage, measured as a run of their own: `metrics` holds
// the per-request fields of a SimResult (the metrics the registry marks per_request) and nothing
// else.
struct StageResult {
  double rate = 0;            // offered requests/s
  double start = 0, end = 0;  // seconds from the start of the run
  SimResult metrics;
};

}  // namespace apex
