// model/hf_classic.cpp — GPT-2, GPT-J, GPT-NeoX, OPT, Falcon and BLOOM from their Hugging Face
// configs.
#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "core/error.h"
#include "model/hf_families.h"

namespace apex::hf {

namespace {

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

}  // namespace

Model gpt2(const HfReader& r) {
  Model m;
  m.architecture = "gpt2";
  m.hidden = r.req_int({"n_embd", "hidden_size"});
  m.vocab = r.req_int({"vocab_size"});
  m.max_positions = r.positive_or({"n_positions", "n_ctx"}, 1024);
  m.position_embedding_rows = m.max_positions;
  m.tied_embeddings = r.bool_or("tie_word_embeddings", true);
  m.final_norm_params = 2 * m.hidden;
  m.dtype = r.json().contains("torch_dtype") ? checkpoint_dtype(r) : DType::FP16;
  m.cells = {classic_cell(r, m.hidden, r.req_int({"n_head", "num_attention_heads"}),
                          r.positive_or({"n_inner"}, 4 * m.hidden), true, true, 4 * m.hidden)};
  m.layout.num_layers = r.layers({"n_layer", "num_hidden_layers"});
  return m;
}

Model gptj(const HfReader& r) {
  Model m;
  m.architecture = "gptj";
  m.hidden = r.req_int({"n_embd", "hidden_size"});
  m.vocab = r.req_int({"vocab_size"});
  m.max_positions = r.positive_or({"n_positions"}, 2048);
  m.tied_embeddings = r.bool_or("tie_word_embeddings", false);
  m.final_norm_params = 2 * m.hidden + (m.tied_embeddings ? 0 : m.vocab);  // ln_f + lm_head bias
  m.dtype = r.json().contains("torch_dtype") ? checkpoint_dtype(r) : DType::FP16;
  // One LayerNorm shared by the parallel attention and MLP; no attention biases.
  m.cells = {classic_cell(r, m.hidden, r.req_int({"n_head", "num_attention_heads"}),
                          r.positive_or({"n_inner"}, 4 * m.hidden), false, true, 2 * m.hidden)};
  m.layout.num_layers = r.layers({"n_layer", "num_hidden_layers"});
  return m;
}

Model gpt_neox(const HfReader& r) {
  Model m;
  m.architecture = "gpt_neox";
  m.hidden = r.req_int({"hidden_size"});
  m.vocab = r.req_int({"vocab_size"});
  m.max_positions = r.positive_or({"max_position_embeddings"}, 2048);
  m.tied_embeddings = r.bool_or("tie_word_embeddings", false);
  m.final_norm_params = 2 * m.hidden;
  m.dtype = checkpoint_dtype(r);
  m.cells = {classic_cell(r, m.hidden, r.req_int({"num_attention_heads"}),
                          r.positive_or({"intermediate_size"}, 4 * m.hidden),
                          r.bool_or("attention_bias", true), true, 4 * m.hidden)};
  m.layout.num_layers = r.layers({"num_hidden_layers"});
  return m;
}

Model opt(const HfReader& r) {
  Model m;
  m.architecture = "opt";
  m.hidden = r.req_int({"hidden_size"});
  m.vocab = r.req_int({"vocab_size"});
  m.max_positions = r.positive_or({"max_position_embeddings"}, 2048);
  m.position_embedding_rows = m.max_positions + 2;  // OPT's learned positions carry an offset of 2
  m.tied_embeddings = r.bool_or("tie_word_embeddings", true);
  m.dtype = checkpoint_dtype(r);
  const std::int64_t proj = r.positive_or({"word_embed_proj_dim"}, m.hidden);
  if (proj != m.hidden) m.embed_norm_params = 2 * proj * m.hidden;  // project_in / project_out
  const bool pre_ln = r.bool_or("do_layer_norm_before", true);
  m.final_norm_params = pre_ln ? 2 * m.hidden : 0;
  const bool bias = r.bool_or("enable_bias", true);
  m.cells = {classic_cell(r, m.hidden, r.req_int({"num_attention_heads"}),
                          r.positive_or({"ffn_dim"}, 4 * m.hidden), bias, bias, 4 * m.hidden)};
  m.layout.num_layers = r.layers({"num_hidden_layers"});
  return m;
}

Model falcon(const HfReader& r) {
  Model m;
  m.architecture = "falcon";
  m.hidden = r.req_int({"hidden_size"});
  m.vocab = r.req_int({"vocab_size"});
  m.max_positions = r.positive_or({"max_position_embeddings"}, 2048);
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
  c.ffn.intermediate = r.positive_or({"ffn_hidden_size"}, 4 * m.hidden);
  c.ffn.gated = false;
  c.ffn.bias = bias;
  // Falcon-7B shares one LayerNorm between its parallel attention and MLP; the new architecture has two.
  c.norm_params = (new_arch || !r.bool_or("parallel_attn", true) ? 4 : 2) * m.hidden;
  check_heads(r, c.attn);
  m.cells = {c};
  m.layout.num_layers = r.layers({"num_hidden_layers", "n_layer"});
  return m;
}

Model bloom(const HfReader& r) {
  Model m;
  m.architecture = "bloom";
  m.hidden = r.req_int({"hidden_size", "n_embed"});
  m.vocab = r.req_int({"vocab_size"});
  m.max_positions = r.positive_or({"seq_length", "max_position_embeddings"}, 2048);
  m.tied_embeddings = r.bool_or("tie_word_embeddings", true);
  m.embed_norm_params = 2 * m.hidden;  // word_embeddings_layernorm
  m.final_norm_params = 2 * m.hidden;
  m.dtype = checkpoint_dtype(r);
  m.cells = {classic_cell(r, m.hidden, r.req_int({"n_head", "num_attention_heads"}), 4 * m.hidden, true, true,
                          4 * m.hidden)};
  m.layout.num_layers = r.layers({"n_layer", "num_hidden_layers"});
  return m;
}

}  // namespace apex::hf
