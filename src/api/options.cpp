// api/options.cpp — the option table and the conversion of front-end values into requests.
#include "api/options.h"

#include <cctype>
#include <charconv>
#include <cmath>
#include <limits>

#include <fmt/format.h>

#include "core/error.h"
#include "core/option_ref.h"
#include "core/text.h"

namespace apex::api {
namespace {

constexpr unsigned kSim = static_cast<unsigned>(Command::Simulate);
constexpr unsigned kSrch = static_cast<unsigned>(Command::Search);
constexpr unsigned kRun = kSim | kSrch;
constexpr unsigned kVal = static_cast<unsigned>(Command::Validate);
constexpr unsigned kCal = static_cast<unsigned>(Command::Calibrate);
constexpr unsigned kList = static_cast<unsigned>(Command::List);
constexpr unsigned kLong = kSrch | kVal | kCal;  // the commands that may run long

int i32(const Value& v) {
  return static_cast<int>(std::get<std::int64_t>(v));
}
std::int64_t i64(const Value& v) {
  return std::get<std::int64_t>(v);
}
double num(const Value& v) {
  return std::get<double>(v);
}
const std::string& str(const Value& v) {
  return std::get<std::string>(v);
}
bool yes(const Value& v) {
  return std::get<bool>(v);
}

// The table, in --help order: model, cluster, workload, plan, engine, perf, output, search; then
// the validate, calibrate and list commands.
std::vector<OptionSpec> make_table() {
  using T = const Target&;
  using V = const Value&;
  return {
      // model
      {"model", "--model", Kind::Text, "Model preset name (see `apex list models`) or path to a config.json",
       "", kRun, true, false, [](T t, V v) { t.deployment().model.model = str(v); }},
      {"weight_dtype", "--weight-dtype", Kind::Text,
       "Weight format: bf16, fp16, fp8, int8 (W8A8 with --activation-dtype int8), int4 (W4A16), fp4 (NVFP4)",
       "bf16", kRun, false, false, [](T t, V v) { t.deployment().model.weight_dtype = str(v); }},
      {"kv_dtype", "--kv-dtype", Kind::Text,
       "KV-cache format: bf16, fp16, fp8 (default: the activation dtype)", "", kRun, false, false,
       [](T t, V v) { t.deployment().model.kv_dtype = str(v); }},
      {"activation_dtype", "--activation-dtype", Kind::Text, "Activation format: bf16, fp16, fp8, int8",
       kDefaultActivationDtype, kRun, false, false,
       [](T t, V v) { t.deployment().model.activation_dtype = str(v); }},
      {"expert_skew", "--expert-skew", Kind::Double,
       "MoE expert-load imbalance: power-law alpha of expert popularity (0 = balanced, e.g. 1.2)", "0", kRun,
       false, false, [](T t, V v) { t.deployment().model.expert_skew = num(v); }},
      {"expert_capacity_factor", "--expert-capacity-factor", Kind::Double,
       "MoE fixed-capacity experts: buffers hold this multiple of the mean load (0 = dropless)", "0", kRun,
       false, false, [](T t, V v) { t.deployment().model.expert_capacity_factor = num(v); }},
      {"max_model_len", "--max-model-len", Kind::Int64,
       "Longest prompt + output the engine accepts (default: the model's context length)", "", kRun, false,
       false, [](T t, V v) { t.deployment().model.max_model_len = i64(v); }},
      // cluster
      {"gpu", "--gpu", Kind::Text, "GPU preset (see `apex list gpus`)", kDefaultGpu, kRun, false, false,
       [](T t, V v) { t.deployment().cluster.gpu = str(v); }},
      {"nodes", "--nodes", Kind::Int, "Number of nodes", "1", kRun, false, false,
       [](T t, V v) { t.deployment().cluster.nodes = i32(v); }},
      {"gpus_per_node", "--gpus-per-node", Kind::Int, "GPUs per node", "8", kRun, false, false,
       [](T t, V v) { t.deployment().cluster.gpus_per_node = i32(v); }},
      {"cluster", "--cluster", Kind::Text, "Custom cluster JSON (overrides --gpu/--nodes/--gpus-per-node)",
       "", kRun, false, false, [](T t, V v) { t.deployment().cluster.cluster_file = str(v); }, true},
      {"frequency", "--frequency", Kind::Double, "DVFS: SM clock in MHz (default: the GPU's boost clock)", "",
       kRun, false, false, [](T t, V v) { t.deployment().cluster.frequency_mhz = num(v); }},
      // workload
      {"trace", "--trace", Kind::Text,
       "Request trace: CSV (arrival_s,prompt_tokens,output_tokens) or APEX JSONL; '@sample' = the embedded "
       "sample trace. A CSV of prompt_tokens,output_tokens alone gives lengths only: add --rate (Poisson "
       "arrivals, with --burstiness and --seed) or --concurrency (a closed loop)",
       "", kRun, false, false, [](T t, V v) { t.workload().trace = str(v); }, true},
      {"rate_scale", "--rate-scale", Kind::Double,
       "Trace: multiply its request rate by X keeping its arrival shape (every arrival time divided by X; "
       "X > 0)",
       "", kRun, false, false, [](T t, V v) { t.workload().rate_scale = num(v); }},
      {"rate", "--rate", Kind::Text,
       "Synthetic arrivals (also of a length-only --trace): requests/s (Poisson), 'inf' for all at t=0, or "
       "load stages RATE:DURATION_S[,RATE:DURATION_S...] (8:600,20:600 = 8 req/s for 600 s, then 20 req/s "
       "for 600 s; not for a trace)",
       "", kRun, false, false, [](T t, V v) { t.workload().rate = str(v); }},
      {"num_requests", "--num-requests", Kind::Int64,
       "Synthetic: number of requests (not with load stages, whose durations set it)", "", kRun, false, false,
       [](T t, V v) { t.workload().num_requests = i64(v); }},
      {"prompt_len", "--prompt-len", Kind::Text,
       "Synthetic prompt length: N, uniform:LO:HI, normal:M:S, lognormal:M:S", "", kRun, false, false,
       [](T t, V v) { t.workload().prompt_len = str(v); }},
      {"output_len", "--output-len", Kind::Text, "Synthetic output length (same forms as --prompt-len)", "",
       kRun, false, false, [](T t, V v) { t.workload().output_len = str(v); }},
      {"seed", "--seed", Kind::UInt64, "Seed of the synthetic generator (a non-negative integer)", "0", kRun,
       false, false, [](T t, V v) { t.workload().seed = static_cast<std::uint64_t>(i64(v)); }},
      {"burstiness", "--burstiness", Kind::Double,
       "Coefficient of variation of inter-arrival gaps (1 = Poisson, >1 bursty Gamma)", "1", kRun, false,
       false, [](T t, V v) { t.workload().burstiness = num(v); }},
      {"shared_prefix", "--shared-prefix", Kind::Int,
       "Synthetic: every prompt starts with this many tokens shared with its group (a system prompt), added "
       "to --prompt-len: a prompt is the prefix plus a --prompt-len sample",
       "0", kRun, false, false, [](T t, V v) { t.workload().shared_prefix = i32(v); }},
      {"prefix_groups", "--prefix-groups", Kind::Int,
       "Synthetic: number of distinct shared prefixes (request i uses i mod G)", "1", kRun, false, false,
       [](T t, V v) { t.workload().prefix_groups = i32(v); }},
      {"concurrency", "--concurrency", Kind::Int,
       "Closed loop: N clients, each sends its next request when the previous one completes (like a "
       "benchmark's --max-concurrency; 0 = open arrivals)",
       "0", kRun, false, false, [](T t, V v) { t.workload().concurrency = i32(v); }},
      // plan (simulate)
      {"dp", "--dp", Kind::Int, "Data-parallel replicas", "1", kSim, false, false,
       [](T t, V v) { t.simulate->plan.dp = i32(v); }},
      {"tp", "--tp", Kind::Int, "Tensor-parallel width", "1", kSim, false, false,
       [](T t, V v) { t.simulate->plan.tp = i32(v); }},
      {"pp", "--pp", Kind::Int, "Pipeline stages", "1", kSim, false, false,
       [](T t, V v) { t.simulate->plan.pp = i32(v); }},
      {"ep", "--ep", Kind::Int, "Expert-parallel width of MoE layers (divides --tp)", "1", kSim, false, false,
       [](T t, V v) { t.simulate->plan.ep = i32(v); }},
      {"per_request", "--per-request", Kind::Text,
       "Write one CSV row per request (id, arrival, lengths, TTFT, TPOT, E2E, replica, preemptions); "
       "latency percentiles are then exact (else within 0.05%)",
       "", kSim, false, false, [](T t, V v) { t.simulate->per_request = str(v); }, true},
      {"breakdown", "--breakdown", Kind::Flag,
       "Report where the time goes: GEMM, MoE, attention, communication, elementwise, LM head, launches, "
       "pipeline transfers, CPU overhead",
       "", kSim, false, false, [](T t, V v) { t.simulate->breakdown = yes(v); }},
      {"no_fast_forward", "--no-fast-forward", Kind::Flag,
       "Simulate every engine step through the event queue (the reference for the fast-forward of steady "
       "decode stretches, which gives the same results faster)",
       "", kRun, false, false,
       [](T t, V v) { (t.simulate ? t.simulate->fast_forward : t.search->search.fast_forward) = !yes(v); }},
      {"dp_attention", "--dp-attention", Kind::Flag,
       "MoE: run attention data-parallel over the tp GPUs (needs --ep equal to --tp)", "", kSim, false, false,
       [](T t, V v) { t.simulate->plan.dp_attention = yes(v); }},
      // engine: every knob writes into EngineOverrides (sim/engine.h)
      {"engine", "--engine", Kind::Text, "Engine policy (see `apex list engines`)", "vllm", kRun, false,
       false, [](T t, V v) { t.deployment().engine.engine = str(v); }},
      {"max_num_seqs", "--max-num-seqs", Kind::Int, "Engine: max sequences per step", "", kRun, false, false,
       [](T t, V v) { t.deployment().engine.knobs.max_num_seqs = i32(v); }},
      {"max_num_batched_tokens", "--max-num-batched-tokens", Kind::Int, "Engine: token budget per step", "",
       kRun, false, false, [](T t, V v) { t.deployment().engine.knobs.max_num_batched_tokens = i32(v); }},
      {"gpu_memory_utilization", "--gpu-memory-utilization", Kind::Double,
       "Engine: fraction of GPU memory to use", "", kRun, false, false,
       [](T t, V v) { t.deployment().engine.knobs.gpu_memory_utilization = num(v); }},
      {"block_size", "--block-size", Kind::Int, "Engine: KV-cache block size in tokens", "", kRun, false,
       false, [](T t, V v) { t.deployment().engine.knobs.block_size = i32(v); }},
      {"chunked_prefill", "--chunked-prefill", Kind::OnOff,
       "Engine: on|off (default: the engine's own default)", "", kRun, false, false,
       [](T t, V v) { t.deployment().engine.knobs.chunked_prefill = yes(v); }},
      {"prefix_caching", "--prefix-caching", Kind::OnOff,
       "Engine: automatic prefix caching on|off (default: the engine's; on for vllm, sglang, trtllm)", "",
       kRun, false, false, [](T t, V v) { t.deployment().engine.knobs.prefix_caching = yes(v); }},
      {"step_overhead_ms", "--step-overhead-ms", Kind::Double, "Engine: CPU time per scheduler step, ms", "",
       kRun, false, false, [](T t, V v) { t.deployment().engine.knobs.step_overhead_s = num(v) * 1e-3; }},
      {"frontend_latency_ms", "--frontend-latency-ms", Kind::Double,
       "Client-side latency per request (HTTP, tokenization, streaming) added to TTFT and E2E, ms "
       "(default: the engine's; 0 = engine-side metrics)",
       "", kRun, false, false,
       [](T t, V v) { t.deployment().engine.knobs.frontend_latency_s = num(v) * 1e-3; }},
      {"disable_custom_all_reduce", "--disable-custom-all-reduce", Kind::Flag,
       "Engine: use NCCL for every TP all-reduce (vLLM --disable-custom-all-reduce)", "", kRun, false, false,
       [](T t, V v) {
         if (yes(v)) t.deployment().engine.knobs.custom_all_reduce = false;
       }},
      {"async_scheduling", "--async-scheduling", Kind::OnOff,
       "Engine: overlap the CPU work of the next step with the GPU step on|off (vLLM --async-scheduling; "
       "default: the engine's, on for vllm 0.15)",
       "", kRun, false, false, [](T t, V v) { t.deployment().engine.knobs.async_scheduling = yes(v); }},
      {"cpu_offload_gib", "--cpu-offload-gib", Kind::Double,
       "Engine: CPU KV offload pool per replica, GiB (vLLM V1 native offloading; 0 = off)", "", kRun, false,
       false, [](T t, V v) { t.deployment().engine.knobs.cpu_offload_gib = num(v); }},
      {"spec_tokens", "--spec-tokens", Kind::Int,
       "Speculative decoding: draft tokens per step from a one-layer draft (MTP / EAGLE); 0 = off", "", kRun,
       false, false, [](T t, V v) { t.deployment().engine.knobs.spec_tokens = i32(v); }},
      {"spec_acceptance", "--spec-acceptance", Kind::Double,
       "Speculative decoding: probability each draft token is accepted (default 0.8)", "", kRun, false, false,
       [](T t, V v) { t.deployment().engine.knobs.spec_acceptance = num(v); }},
      {"router", "--router", Kind::Text, "DP router: least-loaded or round-robin", "least-loaded", kRun,
       false, false, [](T t, V v) { t.deployment().engine.router = str(v); }},
      {"ttft_slo_ms", "--ttft-slo-ms", Kind::Double, "Time-to-first-token SLO, ms (0 = none)", "", kRun,
       false, false, [](T t, V v) { t.deployment().slo.ttft_ms = num(v); }},
      {"tpot_slo_ms", "--tpot-slo-ms", Kind::Double, "Time-per-output-token SLO, ms (0 = none)", "", kRun,
       false, false, [](T t, V v) { t.deployment().slo.tpot_ms = num(v); }},
      // op backend
      {"perf", "--perf", Kind::Text, "Op backend: analytical (fitted roofline) or profile (measured tables)",
       "analytical", kRun, false, false, [](T t, V v) { t.deployment().perf.backend = str(v); }},
      {"profile_dir", "--profile-dir", Kind::Text,
       "Measured tables for --perf profile (docs/profile-format.md)", "", kRun, false, false,
       [](T t, V v) { t.deployment().perf.profile_dir = str(v); }, true},
      {"perf_fallback", "--perf-fallback", Kind::Text,
       "With --perf profile: 'analytical' prices shapes outside the tables analytically", "", kRun, false,
       false, [](T t, V v) { t.deployment().perf.fallback = str(v); }},
      // output (the Python module returns the document instead)
      {"format", "--format", Kind::Text,
       "table, json, csv or html (default: table on a terminal, else from -o's extension, else json)", "",
       kRun, false, true, [](T t, V v) { t.output().format = str(v); }},
      {"output", "-o,--output", Kind::Text, "Write the result to this file instead of stdout", "", kRun,
       false, true, [](T t, V v) { t.output().path = str(v); }, true},
      {"wide", "--wide", Kind::Flag,
       "Table: show every column of the ranked plans (default: the columns that fit 100 characters)", "",
       kSrch, false, true, [](T t, V v) { t.output().wide = yes(v); }},
      // search
      {"objective", "--objective", Kind::Text,
       "Objective (see `apex list objectives`; default: e2e, the mean end-to-end latency)", "e2e", kSrch,
       false, false, [](T t, V v) { t.search->search.objective = str(v); }},
      {"min_attainment", "--min-attainment", Kind::Double,
       "Reject plans meeting the SLOs for fewer than this fraction of requests, 0..1 (default: 0.9 with an "
       "SLO, else 0)",
       "", kSrch, false, false, [](T t, V v) { t.search->search.min_attainment = num(v); }},
      {"top", "--top", Kind::Int, "How many ranked plans to report", "10", kSrch, false, false,
       [](T t, V v) { t.search->search.top = i32(v); }},
      {"exhaustive", "--exhaustive", Kind::Flag, "Simulate every feasible plan (no bound pruning)", "", kSrch,
       false, false, [](T t, V v) { t.search->search.exhaustive = yes(v); }},
      {"threads", "--threads", Kind::Int, "Worker threads (0 = all cores)", "0", kSrch, false, false,
       [](T t, V v) { t.search->search.threads = i32(v); }},
      {"allow_cross_node_tp", "--allow-cross-node-tp", Kind::Flag, "Allow tensor parallelism across nodes",
       "", kSrch, false, false, [](T t, V v) { t.search->search.allow_cross_node_tp = yes(v); }},
      {"allow_fewer_gpus", "--allow-fewer-gpus", Kind::Flag, "Also consider plans that leave GPUs unused", "",
       kSrch, false, false, [](T t, V v) { t.search->search.allow_fewer_gpus = yes(v); }},
      {"tune", "--tune", Kind::Text,
       "Also search engine knobs: max-num-seqs[=a/b/..],max-num-batched-tokens[=a/b/..]", "", kSrch, false,
       false, [](T t, V v) { t.search->search.tune = str(v); }},
      {"gpu_price", "--gpu-price", Kind::Double, "USD per GPU-hour for the cost objective (default: preset)",
       "", kSrch, false, false, [](T t, V v) { t.search->search.gpu_price = num(v); }},
      // progress (search, validate, calibrate): stderr only, so not Python keywords
      {"progress", "--progress", Kind::Flag,
       "Show progress on stderr (items done/total, elapsed, ETA) even when it is not a terminal, and a last "
       "summary line (default: only on a terminal, after 1 s)",
       "", kLong, false, true, [](T t, V v) { t.progress().force = yes(v); }},
      {"quiet", "--quiet", Kind::Flag, "No progress on stderr (nor calibrate's line per GPU)", "", kLong,
       false, true, [](T t, V v) { t.progress().quiet = yes(v); }},
      // validate
      {"what", "what", Kind::Text, "ops | serving", "", kVal, true, false,
       [](T t, V v) { t.validate->what = str(v); }},
      {"measurements", "--measurements", Kind::Text, "ops: folder of per-GPU measurement folders", "", kVal,
       false, false, [](T t, V v) { t.validate->measurements = str(v); }, true},
      {"reference", "--reference", Kind::Text, "serving: serving_measurements.csv", "", kVal, false, false,
       [](T t, V v) { t.validate->reference = str(v); }, true},
      {"stage_reference", "--stage-reference", Kind::Text,
       "serving: measured multi-stage runs (vllm_v1_serving.csv): per-stage errors and the fitted front-end "
       "latency",
       "", kVal, false, false, [](T t, V v) { t.validate->stage_reference = str(v); }, true},
      {"output", "-o,--output", Kind::Text, "Write the result here (serving: the markdown report)", "", kVal,
       false, false, [](T t, V v) { t.validate->output = str(v); }, true},
      {"gpu", "--gpu", Kind::Text, "ops: only this GPU (preset name or folder name)", "", kVal, false, false,
       [](T t, V v) { t.validate->gpu = str(v); }},
      {"format", "--format", Kind::Text, "ops: table or json (serving writes markdown)", "table", kVal, false,
       false, [](T t, V v) { t.validate->format = str(v); }},
      // calibrate
      {"measurements", "--measurements", Kind::Text, "Folder of per-GPU measurement folders", "", kCal, true,
       false, [](T t, V v) { t.calibrate->measurements = str(v); }, true},
      {"output", "-o,--output", Kind::Text, "Where to write the fitted parameters", "data/calibration.json",
       kCal, false, false, [](T t, V v) { t.calibrate->output = str(v); }, true},
      {"holdout", "--holdout", Kind::Int, "Fit on all rows but 1 in N and print the held-out errors instead",
       "0", kCal, false, false, [](T t, V v) { t.calibrate->holdout = i32(v); }},
      // list
      {"what", "what", Kind::Text, "models | gpus | engines | objectives", "", kList, false, false,
       [](T t, V v) { t.list->what = str(v); }},
  };
}

std::string text_of(const Value& v) {
  if (const auto* s = std::get_if<std::string>(&v)) return *s;
  if (const auto* i = std::get_if<std::int64_t>(&v)) return std::to_string(*i);
  if (const auto* d = std::get_if<double>(&v)) return fmt::format("{}", *d);
  return std::get<bool>(v) ? "true" : "false";
}

// Converts `v` to the value type of `s.kind`.
Value convert(const OptionSpec& s, const Value& v) {
  const std::string name = opt(s.name);
  const bool is_bool = std::holds_alternative<bool>(v);
  switch (s.kind) {
    case Kind::Flag:
      if (!is_bool) throw UserError(fmt::format("{} is a flag: pass it alone (or True/False)", name));
      return v;
    case Kind::OnOff: {
      if (is_bool) return v;
      const std::string t = to_lower(text_of(v));
      if (t == "on" || t == "true" || t == "1") return true;
      if (t == "off" || t == "false" || t == "0") return false;
      throw UserError(fmt::format("{} '{}': expected on or off", name, text_of(v)));
    }
    case Kind::Int:
    case Kind::Int64:
    case Kind::UInt64: {
      if (is_bool || std::holds_alternative<double>(v))
        throw UserError(fmt::format("{}: '{}' is not an integer", name, text_of(v)));
      std::int64_t n = 0;
      if (const auto* i = std::get_if<std::int64_t>(&v)) {
        n = *i;
      } else {
        const std::string& t = std::get<std::string>(v);
        if (s.kind == Kind::UInt64 && !t.empty() && t.front() != '-') {
          // The full unsigned range (stored in the int64 bit pattern, read back as uint64).
          std::uint64_t u = 0;
          const auto [ptr, ec] = std::from_chars(t.data(), t.data() + t.size(), u);
          if (ec == std::errc{} && ptr == t.data() + t.size()) return static_cast<std::int64_t>(u);
        }
        const auto parsed = parse_int(t);
        if (!parsed) throw UserError(fmt::format("{}: '{}' is not an integer", name, t));
        n = *parsed;
      }
      if (s.kind == Kind::UInt64 && n < 0)
        throw UserError(fmt::format("{} must be a non-negative integer, got {}", name, n));
      if (s.kind == Kind::Int && (n < std::numeric_limits<int>::min() || n > std::numeric_limits<int>::max()))
        throw UserError(fmt::format("{}: {} is out of range", name, n));
      return n;
    }
    case Kind::Double: {
      if (is_bool) throw UserError(fmt::format("{}: '{}' is not a number", name, text_of(v)));
      if (const auto* i = std::get_if<std::int64_t>(&v)) return static_cast<double>(*i);
      if (const auto* d = std::get_if<double>(&v)) {
        if (!std::isfinite(*d)) throw UserError(fmt::format("{}: '{}' is not a finite number", name, *d));
        return *d;
      }
      const auto parsed = parse_double(std::get<std::string>(v));
      if (!parsed) throw UserError(fmt::format("{}: '{}' is not a number", name, std::get<std::string>(v)));
      return *parsed;
    }
    case Kind::Text:
      if (is_bool) throw UserError(fmt::format("{}: expected text, got {}", name, text_of(v)));
      if (text_of(v).empty()) {  // `-o "$OUT"` with OUT unset: never the default in disguise
        throw UserError(s.path ? fmt::format("{}: an empty path; give a file name, or drop {}", name, name)
                               : fmt::format("{}: an empty value; give one, or drop {}", name, name));
      }
      return text_of(v);
  }
  return v;
}

std::string python_spelling(const OptionSpec& s) {
  return std::string(s.name) + (s.kind == Kind::Flag ? "=True" : "=");
}

}  // namespace

const std::vector<CommandInfo>& commands() {
  static const std::vector<CommandInfo> all = {
      {Command::List, "list", "List presets: models, gpus, engines, objectives"},
      {Command::Validate, "validate",
       "Validate against measurements: `apex validate ops` (kernels), `apex validate serving` (end to end)"},
      {Command::Calibrate, "calibrate", "Fit the analytical op model to measured kernel tables"},
      {Command::Simulate, "simulate", "Simulate one parallel plan iteration by iteration"},
      {Command::Search, "search", "Enumerate, simulate and rank every parallel plan"},
  };
  return all;
}

const CommandInfo& command_info(Command c) {
  for (const auto& i : commands()) {
    if (i.command == c) return i;
  }
  APEX_ASSERT(false, "command without CommandInfo");
  return commands().front();
}

Command Target::command() const {
  if (simulate != nullptr) return Command::Simulate;
  if (search != nullptr) return Command::Search;
  if (validate != nullptr) return Command::Validate;
  if (calibrate != nullptr) return Command::Calibrate;
  APEX_ASSERT(list != nullptr, "empty option target");
  return Command::List;
}

DeploymentInput& Target::deployment() const {
  APEX_ASSERT(simulate != nullptr || search != nullptr, "deployment option on a command without one");
  return simulate != nullptr ? simulate->deployment : search->deployment;
}

WorkloadInput& Target::workload() const {
  APEX_ASSERT(simulate != nullptr || search != nullptr, "workload option on a command without one");
  return simulate != nullptr ? simulate->workload : search->workload;
}

ProgressInput& Target::progress() const {
  APEX_ASSERT(search != nullptr || validate != nullptr || calibrate != nullptr,
              "progress option on a command without a long run");
  if (search != nullptr) return search->progress;
  return validate != nullptr ? validate->progress : calibrate->progress;
}

OutputInput& Target::output() const {
  APEX_ASSERT(simulate != nullptr || search != nullptr, "output option on a command without one");
  return simulate != nullptr ? simulate->output : search->output;
}

std::string_view OptionSpec::long_flag() const {
  const auto comma = flag.rfind(',');
  return comma == std::string_view::npos ? flag : flag.substr(comma + 1);
}

const std::vector<OptionSpec>& option_table() {
  static const std::vector<OptionSpec> table = make_table();
  return table;
}

std::vector<const OptionSpec*> options_of(Command c) {
  std::vector<const OptionSpec*> out;
  for (const auto& s : option_table()) {
    if (s.takes(c)) out.push_back(&s);
  }
  return out;
}

const OptionSpec* find_option(Command c, std::string_view name) {
  for (const auto& s : option_table()) {
    if (s.takes(c) && s.name == name) return &s;
  }
  return nullptr;
}

const OptionSpec* find_concept(std::string_view name) {
  for (const auto& s : option_table()) {
    if (s.name == name) return &s;
  }
  return nullptr;
}

void apply(const OptionSpec& spec, const Value& value, const Target& t) {
  APEX_ASSERT(spec.takes(t.command()), "option applied to a command that does not take it");
  spec.write(t, convert(spec, value));
}

std::string render_for_cli(std::string_view message) {
  return render_option_refs(message, [](std::string_view name) {
    const OptionSpec* s = find_concept(name);
    return s != nullptr ? std::string(s->long_flag()) : std::string(name);
  });
}

std::string render_for_python(std::string_view message) {
  return render_option_refs(message, [](std::string_view name) {
    const OptionSpec* s = find_concept(name);
    return s != nullptr ? python_spelling(*s) : std::string(name) + "=";
  });
}

}  // namespace apex::api
