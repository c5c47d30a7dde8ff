// sim/simulator.h — iteration-level discrete-event simulation of a serving deployment.
//
// One shared clock (integer nanoseconds) for every DP replica and pipeline stage. Events are
// ordered by (time, sequence number); everything that happens at one instant is applied before
// any replica schedules its next step, replicas in index order. The simulator advances whole
// iterations (one micro-batch through every stage), never single tokens; steady decode stretches
// are fast-forwarded with the same result (replica.cpp, RunOptions::fast_forward). What a run
// measured (SimResult and its parts) is declared in sim/metrics/result.h.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/stats.h"
#include "perf/cost_model.h"
#include "plan/plan.h"
#include "sim/engine.h"
#include "sim/metrics/result.h"
#include "sim/router/router.h"
#include "workload/workload.h"
