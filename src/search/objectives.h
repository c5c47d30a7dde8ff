// search/objectives.h — what a search ranks plans by, one table (objectives.cpp): each objective's
// name, direction, the per-request sample it reads, and its value on a result. The same value
// function scores a simulated result and the optimistic result of the search bound. A new
// objective is an enum value and one table line.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "sim/simulator.h"

namespace apex {

enum class Objective : std::uint8_t {
  Throughput,  // output tokens/s, higher is better
  TtftMean,
  TtftP50,
  TtftP99,
  TpotMean,
  TpotP50,
  TpotP99,
  E2eMean,
  E2eP50,
  E2eP99,
  Goodput,  // requests/s meeting both SLOs, higher is better
  Energy,   // joules per output token, lower is better
  Cost      // USD per million output tokens (with SLOs: ÷ SLO attainment), lower is better
};

// The objective a search ranks by when none is given: mean end-to-end latency. Under open-loop
// arrivals (a rate or a trace) every plan that keeps up serves the offered rate, so throughput
// ties across plans and the pick falls to noise; mean E2E (the latency a user waits for a whole
// answer: queueing, prefill and decode) separates them, and under a closed loop it is throughput
// seen from the client (Little's law: concurrency / mean E2E). `throughput` stays available for
// offline and closed-loop use.
inline constexpr Objective kDefaultObjective = Objective::E2eMean;

// Two objective values within this relative distance tie: 1% is well below the simulator's own
// error against measured runs (median 5.4% on stage mean E2E of the vLLM 0.15.1 runs,
// docs/validation.md), so the simulator cannot tell such plans apart and the ranking falls to the stated
// tie-breaks (search/planner.h). |a - b| <= kObjectiveTieTolerance * max(|a|, |b|); two zeros tie.
inline constexpr double kObjectiveTieTolerance = 0.01;

// The per-request latency sample an objective summarizes (the bound fills only that one).
enum class ObjectiveSample : std::uint8_t { None, Ttft, Tpot, E2e };

struct ObjectiveSpec {
  Objective id;
  const char* name;
  const char* description;  // what it measures, with its unit (the search table prints it)
  bool higher_is_better;
  ObjectiveSample sample;
  // The value in natural units; `price` is USD per GPU-hour.
  double (*value)(const SimResult& r, double price);
};

const std::vector<ObjectiveSpec>& objective_registry();
const ObjectiveSpec& objective_spec(Objective o);
Objective parse_objective(const std::string& text);
std::string_view objective_name(Objective o);
const std::vector<std::string>& objective_names();
std::string_view objective_description(Objective o);
bool higher_is_better(Objective o);
// Whether two objective values tie within kObjectiveTieTolerance.
bool objective_tie(double a, double b);
// USD per million output tokens at `price` USD per GPU-hour (every request counted).
double cost_per_million_output_tokens(const SimResult& r, double price_per_gpu_hour);
// Objective value of a result (natural units, see Objective).
double objective_value(Objective o, const SimResult& r, double price_per_gpu_hour);

}  // namespace apex
