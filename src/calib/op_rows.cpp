// calib/op_rows.cpp — measured rows -> op arguments (see op_rows.h).
#include "calib/op_rows.h"

#include <algorithm>

#include <fmt/format.h>

namespace apex::calib {
namespace {

// Sliding-window kernels work in key tiles, so the band they compute reaches up to one tile past
// the window: the effective window APEX prices (also used by the cost model, CostModel::window()).
std::int64_t effective_window(std::int64_t window) {
  return window > 0 ? window + kWindowTile : 0;
}

double causal_pairs(std::int64_t len, std::int64_t window) {
  const auto s = static_cast<double>(len);
  if (window <= 0 || window >= len) return s * (s + 1) / 2;
  const auto w = static_cast<double>(window);
  return w * (w + 1) / 2 + (s - w) * w;
}

}  // namespace

std::optional<GemmArgs> gemm_args(const GemmRow& r) {
  GemmArgs a{r.m, r.n, r.k, DType::BF16, DType::BF16};
  if (r.dtype == "bf16" || r.dtype == "fp16") return a;
  if (r.dtype == "fp8") {
    a.weight = DType::FP8;
    return a;
  }
  if (r.dtype == "nvfp4") {
    a.weight = DType::FP4;
    return a;
  }
  return std::nullopt;  // fp8_block (eager timing), nvfp4, int4_wo, ...: not modelled
}

DType kv_of(const std::string& t) {
  return t == "fp8" ? DType::FP8 : DType::BF16;
}

PrefillAttnArgs prefill_args(const AttentionRow& r) {
  PrefillAttnArgs a;
  a.seqs = r.batch;
  a.tokens = r.batch * r.len;
  const std::int64_t w = effective_window(r.window);
  a.pairs = static_cast<double>(r.batch) * causal_pairs(r.len, w);
  a.kv_tokens = r.batch * (w > 0 ? std::min(r.len, w) : r.len);
  a.heads = r.heads;
  a.kv_heads = r.kv_heads;
  a.head_dim = r.head_dim;
  a.kv = kv_of(r.kv_dtype);
  return a;
}

DecodeAttnArgs decode_args(const AttentionRow& r) {
  DecodeAttnArgs a;
  a.seqs = r.batch;
  const std::int64_t w = effective_window(r.window);
  const std::int64_t ctx = w > 0 ? std::min(r.len + 1, w) : r.len + 1;
  a.kv_tokens = r.batch * ctx;
  a.heads = r.heads;
  a.kv_heads = r.kv_heads;
  a.head_dim = r.head_dim;
  a.kv = kv_of(r.kv_dtype);
  return a;
}

std::optional<MoeArgs> moe_args(const MoeRow& r, const std::string& fp8) {
  MoeArgs a;
  a.tokens = r.tokens;
  a.hidden = r.hidden;
  a.inter = r.inter;
  a.topk = r.topk;
  a.experts = r.experts;
  a.tp = static_cast<int>(r.tp);
  a.ep = static_cast<int>(r.ep);
  if (r.dtype == "bf16" || r.dtype == "fp16")
    a.weight = DType::BF16;
  else if (r.dtype == fp8)
    a.weight = DType::FP8;
  else if (r.dtype == "nvfp4")
    a.weight = DType::FP4;
  else if (r.dtype == "int4_wo")
    a.weight = DType::INT4;
  else
    return std::nullopt;  // the slower FP8 flavour, MXFP4 weight formats: not modelled
  if (r.distribution == "balanced") {
    a.skew = 0;
    a.dealt_in_turn = true;  // aiconfigurator's balanced routing: pairs dealt to the experts in turn
  } else if (r.distribution == "power_law_1.01")
    a.skew = 1.01;
  else if (r.distribution == "power_law_1.2")
    a.skew = 1.2;
  else
    return std::nullopt;
  return a;
}

std::optional<CommKey> comm_key(const CommRow& r) {
  const bool inter = r.nodes > 1;
  if (r.op == "all_reduce") {
    if (r.impl.find("custom_allreduce") != std::string::npos) {
      // Eager custom all-reduce rows are dominated by launch overhead; serving replays graphs.
      if (r.impl.find("(graph)") == std::string::npos) return std::nullopt;
      return CommKey{Collective::CustomAllReduce, inter};
    }
    return CommKey{Collective::AllReduce, inter};
  }
  if (r.op == "all_gather") return CommKey{Collective::AllGather, inter};
  if (r.op == "reduce_scatter") return CommKey{Collective::ReduceScatter, inter};
  if (r.op == "send_recv") return CommKey{Collective::SendRecv, inter};
  if (r.op == "all_to_all") {
    // README §8.7: APEX+ fp32 all_to_all rows at 4-256 KB are corrupted (10-100x too slow).
    if (r.source == "apex_plus" && r.dtype == "fp32" && r.bytes <= 256 * 1024) return std::nullopt;
    return CommKey{Collective::AllToAll, inter};
  }
  return std::nullopt;
}

CommGroup comm_group(const Gpu& gpu, const CommRow& r) {
  return CommGroup{r.gpus, std::max(1, r.nodes), gpu.intra_node, gpu.inter_node};
}

std::string comm_kind(const CommKey& k) {
  return fmt::format("{}{}", collective_name(k.op), k.inter ? " (inter-node)" : "");
}

}  // namespace apex::calib
