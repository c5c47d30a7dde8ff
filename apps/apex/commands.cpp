// apps/apex/commands.cpp — the subcommands: call the library, render, write.
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include <filesystem>

#include "calib/calib.h"
#include "core/error.h"
#include "core/parallel.h"
#include "core/text.h"
#include "core/units.h"
#include "model/registry.h"
#include "perf/profile.h"
#include "report/report.h"
#include "search/planner.h"
#include "validate/serving.h"

#include "cli.h"

namespace apex::cli {
namespace {

Format choose_format(const Options& o) {
  if (!o.format.empty()) return parse_format(o.format);
  if (!o.output.empty()) {
    if (o.output.ends_with(".csv")) return Format::CSV;
    if (o.output.ends_with(".html") || o.output.ends_with(".htm")) return Format::HTML;
    if (o.output.ends_with(".txt")) return Format::Table;
    return Format::JSON;
  }
  return isatty(STDOUT_FILENO) ? Format::Table : Format::JSON;
}

void write_output(const Options& o, const std::string& text) {
  if (o.capture != nullptr) {
    *o.capture = text;
    return;
  }
  if (o.output.empty()) {
    std::cout << text;
    std::cout.flush();
    return;
  }
  std::ofstream out(o.output, std::ios::binary);
  if (!out) throw UserError(fmt::format("cannot write output file '{}'", o.output));
  out << text;
  if (!out) throw UserError(fmt::format("failed writing output file '{}'", o.output));
}

std::string precision_label(const Deployment& d) {
  return fmt::format("W{}/A{}/KV{}", dtype_name(d.precision.weight), dtype_name(d.precision.activation),
                     dtype_name(d.precision.kv));
}

}  // namespace

int run_simulate(const Options& o, const CLI::App& app) {
  const Format format = choose_format(o);
  Deployment d = build_deployment(o, app);
  WorkloadInput w = build_workload(o, app, false);
  Plan plan;
  plan.dp = o.dp;
  plan.tp = o.tp;
  plan.pp = o.pp;
  plan.ep = o.ep;
  plan.attn_dp = o.dp_attention;
  PlanOptions popt;
  popt.allow_cross_node_tp = true;  // an explicit plan is the user's choice; its cost is modelled
  make_plan_or_throw(d, plan, popt);
  const EnginePolicy engine = d.engine_policy();
  if (w.trace) {
    if (auto why = memory_check(d, plan, engine, required_kv_tokens(d, w.trace->max_total()))) {
      throw UserError(fmt::format("plan {} does not fit in memory: {}", plan.label(), *why));
    }
  } else if (auto why = memory_check(d, plan, engine, required_kv_tokens(d, 1))) {
    throw UserError(fmt::format("plan {} does not fit in memory: {}", plan.label(), *why));
  }
  std::unique_ptr<RequestSource> src = w.trace ? source_of(*w.trace) : synthetic_source(*w.spec);
  const SimResult r = simulate_plan(d, plan, *src, {}, !o.per_request.empty(), o.breakdown);
  if (!o.per_request.empty()) {
    std::ofstream f(o.per_request);
    if (!f) throw UserError(fmt::format("cannot write --per-request file '{}'", o.per_request));
    f << "id,arrival_s,prompt_tokens,output_tokens,ttft_s,tpot_s,e2e_s,replica,preemptions\n";
    for (const auto& q : r.request_records) {
      f << fmt::format("{},{:.9f},{},{},{:.9f},{:.9f},{:.9f},{},{}\n", q.id, q.arrival, q.prompt, q.output,
                       q.ttft, q.tpot, q.e2e, q.replica, q.preemptions);
    }
  }
  RunInfo info{d.model.name,
               d.cluster.describe(),
               w.description,
               engine.name,
               precision_label(d),
               d.cluster.gpu.price_per_hour,
               {launch_command(d, plan, engine)}};
  std::string text;
  switch (format) {
    case Format::Table:
      text = simulate_table(r, info, engine);
      break;
    case Format::JSON: {
      Json j = result_json(r, &engine);
      j["run"] = Json{{"model", info.model},
                      {"cluster", info.cluster},
                      {"workload", info.workload},
                      {"precision", info.precision}};
      j["launch"] = info.launch.front();
      text = j.dump(2) + "\n";
      break;
    }
    case Format::CSV:
      text = simulate_csv(r);
      break;
    case Format::HTML:
      text = simulate_html(r, info, engine);
      break;
  }
  write_output(o, text);
  return 0;
}

namespace {

std::vector<int> parse_int_list(const std::string& text, const std::string& where) {
  std::vector<int> out;
  std::size_t start = 0;
  for (std::size_t i = 0; i <= text.size(); ++i) {
    if (i == text.size() || text[i] == ':' || text[i] == '/') {
      auto v = parse_int(text.substr(start, i - start));
      if (!v || *v < 1)
        throw UserError(
            fmt::format("{}: '{}' is not a positive integer", where, text.substr(start, i - start)));
      out.push_back(static_cast<int>(*v));
      start = i + 1;
    }
  }
  return out;
}

}  // namespace

int run_search(const Options& o, const CLI::App& app, const WaveRunner& runner, bool print) {
  const Format format = choose_format(o);
  Deployment d = build_deployment(o, app);
  WorkloadInput w = build_workload(o, app, true);
  SearchOptions s;
  s.objective = parse_objective(o.objective);
  s.top = o.top;
  s.exhaustive = o.exhaustive;
  if (o.threads < 0)
    throw UserError(fmt::format("--threads must be 0 (all cores) or positive, got {}", o.threads));
  s.threads = o.threads;
  s.plan.allow_cross_node_tp = o.allow_cross_node_tp;
  s.plan.require_all_gpus = !o.allow_fewer_gpus;
  if (o.gpu_price) {
    if (!(*o.gpu_price > 0)) throw UserError("--gpu-price must be positive (USD per GPU-hour)");
    s.price_per_gpu_hour = *o.gpu_price;
  }
  if (!o.tune.empty()) {
    // --tune max-num-seqs[=64/128/256],max-num-batched-tokens[=2048/8192]
    const std::vector<std::string> knobs = {"max-num-seqs", "max-num-batched-tokens"};
    std::size_t start = 0;
    for (std::size_t i = 0; i <= o.tune.size(); ++i) {
      if (i < o.tune.size() && o.tune[i] != ',') continue;
      const std::string item = o.tune.substr(start, i - start);
      start = i + 1;
      const auto eq = item.find('=');
      const std::string name = item.substr(0, eq);
      if (name == "max-num-seqs") {
        s.tune_max_num_seqs = eq == std::string::npos
                                  ? std::vector<int>{64, 128, 256, 512, 1024}
                                  : parse_int_list(item.substr(eq + 1), "--tune max-num-seqs");
      } else if (name == "max-num-batched-tokens") {
        s.tune_max_num_batched_tokens =
            eq == std::string::npos ? std::vector<int>{2048, 4096, 8192, 16384}
                                    : parse_int_list(item.substr(eq + 1), "--tune max-num-batched-tokens");
      } else {
        throw UserError("--tune: " + unknown_name_message("engine knob", name, knobs));
      }
    }
  }
  s.runner = runner;
  const SearchReport rep = search(d, *w.trace, s);
  if (!print) return 0;
  RunInfo info{d.model.name,
               d.cluster.describe(),
               w.description,
               d.engine,
               precision_label(d),
               s.price_per_gpu_hour.value_or(d.cluster.gpu.price_per_hour),
               {}};
  for (const auto& ranked : rep.ranked) {
    info.launch.push_back(launch_command(d, ranked.candidate.plan, d.engine_policy(ranked.candidate.knobs)));
  }
  std::string text;
  switch (format) {
    case Format::Table:
      text = search_table(rep, info);
      break;
    case Format::JSON:
      text = search_json(rep, info).dump(2) + "\n";
      break;
    case Format::CSV:
      text = search_csv(rep);
      break;
    case Format::HTML:
      text = search_html(rep, info);
      break;
  }
  write_output(o, text);
  return 0;
}

namespace {

// The per-GPU folders of a measurement tree that name a GPU preset, sorted: (folder, GPU).
std::vector<std::pair<std::filesystem::path, const Gpu*>> measured_gpus(const std::string& dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) throw UserError(fmt::format("--measurements '{}' is not a directory", dir));
  std::vector<std::pair<fs::path, const Gpu*>> out;
  for (const auto& e : fs::directory_iterator(dir)) {
    if (!e.is_directory()) continue;
    if (const Gpu* gpu = gpu_for_calibration_key(e.path().filename().string()))
      out.emplace_back(e.path(), gpu);
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

// `apex validate ops`: per GPU and op kind, median and p90 |model/measured - 1| of the op model.
int run_validate_ops(const std::string& dir, const std::string& only, const std::string& format) {
  Json all = Json::object();
  std::string text =
      fmt::format("{:<10} {:<34} {:>8} {:>9} {:>9} {:>9}\n", "gpu", "op", "rows", "median", "p90", "bias");
  for (const auto& [folder, gpu] : measured_gpus(dir)) {
    const std::string key = folder.filename().string();
    if (!only.empty() && only != key && only != gpu->name) continue;
    const MeasurementSet m = load_measurements(folder.string());
    auto ops = make_analytical_ops(*gpu);
    const ValidationReport rep = validate_ops(*ops, *gpu, m);
    for (const auto& o : rep.ops) {
      text += fmt::format("{:<10} {:<34} {:>8} {:>8.1f}% {:>8.1f}% {:>+8.1f}%\n", key, o.kind, o.rows,
                          o.median * 100, o.p90 * 100, o.mean_signed * 100);
      all[key][o.kind] =
          Json{{"rows", o.rows}, {"median", o.median}, {"p90", o.p90}, {"bias", o.mean_signed}};
    }
    for (const auto& s : rep.skipped)
      text += fmt::format("{:<10}   skipped: {}\n", key, s);
  }
  std::cout << (format == "json" ? all.dump(2) + "\n" : text);
  return 0;
}

// `apex calibrate`: fits the op model of every GPU folder and writes data/calibration.json.
int run_calibrate(const std::string& dir, const std::string& out_path, int holdout) {
  if (holdout == 1 || holdout < 0)
    throw UserError("--holdout must be 0 (off) or at least 2 (hold out 1 row in N)");
  if (holdout > 1) {
    std::cout << fmt::format("{:<10} {:<34} {:>8} {:>9} {:>9}   (held-out rows: 1 in {})\n", "gpu", "op",
                             "rows", "median", "p90", holdout);
    for (const auto& [folder, gpu] : measured_gpus(dir)) {
      const auto [train, test] = split_measurements(load_measurements(folder.string()), holdout, 0);
      const OpParams p = fit_op_params(*gpu, train, OpParams{}, "held-out check");
      auto ops = make_analytical_ops(*gpu, p);
      for (const auto& o : validate_ops(*ops, *gpu, test).ops) {
        std::cout << fmt::format("{:<10} {:<34} {:>8} {:>8.1f}% {:>8.1f}%\n", folder.filename().string(),
                                 o.kind, o.rows, o.median * 100, o.p90 * 100);
      }
    }
    return 0;
  }
  Json out;
  out["about"] =
      "Fitted parameters of the analytical op model per GPU, regenerated by `apex calibrate "
      "--measurements ../shared/measurements -o data/calibration.json`. See data/README.md for the "
      "provenance and licences of the measurements they were fitted to.";
  for (const auto& [folder, gpu] : measured_gpus(dir)) {
    const std::string key = folder.filename().string();
    const MeasurementSet m = load_measurements(folder.string());
    std::cerr << "fitting " << key << " (" << m.gemm.size() << " gemm, " << m.prefill.size() << " prefill, "
              << m.decode.size() << " decode, " << m.comm.size() << " collective rows)\n";
    const OpParams p = fit_op_params(*gpu, m, OpParams{},
                                     fmt::format("fitted to measurements/{} (aiconfigurator Apache-2.0; "
                                                 "Vidur and APEX+ MIT) by apex calibrate",
                                                 key));
    Json j = params_to_json(p);
    auto ops = make_analytical_ops(*gpu, p);
    for (const auto& o : validate_ops(*ops, *gpu, m).ops) {
      j["fit_quality"][o.kind] = Json{{"rows", o.rows},
                                      {"median_abs_rel_error", std::round(o.median * 1e4) / 1e4},
                                      {"p90_abs_rel_error", std::round(o.p90 * 1e4) / 1e4}};
    }
    out["gpus"][key] = j;
  }
  std::ofstream f(out_path);
  if (!f) throw UserError(fmt::format("cannot write '{}'", out_path));
  f << out.dump(2) << "\n";
  return 0;
}

int run_list(const std::string& what) {
  if (what.empty()) throw UserError("apex list needs what to list: models, gpus, engines or objectives");
  if (what == "models") {
    std::size_t width = 0;
    for (const auto& p : model_presets())
      width = std::max(width, p.name.size());
    for (const auto& p : model_presets()) {
      const Model m = load_model(p.name);
      fmt::print("{:<{}} {:>8.2f}B  {}\n", p.name, width, m.params() / 1e9, p.description);
    }
    fmt::print("\nAlso accepted: a path to a Hugging Face config.json of model_type:");
    for (const auto& f : supported_families())
      fmt::print(" {}", f.model_type);
    fmt::print("\n");
  } else if (what == "gpus") {
    for (const auto& g : gpu_presets()) {
      fmt::print("{:<16} {:>6.0f} GiB {:>5.2f} TB/s {:>7.0f} TFLOPS bf16/fp16  {}\n", g.name,
                 g.hbm_bytes / kGiB, g.hbm_bandwidth / 1e12, std::max(g.peak_bf16, g.peak_fp16) / 1e12,
                 g.description);
    }
  } else if (what == "engines") {
    for (const auto& e : engine_presets())
      fmt::print("{:<10} {}\n", e.name, e.description);
  } else if (what == "objectives") {
    for (const auto& n : objective_names())
      fmt::print("{}\n", n);
  } else {
    const std::vector<std::string> kinds = {"models", "gpus", "engines", "objectives"};
    throw UserError("apex list: " + unknown_name_message("list", what, kinds));
  }
  return 0;
}

int run_validate_serving(const std::string& reference, const std::string& output) {
  if (reference.empty()) throw UserError("apex validate serving needs --reference serving_measurements.csv");
  const auto cases = validate_serving(read_serving_rows(reference), default_threads());
  const std::string md = serving_markdown(cases, reference);
  if (output.empty()) {
    std::cout << md;
    return 0;
  }
  std::ofstream f(output);
  if (!f) throw UserError(fmt::format("cannot write '{}'", output));
  f << md;
  const ErrorStats e = error_stats(cases);
  std::cerr << fmt::format("{} rows simulated: median |error| {:.1f}%, p90 {:.1f}%\n", e.n, e.median * 100,
                           e.p90 * 100);
  return 0;
}

}  // namespace apex::cli
