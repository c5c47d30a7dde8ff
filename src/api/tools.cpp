// api/tools.cpp — validate (ops, serving), calibrate and list.
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "api/api.h"
#include "api/options.h"
#include "api/output.h"
#include "calib/calib.h"
#include "core/error.h"
#include "core/option_ref.h"
#include "core/parallel.h"
#include "core/units.h"
#include "model/registry.h"
#include "validate/serving.h"
#include "validate/staged.h"

namespace apex::api {
namespace {

// The per-GPU folders of a measurement tree that name a GPU preset, sorted: (folder, GPU).
std::vector<std::pair<std::filesystem::path, const Gpu*>> measured_gpus(const std::string& dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::is_directory(dir, ec))
    throw UserError(fmt::format("{} '{}' is not a directory", opt("measurements"), dir));
  std::vector<std::pair<fs::path, const Gpu*>> out;
  for (const auto& e : fs::directory_iterator(dir)) {
    if (!e.is_directory()) continue;
    if (const Gpu* gpu = gpu_for_calibration_key(e.path().filename().string()))
      out.emplace_back(e.path(), gpu);
  }
  if (out.empty()) {
    // Nothing to fit or validate: an empty calibration written with exit 0 would look like success.
    std::vector<std::string> keys;
    for (const auto& g : gpu_presets()) {
      if (!g.calibration_key.empty() && std::find(keys.begin(), keys.end(), g.calibration_key) == keys.end())
        keys.push_back(g.calibration_key);
    }
    throw UserError(fmt::format("no GPU measurement folders found in {} ({}); expected one of: {}", dir,
                                opt("measurements"), join(keys, ", ")));
  }
  std::sort(out.begin(), out.end());
  return out;
}

// The tables of one GPU folder; UserError naming the folder when it holds no row at all (an empty
// folder would fit or validate nothing and still exit 0).
MeasurementSet load_gpu_folder(const std::filesystem::path& folder) {
  MeasurementSet m = load_measurements(folder.string());
  if (m.gemm.empty() && m.prefill.empty() && m.decode.empty() && m.moe.empty() && m.comm.empty()) {
    throw UserError(
        fmt::format("measurement folder '{}' ({}) holds no rows: expected at least one of gemm.csv, "
                    "attention_prefill.csv, attention_decode.csv, moe.csv, collectives.csv with data",
                    folder.string(), opt("measurements")));
  }
  return m;
}

// UserError when none of a folder's rows is one the op model prices (every table skipped).
void require_usable(const std::filesystem::path& folder, const ValidationReport& rep) {
  if (!rep.ops.empty()) return;
  std::vector<std::string> skipped(
      rep.skipped.begin(), rep.skipped.begin() + std::min<std::ptrdiff_t>(3, std::ssize(rep.skipped)));
  if (rep.skipped.size() > skipped.size()) skipped.push_back("...");
  throw UserError(fmt::format("measurement folder '{}' ({}) holds no row the op model prices{}{}",
                              folder.string(), opt("measurements"), skipped.empty() ? "" : ": ",
                              join(skipped, "; ")));
}

// `apex validate ops`: per GPU and op kind, median and p90 |model/measured - 1| of the op model.
TextResponse validate_ops_text(const std::string& dir, const std::string& only, const std::string& format,
                               const ProgressInput& pin) {
  Json all = Json::object();
  std::string text =
      fmt::format("{:<10} {:<34} {:>8} {:>9} {:>9} {:>9}\n", "gpu", "op", "rows", "median", "p90", "bias");
  const auto gpus = measured_gpus(dir);
  const auto matches = [&](const auto& entry) {
    return only == entry.first.filename().string() || only == entry.second->name;
  };
  if (!only.empty() && std::none_of(gpus.begin(), gpus.end(), matches)) {
    std::vector<std::string> keys;
    for (const auto& entry : gpus)
      keys.push_back(entry.first.filename().string());
    throw UserError(fmt::format("{}: {}", opt("gpu"),
                                unknown_name_message("measured GPU", only, keys, "the folders of " + dir)));
  }
  const auto progress = make_progress(pin, "validate ops", "GPUs");
  if (progress) {
    progress->set_total(only.empty()
                            ? gpus.size()
                            : static_cast<std::size_t>(std::count_if(gpus.begin(), gpus.end(), matches)));
  }
  for (const auto& [folder, gpu] : gpus) {
    const std::string key = folder.filename().string();
    if (!only.empty() && !matches(std::pair{folder, gpu})) continue;
    const MeasurementSet m = load_gpu_folder(folder);
    auto ops = make_analytical_ops(*gpu);
    const ValidationReport rep = validate_ops(*ops, *gpu, m);
    require_usable(folder, rep);
    if (progress) progress->add_done();
    for (const auto& o : rep.ops) {
      text += fmt::format("{:<10} {:<34} {:>8} {:>8.1f}% {:>8.1f}% {:>+8.1f}%\n", key, o.kind, o.rows,
                          o.median * 100, o.p90 * 100, o.mean_signed * 100);
      all[key][o.kind] =
          Json{{"rows", o.rows}, {"median", o.median}, {"p90", o.p90}, {"bias", o.mean_signed}};
    }
    for (const auto& s : rep.skipped)
      text += fmt::format("{:<10}   skipped: {}\n", key, s);
  }
  return {format == "json" ? all.dump(2) + "\n" : text, {}};
}

// An option given to the validate subcommand it does not belong to: an error, not silently
// ignored (as --profile-dir without --perf profile).
void reject_foreign(const ValidateRequest& r) {
  const bool serving = r.what == "serving";
  const std::pair<const char*, const std::string*> ops_only[] = {{"measurements", &r.measurements},
                                                                 {"gpu", &r.gpu}};
  const std::pair<const char*, const std::string*> serving_only[] = {{"reference", &r.reference},
                                                                     {"stage_reference", &r.stage_reference}};
  for (const auto& [name, value] : serving ? std::span(ops_only) : std::span(serving_only)) {
    if (!value->empty()) {
      throw UserError(fmt::format("{} is an option of `apex validate {}`, not of `apex validate {}`",
                                  opt(name), serving ? "ops" : "serving", r.what));
    }
  }
  if (serving && !r.format.empty()) {
    throw UserError(
        fmt::format("{} is an option of `apex validate ops` (table or json); `apex validate serving` "
                    "writes a markdown report (to {} FILE or stdout)",
                    opt("format"), opt("output")));
  }
  if (!serving && !r.format.empty() && r.format != "table" && r.format != "json") {
    const std::vector<std::string> formats = {"table", "json"};
    throw UserError(fmt::format("{}: {}", opt("format"), unknown_name_message("format", r.format, formats)));
  }
}

TextResponse validate_serving_text(const std::string& reference, const std::string& stage_reference,
                                   const std::string& output, const ProgressInput& pin) {
  if (reference.empty() && stage_reference.empty()) {
    throw UserError(
        fmt::format("apex validate serving needs {} serving_measurements.csv and/or {} "
                    "vllm_v1_serving.csv",
                    opt("reference"), opt("stage_reference")));
  }
  if (!output.empty()) check_writable(output);  // before the simulations, not after them
  std::string md, note;
  if (!reference.empty()) {
    const auto progress = make_progress(pin, "validate serving", "rows");
    const auto cases = validate_serving(read_serving_rows(reference), default_threads(), 1, progress.get());
    if (progress) progress->finish();
    if (std::none_of(cases.begin(), cases.end(), [](const ServingCase& c) { return c.simulated; })) {
      throw UserError(fmt::format("no row of {} '{}' can be simulated (first: line {}: {})", opt("reference"),
                                  reference, cases.front().row.line, cases.front().skip_reason));
    }
    // A skipped row's reason may quote a library UserError: its markers are spelled as flags.
    md = render_for_cli(serving_markdown(cases, reference));
    const ErrorStats e = error_stats(cases);
    note += fmt::format("{} rows simulated: median |error| {:.1f}%, p90 {:.1f}%\n", e.n, e.median * 100,
                        e.p90 * 100);
  }
  if (!stage_reference.empty()) {
    const auto progress = make_progress(pin, "validate serving", "staged runs");
    const auto cases = simulate_staged(read_staged_runs(stage_reference), default_threads(), progress.get());
    if (progress) progress->finish();
    if (std::none_of(cases.begin(), cases.end(), [](const StagedCase& c) { return c.simulated(); })) {
      throw UserError(fmt::format("no run of {} '{}' can be simulated (first: {}: {})",
                                  opt("stage_reference"), stage_reference, cases.front().run.id,
                                  cases.front().skip_reason));
    }
    const StagedFit fit = fit_staged(cases);
    if (!md.empty()) md += "\n";
    md += render_for_cli(staged_markdown(cases, fit, stage_reference));
    const StagedSummary& o = fit.out_of_sample;
    note += fmt::format(
        "{} stages: front-end latency {:.1f} ms; out of sample median |error| E2E {:.1f}%, decode {:.1f}%, "
        "TTFT {:.1f}%, {} saturation mismatches\n",
        o.stages, fit.frontend_s * 1e3, o.e2e_mean * 100, o.decode * 100, o.ttft_mean * 100,
        o.saturation_mismatches);
  }
  if (output.empty()) return {md, {}};
  write_file(output, md);
  return {{}, note};
}

}  // namespace

TextResponse validate(const ValidateRequest& r) {
  if (r.what == "serving") {
    reject_foreign(r);
    return validate_serving_text(r.reference, r.stage_reference, r.output, r.progress);
  }
  if (r.what != "ops") {
    const std::vector<std::string> kinds = {"ops", "serving"};
    throw UserError("apex validate: " + unknown_name_message("target", r.what, kinds));
  }
  reject_foreign(r);
  if (r.measurements.empty())
    throw UserError(fmt::format("apex validate ops needs {} DIR", opt("measurements")));
  if (!r.output.empty()) check_writable(r.output);  // before the runs, not after them
  TextResponse res = validate_ops_text(r.measurements, r.gpu, r.format, r.progress);
  if (r.output.empty()) return res;
  write_file(r.output, res.text);
  return {};
}

// Fits the op model of every GPU folder and writes the parameters (data/calibration.json). With
// `holdout` > 1, fits on all rows but one in `holdout` and reports the errors on the rest instead.
TextResponse calibrate(const CalibrateRequest& r) {
  const int holdout = r.holdout;
  if (holdout == 1 || holdout < 0)
    throw UserError(fmt::format("{} must be 0 (off) or at least 2 (hold out 1 row in N)", opt("holdout")));
  if (holdout == 0 && r.output.empty())
    throw UserError(fmt::format("apex calibrate needs {} FILE", opt("output")));
  const auto gpus = measured_gpus(r.measurements);
  const auto progress = make_progress(r.progress, "calibrate", "GPUs");
  if (progress) progress->set_total(gpus.size());
  if (holdout > 1) {
    std::string text = fmt::format("{:<10} {:<34} {:>8} {:>9} {:>9}   (held-out rows: 1 in {})\n", "gpu",
                                   "op", "rows", "median", "p90", holdout);
    for (const auto& [folder, gpu] : gpus) {
      const auto [train, test] = split_measurements(load_gpu_folder(folder), holdout, 0);
      const OpParams p = fit_op_params(*gpu, train, OpParams{}, "held-out check");
      auto ops = make_analytical_ops(*gpu, p);
      for (const auto& o : validate_ops(*ops, *gpu, test).ops) {
        text += fmt::format("{:<10} {:<34} {:>8} {:>8.1f}% {:>8.1f}%\n", folder.filename().string(), o.kind,
                            o.rows, o.median * 100, o.p90 * 100);
      }
      if (progress) progress->add_done();
    }
    return {text, {}};
  }
  check_writable(r.output);  // before the fits, not after them
  Json out;
  out["about"] =
      "Fitted parameters of the analytical op model per GPU, regenerated by `apex calibrate "
      "--measurements ../shared/measurements -o data/calibration.json`. See data/README.md for the "
      "provenance and licences of the measurements they were fitted to.";
  // Every folder is read and checked before the first fit: a bad table in the last folder is
  // reported at once, not after minutes of fitting the others.
  std::vector<MeasurementSet> sets;
  for (const auto& [folder, gpu] : gpus) {
    sets.push_back(load_gpu_folder(folder));
    require_usable(folder, validate_ops(*make_analytical_ops(*gpu), *gpu, sets.back()));
  }
  for (std::size_t i = 0; i < gpus.size(); ++i) {
    const auto& [folder, gpu] = gpus[i];
    const std::string key = folder.filename().string();
    const MeasurementSet& m = sets[i];
    if (r.progress.write && !r.progress.quiet) {
      const std::string line =
          fmt::format("fitting {} ({} gemm, {} prefill, {} decode, {} collective rows)\n", key, m.gemm.size(),
                      m.prefill.size(), m.decode.size(), m.comm.size());
      if (progress) {
        progress->note(line);  // clears the status line first
      } else {
        r.progress.write(line);
      }
    }
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
    if (progress) progress->add_done();
  }
  if (progress) progress->finish();
  write_file(r.output, out.dump(2) + "\n");
  return {};
}

TextResponse list(const ListRequest& r) {
  const std::string& what = r.what;
  if (what.empty()) throw UserError("apex list needs what to list: models, gpus, engines or objectives");
  std::string text;
  if (what == "models") {
    std::size_t width = 0;
    for (const auto& p : model_presets())
      width = std::max(width, p.name.size());
    for (const auto& p : model_presets()) {
      const Model m = load_model(p.name);
      text += fmt::format("{:<{}} {:>8.2f}B  {}\n", p.name, width, m.params() / 1e9, p.description);
    }
    text += "\nAlso accepted: a path to a Hugging Face config.json of model_type:";
    for (const auto& f : supported_families())
      text += fmt::format(" {}", f.model_type);
    text += "\n";
  } else if (what == "gpus") {
    for (const auto& g : gpu_presets()) {
      text += fmt::format("{:<16} {:>6.0f} GiB {:>5.2f} TB/s {:>7.0f} TFLOPS bf16/fp16  {}\n", g.name,
                          g.hbm_bytes / kGiB, g.hbm_bandwidth / 1e12,
                          std::max(g.peak_bf16, g.peak_fp16) / 1e12, g.description);
    }
  } else if (what == "engines") {
    for (const auto& e : engine_presets())
      text += fmt::format("{:<10} {}\n", e.name, e.description);
  } else if (what == "objectives") {
    for (const auto& n : objective_names())
      text += fmt::format("{}\n", n);
  } else {
    const std::vector<std::string> kinds = {"models", "gpus", "engines", "objectives"};
    throw UserError("apex list: " + unknown_name_message("list", what, kinds));
  }
  return {text, {}};
}

}  // namespace apex::api
