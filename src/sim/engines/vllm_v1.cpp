// sim/engines/vllm_v1.cpp — vLLM 0.11 with the V1 engine (OpenAI server defaults), and the policy
// every V1 version starts from. Defaults read from vllm/engine/arg_utils.py _set_default_args
// @99d7eb5 and vllm/v1/core/sched/scheduler.py @b4622cf (docs/engines.md).
#include <algorithm>

#include "sim/engines/engine_spec.h"
#include "sim/engines/vllm_launch.h"
#include "sim/scheduler/scheduler.h"

namespace apex {

EnginePolicy vllm_v1_policy(const EngineSpec& spec, const EngineContext& c) {
  EnginePolicy p = policy_of(spec);
  p.scheduler = &mixed_scheduler();
  p.chunked_prefill = true;
  const bool big = vllm_big_gpu(c.gpu);
  p.max_num_batched_tokens = big ? 8192 : 2048;
  p.max_num_seqs = big ? 1024 : 256;
  p.gpu_memory_utilization = 0.9;
  p.block_size = 16;
  // CUDA graphs: FULL_AND_PIECEWISE, capture sizes up to min(2 * max_num_seqs, 512).
  p.costs.graph_max_tokens = std::min(2 * p.max_num_seqs, 512);
  p.costs.graph_decode_only = false;
  // One attention call per layer over every scheduled token, decodes and chunks alike
  // (vllm/v1/attention/backends/flash_attn.py FlashAttentionImpl.forward: flash_attn_varlen_func).
  p.costs.varlen_attention = true;
  p.costs.step_overhead = 1.0e-3;
  p.costs.per_seq_overhead = 4e-6;
  // Hybrid KV-cache manager (vLLM >= 0.10; docs.vllm.ai design/hybrid_kv_cache_manager): sliding-
  // window layers keep the last window, chunked-local layers the current chunk.
  p.free_local_kv = true;
  p.prefix_caching = true;  // enable_prefix_caching defaults to True in V1 (vllm/config/cache.py)
  // Symmetric memory is on by default: on Hopper and Blackwell custom all-reduce below a per-TP
  // cap, torch symm-mem above it, then NCCL.
  set_vllm_symm_mem_all_reduce(c.gpu, p.costs);
  return p;
}

void vllm_v1_finalize(EnginePolicy& p, const EngineKnobs& o, const EngineContext&) {
  if (!o.max_num_seqs) p.max_num_seqs = std::min(p.max_num_seqs, p.max_num_batched_tokens);  // vLLM clamps
  // vllm/config/vllm.py _set_cudagraph_sizes: min(2 * max_num_seqs, 512), at most the token budget.
  p.costs.graph_max_tokens = std::min({2 * p.max_num_seqs, 512, p.max_num_batched_tokens});
}

EngineSpec vllm_0_11_engine() {
  EngineSpec s;
  s.name = "vllm-0.11";
  s.version = "0.11 (V1 engine)";
  s.description =
      "vLLM 0.11 V1 engine (OpenAI server defaults): chunked prefill always on, mixed batches, "
      "synchronous scheduling, 8192-token budget and 1024 seqs on >=70 GiB GPUs (2048/256 otherwise)";
  s.sources = "vllm/engine/arg_utils.py _set_default_args @99d7eb5; vllm/v1/core/sched/scheduler.py @b4622cf";
  s.reported_as = {"vLLM 0.11", "vLLM 0.10"};
  s.defaults = [spec = s](const EngineContext& c, const EngineKnobs&) { return vllm_v1_policy(spec, c); };
  s.finalize = vllm_v1_finalize;
  s.launch_command = [](const LaunchContext& c) {
    std::string extra = c.engine.prefix_caching ? "" : " --no-enable-prefix-caching";
    return vllm_launch_command(c, "", extra);
  };
  return s;
}

}  // namespace apex
