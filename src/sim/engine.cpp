// sim/engine.cpp — engine presets. Every default below is cited in docs/engines.md with the source
// file and commit it was read from.
#include "sim/engine.h"

#include <fmt/format.h>

#include "core/error.h"

namespace apex {

const std::vector<EngineInfo>& engine_presets() {
  static const std::vector<EngineInfo> list = {
      {"vllm",
       "vLLM 0.11 V1 engine (OpenAI server defaults): chunked prefill always on, mixed batches, "
       "8192-token budget and 1024 seqs on >=70 GiB GPUs (2048/256 otherwise)"},
      {"vllm-0.6",
       "vLLM 0.6.0-0.6.4 V0 scheduler: prefill-first whole prompts, 256 seqs; chunked prefill "
       "(512-token budget, decode-first) only when max_model_len > 32K"},
      {"sglang",
       "SGLang (2025-26 defaults): prefill-first with chunked prefill (8192 tokens on 80-160 GB GPUs), "
       "page size 1"},
      {"trtllm",
       "TensorRT-LLM 1.0 PyTorch backend (trtllm-bench): in-flight batching, max_num_tokens 8192, "
       "max_batch_size 2048, KV = 90% of free memory, overlap scheduler"},
  };
  return list;
}

std::vector<std::string> engine_names() {
  std::vector<std::string> names;
  for (const auto& e : engine_presets())
    names.push_back(e.name);
  return names;
}

namespace {

bool big_gpu_not_a100(const Gpu& gpu) {
  // vLLM: device memory >= 70 GiB and the device name does not contain "a100".
  return gpu.hbm_bytes >= 70.0 * 1024 * 1024 * 1024 && gpu.name.find("a100") == std::string::npos;
}

EnginePolicy vllm_v1(const Gpu& gpu) {
  EnginePolicy p;
  p.name = "vllm";
  p.version = "0.11 (V1 engine)";
  p.description = engine_presets()[0].description;
  p.sources = "vllm/engine/arg_utils.py _set_default_args @99d7eb5; vllm/v1/core/sched/scheduler.py @b4622cf";
  p.batching = BatchingKind::Mixed;
  p.chunked_prefill = true;
  const bool big = big_gpu_not_a100(gpu);
  p.max_num_batched_tokens = big ? 8192 : 2048;
  p.max_num_seqs = big ? 1024 : 256;
  p.gpu_memory_utilization = 0.9;
  p.block_size = 16;
  // CUDA graphs: FULL_AND_PIECEWISE, capture sizes up to min(2 * max_num_seqs, 512).
  p.costs.graph_max_tokens = std::min(2 * p.max_num_seqs, 512);
  p.costs.graph_decode_only = false;
  p.costs.step_overhead = 1.0e-3;
  p.costs.per_seq_overhead = 4e-6;
  // Hybrid KV-cache manager (vLLM >= 0.10; docs.vllm.ai design/hybrid_kv_cache_manager): sliding-
  // window layers keep the last window, chunked-local layers the current chunk.
  p.free_local_kv = true;
  p.prefix_caching = true;  // enable_prefix_caching defaults to True in V1 (vllm/config/cache.py)
  return p;
}

EnginePolicy vllm_v0(std::int64_t max_model_len) {
  EnginePolicy p;
  p.name = "vllm-0.6";
  p.version = "0.6.0-0.6.4 (V0 scheduler)";
  p.description = engine_presets()[1].description;
  p.sources =
      "vllm/engine/arg_utils.py @12985d4 and vllm/config.py @42cf356 (SchedulerConfig); "
      "vllm/core/scheduler.py _schedule_default / _schedule_chunked_prefill";
  // Chunked prefill is on by default only when max_model_len > 32K (CUDA, no sliding window).
  p.chunked_prefill = max_model_len > 32768;
  p.batching = p.chunked_prefill ? BatchingKind::Mixed : BatchingKind::PrefillFirst;
  p.max_num_seqs = 256;
  p.max_num_batched_tokens =
      p.chunked_prefill ? 512 : static_cast<int>(std::max<std::int64_t>(max_model_len, 2048));
  p.gpu_memory_utilization = 0.9;
  p.block_size = 16;
  p.admission_watermark = 0.01;
  // CUDA graphs for decode-only batches up to 256 sequences; prefill runs eagerly.
  p.costs.graph_max_tokens = 256;
  p.costs.graph_decode_only = true;
  p.costs.step_overhead =
      2.5e-3;  // V0 synchronous scheduling + output processing (RFC #6854: ms-scale bubbles)
  p.costs.per_seq_overhead = 12e-6;
  return p;
}

EnginePolicy sglang(const Gpu& gpu) {
  EnginePolicy p;
  p.name = "sglang";
  p.version = "0.5 (2025-26 server_args defaults)";
  p.description = engine_presets()[2].description;
  p.sources = "sgl-project/sglang python/sglang/srt/server_args.py @001067f (_handle_gpu_memory_settings)";
  p.batching = BatchingKind::PrefillFirst;
  p.chunked_prefill = true;
  const double gb = gpu.hbm_bytes / 1e9;
  p.max_num_batched_tokens = gb < 35 ? 2048 : gb < 60 ? 4096 : gb < 160 ? 8192 : 16384;
  p.max_num_seqs = 1024;
  p.gpu_memory_utilization = 0.88;
  p.block_size = 1;
  p.costs.graph_max_tokens = gb < 60 ? 160 : 512;
  p.costs.graph_decode_only = true;
  p.costs.step_overhead = 0.8e-3;
  p.costs.per_seq_overhead = 4e-6;
  p.prefix_caching = true;  // RadixAttention is on unless --disable-radix-cache
  return p;
}

EnginePolicy trtllm() {
  EnginePolicy p;
  p.name = "trtllm";
  p.version = "1.0 (PyTorch backend)";
  p.description = engine_presets()[3].description;
  p.sources =
      "NVIDIA/TensorRT-LLM tensorrt_llm/llmapi/llm_args.py (max_batch_size 2048, max_num_tokens 8192, "
      "kv_cache_free_gpu_mem_fraction 0.9); docs/source/performance/perf-overview.md";
  p.batching = BatchingKind::Mixed;
  p.chunked_prefill = true;
  p.max_num_seqs = 2048;
  p.max_num_batched_tokens = 8192;
  p.gpu_memory_utilization = 0.9;
  p.kv_free_fraction = 0.9;
  p.reserve_full_sequence = true;  // CapacitySchedulerPolicy.GUARANTEED_NO_EVICT (default)
  p.block_size = 32;               // tokens_per_block default
  // Generation-only batches replay CUDA graphs; the overlap scheduler hides most host work.
  p.costs.graph_max_tokens = 2048;
  p.costs.graph_decode_only = true;
  p.costs.step_overhead = 0.3e-3;
  p.costs.per_seq_overhead = 1e-6;
  p.prefix_caching = true;  // KvCacheConfig.enable_block_reuse defaults to True
  return p;
}

}  // namespace

EnginePolicy resolve_engine(const std::string& name, const Gpu& gpu, std::int64_t max_model_len,
                            const EngineOverrides& o) {
  EnginePolicy p;
  if (name == "vllm") {
    p = vllm_v1(gpu);
  } else if (name == "vllm-0.6") {
    p = vllm_v0(max_model_len);
  } else if (name == "sglang") {
    p = sglang(gpu);
  } else if (name == "trtllm") {
    p = trtllm();
  } else {
    throw UserError(unknown_name_message("engine", name, engine_names(), "see `apex list engines`"));
  }
  if (o.chunked_prefill) {
    p.chunked_prefill = *o.chunked_prefill;
    if (p.name == "vllm-0.6") {
      p.batching = p.chunked_prefill ? BatchingKind::Mixed : BatchingKind::PrefillFirst;
      if (!o.max_num_batched_tokens) {
        p.max_num_batched_tokens =
            p.chunked_prefill ? 512 : static_cast<int>(std::max<std::int64_t>(max_model_len, 2048));
      }
    }
  }
  if (o.max_num_seqs) {
    if (*o.max_num_seqs < 1)
      throw UserError(fmt::format("--max-num-seqs must be at least 1, got {}", *o.max_num_seqs));
    p.max_num_seqs = *o.max_num_seqs;
  }
  if (o.max_num_batched_tokens) {
    if (*o.max_num_batched_tokens < 1) {
      throw UserError(
          fmt::format("--max-num-batched-tokens must be at least 1, got {}", *o.max_num_batched_tokens));
    }
    p.max_num_batched_tokens = *o.max_num_batched_tokens;
  }
  if (o.gpu_memory_utilization) {
    const double u = *o.gpu_memory_utilization;
    if (!(u > 0 && u <= 1))
      throw UserError(fmt::format("--gpu-memory-utilization must be in (0, 1], got {}", u));
    p.gpu_memory_utilization = u;
    if (p.kv_free_fraction > 0) p.kv_free_fraction = u;  // TensorRT-LLM: the free-memory fraction
  }
  if (o.block_size) {
    const int b = *o.block_size;
    if (b < 1 || b > 1024 || (b & (b - 1)) != 0) {
      throw UserError(fmt::format("--block-size must be a power of two between 1 and 1024, got {}", b));
    }
    p.block_size = b;
  }
  if (o.step_overhead_s) {
    if (!(*o.step_overhead_s >= 0) || *o.step_overhead_s > 60) {
      throw UserError(
          fmt::format("--step-overhead-ms must be between 0 and 60000, got {}", *o.step_overhead_s * 1e3));
    }
    p.costs.step_overhead = *o.step_overhead_s;
  }
  if (o.custom_all_reduce) p.costs.custom_all_reduce = *o.custom_all_reduce;
  if (o.prefix_caching) p.prefix_caching = *o.prefix_caching;
  if (o.spec_tokens) {
    if (*o.spec_tokens < 0 || *o.spec_tokens > 16) {
      throw UserError(fmt::format(
          "--spec-tokens must be between 0 (off) and 16 draft tokens per step, got {}", *o.spec_tokens));
    }
    p.costs.spec_tokens = *o.spec_tokens;
  }
  if (o.spec_acceptance) {
    if (!(*o.spec_acceptance >= 0 && *o.spec_acceptance <= 1)) {
      throw UserError(
          fmt::format("--spec-acceptance must be a probability in [0, 1], got {}", *o.spec_acceptance));
    }
    p.costs.spec_acceptance = *o.spec_acceptance;
  }
  if (p.name == "vllm" && !o.max_num_seqs) {
    p.max_num_seqs = std::min(p.max_num_seqs, p.max_num_batched_tokens);  // vLLM clamps the default
  }
  if (p.name == "vllm") p.costs.graph_max_tokens = std::min(2 * p.max_num_seqs, 512);
  if (!p.chunked_prefill && p.max_num_batched_tokens < max_model_len) {
    throw UserError(
        fmt::format("without chunked prefill --max-num-batched-tokens ({}) must be at least the max "
                    "model length ({}), or a long prompt could never be scheduled",
                    p.max_num_batched_tokens, max_model_len));
  }
  if (p.max_num_batched_tokens < p.max_num_seqs && p.batching == BatchingKind::PrefillFirst &&
      !p.chunked_prefill) {
    throw UserError(fmt::format("--max-num-batched-tokens ({}) must be at least --max-num-seqs ({})",
                                p.max_num_batched_tokens, p.max_num_seqs));
  }
  return p;
}

}  // namespace apex
