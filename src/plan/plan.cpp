#include "plan/plan.h"

#include <algorithm>
#include <cmath>

#include <utility>

#include <fmt/format.h>

#include "core/error.h"
#include "core/option_ref.h"
#include "core/units.h"
#include "plan/sharding.h"

namespace apex {

std::string_view reject_code(RejectReason r) {
  static constexpr std::pair<RejectReason, std::string_view> kCodes[] = {
      {RejectReason::InvalidDegree, "invalid-degree"},
      {RejectReason::GpuCount, "gpu-count"},
      {RejectReason::TpSpansNodes, "tp-spans-nodes"},
      {RejectReason::TpDividesHeads, "tp-divides-heads"},
      {RejectReason::TpDividesKvHeads, "tp-divides-kv-heads"},
      {RejectReason::EpDividesExperts, "ep-divides-experts"},
      {RejectReason::EpNeedsMoe, "ep-needs-moe"},
      {RejectReason::EpExceedsTp, "ep-exceeds-tp"},
      {RejectReason::EpDividesTp, "ep-divides-tp"},
      {RejectReason::DpAttentionNeedsFullEp, "dp-attention-needs-full-ep"},
      {RejectReason::ExpertTpDividesWidth, "expert-tp-divides-width"},
      {RejectReason::PpExceedsLayers, "pp-exceeds-layers"},
      {RejectReason::InvalidEngineKnobs, "invalid-engine-knobs"},
      {RejectReason::MemoryWeights, "memory-weights"},
      {RejectReason::MemoryKvCache, "memory-kv-cache"},
      {RejectReason::BoundCannotBeatTopk, "bound-cannot-beat-top-k"},
  };
  for (const auto& [reason, code] : kCodes) {
    if (reason == r) return code;
  }
  return "?";
}

std::string Plan::label() const {
  std::string s = fmt::format("dp{}-tp{}-pp{}", dp, tp, pp);
  if (ep > 1) s += fmt::format("-ep{}", ep);
  if (attn_dp) s += "-dpattn";
  return s;
}

std::vector<Stage> split_stages(const Model& model, int pp) {
  const std::int64_t layers = model.num_layers();
  std::vector<std::int64_t> sizes(static_cast<std::size_t>(pp), layers / pp);
  const std::int64_t remainder = layers % pp;
  for (std::int64_t i = 2; i < remainder + 2; ++i) {
    // vLLM get_pp_indices: extra layers go to the stages just before the last one.
    const auto idx = static_cast<std::int64_t>(pp) - i;
    sizes[static_cast<std::size_t>(idx >= 0 ? idx : 0)] += 1;
  }
  std::vector<Stage> stages;
  std::int64_t begin = 0;
  for (int s = 0; s < pp; ++s) {
    Stage st;
    st.first_layer = begin;
    st.end_layer = begin + sizes[static_cast<std::size_t>(s)];
    st.cell_counts = model.layout.counts(st.first_layer, st.end_layer, model.cells.size());
    st.has_embedding = s == 0;
    st.has_lm_head = s == pp - 1;
    begin = st.end_layer;
    stages.push_back(std::move(st));
  }
  return stages;
}

std::optional<PlanRejection> make_plan(const Model& model, const Cluster& cluster, Plan& plan,
                                       const PlanOptions& options) {
  const int total = cluster.total_gpus();
  for (const auto& [name, degree] : {std::pair{"dp", plan.dp}, std::pair{"tp", plan.tp},
                                     std::pair{"pp", plan.pp}, std::pair{"ep", plan.ep}}) {
    if (degree < 1 || degree > total) {
      return PlanRejection{
          RejectReason::InvalidDegree,
          fmt::format("{} must be at least 1 and at most {} (the GPUs of the cluster), got {}", opt(name),
                      total, degree)};
    }
  }
  // dp×tp×pp within the cluster, found without overflowing the int of Plan::gpus().
  const std::int64_t dp_tp = static_cast<std::int64_t>(plan.dp) * plan.tp;
  if (dp_tp > total || dp_tp * plan.pp > total) {
    return PlanRejection{RejectReason::GpuCount,
                         fmt::format("dp×tp×pp = {:.0f} GPUs exceeds the cluster's {}",
                                     static_cast<double>(dp_tp) * plan.pp, total)};
  }
  if (options.require_all_gpus && plan.gpus() != total) {
    return PlanRejection{RejectReason::GpuCount,
                         fmt::format("dp×tp×pp = {}×{}×{} = {} GPUs, but the cluster has {} ({})", plan.dp,
                                     plan.tp, plan.pp, plan.gpus(), total, cluster.describe())};
  }
  if (!options.allow_cross_node_tp && plan.tp > cluster.gpus_per_node) {
    return PlanRejection{RejectReason::TpSpansNodes,
                         fmt::format("tp={} spans nodes (a node has {} GPUs); pass {} to allow it", plan.tp,
                                     cluster.gpus_per_node, opt("allow_cross_node_tp"))};
  }
  const int attn_tp = plan.attn_tp();
  for (const auto& cell : model.cells) {
    const auto& a = cell.attn;
    if (a.num_heads % attn_tp != 0) {
      return PlanRejection{RejectReason::TpDividesHeads,
                           fmt::format("tp={} does not divide the {} attention heads", plan.tp, a.num_heads)};
    }
    if (a.kind == AttentionKind::MHA && a.num_kv_heads % attn_tp != 0 && attn_tp % a.num_kv_heads != 0) {
      return PlanRejection{
          RejectReason::TpDividesKvHeads,
          fmt::format("tp={} and the {} KV heads do not divide one another", plan.tp, a.num_kv_heads)};
    }
    if (cell.ffn.is_moe()) {
      if (cell.ffn.num_experts % plan.ep != 0) {
        return PlanRejection{
            RejectReason::EpDividesExperts,
            fmt::format("ep={} does not divide the {} experts", plan.ep, cell.ffn.num_experts)};
      }
    }
  }
  if (plan.ep > 1 && !model.is_moe())
    return PlanRejection{RejectReason::EpNeedsMoe, "ep > 1 needs a mixture-of-experts model"};
  if (plan.ep > plan.tp) {
    return PlanRejection{
        RejectReason::EpExceedsTp,
        fmt::format("ep={} exceeds tp={}: experts are spread over the tp group", plan.ep, plan.tp)};
  }
  if (plan.ep > 1 && plan.tp % plan.ep != 0) {
    return PlanRejection{RejectReason::EpDividesTp,
                         fmt::format("ep={} does not divide tp={}", plan.ep, plan.tp)};
  }
  if (plan.attn_dp && (!model.is_moe() || plan.ep != plan.tp || plan.tp < 2)) {
    return PlanRejection{
        RejectReason::DpAttentionNeedsFullEp,
        "data-parallel attention needs a MoE model with ep == tp >= 2 (experts spread over every GPU "
        "of the group)"};
  }
  if (model.is_moe()) {
    for (const auto& cell : model.cells) {
      if (cell.ffn.is_moe() && cell.ffn.intermediate % plan.expert_tp() != 0) {
        return PlanRejection{RejectReason::ExpertTpDividesWidth,
                             fmt::format("tp/ep={} does not divide the experts' width {}", plan.expert_tp(),
                                         cell.ffn.intermediate)};
      }
    }
  }
  if (plan.pp > model.num_layers()) {
    return PlanRejection{RejectReason::PpExceedsLayers,
                         fmt::format("pp={} exceeds the model's {} layers", plan.pp, model.num_layers())};
  }
  plan.stages = split_stages(model, plan.pp);
  return std::nullopt;
}

std::int64_t MemoryFootprint::kv_tokens() const {
  return kv_blocks * block_size;
}

MemoryFootprint memory_footprint(const Model& model, const Cluster& cluster, const Plan& plan,
                                 const Precision& precision, const MemoryKnobs& knobs) {
  APEX_ASSERT(!plan.stages.empty(), "memory_footprint needs a plan made by make_plan");
  return memory_footprint(ShardedModel(model, plan, precision), cluster, knobs);
}

MemoryFootprint memory_footprint(const ShardedModel& sharded, const Cluster& cluster,
                                 const MemoryKnobs& knobs) {
  const Model& model = sharded.model();
  const Plan& plan = sharded.plan;
  const Precision& precision = sharded.precision;
  MemoryFootprint f;
  f.block_size = knobs.block_size;
  f.capacity = cluster.gpu.hbm_bytes;
  f.budget = knobs.kv_free_fraction > 0 ? f.capacity : f.capacity * knobs.gpu_memory_utilization;
  const double ab = sharded.activation_width;
  const auto h = static_cast<double>(model.hidden);
  double kv_per_token_worst = 0;
  double min_kv_tokens = std::numeric_limits<double>::infinity();
  for (std::size_t si = 0; si < plan.stages.size(); ++si) {
    const Stage& s = plan.stages[si];
    const double weights = sharded.stages[si].weight_bytes_per_gpu;
    // Peak activation of the profile run (max_num_batched_tokens tokens through one layer):
    // residual + normed hidden states, the QKV output, the gate/up output and its activation.
    const auto tokens = static_cast<double>(knobs.max_num_batched_tokens);
    double widest = 0;
    for (std::size_t c = 0; c < model.cells.size(); ++c) {
      if (s.cell_counts[c] == 0) continue;
      const auto& cell = model.cells[c];
      const double qkv =
          static_cast<double>((cell.attn.num_heads + 2 * cell.attn.num_kv_heads) * cell.attn.head_dim) /
          plan.attn_tp();
      double inter = static_cast<double>(cell.ffn.intermediate) / plan.attn_tp();
      if (cell.ffn.is_moe())
        inter = static_cast<double>(cell.ffn.intermediate * cell.ffn.top_k) / plan.expert_tp();
      const double ffn = (cell.ffn.gated ? 3.0 : 2.0) * inter;
      widest = std::max(widest, std::max(qkv, ffn));
    }
    double activation = tokens * (4 * h + widest) * ab;
    if (s.has_lm_head) {  // fp32 logits of the sampled sequences, twice (logits + probabilities)
      activation += 2.0 * static_cast<double>(knobs.max_num_seqs) * static_cast<double>(model.vocab) * 4.0;
    }
    const double reserve = 0.25 * kGiB + (plan.tp > 1 || plan.pp > 1 ? 0.5 * kGiB : 0.0);
    const double kv_elems = sharded.stages[si].kv_elements_per_token_per_gpu;
    const double kv_per_token = kv_elems * dtype_bytes(precision.kv);
    const double kv = knobs.kv_free_fraction > 0
                          ? (f.capacity - weights - activation - reserve) * knobs.kv_free_fraction
                          : f.budget - weights - activation - reserve;
    if (weights + activation + reserve > f.weights + f.activation + f.runtime_reserve) {
      f.weights = weights;
      f.activation = activation;
      f.runtime_reserve = reserve;
      f.kv_cache = kv;
    }
    kv_per_token_worst = std::max(kv_per_token_worst, kv_per_token);
    if (kv_per_token > 0) min_kv_tokens = std::min(min_kv_tokens, kv / kv_per_token);
  }
  f.kv_bytes_per_token = kv_per_token_worst;
  // Every stage must hold the KV of every token in flight: the scarcest stage sets the block count.
  // With data-parallel attention each GPU caches its own sequences: the group holds tp times more.
  if (std::isfinite(min_kv_tokens) && min_kv_tokens > 0) {
    f.kv_blocks = static_cast<std::int64_t>(std::floor(min_kv_tokens / knobs.block_size)) *
                  (plan.attn_dp ? plan.tp : 1);
  }
  return f;
}

}  // namespace apex
