#include "search/objectives.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/error.h"

namespace apex {
namespace {

// With SLOs, the cost of what was served within them: the tokens of requests that miss are
// waste, so the cost per token is divided by the fraction of requests meeting every SLO
// (exactly the cost per SLO-meeting token when output lengths are equal). Without SLOs the
// attainment is 1 and this is the plain cost.
double cost_of_slo_service(const SimResult& r, double price) {
  const double raw = cost_per_million_output_tokens(r, price);
  if (!(r.slo_attainment > 0)) return std::numeric_limits<double>::infinity();
  return raw / r.slo_attainment;
}

using S = ObjectiveSample;

}  // namespace

double cost_per_million_output_tokens(const SimResult& r, double price) {
  if (r.output_tokens == 0) return std::numeric_limits<double>::infinity();
  const double dollars = price * r.plan.gpus() * r.makespan / 3600.0;
  return dollars / static_cast<double>(r.output_tokens) * 1e6;
}

const std::vector<ObjectiveSpec>& objective_registry() {
  static const std::vector<ObjectiveSpec> list = {
      {Objective::Throughput, "throughput", "output tokens/s", true, S::None,
       [](const SimResult& r, double) { return r.throughput_tokens_per_s; }},
      {Objective::TtftMean, "ttft", "mean time to first token, s", false, S::Ttft,
       [](const SimResult& r, double) { return r.ttft.mean; }},
      {Objective::TtftP50, "ttft-p50", "median time to first token, s", false, S::Ttft,
       [](const SimResult& r, double) { return r.ttft.p50; }},
      {Objective::TtftP99, "ttft-p99", "p99 time to first token, s", false, S::Ttft,
       [](const SimResult& r, double) { return r.ttft.p99; }},
      {Objective::TpotMean, "tpot", "mean time per output token, s", false, S::Tpot,
       [](const SimResult& r, double) { return r.tpot.mean; }},
      {Objective::TpotP50, "tpot-p50", "median time per output token, s", false, S::Tpot,
       [](const SimResult& r, double) { return r.tpot.p50; }},
      {Objective::TpotP99, "tpot-p99", "p99 time per output token, s", false, S::Tpot,
       [](const SimResult& r, double) { return r.tpot.p99; }},
      {Objective::E2eMean, "e2e", "mean end-to-end latency, s", false, S::E2e,
       [](const SimResult& r, double) { return r.e2e.mean; }},
      {Objective::E2eP50, "e2e-p50", "median end-to-end latency, s", false, S::E2e,
       [](const SimResult& r, double) { return r.e2e.p50; }},
      {Objective::E2eP99, "e2e-p99", "p99 end-to-end latency, s", false, S::E2e,
       [](const SimResult& r, double) { return r.e2e.p99; }},
      {Objective::Goodput, "goodput", "requests/s meeting every SLO", true, S::None,
       [](const SimResult& r, double) { return r.goodput_requests_per_s; }},
      {Objective::Energy, "energy", "J per output token", false, S::None,
       [](const SimResult& r, double) { return r.energy_per_output_token_j; }},
      {Objective::Cost, "cost", "USD per million output tokens (with SLOs: / SLO attainment)", false, S::None,
       &cost_of_slo_service},
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

std::string_view objective_description(Objective o) {
  return objective_spec(o).description;
}

bool higher_is_better(Objective o) {
  return objective_spec(o).higher_is_better;
}

bool objective_tie(double a, double b) {
  if (a == b) return true;  // two zeros, or the same infinity
  if (!std::isfinite(a) || !std::isfinite(b)) return false;
  return std::abs(a - b) <= kObjectiveTieTolerance * std::max(std::abs(a), std::abs(b));
}

double objective_value(Objective o, const SimResult& r, double price_per_gpu_hour) {
  return objective_spec(o).value(r, price_per_gpu_hour);
}

}  // namespace apex
