// perf/ops.h — the time of single kernels on one GPU: the interface every op backend implements.
//
// Contract: every function returns seconds for ONE call on ONE GPU, is pure (same arguments, same
// answer), thread-compatible (const methods may run concurrently) and never returns a negative or
// non-finite time. Backends: AnalyticalOps (roofline × fitted efficiency, perf/analytical.cpp) and
// ProfileOps (measured tables with log-space interpolation, perf/profile.cpp).
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "core/dtype.h"
#include "hw/hardware.h"

namespace apex {

// CustomAllReduce is vLLM's one-shot/two-shot all-reduce over NVLink peer memory, used instead of
// NCCL for messages under 8 MiB within one node (tp <= 8) unless --disable-custom-all-reduce.
// Sliding-window attention kernels compute in key tiles of this many tokens, so their band
// reaches up to one tile past the window (fitted on the measured sliding-window rows).
constexpr std::int64_t kWindowTile = 128;

enum class Collective : std::uint8_t {
  AllReduce,
  AllGather,
  ReduceScatter,
  AllToAll,
  SendRecv,
  CustomAllReduce
};
constexpr std::size_t kNumCollectives = 6;
std::string_view collective_name(Collective c);

struct GemmArgs {
  std::int64_t m = 0, n = 0, k = 0;  // Y[m,n] = X[m,k] · W[n,k]^T
  DType weight = DType::BF16;
  DType activation = DType::BF16;
};

// Causal prefill attention over a batch of chunks (FlashAttention varlen).
struct PrefillAttnArgs {
  std::int64_t seqs = 0;       // chunks in the batch
  std::int64_t tokens = 0;     // Σ new query tokens
  double pairs = 0;            // Σ query·key pairs attended (causal): Σ q·(past + (q+1)/2)
  std::int64_t kv_tokens = 0;  // Σ (past + q): keys read
  std::int64_t heads = 0, kv_heads = 0, head_dim = 0;  // per GPU
  DType kv = DType::BF16;
};

// Decode attention: each sequence has one query token and reads its whole KV cache.
struct DecodeAttnArgs {
  std::int64_t seqs = 0;
  std::int64_t kv_tokens = 0;                          // Σ context lengths (keys read)
  std::int64_t heads = 0, kv_heads = 0, head_dim = 0;  // per GPU
  DType kv = DType::BF16;
  bool latent = false;  // MLA: one latent vector per token serves as key and value (no separate V)
};

// One fused MoE layer on ONE rank (vLLM FusedMoE): routing, the experts' gate/up GEMM, the
// activation, the down GEMM and the combine. Attention, the router GEMM and any all-to-all are
// not included. `tokens` enter this rank; each picks `topk` of `experts`; this rank holds
// experts/ep experts, each sharded tp ways along its intermediate dimension.
struct MoeArgs {
  std::int64_t tokens = 0;
  std::int64_t hidden = 0, inter = 0, topk = 0, experts = 0;
  int tp = 1, ep = 1;
  DType weight = DType::BF16;
  DType activation = DType::BF16;
  bool gated = true;
  double skew = 0;  // expert-load imbalance: 0 = balanced, else the power-law alpha of expert popularity
  // Capacity factor of fixed-capacity (GShard-style) experts: every expert buffer holds
  // capacity_factor × its mean load, padded, overflow dropped. 0 = dropless (vLLM, SGLang).
  double capacity_factor = 0;
  // Expert parallelism as vLLM's fused-MoE kernel runs it (the kernel tables in
  // ../shared/measurements): one launch over every token-expert pair with the remote experts
  // masked out (expert_map). false: the engine's own EP kernel sees only the pairs routed to this
  // rank (TensorRT-LLM's CUTLASS MoE after its all-to-all) and streams like the TP kernel.
  bool ep_masked = true;
  // How pairs find experts. Serving (false): each token picks independently, so at few pairs some
  // experts get several and the rest none — E·(1 − (1 − 1/E)^pairs) of them are read. The kernel
  // tables' "balanced" routing (true) deals the pairs to the experts in turn: min(pairs, E) are
  // read (their latency grows linearly up to pairs = E, then stays flat).
  bool dealt_in_turn = false;
};

// Where a collective runs: `gpus` ranks over `nodes` nodes.
struct CommGroup {
  int gpus = 1;
  int nodes = 1;
  Link intra;
  Link inter;
};

// Decode attention of one layer shape (DecodeAttnArgs but seqs and kv_tokens), priced for many
// batches: OpModel::attention_decode's value, with what does not depend on the batch worked out once.
// It may cache what depends on the last call's seqs: one pricer per thread (like CostModel).
class DecodeAttnPricer {
 public:
  virtual ~DecodeAttnPricer() = default;
  virtual double price(std::int64_t seqs, std::int64_t kv_tokens) const = 0;
};

class OpModel {
 public:
  virtual ~OpModel() = default;
  virtual std::string name() const = 0;
  virtual double gemm(const GemmArgs& a) const = 0;
  virtual double attention_prefill(const PrefillAttnArgs& a) const = 0;
  virtual double attention_decode(const DecodeAttnArgs& a) const = 0;
  // `bytes` is the whole buffer (nccl-tests convention: all-reduce of a bytes-sized tensor).
  virtual double collective(Collective op, double bytes, const CommGroup& g) const = 0;
  // A memory-bound elementwise kernel (norm, activation, rotary, residual) moving `bytes`.
  virtual double elementwise(double bytes) const = 0;
  virtual double moe(const MoeArgs& a) const = 0;
  // A pricer for `shape` (its seqs and kv_tokens ignored) that must equal attention_decode bit for
  // bit; this default calls it.
  virtual std::unique_ptr<const DecodeAttnPricer> decode_attention_pricer(const DecodeAttnArgs& shape) const;
};

// The analytical backend for a GPU, with the fitted parameters of its calibration key when APEX
// ships them (data/calibration), else generic defaults scaled from the GPU's peaks.
std::unique_ptr<OpModel> make_analytical_ops(const Gpu& gpu);

}  // namespace apex
