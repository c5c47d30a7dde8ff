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
class Progress;  // core/progress.h

// Runs `simulate(o)` for every outcome of one wave of the search. The default runs them on a
// thread pool; the MPI sweep (src/dist) spreads them over ranks and shares the results, so every
// rank continues with identical state. Contract: on return every outcome of `wave` holds its
// result, score and cost, exactly as `simulate` would have set them.
using WaveRunner = std::function<void(std::vector<PlanOutcome*>& wave, int threads,
                                      const std::function<void(PlanOutcome&)>& simulate)>;

// The largest plan space the planner builds (the cluster size is bounded by hw's kMaxClusterGpus):
// far above any real search, it keeps an absurd input from exhausting memory.
inline constexpr std::uint64_t kMaxPlanCandidates = 200000;

// The reason code (rejected-plans histogram) of a simulated plan whose SLO attainment is below
// SearchOptions::min_attainment.
inline constexpr const char* kRejectBelowMinAttainment = "slo-attainment-below-min";
// The default of SearchOptions::min_attainment when an SLO is given (0 without SLOs).
inline constexpr double kDefaultMinAttainment = 0.9;

struct SearchOptions {
  Objective objective = kDefaultObjective;
  bool objective_is_default = false;  // for the report: the objective was not chosen by the user
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
  // Simulated plans meeting every SLO for fewer than this fraction of requests are rejected
  // (kRejectBelowMinAttainment); 0..1. Unset: kDefaultMinAttainment with an SLO, 0 without.
  std::optional<double> min_attainment;
  // Counts the feasible plans as they are simulated or pruned (may be null; never changes the result).
  Progress* progress = nullptr;
  bool fast_forward = true;  // RunOptions::fast_forward of every simulation
  // Reuse one plan's run for other knob values that cannot change it (exact: a knob value is
  // reused only where no limit the run met would decide differently and the engine costs are the
  // same; the memory-dependent fields are the new setting's). false: simulate every setting.
  bool reuse_knobs = true;
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
  double score = 0;                    // objective value (natural units)
  double bound = 0;                    // optimistic objective value from the analytical bound
  double cost_per_million_tokens = 0;  // every request counted (the cost objective divides by attainment)
  int tie_group = 0;                   // ranked plans: 1-based group of plans tying on the objective
};

// How the ranking was decided. Plans are sorted by the objective; from the best down, every plan
// whose objective ties with the best remaining one (objective_tie: within kObjectiveTieTolerance)
// joins its group, and a group is ordered by the tie-breaks, in order: SLO attainment (higher;
// only with SLOs), mean E2E latency (lower; not when that is the objective), fewer GPUs, the
// objective's exact value, and the enumeration order. The pruning threshold widens by the same
// tolerance, so a pruned search still ranks exactly what the exhaustive one does.
struct RankingInfo {
  bool objective_is_default = false;
  double tie_tolerance = kObjectiveTieTolerance;
  std::vector<std::string> tie_breaks;  // names, in the order applied
  std::size_t tied = 1;                 // ranked plans in the best plan's group (1: no tie)
  std::string decided_by;               // tied: the tie-break that put the best ahead of the second
  double min_attainment = 0;
  bool slo = false;  // an SLO is set
  // Best mean TTFT and TPOT over every simulated plan (all feasible plans when none was pruned),
  // with the plan reaching it.
  double best_ttft_mean = 0, best_tpot_mean = 0;
  std::string best_ttft_plan, best_tpot_plan;
};

struct SearchReport {
  Objective objective = kDefaultObjective;
  RankingInfo ranking;
  std::vector<PlanOutcome> ranked;                // simulated plans, best first, at most `top`
  std::vector<PlanOutcome> rejected_examples;     // first rejection of each reason
  std::map<std::string, std::uint64_t> rejected;  // reason -> count
  std::uint64_t enumerated = 0, feasible = 0, simulated = 0, pruned = 0;
  std::uint64_t reused = 0;  // of the simulated, results reused from another knob setting of the plan
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
// histogram and the nearest miss) or when no simulated plan reaches the minimum SLO attainment
// (message names the best attainment and the best mean TTFT and TPOT).
SearchReport search(const Deployment& d, const Trace& trace, const SearchOptions& options);

}  // namespace apex
