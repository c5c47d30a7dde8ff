#include "sim/engines/vllm_launch.h"

#include <fmt/format.h>

namespace apex {

std::string vllm_launch_command(const LaunchContext& c, std::string_view chunked_flag,
                                std::string_view prefix_flag) {
  const Plan& plan = c.plan;
  const EnginePolicy& e = c.engine;
  const int k = e.costs.spec_tokens;
  const bool mtp = carries_mtp_module(c.model);
  // vLLM: expert parallelism spreads experts over TP x DP; data-parallel attention is DP with TP 1.
  // One vLLM deployment serves one replica's expert group; further replicas are more deployments.
  const int tp = plan.attn_dp ? 1 : plan.tp;
  const int dp = plan.attn_dp ? plan.tp : plan.dp;
  std::string cmd = fmt::format("vllm serve {} --tensor-parallel-size {} --pipeline-parallel-size {}",
                                c.model_id, tp, plan.pp);
  if (dp > 1) cmd += fmt::format(" --data-parallel-size {}", dp);
  if (plan.ep > 1) cmd += " --enable-expert-parallel";
  cmd += fmt::format(
      " --max-num-seqs {} --max-num-batched-tokens {} --gpu-memory-utilization {:.2f} --block-size {}",
      e.max_num_seqs, e.max_num_batched_tokens, e.gpu_memory_utilization, e.block_size);
  if (c.max_model_len) cmd += fmt::format(" --max-model-len {}", *c.max_model_len);
  cmd += chunked_flag;
  if (!e.costs.custom_all_reduce) cmd += " --disable-custom-all-reduce";
  cmd += prefix_flag;
  if (c.precision.weight == DType::FP8) cmd += " --quantization fp8";
  if (c.precision.weight == DType::INT4) cmd += "   # serve an AWQ/GPTQ int4 checkpoint";
  if (c.precision.kv == DType::FP8) cmd += " --kv-cache-dtype fp8";
  if (k > 0) {
    cmd +=
        mtp ? fmt::format(" --speculative-config '{{\"method\":\"mtp\",\"num_speculative_tokens\":{}}}'", k)
            : fmt::format(
                  " --speculative-config '{{\"method\":\"eagle3\",\"model\":\"<EAGLE-3 draft "
                  "checkpoint>\",\"num_speculative_tokens\":{}}}'",
                  k);
  }
  if (plan.ep > 1 && plan.ep != plan.tp && !plan.attn_dp) {
    cmd +=
        "   # note: vLLM spreads experts over all TP x DP ranks; an EP width below TP needs another engine";
  }
  if (plan.attn_dp && plan.dp > 1) cmd += fmt::format("   # x{} deployments behind a load balancer", plan.dp);
  return cmd;
}

}  // namespace apex
