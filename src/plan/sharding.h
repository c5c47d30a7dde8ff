// plan/sharding.h — what a cell means once a plan shards it: the one place where parameters with
// their sharding, KV elements per token, the local-attention share of the cache, the weight width,
// the math dtype and FLOPs per token are derived. ShardedModel holds them for one (model, plan,
// precision), computed once, and the memory check, the cost model, the simulator and the search
// bound all read it.
#pragma once

#include <cstdint>
#include <vector>

#include "plan/plan.h"

namespace apex {

// Parameter bytes held by one GPU of stage `s` (TP-sharded; KV heads replicated when tp > kv heads).
double stage_weight_bytes(const Model& model, const Plan& plan, const Stage& s, const Precision& p);
// KV elements per token held by one GPU of stage `s`.
double stage_kv_elements_per_token(const Model& model, const Plan& plan, const Stage& s);
// KV heads one GPU holds: max(1, kv_heads / tp) — TP wider than the KV heads replicates them.
std::int64_t kv_heads_per_gpu(const AttentionSpec& attn, int tp);

struct ShardedModel {
  ShardedModel(const Model& model, const Plan& plan, const Precision& precision);

  const Model& model() const { return *model_; }
  Plan plan;
  Precision precision;
  struct StageShard {
    double weight_bytes_per_gpu = 0;
    double kv_elements_per_token_per_gpu = 0;
  };
  std::vector<StageShard> stages;  // one per pipeline stage
  double weight_width = 2;         // bytes per stored weight parameter (group scales included)
  double activation_width = 2;     // bytes per activation element
  DType math = DType::BF16;        // what the GEMMs compute in (MFU peak)
  // Replica-wide (all GPUs of one replica): weights without the routed experts, routed experts
  // (read only for the experts a step activates), and the KV bytes one cached token occupies.
  double weight_bytes_per_replica = 0;
  double routed_expert_bytes = 0;
  double kv_bytes_per_token_replica = 0;
  std::int64_t experts = 0, topk = 0;
  // Share of a token's KV bytes held by sliding-window or chunked layers, and the keys they keep.
  double kv_local_share = 0;
  std::int64_t local_keep = 0;  // max window / chunk (0: no local layer)
  // FLOPs per token of the linear layers (decoder(-only) layers + LM head, and encoder layers),
  // and attention FLOPs per query-key pair (global layers, and local ones).
  double linear_flops_per_token = 0, encoder_flops_per_token = 0;
  double attn_flops_per_pair = 0, attn_flops_per_pair_window = 0;

  // KV held by a request when the engine frees local layers' old blocks (plan.h LocalKv).
  LocalKv local_kv(int block_size) const;

 private:
  const Model* model_;
};

// memory_footprint of plan.h for a model already sharded.
MemoryFootprint memory_footprint(const ShardedModel& sharded, const Cluster& cluster,
                                 const MemoryKnobs& knobs);

}  // namespace apex
