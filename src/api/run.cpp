// api/run.cpp — simulate and search: request in, response (result + rendering) out.
#include <iterator>
#include <memory>
#include <string>
#include <utility>

#include <fmt/format.h>

#include "api/api.h"
#include "api/options.h"
#include "api/output.h"
#include "core/error.h"
#include "core/option_ref.h"

namespace apex::api {
namespace {

std::string precision_label(const Deployment& d) {
  return fmt::format("W{}/A{}/KV{}", dtype_name(d.precision.weight), dtype_name(d.precision.activation),
                     dtype_name(d.precision.kv));
}

void write_per_request(const std::string& path, const SimResult& r) {
  OutputFile f(path);
  f.write("id,arrival_s,prompt_tokens,output_tokens,ttft_s,tpot_s,e2e_s,replica,preemptions\n");
  std::string block;
  for (const auto& q : r.request_records) {
    fmt::format_to(std::back_inserter(block), "{},{:.9f},{},{},{:.9f},{:.9f},{:.9f},{},{}\n", q.id, q.arrival,
                   q.prompt, q.output, q.ttft, q.tpot, q.e2e, q.replica, q.preemptions);
    if (block.size() >= (1 << 16)) {
      f.write(block);
      block.clear();
    }
  }
  f.write(block);
  f.close();
}

// The report's free text carries library messages (a rejection's detail is the UserError of the
// engine knobs or the memory check), so their opt(...) markers are spelled here, as on the command
// line: the document is the same for every front end.
void render_option_refs_in(SearchReport& r) {
  for (auto& e : r.rejected_examples)
    e.detail = render_for_cli(e.detail);
  r.baseline_note = render_for_cli(r.baseline_note);
  if (r.nearest_miss) r.nearest_miss = render_for_cli(*r.nearest_miss);
}

// The cluster, and how much of it the plan uses when that is not all of it.
std::string cluster_use(const Cluster& c, const Plan& plan) {
  std::string out = c.describe();
  if (plan.gpus() < c.total_gpus())
    out += fmt::format("; the plan uses {} of its {} GPUs", plan.gpus(), c.total_gpus());
  return out;
}

}  // namespace

SimulateResponse simulate(const SimulateRequest& request) {
  Deployment d = build_deployment(request.deployment, request.workload);
  Workload w = build_workload(request.workload, false);
  Plan plan;
  plan.dp = request.plan.dp;
  plan.tp = request.plan.tp;
  plan.pp = request.plan.pp;
  plan.ep = request.plan.ep;
  plan.attn_dp = request.plan.dp_attention;
  PlanOptions popt;
  popt.allow_cross_node_tp = true;  // an explicit plan is the user's choice; its cost is modelled
  // A plan may use part of the cluster (as search's --allow-fewer-gpus plans do); the output says how
  // much, and every per-GPU and cost figure counts the plan's GPUs.
  popt.require_all_gpus = false;
  const std::int64_t longest = w.trace ? w.trace->max_total() : 1;
  const PlanInstance instance = instantiate_or_throw(d, plan, {}, required_kv_tokens(d, longest), popt);
  plan = instance.plan;
  SimulateResponse out;
  out.engine = instance.engine;
  std::unique_ptr<RequestSource> src = w.trace ? source_of(*w.trace) : synthetic_source(*w.spec);
  const bool records = !request.per_request.empty();
  check_distinct_files({{opt("output"), request.output.path},
                        {opt("per_request"), request.per_request},
                        {opt("trace"), request.workload.trace == "@sample" ? "" : request.workload.trace}});
  if (records) check_writable(request.per_request);  // before the run, not after it
  RunOptions run{records, request.breakdown};
  run.fast_forward = request.fast_forward;
  if (w.spec) run.stages = w.spec->stages;
  out.result = apex::simulate(instance, *src, run);
  if (records) write_per_request(request.per_request, out.result);
  out.info = RunInfo{d.model.name,
                     cluster_use(d.cluster, plan),
                     w.description,
                     out.engine.name,
                     precision_label(d),
                     d.cluster.gpu.price_per_hour,
                     {launch_command(d, plan, out.engine)}};
  out.info.ttft_slo_s = d.ttft_slo;
  out.info.tpot_slo_s = d.tpot_slo;
  out.warnings = deployment_warnings(request.deployment, d);
  out.warnings.insert(out.warnings.end(), w.warnings.begin(), w.warnings.end());
  for (std::size_t k = 0; k < out.result.stages.size(); ++k) {
    const StageResult& st = out.result.stages[k];
    if (st.metrics.requests > 0) continue;
    out.warnings.push_back(fmt::format(
        "load stage {} ({} req/s, {}-{} s) received no request (it expected {:.3g}; arrivals are random), so "
        "its metrics are empty; lengthen it or raise its rate",
        k + 1, st.rate, st.start, st.end, st.rate * (st.end - st.start)));
  }
  return out;
}

Json SimulateResponse::json() const {
  Json j = result_json(result, &engine);
  j["run"] = Json{{"model", info.model},
                  {"cluster", info.cluster},
                  {"workload", info.workload},
                  {"precision", info.precision}};
  j["launch"] = info.launch.front();
  return j;
}

std::string SimulateResponse::render(Format f) const {
  switch (f) {
    case Format::Table:
      return simulate_table(result, info, engine);
    case Format::JSON:
      return json().dump(2) + "\n";
    case Format::CSV:
      return simulate_csv(result);
    case Format::HTML:
      return simulate_html(result, info, engine);
  }
  return {};
}

SearchResponse search(const SearchRequest& request, const WaveRunner& runner) {
  Deployment d = build_deployment(request.deployment, request.workload);
  Workload w = build_workload(request.workload, true);
  SearchOptions s = build_search_options(request.search);
  s.runner = runner;
  const std::unique_ptr<Progress> progress = make_progress(request.progress, "search", "plans", true);
  s.progress = progress.get();
  SearchResponse out;
  out.report = apex::search(d, *w.trace, s);
  if (progress) progress->finish();
  render_option_refs_in(out.report);
  out.info = RunInfo{d.model.name,
                     d.cluster.describe(),
                     w.description,
                     d.engine,
                     precision_label(d),
                     s.price_per_gpu_hour.value_or(d.cluster.gpu.price_per_hour),
                     {}};
  out.info.ttft_slo_s = d.ttft_slo;
  out.info.tpot_slo_s = d.tpot_slo;
  out.warnings = deployment_warnings(request.deployment, d);
  out.warnings.insert(out.warnings.end(), w.warnings.begin(), w.warnings.end());
  out.info.wide = request.output.wide;
  for (const auto& ranked : out.report.ranked) {
    out.info.launch.push_back(launch_command(d, ranked.candidate.plan, ranked.instance->engine));
  }
  return out;
}

Json SearchResponse::json() const {
  return search_json(report, info);
}

std::string SearchResponse::render(Format f) const {
  switch (f) {
    case Format::Table:
      return search_table(report, info);
    case Format::JSON:
      return json().dump(2) + "\n";
    case Format::CSV:
      return search_csv(report);
    case Format::HTML:
      return search_html(report, info);
  }
  return {};
}

}  // namespace apex::api
