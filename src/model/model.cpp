#include "model/model.h"

#include <algorithm>

#include "core/error.h"

namespace apex {

double Cell::attention_params(std::int64_t hidden) const {
  double p = self_attention_params(hidden);
  if (cross_attention) {
    // q from the decoder, k and v from the encoder output, o back: the self-attention's shapes.
    const auto h = static_cast<double>(hidden);
    const auto q_dim = static_cast<double>(attn.num_heads * attn.head_dim);
    const auto kv_dim = static_cast<double>(attn.num_kv_heads * attn.head_dim);
    p += h * (q_dim + 2 * kv_dim) + q_dim * h;
    if (cross_bias) p += q_dim + kv_dim + h;  // Whisper: q, v and out carry biases, k does not
  }
  return p;
}

double Cell::self_attention_params(std::int64_t hidden) const {
  const auto h = static_cast<double>(hidden);
  if (attn.kind == AttentionKind::MLA) {
    const auto nh = static_cast<double>(attn.num_heads);
    const double qk_head = static_cast<double>(attn.qk_nope_head_dim + attn.qk_rope_head_dim);
    double q = 0;
    if (attn.q_lora_rank > 0) {
      const auto r = static_cast<double>(attn.q_lora_rank);
      q = h * r + r /*q_a_layernorm*/ + r * nh * qk_head;
    } else {
      q = h * nh * qk_head;
    }
    const auto r_kv = static_cast<double>(attn.kv_lora_rank);
    const double kv_a = h * (r_kv + static_cast<double>(attn.qk_rope_head_dim)) + r_kv /*kv_a_layernorm*/;
    const double kv_b = r_kv * nh * static_cast<double>(attn.qk_nope_head_dim + attn.v_head_dim);
    const double o = nh * static_cast<double>(attn.v_head_dim) * h;
    return q + kv_a + kv_b + o;
  }
  const auto q_dim = static_cast<double>(attn.num_heads * attn.head_dim);
  const auto kv_dim = static_cast<double>(attn.num_kv_heads * attn.head_dim);
  double p = h * (q_dim + 2 * kv_dim) + q_dim * h;
  if (attn.qkv_bias) p += q_dim + 2 * kv_dim;
  if (attn.o_bias) p += h;
  return p;
}

double Cell::ffn_params(std::int64_t hidden) const {
  const auto h = static_cast<double>(hidden);
  auto dense = [&](double inter) {
    double p = (ffn.gated ? 3.0 : 2.0) * h * inter;
    if (ffn.bias) p += (ffn.gated ? 2.0 : 1.0) * inter + h;
    return p;
  };
  if (!ffn.is_moe()) return dense(static_cast<double>(ffn.intermediate));
  double p = static_cast<double>(ffn.num_experts) * dense(static_cast<double>(ffn.intermediate));
  p += h * static_cast<double>(ffn.num_experts);  // router
  if (ffn.shared_intermediate > 0) p += dense(static_cast<double>(ffn.shared_intermediate));
  return p;
}

double Cell::active_params(std::int64_t hidden) const {
  if (!ffn.is_moe()) return params(hidden);
  const auto h = static_cast<double>(hidden);
  const double one_expert = (ffn.gated ? 3.0 : 2.0) * h * static_cast<double>(ffn.intermediate);
  double p = attention_params(hidden) + static_cast<double>(norm_params) +
             static_cast<double>(ffn.top_k) * one_expert + h * static_cast<double>(ffn.num_experts);
  if (ffn.shared_intermediate > 0)
    p += (ffn.gated ? 3.0 : 2.0) * h * static_cast<double>(ffn.shared_intermediate);
  return p;
}

double Cell::kv_elements_per_token() const {
  if (role == CellRole::Encoder) return 0.0;  // encoder layers keep no cache
  if (attn.kind == AttentionKind::MLA) {
    return static_cast<double>(attn.kv_lora_rank + attn.qk_rope_head_dim);
  }
  return 2.0 * static_cast<double>(attn.num_kv_heads * attn.head_dim);
}

int LayerLayout::cell_of(std::int64_t layer) const {
  APEX_ASSERT(layer >= 0 && layer < num_layers, "layer index out of range");
  if (layer < prefix_layers) return prefix_cell;
  const auto p = static_cast<std::int64_t>(period.size());
  return period[static_cast<std::size_t>((layer - prefix_layers) % p)];
}

std::vector<std::int64_t> LayerLayout::counts(std::int64_t begin, std::int64_t end,
                                              std::size_t num_cells) const {
  std::vector<std::int64_t> out(num_cells, 0);
  begin = std::clamp<std::int64_t>(begin, 0, num_layers);
  end = std::clamp<std::int64_t>(end, begin, num_layers);
  // Prefix part.
  const std::int64_t pre_end = std::min(end, prefix_layers);
  if (pre_end > begin) out[static_cast<std::size_t>(prefix_cell)] += pre_end - begin;
  // Periodic part: positions [a, b) relative to the start of the period region.
  const std::int64_t a = std::max(begin, prefix_layers) - prefix_layers;
  const std::int64_t b = end - prefix_layers;
  if (b > a) {
    const auto p = static_cast<std::int64_t>(period.size());
    for (std::int64_t slot = 0; slot < p; ++slot) {
      // count of i in [a, b) with i % p == slot
      auto upto = [&](std::int64_t x) { return x <= slot ? 0 : (x - slot + p - 1) / p; };
      out[static_cast<std::size_t>(period[static_cast<std::size_t>(slot)])] += upto(b) - upto(a);
    }
  }
  return out;
}

double Model::embedding_params() const {
  const auto h = static_cast<double>(hidden);
  return static_cast<double>(vocab) * h + static_cast<double>(position_embedding_rows) * h +
         static_cast<double>(embed_norm_params);
}

double Model::lm_head_params() const {
  return tied_embeddings ? 0.0 : static_cast<double>(vocab) * static_cast<double>(hidden);
}

double Model::params() const {
  double p = embedding_params() + lm_head_params() + static_cast<double>(final_norm_params + extra_params);
  const auto counts = cell_counts();
  for (std::size_t c = 0; c < cells.size(); ++c)
    p += static_cast<double>(counts[c]) * cells[c].params(hidden);
  return p;
}

double Model::active_params_per_token() const {
  double p = static_cast<double>(vocab) *
             static_cast<double>(hidden);  // every generated token multiplies through the LM head
  const auto counts = cell_counts();
  for (std::size_t c = 0; c < cells.size(); ++c)
    p += static_cast<double>(counts[c]) * cells[c].active_params(hidden);
  return p;
}

void Model::enable_draft_layer() {
  draft_layers = 1;
  draft_cell = layout.cell_of(layout.num_layers - 1);
}

double Model::kv_elements_per_token() const {
  double e = 0;
  const auto counts = cell_counts();
  for (std::size_t c = 0; c < cells.size(); ++c)
    e += static_cast<double>(counts[c]) * cells[c].kv_elements_per_token();
  return e;
}

bool Model::is_moe() const {
  return std::any_of(cells.begin(), cells.end(), [](const Cell& c) { return c.ffn.is_moe(); });
}

}  // namespace apex
