#include "report/report.h"

#include <cmath>

#include <fmt/format.h>

#include "core/error.h"
#include "core/units.h"
#include "model/registry.h"
#include "report/format.h"
#include "sim/engines/engine_spec.h"
#include "sim/metrics/registry.h"

namespace apex {

namespace {
// Indexed by Format.
const std::vector<std::string> kFormatNames = {"table", "json", "csv", "html"};
}  // namespace

Format parse_format(const std::string& text) {
  for (std::size_t i = 0; i < kFormatNames.size(); ++i) {
    if (text == kFormatNames[i]) return static_cast<Format>(i);
  }
  throw UserError(unknown_name_message("format", text, kFormatNames));
}

std::string format_name(Format f) {
  return kFormatNames.at(static_cast<std::size_t>(f));
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
                    {"reused", s.reused},
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
