// model/registry.h — building Models from Hugging Face config.json files and embedded presets.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/json_util.h"
#include "model/model.h"

namespace apex {

// One architecture family APEX can read from config.json ("llama", "gpt2", "mixtral", ...).
struct ModelFamily {
  std::string model_type;
  std::string description;
};
const std::vector<ModelFamily>& supported_families();

// Builds a Model from a parsed config.json. `where` is used in error messages (file name).
Model model_from_hf_config(const Json& config, std::string name, std::string_view where);

struct ModelPreset {
  std::string name;
  std::string description;
  double published_params;    // model-card figure, for the 1% test
  std::string params_source;  // where that figure comes from
  std::string hf_id;          // Hugging Face repository to serve (launch commands)
};
const std::vector<ModelPreset>& model_presets();
std::vector<std::string> model_preset_names();
// The embedded config.json text of a preset (empty view when unknown).
std::string_view model_preset_config(std::string_view name);

// The Hugging Face repository of a preset ("" for a config file).
std::string model_hf_id(std::string_view name);

// A preset name or a path to a config.json (or a directory holding one).
// UserError with did-you-mean for an unknown name, file:line for malformed JSON.
Model load_model(std::string_view name_or_path);

}  // namespace apex
