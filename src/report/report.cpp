#include "report/report.h"

#include <cmath>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "core/error.h"
#include "core/units.h"
#include "model/registry.h"
#include "sim/engines/engine_spec.h"
#include "sim/metrics/registry.h"

namespace apex {

Format parse_format(const std::string& text) {
  if (text == "table") return Format::Table;
  if (text == "json") return Format::JSON;
  if (text == "csv") return Format::CSV;
  if (text == "html") return Format::HTML;
  const std::vector<std::string> names = {"table", "json", "csv", "html"};
  throw UserError(unknown_name_message("format", text, names));
}

namespace {

Json plan_json(const Plan& p) {
  Json stages = Json::array();
  for (const auto& s : p.stages)
    stages.push_back(Json{{"first_layer", s.first_layer}, {"num_layers", s.num_layers()}});
  return Json{{"dp", p.dp},
              {"tp", p.tp},
              {"pp", p.pp},
              {"ep", p.ep},
              {"attention", p.attn_dp ? "data-parallel" : "tensor-parallel"},
              {"gpus", p.gpus()},
              {"label", p.label()},
              {"stages", stages}};
}

std::string ms(double s) {
  return fmt::format("{:.1f}", s * 1e3);
}

}  // namespace

std::string slo_text(const RunInfo& info) {
  std::string out;
  if (info.ttft_slo_s > 0) out = fmt::format("TTFT ≤ {:g} ms", info.ttft_slo_s * 1e3);
  if (info.tpot_slo_s > 0)
    out += fmt::format("{}TPOT ≤ {:g} ms", out.empty() ? "" : ", ", info.tpot_slo_s * 1e3);
  return out;
}

std::string tie_text(const SearchReport& s) {
  const RankingInfo& k = s.ranking;
  if (k.tied < 2) return {};
  return fmt::format("the top {} plans tie on {} (within {:g}%, below the simulator's error); {} decided",
                     k.tied, objective_name(s.objective), k.tie_tolerance * 100, k.decided_by);
}

std::string launch_command(const Deployment& d, const Plan& plan, const EnginePolicy& e) {
  return launch_command(d.model, d.precision, plan, e, d.max_model_len, d.cluster.gpus_per_node);
}

namespace {

// (name, seconds) of each part of a breakdown, in registry order.
std::vector<std::pair<std::string_view, double>> breakdown_parts(const SimResult& r) {
  std::vector<std::pair<std::string_view, double>> out;
  for (const Metric* m : metrics_in("breakdown"))
    out.emplace_back(m->key, std::get<double>(m->get(r)));
  return out;
}

double breakdown_total(const SimResult& r) {
  double total = 0;
  for (const auto& [name, s] : breakdown_parts(r))
    total += s;
  return total;
}

}  // namespace

Json breakdown_json(const SimResult& r) {
  const double total = breakdown_total(r);
  Json seconds = Json::object(), share = Json::object();
  for (const auto& [name, s] : breakdown_parts(r)) {
    seconds[std::string(name)] = s;
    share[std::string(name)] = total > 0 ? s / total : 0.0;
  }
  return Json{{"seconds", seconds}, {"share", share}, {"total_s", total}};
}

namespace {

// The per-request metrics of a load stage, with the keys of the result's "metrics" section.
Json stage_json(const StageResult& s) {
  Json metrics = Json::object();
  for (const Metric& m : metric_registry()) {
    if (m.per_request && !m.section.empty()) metrics[std::string(m.key)] = metric_report_json(m, s.metrics);
  }
  return Json{{"rate", s.rate}, {"start_s", s.start}, {"end_s", s.end}, {"metrics", metrics}};
}

}  // namespace

Json result_json(const SimResult& r, const EnginePolicy* engine) {
  Json j;
  j["plan"] = plan_json(r.plan);
  j["feasible"] = true;
  for (const Metric& m : metric_registry()) {
    if (m.section.empty() || m.section == "breakdown" || !m.reported(r)) continue;  // the breakdown below
    j[std::string(m.section)][std::string(m.key)] = metric_report_json(m, r);
  }
  if (engine != nullptr) {
    j["engine"]["version"] = engine->version;
    j["engine"]["max_num_seqs"] = engine->max_num_seqs;
    j["engine"]["max_num_batched_tokens"] = engine->max_num_batched_tokens;
    j["engine"]["gpu_memory_utilization"] = engine->gpu_memory_utilization;
    j["engine"]["block_size"] = engine->block_size;
    j["engine"]["chunked_prefill"] = engine->chunked_prefill;
    // Only when set, so engine-side results keep their shape.
    if (engine->costs.frontend_latency > 0)
      j["engine"]["frontend_latency_ms"] = engine->costs.frontend_latency * 1e3;
  }
  if (r.time.measured) j["breakdown"] = breakdown_json(r);
  if (r.stages.size() > 1) {  // a single stage is the whole run
    Json stages = Json::array();
    for (const StageResult& s : r.stages)
      stages.push_back(stage_json(s));
    j["stages"] = stages;
  }
  return j;
}

Json rejected_json(const PlanOutcome& o) {
  Plan p = o.candidate.plan;
  Json j;
  j["plan"] =
      Json{{"dp", p.dp}, {"tp", p.tp}, {"pp", p.pp}, {"ep", p.ep}, {"gpus", p.gpus()}, {"label", p.label()}};
  j["feasible"] = false;
  j["reason"] = o.detail;
  j["reason_code"] = o.reason;
  return j;
}

Json search_json(const SearchReport& s, const RunInfo& info) {
  Json plans = Json::array();
  for (std::size_t i = 0; i < s.ranked.size(); ++i) {
    const PlanOutcome& o = s.ranked[i];
    Json r = result_json(*o.result);
    if (i < info.launch.size()) r["launch"] = info.launch[i];
    r["plan"]["id"] = o.candidate.id;
    if (o.candidate.knobs.max_num_seqs) r["plan"]["max_num_seqs"] = *o.candidate.knobs.max_num_seqs;
    if (o.candidate.knobs.max_num_batched_tokens) {
      r["plan"]["max_num_batched_tokens"] = *o.candidate.knobs.max_num_batched_tokens;
    }
    r["objective"] = Json{{"name", objective_name(s.objective)},
                          {"value", o.score},
                          {"bound", o.bound},
                          {"tie_group", o.tie_group}};
    r["cost_per_million_output_tokens_usd"] = o.cost_per_million_tokens;
    plans.push_back(r);
  }
  Json j;
  j["best"] = plans.empty() ? Json() : plans.front();
  j["plans"] = plans;
  Json rejected = Json::object();
  for (const auto& [k, v] : s.rejected)
    rejected[k] = v;
  Json examples = Json::array();
  for (const auto& e : s.rejected_examples)
    examples.push_back(rejected_json(e));
  j["stats"] = Json{{"enumerated", s.enumerated},
                    {"feasible", s.feasible},
                    {"simulated", s.simulated},
                    {"pruned", s.pruned},
                    {"wall_s", s.wall_s},
                    {"threads", s.threads},
                    {"rejected", rejected},
                    {"rejected_examples", examples},
                    {"objective", objective_name(s.objective)}};
  if (s.baseline && s.baseline->result && !s.ranked.empty()) {
    const double base = s.baseline->score, best = s.ranked.front().score;
    Json b{{"plan", s.baseline->candidate.plan.label()}, {"objective_value", base}};
    if (base > 0 && best > 0) b["speedup"] = higher_is_better(s.objective) ? best / base : base / best;
    j["baseline"] = b;
  } else if (!s.baseline_note.empty()) {
    j["baseline"] = Json{{"note", s.baseline_note}};
  }
  j["run"] = Json{{"model", info.model},
                  {"cluster", info.cluster},
                  {"workload", info.workload},
                  {"engine", info.engine},
                  {"precision", info.precision}};
  const RankingInfo& k = s.ranking;
  j["ranking"] = Json{{"objective", objective_name(s.objective)},
                      {"description", objective_description(s.objective)},
                      {"higher_is_better", higher_is_better(s.objective)},
                      {"objective_is_default", k.objective_is_default},
                      {"tie_tolerance", k.tie_tolerance},
                      {"tie_breaks", k.tie_breaks},
                      {"tied", k.tied},
                      {"decided_by", k.tied > 1 ? Json(k.decided_by) : Json()},
                      {"min_attainment", k.min_attainment}};
  return j;
}

namespace {

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
  out +=
      "  (milliseconds; a request counts in the stage it arrived in; served = its requests / (first arrival "
      "to last completion))\n";
  return out;
}

}  // namespace

std::string simulate_table(const SimResult& r, const RunInfo& info, const EnginePolicy& e) {
  std::string out;
  out += fmt::format("APEX simulate — {} on {}\n", info.model, info.cluster);
  out += fmt::format("  workload   {}\n", info.workload);
  out += fmt::format(
      "  engine     {} {} (max_num_seqs {}, max_num_batched_tokens {}, chunked prefill {}, block {})\n",
      e.name, e.version, e.max_num_seqs, e.max_num_batched_tokens, e.chunked_prefill ? "on" : "off",
      e.block_size);
  out += fmt::format("  plan       {} ({} GPUs), precision {}\n\n", r.plan.label(), r.plan.gpus(),
                     info.precision);
  out += fmt::format("  {:<10} {:>10} {:>10} {:>10} {:>10}   (milliseconds)\n", "latency", "mean", "p50",
                     "p90", "p99");
  for (const Metric& m : metric_registry()) {
    if (m.label.empty()) continue;
    const Summary s = std::get<Summary>(m.get(r));
    out += fmt::format("  {:<10} {:>10} {:>10} {:>10} {:>10}\n", m.label, ms(s.mean), ms(s.p50), ms(s.p90),
                       ms(s.p99));
  }
  out += "\n";
  const auto line = [&](std::string_view name) {
    out += fmt::format("  {:<20}{}\n", name, metric_table_line(r, name));
  };
  line("requests");
  line("throughput");
  line("utilization");
  out += fmt::format(
      "  energy              {:.3g} kJ: {:.3f} J per output token, {:.1f} J per request, "
      "{:.0f} W per GPU on average\n",
      r.energy_j / 1e3, r.energy_per_output_token_j, r.energy_per_request_j, r.mean_power_per_gpu_w);
  if (!slo_text(info).empty()) {  // without an SLO every request "meets" it: nothing to report
    out += fmt::format("  {:<20}{} of requests meet {}\n", "SLO attainment",
                       metric_table_line(r, "SLO attainment"), slo_text(info));
  }
  if (e.costs.frontend_latency > 0) {
    out += fmt::format("  front end           {} ms per request included in TTFT and E2E (not in TPOT/ITL)\n",
                       ms(e.costs.frontend_latency));
  }
  out += fmt::format(
      "  memory per GPU      weights {}, KV cache {} ({} tokens/replica), activations {}, reserve {} of {}\n",
      format_bytes(r.memory.weights), format_bytes(r.memory.kv_cache), r.memory.kv_tokens(),
      format_bytes(r.memory.activation), format_bytes(r.memory.runtime_reserve),
      format_bytes(r.memory.capacity));
  line("scheduler");
  if (r.prefix_hit_tokens > 0) line("prefix cache");
  if (r.time.measured) {
    const double total = breakdown_total(r);
    out += "  time breakdown     ";
    for (const auto& [name, s] : breakdown_parts(r)) {
      if (total > 0 && s > 0) out += fmt::format(" {} {:.1f}%", name, 100 * s / total);
    }
    if (r.plan.pp > 1) {
      out += fmt::format(
          " (of {:.2f} s: stage times summed over the {} stages, CPU overhead and transfers per "
          "micro-batch)\n",
          total, r.plan.pp);
    } else {
      out += fmt::format(" (of {:.2f} s of replica time)\n", total);
    }
  }
  if (r.stages.size() > 1) out += stages_table(r);
  if (!info.launch.empty()) out += fmt::format("  launch it           {}\n", info.launch.front());
  return out;
}

std::string search_table(const SearchReport& s, const RunInfo& info) {
  std::string out;
  out += fmt::format("APEX search — {} on {}\n", info.model, info.cluster);
  out += fmt::format("  workload   {}\n  engine     {}, precision {}\n", info.workload, info.engine,
                     info.precision);
  out += fmt::format("  objective  {}: {} ({} is better{})\n", objective_name(s.objective),
                     objective_description(s.objective), higher_is_better(s.objective) ? "higher" : "lower",
                     s.ranking.objective_is_default ? "; the default" : "");
  if (s.ranking.objective_is_default) {
    out +=
        "             (under open-loop arrivals every plan serves the offered rate, so throughput cannot\n"
        "             rank them; --objective to choose another)\n";
  }
  if (s.ranking.slo) {
    out += s.ranking.min_attainment > 0
               ? fmt::format("  SLOs       {}; a plan must meet them for {:g}% of requests ({})\n",
                             slo_text(info), s.ranking.min_attainment * 100, "--min-attainment")
               : fmt::format("  SLOs       {}; every plan is ranked ({} 0)\n", slo_text(info),
                             "--min-attainment");
  }
  out += "\n";
  out += fmt::format("  {:>4} {:<22} {:>5} {:>12} {:>9} {:>9} {:>9} {:>9} {:>10} {:>8} {:>11} {:>10}\n",
                     "rank", "plan", "GPUs", "objective", "TTFT ms", "TPOT ms", "p99 TPOT", "E2E s",
                     "out tok/s", "$/Mtok", "weights/GPU", "KV tokens");
  int rank = 1;
  const bool tie = s.ranking.tied > 1;
  for (const auto& o : s.ranked) {
    const SimResult& r = *o.result;
    const std::string rank_text = fmt::format("{}{}", rank++, tie && o.tie_group == 1 ? "=" : "");
    out += fmt::format(
        "  {:>4} {:<22} {:>5} {:>12.4g} {:>9} {:>9} {:>9} {:>9.2f} {:>10.1f} {:>8.2f} {:>11} {:>10}\n",
        rank_text, o.candidate.label(), r.plan.gpus(), o.score, ms(r.ttft.mean), ms(r.tpot.mean),
        ms(r.tpot.p99), r.e2e.mean, r.throughput_tokens_per_s, o.cost_per_million_tokens,
        format_bytes(r.memory.weights), r.memory.kv_tokens());
  }
  if (!s.ranked.empty()) {
    const auto& best = s.ranked.front();
    out += fmt::format("\n  best plan: {} — {} = {:.4g}", best.candidate.label(), objective_name(s.objective),
                       best.score);
    if (s.baseline && s.baseline->result) {
      const double base = s.baseline->score;
      if (base > 0 && best.score > 0) {
        const double speedup = higher_is_better(s.objective) ? best.score / base : base / best.score;
        out += fmt::format(" ({:.2f}x vs the naive plan {}: {:.4g})", speedup,
                           s.baseline->candidate.plan.label(), base);
      }
    }
    out += "\n";
    if (tie) {
      out += fmt::format("  tie: {} (= in the rank column;\n       tie-breaks in order: {})\n", tie_text(s),
                         fmt::join(s.ranking.tie_breaks, ", "));
    }
    if (!info.launch.empty()) out += fmt::format("  launch it:  {}\n", info.launch.front());
    if (!s.baseline_note.empty()) out += fmt::format("  note: {}\n", s.baseline_note);
    if (s.ranking.slo && best.result->slo_attainment <= 0) {
      out += fmt::format(
          "  note: no plan meets the SLOs for any request; over all {} simulated plans the best mean TTFT is "
          "{} ms ({}) and the best mean TPOT {} ms ({}) (loosen the SLOs, add GPUs, use --weight-dtype fp8 "
          "or lower the load)\n",
          s.simulated, ms(s.ranking.best_ttft_mean), s.ranking.best_ttft_plan, ms(s.ranking.best_tpot_mean),
          s.ranking.best_tpot_plan);
    }
  }
  out += fmt::format(
      "  plans: {} enumerated, {} feasible, {} simulated, {} pruned by bound, {:.2f} s on {} thread{}\n",
      s.enumerated, s.feasible, s.simulated, s.pruned, s.wall_s, s.threads, s.threads == 1 ? "" : "s");
  if (!s.rejected.empty()) {
    out += "  rejected:\n";
    for (const auto& [k, v] : s.rejected) {
      std::string example;
      for (const auto& e : s.rejected_examples) {
        if (e.reason == k) example = fmt::format("  e.g. {}: {}", e.candidate.label(), e.detail);
      }
      out += fmt::format("    {:<24} {:>5}{}\n", k, v, example);
    }
  }
  return out;
}

namespace {
// The plan columns, then the registry's.
std::string csv_header() {
  std::string out = "plan,dp,tp,pp,ep,gpus";
  for (const std::string& c : metric_csv_header())
    out += "," + c;
  return out;
}
std::string csv_row(const SimResult& r, const std::string& label) {
  std::string out =
      fmt::format("{},{},{},{},{},{}", label, r.plan.dp, r.plan.tp, r.plan.pp, r.plan.ep, r.plan.gpus());
  for (const std::string& c : metric_csv_cells(r))
    out += "," + c;
  return out;
}
}  // namespace

std::string simulate_csv(const SimResult& r) {
  return csv_header() + "\n" + csv_row(r, r.plan.label()) + "\n";
}

std::string search_csv(const SearchReport& s) {
  std::string out = "rank,objective," + csv_header() + "\n";
  int rank = 1;
  for (const auto& o : s.ranked) {
    out += fmt::format("{},{:.9g},{}\n", rank++, o.score, csv_row(*o.result, o.candidate.label()));
  }
  return out;
}

}  // namespace apex
