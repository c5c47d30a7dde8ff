// validate/serving.cpp — simulates every public serving result APEX can express (translated by
// serving_translate.cpp) and summarizes the errors.
#include "validate/serving.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "core/error.h"
#include "core/parallel.h"
#include "core/progress.h"
#include "core/stats.h"
#include "validate/serving_translate.h"

namespace apex {
namespace {

using serving::Measure;

void run_case(ServingCase& c) {
  const serving::Setup s = serving::translate(c.row);
  if (!s.why_not.empty()) {
    c.skip_reason = s.why_not;
    return;
  }
  try {
    Deployment d = serving::deployment_for(s);
    const Plan p = serving::plan_for(s, d);
    // One feasibility check: the memory rejection is a skip, anything else not expressible.
    auto made = instantiate(d, p, {}, s.isl + s.osl);
    if (const auto* why = std::get_if<PlanRejection>(&made)) {
      if (why->reason != RejectReason::MemoryWeights && why->reason != RejectReason::MemoryKvCache) {
        throw UserError(why->detail);
      }
      c.skip_reason = fmt::format("does not fit as {}: {}", dtype_name(s.precision.weight), why->detail);
      return;
    }
    auto src = synthetic_source(serving::workload_for(s));
    const SimResult r = simulate(std::get<PlanInstance>(made), *src);
    switch (s.measure) {
      case Measure::Ttft:
        c.simulated_value = r.ttft.mean * 1e3;
        break;
      case Measure::OutputThroughput:
        c.simulated_value = r.throughput_tokens_per_s;
        break;
      case Measure::OutputThroughputPerGpu:
        c.simulated_value = r.throughput_tokens_per_s / p.gpus();
        break;
      case Measure::TokensPerUser:
        c.simulated_value = r.tpot.mean > 0 ? 1.0 / r.tpot.mean : 0.0;
        break;
    }
    c.setup = serving::describe_setup(s, d, p);
    c.simulated = true;
    c.error = c.row.value > 0 ? c.simulated_value / c.row.value - 1.0 : 0.0;
  } catch (const UserError& e) {
    c.skip_reason = fmt::format("not expressible: {}", e.what());
  }
}

}  // namespace

bool is_moe_case(const ServingCase& c) {
  return serving::is_moe_row(c.row);
}

std::vector<ServingCase> validate_serving(const std::vector<ServingRow>& rows, int threads, int stride,
                                          Progress* progress) {
  std::vector<ServingCase> cases(rows.size());
  for (std::size_t i = 0; i < rows.size(); ++i)
    cases[i].row = rows[i];
  std::vector<std::size_t> todo;
  int seen = 0;
  for (std::size_t i = 0; i < rows.size(); ++i) {
    if (std::string why = serving::translate(rows[i]).why_not; !why.empty()) {
      cases[i].skip_reason = std::move(why);
      continue;
    }
    if (seen++ % std::max(1, stride) == 0) todo.push_back(i);
  }
  if (progress != nullptr) progress->set_total(todo.size());
  parallel_for(todo.size(), threads, [&](std::size_t k) {
    run_case(cases[todo[k]]);
    if (progress != nullptr) progress->add_done();
  });
  if (stride > 1) {
    std::vector<ServingCase> kept;
    for (auto& c : cases) {
      if (c.simulated || !c.skip_reason.empty()) kept.push_back(std::move(c));
    }
    return kept;
  }
  return cases;
}

ErrorStats error_stats(const std::vector<ServingCase>& cases) {
  std::vector<double> abs;
  double s = 0;
  for (const auto& c : cases) {
    if (!c.simulated) continue;
    abs.push_back(std::fabs(c.error));
    s += c.error;
  }
  ErrorStats e;
  e.n = abs.size();
  if (abs.empty()) return e;
  std::sort(abs.begin(), abs.end());
  e.median = percentile_sorted(abs, 0.5);
  e.p90 = percentile_sorted(abs, 0.9);
  e.mean_signed = s / static_cast<double>(abs.size());
  return e;
}

}  // namespace apex
