// report/table.cpp — the human tables of simulate and search, at most kTableWidth columns wide
// (the ranked plans of a search may be wider with RunInfo::wide).
#include <algorithm>
#include <climits>
#include <cmath>
#include <functional>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "core/units.h"
#include "report/format.h"
#include "report/report.h"
#include "sim/engines/engine_spec.h"
#include "sim/metrics/registry.h"

namespace apex {
namespace {

std::string ms(double s) {
  return fmt::format("{:.1f}", s * 1e3);
}

// "  name                value", the value wrapped under itself.
std::string field(std::string_view name, std::string_view value, std::size_t name_width = 20) {
  const std::string first = fmt::format("  {:<{}}", name, name_width);
  return wrap(value, kTableWidth, first, std::string(first.size(), ' '));
}

// One line per load stage: its offered rate, requests (those that arrived in it) and latencies.
std::string stages_table(const SimResult& r) {
  std::string out =
      fmt::format("  {:<18} {:>8} {:>8} {:>10} {:>9} {:>10} {:>10} {:>9} {:>8}\n", "load stages", "req/s",
                  "requests", "TTFT mean", "TTFT p90", "TPOT mean", "E2E mean", "E2E p90", "served");
  for (const StageResult& s : r.stages) {
    const SimResult& m = s.metrics;
    out += fmt::format("    {:<16} {:>8.4g} {:>8} {:>10} {:>9} {:>10} {:>10} {:>9} {:>8.3f}\n",
                       fmt::format("{:g}-{:g} s", s.start, s.end), s.rate, m.requests, ms(m.ttft.mean),
                       ms(m.ttft.p90), ms(m.tpot.mean), ms(m.e2e.mean), ms(m.e2e.p90), m.requests_per_s);
  }
  out += wrap(
      "(milliseconds; a request counts in the stage it arrived in; served = its requests / (first arrival "
      "to last completion))",
      kTableWidth, "  ", "   ");
  return out;
}

}  // namespace

std::string simulate_table(const SimResult& r, const RunInfo& info, const EnginePolicy& e) {
  std::string out;
  out += wrap(fmt::format("APEX simulate — {} on {}", info.model, info.cluster), kTableWidth, "", "  ");
  out += field("workload", info.workload, 11);
  out += field("engine",
               fmt::format("{} {} (max_num_seqs {}, max_num_batched_tokens {}, chunked prefill {}, block {})",
                           e.name, e.version, e.max_num_seqs, e.max_num_batched_tokens,
                           e.chunked_prefill ? "on" : "off", e.block_size),
               11);
  out += field("plan",
               fmt::format("{} ({} GPUs), precision {}", r.plan.label(), r.plan.gpus(), info.precision), 11);
  out += "\n";
  out += fmt::format("  {:<10} {:>10} {:>10} {:>10} {:>10}   (milliseconds)\n", "latency", "mean", "p50",
                     "p90", "p99");
  for (const Metric& m : metric_registry()) {
    if (m.label.empty()) continue;
    const Summary s = std::get<Summary>(m.get(r));
    out += fmt::format("  {:<10} {:>10} {:>10} {:>10} {:>10}\n", m.label, ms(s.mean), ms(s.p50), ms(s.p90),
                       ms(s.p99));
  }
  out += "\n";
  const auto line = [&](std::string_view name) { out += field(name, metric_table_line(r, name)); };
  line("requests");
  line("throughput");
  line("utilization");
  out += field("energy", fmt::format("{:.3g} kJ: {:.3f} J per output token, {:.1f} J per request, {:.0f} W "
                                     "per GPU on average",
                                     r.energy_j / 1e3, r.energy_per_output_token_j, r.energy_per_request_j,
                                     r.mean_power_per_gpu_w));
  if (!slo_text(info).empty()) {  // without an SLO every request "meets" it: nothing to report
    out += field("SLO attainment", fmt::format("{} of requests meet {}",
                                               metric_table_line(r, "SLO attainment"), slo_text(info)));
  }
  if (e.costs.frontend_latency > 0) {
    out += field("front end", fmt::format("{} ms per request included in TTFT and E2E (not in TPOT/ITL)",
                                          ms(e.costs.frontend_latency)));
  }
  out += field("memory per GPU",
               fmt::format("weights {}, KV cache {} ({} tokens/replica), activations {}, reserve {} of {}",
                           format_bytes(r.memory.weights), format_bytes(r.memory.kv_cache),
                           r.memory.kv_tokens(), format_bytes(r.memory.activation),
                           format_bytes(r.memory.runtime_reserve), format_bytes(r.memory.capacity)));
  line("scheduler");
  if (r.prefix_hit_tokens > 0) line("prefix cache");
  if (r.time.measured) {
    const double total = breakdown_total(r);
    std::string parts;
    for (const auto& [name, s] : breakdown_parts(r)) {
      if (total > 0 && s > 0)
        parts += fmt::format("{}{} {:.1f}%", parts.empty() ? "" : " ", name, 100 * s / total);
    }
    if (r.plan.pp > 1) {
      parts += fmt::format(
          " (of {:.2f} s: stage times summed over the {} stages, CPU overhead and transfers per "
          "micro-batch)",
          total, r.plan.pp);
    } else {
      parts += fmt::format(" (of {:.2f} s of replica time)", total);
    }
    out += field("time breakdown", parts);
  }
  if (r.stages.size() > 1) out += stages_table(r);
  if (!info.launch.empty())
    out +=
        wrap_command(info.launch.front(), kTableWidth, "  launch it           ", "                        ");
  return out;
}

namespace {

// One column of the ranked plans: its header, a cell per plan, and the priority it keeps when the
// table is narrowed to kTableWidth (the lowest goes first).
struct Column {
  std::string header;
  std::function<std::string(const PlanOutcome&, std::size_t)> cell;  // (plan, 0-based rank)
  int keep = INT_MAX;                                                // INT_MAX: never dropped
  bool left = false;
  bool wide_only = false;  // only with --wide (a duplicate of the objective column, or rarely needed)
};

std::string fixed1(double x) {
  return std::abs(x) >= 1000 ? fmt::format("{:.0f}", x) : fmt::format("{:.1f}", x);
}

std::vector<Column> plan_columns(const SearchReport& s, bool slo, bool preempts) {
  const Objective obj = s.objective;
  const bool tie = s.ranking.tied > 1;
  std::vector<Column> c;
  c.push_back({"rank", [tie](const PlanOutcome& o, std::size_t i) {
                 return fmt::format("{}{}", i + 1, tie && o.tie_group == 1 ? "=" : "");
               }});
  c.push_back({"plan", [](const PlanOutcome& o, std::size_t) { return o.candidate.label(); }, INT_MAX, true});
  c.push_back(
      {"GPUs", [](const PlanOutcome& o, std::size_t) { return fmt::format("{}", o.result->plan.gpus()); }});
  c.push_back({std::string(objective_name(obj)),
               [obj](const PlanOutcome& o, std::size_t) { return objective_text(obj, o.score); }});
  c.push_back({"TTFT ms", [](const PlanOutcome& o, std::size_t) { return fixed1(o.result->ttft.mean * 1e3); },
               90, false, obj == Objective::TtftMean});
  c.push_back({"TPOT ms", [](const PlanOutcome& o, std::size_t) { return fixed1(o.result->tpot.mean * 1e3); },
               89, false, obj == Objective::TpotMean});
  if (slo) {
    c.push_back({"SLO met",
                 [](const PlanOutcome& o, std::size_t) {
                   return fmt::format("{:.1f}%", o.result->slo_attainment * 100);
                 },
                 95});
  }
  if (preempts) {
    c.push_back({"preempt",
                 [](const PlanOutcome& o, std::size_t) { return fmt::format("{}", o.result->preemptions); },
                 94});
  }
  c.push_back(
      {"p99 TPOT", [](const PlanOutcome& o, std::size_t) { return fixed1(o.result->tpot.p99 * 1e3); }, 40});
  c.push_back({"E2E s",
               [](const PlanOutcome& o, std::size_t) { return fmt::format("{:.2f}", o.result->e2e.mean); },
               80, false, obj == Objective::E2eMean});
  c.push_back(
      {"out tok/s",
       [](const PlanOutcome& o, std::size_t) { return human_count(o.result->throughput_tokens_per_s); }, 60,
       false, obj == Objective::Throughput});
  c.push_back(
      {"$/Mtok",
       [](const PlanOutcome& o, std::size_t) { return fmt::format("{:.2f}", o.cost_per_million_tokens); }, 50,
       false, obj == Objective::Cost && !slo});
  c.push_back({"weights/GPU",
               [](const PlanOutcome& o, std::size_t) { return format_bytes(o.result->memory.weights); }, 20});
  c.push_back({"KV tokens",
               [](const PlanOutcome& o, std::size_t) {
                 return human_count(static_cast<double>(o.result->memory.kv_tokens()));
               },
               10});
  c.push_back({"TTFT p99", [](const PlanOutcome& o, std::size_t) { return fixed1(o.result->ttft.p99 * 1e3); },
               0, false, true});
  c.push_back({"E2E p99",
               [](const PlanOutcome& o, std::size_t) { return fmt::format("{:.2f}", o.result->e2e.p99); }, 0,
               false, true});
  c.push_back({"MFU",
               [](const PlanOutcome& o, std::size_t) { return fmt::format("{:.1f}%", o.result->mfu * 100); },
               0, false, true});
  c.push_back({"MBU",
               [](const PlanOutcome& o, std::size_t) { return fmt::format("{:.1f}%", o.result->mbu * 100); },
               0, false, true});
  return c;
}

// The ranked plans: the columns that fit kTableWidth (all with `wide`), and a line naming the
// hidden ones.
std::string ranked_table(const SearchReport& s, const RunInfo& info) {
  bool preempts = false;
  for (const auto& o : s.ranked)
    preempts = preempts || o.result->preemptions > 0;
  const std::vector<Column> cols = plan_columns(s, s.ranking.slo, preempts);
  std::vector<std::vector<std::string>> cells(cols.size());
  std::vector<std::size_t> widths(cols.size());
  for (std::size_t c = 0; c < cols.size(); ++c) {
    widths[c] = display_width(cols[c].header);
    for (std::size_t i = 0; i < s.ranked.size(); ++i) {
      cells[c].push_back(cols[c].cell(s.ranked[i], i));
      widths[c] = std::max(widths[c], display_width(cells[c].back()));
    }
  }
  std::vector<bool> shown(cols.size(), true);
  std::vector<std::string> hidden;
  if (!info.wide) {
    for (std::size_t c = 0; c < cols.size(); ++c)
      shown[c] = !cols[c].wide_only;
    const auto total = [&] {
      std::size_t w = 2;
      for (std::size_t c = 0; c < cols.size(); ++c)
        w += shown[c] ? widths[c] + 1 : 0;
      return w - 1;
    };
    while (total() > kTableWidth) {
      std::size_t drop = cols.size();
      for (std::size_t c = 0; c < cols.size(); ++c) {
        if (shown[c] && cols[c].keep != INT_MAX && (drop == cols.size() || cols[c].keep < cols[drop].keep))
          drop = c;
      }
      if (drop == cols.size()) break;  // only the columns that always show are left
      shown[drop] = false;
    }
    for (std::size_t c = 0; c < cols.size(); ++c) {
      if (!shown[c]) hidden.push_back(cols[c].header);
    }
  }
  const auto row = [&](const std::function<const std::string&(std::size_t)>& text) {
    std::string line = " ";
    for (std::size_t c = 0; c < cols.size(); ++c) {
      if (!shown[c]) continue;
      const std::string& t = text(c);
      const std::size_t pad = widths[c] - display_width(t);
      line += ' ';
      line += cols[c].left ? t + std::string(pad, ' ') : std::string(pad, ' ') + t;
    }
    while (!line.empty() && line.back() == ' ')
      line.pop_back();
    return line + "\n";
  };
  std::string out = row([&](std::size_t c) -> const std::string& { return cols[c].header; });
  for (std::size_t i = 0; i < s.ranked.size(); ++i)
    out += row([&](std::size_t c) -> const std::string& { return cells[c][i]; });
  if (!hidden.empty()) {
    out += wrap(fmt::format("(--wide adds {})", fmt::join(hidden, ", ")), kTableWidth, "  ", "   ");
  }
  return out;
}

}  // namespace

std::string search_table(const SearchReport& s, const RunInfo& info) {
  std::string out;
  out += wrap(fmt::format("APEX search — {} on {}", info.model, info.cluster), kTableWidth, "", "  ");
  out += field("workload", info.workload, 11);
  out += field("engine", fmt::format("{}, precision {}", info.engine, info.precision), 11);
  out += field(
      "objective",
      fmt::format("{}: {} ({} is better{})", objective_name(s.objective), objective_description(s.objective),
                  higher_is_better(s.objective) ? "higher" : "lower",
                  s.ranking.objective_is_default ? "; the default" : ""),
      11);
  if (s.ranking.objective_is_default) {
    out +=
        "             (under open-loop arrivals every plan serves the offered rate, so throughput cannot\n"
        "             rank them; --objective to choose another)\n";
  }
  if (s.ranking.slo) {
    out += field("SLOs",
                 s.ranking.min_attainment > 0
                     ? fmt::format("{}; a plan must meet them for {:g}% of requests ({})", slo_text(info),
                                   s.ranking.min_attainment * 100, "--min-attainment")
                     : fmt::format("{}; every plan is ranked ({} 0)", slo_text(info), "--min-attainment"),
                 11);
  }
  out += wrap(plan_label_legend(s), kTableWidth, "  plans      ", "             ");
  out += "\n";
  out += ranked_table(s, info);
  const bool tie = s.ranking.tied > 1;
  if (!s.ranked.empty()) {
    const auto& best = s.ranked.front();
    std::string line = fmt::format("best plan: {} — {} = {}", best.candidate.label(),
                                   objective_name(s.objective), objective_text(s.objective, best.score));
    if (s.baseline && s.baseline->result) {
      const double speedup = speedup_over(s.objective, best.score, s.baseline->score);
      if (speedup > 0) {
        line +=
            fmt::format(" ({:.2f}x vs the naive plan {}: {})", speedup, s.baseline->candidate.plan.label(),
                        objective_text(s.objective, s.baseline->score));
      }
    }
    out += '\n';
    out += wrap(line, kTableWidth, "  ", "    ");
    if (tie) {
      out += wrap(fmt::format("{} (= in the rank column; tie-breaks in order: {})", tie_text(s),
                              fmt::join(s.ranking.tie_breaks, ", ")),
                  kTableWidth, "  tie: ", "       ");
    }
    if (!info.launch.empty())
      out += wrap_command(info.launch.front(), kTableWidth, "  launch it:  ", "               ");
    if (!s.baseline_note.empty()) out += wrap(s.baseline_note, kTableWidth, "  note: ", "        ");
    if (s.ranking.slo && best.result->slo_attainment <= 0) {
      const std::string indent = "        ";
      out += "  note: no plan meets the SLOs for any request;\n";
      out += wrap(fmt::format("over all {} simulated plans the best mean TTFT is {} ms ({})", s.simulated,
                              ms(s.ranking.best_ttft_mean), s.ranking.best_ttft_plan),
                  kTableWidth, indent, indent);
      out += wrap(fmt::format("and the best mean TPOT {} ms ({})", ms(s.ranking.best_tpot_mean),
                              s.ranking.best_tpot_plan),
                  kTableWidth, indent, indent);
      out += wrap("(loosen the SLOs, add GPUs, use --weight-dtype fp8 or lower the load)", kTableWidth,
                  indent, indent);
    }
  }
  out += wrap(
      fmt::format("plans: {} enumerated, {} feasible, {} simulated{}, {} pruned by bound, {:.2f} s on {} "
                  "thread{}",
                  s.enumerated, s.feasible, s.simulated,
                  s.reused > 0 ? fmt::format(" ({} reused across knob values)", s.reused) : "", s.pruned,
                  s.wall_s, s.threads, s.threads == 1 ? "" : "s"),
      kTableWidth, "  ", "    ");
  if (!s.rejected.empty()) {
    out += "  rejected:\n";
    for (const auto& [k, v] : s.rejected) {
      std::string example;
      for (const auto& e : s.rejected_examples) {
        if (e.reason == k) example = fmt::format("e.g. {}: {}", e.candidate.label(), e.detail);
      }
      const std::string head = fmt::format("    {:<24} {:>5}  ", k, v);
      out += example.empty() ? fmt::format("    {:<24} {:>5}\n", k, v)
                             : wrap(example, kTableWidth, head, std::string(head.size() + 2, ' '));
    }
  }
  return out;
}

}  // namespace apex
