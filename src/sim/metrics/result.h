// sim/metrics/result.h — what one simulated run measured: SimResult and its parts.
//
// Every field is registered once in sim/metrics/registry.cpp, which drives the JSON, CSV and
// table reports and the MPI serialization; a field added here must be registered there (the
// build checks the field counts).
#pragma once

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
