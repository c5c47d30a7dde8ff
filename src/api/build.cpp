// api/build.cpp — requests into the library's inputs: Deployment, workload, search options.
#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>
#include <string>
#include <utility>
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
      if (std::find(out.begin(), out.end(), *v) != out.end())
        throw UserError(fmt::format("{}: {} is listed twice; list each value once", where, *v));
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

// A single --rate: requests/s, or 'inf' (every request at t = 0).
double parse_rate(const std::string& rate) {
  const std::string r = to_lower(rate);
  if (r == "inf" || r == "infinity") return std::numeric_limits<double>::infinity();
  auto v = parse_double(rate);
  if (!v || *v <= 0) {
    throw UserError(
        fmt::format("{} '{}' must be a positive number of requests/s or 'inf', or load stages "
                    "RATE:DURATION_S[,RATE:DURATION_S...] (e.g. 8:600,20:600)",
                    opt("rate"), rate));
  }
  return *v;
}

// The arrival options (--burstiness, --seed) given to a workload that draws nothing with them, for
// the stderr warning: `why` ends "..., so" the flags "have no effect".
void warn_unused_arrival_options(const WorkloadInput& in, bool seed_unused, const std::string& why,
                                 std::vector<std::string>& warnings) {
  std::vector<std::string> unused;
  if (in.burstiness != 1.0) unused.push_back(fmt::format("{} {}", opt("burstiness"), in.burstiness));
  if (seed_unused && in.seed != 0) unused.push_back(fmt::format("{} {}", opt("seed"), in.seed));
  if (unused.empty()) return;
  warnings.push_back(
      fmt::format("{} {} no effect: {}", join(unused, " and "), unused.size() == 1 ? "has" : "have", why));
}

// The two reasons a workload draws no arrival gap: every request at t=0 (`of` names the trace), or
// a closed loop without a rate.
std::string all_at_zero_reason(const std::string& of) {
  return fmt::format("with {} inf every request{} arrives at t=0, so no gap is drawn", opt("rate"), of);
}
std::string closed_loop_reason() {
  return fmt::format(
      "without {} the closed loop's clients send each request when the previous one completes, so no "
      "arrival gap is drawn",
      opt("rate"));
}

// A trace file (or the embedded sample). One with arrivals keeps them, re-rated by rate_scale; a
// length-only one takes Poisson (or Gamma) arrivals at `rate` from `seed`, or all at t = 0 for a
// closed loop to pace.
Workload trace_workload(const WorkloadInput& in) {
  Workload w;
  w.trace = in.trace == "@sample" ? embedded_sample_trace() : load_trace(in.trace);
  Trace& t = *w.trace;
  const std::string name = in.trace == "@sample" ? std::string("embedded sample trace") : in.trace;
  std::string arrivals;
  if (t.has_arrivals) {
    if (in.rate) {
      throw UserError(fmt::format(
          "{} {} has its own arrival times (column arrival_s); drop {} {}, or re-rate the trace with {} X",
          opt("trace"), quote_value(in.trace), opt("rate"), quote_value(*in.rate), opt("rate_scale")));
    }
    if (in.burstiness != 1.0) {
      throw UserError(fmt::format(
          "{} {} has its own arrival times (column arrival_s), which {} {} cannot reshape; drop {}, or "
          "re-rate the trace with {} X",
          opt("trace"), quote_value(in.trace), opt("burstiness"), in.burstiness, opt("burstiness"),
          opt("rate_scale")));
    }
    if (in.seed != 0) {
      w.warnings.push_back(fmt::format(
          "{} {} has no effect: {} {} gives every arrival time and length, so nothing is drawn at random",
          opt("seed"), in.seed, opt("trace"), quote_value(in.trace)));
    }
    if (in.rate_scale) {
      scale_arrivals(t, *in.rate_scale, opt("rate_scale"));
      arrivals = fmt::format(", arrivals re-rated x{}", *in.rate_scale);
    }
  } else {
    if (in.rate_scale) {
      throw UserError(fmt::format(
          "{} re-rates a trace's arrival times, but {} gives lengths only (no arrival_s column); set its "
          "rate with {} R",
          opt("rate_scale"), quote_value(in.trace), opt("rate")));
    }
    if (in.rate) {
      if (is_load_profile(*in.rate)) {
        throw UserError(fmt::format(
            "{} {}: load stages set the number of requests, which the length-only trace {} already gives; "
            "give {} a single rate",
            opt("rate"), quote_value(*in.rate), quote_value(in.trace), opt("rate")));
      }
      const double rate = parse_rate(*in.rate);
      if (!std::isfinite(rate)) {
        warn_unused_arrival_options(in, true, all_at_zero_reason(" of " + quote_value(in.trace)), w.warnings);
      }
      assign_arrivals(t, rate, in.burstiness, in.seed);
      const std::string process =
          in.burstiness == 1.0 ? "Poisson" : fmt::format("Gamma cv={}", in.burstiness);
      arrivals = std::isfinite(rate) ? fmt::format(", lengths only: arrivals at {} req/s ({}), seed {}",
                                                   *in.rate, process, in.seed)
                                     : std::string(", lengths only: every request at t=0");
    } else if (in.concurrency > 0) {
      arrivals = ", lengths only";
      warn_unused_arrival_options(in, true, closed_loop_reason(), w.warnings);
    } else {
      throw UserError(fmt::format(
          "{} {} gives lengths only (no arrival_s column): pass {} R for arrivals at R requests/s (Poisson; "
          "{} and {} as for synthetic traffic) or {} N for N closed-loop clients",
          opt("trace"), quote_value(in.trace), opt("rate"), opt("burstiness"), opt("seed"),
          opt("concurrency")));
    }
  }
  w.description =
      fmt::format("{} ({} requests, mean prompt {:.0f}, mean output {:.0f}, span {:.0f} s{})", name,
                  t.requests.size(), t.mean_prompt(), t.mean_output(), t.span_seconds(), arrivals);
  w.description += closed_loop_note(in.concurrency);
  return w;
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
  if (p.backend != "analytical" || !p.profile_dir.empty() || !p.fallback.empty()) {
    d.ops = make_op_backend(p.backend, d.cluster.gpu, OpBackendOptions{p.profile_dir, p.fallback});
  }
  d.validate();
  // Resolving the engine validates its knobs early, with a clear message.
  (void)d.engine_policy();
  return d;
}

std::vector<std::string> deployment_warnings(const DeploymentInput& in, const Deployment& d) {
  std::vector<std::string> out;
  const PerfInput& p = in.perf;
  const bool analytical = p.backend == "analytical" || p.fallback == "analytical";
  if (!in.cluster.cluster_file.empty() && d.cluster.gpu.calibration_key.empty() && analytical) {
    out.push_back(fmt::format(
        "GPU '{}' of {} has no \"base\": its kernels are priced on uncalibrated roofline defaults, not "
        "on efficiencies fitted to measurements; give \"base\": the preset it resembles (see `apex list "
        "gpus`), or \"calibration\": the fitted parameters to use (docs/cluster-format.md)",
        d.cluster.gpu.name, in.cluster.cluster_file));
  }
  return out;
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
  if (has_trace && (in.num_requests || in.prompt_len || in.output_len)) {
    throw UserError(fmt::format("{} and the synthetic options ({}, {}, {}, {}) are mutually exclusive",
                                opt("trace"), opt("rate"), opt("num_requests"), opt("prompt_len"),
                                opt("output_len")));
  }
  if (has_trace) return trace_workload(in);
  if (in.rate_scale) {
    throw UserError(fmt::format("{} re-rates a {}; synthetic traffic sets its rate with {}",
                                opt("rate_scale"), opt("trace"), opt("rate")));
  }
  Workload w;
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
  if (staged) {
    s.stages = parse_load_stages(rate, opt("rate"));
    s.rate = s.stages.front().rate;
  } else {
    s.rate = parse_rate(rate);
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
  if (!std::isfinite(s.rate)) {
    warn_unused_arrival_options(in, false, in.rate ? all_at_zero_reason("") : closed_loop_reason(),
                                w.warnings);
  }
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
    if (!(*in.gpu_price > 0 && *in.gpu_price <= kMaxPricePerHour))
      throw UserError(fmt::format("{} must be above 0 and at most {:g} (USD per GPU-hour), got {:g}",
                                  opt("gpu_price"), kMaxPricePerHour, *in.gpu_price));
    s.price_per_gpu_hour = *in.gpu_price;
  }
  // tune: max-num-seqs[=64/128/256],max-num-batched-tokens[=2048/8192], each knob once
  if (!in.tune) return s;
  const std::string& tune = *in.tune;
  const std::vector<std::string> knobs = {"max-num-seqs", "max-num-batched-tokens"};
  const std::string example =
      fmt::format("e.g. {} max-num-seqs,max-num-batched-tokens=2048/8192", opt("tune"));
  if (tune.rfind('-', 0) == 0) {  // `--tune --progress`: the next flag was taken as its value
    throw UserError(fmt::format("{} needs the knobs to search, {} (got {}, which looks like another flag)",
                                opt("tune"), example, quote_value(tune)));
  }
  if (tune.empty())
    throw UserError(fmt::format("{} needs the knobs to search, {}; got none", opt("tune"), example));
  std::vector<std::string> items;
  for (std::size_t start = 0, comma = 0; comma != std::string::npos; start = comma + 1) {
    comma = tune.find(',', start);
    items.push_back(tune.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
  }
  std::vector<std::string> seen;
  for (const std::string& item : items) {
    const auto eq = item.find('=');
    const std::string name = item.substr(0, eq);
    if (name.empty()) {
      throw UserError(fmt::format("{} {}: an empty knob name; list knobs separated by commas, {}",
                                  opt("tune"), quote_value(tune), example));
    }
    if (std::find(seen.begin(), seen.end(), name) != seen.end()) {
      throw UserError(
          fmt::format("{} {}: {} is given twice; give each knob once, with all its values as "
                      "{}=a/b/c",
                      opt("tune"), quote_value(tune), name, name));
    }
    seen.push_back(name);
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

std::unique_ptr<Progress> make_progress(const ProgressInput& in, std::string what, std::string unit,
                                        bool breakdown) {
  if (in.force && in.quiet)
    throw UserError(fmt::format("{} and {} contradict each other; pass one", opt("progress"), opt("quiet")));
  if (!in.write || in.quiet || !(in.force || in.terminal)) return nullptr;
  ProgressStyle style;
  style.terminal = in.terminal;
  style.delay_s = 1.0;                         // a short run shows nothing
  style.interval_s = in.terminal ? 0.2 : 5.0;  // a log (forced, not a terminal) gets a line every 5 s
  style.summary = in.force;
  return std::make_unique<Progress>(std::move(what), std::move(unit), in.write, style, breakdown);
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

std::vector<std::string> output_warnings(const OutputInput& out, Format f) {
  std::vector<std::string> warnings;
  if (out.wide && f != Format::Table) {
    warnings.push_back(
        fmt::format("{} has no effect: it widens the table, and the {} output already holds "
                    "every column",
                    opt("wide"), format_name(f)));
  }
  return warnings;
}

void write_output(const OutputInput& out, const std::string& text) {
  if (out.path.empty()) {
    write_stdout(text);
  } else {
    write_file(out.path, text);
  }
}

}  // namespace apex::api
