// model/hf_encoder_decoder.cpp — T5 and Whisper from their Hugging Face configs.
#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "core/error.h"
#include "model/hf_families.h"

namespace apex::hf {

namespace {

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

}  // namespace

Model t5(const HfReader& r) {
  Model m;
  m.architecture = "t5";
  m.hidden = r.req_int({"d_model"});
  m.vocab = r.req_int({"vocab_size"});
  m.tied_embeddings = r.bool_or("tie_word_embeddings", true);
  m.dtype = checkpoint_dtype(r);
  // Relative position buckets put no hard limit on lengths; APEX caps both sides at n_positions
  // (or 4096) so that requests are checked against something.
  m.max_source_positions = r.positive_or({"n_positions"}, 4096);
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
  const std::int64_t enc_layers = r.layers({"num_layers"});
  encoder_decoder_layout(m, enc, dec, enc_layers,
                         r.opt_int({"num_decoder_layers"}) ? r.layers({"num_decoder_layers"}) : enc_layers);
  return m;
}

Model whisper(const HfReader& r) {
  Model m;
  m.architecture = "whisper";
  m.hidden = r.req_int({"d_model"});
  m.vocab = r.req_int({"vocab_size"});
  m.tied_embeddings = r.bool_or("tie_word_embeddings", true);
  m.dtype = r.json().contains("torch_dtype") ? checkpoint_dtype(r) : DType::FP16;
  m.max_source_positions = r.positive_or({"max_source_positions"}, 1500);
  m.max_target_positions = r.positive_or({"max_target_positions"}, 448);
  m.position_embedding_rows = m.max_target_positions;  // learned decoder positions
  const std::int64_t mel = r.positive_or({"num_mel_bins"}, 80);
  // Convolution stem (two conv1d, kernel 3) and the encoder's position table.
  const auto h = static_cast<double>(m.hidden);
  const double stem = (static_cast<double>(mel) * h * 3 + h) + (h * h * 3 + h) +
                      static_cast<double>(m.max_source_positions) * h;
  if (stem > 1e14) {
    throw UserError(fmt::format(
        "{}: the convolution stem has {:.3g} parameters; check d_model and num_mel_bins", r.where(), stem));
  }
  m.extra_params = static_cast<std::int64_t>(stem);
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
  encoder_decoder_layout(m, enc, dec, r.layers({"encoder_layers"}), r.layers({"decoder_layers"}));
  return m;
}

}  // namespace apex::hf
