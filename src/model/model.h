// model/model.h — a transformer as a few distinct cells × repeat counts.
//
// A Model never holds one object per layer. Layers are described by a handful of Cells (a decoder
// block with full attention, one with sliding-window attention, a MoE block, ...) and a LayerLayout
// that says which cell layer i uses. Everything downstream (memory, cost, plan) works on cell
// counts, so an 80-layer and a 126-layer model cost the same to plan.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/dtype.h"

namespace apex {

enum class AttentionKind : std::uint8_t { MHA, MLA };  // MHA covers GQA and MQA

// Where a layer sits in an encoder-decoder model (decoder-only models use Decoder throughout).
enum class CellRole : std::uint8_t { Decoder, Encoder };

struct AttentionSpec {
  AttentionKind kind = AttentionKind::MHA;
  std::int64_t num_heads = 0;
  std::int64_t num_kv_heads = 0;
  std::int64_t head_dim = 0;
  std::int64_t window = 0;  // sliding-window width in tokens; 0 = full attention
  // Chunked local attention (Llama 4): the sequence is cut into chunks of `chunk` tokens and a
  // query attends only to the keys of its own chunk; 0 = none. Never set together with window.
  std::int64_t chunk = 0;
  bool qkv_bias = false;
  bool o_bias = false;
  // Multi-head latent attention (DeepSeek-V2/V3). Used only when kind == MLA.
  std::int64_t q_lora_rank = 0;  // 0 = no low-rank query projection
  std::int64_t kv_lora_rank = 0;
  std::int64_t qk_nope_head_dim = 0;
  std::int64_t qk_rope_head_dim = 0;
  std::int64_t v_head_dim = 0;
};

struct FfnSpec {
  std::int64_t intermediate = 0;  // dense FFN width, or the width of one routed expert
  bool gated = true;              // SwiGLU/GeGLU: gate and up projections
  bool bias = false;
  // Mixture of experts (num_experts == 0 means dense).
  std::int64_t num_experts = 0;
  std::int64_t top_k = 0;
  std::int64_t shared_intermediate = 0;  // total width of always-active shared experts
  bool is_moe() const { return num_experts > 0; }
};

struct Cell {
  std::string name;  // "decoder", "decoder.sliding", "decoder.moe", "encoder", ...
  AttentionSpec attn;
  FfnSpec ffn;
  std::int64_t norm_params = 0;  // parameters of the norms inside one layer
  // Encoder-decoder models: encoder layers attend bidirectionally over the input and keep no
  // cache; decoder layers add a cross-attention over the encoder output (same heads and head_dim
  // as their self-attention), whose keys and values are cached per input token.
  CellRole role = CellRole::Decoder;
  bool cross_attention = false;
  bool cross_bias = false;

  // Parameters of one layer of this cell.
  double attention_params(std::int64_t hidden) const;  // self (+ cross) attention
  double self_attention_params(std::int64_t hidden) const;
  double ffn_params(std::int64_t hidden) const;
  double params(std::int64_t hidden) const {
    return attention_params(hidden) + ffn_params(hidden) + norm_params;
  }
  // Parameters that one token multiplies through (MoE: top_k routed experts + shared + router).
  double active_params(std::int64_t hidden) const;
  // KV-cache elements per token of one layer (K and V, all KV heads; MLA: latent + rope key).
  double kv_elements_per_token() const;
};

// Which cell each layer uses: `prefix_layers` layers of `prefix_cell`, then the cells of `period`
// repeated (period {0} = all the same; {1, 0} = alternating as in Gemma 2).
struct LayerLayout {
  std::int64_t num_layers = 0;
  std::int64_t prefix_layers = 0;
  int prefix_cell = 0;
  std::vector<int> period{0};

  int cell_of(std::int64_t layer) const;
  // How many layers of each cell fall in [begin, end). O(cells), not O(layers).
  std::vector<std::int64_t> counts(std::int64_t begin, std::int64_t end, std::size_t num_cells) const;
};

struct Model {
  std::string name;          // preset name or config path
  std::string architecture;  // HF model_type, e.g. "llama"
  std::string description;
  std::int64_t hidden = 0;
  std::int64_t vocab = 0;
  std::int64_t max_positions = 0;
  bool tied_embeddings = false;
  std::int64_t position_embedding_rows = 0;  // learned absolute positions (GPT-2, OPT); 0 = rotary/ALiBi
  std::int64_t embed_norm_params = 0;        // e.g. BLOOM's word_embeddings_layernorm
  std::int64_t final_norm_params = 0;
  DType dtype = DType::BF16;  // torch_dtype of the checkpoint
  std::vector<Cell> cells;
  LayerLayout layout;
  double published_params = 0;  // from the model card (presets only); 0 when unknown
  // Encoder-decoder models (T5, Whisper): the prompt is the encoder input; its length is at most
  // max_source_positions and the output at most max_target_positions.
  bool encoder_decoder = false;
  std::int64_t max_source_positions = 0;
  std::int64_t max_target_positions = 0;
  std::int64_t extra_params = 0;  // parameters outside the cells (e.g. Whisper's convolution stem)
  // Speculative decoding with a one-layer draft (DeepSeek MTP module, EAGLE head): `draft_layers`
  // extra layers of cell `draft_cell` live with the LM head on the last pipeline stage, with their
  // own KV cache. Not part of params() (model cards exclude them). Set by enable_draft_layer().
  std::int64_t draft_layers = 0;
  int draft_cell = -1;

  std::int64_t num_layers() const { return layout.num_layers; }
  double embedding_params() const;         // token (+ position) embeddings (+ embedding norm)
  double lm_head_params() const;           // 0 when tied to the embedding
  double params() const;                   // total, counting tied weights once
  double active_params_per_token() const;  // what one token multiplies through (layers + LM head)
  double kv_elements_per_token() const;    // summed over all layers
  bool is_moe() const;
  std::vector<std::int64_t> cell_counts() const { return layout.counts(0, layout.num_layers, cells.size()); }
  // Adds the one-layer draft of speculative decoding: a layer like the model's last one.
  void enable_draft_layer();
};

}  // namespace apex
