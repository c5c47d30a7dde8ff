// apps/apex/main.cpp — the `apex` command: parse options, build inputs, call the library, print.
// Exit codes: 0 success, 2 user error (bad flag, file or value), 1 internal error.
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

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

namespace {

using namespace apex;

// Every option, declared once; simulate and search share the model/cluster/workload groups.
struct Options {
  // model
  std::string model;
  std::string weight_dtype = "bf16", kv_dtype, activation_dtype = "bf16";
  std::optional<std::int64_t> max_model_len;
  // cluster
  std::string gpu = "h100-sxm";
  int nodes = 1;
  int gpus_per_node = 8;
  std::string cluster_file;
  std::optional<double> frequency_mhz;
  // workload
  std::string trace;
  std::string rate;
  std::int64_t num_requests = 0;
  std::string prompt_len, output_len;
  std::uint64_t seed = 0;
  double burstiness = 1.0;
  // plan
  int dp = 1, tp = 1, pp = 1, ep = 1;
  bool dp_attention = false;
  double expert_skew = 0;
  double expert_capacity_factor = 0;
  // engine
  std::string engine = "vllm";
  std::optional<int> max_num_seqs, max_num_batched_tokens, block_size;
  std::optional<double> gpu_memory_utilization, step_overhead_ms;
  std::string chunked_prefill;
  std::string router = "least-loaded";
  bool disable_custom_all_reduce = false;
  // op backend
  std::string perf = "analytical";
  std::string profile_dir;
  std::string perf_fallback;
  // SLOs
  double ttft_slo_ms = 0, tpot_slo_ms = 0;
  // output
  std::string format;
  std::string output;
  // search
  std::string objective = "throughput";
  int top = 10;
  bool exhaustive = false;
  int threads = 0;
  bool allow_cross_node_tp = false;
  bool allow_fewer_gpus = false;
  std::string tune;
  std::optional<double> gpu_price;
};

void add_model_options(CLI::App& app, Options& o) {
  app.add_option("--model", o.model, "Model preset name (see `apex list models`) or path to a config.json")
      ->required();
  app.add_option("--weight-dtype", o.weight_dtype, "Weight format: bf16, fp16, fp8, int8, int4")
      ->capture_default_str();
  app.add_option("--kv-dtype", o.kv_dtype, "KV-cache format: bf16, fp16, fp8 (default: the activation dtype)");
  app.add_option("--activation-dtype", o.activation_dtype, "Activation format: bf16, fp16, fp8, int8")
      ->capture_default_str();
  app.add_option("--expert-skew", o.expert_skew,
                 "MoE expert-load imbalance: power-law alpha of expert popularity (0 = balanced, e.g. 1.2)")
      ->capture_default_str();
  app.add_option("--expert-capacity-factor", o.expert_capacity_factor,
                 "MoE fixed-capacity experts: buffers hold this multiple of the mean load (0 = dropless)")
      ->capture_default_str();
  app.add_option("--max-model-len", o.max_model_len,
                 "Longest prompt + output the engine accepts (default: the model's context length)");
}

void add_cluster_options(CLI::App& app, Options& o) {
  app.add_option("--gpu", o.gpu, "GPU preset (see `apex list gpus`)")->capture_default_str();
  app.add_option("--nodes", o.nodes, "Number of nodes")->capture_default_str();
  app.add_option("--gpus-per-node", o.gpus_per_node, "GPUs per node")->capture_default_str();
  app.add_option("--cluster", o.cluster_file, "Custom cluster JSON (overrides --gpu/--nodes/--gpus-per-node)");
  app.add_option("--frequency", o.frequency_mhz, "DVFS: SM clock in MHz (default: the GPU's boost clock)");
}

void add_workload_options(CLI::App& app, Options& o) {
  app.add_option("--trace", o.trace,
                 "Request trace: CSV (arrival_s,prompt_tokens,output_tokens) or APEX JSONL; "
                 "'@sample' = the embedded sample trace");
  app.add_option("--rate", o.rate, "Synthetic arrivals: requests/s (Poisson), or 'inf' for all at t=0");
  app.add_option("--num-requests", o.num_requests, "Synthetic: number of requests");
  app.add_option("--prompt-len", o.prompt_len, "Synthetic prompt length: N, uniform:LO:HI, normal:M:S, lognormal:M:S");
  app.add_option("--output-len", o.output_len, "Synthetic output length (same forms as --prompt-len)");
  app.add_option("--seed", o.seed, "Seed of the synthetic generator (a non-negative integer)")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  app.add_option("--burstiness", o.burstiness,
                 "Coefficient of variation of inter-arrival gaps (1 = Poisson, >1 bursty Gamma)")
      ->capture_default_str();
}

void add_engine_options(CLI::App& app, Options& o) {
  app.add_option("--engine", o.engine, "Engine policy (see `apex list engines`)")->capture_default_str();
  app.add_option("--max-num-seqs", o.max_num_seqs, "Engine: max sequences per step");
  app.add_option("--max-num-batched-tokens", o.max_num_batched_tokens, "Engine: token budget per step");
  app.add_option("--gpu-memory-utilization", o.gpu_memory_utilization, "Engine: fraction of GPU memory to use");
  app.add_option("--block-size", o.block_size, "Engine: KV-cache block size in tokens");
  app.add_option("--chunked-prefill", o.chunked_prefill, "Engine: on|off (default: the engine's own default)");
  app.add_option("--step-overhead-ms", o.step_overhead_ms, "Engine: CPU time per scheduler step, ms");
  app.add_flag("--disable-custom-all-reduce", o.disable_custom_all_reduce,
               "Engine: use NCCL for every TP all-reduce (vLLM --disable-custom-all-reduce)");
  app.add_option("--router", o.router, "DP router: least-loaded or round-robin")->capture_default_str();
  app.add_option("--ttft-slo-ms", o.ttft_slo_ms, "Time-to-first-token SLO, ms (0 = none)");
  app.add_option("--tpot-slo-ms", o.tpot_slo_ms, "Time-per-output-token SLO, ms (0 = none)");
}

void add_perf_options(CLI::App& app, Options& o) {
  app.add_option("--perf", o.perf, "Op backend: analytical (fitted roofline) or profile (measured tables)")
      ->capture_default_str();
  app.add_option("--profile-dir", o.profile_dir, "Measured tables for --perf profile (docs/profile-format.md)");
  app.add_option("--perf-fallback", o.perf_fallback,
                 "With --perf profile: 'analytical' prices shapes outside the tables analytically");
}

void add_output_options(CLI::App& app, Options& o) {
  app.add_option("--format", o.format, "table, json or csv (default: table on a terminal, else from -o's "
                                       "extension, else json)");
  app.add_option("-o,--output", o.output, "Write the result to this file instead of stdout");
}

// Unknown flags: CLI11 leaves them in remaining(); report the first with a did-you-mean.
void reject_extras(const CLI::App& app) {
  const auto extras = app.remaining();
  if (extras.empty()) return;
  std::vector<std::string> names;
  for (const CLI::Option* opt : app.get_options()) {
    for (const auto& n : opt->get_lnames()) names.push_back("--" + n);
  }
  for (const auto& e : extras) {
    if (e.rfind("-", 0) == 0) {
      const std::string flag = e.substr(0, e.find('='));
      std::string msg = fmt::format("unknown flag '{}' for `apex {}`", flag, app.get_name());
      if (auto best = closest_match(flag, names); !best.empty()) msg += fmt::format("; did you mean '{}'?", best);
      msg += fmt::format(" (see `apex {} --help`)", app.get_name());
      throw UserError(msg);
    }
  }
  throw UserError(fmt::format("unexpected argument '{}' for `apex {}`", extras.front(), app.get_name()));
}

Deployment build_deployment(const Options& o, const CLI::App& app) {
  Deployment d;
  d.model = load_model(o.model);
  if (!o.cluster_file.empty()) {
    if (app.count("--gpu") || app.count("--nodes") || app.count("--gpus-per-node")) {
      throw UserError("--cluster replaces --gpu, --nodes and --gpus-per-node; pass one or the other");
    }
    d.cluster = load_cluster_json(o.cluster_file);
  } else {
    d.cluster = make_cluster(o.gpu, o.nodes, o.gpus_per_node);
  }
  if (o.frequency_mhz) set_gpu_frequency(d.cluster.gpu, *o.frequency_mhz * 1e6);
  d.precision.weight = parse_dtype(o.weight_dtype, "--weight-dtype");
  d.precision.activation = parse_dtype(o.activation_dtype, "--activation-dtype");
  d.precision.kv = o.kv_dtype.empty() ? d.precision.activation : parse_dtype(o.kv_dtype, "--kv-dtype");
  if (d.cluster.gpu.peak_bf16 <= 0 && !app.count("--activation-dtype") && d.precision.activation == DType::BF16) {
    // GPUs without bf16 (V100) serve in fp16, as vLLM does (dtype=auto falls back to float16).
    d.precision.activation = DType::FP16;
    if (d.precision.weight == DType::BF16) d.precision.weight = DType::FP16;
    if (o.kv_dtype.empty()) d.precision.kv = DType::FP16;
  }
  d.engine = o.engine;
  d.engine_overrides.max_num_seqs = o.max_num_seqs;
  d.engine_overrides.max_num_batched_tokens = o.max_num_batched_tokens;
  d.engine_overrides.gpu_memory_utilization = o.gpu_memory_utilization;
  d.engine_overrides.block_size = o.block_size;
  if (o.step_overhead_ms) d.engine_overrides.step_overhead_s = *o.step_overhead_ms * 1e-3;
  if (o.disable_custom_all_reduce) d.engine_overrides.custom_all_reduce = false;
  if (!o.chunked_prefill.empty()) {
    const std::string v = to_lower(o.chunked_prefill);
    if (v == "on" || v == "true" || v == "1") {
      d.engine_overrides.chunked_prefill = true;
    } else if (v == "off" || v == "false" || v == "0") {
      d.engine_overrides.chunked_prefill = false;
    } else {
      throw UserError(fmt::format("--chunked-prefill '{}': expected on or off", o.chunked_prefill));
    }
  }
  d.router = parse_router(o.router);
  d.max_model_len = o.max_model_len;
  d.expert_skew = o.expert_skew;
  d.expert_capacity_factor = o.expert_capacity_factor;
  if (o.ttft_slo_ms < 0 || !std::isfinite(o.ttft_slo_ms)) {
    throw UserError(fmt::format("--ttft-slo-ms must be a non-negative number of milliseconds (0 = none), got {}", o.ttft_slo_ms));
  }
  if (o.tpot_slo_ms < 0 || !std::isfinite(o.tpot_slo_ms)) {
    throw UserError(fmt::format("--tpot-slo-ms must be a non-negative number of milliseconds (0 = none), got {}", o.tpot_slo_ms));
  }
  d.ttft_slo = o.ttft_slo_ms * 1e-3;
  d.tpot_slo = o.tpot_slo_ms * 1e-3;
  if (o.perf == "profile") {
    if (o.profile_dir.empty()) throw UserError("--perf profile needs --profile-dir DIR (docs/profile-format.md)");
    if (!o.perf_fallback.empty() && o.perf_fallback != "analytical") {
      throw UserError(fmt::format("--perf-fallback '{}': the only fallback is 'analytical'", o.perf_fallback));
    }
    d.ops = std::shared_ptr<const OpModel>(make_profile_ops(d.cluster.gpu, o.profile_dir, !o.perf_fallback.empty()));
  } else if (o.perf != "analytical") {
    const std::vector<std::string> backends = {"analytical", "profile"};
    throw UserError("--perf: " + unknown_name_message("op backend", o.perf, backends));
  } else if (!o.profile_dir.empty()) {
    throw UserError("--profile-dir is only used with --perf profile");
  }
  d.validate();
  // Resolving the engine validates its knobs early, with a clear message.
  (void)d.engine_policy();
  return d;
}

struct WorkloadInput {
  std::optional<Trace> trace;        // loaded (search, or small files)
  std::optional<SyntheticSpec> spec;  // streamed synthetic traffic (simulate)
  std::string description;
};

WorkloadInput build_workload(const Options& o, const CLI::App& app, bool load_all) {
  const bool synthetic = app.count("--rate") || app.count("--num-requests") || app.count("--prompt-len") ||
                         app.count("--output-len");
  WorkloadInput w;
  if (!o.trace.empty() && synthetic) {
    throw UserError("--trace and the synthetic options (--rate, --num-requests, --prompt-len, --output-len) are "
                    "mutually exclusive");
  }
  if (!o.trace.empty()) {
    if (o.trace == "@sample") {
      w.trace = embedded_sample_trace();
    } else {
      w.trace = load_trace(o.trace);
    }
    w.description = fmt::format("{} ({} requests, mean prompt {:.0f}, mean output {:.0f}, span {:.0f} s)",
                                o.trace == "@sample" ? std::string("embedded sample trace") : o.trace,
                                w.trace->requests.size(), w.trace->mean_prompt(), w.trace->mean_output(),
                                w.trace->span_seconds());
    return w;
  }
  if (!synthetic) {
    throw UserError("no workload: pass --trace FILE (or --trace @sample), or --rate R --num-requests N "
                    "--prompt-len P --output-len O");
  }
  std::vector<std::string> missing;
  if (!app.count("--rate")) missing.emplace_back("--rate");
  if (!app.count("--num-requests")) missing.emplace_back("--num-requests");
  if (!app.count("--prompt-len")) missing.emplace_back("--prompt-len");
  if (!app.count("--output-len")) missing.emplace_back("--output-len");
  if (!missing.empty()) throw UserError(fmt::format("synthetic workload is missing {}", join(missing, ", ")));
  SyntheticSpec s;
  const std::string r = to_lower(o.rate);
  if (r == "inf" || r == "infinity") {
    s.rate = std::numeric_limits<double>::infinity();
  } else {
    auto v = parse_double(o.rate);
    if (!v || *v <= 0) throw UserError(fmt::format("--rate '{}' must be a positive number of requests/s or 'inf'", o.rate));
    s.rate = *v;
  }
  s.num_requests = o.num_requests;
  if (s.num_requests < 1) throw UserError(fmt::format("--num-requests must be at least 1, got {}", o.num_requests));
  s.prompt = LengthDist::parse(o.prompt_len, "--prompt-len");
  s.output = LengthDist::parse(o.output_len, "--output-len");
  s.seed = o.seed;
  s.burstiness = o.burstiness;
  w.description = fmt::format("synthetic: {} requests at {} req/s ({}), prompt {}, output {}, seed {}", s.num_requests,
                              o.rate, s.burstiness == 1.0 ? "Poisson" : fmt::format("Gamma cv={}", s.burstiness),
                              o.prompt_len, o.output_len, s.seed);
  if (load_all) {
    w.trace = synthesize(s);
  } else {
    (void)synthetic_source(s);  // validates the spec
    w.spec = s;
  }
  return w;
}

Format choose_format(const Options& o) {
  if (!o.format.empty()) return parse_format(o.format);
  if (!o.output.empty()) {
    if (o.output.ends_with(".csv")) return Format::CSV;
    if (o.output.ends_with(".txt")) return Format::Table;
    return Format::JSON;
  }
  return isatty(STDOUT_FILENO) ? Format::Table : Format::JSON;
}

void write_output(const Options& o, const std::string& text) {
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
    if (auto why = memory_check(d, plan, engine, w.trace->max_total())) {
      throw UserError(fmt::format("plan {} does not fit in memory: {}", plan.label(), *why));
    }
  } else if (auto why = memory_check(d, plan, engine, 1)) {
    throw UserError(fmt::format("plan {} does not fit in memory: {}", plan.label(), *why));
  }
  std::unique_ptr<RequestSource> src = w.trace ? source_of(*w.trace) : synthetic_source(*w.spec);
  const SimResult r = simulate_plan(d, plan, *src);
  RunInfo info{d.model.name, d.cluster.describe(), w.description, engine.name, precision_label(d),
               d.cluster.gpu.price_per_hour};
  std::string text;
  switch (format) {
    case Format::Table: text = simulate_table(r, info, engine); break;
    case Format::JSON: {
      Json j = result_json(r, &engine);
      j["run"] = Json{{"model", info.model}, {"cluster", info.cluster}, {"workload", info.workload},
                      {"precision", info.precision}};
      text = j.dump(2) + "\n";
      break;
    }
    case Format::CSV: text = simulate_csv(r); break;
  }
  write_output(o, text);
  return 0;
}

std::vector<int> parse_int_list(const std::string& text, const std::string& where) {
  std::vector<int> out;
  std::size_t start = 0;
  for (std::size_t i = 0; i <= text.size(); ++i) {
    if (i == text.size() || text[i] == ':' || text[i] == '/') {
      auto v = parse_int(text.substr(start, i - start));
      if (!v || *v < 1) throw UserError(fmt::format("{}: '{}' is not a positive integer", where, text.substr(start, i - start)));
      out.push_back(static_cast<int>(*v));
      start = i + 1;
    }
  }
  return out;
}

int run_search(const Options& o, const CLI::App& app) {
  const Format format = choose_format(o);
  Deployment d = build_deployment(o, app);
  WorkloadInput w = build_workload(o, app, true);
  SearchOptions s;
  s.objective = parse_objective(o.objective);
  s.top = o.top;
  s.exhaustive = o.exhaustive;
  if (o.threads < 0) throw UserError(fmt::format("--threads must be 0 (all cores) or positive, got {}", o.threads));
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
        s.tune_max_num_seqs = eq == std::string::npos ? std::vector<int>{64, 128, 256, 512, 1024}
                                                      : parse_int_list(item.substr(eq + 1), "--tune max-num-seqs");
      } else if (name == "max-num-batched-tokens") {
        s.tune_max_num_batched_tokens = eq == std::string::npos
                                            ? std::vector<int>{2048, 4096, 8192, 16384}
                                            : parse_int_list(item.substr(eq + 1), "--tune max-num-batched-tokens");
      } else {
        throw UserError("--tune: " + unknown_name_message("engine knob", name, knobs));
      }
    }
  }
  const SearchReport rep = search(d, *w.trace, s);
  RunInfo info{d.model.name, d.cluster.describe(), w.description, d.engine, precision_label(d),
               s.price_per_gpu_hour.value_or(d.cluster.gpu.price_per_hour)};
  std::string text;
  switch (format) {
    case Format::Table: text = search_table(rep, info); break;
    case Format::JSON: text = search_json(rep, info).dump(2) + "\n"; break;
    case Format::CSV: text = search_csv(rep); break;
  }
  write_output(o, text);
  return 0;
}

// The per-GPU folders of a measurement tree that name a GPU preset, sorted: (folder, GPU).
std::vector<std::pair<std::filesystem::path, const Gpu*>> measured_gpus(const std::string& dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) throw UserError(fmt::format("--measurements '{}' is not a directory", dir));
  std::vector<std::pair<fs::path, const Gpu*>> out;
  for (const auto& e : fs::directory_iterator(dir)) {
    if (!e.is_directory()) continue;
    if (const Gpu* gpu = gpu_for_calibration_key(e.path().filename().string())) out.emplace_back(e.path(), gpu);
  }
  std::sort(out.begin(), out.end());
  return out;
}

// `apex validate ops`: per GPU and op kind, median and p90 |model/measured - 1| of the op model.
int run_validate_ops(const std::string& dir, const std::string& only, const std::string& format) {
  Json all = Json::object();
  std::string text = fmt::format("{:<10} {:<34} {:>8} {:>9} {:>9} {:>9}\n", "gpu", "op", "rows", "median", "p90", "bias");
  for (const auto& [folder, gpu] : measured_gpus(dir)) {
    const std::string key = folder.filename().string();
    if (!only.empty() && only != key && only != gpu->name) continue;
    const MeasurementSet m = load_measurements(folder.string());
    auto ops = make_analytical_ops(*gpu);
    const ValidationReport rep = validate_ops(*ops, *gpu, m);
    for (const auto& o : rep.ops) {
      text += fmt::format("{:<10} {:<34} {:>8} {:>8.1f}% {:>8.1f}% {:>+8.1f}%\n", key, o.kind, o.rows, o.median * 100,
                          o.p90 * 100, o.mean_signed * 100);
      all[key][o.kind] = Json{{"rows", o.rows}, {"median", o.median}, {"p90", o.p90}, {"bias", o.mean_signed}};
    }
    for (const auto& s : rep.skipped) text += fmt::format("{:<10}   skipped: {}\n", key, s);
  }
  std::cout << (format == "json" ? all.dump(2) + "\n" : text);
  return 0;
}

// `apex calibrate`: fits the op model of every GPU folder and writes data/calibration.json.
int run_calibrate(const std::string& dir, const std::string& out_path) {
  Json out;
  out["about"] = "Fitted parameters of the analytical op model per GPU, regenerated by `apex calibrate "
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
      j["fit_quality"][o.kind] = Json{{"rows", o.rows}, {"median_abs_rel_error", std::round(o.median * 1e4) / 1e4},
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
  if (what == "models") {
    for (const auto& p : model_presets()) {
      const Model m = load_model(p.name);
      fmt::print("{:<20} {:>8.2f}B  {}\n", p.name, m.params() / 1e9, p.description);
    }
    fmt::print("\nAlso accepted: a path to a Hugging Face config.json of model_type:");
    for (const auto& f : supported_families()) fmt::print(" {}", f.model_type);
    fmt::print("\n");
  } else if (what == "gpus") {
    for (const auto& g : gpu_presets()) {
      fmt::print("{:<16} {:>6.0f} GiB {:>5.2f} TB/s {:>7.0f} TFLOPS bf16/fp16  {}\n", g.name, g.hbm_bytes / kGiB,
                 g.hbm_bandwidth / 1e12, std::max(g.peak_bf16, g.peak_fp16) / 1e12, g.description);
    }
  } else if (what == "engines") {
    for (const auto& e : engine_presets()) fmt::print("{:<10} {}\n", e.name, e.description);
  } else if (what == "objectives") {
    for (const auto& n : objective_names()) fmt::print("{}\n", n);
  } else {
    const std::vector<std::string> kinds = {"models", "gpus", "engines", "objectives"};
    throw UserError("apex list: " + unknown_name_message("list", what, kinds));
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"APEX — LLM-serving simulator and parallel-execution planner"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "apex 0.1.0");
  Options o;
  std::string list_what;

  CLI::App* list = app.add_subcommand("list", "List presets: models, gpus, engines, objectives");
  list->add_option("what", list_what, "models | gpus | engines | objectives")->required();

  std::string measurements, only_gpu, calib_out = "data/calibration.json", validate_what, validate_format = "table";
  std::string reference, validate_out;
  CLI::App* val = app.add_subcommand(
      "validate", "Validate against measurements: `apex validate ops` (kernels), `apex validate serving` (end to end)");
  val->add_option("what", validate_what, "ops | serving")->required();
  val->add_option("--measurements", measurements, "ops: folder of per-GPU measurement folders");
  val->add_option("--reference", reference, "serving: serving_measurements.csv");
  val->add_option("-o,--output", validate_out, "serving: write the markdown report here");
  val->add_option("--gpu", only_gpu, "Only this GPU (preset name or folder name)");
  val->add_option("--format", validate_format, "table or json")->capture_default_str();
  CLI::App* cal = app.add_subcommand("calibrate", "Fit the analytical op model to measured kernel tables");
  cal->add_option("--measurements", measurements, "Folder of per-GPU measurement folders")->required();
  cal->add_option("-o,--output", calib_out, "Where to write the fitted parameters")->capture_default_str();

  CLI::App* sim = app.add_subcommand("simulate", "Simulate one parallel plan iteration by iteration");
  add_model_options(*sim, o);
  add_cluster_options(*sim, o);
  add_workload_options(*sim, o);
  sim->add_option("--dp", o.dp, "Data-parallel replicas")->capture_default_str();
  sim->add_option("--tp", o.tp, "Tensor-parallel width")->capture_default_str();
  sim->add_option("--pp", o.pp, "Pipeline stages")->capture_default_str();
  sim->add_option("--ep", o.ep, "Expert-parallel width of MoE layers (divides --tp)")->capture_default_str();
  sim->add_flag("--dp-attention", o.dp_attention,
                "MoE: run attention data-parallel over the tp GPUs (needs --ep equal to --tp)");
  add_engine_options(*sim, o);
  add_perf_options(*sim, o);
  add_output_options(*sim, o);
  sim->allow_extras();

  CLI::App* srch = app.add_subcommand("search", "Enumerate, simulate and rank every parallel plan");
  add_model_options(*srch, o);
  add_cluster_options(*srch, o);
  add_workload_options(*srch, o);
  add_engine_options(*srch, o);
  add_perf_options(*srch, o);
  add_output_options(*srch, o);
  srch->add_option("--objective", o.objective, "Objective (see `apex list objectives`)")->capture_default_str();
  srch->add_option("--top", o.top, "How many ranked plans to report")->capture_default_str();
  srch->add_flag("--exhaustive", o.exhaustive, "Simulate every feasible plan (no bound pruning)");
  srch->add_option("--threads", o.threads, "Worker threads (0 = all cores)")->capture_default_str();
  srch->add_flag("--allow-cross-node-tp", o.allow_cross_node_tp, "Allow tensor parallelism across nodes");
  srch->add_flag("--allow-fewer-gpus", o.allow_fewer_gpus, "Also consider plans that leave GPUs unused");
  srch->add_option("--tune", o.tune,
                   "Also search engine knobs: max-num-seqs[=a/b/..],max-num-batched-tokens[=a/b/..]");
  srch->add_option("--gpu-price", o.gpu_price, "USD per GPU-hour for the cost objective (default: preset)");
  srch->allow_extras();

  try {
    try {
      app.parse(argc, argv);
    } catch (const CLI::CallForHelp&) {
      return app.exit(CLI::CallForHelp());
    } catch (const CLI::CallForAllHelp&) {
      return app.exit(CLI::CallForAllHelp());
    } catch (const CLI::Success&) {
      std::cout << "apex 0.1.0\n";
      return 0;
    } catch (const CLI::ParseError& e) {
      // Unknown subcommand: suggest one.
      std::string msg = e.what();
      if (argc >= 2 && std::string(argv[1]).rfind("-", 0) != 0) {
        const std::vector<std::string> subs = {"list", "simulate", "search", "validate", "calibrate"};
        const std::string first = argv[1];
        if (std::find(subs.begin(), subs.end(), first) == subs.end()) {
          msg = unknown_name_message("command", first, subs, "see `apex --help`");
        }
      }
      std::cerr << "apex: " << msg << "\n";
      return 2;
    }
    if (list->parsed()) return run_list(list_what);
    if (val->parsed()) {
      if (validate_what == "serving") {
        if (reference.empty()) throw UserError("apex validate serving needs --reference serving_measurements.csv");
        const auto cases = validate_serving(read_serving_rows(reference), default_threads());
        const std::string md = serving_markdown(cases, reference);
        if (validate_out.empty()) {
          std::cout << md;
        } else {
          std::ofstream f(validate_out);
          if (!f) throw UserError(fmt::format("cannot write '{}'", validate_out));
          f << md;
          const ErrorStats e = error_stats(cases);
          std::cerr << fmt::format("{} rows simulated: median |error| {:.1f}%, p90 {:.1f}%\n", e.n, e.median * 100,
                                   e.p90 * 100);
        }
        return 0;
      }
      if (validate_what != "ops") {
        const std::vector<std::string> kinds = {"ops", "serving"};
        throw UserError("apex validate: " + unknown_name_message("target", validate_what, kinds));
      }
      if (measurements.empty()) throw UserError("apex validate ops needs --measurements DIR");
      return run_validate_ops(measurements, only_gpu, validate_format);
    }
    if (cal->parsed()) return run_calibrate(measurements, calib_out);
    if (sim->parsed()) {
      reject_extras(*sim);
      return run_simulate(o, *sim);
    }
    if (srch->parsed()) {
      reject_extras(*srch);
      return run_search(o, *srch);
    }
    return 2;
  } catch (const UserError& e) {
    std::cerr << "apex: " << e.what() << "\n";
    return 2;
  } catch (const InternalError& e) {
    std::cerr << "apex: " << e.what() << "\n";
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "apex: internal error: " << e.what() << "\n";
    return 1;
  }
}
