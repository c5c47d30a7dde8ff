// dist/serialize.h — a simulated plan outcome as JSON and back, losslessly (doubles round-trip
// exactly), so that MPI ranks can share results and every rank ranks the same numbers.
#pragma once

#include "core/json_util.h"
#include "search/planner.h"

namespace apex {

Json sim_result_to_json(const SimResult& r);
SimResult sim_result_from_json(const Json& j);

// The simulated part of an outcome: result, score and cost (the candidate itself is known to
// every rank and is not sent).
Json outcome_to_json(const PlanOutcome& o);
void outcome_from_json(const Json& j, PlanOutcome& o);

}  // namespace apex
