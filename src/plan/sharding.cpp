#include "plan/sharding.h"

#include <algorithm>

#include "core/error.h"

namespace apex {

std::int64_t kv_heads_per_gpu(const AttentionSpec& attn, int tp) {
  return std::max<std::int64_t>(1, attn.num_kv_heads / tp);
}

namespace {

double cell_params_per_gpu(const Model& m, const Cell& c, const Plan& plan) {
  const auto h = static_cast<double>(m.hidden);
  const int tp = plan.attn_tp();  // attention and dense FFN follow the attention mapping
  double attn = 0;
  if (c.attn.kind == AttentionKind::MLA) {
    // Latent down-projections are replicated; head-wise up-projections and o_proj are sharded.
    const double full = c.attention_params(m.hidden);
    const auto r_kv = static_cast<double>(c.attn.kv_lora_rank);
    const double replicated = h * (r_kv + static_cast<double>(c.attn.qk_rope_head_dim)) + r_kv +
                              (c.attn.q_lora_rank > 0 ? h * static_cast<double>(c.attn.q_lora_rank) : 0.0);
    attn = replicated + (full - replicated) / tp;
  } else {
    const auto q_dim = static_cast<double>(c.attn.num_heads * c.attn.head_dim) / tp;
    const auto kv_dim = static_cast<double>(kv_heads_per_gpu(c.attn, tp) * c.attn.head_dim);
    attn = h * (q_dim + 2 * kv_dim) + q_dim * h;
    if (c.attn.qkv_bias) attn += q_dim + 2 * kv_dim;
    if (c.attn.o_bias) attn += h;
    if (c.cross_attention) {  // encoder-decoder: the cross-attention has the same shapes, sharded alike
      attn += h * (q_dim + 2 * kv_dim) + q_dim * h;
      if (c.cross_bias) attn += q_dim + kv_dim + h;
    }
  }
  double ffn = 0;
  if (c.ffn.is_moe()) {
    // Experts are split over ep, each expert's width over tp/ep; the router is replicated.
    const double per_expert = (c.ffn.gated ? 3.0 : 2.0) * h * static_cast<double>(c.ffn.intermediate);
    const double experts_here = static_cast<double>(c.ffn.num_experts) / plan.ep;
    ffn = experts_here * per_expert / plan.expert_tp() + h * static_cast<double>(c.ffn.num_experts);
    if (c.ffn.shared_intermediate > 0) {
      ffn += (c.ffn.gated ? 3.0 : 2.0) * h * static_cast<double>(c.ffn.shared_intermediate) / tp;
    }
  } else {
    ffn = c.ffn_params(m.hidden) / tp;
  }
  return attn + ffn + static_cast<double>(c.norm_params);
}

}  // namespace

double stage_weight_bytes(const Model& model, const Plan& plan, const Stage& s, const Precision& p) {
  const double wb = weight_bytes_per_param(p.weight);
  // Embedding and LM head stay in 16-bit in quantized checkpoints (vLLM does not quantize them).
  const double eb = activation_bytes(p.weight);
  double bytes = 0;
  for (std::size_t c = 0; c < model.cells.size(); ++c) {
    bytes += static_cast<double>(s.cell_counts[c]) * cell_params_per_gpu(model, model.cells[c], plan) * wb;
  }
  // Vocab-parallel over the attention's TP group (replicated on every data-parallel attention rank).
  const double vocab_rows = static_cast<double>(model.vocab * model.hidden) / plan.attn_tp();
  if (s.has_embedding) {
    bytes += (vocab_rows +
              static_cast<double>(model.position_embedding_rows * model.hidden + model.embed_norm_params)) *
             eb;
  }
  if (s.has_lm_head) {
    // A tied LM head shares the embedding's memory unless the pipeline puts them on different stages.
    if (!model.tied_embeddings || !s.has_embedding) bytes += vocab_rows * eb;
    bytes += static_cast<double>(model.final_norm_params) * eb;
    if (model.draft_layers > 0) {
      bytes += static_cast<double>(model.draft_layers) *
               cell_params_per_gpu(model, model.cells[static_cast<std::size_t>(model.draft_cell)], plan) * wb;
    }
  }
  if (s.has_embedding) bytes += static_cast<double>(model.extra_params) * eb;  // e.g. Whisper's conv stem
  return bytes;
}

LocalKv local_kv_of(const Model& model, int block_size) {
  LocalKv l;
  double all = 0, local = 0;
  std::int64_t span = 0;
  const auto counts = model.cell_counts();
  for (std::size_t c = 0; c < model.cells.size(); ++c) {
    const Cell& cell = model.cells[c];
    if (cell.role == CellRole::Encoder) continue;
    const double e = static_cast<double>(counts[c]) * cell.kv_elements_per_token();
    all += e;
    const std::int64_t keep = std::max(cell.attn.window, cell.attn.chunk);
    if (keep > 0) {
      local += e;
      span = std::max(span, keep + block_size);
    }
  }
  if (all > 0 && local > 0) {
    l.share = local / all;
    l.span = span;
  }
  return l;
}

double stage_kv_elements_per_token(const Model& model, const Plan& plan, const Stage& s) {
  auto per_layer = [&](const Cell& cell) {
    const auto& a = cell.attn;
    if (cell.role == CellRole::Encoder) return 0.0;  // encoder layers keep no cache
    if (a.kind == AttentionKind::MLA)
      return static_cast<double>(a.kv_lora_rank + a.qk_rope_head_dim);  // replicated over tp
    return 2.0 * static_cast<double>(kv_heads_per_gpu(a, plan.attn_tp()) * a.head_dim);
  };
  double e = 0;
  for (std::size_t c = 0; c < model.cells.size(); ++c)
    e += static_cast<double>(s.cell_counts[c]) * per_layer(model.cells[c]);
  if (s.has_lm_head && model.draft_layers > 0) {
    e += static_cast<double>(model.draft_layers) *
         per_layer(model.cells[static_cast<std::size_t>(model.draft_cell)]);
  }
  return e;
}

ShardedModel::ShardedModel(const Model& m, const Plan& p, const Precision& pr)
    : plan(p), precision(pr), model_(&m) {
  APEX_ASSERT(!plan.stages.empty(), "ShardedModel needs a plan made by make_plan");
  weight_width = weight_bytes_per_param(pr.weight);
  activation_width = activation_bytes(pr.activation);
  math = gemm_math_dtype(pr.weight, pr.activation);
  for (const auto& st : plan.stages) {
    StageShard s;
    s.weight_bytes_per_gpu = stage_weight_bytes(m, plan, st, pr);
    s.kv_elements_per_token_per_gpu = stage_kv_elements_per_token(m, plan, st);
    stages.push_back(s);
    weight_bytes_per_replica += s.weight_bytes_per_gpu * plan.tp;
    // Each cached token lives on attn_tp GPUs (every TP rank holds its heads; a DP-attention rank its own).
    kv_bytes_per_token_replica += s.kv_elements_per_token_per_gpu * plan.attn_tp() * dtype_bytes(pr.kv);
  }
  const LocalKv local = local_kv_of(m, 0);  // span = the keys local layers keep
  kv_local_share = local.share;
  local_keep = local.span;
  const auto counts = m.cell_counts();
  for (std::size_t c = 0; c < m.cells.size(); ++c) {
    const auto& cell = m.cells[c];
    if (!cell.ffn.is_moe()) continue;
    const double per_expert =
        (cell.ffn.gated ? 3.0 : 2.0) * static_cast<double>(m.hidden * cell.ffn.intermediate);
    const double bytes = static_cast<double>(counts[c]) * static_cast<double>(cell.ffn.num_experts) *
                         per_expert * weight_width;
    routed_expert_bytes += bytes;
    weight_bytes_per_replica -= bytes;
    experts = cell.ffn.num_experts;
    topk = cell.ffn.top_k;
  }
  for (std::size_t c = 0; c < m.cells.size(); ++c) {
    const auto& cell = m.cells[c];
    const double n = static_cast<double>(counts[c]);
    const double flops = 2.0 * n * (cell.active_params(m.hidden) - static_cast<double>(cell.norm_params));
    (cell.role == CellRole::Encoder ? encoder_flops_per_token : linear_flops_per_token) += flops;
    const double per_pair = 4.0 * static_cast<double>(cell.attn.num_heads * cell.attn.head_dim) * n;
    (cell.attn.window > 0 || cell.attn.chunk > 0 ? attn_flops_per_pair_window : attn_flops_per_pair) +=
        per_pair;
  }
}

LocalKv ShardedModel::local_kv(int block_size) const {
  LocalKv l;
  if (kv_local_share > 0) {
    l.share = kv_local_share;
    l.span = local_keep + block_size;
  }
  return l;
}

}  // namespace apex
