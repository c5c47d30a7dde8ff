// model/hf_families.h — one builder per Hugging Face model family (internal to model/): each maps
// the family's config.json keys onto APEX cells and a layer layout. The table of model_type
// names is in hf_config.cpp.
#pragma once

#include <string>

#include "model/hf_reader.h"

namespace apex::hf {

// hf_llama.cpp: Llama-style decoders (llama, mistral, qwen2/3, gemma/2, phi3, granite, MoE and
// MLA variants) and Llama 4.
Model llama_like(const HfReader& r, const std::string& type);
Model llama4(const HfReader& outer);

// hf_classic.cpp: multi-head decoders with plain MLPs.
Model gpt2(const HfReader& r);
Model gptj(const HfReader& r);
Model gpt_neox(const HfReader& r);
Model opt(const HfReader& r);
Model falcon(const HfReader& r);
Model bloom(const HfReader& r);

// hf_encoder_decoder.cpp: encoder-decoder models, the prompt being the encoder input.
Model t5(const HfReader& r);
Model whisper(const HfReader& r);

}  // namespace apex::hf
