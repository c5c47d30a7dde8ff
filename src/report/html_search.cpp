// report/html_search.cpp — the HTML page of a search: the ranked plans, their Pareto frontiers,
// latency CDFs, memory, where a request's time goes, the speed-up over the naive plan and the
// rejected plans.
#include <algorithm>
#include <cmath>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "core/units.h"
#include "report/format.h"
#include "report/html_parts.h"
#include "report/report.h"
#include "report/svg.h"

namespace apex {
namespace {

using svg::escape;

// A plan on the page: the ranked ones, then the naive plan when it is not among them.
struct Shown {
  const PlanOutcome* o;
  std::string label;  // with " (naive)" for the baseline
  int rank;           // 1-based; 0 = the naive plan outside the ranking
};

std::vector<Shown> shown_plans(const SearchReport& s) {
  std::vector<Shown> out;
  bool baseline_ranked = false;
  for (std::size_t i = 0; i < s.ranked.size(); ++i) {
    const PlanOutcome& o = s.ranked[i];
    const bool is_base =
        s.baseline && s.baseline->result && o.candidate.label() == s.baseline->candidate.label();
    baseline_ranked = baseline_ranked || is_base;
    out.push_back({&o, o.candidate.label() + (is_base ? " (naive)" : ""), static_cast<int>(i) + 1});
  }
  if (s.baseline && s.baseline->result && !baseline_ranked)
    out.push_back({&*s.baseline, s.baseline->candidate.label() + " (naive)", 0});
  return out;
}

std::string rank_text(const Shown& p) {
  return p.rank > 0 ? fmt::format("rank {}", p.rank) : "not in the ranking";
}

std::string ranked_table(const SearchReport& s, const RunInfo& info) {
  bool preempts = false;
  for (const auto& o : s.ranked)
    preempts = preempts || o.result->preemptions > 0;
  const bool slo = s.ranking.slo, tie = s.ranking.tied > 1;
  std::string b = "<table><tr><th>rank</th><th class=\"l\">plan</th><th>GPUs</th>";
  b += fmt::format("<th>{} (objective)</th>", escape(objective_name(s.objective)));
  b += "<th>TTFT ms<br/>mean / p99</th><th>TPOT ms<br/>mean / p99</th><th>E2E s<br/>mean / p99</th>";
  if (slo) b += "<th>SLO met</th>";
  if (preempts) b += "<th>preemptions</th>";
  b += "<th>output<br/>tok/s</th><th>tok/s<br/>per GPU</th><th>$/Mtok</th><th>weights<br/>per GPU</th>"
       "<th>KV tokens</th></tr>";
  for (std::size_t i = 0; i < s.ranked.size(); ++i) {
    const PlanOutcome& o = s.ranked[i];
    const SimResult& r = *o.result;
    b +=
        fmt::format("<tr{}><td>{}{}</td><td class=\"p\">{}</td><td>{}</td><td><b>{}</b></td>",
                    i == 0 ? " class=\"best\"" : "", i + 1, tie && o.tie_group == 1 ? "=" : "",
                    escape(o.candidate.label()), r.plan.gpus(), escape(objective_text(s.objective, o.score)));
    b += fmt::format("<td>{} / {}</td><td>{} / {}</td><td>{:.2f} / {:.2f}</td>", html::ms_text(r.ttft.mean),
                     html::ms_text(r.ttft.p99), html::ms_text(r.tpot.mean), html::ms_text(r.tpot.p99),
                     r.e2e.mean, r.e2e.p99);
    if (slo) b += fmt::format("<td>{:.1f}%</td>", r.slo_attainment * 100);
    if (preempts) b += fmt::format("<td>{}</td>", r.preemptions);
    b += fmt::format("<td>{}</td><td>{}</td><td>{:.2f}</td><td>{}</td><td>{}</td></tr>",
                     human_count(r.throughput_tokens_per_s),
                     human_count(r.throughput_tokens_per_s / r.plan.gpus()), o.cost_per_million_tokens,
                     format_bytes(r.memory.weights), human_count(static_cast<double>(r.memory.kv_tokens())));
  }
  b += "</table>";
  if (!info.launch.empty()) {
    b += fmt::format("<p>Launch the best plan:</p><pre>{}</pre>",
                     escape(wrap_command(info.launch.front(), 110, "", "    ")));
  }
  return b;
}

std::string frontier_charts(const SearchReport& s, const std::vector<Shown>& plans) {
  svg::ScatterSpec a;
  a.title = "Throughput per GPU vs speed per user";
  a.x_label = "output tokens/s per user (1 / mean TPOT)";
  a.y_label = "output tokens/s per GPU";
  svg::ScatterSpec b;
  b.title = "TTFT vs TPOT (means)";
  b.x_label = "mean TPOT, ms";
  b.y_label = "mean TTFT, ms";
  b.higher_x = b.higher_y = false;
  for (const Shown& p : plans) {
    const SimResult& r = *p.o->result;
    const double per_user = r.tpot.mean > 0 ? 1 / r.tpot.mean : 0;
    const double per_gpu = r.throughput_tokens_per_s / r.plan.gpus();
    const bool best = p.rank == 1;
    a.points.push_back(
        {per_user, per_gpu, p.label,
         fmt::format("{}, {} tok/s per user, {} tok/s per GPU", rank_text(p), sig3(per_user), sig3(per_gpu)),
         best});
    b.points.push_back({r.tpot.mean * 1e3, r.ttft.mean * 1e3, p.label,
                        fmt::format("{}, TPOT {}, TTFT {}", rank_text(p), human_duration(r.tpot.mean),
                                    human_duration(r.ttft.mean)),
                        best});
  }
  (void)s;
  return html::chart(
             svg::scatter(a),
             "Red: the Pareto frontier (no other plan is better on both axes), labelled where the label "
             "fits; ringed: the best plan. Hover a point for its plan.") +
         html::chart(svg::scatter(b), "Lower-left is better; red: the frontier, ringed: the best plan.");
}

std::string cdf_charts(const SearchReport& s) {
  const std::size_t n = std::min<std::size_t>(5, s.ranked.size());
  std::string out;
  const auto one = [&](std::string_view name, Summary SimResult::*field) {
    double p99 = 0;
    for (std::size_t i = 0; i < n; ++i)
      p99 = std::max(p99, ((*s.ranked[i].result).*field).p99);
    const auto [scale, unit] = html::latency_unit(p99);
    svg::LineSpec l;
    l.title = fmt::format("{} distribution, top {} plans", name, n);
    l.x_label = fmt::format("{} per request, {}", name, unit);
    l.y_label = "fraction of requests";
    l.y_fraction = true;
    l.mark_points = true;
    for (std::size_t i = 0; i < n; ++i) {
      const PlanOutcome& o = s.ranked[i];
      l.lines.push_back(
          {fmt::format("{}. {}", i + 1, o.candidate.label()), html::cdf_points((*o.result).*field, scale)});
    }
    l.x_max = html::cdf_axis_end(l.lines);
    out += html::chart(
        svg::line_chart(l),
        "Through each plan's min, p50, p90, p99 and max (dots); the tail past 1.15 × the largest p99 "
        "is cut off.");
  };
  one("TTFT", &SimResult::ttft);
  one("TPOT", &SimResult::tpot);
  one("E2E", &SimResult::e2e);
  return out;
}

std::string speedup_chart(const SearchReport& s, const std::vector<Shown>& plans) {
  if (!s.baseline || !s.baseline->result) return {};
  svg::BarSpec b;
  b.title = fmt::format("Speed-up over the naive plan {}", s.baseline->candidate.plan.label());
  b.x_label = fmt::format("× the naive plan's {} ({})", objective_name(s.objective),
                          higher_is_better(s.objective) ? "plan / naive" : "naive / plan");
  b.reference = 1;
  b.reference_label = "naive";
  for (const Shown& p : plans) {
    const double x = speedup_over(s.objective, p.o->score, s.baseline->score);
    b.rows.push_back(p.label);
    b.values.push_back(x);
    b.texts.push_back(x > 0 ? fmt::format("{:.2f}× ({})", x, objective_text(s.objective, p.o->score))
                            : objective_text(s.objective, p.o->score));
    b.highlight.push_back(p.rank == 1);
  }
  return html::chart(
      svg::bars(b),
      fmt::format("The naive plan: the widest tensor parallelism within a node ({}), data-parallel "
                  "replicas across the rest; {} {}.",
                  s.baseline->candidate.plan.label(), objective_name(s.objective),
                  objective_text(s.objective, s.baseline->score)));
}

std::string rejected_section(const SearchReport& s) {
  if (s.rejected.empty() && s.baseline_note.empty()) return {};
  std::string b = "<h2>Rejected plans</h2>";
  if (!s.rejected.empty()) {
    b += "<table><tr><th class=\"l\">reason</th><th>plans</th><th class=\"l\">example</th><th "
         "class=\"l\">why</th></tr>";
    for (const auto& [k, v] : s.rejected) {
      const PlanOutcome* e = nullptr;
      for (const auto& x : s.rejected_examples) {
        if (x.reason == k) e = &x;
      }
      b += fmt::format(
          "<tr><td class=\"p\">{}</td><td>{}</td><td class=\"p\">{}</td><td class=\"l\">{}</td></tr>",
          escape(k), v, e ? escape(e->candidate.label()) : "",
          e                                ? escape(e->detail)
          : k == "bound-cannot-beat-top-k" ? "its analytical bound cannot enter the top plans"
                                           : "");
    }
    b += "</table>";
  }
  if (!s.baseline_note.empty()) b += fmt::format("<p class=\"note\">Note: {}.</p>", escape(s.baseline_note));
  return b;
}

}  // namespace

std::string search_html(const SearchReport& s, const RunInfo& info) {
  using html::card;
  std::string b;
  b += fmt::format("<h1>APEX search — {} on {}</h1>", escape(info.model), escape(info.cluster));
  b += fmt::format(
      "<p class=\"meta\">Workload: {}<br/>Engine: {}, precision {}<br/>Objective: <b>{}</b>, {} ({} is "
      "better{}){}<br/>{} plans enumerated, {} feasible, {} simulated, {} pruned by bound, {:.2f} s on "
      "{} thread{}</p>",
      escape(info.workload), escape(info.engine), escape(info.precision), objective_name(s.objective),
      escape(objective_description(s.objective)), higher_is_better(s.objective) ? "higher" : "lower",
      s.ranking.objective_is_default ? "; the default" : "",
      s.ranking.slo
          ? fmt::format("<br/>SLOs: {}{}", escape(slo_text(info)),
                        s.ranking.min_attainment > 0 ? fmt::format(", met for at least {:g}% of requests",
                                                                   s.ranking.min_attainment * 100)
                                                     : "")
          : "",
      s.enumerated, s.feasible, s.simulated, s.pruned, s.wall_s, s.threads, s.threads == 1 ? "" : "s");
  const std::vector<Shown> plans = shown_plans(s);
  if (!s.ranked.empty()) {
    const PlanOutcome& best = s.ranked.front();
    const SimResult& r = *best.result;
    b += "<div class=\"cards\">";
    b += card("best plan", best.candidate.label(), fmt::format("{} GPUs", r.plan.gpus()));
    b += card(std::string(objective_name(s.objective)), objective_text(s.objective, best.score),
              std::string(objective_description(s.objective)));
    if (s.baseline && s.baseline->result) {
      const double x = speedup_over(s.objective, best.score, s.baseline->score);
      if (x > 0) {
        b += card("speed-up over the naive plan", fmt::format("{:.2f}×", x),
                  fmt::format("{}: {}", s.baseline->candidate.plan.label(),
                              objective_text(s.objective, s.baseline->score)));
      }
    }
    b += card("mean TTFT / TPOT",
              fmt::format("{} / {}", human_duration(r.ttft.mean), human_duration(r.tpot.mean)),
              fmt::format("E2E {}", human_duration(r.e2e.mean)));
    if (s.ranking.slo)
      b += card("SLO attainment", fmt::format("{:.1f}%", r.slo_attainment * 100), slo_text(info));
    b += card("throughput", human_count(r.throughput_tokens_per_s) + " tok/s",
              fmt::format("{} tok/s per GPU", human_count(r.throughput_tokens_per_s / r.plan.gpus())));
    b += "</div>";
    if (!tie_text(s).empty()) {
      b += fmt::format("<p class=\"note\">Tie: {} (= in the rank column; tie-breaks in order: {}).</p>",
                       escape(tie_text(s)), escape(fmt::format("{}", fmt::join(s.ranking.tie_breaks, ", "))));
    }
    b += "<h2>Ranked plans</h2>" + ranked_table(s, info);
    b += fmt::format("<p class=\"note\">Plans: {}. Output tok/s per user = 1 / mean TPOT.</p>",
                     escape(plan_label_legend(s)));
    std::vector<std::string> rows;
    std::vector<const SimResult*> results;
    for (const Shown& p : plans) {
      rows.push_back(p.label);
      results.push_back(&*p.o->result);
    }
    b += "<h2>Trade-offs</h2><div class=\"charts\">" + frontier_charts(s, plans) + speedup_chart(s, plans);
    b += html::request_time_chart(rows, results) + "</div>";
    b += "<h2>Latency distributions</h2><div class=\"charts\">" + cdf_charts(s) + "</div>";
    b += "<h2>Memory</h2><div class=\"charts\">" + html::memory_chart(rows, results) + "</div>";
    b += "<p class=\"note\">A kernel-level time breakdown (GEMM, attention, communication, ...) of one plan: "
         "<code>apex simulate ... --breakdown --format html</code>.</p>";
  }
  b += rejected_section(s);
  return html::page("APEX search — " + info.model, b);
}

}  // namespace apex
