// model/hf_config.cpp — model_type -> family builder (hf_families.h), and loading a model by preset
// name or config.json path.
#include <filesystem>
#include <functional>

#include <fmt/format.h>

#include "core/error.h"
#include "core/text.h"
#include "model/hf_families.h"
#include "model/registry.h"

namespace apex {
namespace {

constexpr double kMaxModelParams = 1e14;

using hf::HfReader;

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
    const Builder llama = [](const HfReader& r, const std::string& type) { return hf::llama_like(r, type); };
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
        [](const HfReader& r, const std::string&) { return hf::llama_like(r, "deepseek_v3"); });
    add("gpt2", "GPT-2 (learned positions, LayerNorm, GELU MLP)",
        [](const HfReader& r, const std::string&) { return hf::gpt2(r); });
    add("gptj", "GPT-J (parallel attention and MLP)",
        [](const HfReader& r, const std::string&) { return hf::gptj(r); });
    add("gpt_neox", "GPT-NeoX / Pythia",
        [](const HfReader& r, const std::string&) { return hf::gpt_neox(r); });
    add("opt", "OPT", [](const HfReader& r, const std::string&) { return hf::opt(r); });
    add("falcon", "Falcon (multi-query or grouped KV)",
        [](const HfReader& r, const std::string&) { return hf::falcon(r); });
    add("t5", "T5 / Flan-T5 encoder-decoder",
        [](const HfReader& r, const std::string&) { return hf::t5(r); });
    add("whisper", "Whisper speech encoder-decoder (prompt = encoder frames)",
        [](const HfReader& r, const std::string&) { return hf::whisper(r); });
    add("bloom", "BLOOM (ALiBi)", [](const HfReader& r, const std::string&) { return hf::bloom(r); });
    add("llama4",
        "Llama 4 Scout / Maverick (chunked local + global attention, MoE with a shared expert; text only)",
        [](const HfReader& r, const std::string&) { return hf::llama4(r); });
    add("llama4_text", "Llama 4 text decoder",
        [](const HfReader& r, const std::string&) { return hf::llama4(r); });
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
  HfReader r(config, std::string(where));
  if (auto it = config.find("model_type"); it != config.end() && !it->is_null() && !it->is_string()) {
    throw UserError(
        fmt::format("{}: 'model_type' must be a string (e.g. \"llama\"), found {}", where, it->type_name()));
  }
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
      // Sizes that multiply into more than 100 trillion parameters are a broken config (the largest
      // published models have a few trillion), and bounding them keeps the arithmetic downstream exact.
      if (const double p = m.params(); !(p <= kMaxModelParams)) {
        throw UserError(
            fmt::format("{}: the config describes {:.3g} parameters, above the limit of {:.0e}; "
                        "check its sizes",
                        where, p, kMaxModelParams));
      }
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
