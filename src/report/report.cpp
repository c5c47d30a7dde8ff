#include "report/report.h"

#include <cmath>

#include <fmt/format.h>

#include "core/error.h"
#include "core/units.h"
#include "model/registry.h"
#include "sim/engines/engine_spec.h"

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

Json summary_json(const Summary& s) {
  return Json{{"mean", s.mean}, {"p50", s.p50}, {"p90", s.p90}, {"p99", s.p99}};
}

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

std::string launch_command(const Deployment& d, const Plan& plan, const EnginePolicy& e) {
  return launch_command(d.model, d.precision, plan, e, d.max_model_len);
}

namespace {

// (name, seconds) of each part of a breakdown, in report order.
std::vector<std::pair<const char*, double>> breakdown_parts(const TimeBreakdown& t) {
  const auto& k = t.kernels;
  return {{"gemm", k.gemm},
          {"moe", k.moe},
          {"attention", k.attention},
          {"communication", k.communication},
          {"elementwise", k.elementwise},
          {"lm_head", k.lm_head},
          {"kernel_launch", k.launch},
          {"draft", k.draft},
          {"pp_transfer", t.pp_transfer},
          {"cpu_overhead", t.cpu_overhead}};
}

double breakdown_total(const TimeBreakdown& t) {
  double total = 0;
  for (const auto& [name, s] : breakdown_parts(t))
    total += s;
  return total;
}

}  // namespace

Json breakdown_json(const TimeBreakdown& t) {
  const double total = breakdown_total(t);
  Json seconds = Json::object(), share = Json::object();
  for (const auto& [name, s] : breakdown_parts(t)) {
    seconds[name] = s;
    share[name] = total > 0 ? s / total : 0.0;
  }
  return Json{{"seconds", seconds}, {"share", share}, {"total_s", total}};
}

Json result_json(const SimResult& r, const EnginePolicy* engine) {
  Json j;
  j["plan"] = plan_json(r.plan);
  j["feasible"] = true;
  Json m;
  m["ttft_s"] = summary_json(r.ttft);
  m["tpot_s"] = summary_json(r.tpot);
  m["itl_s"] = summary_json(r.itl);
  m["e2e_s"] = summary_json(r.e2e);
  m["queue_s"] = summary_json(r.queue);
  m["throughput_tokens_per_s"] = r.throughput_tokens_per_s;
  m["requests_per_s"] = r.requests_per_s;
  m["makespan_s"] = r.makespan;
  m["mfu"] = r.mfu;
  m["mbu"] = r.mbu;
  m["energy_j"] = r.energy_j;
  m["energy_per_output_token_j"] = r.energy_per_output_token_j;
  m["energy_per_request_j"] = r.energy_per_request_j;
  m["mean_power_per_gpu_w"] = r.mean_power_per_gpu_w;
  m["slo_attainment"] = r.slo_attainment;
  m["goodput_requests_per_s"] = r.goodput_requests_per_s;
  m["requests"] = r.requests;
  m["prompt_tokens"] = r.prompt_tokens;
  m["output_tokens"] = r.output_tokens;
  j["metrics"] = m;
  j["memory"] = Json{{"weights_bytes_per_gpu", r.memory.weights},
                     {"kv_cache_bytes_per_gpu", r.memory.kv_cache},
                     {"activation_bytes_per_gpu", r.memory.activation},
                     {"runtime_reserve_bytes_per_gpu", r.memory.runtime_reserve},
                     {"gpu_capacity_bytes", r.memory.capacity},
                     {"kv_cache_tokens_per_replica", r.memory.kv_tokens()},
                     {"kv_bytes_per_token_per_gpu", r.memory.kv_bytes_per_token}};
  j["engine"] = Json{{"name", r.engine}};
  if (engine != nullptr) {
    j["engine"]["version"] = engine->version;
    j["engine"]["max_num_seqs"] = engine->max_num_seqs;
    j["engine"]["max_num_batched_tokens"] = engine->max_num_batched_tokens;
    j["engine"]["gpu_memory_utilization"] = engine->gpu_memory_utilization;
    j["engine"]["block_size"] = engine->block_size;
    j["engine"]["chunked_prefill"] = engine->chunked_prefill;
  }
  j["counters"] =
      Json{{"iterations", r.iterations},
           {"preemptions", r.preemptions},
           {"mean_batch_seqs", r.mean_batch_seqs},
           {"mean_batch_tokens", r.mean_batch_tokens},
           {"busy_fraction", r.busy_fraction},
           {"peak_kv_utilization", r.peak_kv_utilization},
           {"peak_active_requests", r.peak_active_requests},
           {"prefix_cache_hit_rate", r.prompt_tokens > 0 ? static_cast<double>(r.prefix_hit_tokens) /
                                                               static_cast<double>(r.prompt_tokens)
                                                         : 0.0}};
  if (r.time.measured) j["breakdown"] = breakdown_json(r.time);
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
    r["objective"] = Json{{"name", objective_name(s.objective)}, {"value", o.score}, {"bound", o.bound}};
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
  return j;
}

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
  auto row = [&](const char* name, const Summary& s) {
    out += fmt::format("  {:<10} {:>10} {:>10} {:>10} {:>10}\n", name, ms(s.mean), ms(s.p50), ms(s.p90),
                       ms(s.p99));
  };
  row("TTFT", r.ttft);
  row("TPOT", r.tpot);
  row("ITL", r.itl);
  row("E2E", r.e2e);
  row("queue", r.queue);
  out += "\n";
  out += fmt::format("  requests            {} ({} prompt + {} output tokens)\n", r.requests, r.prompt_tokens,
                     r.output_tokens);
  out += fmt::format("  throughput          {:.1f} output tok/s, {:.3f} req/s over a {:.1f} s makespan\n",
                     r.throughput_tokens_per_s, r.requests_per_s, r.makespan);
  out += fmt::format("  utilization         MFU {:.1f}%, MBU {:.1f}%, busy {:.1f}%\n", r.mfu * 100,
                     r.mbu * 100, r.busy_fraction * 100);
  out += fmt::format(
      "  energy              {:.3g} kJ: {:.3f} J per output token, {:.1f} J per request, "
      "{:.0f} W per GPU on average\n",
      r.energy_j / 1e3, r.energy_per_output_token_j, r.energy_per_request_j, r.mean_power_per_gpu_w);
  out += fmt::format("  SLO attainment      {:.1f}%\n", r.slo_attainment * 100);
  out += fmt::format(
      "  memory per GPU      weights {}, KV cache {} ({} tokens/replica), activations {}, reserve {} of {}\n",
      format_bytes(r.memory.weights), format_bytes(r.memory.kv_cache), r.memory.kv_tokens(),
      format_bytes(r.memory.activation), format_bytes(r.memory.runtime_reserve),
      format_bytes(r.memory.capacity));
  out += fmt::format(
      "  scheduler           {} iterations, mean batch {:.1f} seqs / {:.0f} tokens, {} preemptions, "
      "peak KV use {:.0f}%\n",
      r.iterations, r.mean_batch_seqs, r.mean_batch_tokens, r.preemptions, r.peak_kv_utilization * 100);
  if (r.prefix_hit_tokens > 0) {
    out += fmt::format("  prefix cache        {:.1f}% of prompt tokens served from cached prefixes\n",
                       100.0 * static_cast<double>(r.prefix_hit_tokens) /
                           static_cast<double>(std::max<std::uint64_t>(1, r.prompt_tokens)));
  }
  if (r.time.measured) {
    const double total = breakdown_total(r.time);
    out += "  time breakdown     ";
    for (const auto& [name, s] : breakdown_parts(r.time)) {
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
  if (!info.launch.empty()) out += fmt::format("  launch it           {}\n", info.launch.front());
  return out;
}

std::string search_table(const SearchReport& s, const RunInfo& info) {
  std::string out;
  out += fmt::format("APEX search — {} on {}\n", info.model, info.cluster);
  out += fmt::format("  workload   {}\n  engine     {}, precision {}\n  objective  {} ({} is better)\n\n",
                     info.workload, info.engine, info.precision, objective_name(s.objective),
                     higher_is_better(s.objective) ? "higher" : "lower");
  out += fmt::format("  {:>4} {:<22} {:>5} {:>12} {:>9} {:>9} {:>9} {:>9} {:>10} {:>8} {:>11} {:>10}\n",
                     "rank", "plan", "GPUs", "objective", "TTFT ms", "TPOT ms", "p99 TPOT", "E2E s",
                     "out tok/s", "$/Mtok", "weights/GPU", "KV tokens");
  int rank = 1;
  for (const auto& o : s.ranked) {
    const SimResult& r = *o.result;
    out += fmt::format(
        "  {:>4} {:<22} {:>5} {:>12.4g} {:>9} {:>9} {:>9} {:>9.2f} {:>10.1f} {:>8.2f} {:>11} {:>10}\n",
        rank++, o.candidate.label(), r.plan.gpus(), o.score, ms(r.ttft.mean), ms(r.tpot.mean), ms(r.tpot.p99),
        r.e2e.mean, r.throughput_tokens_per_s, o.cost_per_million_tokens, format_bytes(r.memory.weights),
        r.memory.kv_tokens());
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
    if (!info.launch.empty()) out += fmt::format("  launch it:  {}\n", info.launch.front());
    if (!s.baseline_note.empty()) out += fmt::format("  note: {}\n", s.baseline_note);
    if (s.objective == Objective::Goodput && best.score <= 0) {
      double ttft = best.result->ttft.mean, tpot = best.result->tpot.mean;
      for (const auto& o : s.ranked) {
        ttft = std::min(ttft, o.result->ttft.mean);
        tpot = std::min(tpot, o.result->tpot.mean);
      }
      out += fmt::format(
          "  note: no plan meets the SLOs for any request; the best mean TTFT is {} ms and the best "
          "mean TPOT {} ms (loosen the SLOs, add GPUs, use --weight-dtype fp8 or lower the load)\n",
          ms(ttft), ms(tpot));
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
std::string csv_header() {
  return "plan,dp,tp,pp,ep,gpus,ttft_mean_s,ttft_p50_s,ttft_p90_s,ttft_p99_s,tpot_mean_s,tpot_p50_s,tpot_p90_"
         "s,"
         "tpot_p99_s,itl_mean_s,itl_p99_s,e2e_mean_s,e2e_p50_s,e2e_p90_s,e2e_p99_s,throughput_tokens_per_s,"
         "requests_per_s,makespan_s,mfu,mbu,energy_j,slo_attainment,weights_bytes_per_gpu,kv_cache_bytes_per_"
         "gpu,"
         "activation_bytes_per_gpu";
}
std::string csv_row(const SimResult& r, const std::string& label) {
  return fmt::format(
      "{},{},{},{},{},{},{:.9g},{:.9g},{:.9g},{:.9g},{:.9g},{:.9g},{:.9g},{:.9g},{:.9g},{:.9g},{:.9g},"
      "{:.9g},{:.9g},{:.9g},{:.9g},{:.9g},{:.9g},{:.9g},{:.9g},{:.9g},{:.9g},{:.0f},{:.0f},{:.0f}",
      label, r.plan.dp, r.plan.tp, r.plan.pp, r.plan.ep, r.plan.gpus(), r.ttft.mean, r.ttft.p50, r.ttft.p90,
      r.ttft.p99, r.tpot.mean, r.tpot.p50, r.tpot.p90, r.tpot.p99, r.itl.mean, r.itl.p99, r.e2e.mean,
      r.e2e.p50, r.e2e.p90, r.e2e.p99, r.throughput_tokens_per_s, r.requests_per_s, r.makespan, r.mfu, r.mbu,
      r.energy_j, r.slo_attainment, r.memory.weights, r.memory.kv_cache, r.memory.activation);
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
