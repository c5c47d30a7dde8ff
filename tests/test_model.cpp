// Tests of src/model: presets, parameter counts, layouts and the config.json reader.
#include <gtest/gtest.h>

#include "test_util.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "core/error.h"
#include "core/json_util.h"
#include "core/text.h"
#include "model/model.h"
#include "model/registry.h"

namespace apex {
namespace {

using ::apex::testing::user_error_of;

const std::string kData = APEX_TEST_DATA;

double rel_err(double got, double want) {
  return std::fabs(got / want - 1.0);
}

// ---------------------------------------------------------------------------------------------
// Presets

TEST(ModelPresets, EveryPresetLoadsAndMatchesPublishedParamsWithinOnePercent) {
  ASSERT_FALSE(model_presets().empty());
  std::string failures;
  for (const auto& p : model_presets()) {
    Model m;
    try {
      m = load_model(p.name);
    } catch (const std::exception& e) {
      failures += fmt::format("\n  {}: does not load: {}", p.name, e.what());
      continue;
    }
    EXPECT_EQ(m.name, p.name);
    EXPECT_DOUBLE_EQ(m.published_params, p.published_params) << p.name;
    EXPECT_FALSE(m.description.empty()) << p.name;
    EXPECT_GT(p.published_params, 0) << p.name;
    EXPECT_FALSE(p.params_source.empty()) << p.name;
    EXPECT_GT(m.num_layers(), 0) << p.name;
    EXPECT_GT(m.kv_elements_per_token(), 0) << p.name;
    const double err = rel_err(m.params(), p.published_params);
    if (err > 0.01) {
      failures += fmt::format("\n  {}: params() = {:.4g}, published {:.4g} ({:+.2f}%)", p.name, m.params(),
                              p.published_params, 100 * (m.params() / p.published_params - 1));
    }
  }
  // Regression test for a bug found by review (fixed).
  EXPECT_TRUE(failures.empty()) << "presets off by more than 1% or not loading:" << failures;
}

TEST(ModelPresets, DenseQwen3NemoYiAndLlama3MatchTheirPublishedTotals) {
  // Totals published on each model's Hugging Face card (safetensors "Model size"); APEX counts its
  // parameters from the config's shapes, within 0.5% of them. KV elements per token = layers ×
  // KV heads × head_dim × 2 (K and V); the context is the config's (the card's for Mistral NeMo).
  struct Expected {
    const char* name;
    double published;
    std::int64_t kv_per_token, context;
  };
  for (const Expected& e : {Expected{"qwen3-8b", 8.19e9, 36 * 8 * 128 * 2, 40960},
                            Expected{"qwen3-14b", 14.8e9, 40 * 8 * 128 * 2, 40960},
                            Expected{"qwen3-32b", 32.8e9, 64 * 8 * 128 * 2, 40960},
                            Expected{"mistral-nemo-12b", 12.2e9, 40 * 8 * 128 * 2, 131072},
                            Expected{"yi-34b", 34.4e9, 60 * 8 * 128 * 2, 4096},
                            Expected{"llama-3-8b", 8.03e9, 32 * 8 * 128 * 2, 8192},
                            Expected{"llama-3-70b", 70.6e9, 80 * 8 * 128 * 2, 8192}}) {
    SCOPED_TRACE(e.name);
    const Model m = load_model(e.name);
    EXPECT_NEAR(m.params(), e.published, 0.005 * e.published);
    EXPECT_EQ(static_cast<std::int64_t>(m.kv_elements_per_token()), e.kv_per_token);
    EXPECT_EQ(m.max_positions, e.context);
  }
  // Qwen3's q/k RMSNorms: 2 × head_dim more parameters per layer than the same shapes as llama.
  const std::string qwen3(model_preset_config("qwen3-8b"));
  std::string as_llama = qwen3;
  as_llama.replace(as_llama.find("\"qwen3\""), 7, "\"llama\"");
  const std::string path = testing::write_temp_file("qwen3_as_llama.json", as_llama);
  EXPECT_NEAR(load_model("qwen3-8b").params() - load_model(path).params(), 36.0 * 2 * 128, 0.5);
}

TEST(ModelPresets, NamesAreUniqueAndHaveConfigs) {
  const auto names = model_preset_names();
  EXPECT_EQ(names.size(), model_presets().size());
  for (std::size_t i = 0; i < names.size(); ++i) {
    EXPECT_FALSE(model_preset_config(names[i]).empty()) << names[i];
    for (std::size_t j = i + 1; j < names.size(); ++j)
      EXPECT_NE(names[i], names[j]);
  }
  EXPECT_TRUE(model_preset_config("no-such-model").empty());
  for (const char* want : {"llama-3.1-8b", "llama-3.1-70b", "llama-3.1-405b", "gemma-2-9b", "llama-3.2-1b"}) {
    EXPECT_NE(std::find(names.begin(), names.end(), want), names.end()) << want;
  }
}

TEST(ModelPresets, Llama31_70bKvElementsPerToken) {
  const Model m = load_model("llama-3.1-70b");
  EXPECT_EQ(m.num_layers(), 80);
  EXPECT_EQ(m.hidden, 8192);
  ASSERT_EQ(m.cells.size(), 1u);
  EXPECT_EQ(m.cells[0].attn.num_heads, 64);
  EXPECT_EQ(m.cells[0].attn.num_kv_heads, 8);
  EXPECT_EQ(m.cells[0].attn.head_dim, 128);
  EXPECT_DOUBLE_EQ(m.kv_elements_per_token(), 2.0 * 80 * 8 * 128);
  EXPECT_DOUBLE_EQ(m.cells[0].kv_elements_per_token(), 2.0 * 8 * 128);
  EXPECT_FALSE(m.is_moe());
  EXPECT_EQ(m.max_positions, 131072);
}

TEST(ModelPresets, Llama31_8bHandCount) {
  const Model m = load_model("llama-3.1-8b");
  EXPECT_LT(rel_err(m.params(), 8.03e9), 0.01) << m.params();
  // Exact hand count: embeddings + untied head + 32 × (attention + SwiGLU + 2 norms) + final norm.
  const double h = 4096, v = 128256, inter = 14336, q = 32 * 128, kv = 8 * 128;
  const double attn = h * (q + 2 * kv) + q * h;
  const double ffn = 3 * h * inter;
  const double layer = attn + ffn + 2 * h;
  EXPECT_DOUBLE_EQ(m.cells[0].attention_params(4096), attn);
  EXPECT_DOUBLE_EQ(m.cells[0].ffn_params(4096), ffn);
  EXPECT_DOUBLE_EQ(m.params(), 2 * v * h + 32 * layer + h);
  // Dense: every layer parameter is active, plus the LM head each generated token goes through.
  EXPECT_DOUBLE_EQ(m.active_params_per_token(), 32 * layer + v * h);
  EXPECT_DOUBLE_EQ(m.kv_elements_per_token(), 2.0 * 32 * 8 * 128);
}

TEST(ModelPresets, TiedEmbeddingsCountedOnce) {
  const Model m = load_model("llama-3.2-1b");
  EXPECT_TRUE(m.tied_embeddings);
  EXPECT_DOUBLE_EQ(m.lm_head_params(), 0.0);
  EXPECT_DOUBLE_EQ(m.embedding_params(), 128256.0 * 2048);
  EXPECT_LT(rel_err(m.params(), 1.24e9), 0.01) << m.params();
  Model untied = m;
  untied.tied_embeddings = false;
  EXPECT_DOUBLE_EQ(untied.lm_head_params(), 128256.0 * 2048);
  EXPECT_DOUBLE_EQ(untied.params() - m.params(), 128256.0 * 2048);
  // head_dim 64 from the config, not hidden / heads.
  EXPECT_EQ(m.cells[0].attn.head_dim, 64);
}

TEST(ModelPresets, Gemma2HasSlidingAndGlobalCells) {
  const Model m = load_model("gemma-2-9b");
  ASSERT_EQ(m.cells.size(), 2u);
  EXPECT_EQ(m.num_layers(), 42);
  const auto counts = m.cell_counts();
  ASSERT_EQ(counts.size(), 2u);
  EXPECT_EQ(counts[0], 21);
  EXPECT_EQ(counts[1], 21);
  int sliding = -1, global = -1;
  for (int c = 0; c < 2; ++c)
    (m.cells[static_cast<std::size_t>(c)].attn.window > 0 ? sliding : global) = c;
  ASSERT_GE(sliding, 0);
  ASSERT_GE(global, 0);
  EXPECT_EQ(m.cells[static_cast<std::size_t>(sliding)].attn.window, 4096);
  EXPECT_EQ(m.cells[static_cast<std::size_t>(global)].attn.window, 0);
  // HF Gemma 2: even layers slide, odd layers attend globally.
  EXPECT_EQ(m.layout.cell_of(0), sliding);
  EXPECT_EQ(m.layout.cell_of(1), global);
  EXPECT_EQ(m.layout.cell_of(41), global);
  EXPECT_TRUE(m.tied_embeddings);  // Gemma ties by default
  EXPECT_DOUBLE_EQ(m.kv_elements_per_token(), 42 * 2.0 * 8 * 256);
}

TEST(ModelPresets, MistralSlidingWindowOnEveryLayer) {
  const Model m = load_model("mistral-7b");
  ASSERT_EQ(m.cells.size(), 1u);
  EXPECT_EQ(m.cells[0].attn.window, 4096);
  const Model large = load_model("mistral-large-123b");  // "sliding_window": null
  EXPECT_EQ(large.cells[0].attn.window, 0);
}

TEST(ModelPresets, QwenHasQkvBias) {
  const Model m = load_model("qwen2.5-7b");
  EXPECT_TRUE(m.cells[0].attn.qkv_bias);
  EXPECT_FALSE(m.cells[0].attn.o_bias);
}

// ---------------------------------------------------------------------------------------------
// LayerLayout

std::vector<std::int64_t> brute_counts(const LayerLayout& l, std::int64_t begin, std::int64_t end,
                                       std::size_t n) {
  std::vector<std::int64_t> out(n, 0);
  for (std::int64_t i = std::max<std::int64_t>(begin, 0); i < std::min(end, l.num_layers); ++i) {
    ++out[static_cast<std::size_t>(l.cell_of(i))];
  }
  return out;
}

TEST(LayerLayout, CountsMatchBruteForceOnEverySubRange) {
  struct Case {
    LayerLayout layout;
    std::size_t cells;
  };
  std::vector<Case> cases;
  {
    LayerLayout l;
    l.num_layers = 10;
    cases.push_back({l, 1});
  }
  {
    LayerLayout l;  // Gemma 2
    l.num_layers = 42;
    l.period = {1, 0};
    cases.push_back({l, 2});
  }
  {
    LayerLayout l;  // DeepSeek-V3: 3 dense then MoE
    l.num_layers = 61;
    l.prefix_layers = 3;
    l.prefix_cell = 0;
    l.period = {1};
    cases.push_back({l, 2});
  }
  {
    LayerLayout l;  // Qwen2-MoE style: every 4th layer sparse
    l.num_layers = 26;
    l.period = {0, 0, 0, 1};
    cases.push_back({l, 2});
  }
  {
    LayerLayout l;  // prefix + odd period, three cells
    l.num_layers = 23;
    l.prefix_layers = 2;
    l.prefix_cell = 2;
    l.period = {0, 1, 1};
    cases.push_back({l, 3});
  }
  {
    LayerLayout l;  // prefix covers every layer
    l.num_layers = 5;
    l.prefix_layers = 5;
    l.prefix_cell = 1;
    l.period = {0};
    cases.push_back({l, 2});
  }
  {
    LayerLayout l;  // period longer than the periodic region
    l.num_layers = 4;
    l.prefix_layers = 1;
    l.prefix_cell = 0;
    l.period = {1, 2, 1, 2, 0, 0};
    cases.push_back({l, 3});
  }
  for (std::size_t k = 0; k < cases.size(); ++k) {
    const auto& [l, n] = cases[k];
    for (std::int64_t b = 0; b <= l.num_layers; ++b) {
      for (std::int64_t e = b; e <= l.num_layers; ++e) {
        ASSERT_EQ(l.counts(b, e, n), brute_counts(l, b, e, n))
            << "layout #" << k << " range [" << b << ", " << e << ")";
      }
    }
    // Out-of-range bounds are clamped.
    EXPECT_EQ(l.counts(-5, l.num_layers + 7, n), brute_counts(l, 0, l.num_layers, n)) << "layout #" << k;
    EXPECT_EQ(l.counts(3, 2, n), std::vector<std::int64_t>(n, 0)) << "layout #" << k;
    std::int64_t total = 0;
    for (auto c : l.counts(0, l.num_layers, n))
      total += c;
    EXPECT_EQ(total, l.num_layers);
  }
}

TEST(LayerLayout, CellOfOutOfRangeIsAnInternalError) {
  LayerLayout l;
  l.num_layers = 4;
  EXPECT_THROW(l.cell_of(4), InternalError);
  EXPECT_THROW(l.cell_of(-1), InternalError);
}

// ---------------------------------------------------------------------------------------------
// config.json files

TEST(HfConfig, TinyLlamaFromFileHandCounted) {
  const Model m = load_model(kData + "/tiny_llama_config.json");
  EXPECT_EQ(m.architecture, "llama");
  EXPECT_EQ(m.hidden, 256);
  EXPECT_EQ(m.vocab, 1000);
  EXPECT_EQ(m.num_layers(), 4);
  EXPECT_EQ(m.max_positions, 2048);
  EXPECT_FALSE(m.tied_embeddings);
  EXPECT_EQ(m.dtype, DType::BF16);
  ASSERT_EQ(m.cells.size(), 1u);
  EXPECT_EQ(m.cells[0].attn.head_dim, 32);
  EXPECT_EQ(m.cells[0].attn.num_kv_heads, 2);
  // attention 256*(256+2*64) + 256*256 = 163840; SwiGLU 3*256*688 = 528384; norms 512.
  EXPECT_DOUBLE_EQ(m.cells[0].params(256), 163840.0 + 528384.0 + 512.0);
  EXPECT_DOUBLE_EQ(m.params(), 4 * 692736.0 + 2 * 256000.0 + 256.0);
  EXPECT_DOUBLE_EQ(m.params(), 3283200.0);
  EXPECT_DOUBLE_EQ(m.kv_elements_per_token(), 4 * 2.0 * 2 * 32);
  EXPECT_NE(m.description.find("llama"), std::string::npos);
}

TEST(HfConfig, DirectoryHoldingConfigJson) {
  const Model dir = load_model(kData + "/tiny_llama_dir");
  const Model file = load_model(kData + "/tiny_llama_config.json");
  EXPECT_DOUBLE_EQ(dir.params(), file.params());
  EXPECT_DOUBLE_EQ(dir.kv_elements_per_token(), file.kv_elements_per_token());
  EXPECT_EQ(dir.num_layers(), 4);
}

TEST(HfConfig, FromParsedJsonDefaults) {
  // No num_key_value_heads: MHA. No intermediate_size: 4 × hidden.
  const Json j = parse_json(R"({"model_type":"llama","hidden_size":64,"num_attention_heads":4,
                                 "num_hidden_layers":2,"vocab_size":100})",
                            "inline");
  const Model m = model_from_hf_config(j, "inline-model", "inline");
  EXPECT_EQ(m.name, "inline-model");
  EXPECT_EQ(m.cells[0].attn.num_kv_heads, 4);
  EXPECT_EQ(m.cells[0].attn.head_dim, 16);
  EXPECT_EQ(m.cells[0].ffn.intermediate, 256);
}

TEST(HfConfigErrors, UnknownPresetDidYouMean) {
  const std::string msg = user_error_of([] { load_model("llama-3.1-70"); });
  EXPECT_CONTAINS(msg, "unknown model 'llama-3.1-70'");
  EXPECT_CONTAINS(msg, "did you mean 'llama-3.1-70b'?");
  EXPECT_CONTAINS(msg, "apex list models");
}

TEST(HfConfigErrors, MalformedJsonNamesFileAndLine) {
  const std::string path = kData + "/malformed_config.json";
  const std::string msg = user_error_of([&] { load_model(path); });
  EXPECT_CONTAINS(msg, path + ":5:");  // the missing comma is detected at line 5
  EXPECT_CONTAINS(msg, "malformed JSON");
}

TEST(HfConfigErrors, UnknownModelTypeListsSupported) {
  const std::string msg = user_error_of([] { load_model(kData + "/unknown_type_config.json"); });
  EXPECT_CONTAINS(msg, "unknown_type_config.json");
  EXPECT_CONTAINS(msg, "unknown model_type 'llamma'");
  EXPECT_CONTAINS(msg, "did you mean 'llama'?");
  for (const auto& f : supported_families())
    EXPECT_CONTAINS(msg, f.model_type);
}

TEST(HfConfigErrors, MissingHiddenSizeNamed) {
  const std::string msg = user_error_of([] { load_model(kData + "/missing_hidden_config.json"); });
  EXPECT_CONTAINS(msg, "missing_hidden_config.json");
  EXPECT_CONTAINS(msg, "hidden_size");
  EXPECT_CONTAINS(msg, "missing");
}

TEST(HfConfigErrors, KvHeadsMustDivideHeads) {
  const std::string msg = user_error_of([] { load_model(kData + "/bad_kv_heads_config.json"); });
  EXPECT_CONTAINS(msg, "bad_kv_heads_config.json");
  EXPECT_CONTAINS(msg, "num_key_value_heads (3)");
  EXPECT_CONTAINS(msg, "num_attention_heads (8)");
}

TEST(HfConfigErrors, MissingFileAndModelType) {
  EXPECT_CONTAINS(user_error_of([] { load_model("/nonexistent/dir/config.json"); }), "does not exist");
  EXPECT_CONTAINS(user_error_of([] { load_model(kData + "/no_such_dir/"); }), "does not exist");
  const Json no_type = parse_json(R"({"hidden_size": 64})", "x.json");
  EXPECT_CONTAINS(user_error_of([&] { model_from_hf_config(no_type, "x", "x.json"); }), "model_type");
  const Json not_int = parse_json(R"({"model_type":"llama","hidden_size":64.5,"num_attention_heads":4,
                                       "num_hidden_layers":2,"vocab_size":100})",
                                  "y.json");
  EXPECT_CONTAINS(user_error_of([&] { model_from_hf_config(not_int, "y", "y.json"); }), "integer");
  const Json zero_layers = parse_json(R"({"model_type":"llama","hidden_size":64,"num_attention_heads":4,
                                           "num_hidden_layers":0,"vocab_size":100})",
                                      "z.json");
  EXPECT_CONTAINS(user_error_of([&] { model_from_hf_config(zero_layers, "z", "z.json"); }),
                  "num_hidden_layers");
  const Json topk = parse_json(R"({"model_type":"mixtral","hidden_size":64,"num_attention_heads":4,
                                    "num_hidden_layers":2,"vocab_size":100,"num_local_experts":4,
                                    "num_experts_per_tok":8})",
                               "m.json");
  EXPECT_CONTAINS(user_error_of([&] { model_from_hf_config(topk, "m", "m.json"); }), "num_experts_per_tok");
}

// ---------------------------------------------------------------------------------------------
// Mixture of experts and MLA

TEST(MoE, Mixtral8x7bStructure) {
  const Model m = load_model(kData + "/mixtral_8x7b_config.json");
  EXPECT_TRUE(m.is_moe());
  EXPECT_EQ(m.num_layers(), 32);
  const auto counts = m.cell_counts();
  std::int64_t moe_layers = 0;
  for (std::size_t c = 0; c < m.cells.size(); ++c) {
    if (m.cells[c].ffn.is_moe()) {
      moe_layers += counts[c];
      EXPECT_EQ(m.cells[c].ffn.num_experts, 8);
      EXPECT_EQ(m.cells[c].ffn.top_k, 2);
      EXPECT_EQ(m.cells[c].ffn.intermediate, 14336);
      EXPECT_EQ(m.cells[c].attn.window, 0);  // "sliding_window": null
    }
  }
  EXPECT_EQ(moe_layers, 32);
  EXPECT_DOUBLE_EQ(m.kv_elements_per_token(), 2.0 * 32 * 8 * 128);
}

TEST(MoE, Mixtral8x7bTotalParams) {
  const Model m = load_model(kData + "/mixtral_8x7b_config.json");
  EXPECT_LT(rel_err(m.params(), 46.7e9), 0.02) << m.params();
}

TEST(MoE, Mixtral8x7bActiveParams) {
  const Model m = load_model(kData + "/mixtral_8x7b_config.json");
  // The published 12.9B active parameters per token count the embedding too; APEX's active
  // parameters are the layers (top-2 experts) plus the LM head.
  const double with_embeddings = m.active_params_per_token() + m.embedding_params();
  EXPECT_LT(rel_err(with_embeddings, 12.9e9), 0.02) << with_embeddings;
  EXPECT_LT(rel_err(m.active_params_per_token(), 12.9e9), 0.02) << m.active_params_per_token();
}

TEST(MoE, DeepSeekV3Structure) {
  const Model m = load_model(kData + "/deepseek_v3_config.json");
  EXPECT_TRUE(m.is_moe());
  EXPECT_EQ(m.num_layers(), 61);
  ASSERT_EQ(m.cells.size(), 2u);
  const auto counts = m.cell_counts();
  std::int64_t dense = 0, moe = 0;
  for (std::size_t c = 0; c < m.cells.size(); ++c) {
    (m.cells[c].ffn.is_moe() ? moe : dense) += counts[c];
    EXPECT_EQ(m.cells[c].attn.kind, AttentionKind::MLA);
    EXPECT_EQ(m.cells[c].attn.kv_lora_rank, 512);
    EXPECT_EQ(m.cells[c].attn.qk_rope_head_dim, 64);
  }
  EXPECT_EQ(dense, 3);  // first_k_dense_replace
  EXPECT_EQ(moe, 58);
  EXPECT_FALSE(m.cells[static_cast<std::size_t>(m.layout.cell_of(0))].ffn.is_moe());
  EXPECT_TRUE(m.cells[static_cast<std::size_t>(m.layout.cell_of(3))].ffn.is_moe());
  // MLA caches the compressed latent plus the rope key: (512 + 64) per layer.
  EXPECT_DOUBLE_EQ(m.kv_elements_per_token(), 61.0 * (512 + 64));
}

TEST(MoE, DeepSeekV3TotalParams) {
  const Model m = load_model(kData + "/deepseek_v3_config.json");
  EXPECT_LT(rel_err(m.params(), 671e9), 0.02) << m.params();
}

TEST(MoE, DeepSeekV3ActiveParams) {
  const Model m = load_model(kData + "/deepseek_v3_config.json");
  const double with_embeddings = m.active_params_per_token() + m.embedding_params();
  EXPECT_LT(rel_err(with_embeddings, 37e9), 0.02) << with_embeddings;
  EXPECT_LT(rel_err(m.active_params_per_token(), 37e9), 0.02) << m.active_params_per_token();
}

TEST(MoE, ActiveParamsCountTopKExperts) {
  const Model m = load_model(kData + "/mixtral_8x7b_config.json");
  const Cell* moe = nullptr;
  for (const auto& c : m.cells) {
    if (c.ffn.is_moe()) moe = &c;
  }
  ASSERT_NE(moe, nullptr);
  const double h = 4096, one_expert = 3 * h * 14336;
  // All 8 experts + router in the total, 2 experts + router in the active count.
  EXPECT_DOUBLE_EQ(moe->ffn_params(4096), 8 * one_expert + h * 8);
  EXPECT_DOUBLE_EQ(
      moe->active_params(4096) - moe->attention_params(4096) - static_cast<double>(moe->norm_params),
      2 * one_expert + h * 8);
}

// ---------------------------------------------------------------------------------------------
// Hostile configs (issue #10, input side): every one is a UserError naming the file and the key,
// never undefined behaviour, a crash or a model that cannot exist.

Json llama_json(const std::string& extra) {
  return parse_json(R"({"model_type":"llama","hidden_size":64,"num_attention_heads":4,"num_hidden_layers":2,
                        "vocab_size":100)" +
                        extra + "}",
                    "h.json");
}

std::string hf_error(const Json& j) {
  return user_error_of([&] { model_from_hf_config(j, "h", "h.json"); });
}

// The reader of a llama4 vision_config held a string_view into a formatted temporary: the message
// was read after it was freed (ASan: heap-use-after-free; release builds printed garbage).
TEST(HfConfigHostile, Llama4VisionConfigErrorNamesFileSectionAndKey) {
  const std::string path = kData + "/llama4_bad_vision_config.json";
  const std::string msg = user_error_of([&] { load_model(path); });
  EXPECT_EQ(msg, path + ": vision_config: 'hidden_size' must be an integer, found 1.5");
  // The same config with a valid vision section loads, and the encoder is counted.
  Json j = parse_json(read_file(path, "config"), path);
  j["vision_config"] =
      Json::parse(R"({"hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2})");
  const Model m = model_from_hf_config(j, "ok", path);
  EXPECT_GT(m.extra_params, 0);
}

TEST(HfConfigHostile, NumbersOutOfRangeAreUserErrors) {
  // Values a double holds but an int64 does not: converting them was undefined behaviour.
  EXPECT_EQ(hf_error(llama_json(R"(,"intermediate_size":1e300)")),
            "h.json: 'intermediate_size' = 1e+300 is out of range; APEX reads sizes up to 2147483647");
  EXPECT_CONTAINS(hf_error(llama_json(R"(,"intermediate_size":18446744073709551615)")),
                  "'intermediate_size' = 18446744073709551615 is out of range");
  EXPECT_CONTAINS(hf_error(llama_json(R"(,"max_position_embeddings":9223372036854775807)")),
                  "'max_position_embeddings' = 9223372036854775807 is out of range");
  EXPECT_CONTAINS(hf_error(llama_json(R"(,"head_dim":-1e300)")), "'head_dim' must not be negative");
  EXPECT_CONTAINS(hf_error(llama_json(R"(,"head_dim":-3)")), "'head_dim' must not be negative, found -3");
  // A number beyond a double (1e400) escaped as nlohmann's out_of_range (exit 1): now the file,
  // line and column and the token.
  const std::string path = kData + "/overflowing_number_config.json";
  const std::string msg = user_error_of([&] { load_model(path); });
  EXPECT_CONTAINS(msg, path + ":5:");
  EXPECT_CONTAINS(msg, "number '1e400' is out of range");
}

TEST(HfConfigHostile, SizesThatDescribeNoModel) {
  const std::string msg = user_error_of([] { load_model(kData + "/zero_intermediate_config.json"); });
  EXPECT_CONTAINS(msg, "zero_intermediate_config.json: 'intermediate_size' must be positive, found 0");
  EXPECT_CONTAINS(hf_error(llama_json(R"(,"max_position_embeddings":0)")),
                  "'max_position_embeddings' must be positive");
  // Each size within range, the product absurd: 2^31 hidden x 2^31 vocab.
  const Json huge = parse_json(R"({"model_type":"llama","hidden_size":2147483647,"num_attention_heads":1,
                                   "num_hidden_layers":2,"vocab_size":2147483647,"intermediate_size":1})",
                               "h.json");
  const std::string absurd = hf_error(huge);
  EXPECT_CONTAINS(absurd, "h.json: the config describes ");
  EXPECT_CONTAINS(absurd, "e+19 parameters, above the limit of 1e+14");
  // A layer count that would allocate a per-layer list of billions of entries.
  const Json deep = parse_json(R"({"model_type":"llama4","hidden_size":64,"num_attention_heads":4,
                                   "num_hidden_layers":2000000000,"vocab_size":100,"num_local_experts":2,
                                   "intermediate_size":64})",
                               "h.json");
  EXPECT_EQ(hf_error(deep), "h.json: 'num_hidden_layers' = 2000000000 exceeds the limit of 100000 layers");
  EXPECT_CONTAINS(hf_error(llama_json(R"(,"num_local_experts":4,"num_experts_per_tok":1,
                                          "decoder_sparse_step":1000000000)")),
                  "the MoE layer step 1000000000 exceeds num_hidden_layers (2)");
  const Json whisper = parse_json(R"({"model_type":"whisper","d_model":2147483647,"vocab_size":10,
      "num_mel_bins":2147483647,"encoder_attention_heads":1,"decoder_attention_heads":1,"encoder_ffn_dim":1,
      "decoder_ffn_dim":1,"encoder_layers":1,"decoder_layers":1})",
                                  "h.json");
  EXPECT_CONTAINS(hf_error(whisper), "the convolution stem has");
}

TEST(HfConfigHostile, ModelTypeOfTheWrongKindIsNamedAsSuch) {
  const std::string msg = user_error_of([] { load_model(kData + "/model_type_number_config.json"); });
  EXPECT_CONTAINS(
      msg, "model_type_number_config.json: 'model_type' must be a string (e.g. \"llama\"), found number");
  EXPECT_EQ(msg.find("missing"), std::string::npos) << msg;
}

TEST(HfConfigHostile, AHugeValueIsQuotedShort) {
  const std::string big(5 << 20, 'x');  // 5 MB: under the file limit, far over a message
  const std::string msg = hf_error(parse_json(R"({"model_type":")" + big + R"("})", "h.json"));
  EXPECT_CONTAINS(msg, "unknown model_type 'xxxxxxxx");
  EXPECT_CONTAINS(msg, "...' (5242880 bytes)");
  EXPECT_LT(msg.size(), 1200u);
}

TEST(HfConfigHostile, FilesWithoutEndAreBounded) {
  // /dev/zero read until memory ran out (2 GB in seconds); the reader stops at the limit.
  EXPECT_CONTAINS(user_error_of([] { load_model("/dev/zero"); }),
                  "model config '/dev/zero' is larger than the limit of 8 MiB");
  const std::string path = ::testing::TempDir() + "/apex_big_config.json";
  {
    std::FILE* f = std::fopen(path.c_str(), "w");
    ASSERT_NE(f, nullptr);
    const std::string pad(9 << 20, ' ');
    std::fputs(("{\"model_type\": \"llama\"" + pad + "}").c_str(), f);
    std::fclose(f);
  }
  EXPECT_CONTAINS(user_error_of([&] { load_model(path); }), "is larger than the limit of 8 MiB");
}

}  // namespace
}  // namespace apex
