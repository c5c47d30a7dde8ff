// sim/engines/vllm_launch.h — the `vllm serve` command line shared by the vLLM engine versions.
#pragma once

#include <string>
#include <string_view>

#include "sim/engines/engine_spec.h"

namespace apex {

// `vllm serve` for the plan. `chunked_flag` and `prefix_flag` are the version's own spellings
// (empty when the version's default is what was simulated).
std::string vllm_launch_command(const LaunchContext& c, std::string_view chunked_flag,
                                std::string_view prefix_flag);

}  // namespace apex
