// search/planner.h — enumerate → feasible? → bound → simulate → rank.
//
// The plan space is a Cartesian product addressed by integer ids: (tp, pp, dp) and, when tuning,
// engine knob values. Cheap checks run first (shape, memory), each rejection counted under a
// named reason; then an analytical bound skips plans that cannot enter the top K; the survivors
// are simulated on a thread pool in fixed-size waves, so the result (and every count) is the same
// for any thread count.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "search/objectives.h"
#include "sim/instance.h"

namespace apex {

struct PlanOutcome;

// Runs `simulate(o)` for every outcome of one wave of the search. The default runs them on a
// thread pool; the MPI sweep (src/dist) spreads them over ranks and shares the results, so every
// rank continues with identical state. Contract: on return every outcome of `wave` holds its
// result, score and cost, exactly as `simulate` would have set them.
using WaveRunner = std::function<void(std::vector<PlanOutcome*>& wave, int threads,
                                      const std::function<void(PlanOutcome&)>& simulate)>;

// The largest plan space the planner builds (the cluster size is bounded by hw's kMaxClusterGpus):
// far above any real search, it keeps an absurd input from exhausting memory.
inline constexpr std::uint64_t kMaxPlanCandidates = 200000;

struct SearchOptions {
  Objective objective = Objective::Throughput;
  int top = 10;
  bool exhaustive = false;             // simulate every feasible plan (no bound pruning)
  int threads = 0;                     // 0 = all cores
  PlanOptions plan;                    // cross-node TP, fewer GPUs
  std::vector<int> tune_max_num_seqs;  // engine knob values to try (empty = engine default)
  std::vector<int> tune_max_num_batched_tokens;
  std::optional<double> price_per_gpu_hour;  // overrides the GPU preset
  int wave = 8;                              // plans simulated between two updates of the pruning threshold
  WaveRunner runner;                         // empty = the local thread pool
  std::uint64_t max_candidates = kMaxPlanCandidates;  // UserError when the plan space is larger
};

struct Candidate {
  std::uint64_t id = 0;
  Plan plan;
  EngineOverrides knobs;
  std::string label() const;
};

struct PlanOutcome {
  Candidate candidate;
  bool feasible = false;
  std::string reason;                    // rejection category (histogram key)
  std::string detail;                    // full message
  std::optional<PlanInstance> instance;  // feasible plans: built once by the feasibility check
  std::optional<SimResult> result;
  double score = 0;  // objective value (natural units)
  double bound = 0;  // optimistic objective value from the analytical bound
  double cost_per_million_tokens = 0;
};

struct SearchReport {
  Objective objective = Objective::Throughput;
  std::vector<PlanOutcome> ranked;                // simulated plans, best first, at most `top`
  std::vector<PlanOutcome> rejected_examples;     // first rejection of each reason
  std::map<std::string, std::uint64_t> rejected;  // reason -> count
  std::uint64_t enumerated = 0, feasible = 0, simulated = 0, pruned = 0;
  double wall_s = 0;
  int threads = 1;
  std::optional<PlanOutcome> baseline;      // max TP within a node, DP across nodes
  std::string baseline_note;                // why there is no baseline figure, when there is none
  std::optional<std::string> nearest_miss;  // when nothing is feasible
};

// The number of candidates enumerate_plans returns, counted without building them.
std::uint64_t count_plans(const Deployment& d, const SearchOptions& options);
// Every candidate of the plan space. UserError, before anything is allocated, when the cluster has
// more than kMaxClusterGpus GPUs or the space more than options.max_candidates candidates (the
// message says how to narrow it).
std::vector<Candidate> enumerate_plans(const Deployment& d, const SearchOptions& options);

// Runs the search on a loaded trace. UserError when nothing is feasible (message carries the
// histogram and the nearest miss).
SearchReport search(const Deployment& d, const Trace& trace, const SearchOptions& options);

}  // namespace apex
