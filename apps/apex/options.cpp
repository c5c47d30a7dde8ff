// apps/apex/options.cpp — option declarations and the inputs built from them.
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

void add_model_options(CLI::App& app, Options& o) {
  app.add_option("--model", o.model, "Model preset name (see `apex list models`) or path to a config.json")
      ->required();
  app.add_option("--weight-dtype", o.weight_dtype,
                 "Weight format: bf16, fp16, fp8, int8 (W8A8 with --activation-dtype int8), int4 (W4A16), "
                 "fp4 (NVFP4)")
      ->capture_default_str();
  app.add_option("--kv-dtype", o.kv_dtype,
                 "KV-cache format: bf16, fp16, fp8 (default: the activation dtype)");
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
  app.add_option("--cluster", o.cluster_file,
                 "Custom cluster JSON (overrides --gpu/--nodes/--gpus-per-node)");
  app.add_option("--frequency", o.frequency_mhz, "DVFS: SM clock in MHz (default: the GPU's boost clock)");
}

void add_workload_options(CLI::App& app, Options& o) {
  app.add_option("--trace", o.trace,
                 "Request trace: CSV (arrival_s,prompt_tokens,output_tokens) or APEX JSONL; "
                 "'@sample' = the embedded sample trace");
  app.add_option("--rate", o.rate, "Synthetic arrivals: requests/s (Poisson), or 'inf' for all at t=0");
  app.add_option("--num-requests", o.num_requests, "Synthetic: number of requests");
  app.add_option("--prompt-len", o.prompt_len,
                 "Synthetic prompt length: N, uniform:LO:HI, normal:M:S, lognormal:M:S");
  app.add_option("--output-len", o.output_len, "Synthetic output length (same forms as --prompt-len)");
  app.add_option("--seed", o.seed, "Seed of the synthetic generator (a non-negative integer)")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  app.add_option("--burstiness", o.burstiness,
                 "Coefficient of variation of inter-arrival gaps (1 = Poisson, >1 bursty Gamma)")
      ->capture_default_str();
  app.add_option(
         "--shared-prefix", o.shared_prefix,
         "Synthetic: every prompt starts with this many tokens shared with its group (a system prompt)")
      ->capture_default_str();
  app.add_option("--prefix-groups", o.prefix_groups,
                 "Synthetic: number of distinct shared prefixes (request i uses i mod G)")
      ->capture_default_str();
  app.add_option("--concurrency", o.concurrency,
                 "Closed loop: N clients, each sends its next request when the previous one completes "
                 "(like a benchmark's --max-concurrency; 0 = open arrivals)")
      ->capture_default_str();
}

void add_engine_options(CLI::App& app, Options& o) {
  app.add_option("--engine", o.engine, "Engine policy (see `apex list engines`)")->capture_default_str();
  app.add_option("--max-num-seqs", o.max_num_seqs, "Engine: max sequences per step");
  app.add_option("--max-num-batched-tokens", o.max_num_batched_tokens, "Engine: token budget per step");
  app.add_option("--gpu-memory-utilization", o.gpu_memory_utilization,
                 "Engine: fraction of GPU memory to use");
  app.add_option("--block-size", o.block_size, "Engine: KV-cache block size in tokens");
  app.add_option("--chunked-prefill", o.chunked_prefill,
                 "Engine: on|off (default: the engine's own default)");
  app.add_option(
      "--prefix-caching", o.prefix_caching,
      "Engine: automatic prefix caching on|off (default: the engine's; on for vllm, sglang, trtllm)");
  app.add_option("--step-overhead-ms", o.step_overhead_ms, "Engine: CPU time per scheduler step, ms");
  app.add_flag("--disable-custom-all-reduce", o.disable_custom_all_reduce,
               "Engine: use NCCL for every TP all-reduce (vLLM --disable-custom-all-reduce)");
  app.add_option("--spec-tokens", o.spec_tokens,
                 "Speculative decoding: draft tokens per step from a one-layer draft (MTP / EAGLE); 0 = off");
  app.add_option("--spec-acceptance", o.spec_acceptance,
                 "Speculative decoding: probability each draft token is accepted (default 0.8)");
  app.add_option("--router", o.router, "DP router: least-loaded or round-robin")->capture_default_str();
  app.add_option("--ttft-slo-ms", o.ttft_slo_ms, "Time-to-first-token SLO, ms (0 = none)");
  app.add_option("--tpot-slo-ms", o.tpot_slo_ms, "Time-per-output-token SLO, ms (0 = none)");
}

void add_perf_options(CLI::App& app, Options& o) {
  app.add_option("--perf", o.perf, "Op backend: analytical (fitted roofline) or profile (measured tables)")
      ->capture_default_str();
  app.add_option("--profile-dir", o.profile_dir,
                 "Measured tables for --perf profile (docs/profile-format.md)");
  app.add_option("--perf-fallback", o.perf_fallback,
                 "With --perf profile: 'analytical' prices shapes outside the tables analytically");
}

void add_output_options(CLI::App& app, Options& o) {
  app.add_option("--format", o.format,
                 "table, json, csv or html (default: table on a terminal, else from -o's "
                 "extension, else json)");
  app.add_option("-o,--output", o.output, "Write the result to this file instead of stdout");
}

// Unknown flags: CLI11 leaves them in remaining(); report the first with a did-you-mean.
void reject_extras(const CLI::App& app) {
  const auto extras = app.remaining();
  if (extras.empty()) return;
  std::vector<std::string> names;
  for (const CLI::Option* opt : app.get_options()) {
    for (const auto& n : opt->get_lnames())
      names.push_back("--" + n);
  }
  for (const auto& e : extras) {
    if (e.rfind("-", 0) == 0) {
      const std::string flag = e.substr(0, e.find('='));
      std::string msg = fmt::format("unknown flag '{}' for `apex {}`", flag, app.get_name());
      if (auto best = closest_match(flag, names); !best.empty())
        msg += fmt::format("; did you mean '{}'?", best);
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
  if (d.cluster.gpu.peak_bf16 <= 0 && !app.count("--activation-dtype") &&
      d.precision.activation == DType::BF16) {
    // GPUs without bf16 (V100) serve in fp16, as vLLM does (dtype=auto falls back to float16).
    d.precision.activation = DType::FP16;
    if (d.precision.weight == DType::BF16) d.precision.weight = DType::FP16;
    if (o.kv_dtype.empty()) d.precision.kv = DType::FP16;
  }
  d.engine = o.engine;
  d.engine_overrides.max_num_seqs = o.max_num_seqs;
  d.engine_overrides.max_num_batched_tokens = o.max_num_batched_tokens;
  d.engine_overrides.gpu_memory_utilization = o.gpu_memory_utilization;
  d.engine_overrides.spec_tokens = o.spec_tokens;
  d.engine_overrides.spec_acceptance = o.spec_acceptance;
  if (o.spec_acceptance && !o.spec_tokens.value_or(0)) {
    throw UserError("--spec-acceptance needs --spec-tokens K (the number of draft tokens per step)");
  }
  if (o.spec_tokens.value_or(0) > 0) {
    if (d.model.encoder_decoder) {
      throw UserError(
          fmt::format("--spec-tokens: speculative decoding of encoder-decoder models ({}) is not modelled",
                      d.model.name));
    }
    d.model.enable_draft_layer();
  }
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
  if (!o.prefix_caching.empty()) {
    const std::string v = to_lower(o.prefix_caching);
    if (v == "on" || v == "true" || v == "1") {
      d.engine_overrides.prefix_caching = true;
    } else if (v == "off" || v == "false" || v == "0") {
      d.engine_overrides.prefix_caching = false;
    } else {
      throw UserError(fmt::format("--prefix-caching '{}': expected on or off", o.prefix_caching));
    }
  }
  d.router = parse_router(o.router);
  d.max_model_len = o.max_model_len;
  d.expert_skew = o.expert_skew;
  d.expert_capacity_factor = o.expert_capacity_factor;
  if (o.ttft_slo_ms < 0 || !std::isfinite(o.ttft_slo_ms)) {
    throw UserError(fmt::format(
        "--ttft-slo-ms must be a non-negative number of milliseconds (0 = none), got {}", o.ttft_slo_ms));
  }
  if (o.tpot_slo_ms < 0 || !std::isfinite(o.tpot_slo_ms)) {
    throw UserError(fmt::format(
        "--tpot-slo-ms must be a non-negative number of milliseconds (0 = none), got {}", o.tpot_slo_ms));
  }
  d.ttft_slo = o.ttft_slo_ms * 1e-3;
  d.tpot_slo = o.tpot_slo_ms * 1e-3;
  if (o.concurrency < 0) {
    throw UserError(
        fmt::format("--concurrency must be a number of clients (0 = open arrivals), got {}", o.concurrency));
  }
  d.concurrency = o.concurrency;
  if (o.perf == "profile") {
    if (o.profile_dir.empty())
      throw UserError("--perf profile needs --profile-dir DIR (docs/profile-format.md)");
    if (!o.perf_fallback.empty() && o.perf_fallback != "analytical") {
      throw UserError(
          fmt::format("--perf-fallback '{}': the only fallback is 'analytical'", o.perf_fallback));
    }
    d.ops = std::shared_ptr<const OpModel>(
        make_profile_ops(d.cluster.gpu, o.profile_dir, !o.perf_fallback.empty()));
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

WorkloadInput build_workload(const Options& o, const CLI::App& app, bool load_all) {
  const bool synthetic = app.count("--rate") || app.count("--num-requests") || app.count("--prompt-len") ||
                         app.count("--output-len");
  if (!o.trace.empty() && (app.count("--shared-prefix") || app.count("--prefix-groups"))) {
    throw UserError(
        "--shared-prefix and --prefix-groups describe synthetic prompts; a trace gives its prefixes in "
        "the columns prefix_group and prefix_tokens");
  }
  WorkloadInput w;
  if (!o.trace.empty() && synthetic) {
    throw UserError(
        "--trace and the synthetic options (--rate, --num-requests, --prompt-len, --output-len) are "
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
    if (o.concurrency > 0)
      w.description +=
          fmt::format(", closed loop: {} client{}", o.concurrency, o.concurrency == 1 ? "" : "s");
    return w;
  }
  if (!synthetic) {
    throw UserError(
        "no workload: pass --trace FILE (or --trace @sample), or --rate R --num-requests N "
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
    if (!v || *v <= 0)
      throw UserError(fmt::format("--rate '{}' must be a positive number of requests/s or 'inf'", o.rate));
    s.rate = *v;
  }
  s.num_requests = o.num_requests;
  if (s.num_requests < 1)
    throw UserError(fmt::format("--num-requests must be at least 1, got {}", o.num_requests));
  s.prompt = LengthDist::parse(o.prompt_len, "--prompt-len");
  s.output = LengthDist::parse(o.output_len, "--output-len");
  s.seed = o.seed;
  s.burstiness = o.burstiness;
  if (o.shared_prefix < 0 || o.shared_prefix > (1 << 24)) {
    throw UserError(fmt::format("--shared-prefix must be a number of tokens between 0 and 16777216, got {}",
                                o.shared_prefix));
  }
  if (o.prefix_groups < 1)
    throw UserError(fmt::format("--prefix-groups must be at least 1, got {}", o.prefix_groups));
  s.shared_prefix = o.shared_prefix;
  s.prefix_groups = o.prefix_groups;
  w.description =
      fmt::format("synthetic: {} requests at {} req/s ({}), prompt {}, output {}, seed {}", s.num_requests,
                  o.rate, s.burstiness == 1.0 ? "Poisson" : fmt::format("Gamma cv={}", s.burstiness),
                  o.prompt_len, o.output_len, s.seed);
  if (s.shared_prefix > 0) {
    w.description += fmt::format(", shared prefix {} tokens in {} group{}", s.shared_prefix, s.prefix_groups,
                                 s.prefix_groups == 1 ? "" : "s");
  }
  if (o.concurrency > 0)
    w.description += fmt::format(", closed loop: {} client{}", o.concurrency, o.concurrency == 1 ? "" : "s");
  if (load_all) {
    w.trace = synthesize(s);
  } else {
    (void)synthetic_source(s);  // validates the spec
    w.spec = s;
  }
  return w;
}

CLI::App* add_simulate_command(CLI::App& app, Options& o) {
  CLI::App* sim = app.add_subcommand("simulate", "Simulate one parallel plan iteration by iteration");
  add_model_options(*sim, o);
  add_cluster_options(*sim, o);
  add_workload_options(*sim, o);
  sim->add_option("--dp", o.dp, "Data-parallel replicas")->capture_default_str();
  sim->add_option("--tp", o.tp, "Tensor-parallel width")->capture_default_str();
  sim->add_option("--pp", o.pp, "Pipeline stages")->capture_default_str();
  sim->add_option("--ep", o.ep, "Expert-parallel width of MoE layers (divides --tp)")->capture_default_str();
  sim->add_option(
      "--per-request", o.per_request,
      "Write one CSV row per request (id, arrival, lengths, TTFT, TPOT, E2E, replica, preemptions)");
  sim->add_flag("--breakdown", o.breakdown,
                "Report where the time goes: GEMM, MoE, attention, communication, elementwise, LM head, "
                "launches, pipeline transfers, CPU overhead");
  sim->add_flag("--dp-attention", o.dp_attention,
                "MoE: run attention data-parallel over the tp GPUs (needs --ep equal to --tp)");
  add_engine_options(*sim, o);
  add_perf_options(*sim, o);
  add_output_options(*sim, o);
  sim->allow_extras();
  return sim;
}

CLI::App* add_search_command(CLI::App& app, Options& o) {
  CLI::App* srch = app.add_subcommand("search", "Enumerate, simulate and rank every parallel plan");
  add_model_options(*srch, o);
  add_cluster_options(*srch, o);
  add_workload_options(*srch, o);
  add_engine_options(*srch, o);
  add_perf_options(*srch, o);
  add_output_options(*srch, o);
  srch->add_option("--objective", o.objective, "Objective (see `apex list objectives`)")
      ->capture_default_str();
  srch->add_option("--top", o.top, "How many ranked plans to report")->capture_default_str();
  srch->add_flag("--exhaustive", o.exhaustive, "Simulate every feasible plan (no bound pruning)");
  srch->add_option("--threads", o.threads, "Worker threads (0 = all cores)")->capture_default_str();
  srch->add_flag("--allow-cross-node-tp", o.allow_cross_node_tp, "Allow tensor parallelism across nodes");
  srch->add_flag("--allow-fewer-gpus", o.allow_fewer_gpus, "Also consider plans that leave GPUs unused");
  srch->add_option("--tune", o.tune,
                   "Also search engine knobs: max-num-seqs[=a/b/..],max-num-batched-tokens[=a/b/..]");
  srch->add_option("--gpu-price", o.gpu_price, "USD per GPU-hour for the cost objective (default: preset)");
  srch->allow_extras();
  return srch;
}

}  // namespace apex::cli
