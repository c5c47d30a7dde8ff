// sim/engines/sglang.cpp — SGLang 0.5 (2025-26 server_args defaults). Defaults read from
// sgl-project/sglang python/sglang/srt/server_args.py @001067f (_handle_gpu_memory_settings).
#include <fmt/format.h>

#include "sim/engines/engine_spec.h"
#include "sim/scheduler/scheduler.h"

namespace apex {

EngineSpec sglang_engine() {
  EngineSpec s;
  s.name = "sglang";
  s.version = "0.5 (2025-26 server_args defaults)";
  s.description =
      "SGLang (2025-26 defaults): prefill-first with chunked prefill (8192 tokens on 80-160 GB GPUs), "
      "page size 1";
  s.sources = "sgl-project/sglang python/sglang/srt/server_args.py @001067f (_handle_gpu_memory_settings)";
  s.defaults = [spec = s](const EngineContext& c, const EngineKnobs&) {
    EnginePolicy p = policy_of(spec);
    p.scheduler = &prefill_first_scheduler();
    p.chunked_prefill = true;
    const double gb = c.gpu.hbm_bytes / 1e9;
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
  };
  s.launch_command = [](const LaunchContext& c) {
    const Plan& plan = c.plan;
    const EnginePolicy& e = c.engine;
    const int k = e.costs.spec_tokens;
    const bool mtp = carries_mtp_module(c.model);
    std::string cmd = fmt::format(
        "python -m sglang.launch_server --model-path {} --tp {} --chunked-prefill-size {} "
        "--max-running-requests {} --mem-fraction-static {:.2f}",
        c.model_id, plan.tp * plan.dp, e.max_num_batched_tokens, e.max_num_seqs, e.gpu_memory_utilization);
    if (plan.dp > 1 || plan.attn_dp)
      cmd += fmt::format(" --dp {}", plan.attn_dp ? plan.tp * plan.dp : plan.dp);
    if (plan.attn_dp) cmd += " --enable-dp-attention";
    if (plan.ep > 1) cmd += fmt::format(" --ep-size {}", plan.ep);
    if (plan.pp > 1) cmd += fmt::format(" --pp-size {}", plan.pp);
    if (c.precision.weight == DType::FP8) cmd += " --quantization fp8";
    if (c.precision.kv == DType::FP8) cmd += " --kv-cache-dtype fp8_e4m3";
    if (!e.prefix_caching) cmd += " --disable-radix-cache";
    if (k > 0) {
      cmd += fmt::format(
          " --speculative-algorithm {} --speculative-num-steps {} --speculative-eagle-topk 1 "
          "--speculative-num-draft-tokens {}",
          mtp ? "NEXTN" : "EAGLE", k, k + 1);
      if (!mtp) cmd += " --speculative-draft-model-path <EAGLE draft checkpoint>";
    }
    return cmd;
  };
  return s;
}

}  // namespace apex
