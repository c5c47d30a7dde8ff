// plan/plan.h — a parallel execution plan and its memory footprint.
#pragma once

#include <cmath>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/dtype.h"
#include "hw/hardware.h"
#include "model/model.h"

namespace apex {

// One pipeline stage of a replica: a contiguous layer range, as counts per cell.
struct Stage {
  std::int64_t first_layer = 0, end_layer = 0;  // [first, end)
  std::vector<std::int64_t> cell_counts;        // layers of each model cell in this stage
  bool has_embedding = false;
  bool has_lm_head = false;
  std::int64_t num_layers() const { return end_layer - first_layer; }
};

// Per-cell mapping inside the tp group of a stage (tp GPUs):
//  * attention (and dense FFN layers) either tensor-parallel over the tp GPUs, or data-parallel
//    (attn_dp: each GPU runs attention for its own 1/tp of the sequences with full weights);
//  * MoE experts split over ep GPUs, each expert tensor-parallel over tp/ep GPUs (EP×TP).
struct Plan {
  int dp = 1;                 // replicas behind the router
  int tp = 1;                 // GPUs per pipeline stage (the tensor/expert-parallel group)
  int pp = 1;                 // pipeline stages per replica
  int ep = 1;                 // expert-parallel width of MoE layers (divides tp; MoE only)
  bool attn_dp = false;       // data-parallel attention over the tp group (MoE with ep == tp)
  std::vector<Stage> stages;  // pp entries, filled by make_plan

  int gpus_per_replica() const { return tp * pp; }
  int gpus() const { return dp * tp * pp; }
  int attn_tp() const { return attn_dp ? 1 : tp; }  // tensor-parallel width of attention
  int expert_tp() const { return tp / ep; }         // tensor-parallel width of one expert
  std::string label() const;                        // "dp2-tp4-pp1", "dp1-tp8-pp1-ep8-dpattn"
};

// vLLM's layer partition: layers/pp each, the remainder spread over the stages before the last
// (the last stage also holds the LM head, the first the embedding).
std::vector<Stage> split_stages(const Model& model, int pp);

// Why a plan is impossible, by category (histogram keys from reject_code: "tp-divides-heads").
enum class RejectReason : std::uint8_t {
  InvalidDegree,
  GpuCount,
  TpSpansNodes,
  TpDividesHeads,
  TpDividesKvHeads,
  EpDividesExperts,
  EpNeedsMoe,
  EpExceedsTp,
  EpDividesTp,
  DpAttentionNeedsFullEp,
  ExpertTpDividesWidth,
  PpExceedsLayers,
  InvalidEngineKnobs,
  MemoryWeights,
  MemoryKvCache,
  BoundCannotBeatTopk,
};
std::string_view reject_code(RejectReason r);

// `detail` is the full sentence; `shortfall` (memory rejections) how far the plan is from fitting:
// bytes needed / bytes available per GPU (> 1).
struct PlanRejection {
  RejectReason reason = RejectReason::InvalidDegree;
  std::string detail;
  double shortfall = 0;
};

// Validates the plan's shape against the model and cluster and fills the stages. Returns the
// reason it is impossible, or nullopt. Never throws for an impossible plan (the planner counts
// reasons); `simulate` turns a reason into a UserError.
struct PlanOptions {
  bool allow_cross_node_tp = false;
  bool require_all_gpus = true;  // dp·tp·pp must equal the cluster's GPU count
};
std::optional<PlanRejection> make_plan(const Model& model, const Cluster& cluster, Plan& plan,
                                       const PlanOptions& options = {});

// Precision choices of a deployment.
struct Precision {
  DType weight = DType::BF16;
  DType activation = DType::BF16;
  DType kv = DType::BF16;
};

// Memory knobs of the serving engine that shape the footprint.
struct MemoryKnobs {
  double gpu_memory_utilization = 0.9;
  int block_size = 16;
  int max_num_batched_tokens = 8192;
  int max_num_seqs = 256;
  // TensorRT-LLM semantics when > 0: the KV cache takes this fraction of the memory left free
  // after weights and activations (kv_cache_free_gpu_mem_fraction), instead of vLLM's budget.
  double kv_free_fraction = 0;
};

struct MemoryFootprint {
  double capacity = 0;            // GPU memory the driver reports
  double budget = 0;              // capacity × gpu_memory_utilization
  double weights = 0;             // heaviest stage, per GPU
  double activation = 0;          // peak activation of the profile run, per GPU
  double runtime_reserve = 0;     // NCCL / cuBLAS workspaces and other non-torch memory
  double kv_cache = 0;            // what is left for the KV cache (may be negative)
  double kv_bytes_per_token = 0;  // per GPU, heaviest stage
  std::int64_t kv_blocks = 0;     // blocks of block_size tokens per replica
  std::int64_t kv_tokens() const;
  int block_size = 16;
};

// KV held by a request when the engine frees what sliding-window and chunked layers no longer
// read (vLLM V1's hybrid KV-cache manager keeps the last window, or the current chunk, of those
// layers). `share` is the fraction of a token's KV bytes in such layers, `span` the tokens they
// keep (window or chunk, plus one block). equivalent(len) is a request's KV in tokens of the
// whole model — what the block pool must hold for it; len itself when nothing is freed.
struct LocalKv {
  double share = 0;
  std::int64_t span = 0;
  std::int64_t equivalent(std::int64_t len) const {
    if (share <= 0 || len <= span) return len;
    return static_cast<std::int64_t>(
        std::ceil((1.0 - share) * static_cast<double>(len) + share * static_cast<double>(span)));
  }
};
// What the engine frees of local-attention layers of `model` with blocks of `block_size` tokens.
LocalKv local_kv_of(const Model& model, int block_size);

// Per-GPU memory of the plan (worst stage), following vLLM's profile-run accounting:
// KV = capacity × utilization − weights − peak activation − non-torch reserve.
MemoryFootprint memory_footprint(const Model& model, const Cluster& cluster, const Plan& plan,
                                 const Precision& precision, const MemoryKnobs& knobs);

}  // namespace apex
