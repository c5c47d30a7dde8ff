#include "search/objectives.h"

#include <limits>

#include "core/error.h"

namespace apex {
namespace {

double cost_per_million_tokens(const SimResult& r, double price) {
  if (r.output_tokens == 0) return std::numeric_limits<double>::infinity();
  const double dollars = price * r.plan.gpus() * r.makespan / 3600.0;
  return dollars / static_cast<double>(r.output_tokens) * 1e6;
}

using S = ObjectiveSample;

}  // namespace

const std::vector<ObjectiveSpec>& objective_registry() {
  static const std::vector<ObjectiveSpec> list = {
      {Objective::Throughput, "throughput", true, S::None,
       [](const SimResult& r, double) { return r.throughput_tokens_per_s; }},
      {Objective::TtftMean, "ttft", false, S::Ttft, [](const SimResult& r, double) { return r.ttft.mean; }},
      {Objective::TtftP50, "ttft-p50", false, S::Ttft, [](const SimResult& r, double) { return r.ttft.p50; }},
      {Objective::TtftP99, "ttft-p99", false, S::Ttft, [](const SimResult& r, double) { return r.ttft.p99; }},
      {Objective::TpotMean, "tpot", false, S::Tpot, [](const SimResult& r, double) { return r.tpot.mean; }},
      {Objective::TpotP50, "tpot-p50", false, S::Tpot, [](const SimResult& r, double) { return r.tpot.p50; }},
      {Objective::TpotP99, "tpot-p99", false, S::Tpot, [](const SimResult& r, double) { return r.tpot.p99; }},
      {Objective::E2eMean, "e2e", false, S::E2e, [](const SimResult& r, double) { return r.e2e.mean; }},
      {Objective::E2eP50, "e2e-p50", false, S::E2e, [](const SimResult& r, double) { return r.e2e.p50; }},
      {Objective::E2eP99, "e2e-p99", false, S::E2e, [](const SimResult& r, double) { return r.e2e.p99; }},
      {Objective::Goodput, "goodput", true, S::None,
       [](const SimResult& r, double) { return r.goodput_requests_per_s; }},
      {Objective::Energy, "energy", false, S::None,
       [](const SimResult& r, double) { return r.energy_per_output_token_j; }},
      {Objective::Cost, "cost", false, S::None, &cost_per_million_tokens},
  };
  return list;
}

const ObjectiveSpec& objective_spec(Objective o) {
  for (const auto& s : objective_registry()) {
    if (s.id == o) return s;
  }
  APEX_ASSERT(false, "objective missing from the registry");
  return objective_registry().front();
}

const std::vector<std::string>& objective_names() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> n;
    for (const auto& o : objective_registry())
      n.emplace_back(o.name);
    return n;
  }();
  return names;
}

Objective parse_objective(const std::string& text) {
  for (const auto& o : objective_registry()) {
    if (text == o.name) return o.id;
  }
  if (text == "ttft-mean") return Objective::TtftMean;
  if (text == "tpot-mean") return Objective::TpotMean;
  if (text == "e2e-mean") return Objective::E2eMean;
  throw UserError(unknown_name_message("objective", text, objective_names()));
}

std::string_view objective_name(Objective o) {
  return objective_spec(o).name;
}

bool higher_is_better(Objective o) {
  return objective_spec(o).higher_is_better;
}

double objective_value(Objective o, const SimResult& r, double price_per_gpu_hour) {
  return objective_spec(o).value(r, price_per_gpu_hour);
}

}  // namespace apex
