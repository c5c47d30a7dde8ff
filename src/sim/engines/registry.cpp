// sim/engines/registry.cpp — the list of engines, and what every engine shares: applying and
// validating the user's knobs, and the encoder-decoder rules.
#include <algorithm>

#include <fmt/format.h>

#include "core/error.h"
#include "core/json_util.h"
#include "core/option_ref.h"
#include "model/registry.h"
#include "sim/engines/engine_spec.h"
#include "sim/scheduler/scheduler.h"

namespace apex {

// Each engine file defines one of these.
EngineSpec vllm_0_15_engine();
EngineSpec vllm_0_11_engine();
EngineSpec vllm_v0_engine();
EngineSpec sglang_engine();
EngineSpec trtllm_engine();

namespace {
std::vector<EngineSpec>& registry() {
  static std::vector<EngineSpec> list = {vllm_0_15_engine(), vllm_0_11_engine(), vllm_v0_engine(),
                                         sglang_engine(), trtllm_engine()};
  return list;
}
}  // namespace

const std::vector<EngineSpec>& engine_registry() {
  return registry();
}

void register_engine(EngineSpec spec) {
  for (auto& e : registry()) {
    if (e.name == spec.name) {
      e = std::move(spec);
      return;
    }
  }
  registry().push_back(std::move(spec));
}

std::vector<std::string> engine_names() {
  std::vector<std::string> names;
  for (const auto& e : engine_registry())
    names.push_back(e.name);
  return names;
}

std::vector<EngineInfo> engine_presets() {
  std::vector<EngineInfo> list;
  for (const auto& e : engine_registry())
    list.push_back(EngineInfo{e.name, e.description});
  return list;
}

const EngineSpec& find_engine(const std::string& name) {
  for (const auto& e : engine_registry()) {
    if (e.name == name) return e;
  }
  throw UserError(unknown_name_message("engine", name, engine_names(), "see `apex list engines`"));
}

const EngineSpec* engine_reported_as(const std::string& text) {
  // The longest matching prefix wins ("vLLM 0.11" over "vLLM").
  const EngineSpec* best = nullptr;
  std::size_t best_len = 0;
  for (const auto& e : engine_registry()) {
    for (const auto& prefix : e.reported_as) {
      if (text.rfind(prefix, 0) == 0 && prefix.size() > best_len) {
        best = &e;
        best_len = prefix.size();
      }
    }
  }
  return best;
}

namespace embedded {
std::string_view engine_fits();
}

double fitted_engine_value(std::string_view engine, std::string_view key) {
  static const Json fits = parse_json(embedded::engine_fits(), "embedded data/engine_fits.json");
  return fits.at("engines").at(std::string(engine)).at(std::string(key)).get<double>();
}

EnginePolicy policy_of(const EngineSpec& spec) {
  EnginePolicy p;
  p.name = spec.name;
  p.version = spec.version;
  p.description = spec.description;
  p.sources = spec.sources;
  p.scheduler = &mixed_scheduler();
  p.prefix_cache = &group_lru_prefix_cache();
  return p;
}

bool carries_mtp_module(const Model& model) {
  return model.architecture == "deepseek_v3";
}

bool vllm_big_gpu(const Gpu& gpu) {
  return gpu.hbm_bytes >= 70.0 * 1024 * 1024 * 1024 && gpu.name.find("a100") == std::string::npos;
}

void set_vllm_symm_mem_all_reduce(const Gpu& gpu, EngineCosts& costs) {
  constexpr double MiB = 1024.0 * 1024;
  using Sizes = std::array<double, 4>;  // TP 2, 4, 6, 8
  Sizes custom{}, symm{};
  if (gpu.compute_capability == 9.0) {
    custom = {64 * MiB, 32 * MiB, MiB / 2, MiB / 4};
    symm = {64 * MiB, 32 * MiB, 64 * MiB, 64 * MiB};
  } else if (gpu.compute_capability == 10.0) {
    custom = {2 * MiB, 2 * MiB, MiB, MiB};
    symm = {8 * MiB, 32 * MiB, 128 * MiB, 128 * MiB};
  } else {
    return;  // no symmetric-memory tier: the 8 MiB custom cap of EngineCosts
  }
  for (std::size_t i = 0; i < 4; ++i) {
    const std::size_t tp = 2 * (i + 1);
    costs.custom_ar_max_bytes[tp] = std::min(custom[i], EngineCosts::kCustomArMaxBytes);
    costs.symm_mem_max_bytes[tp] = symm[i];
  }
}

std::string launch_model_id(const Model& model) {
  std::string id = model_hf_id(model.name);
  if (!id.empty()) return id;
  if (!model.name.ends_with(".json")) return model.name;  // a checkpoint folder
  const auto slash = model.name.find_last_of('/');
  return slash == std::string::npos ? "." : model.name.substr(0, slash);  // the config's folder
}

LaunchLayout launch_layout(const LaunchContext& c) {
  LaunchLayout l;
  l.replica_gpus = c.plan.tp * c.plan.pp;
  const int node = c.gpus_per_node > 0 ? c.gpus_per_node : c.plan.gpus();
  l.nodes_per_replica = (l.replica_gpus + node - 1) / node;
  l.one_node = c.plan.gpus() <= node;
  return l;
}

std::string separate_replicas_note(int n, int gpus, std::string_view why) {
  return fmt::format("   # x{} servers of {} GPUs each behind a load balancer{}", n, gpus, why);
}

std::string launch_command(const Model& model, const Precision& precision, const Plan& plan,
                           const EnginePolicy& engine, std::optional<std::int64_t> max_model_len,
                           int gpus_per_node) {
  const EngineSpec& spec = find_engine(engine.name);
  if (!spec.launch_command) return {};
  return spec.launch_command(
      LaunchContext{model, precision, plan, engine, max_model_len, launch_model_id(model), gpus_per_node});
}

namespace {

// The knobs every engine takes, validated and applied in one place.
void apply_knobs(EnginePolicy& p, const EngineKnobs& o) {
  if (o.chunked_prefill) p.chunked_prefill = *o.chunked_prefill;
  if (o.max_num_seqs) {
    if (*o.max_num_seqs < 1)
      throw UserError(fmt::format("{} must be at least 1, got {}", opt("max_num_seqs"), *o.max_num_seqs));
    if (*o.max_num_seqs > kMaxNumSeqsLimit) {
      throw UserError(fmt::format("{} must be at most {} sequences per step, got {}", opt("max_num_seqs"),
                                  kMaxNumSeqsLimit, *o.max_num_seqs));
    }
    p.max_num_seqs = *o.max_num_seqs;
  }
  if (o.max_num_batched_tokens) {
    if (*o.max_num_batched_tokens < 1) {
      throw UserError(fmt::format("{} must be at least 1, got {}", opt("max_num_batched_tokens"),
                                  *o.max_num_batched_tokens));
    }
    if (*o.max_num_batched_tokens > kMaxNumBatchedTokensLimit) {
      throw UserError(fmt::format("{} must be at most {} tokens per step, got {}",
                                  opt("max_num_batched_tokens"), kMaxNumBatchedTokensLimit,
                                  *o.max_num_batched_tokens));
    }
    p.max_num_batched_tokens = *o.max_num_batched_tokens;
  }
  if (o.gpu_memory_utilization) {
    const double u = *o.gpu_memory_utilization;
    if (!(u > 0 && u <= 1))
      throw UserError(fmt::format("{} must be in (0, 1], got {}", opt("gpu_memory_utilization"), u));
    p.gpu_memory_utilization = u;
    if (p.kv_free_fraction > 0) p.kv_free_fraction = u;  // TensorRT-LLM: the free-memory fraction
  }
  if (o.block_size) {
    const int b = *o.block_size;
    if (b < 1 || b > 1024 || (b & (b - 1)) != 0) {
      throw UserError(
          fmt::format("{} must be a power of two between 1 and 1024, got {}", opt("block_size"), b));
    }
    p.block_size = b;
  }
  if (o.step_overhead_s) {
    if (!(*o.step_overhead_s >= 0) || *o.step_overhead_s > 60) {
      throw UserError(fmt::format("{} must be between 0 and 60000, got {}", opt("step_overhead_ms"),
                                  *o.step_overhead_s * 1e3));
    }
    p.costs.step_overhead = *o.step_overhead_s;
  }
  if (o.custom_all_reduce) p.costs.custom_all_reduce = *o.custom_all_reduce;
  if (o.async_scheduling) {
    if (*o.async_scheduling && !p.supports_async_scheduling) {
      throw UserError(
          fmt::format("{} on: engine '{}' ({}) has no asynchronous scheduling; drop it, or "
                      "choose a V1 engine (--engine vllm)",
                      opt("async_scheduling"), p.name, p.version));
    }
    p.costs.async_scheduling = *o.async_scheduling;
  }
  if (o.prefix_caching) p.prefix_caching = *o.prefix_caching;
  if (o.cpu_offload_gib) {
    const double gib = *o.cpu_offload_gib;
    if (!(gib >= 0 && gib <= kMaxCpuOffloadGib)) {
      throw UserError(fmt::format("{} must be between 0 (off) and {} GiB, got {}", opt("cpu_offload_gib"),
                                  kMaxCpuOffloadGib, gib));
    }
    if (gib > 0 && !p.supports_cpu_offload) {
      throw UserError(
          fmt::format("{}: engine '{}' ({}) has no CPU KV offload; only vLLM 0.15 "
                      "(--engine vllm, native offloading) supports it",
                      opt("cpu_offload_gib"), p.name, p.version));
    }
    p.cpu_offload_bytes = gib * 1024.0 * 1024 * 1024;
  }
  if (o.spec_tokens) {
    if (*o.spec_tokens < 0 || *o.spec_tokens > 16) {
      throw UserError(fmt::format("{} must be between 0 (off) and 16 draft tokens per step, got {}",
                                  opt("spec_tokens"), *o.spec_tokens));
    }
    p.costs.spec_tokens = *o.spec_tokens;
  }
  if (o.spec_acceptance) {
    if (!(*o.spec_acceptance >= 0 && *o.spec_acceptance <= 1)) {
      throw UserError(fmt::format("{} must be a probability in [0, 1], got {}", opt("spec_acceptance"),
                                  *o.spec_acceptance));
    }
    p.costs.spec_acceptance = *o.spec_acceptance;
  }
  if (o.frontend_latency_s) {
    if (!(*o.frontend_latency_s >= 0) || *o.frontend_latency_s > 60) {
      throw UserError(fmt::format("{} must be a number of milliseconds between 0 and 60000, got {}",
                                  opt("frontend_latency_ms"), *o.frontend_latency_s * 1e3));
    }
    p.costs.frontend_latency = *o.frontend_latency_s;
  }
}

EnginePolicy resolve_decoder(const EngineSpec& spec, const EngineContext& c, const EngineKnobs& o) {
  EnginePolicy p = spec.defaults(c, o);
  apply_knobs(p, o);
  if (spec.finalize) spec.finalize(p, o, c);
  if (!p.chunked_prefill && p.max_num_batched_tokens < c.max_model_len) {
    throw UserError(
        fmt::format("without chunked prefill {} ({}) must be at least the max "
                    "model length ({}), or a long prompt could never be scheduled",
                    opt("max_num_batched_tokens"), p.max_num_batched_tokens, c.max_model_len));
  }
  if (p.max_num_batched_tokens < p.max_num_seqs && p.scheduler->prefill_first && !p.chunked_prefill) {
    throw UserError(fmt::format("{} ({}) must be at least {} ({})", opt("max_num_batched_tokens"),
                                p.max_num_batched_tokens, opt("max_num_seqs"), p.max_num_seqs));
  }
  return p;
}

}  // namespace

EnginePolicy resolve_engine(const std::string& name, const EngineContext& c, const EngineKnobs& knobs) {
  const EngineSpec& spec = find_engine(name);
  const Model* m = c.model;
  if (m == nullptr || !m->encoder_decoder) return resolve_decoder(spec, c, knobs);
  // The encoder needs its whole input in one step: no chunked prefill, and a token budget that
  // holds the longest input (vLLM serves encoder-decoder models this way).
  EngineKnobs o = knobs;
  if (o.chunked_prefill.value_or(false)) {
    throw UserError(
        fmt::format("{} on: {} is an encoder-decoder model, whose encoder needs its "
                    "whole input in one step",
                    opt("chunked_prefill"), m->name));
  }
  o.chunked_prefill = false;
  // Each at most the limit first: their sum cannot overflow.
  const std::int64_t lim = kMaxNumBatchedTokensLimit;
  const std::int64_t whole_len = m->max_source_positions > lim || m->max_target_positions > lim
                                     ? lim + 1
                                     : m->max_source_positions + m->max_target_positions;
  if (whole_len > lim) {
    throw UserError(
        fmt::format("{}: {} input + {} output positions exceed the step limit of {} tokens "
                    "(its encoder needs its whole input in one step)",
                    m->name, m->max_source_positions, m->max_target_positions, kMaxNumBatchedTokensLimit));
  }
  if (!o.max_num_batched_tokens) {
    EngineKnobs probe = o;
    probe.chunked_prefill = true;
    const int budget = resolve_decoder(spec, c, probe).max_num_batched_tokens;
    o.max_num_batched_tokens = static_cast<int>(std::max<std::int64_t>(budget, whole_len));
  }
  // A request preempted mid-decode recomputes its input and its generated tokens in one step.
  const EngineContext whole{c.gpu, m, whole_len};
  return resolve_decoder(spec, whole, o);
}

EnginePolicy resolve_engine(const std::string& name, const Gpu& gpu, std::int64_t max_model_len,
                            const EngineKnobs& knobs) {
  return resolve_engine(name, EngineContext{gpu, nullptr, max_model_len}, knobs);
}

}  // namespace apex
