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
  Cost      // USD per million output tokens, lower is better
};

// The per-request latency sample an objective summarizes (the bound fills only that one).
enum class ObjectiveSample : std::uint8_t { None, Ttft, Tpot, E2e };

struct ObjectiveSpec {
  Objective id;
  const char* name;
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
bool higher_is_better(Objective o);
// Objective value of a result (natural units, see Objective).
double objective_value(Objective o, const SimResult& r, double price_per_gpu_hour);

}  // namespace apex
