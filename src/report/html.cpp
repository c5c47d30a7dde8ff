// report/html.cpp — self-contained HTML reports with inline SVG charts (no scripts, no network).
#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "core/units.h"
#include "report/report.h"
#include "sim/metrics/registry.h"

namespace apex {
namespace {

std::string escape(std::string_view s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

constexpr const char* kStyle = R"(<style>
body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;margin:2em;color:#222;max-width:1200px}
h1{font-size:1.5em}h2{font-size:1.15em;margin-top:1.6em}
table{border-collapse:collapse;font-size:.9em}td,th{padding:.25em .7em;border-bottom:1px solid #ddd;text-align:right}
th{background:#f4f4f4}td:nth-child(2),th:nth-child(2){text-align:left}
.meta{color:#555;font-size:.9em}.best{background:#eef7ee}code{background:#f4f4f4;padding:.15em .3em}
svg text{font-size:11px;fill:#333}
</style>)";

// Horizontal bar chart: one bar per label.
std::string bar_chart(const std::vector<std::string>& labels, const std::vector<double>& values,
                      const std::string& title, const std::string& unit) {
  const double width = 720, bar = 18, gap = 6, left = 210, top = 28;
  const double height = top + static_cast<double>(labels.size()) * (bar + gap) + 10;
  double vmax = 0;
  for (double v : values)
    vmax = std::max(vmax, v);
  if (vmax <= 0) vmax = 1;
  std::string s = fmt::format(R"(<svg xmlns="http://www.w3.org/2000/svg" width="{}" height="{}" role="img">)",
                              width, height);
  s += fmt::format(R"(<text x="0" y="16" font-weight="bold">{}</text>)", escape(title));
  for (std::size_t i = 0; i < labels.size(); ++i) {
    const double y = top + static_cast<double>(i) * (bar + gap);
    const double w = (width - left - 90) * values[i] / vmax;
    s += fmt::format(R"(<text x="{}" y="{}" text-anchor="end">{}</text>)", left - 6, y + bar - 5,
                     escape(labels[i]));
    s += fmt::format(R"(<rect x="{}" y="{}" width="{:.1f}" height="{}" fill="{}"/>)", left, y,
                     std::max(w, 0.5), bar, i == 0 ? "#3a8a3a" : "#5b84c4");
    s += fmt::format(R"(<text x="{:.1f}" y="{}">{:.4g} {}</text>)", left + w + 4, y + bar - 5, values[i],
                     escape(unit));
  }
  return s + "</svg>";
}

// Scatter of (x, y) points with labels; both axes start at zero.
std::string scatter(const std::vector<std::string>& labels, const std::vector<double>& xs,
                    const std::vector<double>& ys, const std::string& title, const std::string& xlabel,
                    const std::string& ylabel) {
  const double w = 720, h = 360, left = 60, bottom = 40, top = 30, right = 20;
  double xmax = 0, ymax = 0;
  for (double x : xs)
    xmax = std::max(xmax, x);
  for (double y : ys)
    ymax = std::max(ymax, y);
  xmax = xmax > 0 ? xmax * 1.1 : 1;
  ymax = ymax > 0 ? ymax * 1.1 : 1;
  auto px = [&](double x) { return left + (w - left - right) * x / xmax; };
  auto py = [&](double y) { return h - bottom - (h - bottom - top) * y / ymax; };
  std::string s =
      fmt::format(R"(<svg xmlns="http://www.w3.org/2000/svg" width="{}" height="{}" role="img">)", w, h);
  s += fmt::format(R"(<text x="0" y="16" font-weight="bold">{}</text>)", escape(title));
  s += fmt::format(R"(<line x1="{0}" y1="{1}" x2="{2}" y2="{1}" stroke="#999"/>)", left, h - bottom,
                   w - right);
  s += fmt::format(R"(<line x1="{0}" y1="{1}" x2="{0}" y2="{2}" stroke="#999"/>)", left, h - bottom, top);
  s += fmt::format(R"(<text x="{}" y="{}" text-anchor="middle">{}</text>)", (w + left) / 2, h - 8,
                   escape(xlabel));
  s +=
      fmt::format(R"svg(<text x="14" y="{}" transform="rotate(-90 14 {})" text-anchor="middle">{}</text>)svg",
                  (h - bottom + top) / 2, (h - bottom + top) / 2, escape(ylabel));
  for (int t = 0; t <= 4; ++t) {
    const double xv = xmax * t / 4, yv = ymax * t / 4;
    s += fmt::format(R"(<text x="{:.1f}" y="{}" text-anchor="middle">{:.3g}</text>)", px(xv), h - bottom + 14,
                     xv);
    s += fmt::format(R"(<text x="{}" y="{:.1f}" text-anchor="end">{:.3g}</text>)", left - 4, py(yv) + 4, yv);
  }
  for (std::size_t i = 0; i < xs.size(); ++i) {
    s += fmt::format(
        R"(<circle cx="{:.1f}" cy="{:.1f}" r="5" fill="{}" fill-opacity="0.8"><title>{}</title></circle>)",
        px(xs[i]), py(ys[i]), i == 0 ? "#3a8a3a" : "#5b84c4", escape(labels[i]));
    s += fmt::format(R"(<text x="{:.1f}" y="{:.1f}">{}</text>)", px(xs[i]) + 7, py(ys[i]) - 5,
                     escape(labels[i]));
  }
  return s + "</svg>";
}

std::string page(const std::string& title, const std::string& body) {
  return fmt::format(
      "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{}</title>{}</head>"
      "<body>\n{}\n<p class=\"meta\">Generated by APEX 0.1.0.</p></body></html>\n",
      escape(title), kStyle, body);
}

std::string ms(double s) {
  return fmt::format("{:.1f}", s * 1e3);
}

}  // namespace

std::string simulate_html(const SimResult& r, const RunInfo& info, const EnginePolicy& e) {
  std::string b;
  b += fmt::format("<h1>APEX simulate — {} on {}</h1>", escape(info.model), escape(info.cluster));
  b += fmt::format(
      "<p class=\"meta\">Workload: {}<br>Engine: {} {} (max_num_seqs {}, max_num_batched_tokens {}, "
      "chunked prefill {})<br>Plan: <b>{}</b> ({} GPUs), precision {}</p>",
      escape(info.workload), escape(e.name), escape(e.version), e.max_num_seqs, e.max_num_batched_tokens,
      e.chunked_prefill ? "on" : "off", escape(r.plan.label()), r.plan.gpus(), escape(info.precision));
  b += "<h2>Latency "
       "(ms)</h2><table><tr><th>metric</th><th></th><th>mean</th><th>p50</th><th>p90</th><th>p99</th></tr>";
  for (const Metric& m : metric_registry()) {
    if (m.label.empty()) continue;
    const Summary s = std::get<Summary>(m.get(r));
    b += fmt::format("<tr><td>{}</td><td></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>", m.label,
                     ms(s.mean), ms(s.p50), ms(s.p90), ms(s.p99));
  }
  b += "</table>";
  b += bar_chart({"TTFT p50", "TTFT p99", "TPOT p50", "TPOT p99", "ITL p99"},
                 {r.ttft.p50 * 1e3, r.ttft.p99 * 1e3, r.tpot.p50 * 1e3, r.tpot.p99 * 1e3, r.itl.p99 * 1e3},
                 "Latency percentiles", "ms");
  b += fmt::format(
      "<h2>Throughput and utilization</h2><p>{:.1f} output tokens/s, {:.3f} requests/s over {:.1f} s; "
      "MFU {:.1f}%, MBU {:.1f}%; energy {:.3g} kJ ({:.3f} J per output token, {:.0f} W per GPU on average){}."
      "</p>",
      r.throughput_tokens_per_s, r.requests_per_s, r.makespan, r.mfu * 100, r.mbu * 100, r.energy_j / 1e3,
      r.energy_per_output_token_j, r.mean_power_per_gpu_w,
      slo_text(info).empty()
          ? ""
          : fmt::format("; SLO attainment {:.1f}% ({})", r.slo_attainment * 100, escape(slo_text(info))));
  b += bar_chart({"weights", "KV cache", "activations", "runtime reserve"},
                 {r.memory.weights / kGiB, std::max(0.0, r.memory.kv_cache) / kGiB,
                  r.memory.activation / kGiB, r.memory.runtime_reserve / kGiB},
                 fmt::format("Memory per GPU (capacity {})", format_bytes(r.memory.capacity)), "GiB");
  if (!info.launch.empty())
    b += fmt::format("<h2>Launch</h2><p><code>{}</code></p>", escape(info.launch.front()));
  return page("APEX simulate — " + info.model, b);
}

std::string search_html(const SearchReport& s, const RunInfo& info) {
  std::string b;
  b += fmt::format("<h1>APEX search — {} on {}</h1>", escape(info.model), escape(info.cluster));
  b += fmt::format(
      "<p class=\"meta\">Workload: {}<br>Engine: {}, precision {}<br>Objective: <b>{}</b> ({} is better)"
      "<br>{} plans enumerated, {} feasible, {} simulated, {} pruned by bound, {:.2f} s on {} threads</p>",
      escape(info.workload), escape(info.engine), escape(info.precision), objective_name(s.objective),
      higher_is_better(s.objective) ? "higher" : "lower", s.enumerated, s.feasible, s.simulated, s.pruned,
      s.wall_s, s.threads);
  if (!tie_text(s).empty()) b += fmt::format("<p class=\"meta\">Tie: {}.</p>", escape(tie_text(s)));
  b += "<h2>Ranked plans</h2><table><tr><th>rank</th><th>plan</th><th>GPUs</th><th>objective</th><th>TTFT "
       "ms</th>"
       "<th>TPOT ms</th><th>p99 TPOT ms</th><th>E2E s</th><th>out "
       "tok/s</th><th>$/Mtok</th><th>weights/GPU</th></tr>";
  std::vector<std::string> labels;
  std::vector<double> scores, ttft, tpot;
  for (std::size_t i = 0; i < s.ranked.size(); ++i) {
    const auto& o = s.ranked[i];
    const SimResult& r = *o.result;
    b += fmt::format(
        "<tr{}><td>{}</td><td>{}</td><td>{}</td><td>{:.4g}</td><td>{}</td><td>{}</td><td>{}</td>"
        "<td>{:.2f}</td><td>{:.1f}</td><td>{:.2f}</td><td>{}</td></tr>",
        i == 0 ? " class=\"best\"" : "", i + 1, escape(o.candidate.label()), r.plan.gpus(), o.score,
        ms(r.ttft.mean), ms(r.tpot.mean), ms(r.tpot.p99), r.e2e.mean, r.throughput_tokens_per_s,
        o.cost_per_million_tokens, format_bytes(r.memory.weights));
    labels.push_back(o.candidate.label());
    scores.push_back(o.score);
    ttft.push_back(r.ttft.mean * 1e3);
    tpot.push_back(r.tpot.mean * 1e3);
  }
  b += "</table>";
  if (!info.launch.empty())
    b += fmt::format("<p>Launch the best plan: <code>{}</code></p>", escape(info.launch.front()));
  if (!s.baseline_note.empty()) b += fmt::format("<p class=\"meta\">Note: {}</p>", escape(s.baseline_note));
  b += bar_chart(labels, scores, fmt::format("Objective: {}", objective_name(s.objective)), "");
  b += scatter(labels, tpot, ttft, "Latency trade-off (mean)", "TPOT (ms)", "TTFT (ms)");
  if (!s.rejected.empty()) {
    std::vector<std::string> reasons;
    std::vector<double> counts;
    for (const auto& [k, v] : s.rejected) {
      reasons.push_back(k);
      counts.push_back(static_cast<double>(v));
    }
    b += "<h2>Rejected plans</h2>";
    b += bar_chart(reasons, counts, "Rejections by reason", "plans");
    b += "<ul>";
    for (const auto& e : s.rejected_examples) {
      b += fmt::format("<li><b>{}</b> — e.g. {}: {}</li>", escape(e.reason), escape(e.candidate.label()),
                       escape(e.detail));
    }
    b += "</ul>";
  }
  return page("APEX search — " + info.model, b);
}

}  // namespace apex
