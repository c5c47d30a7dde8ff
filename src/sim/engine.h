// sim/engine.h — a serving engine's resolved policy (EnginePolicy: what the simulator runs), the
// user's engine knobs (EngineOverrides, declared once here), and resolution of a named engine with
// its real defaults. The engines themselves are units in sim/engines/ (one file each, one
// registry); nothing outside that folder compares engine names.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "hw/hardware.h"
#include "model/model.h"
#include "perf/cost_model.h"
#include "plan/plan.h"

namespace apex {

struct SchedulerSpec;
struct PrefixCacheSpec;

struct EnginePolicy {
  std::string name;     // registry key: "vllm", "vllm-0.6", "sglang", "trtllm"
  std::string version;  // the engine version whose defaults these are
  std::string description;
  std::string sources;  // where the defaults come from
  // The batching policy (sim/scheduler/): mixed (vLLM V1), prefill-first (vLLM V0, SGLang),
  // reserve-full-sequence (TensorRT-LLM GUARANTEED_NO_EVICT).
  const SchedulerSpec* scheduler = nullptr;
  bool chunked_prefill = true;
  int max_num_seqs = 256;
  int max_num_batched_tokens = 2048;
  double gpu_memory_utilization = 0.9;
  int block_size = 16;
  int long_prefill_token_threshold = 0;  // cap on one request's tokens per step (0 = off)
  double admission_watermark = 0.0;      // fraction of KV blocks kept free when admitting (V0: 0.01)
  double kv_free_fraction = 0.0;         // TensorRT-LLM KV sizing (see MemoryKnobs); 0 = vLLM's
  // vLLM V1's hybrid KV-cache manager: sliding-window and chunked-attention layers keep only the
  // blocks they still read (plan.h LocalKv); otherwise every layer keeps the whole context.
  bool free_local_kv = false;
  // Automatic prefix caching, and the cache policy (sim/kv/) the engine runs when it is on.
  bool prefix_caching = false;
  const PrefixCacheSpec* prefix_cache = nullptr;
  // CPU KV offload (vLLM 0.15 --kv-offloading-backend native): prefix blocks evicted from the GPU
  // are kept in a CPU pool of this many bytes per replica (LRU) and loaded back on a hit instead
  // of recomputed. 0 = off; only engines that set supports_cpu_offload accept a size.
  bool supports_cpu_offload = false;
  double cpu_offload_bytes = 0;
  EngineCosts costs;
  // Whether the engine can overlap the next step's CPU work with the GPU step (--async-scheduling
  // on); vLLM V0 cannot.
  bool supports_async_scheduling = true;

  MemoryKnobs memory_knobs() const {
    return MemoryKnobs{gpu_memory_utilization, block_size, max_num_batched_tokens, max_num_seqs,
                       kv_free_fraction};
  }
};

// The largest values the count knobs accept (engine knob validation, --tune): far above any real
// engine's setting, small enough that no product the engines form with them overflows an int.
inline constexpr int kMaxNumSeqsLimit = 1 << 20;           // 1,048,576 sequences per step
inline constexpr int kMaxNumBatchedTokensLimit = 1 << 28;  // 268,435,456 tokens per step
inline constexpr double kMaxCpuOffloadGib = 1 << 20;       // 1 PiB of host memory per replica

// The engine knobs a user may set, each declared once; unset = the engine's default.
struct EngineOverrides {
  std::optional<int> max_num_seqs;
  std::optional<int> max_num_batched_tokens;
  std::optional<double> gpu_memory_utilization;
  std::optional<int> block_size;
  std::optional<bool> chunked_prefill;
  std::optional<double> step_overhead_s;
  std::optional<bool> custom_all_reduce;
  std::optional<bool> async_scheduling;
  std::optional<bool> prefix_caching;
  std::optional<int> spec_tokens;
  std::optional<double> spec_acceptance;
  std::optional<double> frontend_latency_s;
  std::optional<double> cpu_offload_gib;  // CPU KV offload pool per replica, GiB (0 = off)

  // Calls f(member pointer) for every knob (one list: merging, printing, option tables).
  template <class F>
  static void for_each_knob(F&& f) {
    f(&EngineOverrides::max_num_seqs);
    f(&EngineOverrides::max_num_batched_tokens);
    f(&EngineOverrides::gpu_memory_utilization);
    f(&EngineOverrides::block_size);
    f(&EngineOverrides::chunked_prefill);
    f(&EngineOverrides::step_overhead_s);
    f(&EngineOverrides::custom_all_reduce);
    f(&EngineOverrides::async_scheduling);
    f(&EngineOverrides::prefix_caching);
    f(&EngineOverrides::spec_tokens);
    f(&EngineOverrides::spec_acceptance);
    f(&EngineOverrides::frontend_latency_s);
    f(&EngineOverrides::cpu_offload_gib);
  }
  // These knobs with every knob set in `over` taking its value from there.
  EngineOverrides merged_with(const EngineOverrides& over) const {
    EngineOverrides out = *this;
    for_each_knob([&](auto member) {
      if (over.*member) out.*member = over.*member;
    });
    return out;
  }
};
using EngineKnobs = EngineOverrides;

struct EngineInfo {
  std::string name;
  std::string description;
};
std::vector<EngineInfo> engine_presets();  // the registry as listed, run-time registrations included
std::vector<std::string> engine_names();

// What an engine's defaults may depend on.
struct EngineContext {
  const Gpu& gpu;
  const Model* model = nullptr;    // null: a decoder-only model is assumed
  std::int64_t max_model_len = 0;  // the longest prompt + output the engine accepts
};

// The policy `name` as it would start for this model on this GPU (some defaults depend on the GPU
// and the model's context length), with the user's knobs applied and validated. Encoder-decoder
// models run without chunked prefill, with a budget that holds the longest input.
// UserError for an unknown name or an invalid knob.
EnginePolicy resolve_engine(const std::string& name, const EngineContext& context, const EngineKnobs& knobs);
// The same for a decoder-only model whose max model length is `max_model_len`.
EnginePolicy resolve_engine(const std::string& name, const Gpu& gpu, std::int64_t max_model_len,
                            const EngineKnobs& knobs);

}  // namespace apex
