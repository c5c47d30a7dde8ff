// model/presets.cpp — embedded model presets, stored as the relevant keys of each model's
// Hugging Face config.json so that presets and user files go through the same loader.
// Published parameter counts come from the model cards on huggingface.co (safetensors metadata
// "Model size") or the papers named beside each entry.
#include <fmt/format.h>

#include "model/registry.h"

namespace apex {
namespace {

struct PresetEntry {
  ModelPreset preset;
  std::string_view config;
};

const std::vector<PresetEntry>& entries() {
  static const std::vector<PresetEntry> table = {
      {{"llama-3.1-8b", "Meta Llama 3.1 8B (GQA 32/8, 128K context)", 8.03e9,
        "hf.co/meta-llama/Llama-3.1-8B: 8.03B", "meta-llama/Llama-3.1-8B-Instruct"},
       R"({"model_type":"llama","hidden_size":4096,"intermediate_size":14336,"num_attention_heads":32,
           "num_key_value_heads":8,"num_hidden_layers":32,"vocab_size":128256,"max_position_embeddings":131072,
           "tie_word_embeddings":false,"torch_dtype":"bfloat16","rope_theta":500000.0})"},
      {{"llama-3.1-70b", "Meta Llama 3.1 70B (GQA 64/8, 128K context)", 70.6e9,
        "hf.co/meta-llama/Llama-3.1-70B: 70.6B", "meta-llama/Llama-3.1-70B-Instruct"},
       R"({"model_type":"llama","hidden_size":8192,"intermediate_size":28672,"num_attention_heads":64,
           "num_key_value_heads":8,"num_hidden_layers":80,"vocab_size":128256,"max_position_embeddings":131072,
           "tie_word_embeddings":false,"torch_dtype":"bfloat16","rope_theta":500000.0})"},
      {{"llama-3.1-405b", "Meta Llama 3.1 405B (GQA 128/8, 128K context)", 405.85e9,
        "hf.co/meta-llama/Llama-3.1-405B: 406B (405.85B safetensors)", "meta-llama/Llama-3.1-405B-Instruct"},
       R"({"model_type":"llama","hidden_size":16384,"intermediate_size":53248,"num_attention_heads":128,
           "num_key_value_heads":8,"num_hidden_layers":126,"vocab_size":128256,"max_position_embeddings":131072,
           "tie_word_embeddings":false,"torch_dtype":"bfloat16","rope_theta":500000.0})"},
      // Llama 3 (April 2024): the Llama 3.1 shapes with an 8K context and no rope scaling
      // (hf.co/meta-llama/Meta-Llama-3-8B and -70B config.json).
      {{"llama-3-8b", "Meta Llama 3 8B (GQA 32/8, 8K context)", 8.03e9,
        "hf.co/meta-llama/Meta-Llama-3-8B: 8.03B", "meta-llama/Meta-Llama-3-8B-Instruct"},
       R"({"model_type":"llama","hidden_size":4096,"intermediate_size":14336,"num_attention_heads":32,
           "num_key_value_heads":8,"num_hidden_layers":32,"vocab_size":128256,"max_position_embeddings":8192,
           "tie_word_embeddings":false,"torch_dtype":"bfloat16","rope_theta":500000.0})"},
      {{"llama-3-70b", "Meta Llama 3 70B (GQA 64/8, 8K context)", 70.6e9,
        "hf.co/meta-llama/Meta-Llama-3-70B: 70.6B", "meta-llama/Meta-Llama-3-70B-Instruct"},
       R"({"model_type":"llama","hidden_size":8192,"intermediate_size":28672,"num_attention_heads":64,
           "num_key_value_heads":8,"num_hidden_layers":80,"vocab_size":128256,"max_position_embeddings":8192,
           "tie_word_embeddings":false,"torch_dtype":"bfloat16","rope_theta":500000.0})"},
      {{"llama-3.2-1b", "Meta Llama 3.2 1B (tied embeddings)", 1.24e9, "hf.co/meta-llama/Llama-3.2-1B: 1.24B",
        "meta-llama/Llama-3.2-1B-Instruct"},
       R"({"model_type":"llama","hidden_size":2048,"intermediate_size":8192,"num_attention_heads":32,
           "num_key_value_heads":8,"head_dim":64,"num_hidden_layers":16,"vocab_size":128256,
           "max_position_embeddings":131072,"tie_word_embeddings":true,"torch_dtype":"bfloat16"})"},
      {{"llama-3.2-3b", "Meta Llama 3.2 3B (tied embeddings)", 3.21e9, "hf.co/meta-llama/Llama-3.2-3B: 3.21B",
        "meta-llama/Llama-3.2-3B-Instruct"},
       R"({"model_type":"llama","hidden_size":3072,"intermediate_size":8192,"num_attention_heads":24,
           "num_key_value_heads":8,"head_dim":128,"num_hidden_layers":28,"vocab_size":128256,
           "max_position_embeddings":131072,"tie_word_embeddings":true,"torch_dtype":"bfloat16"})"},
      {{"llama-2-7b", "Meta Llama 2 7B (MHA, 4K context)", 6.74e9, "hf.co/meta-llama/Llama-2-7b-hf: 6.74B",
        "meta-llama/Llama-2-7b-hf"},
       R"({"model_type":"llama","hidden_size":4096,"intermediate_size":11008,"num_attention_heads":32,
           "num_key_value_heads":32,"num_hidden_layers":32,"vocab_size":32000,"max_position_embeddings":4096,
           "tie_word_embeddings":false,"torch_dtype":"float16"})"},
      {{"llama-2-13b", "Meta Llama 2 13B (MHA, 4K context)", 13.0e9, "hf.co/meta-llama/Llama-2-13b-hf: 13.0B",
        "meta-llama/Llama-2-13b-hf"},
       R"({"model_type":"llama","hidden_size":5120,"intermediate_size":13824,"num_attention_heads":40,
           "num_key_value_heads":40,"num_hidden_layers":40,"vocab_size":32000,"max_position_embeddings":4096,
           "tie_word_embeddings":false,"torch_dtype":"float16"})"},
      {{"llama-2-70b", "Meta Llama 2 70B (GQA 64/8, 4K context)", 68.98e9,
        "hf.co/meta-llama/Llama-2-70b-hf: 69.0B", "meta-llama/Llama-2-70b-hf"},
       R"({"model_type":"llama","hidden_size":8192,"intermediate_size":28672,"num_attention_heads":64,
           "num_key_value_heads":8,"num_hidden_layers":80,"vocab_size":32000,"max_position_embeddings":4096,
           "tie_word_embeddings":false,"torch_dtype":"float16"})"},
      {{"mistral-7b", "Mistral 7B v0.1 (GQA 32/8, sliding window 4096)", 7.24e9,
        "hf.co/mistralai/Mistral-7B-v0.1: 7.24B", "mistralai/Mistral-7B-v0.1"},
       R"({"model_type":"mistral","hidden_size":4096,"intermediate_size":14336,"num_attention_heads":32,
           "num_key_value_heads":8,"num_hidden_layers":32,"vocab_size":32000,"max_position_embeddings":32768,
           "sliding_window":4096,"tie_word_embeddings":false,"torch_dtype":"bfloat16"})"},
      {{"mistral-large-123b", "Mistral Large Instruct 2407, 123B (GQA 96/8)", 122.6e9,
        "hf.co/mistralai/Mistral-Large-Instruct-2407: 123B (122.6B safetensors)",
        "mistralai/Mistral-Large-Instruct-2407"},
       R"({"model_type":"mistral","hidden_size":12288,"intermediate_size":28672,"num_attention_heads":96,
           "num_key_value_heads":8,"head_dim":128,"num_hidden_layers":88,"vocab_size":32768,
           "max_position_embeddings":131072,"sliding_window":null,"tie_word_embeddings":false,
           "torch_dtype":"bfloat16"})"},
      // Config: hf.co/mistralai/Mistral-Nemo-Instruct-2407 config.json (head_dim 128 with hidden 5120,
      // so the query projection is 4096 wide); the context is the model card's 128K (the config's
      // max_position_embeddings says 1024000).
      {{"mistral-nemo-12b", "Mistral NeMo 12B Instruct 2407 (GQA 32/8, head_dim 128, 128K context)", 12.2e9,
        "hf.co/mistralai/Mistral-Nemo-Instruct-2407: 12.2B", "mistralai/Mistral-Nemo-Instruct-2407"},
       R"({"model_type":"mistral","hidden_size":5120,"intermediate_size":14336,"num_attention_heads":32,
           "num_key_value_heads":8,"head_dim":128,"num_hidden_layers":40,"vocab_size":131072,
           "max_position_embeddings":131072,"sliding_window":null,"rope_theta":1000000.0,
           "tie_word_embeddings":false,"torch_dtype":"bfloat16"})"},
      {{"qwen2.5-7b", "Qwen2.5 7B (GQA 28/4, QKV bias)", 7.62e9, "hf.co/Qwen/Qwen2.5-7B: 7.62B",
        "Qwen/Qwen2.5-7B-Instruct"},
       R"({"model_type":"qwen2","hidden_size":3584,"intermediate_size":18944,"num_attention_heads":28,
           "num_key_value_heads":4,"num_hidden_layers":28,"vocab_size":152064,"max_position_embeddings":131072,
           "tie_word_embeddings":false,"torch_dtype":"bfloat16","use_sliding_window":false})"},
      {{"qwen2.5-72b", "Qwen2.5 72B (GQA 64/8, QKV bias)", 72.7e9, "hf.co/Qwen/Qwen2.5-72B: 72.7B",
        "Qwen/Qwen2.5-72B-Instruct"},
       R"({"model_type":"qwen2","hidden_size":8192,"intermediate_size":29568,"num_attention_heads":64,
           "num_key_value_heads":8,"num_hidden_layers":80,"vocab_size":152064,"max_position_embeddings":131072,
           "tie_word_embeddings":false,"torch_dtype":"bfloat16","use_sliding_window":false})"},
      // Qwen3 dense (q/k RMSNorm per head, no QKV bias, head_dim 128): the config.json of
      // hf.co/Qwen/Qwen3-8B, Qwen/Qwen3-14B and Qwen/Qwen3-32B.
      {{"qwen3-8b", "Qwen3 8B (GQA 32/8, q/k norm, 40K context)", 8.19e9, "hf.co/Qwen/Qwen3-8B: 8.19B",
        "Qwen/Qwen3-8B"},
       R"({"model_type":"qwen3","hidden_size":4096,"intermediate_size":12288,"num_attention_heads":32,
           "num_key_value_heads":8,"head_dim":128,"num_hidden_layers":36,"vocab_size":151936,
           "max_position_embeddings":40960,"tie_word_embeddings":false,"torch_dtype":"bfloat16",
           "rope_theta":1000000})"},
      {{"qwen3-14b", "Qwen3 14B (GQA 40/8, q/k norm, 40K context)", 14.8e9, "hf.co/Qwen/Qwen3-14B: 14.8B",
        "Qwen/Qwen3-14B"},
       R"({"model_type":"qwen3","hidden_size":5120,"intermediate_size":17408,"num_attention_heads":40,
           "num_key_value_heads":8,"head_dim":128,"num_hidden_layers":40,"vocab_size":151936,
           "max_position_embeddings":40960,"tie_word_embeddings":false,"torch_dtype":"bfloat16",
           "rope_theta":1000000})"},
      {{"qwen3-32b", "Qwen3 32B (GQA 64/8, q/k norm, 40K context)", 32.8e9, "hf.co/Qwen/Qwen3-32B: 32.8B",
        "Qwen/Qwen3-32B"},
       R"({"model_type":"qwen3","hidden_size":5120,"intermediate_size":25600,"num_attention_heads":64,
           "num_key_value_heads":8,"head_dim":128,"num_hidden_layers":64,"vocab_size":151936,
           "max_position_embeddings":40960,"tie_word_embeddings":false,"torch_dtype":"bfloat16",
           "rope_theta":1000000})"},
      // Config: hf.co/01-ai/Yi-34B config.json (the Llama architecture).
      {{"yi-34b", "01.AI Yi 34B (Llama architecture, GQA 56/8, 4K context)", 34.4e9,
        "hf.co/01-ai/Yi-34B: 34.4B", "01-ai/Yi-34B"},
       R"({"model_type":"llama","hidden_size":7168,"intermediate_size":20480,"num_attention_heads":56,
           "num_key_value_heads":8,"num_hidden_layers":60,"vocab_size":64000,"max_position_embeddings":4096,
           "rope_theta":5000000.0,"tie_word_embeddings":false,"torch_dtype":"bfloat16"})"},
      {{"gemma-2-9b", "Google Gemma 2 9B (alternating sliding/global attention)", 9.24e9,
        "hf.co/google/gemma-2-9b: 9.24B", "google/gemma-2-9b"},
       R"({"model_type":"gemma2","hidden_size":3584,"intermediate_size":14336,"num_attention_heads":16,
           "num_key_value_heads":8,"head_dim":256,"num_hidden_layers":42,"vocab_size":256000,
           "max_position_embeddings":8192,"sliding_window":4096,"torch_dtype":"float32"})"},
      {{"gemma-2-27b", "Google Gemma 2 27B (alternating sliding/global attention)", 27.2e9,
        "hf.co/google/gemma-2-27b: 27.2B", "google/gemma-2-27b"},
       R"({"model_type":"gemma2","hidden_size":4608,"intermediate_size":36864,"num_attention_heads":32,
           "num_key_value_heads":16,"head_dim":128,"num_hidden_layers":46,"vocab_size":256000,
           "max_position_embeddings":8192,"sliding_window":4096,"torch_dtype":"float32"})"},
      {{"phi-3-mini", "Microsoft Phi-3 mini 4K (3.8B)", 3.82e9,
        "hf.co/microsoft/Phi-3-mini-4k-instruct: 3.82B", "microsoft/Phi-3-mini-4k-instruct"},
       R"({"model_type":"phi3","hidden_size":3072,"intermediate_size":8192,"num_attention_heads":32,
           "num_key_value_heads":32,"num_hidden_layers":32,"vocab_size":32064,"max_position_embeddings":4096,
           "sliding_window":2047,"tie_word_embeddings":false,"torch_dtype":"bfloat16"})"},
      {{"gpt-neox-20b", "EleutherAI GPT-NeoX 20B", 20.55e9,
        "hf.co/EleutherAI/gpt-neox-20b: 20.6B (paper: 20.55B)", "EleutherAI/gpt-neox-20b"},
       R"({"model_type":"gpt_neox","hidden_size":6144,"intermediate_size":24576,"num_attention_heads":64,
           "num_hidden_layers":44,"vocab_size":50432,"max_position_embeddings":2048,"tie_word_embeddings":false,
           "torch_dtype":"float16","rotary_pct":0.25,"use_parallel_residual":true})"},
      {{"opt-13b", "Meta OPT 13B", 12.85e9, "hf.co/facebook/opt-13b: 13B (12.85B counted)",
        "facebook/opt-13b"},
       R"({"model_type":"opt","hidden_size":5120,"ffn_dim":20480,"num_attention_heads":40,"num_hidden_layers":40,
           "vocab_size":50272,"max_position_embeddings":2048,"word_embed_proj_dim":5120,
           "do_layer_norm_before":true,"torch_dtype":"float16"})"},
      {{"opt-66b", "Meta OPT 66B", 65.7e9, "hf.co/facebook/opt-66b: 66B (65.7B counted)", "facebook/opt-66b"},
       R"({"model_type":"opt","hidden_size":9216,"ffn_dim":36864,"num_attention_heads":72,"num_hidden_layers":64,
           "vocab_size":50272,"max_position_embeddings":2048,"word_embed_proj_dim":9216,
           "do_layer_norm_before":true,"torch_dtype":"float16"})"},
      {{"gpt2", "OpenAI GPT-2 small (124M)", 124.4e6, "hf.co/openai-community/gpt2: 124M",
        "openai-community/gpt2"},
       R"({"model_type":"gpt2","n_embd":768,"n_layer":12,"n_head":12,"vocab_size":50257,"n_positions":1024})"},
      {{"gpt2-xl", "OpenAI GPT-2 XL (1.5B)", 1.56e9, "hf.co/openai-community/gpt2-xl: 1.56B",
        "openai-community/gpt2-xl"},
       R"({"model_type":"gpt2","n_embd":1600,"n_layer":48,"n_head":25,"vocab_size":50257,"n_positions":1024})"},
      {{"falcon-7b", "TII Falcon 7B (multi-query attention)", 6.92e9,
        "hf.co/tiiuae/falcon-7b: 7.22B listed; 6.92B counted", "tiiuae/falcon-7b"},
       R"({"model_type":"falcon","hidden_size":4544,"num_attention_heads":71,"num_hidden_layers":32,
           "vocab_size":65024,"multi_query":true,"parallel_attn":true,"new_decoder_architecture":false,
           "bias":false,"torch_dtype":"bfloat16"})"},
      {{"falcon-40b", "TII Falcon 40B (grouped KV, 8 groups)", 41.3e9,
        "hf.co/tiiuae/falcon-40b: 41.8B listed counts the tied embedding twice; 41.3B counted once",
        "tiiuae/falcon-40b"},
       R"({"model_type":"falcon","hidden_size":8192,"num_attention_heads":128,"num_kv_heads":8,
           "num_hidden_layers":60,"vocab_size":65024,"new_decoder_architecture":true,"parallel_attn":true,
           "bias":false,"torch_dtype":"bfloat16"})"},
      {{"gptj-6b", "EleutherAI GPT-J 6B", 6.05e9, "hf.co/EleutherAI/gpt-j-6b: 6.05B", "EleutherAI/gpt-j-6b"},
       R"({"model_type":"gptj","n_embd":4096,"n_layer":28,"n_head":16,"rotary_dim":64,"vocab_size":50400,
           "n_positions":2048,"tie_word_embeddings":false,"torch_dtype":"float16"})"},
      {{"falcon-180b", "TII Falcon 180B (grouped KV, 8 groups)", 179.5e9,
        "hf.co/tiiuae/falcon-180B: 180B (179.5B in the technical report)", "tiiuae/falcon-180B"},
       R"({"model_type":"falcon","hidden_size":14848,"num_attention_heads":232,"num_kv_heads":8,
           "num_hidden_layers":80,"vocab_size":65024,"new_decoder_architecture":true,"parallel_attn":true,
           "bias":false,"max_position_embeddings":2048,"torch_dtype":"bfloat16"})"},
      {{"mixtral-8x7b", "Mistral Mixtral 8x7B (MoE: 8 experts, top-2)", 46.7e9,
        "mistral.ai Mixtral of experts: 46.7B total, 12.9B active", "mistralai/Mixtral-8x7B-Instruct-v0.1"},
       R"({"model_type":"mixtral","hidden_size":4096,"intermediate_size":14336,"num_attention_heads":32,
           "num_key_value_heads":8,"num_hidden_layers":32,"num_local_experts":8,"num_experts_per_tok":2,
           "vocab_size":32000,"max_position_embeddings":32768,"sliding_window":null,"tie_word_embeddings":false,
           "torch_dtype":"bfloat16"})"},
      {{"mixtral-8x22b", "Mistral Mixtral 8x22B (MoE: 8 experts, top-2)", 140.6e9,
        "hf.co/mistralai/Mixtral-8x22B-v0.1: 141B (140.6B safetensors)",
        "mistralai/Mixtral-8x22B-Instruct-v0.1"},
       R"({"model_type":"mixtral","hidden_size":6144,"intermediate_size":16384,"num_attention_heads":48,
           "num_key_value_heads":8,"num_hidden_layers":56,"num_local_experts":8,"num_experts_per_tok":2,
           "vocab_size":32000,"max_position_embeddings":65536,"tie_word_embeddings":false,"torch_dtype":"bfloat16"})"},
      {{"qwen1.5-moe-a2.7b", "Qwen1.5-MoE-A2.7B (60 experts top-4 + shared expert)", 14.3e9,
        "hf.co/Qwen/Qwen1.5-MoE-A2.7B: 14.3B", "Qwen/Qwen1.5-MoE-A2.7B"},
       R"({"model_type":"qwen2_moe","hidden_size":2048,"intermediate_size":5632,"moe_intermediate_size":1408,
           "shared_expert_intermediate_size":5632,"num_experts":60,"num_experts_per_tok":4,"decoder_sparse_step":1,
           "num_attention_heads":16,"num_key_value_heads":16,"num_hidden_layers":24,"vocab_size":151936,
           "max_position_embeddings":8192,"tie_word_embeddings":false,"torch_dtype":"bfloat16"})"},
      {{"qwen3-30b-a3b", "Qwen3-30B-A3B (128 experts, top-8)", 30.5e9,
        "hf.co/Qwen/Qwen3-30B-A3B: 30.5B total, 3.3B active", "Qwen/Qwen3-30B-A3B"},
       R"({"model_type":"qwen3_moe","hidden_size":2048,"intermediate_size":6144,"moe_intermediate_size":768,
           "num_experts":128,"num_experts_per_tok":8,"decoder_sparse_step":1,"num_attention_heads":32,
           "num_key_value_heads":4,"head_dim":128,"num_hidden_layers":48,"vocab_size":151936,
           "max_position_embeddings":40960,"tie_word_embeddings":false,"torch_dtype":"bfloat16"})"},
      {{"qwen3-235b-a22b", "Qwen3-235B-A22B (128 experts, top-8)", 235.1e9,
        "hf.co/Qwen/Qwen3-235B-A22B: 235B total, 22B active", "Qwen/Qwen3-235B-A22B"},
       R"({"model_type":"qwen3_moe","hidden_size":4096,"intermediate_size":12288,"moe_intermediate_size":1536,
           "num_experts":128,"num_experts_per_tok":8,"decoder_sparse_step":1,"num_attention_heads":64,
           "num_key_value_heads":4,"head_dim":128,"num_hidden_layers":94,"vocab_size":151936,
           "max_position_embeddings":40960,"tie_word_embeddings":false,"torch_dtype":"bfloat16"})"},
      {{"llama-4-scout-17b-16e",
        "Llama 4 Scout 17B-16E (109B: 16 experts top-1 + shared expert, chunked local attention)", 109e9,
        "hf.co/meta-llama/Llama-4-Scout-17B-16E: 17B active, 109B total (incl. the vision encoder)",
        "meta-llama/Llama-4-Scout-17B-16E-Instruct"},
       R"({"model_type":"llama4","torch_dtype":"bfloat16","tie_word_embeddings":false,
           "text_config":{"model_type":"llama4_text","hidden_size":5120,"intermediate_size":8192,
             "intermediate_size_mlp":16384,"num_attention_heads":40,"num_key_value_heads":8,"head_dim":128,
             "num_hidden_layers":48,"num_local_experts":16,"num_experts_per_tok":1,"interleave_moe_layer_step":1,
             "attention_chunk_size":8192,"no_rope_layer_interval":4,"vocab_size":202048,
             "max_position_embeddings":10485760,"tie_word_embeddings":false},
           "vision_config":{"hidden_size":1408,"intermediate_size":5632,"num_hidden_layers":34,"num_attention_heads":16,
             "image_size":336,"patch_size":14,"num_channels":3,"projector_input_dim":4096,"projector_output_dim":4096,
             "vision_output_dim":4096}})"},
      {{"llama-4-maverick-17b-128e",
        "Llama 4 Maverick 17B-128E (400B: 128 experts top-1 + shared expert on every other layer)", 400e9,
        "hf.co/meta-llama/Llama-4-Maverick-17B-128E: 17B active, 400B total (incl. the vision encoder)",
        "meta-llama/Llama-4-Maverick-17B-128E-Instruct"},
       R"({"model_type":"llama4","torch_dtype":"bfloat16","tie_word_embeddings":false,
           "text_config":{"model_type":"llama4_text","hidden_size":5120,"intermediate_size":8192,
             "intermediate_size_mlp":16384,"num_attention_heads":40,"num_key_value_heads":8,"head_dim":128,
             "num_hidden_layers":48,"num_local_experts":128,"num_experts_per_tok":1,"interleave_moe_layer_step":2,
             "attention_chunk_size":8192,"no_rope_layer_interval":4,"vocab_size":202048,
             "max_position_embeddings":1048576,"tie_word_embeddings":false},
           "vision_config":{"hidden_size":1408,"intermediate_size":5632,"num_hidden_layers":34,"num_attention_heads":16,
             "image_size":336,"patch_size":14,"num_channels":3,"projector_input_dim":4096,"projector_output_dim":4096,
             "vision_output_dim":4096}})"},
      {{"deepseek-v3", "DeepSeek-V3 671B (MLA, 256 routed + 1 shared expert, top-8, 3 dense layers)", 671e9,
        "DeepSeek-V3 technical report: 671B total, 37B activated (MTP module excluded)",
        "deepseek-ai/DeepSeek-V3"},
       R"({"model_type":"deepseek_v3","hidden_size":7168,"intermediate_size":18432,"moe_intermediate_size":2048,
           "n_routed_experts":256,"n_shared_experts":1,"num_experts_per_tok":8,"first_k_dense_replace":3,
           "moe_layer_freq":1,"num_attention_heads":128,"num_key_value_heads":128,"num_hidden_layers":61,
           "q_lora_rank":1536,"kv_lora_rank":512,"qk_nope_head_dim":128,"qk_rope_head_dim":64,"v_head_dim":128,
           "vocab_size":129280,"max_position_embeddings":163840,"tie_word_embeddings":false,"torch_dtype":"bfloat16"})"},
      {{"deepseek-r1", "DeepSeek-R1 671B (same architecture as DeepSeek-V3)", 671e9,
        "hf.co/deepseek-ai/DeepSeek-R1: 671B", "deepseek-ai/DeepSeek-R1"},
       R"({"model_type":"deepseek_v3","hidden_size":7168,"intermediate_size":18432,"moe_intermediate_size":2048,
           "n_routed_experts":256,"n_shared_experts":1,"num_experts_per_tok":8,"first_k_dense_replace":3,
           "moe_layer_freq":1,"num_attention_heads":128,"num_key_value_heads":128,"num_hidden_layers":61,
           "q_lora_rank":1536,"kv_lora_rank":512,"qk_nope_head_dim":128,"qk_rope_head_dim":64,"v_head_dim":128,
           "vocab_size":129280,"max_position_embeddings":163840,"tie_word_embeddings":false,"torch_dtype":"bfloat16"})"},
      {{"deepseek-v2-lite", "DeepSeek-V2-Lite 15.7B (MLA, 64 routed + 2 shared experts, top-6)", 15.7e9,
        "hf.co/deepseek-ai/DeepSeek-V2-Lite: 15.7B total, 2.4B activated", "deepseek-ai/DeepSeek-V2-Lite"},
       R"({"model_type":"deepseek_v2","hidden_size":2048,"intermediate_size":10944,"moe_intermediate_size":1408,
           "n_routed_experts":64,"n_shared_experts":2,"num_experts_per_tok":6,"first_k_dense_replace":1,
           "moe_layer_freq":1,"num_attention_heads":16,"num_key_value_heads":16,"num_hidden_layers":27,
           "q_lora_rank":null,"kv_lora_rank":512,"qk_nope_head_dim":128,"qk_rope_head_dim":64,"v_head_dim":128,
           "vocab_size":102400,"max_position_embeddings":163840,"tie_word_embeddings":false,"torch_dtype":"bfloat16"})"},
      {{"flan-t5-xxl", "Google Flan-T5-XXL 11B encoder-decoder (24 + 24 layers)", 11.14e9,
        "hf.co/google/flan-t5-xxl: 11.3B listed (T5 v1.1 XXL, 11B in the T5 paper); 11.14B counted",
        "google/flan-t5-xxl"},
       R"({"model_type":"t5","d_model":4096,"d_ff":10240,"d_kv":64,"num_heads":64,"num_layers":24,
           "num_decoder_layers":24,"vocab_size":32128,"feed_forward_proj":"gated-gelu",
           "relative_attention_num_buckets":32,"tie_word_embeddings":false,"torch_dtype":"bfloat16"})"},
      {{"whisper-large-v3", "OpenAI Whisper large-v3 (32 + 32 layers; prompt = 1500 encoder frames per 30 s)",
        1.55e9, "hf.co/openai/whisper-large-v3: 1550M (model card size table)", "openai/whisper-large-v3"},
       R"({"model_type":"whisper","d_model":1280,"encoder_layers":32,"decoder_layers":32,
           "encoder_attention_heads":20,"decoder_attention_heads":20,"encoder_ffn_dim":5120,"decoder_ffn_dim":5120,
           "vocab_size":51866,"max_source_positions":1500,"max_target_positions":448,"num_mel_bins":128,
           "torch_dtype":"float16"})"},
      {{"bloom-176b", "BigScience BLOOM 176B (ALiBi)", 176.2e9,
        "hf.co/bigscience/bloom: 176B (paper: 176.2B)", "bigscience/bloom"},
       R"({"model_type":"bloom","hidden_size":14336,"n_head":112,"n_layer":70,"vocab_size":250880,
           "seq_length":2048,"torch_dtype":"bfloat16"})"},
  };
  return table;
}

}  // namespace

const std::vector<ModelPreset>& model_presets() {
  static const std::vector<ModelPreset> list = [] {
    std::vector<ModelPreset> out;
    for (const auto& e : entries())
      out.push_back(e.preset);
    return out;
  }();
  return list;
}

std::vector<std::string> model_preset_names() {
  std::vector<std::string> names;
  for (const auto& e : entries())
    names.push_back(e.preset.name);
  return names;
}

std::string model_hf_id(std::string_view name) {
  for (const auto& e : entries()) {
    if (e.preset.name == name) return e.preset.hf_id;
  }
  return {};
}

std::string_view model_preset_config(std::string_view name) {
  for (const auto& e : entries()) {
    if (e.preset.name == name) return e.config;
  }
  return {};
}

}  // namespace apex
