// api/build.cpp — requests into the library's inputs: Deployment, workload, search options.
#include <cmath>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "api/api.h"
#include "api/output.h"
#include "core/error.h"
#include "core/option_ref.h"
#include "core/text.h"
#include "model/registry.h"
#include "perf/backends.h"

namespace apex::api {
namespace {

// "a/b/c" (or "a:b:c") of integers in [1, limit], each parsed whole (no wrap-around of a value
// too large for an int).
std::vector<int> parse_int_list(const std::string& text, const std::string& where, int limit) {
  std::vector<int> out;
  std::size_t start = 0;
  for (std::size_t i = 0; i <= text.size(); ++i) {
    if (i == text.size() || text[i] == ':' || text[i] == '/') {
      const std::string item = text.substr(start, i - start);
      const std::optional<std::int64_t> v = parse_int(item);
      if (!v || *v < 1) throw UserError(fmt::format("{}: '{}' is not a positive integer", where, item));
      if (*v > limit) throw UserError(fmt::format("{}: {} is above the limit of {}", where, item, limit));
      out.push_back(static_cast<int>(*v));
      start = i + 1;
    }
  }
  return out;
}

std::string closed_loop_note(int concurrency) {
  return concurrency > 0 ? fmt::format(", closed loop: {} client{}", concurrency, concurrency == 1 ? "" : "s")
                         : std::string();
}

}  // namespace

Deployment build_deployment(const DeploymentInput& in, const WorkloadInput& workload) {
  const ModelInput& m = in.model;
  const ClusterInput& c = in.cluster;
  const EngineOverrides& knobs = in.engine.knobs;
  if (m.model.empty()) throw UserError(fmt::format("{} is required", opt("model")));
  Deployment d;
  d.model = load_model(m.model);
  if (!c.cluster_file.empty()) {
    if (c.gpu || c.nodes || c.gpus_per_node) {
      throw UserError(fmt::format("{} replaces {}, {} and {}; pass one or the other", opt("cluster"),
                                  opt("gpu"), opt("nodes"), opt("gpus_per_node")));
    }
    d.cluster = load_cluster_json(c.cluster_file);  // bounds the cluster size (hw/hardware.h)
  } else {
    d.cluster = make_cluster(c.gpu.value_or(std::string(kDefaultGpu)), c.nodes.value_or(kDefaultNodes),
                             c.gpus_per_node.value_or(kDefaultGpusPerNode));
  }
  if (c.frequency_mhz) set_gpu_frequency(d.cluster.gpu, *c.frequency_mhz * 1e6);
  d.precision.weight = parse_dtype(m.weight_dtype, opt("weight_dtype"));
  d.precision.activation =
      parse_dtype(m.activation_dtype.value_or(std::string(kDefaultActivationDtype)), opt("activation_dtype"));
  d.precision.kv = m.kv_dtype.empty() ? d.precision.activation : parse_dtype(m.kv_dtype, opt("kv_dtype"));
  if (d.cluster.gpu.peak_bf16 <= 0 && !m.activation_dtype && d.precision.activation == DType::BF16) {
    // GPUs without bf16 (V100) serve in fp16, as vLLM does (dtype=auto falls back to float16).
    d.precision.activation = DType::FP16;
    if (d.precision.weight == DType::BF16) d.precision.weight = DType::FP16;
    if (m.kv_dtype.empty()) d.precision.kv = DType::FP16;
  }
  d.engine = in.engine.engine;
  d.engine_overrides = knobs;
  if (knobs.spec_acceptance && !knobs.spec_tokens.value_or(0)) {
    throw UserError(fmt::format("{} needs {} K (the number of draft tokens per step)", opt("spec_acceptance"),
                                opt("spec_tokens")));
  }
  if (knobs.spec_tokens.value_or(0) > 0) {
    if (d.model.encoder_decoder) {
      throw UserError(fmt::format("{}: speculative decoding of encoder-decoder models ({}) is not modelled",
                                  opt("spec_tokens"), d.model.name));
    }
    d.model.enable_draft_layer();
  }
  d.router = parse_router(in.engine.router);
  d.max_model_len = m.max_model_len;
  d.expert_skew = m.expert_skew;
  d.expert_capacity_factor = m.expert_capacity_factor;
  const SloInput& slo = in.slo;
  if (slo.ttft_ms < 0 || !std::isfinite(slo.ttft_ms)) {
    throw UserError(fmt::format("{} must be a non-negative number of milliseconds (0 = none), got {}",
                                opt("ttft_slo_ms"), slo.ttft_ms));
  }
  if (slo.tpot_ms < 0 || !std::isfinite(slo.tpot_ms)) {
    throw UserError(fmt::format("{} must be a non-negative number of milliseconds (0 = none), got {}",
                                opt("tpot_slo_ms"), slo.tpot_ms));
  }
  d.ttft_slo = slo.ttft_ms * 1e-3;
  d.tpot_slo = slo.tpot_ms * 1e-3;
  if (workload.concurrency < 0) {
    throw UserError(fmt::format("{} must be a number of clients (0 = open arrivals), got {}",
                                opt("concurrency"), workload.concurrency));
  }
  d.concurrency = workload.concurrency;
  const PerfInput& p = in.perf;
  if (p.backend != "analytical" || !p.profile_dir.empty()) {
    d.ops = make_op_backend(p.backend, d.cluster.gpu, OpBackendOptions{p.profile_dir, p.fallback});
  }
  d.validate();
  // Resolving the engine validates its knobs early, with a clear message.
  (void)d.engine_policy();
  return d;
}

Workload build_workload(const WorkloadInput& in, bool load_all) {
  const bool synthetic = in.rate || in.num_requests || in.prompt_len || in.output_len;
  const bool has_trace = !in.trace.empty();
  if (has_trace && (in.shared_prefix || in.prefix_groups)) {
    throw UserError(fmt::format(
        "{} and {} describe synthetic prompts; a trace gives its prefixes in the columns prefix_group and "
        "prefix_tokens",
        opt("shared_prefix"), opt("prefix_groups")));
  }
  Workload w;
  if (has_trace && synthetic) {
    throw UserError(fmt::format("{} and the synthetic options ({}, {}, {}, {}) are mutually exclusive",
                                opt("trace"), opt("rate"), opt("num_requests"), opt("prompt_len"),
                                opt("output_len")));
  }
  if (has_trace) {
    w.trace = in.trace == "@sample" ? embedded_sample_trace() : load_trace(in.trace);
    w.description = fmt::format("{} ({} requests, mean prompt {:.0f}, mean output {:.0f}, span {:.0f} s)",
                                in.trace == "@sample" ? std::string("embedded sample trace") : in.trace,
                                w.trace->requests.size(), w.trace->mean_prompt(), w.trace->mean_output(),
                                w.trace->span_seconds());
    w.description += closed_loop_note(in.concurrency);
    return w;
  }
  if (!synthetic) {
    throw UserError(fmt::format("no workload: pass {} FILE (or {} @sample), or {} R {} N {} P {} O",
                                opt("trace"), opt("trace"), opt("rate"), opt("num_requests"),
                                opt("prompt_len"), opt("output_len")));
  }
  // A load profile (--rate 8:600,20:600) sets the number of requests by its durations.
  const bool staged = in.rate && is_load_profile(*in.rate);
  if (staged && in.num_requests) {
    throw UserError(fmt::format(
        "{} {} gives load stages, whose durations set the number of requests; drop {} {} (or give {} a "
        "single rate)",
        opt("rate"), quote_value(*in.rate), opt("num_requests"), *in.num_requests, opt("rate")));
  }
  std::vector<std::string> missing;
  // A closed loop needs no rate: its clients send a request when the previous one completes
  // (with a rate as well, arrivals are also paced by it, like a benchmark's --request-rate).
  if (!in.rate && in.concurrency <= 0) missing.push_back(opt("rate"));
  if (!in.num_requests && !staged) missing.push_back(opt("num_requests"));
  if (!in.prompt_len) missing.push_back(opt("prompt_len"));
  if (!in.output_len) missing.push_back(opt("output_len"));
  if (!missing.empty()) throw UserError(fmt::format("synthetic workload is missing {}", join(missing, ", ")));
  SyntheticSpec s;
  const std::string rate = in.rate.value_or("inf");
  const std::string r = to_lower(rate);
  if (staged) {
    s.stages = parse_load_stages(rate, opt("rate"));
    s.rate = s.stages.front().rate;
  } else if (r == "inf" || r == "infinity") {
    s.rate = std::numeric_limits<double>::infinity();
  } else {
    auto v = parse_double(rate);
    if (!v || *v <= 0) {
      throw UserError(
          fmt::format("{} '{}' must be a positive number of requests/s or 'inf', or load stages "
                      "RATE:DURATION_S[,RATE:DURATION_S...] (e.g. 8:600,20:600)",
                      opt("rate"), rate));
    }
    s.rate = *v;
  }
  if (!staged) {
    s.num_requests = *in.num_requests;
    if (s.num_requests < 1)
      throw UserError(fmt::format("{} must be at least 1, got {}", opt("num_requests"), s.num_requests));
  }
  s.prompt = LengthDist::parse(*in.prompt_len, opt("prompt_len"));
  s.output = LengthDist::parse(*in.output_len, opt("output_len"));
  s.seed = in.seed;
  s.burstiness = in.burstiness;
  const int shared_prefix = in.shared_prefix.value_or(0);
  const int prefix_groups = in.prefix_groups.value_or(kDefaultPrefixGroups);
  if (shared_prefix < 0 || shared_prefix > (1 << 24)) {
    throw UserError(fmt::format("{} must be a number of tokens between 0 and 16777216, got {}",
                                opt("shared_prefix"), shared_prefix));
  }
  if (prefix_groups < 1)
    throw UserError(fmt::format("{} must be at least 1, got {}", opt("prefix_groups"), prefix_groups));
  s.shared_prefix = shared_prefix;
  s.prefix_groups = prefix_groups;
  const std::string arrivals = s.burstiness == 1.0 ? "Poisson" : fmt::format("Gamma cv={}", s.burstiness);
  if (staged) {
    std::vector<std::string> stages;
    for (const LoadStage& st : s.stages)
      stages.push_back(fmt::format("{} req/s for {} s", st.rate, st.duration_s));
    w.description = fmt::format("synthetic: load stages {} ({} within each), prompt {}, output {}, seed {}",
                                join(stages, ", then "), arrivals, *in.prompt_len, *in.output_len, s.seed);
  } else if (!in.rate) {
    w.description = fmt::format("synthetic: {} requests, prompt {}, output {}, seed {}", s.num_requests,
                                *in.prompt_len, *in.output_len, s.seed);
  } else {
    w.description = fmt::format("synthetic: {} requests at {} req/s ({}), prompt {}, output {}, seed {}",
                                s.num_requests, rate, arrivals, *in.prompt_len, *in.output_len, s.seed);
  }
  if (s.shared_prefix > 0) {
    w.description += fmt::format(", shared prefix {} tokens in {} group{}", s.shared_prefix, s.prefix_groups,
                                 s.prefix_groups == 1 ? "" : "s");
  }
  w.description += closed_loop_note(in.concurrency);
  if (load_all) {
    w.trace = synthesize(s);
  } else {
    (void)synthetic_source(s);  // validates the spec
    w.spec = s;
  }
  return w;
}

SearchOptions build_search_options(const SearchInput& in) {
  SearchOptions s;
  s.objective = in.objective ? parse_objective(*in.objective) : kDefaultObjective;
  s.objective_is_default = !in.objective;
  s.min_attainment = in.min_attainment;  // validated by the search, which knows whether an SLO is set
  s.top = in.top;
  s.exhaustive = in.exhaustive;
  s.fast_forward = in.fast_forward;
  if (in.threads < 0)
    throw UserError(fmt::format("{} must be 0 (all cores) or positive, got {}", opt("threads"), in.threads));
  s.threads = in.threads;
  s.plan.allow_cross_node_tp = in.allow_cross_node_tp;
  s.plan.require_all_gpus = !in.allow_fewer_gpus;
  if (in.gpu_price) {
    if (!(*in.gpu_price > 0))
      throw UserError(fmt::format("{} must be positive (USD per GPU-hour)", opt("gpu_price")));
    s.price_per_gpu_hour = *in.gpu_price;
  }
  // tune: max-num-seqs[=64/128/256],max-num-batched-tokens[=2048/8192]
  const std::vector<std::string> knobs = {"max-num-seqs", "max-num-batched-tokens"};
  std::size_t start = 0;
  for (std::size_t i = 0; !in.tune.empty() && i <= in.tune.size(); ++i) {
    if (i < in.tune.size() && in.tune[i] != ',') continue;
    const std::string item = in.tune.substr(start, i - start);
    start = i + 1;
    const auto eq = item.find('=');
    const std::string name = item.substr(0, eq);
    if (name == "max-num-seqs") {
      s.tune_max_num_seqs =
          eq == std::string::npos
              ? std::vector<int>{64, 128, 256, 512, 1024}
              : parse_int_list(item.substr(eq + 1), opt("tune") + " max-num-seqs", kMaxNumSeqsLimit);
    } else if (name == "max-num-batched-tokens") {
      s.tune_max_num_batched_tokens =
          eq == std::string::npos
              ? std::vector<int>{2048, 4096, 8192, 16384}
              : parse_int_list(item.substr(eq + 1), opt("tune") + " max-num-batched-tokens",
                               kMaxNumBatchedTokensLimit);
    } else {
      throw UserError(opt("tune") + ": " + unknown_name_message("engine knob", name, knobs));
    }
  }
  return s;
}

Format resolve_format(const OutputInput& out, bool stdout_is_terminal) {
  if (!out.format.empty()) return parse_format(out.format);
  if (!out.path.empty()) {
    if (out.path.ends_with(".csv")) return Format::CSV;
    if (out.path.ends_with(".html") || out.path.ends_with(".htm")) return Format::HTML;
    if (out.path.ends_with(".txt")) return Format::Table;
    return Format::JSON;
  }
  return stdout_is_terminal ? Format::Table : Format::JSON;
}

void write_output(const OutputInput& out, const std::string& text) {
  if (out.path.empty()) {
    write_stdout(text);
  } else {
    write_file(out.path, text);
  }
}

}  // namespace apex::api
