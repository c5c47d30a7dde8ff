// fuzz/fuzz_hf_config.cpp — the Hugging Face config.json loader: JSON text → Model.
#include "core/json_util.h"
#include "fuzz_common.h"
#include "model/model.h"
#include "model/registry.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace apex;
  const std::string text = fuzz::text_of(data, size);
  fuzz::expect_user_errors([&] {
    const Model m = model_from_hf_config(parse_json(text, "fuzz/config.json"), "fuzz", "fuzz/config.json");
    // What every command derives from a loaded model.
    fuzz::keep(m.params());
    fuzz::keep(m.active_params_per_token());
    fuzz::keep(m.kv_elements_per_token());
    fuzz::keep(m.cell_counts());
  });
  return 0;
}
