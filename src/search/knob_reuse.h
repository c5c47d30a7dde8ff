// search/knob_reuse.h — exact reuse of a simulated run across the engine knob values of one plan
// (search --tune). A run records how close it came to each limit (SimResult::limits): a knob that
// never decided anything may take any value at least the figure the run needed, the KV cache any
// size that still holds every allocation, admission and reservation without eviction, and the
// run is the same step for step. Such a setting takes the run's result, with its own memory
// footprint and the peak KV utilization over its own block count, exactly what simulating it gives.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <vector>

#include "search/planner.h"

namespace apex {

// True when simulating `x` would reproduce the run of `y` (both feasible outcomes of the search).
bool run_reusable_for(const PlanOutcome& y, const PlanOutcome& x);
// What simulating `x` gives, from the run of `y` (run_reusable_for(y, x)).
SimResult reused_result(const PlanOutcome& y, const PlanOutcome& x);

// The runs of each plan so far, offered to its other knob settings. Plans are told apart by
// candidate id / knob settings per plan (enumerate_plans puts the knobs innermost).
class KnobReuse {
 public:
  explicit KnobReuse(std::uint64_t settings_per_plan) : settings_(settings_per_plan) {}
  // Gives every outcome of `wave` its result: an earlier run of its plan covering it is reused
  // (then `reused` scores it); the others run in rounds (`run` simulates a list, in parallel),
  // each round the first pending setting of each plan and engine-cost class (settings whose
  // costs differ never share a run), whose runs are offered to the rest. The
  // rounds depend on the results only, so the counts are the same for any thread count. Returns
  // the number of outcomes reused.
  std::uint64_t run_wave(const std::vector<PlanOutcome*>& wave,
                         const std::function<void(std::vector<PlanOutcome*>&)>& run,
                         const std::function<void(PlanOutcome&)>& reused);

 private:
  std::uint64_t plan_of(const PlanOutcome& o) const { return o.candidate.id / settings_; }
  std::uint64_t settings_;
  std::map<std::uint64_t, std::vector<const PlanOutcome*>> runs_;  // plan -> outcomes simulated
};

}  // namespace apex
