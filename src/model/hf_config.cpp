// model/hf_config.cpp — maps Hugging Face config.json keys of each family onto cells.
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <functional>
#include <optional>

#include <fmt/format.h>

#include "core/error.h"
#include "core/text.h"
#include "model/registry.h"

namespace apex {
namespace {

// Reads HF keys; HF configs carry many keys APEX does not need, so unknown keys are fine here.
class HfReader {
 public:
  HfReader(const Json& j, std::string_view where) : j_(j), where_(where) {}

  std::optional<std::int64_t> opt_int(std::initializer_list<std::string_view> keys) const {
    for (auto k : keys) {
      auto it = j_.find(k);
      if (it == j_.end() || it->is_null()) continue;
      if (!it->is_number()) {
        throw UserError(fmt::format("{}: '{}' must be a number, found {}", where_, k, it->type_name()));
      }
      const double d = it->get<double>();
      if (d != static_cast<double>(static_cast<std::int64_t>(d))) {
        throw UserError(fmt::format("{}: '{}' must be an integer, found {}", where_, k, d));
      }
      if (d < 0) throw UserError(fmt::format("{}: '{}' must not be negative, found {}", where_, k, d));
      return static_cast<std::int64_t>(d);
    }
    return std::nullopt;
  }
  std::int64_t req_int(std::initializer_list<std::string_view> keys) const {
    auto v = opt_int(keys);
    if (!v) {
      std::vector<std::string> names(keys.begin(), keys.end());
      throw UserError(fmt::format("{}: missing required key '{}'", where_, join(names, "' or '")));
    }
    if (*v == 0) throw UserError(fmt::format("{}: '{}' must be positive", where_, *keys.begin()));
    return *v;
  }
  std::int64_t int_or(std::initializer_list<std::string_view> keys, std::int64_t fallback) const {
    return opt_int(keys).value_or(fallback);
  }
  bool bool_or(std::string_view key, bool fallback) const {
    auto it = j_.find(key);
    if (it == j_.end() || it->is_null()) return fallback;
    if (!it->is_boolean()) throw UserError(fmt::format("{}: '{}' must be true or false", where_, key));
    return it->get<bool>();
  }
  std::string str_or(std::string_view key, std::string fallback) const {
    auto it = j_.find(key);
    if (it == j_.end() || !it->is_string()) return fallback;
    return it->get<std::string>();
  }
  const Json& json() const { return j_; }
  std::string_view where() const { return where_; }

 private:
  const Json& j_;
  std::string_view where_;
};

DType checkpoint_dtype(const HfReader& r) {
  const std::string t = r.str_or("torch_dtype", r.str_or("dtype", "bfloat16"));
  try {
    return parse_dtype(t, "torch_dtype");
  } catch (const UserError&) {
    return DType::BF16;  // unusual checkpoint dtypes are served in bf16 by default
  }
}

void check_heads(const HfReader& r, const AttentionSpec& a) {
  if (a.num_heads <= 0)
    throw UserError(fmt::format("{}: number of attention heads must be positive", r.where()));
  if (a.head_dim <= 0) throw UserError(fmt::format("{}: head_dim must be positive", r.where()));
  if (a.num_kv_heads <= 0 || a.num_heads % a.num_kv_heads != 0) {
    throw UserError(fmt::format("{}: num_key_value_heads ({}) must divide num_attention_heads ({})",
                                r.where(), a.num_kv_heads, a.num_heads));
  }
}

// Llama-style decoders: llama, mistral, qwen2, qwen3, gemma, gemma2, phi3, granite, MoE variants.
Model llama_like(const HfReader& r, const std::string& type) {
  Model m;
  m.architecture = type;
  m.hidden = r.req_int({"hidden_size"});
  m.vocab = r.req_int({"vocab_size"});
  m.max_positions = r.int_or({"max_position_embeddings"}, 4096);
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
  base.ffn.intermediate = r.int_or({"intermediate_size"}, 4 * m.hidden);
  base.ffn.gated = true;
  base.norm_params = (type == "gemma2" || type == "gemma3_text" ? 4 : 2) * m.hidden;
  if (type == "qwen3" || type == "qwen3_moe") base.norm_params += 2 * attn.head_dim;  // q_norm, k_norm

  const std::int64_t layers = r.req_int({"num_hidden_layers"});
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
    moe.ffn.intermediate = r.int_or({"moe_intermediate_size"}, base.ffn.intermediate);
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
  m.max_positions = r.int_or({"max_position_embeddings"}, 131072);
  m.tied_embeddings = r.bool_or("tie_word_embeddings", outer.bool_or("tie_word_embeddings", false));
  m.final_norm_params = m.hidden;
  m.dtype = checkpoint_dtype(outer.json().contains("torch_dtype") ? outer : r);

  AttentionSpec attn;
  attn.num_heads = r.req_int({"num_attention_heads"});
  attn.num_kv_heads = r.int_or({"num_key_value_heads"}, attn.num_heads);
  attn.head_dim = r.int_or({"head_dim"}, m.hidden / attn.num_heads);
  attn.qkv_bias = attn.o_bias = r.bool_or("attention_bias", false);
  check_heads(r, attn);
  const std::int64_t layers = r.req_int({"num_hidden_layers"});
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
  const std::int64_t dense_width = r.int_or({"intermediate_size_mlp"}, 2 * expert_width);

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

// The classic decoder block of GPT-2 / GPT-J / NeoX / OPT / BLOOM: multi-head attention (as many
// KV heads as query heads), a plain (non-gated) MLP, LayerNorms with biases.
Cell classic_cell(const HfReader& r, std::int64_t hidden, std::int64_t heads, std::int64_t intermediate,
                  bool attn_bias, bool mlp_bias, std::int64_t norm_params) {
  if (heads > 0 && hidden % heads != 0) {
    throw UserError(fmt::format("{}: hidden size {} is not a multiple of the {} attention heads", r.where(),
                                hidden, heads));
  }
  Cell c;
  c.name = "decoder";
  c.attn.num_heads = heads;
  c.attn.num_kv_heads = heads;
  c.attn.head_dim = hidden / heads;
  c.attn.qkv_bias = c.attn.o_bias = attn_bias;
  c.ffn.intermediate = intermediate;
  c.ffn.gated = false;
  c.ffn.bias = mlp_bias;
  c.norm_params = norm_params;
  check_heads(r, c.attn);
  return c;
}

Model gpt2(const HfReader& r) {
  Model m;
  m.architecture = "gpt2";
  m.hidden = r.req_int({"n_embd", "hidden_size"});
  m.vocab = r.req_int({"vocab_size"});
  m.max_positions = r.int_or({"n_positions", "n_ctx"}, 1024);
  m.position_embedding_rows = m.max_positions;
  m.tied_embeddings = r.bool_or("tie_word_embeddings", true);
  m.final_norm_params = 2 * m.hidden;
  m.dtype = r.json().contains("torch_dtype") ? checkpoint_dtype(r) : DType::FP16;
  m.cells = {classic_cell(r, m.hidden, r.req_int({"n_head", "num_attention_heads"}),
                          r.int_or({"n_inner"}, 4 * m.hidden), true, true, 4 * m.hidden)};
  m.layout.num_layers = r.req_int({"n_layer", "num_hidden_layers"});
  return m;
}

Model gptj(const HfReader& r) {
  Model m;
  m.architecture = "gptj";
  m.hidden = r.req_int({"n_embd", "hidden_size"});
  m.vocab = r.req_int({"vocab_size"});
  m.max_positions = r.int_or({"n_positions"}, 2048);
  m.tied_embeddings = r.bool_or("tie_word_embeddings", false);
  m.final_norm_params = 2 * m.hidden + (m.tied_embeddings ? 0 : m.vocab);  // ln_f + lm_head bias
  m.dtype = r.json().contains("torch_dtype") ? checkpoint_dtype(r) : DType::FP16;
  // One LayerNorm shared by the parallel attention and MLP; no attention biases.
  m.cells = {classic_cell(r, m.hidden, r.req_int({"n_head", "num_attention_heads"}),
                          r.int_or({"n_inner"}, 4 * m.hidden), false, true, 2 * m.hidden)};
  m.layout.num_layers = r.req_int({"n_layer", "num_hidden_layers"});
  return m;
}

Model gpt_neox(const HfReader& r) {
  Model m;
  m.architecture = "gpt_neox";
  m.hidden = r.req_int({"hidden_size"});
  m.vocab = r.req_int({"vocab_size"});
  m.max_positions = r.int_or({"max_position_embeddings"}, 2048);
  m.tied_embeddings = r.bool_or("tie_word_embeddings", false);
  m.final_norm_params = 2 * m.hidden;
  m.dtype = checkpoint_dtype(r);
  m.cells = {classic_cell(r, m.hidden, r.req_int({"num_attention_heads"}),
                          r.int_or({"intermediate_size"}, 4 * m.hidden), r.bool_or("attention_bias", true),
                          true, 4 * m.hidden)};
  m.layout.num_layers = r.req_int({"num_hidden_layers"});
  return m;
}

Model opt(const HfReader& r) {
  Model m;
  m.architecture = "opt";
  m.hidden = r.req_int({"hidden_size"});
  m.vocab = r.req_int({"vocab_size"});
  m.max_positions = r.int_or({"max_position_embeddings"}, 2048);
  m.position_embedding_rows = m.max_positions + 2;  // OPT's learned positions carry an offset of 2
  m.tied_embeddings = r.bool_or("tie_word_embeddings", true);
  m.dtype = checkpoint_dtype(r);
  const std::int64_t proj = r.int_or({"word_embed_proj_dim"}, m.hidden);
  if (proj != m.hidden) m.embed_norm_params = 2 * proj * m.hidden;  // project_in / project_out
  const bool pre_ln = r.bool_or("do_layer_norm_before", true);
  m.final_norm_params = pre_ln ? 2 * m.hidden : 0;
  const bool bias = r.bool_or("enable_bias", true);
  m.cells = {classic_cell(r, m.hidden, r.req_int({"num_attention_heads"}),
                          r.int_or({"ffn_dim"}, 4 * m.hidden), bias, bias, 4 * m.hidden)};
  m.layout.num_layers = r.req_int({"num_hidden_layers"});
  return m;
}

Model falcon(const HfReader& r) {
  Model m;
  m.architecture = "falcon";
  m.hidden = r.req_int({"hidden_size"});
  m.vocab = r.req_int({"vocab_size"});
  m.max_positions = r.int_or({"max_position_embeddings"}, 2048);
  m.tied_embeddings = r.bool_or("tie_word_embeddings", true);
  m.final_norm_params = 2 * m.hidden;
  m.dtype = checkpoint_dtype(r);
  const bool new_arch = r.bool_or("new_decoder_architecture", false);
  Cell c;
  c.name = "decoder";
  c.attn.num_heads = r.req_int({"num_attention_heads", "n_head"});
  c.attn.head_dim = m.hidden / c.attn.num_heads;
  if (new_arch) {
    c.attn.num_kv_heads = r.int_or({"num_kv_heads", "n_head_kv"}, c.attn.num_heads);
  } else {
    c.attn.num_kv_heads = r.bool_or("multi_query", true) ? 1 : c.attn.num_heads;
  }
  const bool bias = r.bool_or("bias", false);
  c.attn.qkv_bias = c.attn.o_bias = bias;
  c.ffn.intermediate = r.int_or({"ffn_hidden_size"}, 4 * m.hidden);
  c.ffn.gated = false;
  c.ffn.bias = bias;
  // Falcon-7B shares one LayerNorm between its parallel attention and MLP; the new architecture has two.
  c.norm_params = (new_arch || !r.bool_or("parallel_attn", true) ? 4 : 2) * m.hidden;
  check_heads(r, c.attn);
  m.cells = {c};
  m.layout.num_layers = r.req_int({"num_hidden_layers", "n_layer"});
  return m;
}

Model bloom(const HfReader& r) {
  Model m;
  m.architecture = "bloom";
  m.hidden = r.req_int({"hidden_size", "n_embed"});
  m.vocab = r.req_int({"vocab_size"});
  m.max_positions = r.int_or({"seq_length", "max_position_embeddings"}, 2048);
  m.tied_embeddings = r.bool_or("tie_word_embeddings", true);
  m.embed_norm_params = 2 * m.hidden;  // word_embeddings_layernorm
  m.final_norm_params = 2 * m.hidden;
  m.dtype = checkpoint_dtype(r);
  m.cells = {classic_cell(r, m.hidden, r.req_int({"n_head", "num_attention_heads"}), 4 * m.hidden, true, true,
                          4 * m.hidden)};
  m.layout.num_layers = r.req_int({"n_layer", "num_hidden_layers"});
  return m;
}

// Encoder-decoder: `enc` then `dec` layers, the prompt being the encoder input.
void encoder_decoder_layout(Model& m, Cell enc, Cell dec, std::int64_t enc_layers, std::int64_t dec_layers) {
  enc.role = CellRole::Encoder;
  enc.name = "encoder";
  dec.role = CellRole::Decoder;
  dec.name = "decoder.cross";
  dec.cross_attention = true;
  m.cells = {enc, dec};
  m.layout.num_layers = enc_layers + dec_layers;
  m.layout.prefix_layers = enc_layers;
  m.layout.prefix_cell = 0;
  m.layout.period = {1};
  m.encoder_decoder = true;
  m.max_positions = m.max_source_positions + m.max_target_positions;
}

Model t5(const HfReader& r) {
  Model m;
  m.architecture = "t5";
  m.hidden = r.req_int({"d_model"});
  m.vocab = r.req_int({"vocab_size"});
  m.tied_embeddings = r.bool_or("tie_word_embeddings", true);
  m.dtype = checkpoint_dtype(r);
  // Relative position buckets put no hard limit on lengths; APEX caps both sides at n_positions
  // (or 4096) so that requests are checked against something.
  m.max_source_positions = r.int_or({"n_positions"}, 4096);
  m.max_target_positions = m.max_source_positions;
  const std::int64_t heads = r.req_int({"num_heads"});
  const std::int64_t d_kv = r.req_int({"d_kv"});
  const std::string ff = r.str_or("feed_forward_proj", "relu");
  Cell c;
  c.attn.num_heads = heads;
  c.attn.num_kv_heads = heads;
  c.attn.head_dim = d_kv;
  c.ffn.intermediate = r.req_int({"d_ff"});
  c.ffn.gated = ff.rfind("gated", 0) == 0;
  c.ffn.bias = false;
  check_heads(r, c.attn);
  Cell enc = c, dec = c;
  enc.norm_params = 2 * m.hidden;  // T5LayerNorm: a weight, no bias
  dec.norm_params = 3 * m.hidden;
  m.final_norm_params = 2 * m.hidden;  // encoder and decoder final norms
  const std::int64_t buckets = r.int_or({"relative_attention_num_buckets"}, 32);
  m.extra_params = 2 * buckets * heads;  // relative position bias of each stack
  const std::int64_t enc_layers = r.req_int({"num_layers"});
  encoder_decoder_layout(m, enc, dec, enc_layers, r.int_or({"num_decoder_layers"}, enc_layers));
  return m;
}

Model whisper(const HfReader& r) {
  Model m;
  m.architecture = "whisper";
  m.hidden = r.req_int({"d_model"});
  m.vocab = r.req_int({"vocab_size"});
  m.tied_embeddings = r.bool_or("tie_word_embeddings", true);
  m.dtype = r.json().contains("torch_dtype") ? checkpoint_dtype(r) : DType::FP16;
  m.max_source_positions = r.int_or({"max_source_positions"}, 1500);
  m.max_target_positions = r.int_or({"max_target_positions"}, 448);
  m.position_embedding_rows = m.max_target_positions;  // learned decoder positions
  const std::int64_t mel = r.int_or({"num_mel_bins"}, 80);
  // Convolution stem (two conv1d, kernel 3) and the encoder's position table.
  m.extra_params = (mel * m.hidden * 3 + m.hidden) + (m.hidden * m.hidden * 3 + m.hidden) +
                   m.max_source_positions * m.hidden;
  m.final_norm_params = 2 * 2 * m.hidden;  // encoder and decoder final LayerNorms
  auto make = [&](std::int64_t heads, std::int64_t ffn) {
    Cell c;
    c.attn.num_heads = heads;
    c.attn.num_kv_heads = heads;
    c.attn.head_dim = m.hidden / heads;
    c.attn.qkv_bias = true;  // q and v carry biases (k does not): counted as q_dim + kv_dim + out below
    c.attn.o_bias = true;
    c.ffn.intermediate = ffn;
    c.ffn.gated = false;
    c.ffn.bias = true;
    check_heads(r, c.attn);
    return c;
  };
  Cell enc = make(r.req_int({"encoder_attention_heads"}), r.req_int({"encoder_ffn_dim"}));
  Cell dec = make(r.req_int({"decoder_attention_heads"}), r.req_int({"decoder_ffn_dim"}));
  enc.norm_params = 2 * 2 * m.hidden;
  dec.norm_params = 3 * 2 * m.hidden;
  dec.cross_bias = true;
  encoder_decoder_layout(m, enc, dec, r.req_int({"encoder_layers"}), r.req_int({"decoder_layers"}));
  return m;
}

using Builder = std::function<Model(const HfReader&, const std::string&)>;

struct FamilyEntry {
  ModelFamily family;
  Builder build;
};

const std::vector<FamilyEntry>& families() {
  static const std::vector<FamilyEntry> table = [] {
    std::vector<FamilyEntry> t;
    auto add = [&](std::string type, std::string desc, Builder b) {
      t.push_back({ModelFamily{std::move(type), std::move(desc)}, std::move(b)});
    };
    const Builder llama = [](const HfReader& r, const std::string& type) { return llama_like(r, type); };
    add("llama", "Llama 2 / 3 / 3.1 / 3.2 (GQA, SwiGLU, RMSNorm)", llama);
    add("mistral", "Mistral (sliding-window or full attention)", llama);
    add("qwen2", "Qwen2 / Qwen2.5 (QKV bias)", llama);
    add("qwen3", "Qwen3 dense (q/k norm)", llama);
    add("gemma", "Gemma", llama);
    add("gemma2", "Gemma 2 (alternating sliding/global attention)", llama);
    add("phi3", "Phi-3", llama);
    add("granite", "IBM Granite", llama);
    add("mixtral", "Mixtral MoE", llama);
    add("qwen2_moe", "Qwen1.5/Qwen2 MoE (shared expert)", llama);
    add("qwen3_moe", "Qwen3 MoE", llama);
    add("deepseek_v2", "DeepSeek-V2 (MLA + MoE)", llama);
    add("deepseek_v3", "DeepSeek-V3 / R1 (MLA + MoE)", llama);
    // Kimi K2 (1.04T, 384 experts) is the DeepSeek-V3 architecture under its own model_type.
    add("kimi_k2", "Moonshot Kimi K2 (DeepSeek-V3 architecture, 384 experts)",
        [](const HfReader& r, const std::string&) { return llama_like(r, "deepseek_v3"); });
    add("gpt2", "GPT-2 (learned positions, LayerNorm, GELU MLP)",
        [](const HfReader& r, const std::string&) { return gpt2(r); });
    add("gptj", "GPT-J (parallel attention and MLP)",
        [](const HfReader& r, const std::string&) { return gptj(r); });
    add("gpt_neox", "GPT-NeoX / Pythia", [](const HfReader& r, const std::string&) { return gpt_neox(r); });
    add("opt", "OPT", [](const HfReader& r, const std::string&) { return opt(r); });
    add("falcon", "Falcon (multi-query or grouped KV)",
        [](const HfReader& r, const std::string&) { return falcon(r); });
    add("t5", "T5 / Flan-T5 encoder-decoder", [](const HfReader& r, const std::string&) { return t5(r); });
    add("whisper", "Whisper speech encoder-decoder (prompt = encoder frames)",
        [](const HfReader& r, const std::string&) { return whisper(r); });
    add("bloom", "BLOOM (ALiBi)", [](const HfReader& r, const std::string&) { return bloom(r); });
    add("llama4",
        "Llama 4 Scout / Maverick (chunked local + global attention, MoE with a shared expert; text only)",
        [](const HfReader& r, const std::string&) { return llama4(r); });
    add("llama4_text", "Llama 4 text decoder",
        [](const HfReader& r, const std::string&) { return llama4(r); });
    return t;
  }();
  return table;
}

}  // namespace

const std::vector<ModelFamily>& supported_families() {
  static const std::vector<ModelFamily> list = [] {
    std::vector<ModelFamily> out;
    for (const auto& e : families())
      out.push_back(e.family);
    return out;
  }();
  return list;
}

Model model_from_hf_config(const Json& config, std::string name, std::string_view where) {
  if (!config.is_object()) throw UserError(fmt::format("{}: expected a JSON object", where));
  HfReader r(config, where);
  std::string type = r.str_or("model_type", "");
  if (type == "RefinedWebModel" || type == "RefinedWeb") type = "falcon";
  if (type.empty()) {
    throw UserError(
        fmt::format("{}: missing 'model_type'; APEX reads Hugging Face config.json files", where));
  }
  std::vector<std::string> known;
  for (const auto& e : families()) {
    known.push_back(e.family.model_type);
    if (e.family.model_type == type) {
      Model m = e.build(r, type);
      m.name = std::move(name);
      if (m.layout.num_layers <= 0) throw UserError(fmt::format("{}: the model has no layers", where));
      if (m.cells[0].attn.head_dim <= 0) throw UserError(fmt::format("{}: head_dim must be positive", where));
      return m;
    }
  }
  throw UserError(fmt::format("{}: {}", where, unknown_name_message("model_type", type, known)));
}

Model load_model(std::string_view name_or_path) {
  const std::string key(name_or_path);
  if (auto text = model_preset_config(key); !text.empty()) {
    Model m = model_from_hf_config(parse_json(text, key), key, key);
    for (const auto& p : model_presets()) {
      if (p.name == key) {
        m.description = p.description;
        m.published_params = p.published_params;
      }
    }
    return m;
  }
  namespace fs = std::filesystem;
  std::error_code ec;
  const bool looks_like_path = key.find('/') != std::string::npos || key.ends_with(".json");
  if (!looks_like_path && !fs::exists(key, ec)) {
    throw UserError(unknown_name_message("model", key, model_preset_names(),
                                         "see `apex list models`, or pass a path to a config.json"));
  }
  std::string path = key;
  if (fs::is_directory(path, ec)) path = (fs::path(path) / "config.json").string();
  const std::string text = read_file(path, "model config");
  Model m = model_from_hf_config(parse_json(text, path), key, path);
  m.description = fmt::format("{} from {}", m.architecture, path);
  return m;
}

}  // namespace apex
