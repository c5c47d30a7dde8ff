// model/hf_llama.cpp — Llama-style decoders and Llama 4 from their Hugging Face configs.
#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "core/error.h"
#include "model/hf_families.h"

namespace apex::hf {

// Llama-style decoders: llama, mistral, qwen2, qwen3, gemma, gemma2, phi3, granite, MoE variants.
Model llama_like(const HfReader& r, const std::string& type) {
  Model m;
  m.architecture = type;
  m.hidden = r.req_int({"hidden_size"});
  m.vocab = r.req_int({"vocab_size"});
  m.max_positions = r.positive_or({"max_position_embeddings"}, 4096);
  const bool gemma = type == "gemma" || type == "gemma2" || type == "gemma3_text";
  m.tied_embeddings = r.bool_or("tie_word_embeddings", gemma);
  m.final_norm_params = m.hidden;
  m.dtype = checkpoint_dtype(r);

  AttentionSpec attn;
  attn.num_heads = r.req_int({"num_attention_heads"});
  attn.num_kv_heads = r.int_or({"num_key_value_heads"}, attn.num_heads);
  if (!r.opt_int({"head_dim"}) && m.hidden % attn.num_heads != 0) {
    throw UserError(
        fmt::format("{}: hidden_size {} is not a multiple of num_attention_heads {} and no head_dim is given",
                    r.where(), m.hidden, attn.num_heads));
  }
  attn.head_dim = r.int_or({"head_dim"}, m.hidden / attn.num_heads);
  attn.qkv_bias = type == "qwen2" || type == "qwen2_moe" || r.bool_or("attention_bias", false);
  attn.o_bias = r.bool_or("attention_bias", false) && type != "qwen2" && type != "qwen2_moe";
  check_heads(r, attn);

  Cell base;
  base.name = "decoder";
  base.attn = attn;
  base.ffn.intermediate = r.positive_or({"intermediate_size"}, 4 * m.hidden);
  base.ffn.gated = true;
  base.norm_params = (type == "gemma2" || type == "gemma3_text" ? 4 : 2) * m.hidden;
  if (type == "qwen3" || type == "qwen3_moe") base.norm_params += 2 * attn.head_dim;  // q_norm, k_norm

  const std::int64_t layers = r.layers({"num_hidden_layers"});
  m.layout.num_layers = layers;

  // Sliding window: Mistral applies it to every layer, Gemma 2 to every other layer (even layers).
  const std::int64_t window = r.int_or({"sliding_window"}, 0);
  const bool qwen_sw = r.bool_or("use_sliding_window", false);
  if (type == "gemma2" && window > 0) {
    Cell sliding = base;
    sliding.name = "decoder.sliding";
    sliding.attn.window = window;
    m.cells = {base, sliding};
    m.layout.period = {1, 0};
    return m;
  }
  if (window > 0 && (type == "mistral" || type == "mixtral" || type == "phi3" || qwen_sw) &&
      window < m.max_positions) {
    base.attn.window = window;
    base.name = "decoder.sliding";
  }

  // Mixture of experts.
  std::int64_t experts = r.int_or({"num_local_experts", "n_routed_experts", "num_experts"}, 0);
  if (experts > 0) {
    Cell moe = base;
    moe.name = "decoder.moe";
    moe.ffn.num_experts = experts;
    moe.ffn.top_k = r.req_int({"num_experts_per_tok"});
    if (moe.ffn.top_k > experts) {
      throw UserError(fmt::format("{}: num_experts_per_tok ({}) exceeds the number of experts ({})",
                                  r.where(), moe.ffn.top_k, experts));
    }
    moe.ffn.intermediate = r.positive_or({"moe_intermediate_size"}, base.ffn.intermediate);
    if (auto shared = r.opt_int({"shared_expert_intermediate_size"}); shared && *shared > 0) {
      moe.ffn.shared_intermediate = *shared;
      moe.norm_params += m.hidden;  // Qwen2-MoE shared_expert_gate (hidden -> 1)
    }
    if (auto n_shared = r.opt_int({"n_shared_experts"}); n_shared && *n_shared > 0) {
      moe.ffn.shared_intermediate = *n_shared * moe.ffn.intermediate;
    }
    const std::int64_t first_dense = r.int_or({"first_k_dense_replace"}, 0);
    const std::int64_t step =
        std::max<std::int64_t>(1, r.int_or({"decoder_sparse_step", "moe_layer_freq"}, 1));
    if (step > layers) {
      throw UserError(
          fmt::format("{}: the MoE layer step {} exceeds num_hidden_layers ({})", r.where(), step, layers));
    }
    if (type == "deepseek_v3") moe.norm_params += experts;  // e_score_correction_bias
    m.cells = {base, moe};
    m.layout.prefix_layers = std::min(first_dense, layers);
    m.layout.prefix_cell = 0;
    if (step == 1) {
      m.layout.period = {1};
    } else {  // Qwen2-MoE style: layer i is sparse when (i + 1) % step == 0
      m.layout.period.assign(static_cast<std::size_t>(step), 0);
      m.layout.period.back() = 1;
    }
    // MLA attention (DeepSeek-V2/V3).
    if (type == "deepseek_v2" || type == "deepseek_v3") {
      for (auto& c : m.cells) {
        c.attn.kind = AttentionKind::MLA;
        c.attn.q_lora_rank = r.int_or({"q_lora_rank"}, 0);
        c.attn.kv_lora_rank = r.req_int({"kv_lora_rank"});
        c.attn.qk_nope_head_dim = r.req_int({"qk_nope_head_dim"});
        c.attn.qk_rope_head_dim = r.req_int({"qk_rope_head_dim"});
        c.attn.v_head_dim = r.req_int({"v_head_dim"});
        c.attn.head_dim = c.attn.qk_nope_head_dim + c.attn.qk_rope_head_dim;
        c.attn.num_kv_heads = c.attn.num_heads;  // every head reads the shared latent
      }
    }
    return m;
  }
  m.cells = {base};
  return m;
}

// Llama 4 (Scout, Maverick): the text decoder of `text_config` (or a llama4_text config).
// Layer i uses chunked local attention with RoPE unless (i + 1) % no_rope_layer_interval == 0
// (global attention without RoPE: iRoPE); its FFN is a MoE of num_local_experts routed experts
// (top-k, of intermediate_size) plus one shared expert of the same width when
// (i + 1) % interleave_moe_layer_step == 0, else a dense SwiGLU of intermediate_size_mlp. The
// vision encoder of a multimodal config is counted as weights (extra_params) but never run: APEX
// serves text.
Model llama4(const HfReader& outer) {
  const Json* text = &outer.json();
  if (auto it = outer.json().find("text_config"); it != outer.json().end()) {
    if (!it->is_object()) throw UserError(fmt::format("{}: 'text_config' must be an object", outer.where()));
    text = &*it;
  }
  const std::string where =
      text == &outer.json() ? std::string(outer.where()) : fmt::format("{}: text_config", outer.where());
  HfReader r(*text, where);
  Model m;
  m.architecture = "llama4";
  m.hidden = r.req_int({"hidden_size"});
  m.vocab = r.req_int({"vocab_size"});
  m.max_positions = r.positive_or({"max_position_embeddings"}, 131072);
  m.tied_embeddings = r.bool_or("tie_word_embeddings", outer.bool_or("tie_word_embeddings", false));
  m.final_norm_params = m.hidden;
  m.dtype = checkpoint_dtype(outer.json().contains("torch_dtype") ? outer : r);

  AttentionSpec attn;
  attn.num_heads = r.req_int({"num_attention_heads"});
  attn.num_kv_heads = r.int_or({"num_key_value_heads"}, attn.num_heads);
  attn.head_dim = r.int_or({"head_dim"}, m.hidden / attn.num_heads);
  attn.qkv_bias = attn.o_bias = r.bool_or("attention_bias", false);
  check_heads(r, attn);
  const std::int64_t layers = r.layers({"num_hidden_layers"});
  m.layout.num_layers = layers;
  const std::int64_t chunk = r.int_or({"attention_chunk_size"}, 0);
  const std::int64_t nope_every = chunk > 0 ? r.int_or({"no_rope_layer_interval"}, 4) : 1;
  if (nope_every < 1) throw UserError(fmt::format("{}: 'no_rope_layer_interval' must be positive", where));
  const std::int64_t moe_every = std::max<std::int64_t>(1, r.int_or({"interleave_moe_layer_step"}, 1));
  const std::int64_t experts = r.req_int({"num_local_experts"});
  const std::int64_t top_k = r.int_or({"num_experts_per_tok"}, 1);
  if (top_k < 1) throw UserError(fmt::format("{}: 'num_experts_per_tok' must be at least 1", where));
  if (top_k > experts) {
    throw UserError(
        fmt::format("{}: num_experts_per_tok ({}) exceeds num_local_experts ({})", where, top_k, experts));
  }
  const std::int64_t expert_width = r.req_int({"intermediate_size"});
  const std::int64_t dense_width = r.positive_or({"intermediate_size_mlp"}, 2 * expert_width);

  // Which layers are global (NoPE) and which are MoE: the explicit lists of the checkpoint when
  // present ('no_rope_layers': 1 = RoPE + chunked, 0 = NoPE + global; 'moe_layers': indices),
  // else the intervals. The layout repeats the shortest period of the combined pattern.
  std::vector<int> kind(static_cast<std::size_t>(layers));  // bit 0: global, bit 1: MoE
  auto list_of = [&](std::string_view key) -> const Json* {
    auto it = r.json().find(key);
    if (it == r.json().end() || it->is_null()) return nullptr;
    if (!it->is_array()) throw UserError(fmt::format("{}: '{}' must be a list", where, key));
    return &*it;
  };
  // An empty no_rope_layers list means "derive it from the interval" (as Transformers reads it).
  const Json* nope = chunk > 0 ? list_of("no_rope_layers") : nullptr;
  if (nope != nullptr && nope->empty()) nope = nullptr;
  if (nope != nullptr && nope->size() != static_cast<std::size_t>(layers)) {
    throw UserError(
        fmt::format("{}: 'no_rope_layers' has {} entries for {} layers", where, nope->size(), layers));
  }
  for (std::int64_t i = 0; i < layers; ++i) {
    const auto k = static_cast<std::size_t>(i);
    bool global = chunk <= 0 || (i + 1) % nope_every == 0;
    if (nope != nullptr) {
      const Json& v = (*nope)[k];
      if (!v.is_number_integer() || (v.get<std::int64_t>() != 0 && v.get<std::int64_t>() != 1)) {
        throw UserError(
            fmt::format("{}: 'no_rope_layers' must hold 0 or 1, found {} at index {}", where, v.dump(), k));
      }
      global = (*nope)[k].get<std::int64_t>() == 0;
    }
    kind[k] = (global ? 1 : 0) | ((i + 1) % moe_every == 0 ? 2 : 0);
  }
  if (const Json* moe_list = list_of("moe_layers")) {
    for (auto& k : kind)
      k &= 1;
    for (const auto& v : *moe_list) {
      if (!v.is_number_integer() || v.get<std::int64_t>() < 0 || v.get<std::int64_t>() >= layers) {
        throw UserError(fmt::format("{}: 'moe_layers' must hold layer indices below {}", where, layers));
      }
      kind[static_cast<std::size_t>(v.get<std::int64_t>())] |= 2;
    }
  }
  std::size_t period = 1;
  while (period < kind.size()) {
    bool repeats = true;
    for (std::size_t i = period; i < kind.size() && repeats; ++i)
      repeats = kind[i] == kind[i % period];
    if (repeats) break;
    ++period;
  }
  m.layout.period.clear();
  for (std::size_t i = 0; i < period; ++i) {
    const bool global = (kind[i] & 1) != 0, moe = (kind[i] & 2) != 0;
    Cell c;
    c.name = fmt::format("decoder{}{}", global ? "" : ".chunked", moe ? ".moe" : "");
    c.attn = attn;
    c.attn.chunk = global ? 0 : chunk;
    c.ffn.gated = true;
    c.norm_params = 2 * m.hidden;  // the q/k L2 norms have no weights
    if (moe) {
      c.ffn.num_experts = experts;
      c.ffn.top_k = top_k;
      c.ffn.intermediate = expert_width;
      c.ffn.shared_intermediate = expert_width;
    } else {
      c.ffn.intermediate = dense_width;
    }
    int index = -1;
    for (std::size_t k = 0; k < m.cells.size(); ++k) {
      if (m.cells[k].name == c.name) index = static_cast<int>(k);
    }
    if (index < 0) {
      index = static_cast<int>(m.cells.size());
      m.cells.push_back(std::move(c));
    }
    m.layout.period.push_back(index);
  }
  // Vision encoder + adapter + projector (multimodal checkpoints): loaded with the weights.
  if (auto it = outer.json().find("vision_config"); it != outer.json().end() && it->is_object()) {
    HfReader v(*it, fmt::format("{}: vision_config", outer.where()));
    const auto h = static_cast<double>(v.int_or({"hidden_size"}, 0));
    const auto inter = static_cast<double>(v.int_or({"intermediate_size"}, 0));
    const auto n = static_cast<double>(v.int_or({"num_hidden_layers"}, 0));
    const auto patch = static_cast<double>(v.int_or({"patch_size"}, 14));
    const auto image = static_cast<double>(v.int_or({"image_size"}, 336));
    if (patch < 1 || image < patch) {
      throw UserError(
          fmt::format("{}: vision_config needs 1 <= patch_size <= image_size, found patch_size {} and "
                      "image_size {}",
                      outer.where(), patch, image));
    }
    const auto channels = static_cast<double>(v.int_or({"num_channels"}, 3));
    const auto proj_in = static_cast<double>(v.int_or({"projector_input_dim"}, 0));
    const auto proj_out = static_cast<double>(v.int_or({"projector_output_dim"}, 0));
    const auto out_dim = static_cast<double>(v.int_or({"vision_output_dim"}, 0));
    const double shuffle = 1.0 / 0.25;  // pixel shuffle at ratio 0.5 folds 2x2 patches into channels
    const double positions = (image / patch) * (image / patch) + 1;
    double p = channels * patch * patch * h + (positions + 1) * h +
               4 * h;  // patch embedding, positions, pre/post norms
    p += n * (4 * (h * h + h) + 2 * h * inter + inter + h + 4 * h);  // attention, MLP, two LayerNorms
    p += h * shuffle * proj_in + proj_in * proj_out;                 // pixel-shuffle MLP adapter
    p += out_dim * static_cast<double>(m.hidden);                    // multimodal projector
    if (!std::isfinite(p) || p > 1e13) {
      throw UserError(
          fmt::format("{}: vision_config describes {:.3g} parameters; check its sizes", outer.where(), p));
    }
    m.extra_params = static_cast<std::int64_t>(p);
  }
  return m;
}

}  // namespace apex::hf
