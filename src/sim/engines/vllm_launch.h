// sim/engines/vllm_launch.h — the `vllm serve` command line shared by the vLLM engine versions.
#pragma once

#include <string>
#include <string_view>

#include "sim/engines/engine_spec.h"

namespace apex {

// What a vLLM version's argument parser (vllm/engine/arg_utils.py) can say about a plan.
struct VllmParser {
  // --data-parallel-size and --enable-expert-parallel (V1 versions; 0.6 has neither).
  bool data_and_expert_parallel = true;
  // --speculative-config JSON (V1); 0.6 takes --speculative-model / --num-speculative-tokens.
  bool speculative_config = true;
};

// `vllm serve` for the plan. `chunked_flag` and `prefix_flag` are the version's own spellings
// (empty when the version's default is what was simulated).
std::string vllm_launch_command(const LaunchContext& c, std::string_view chunked_flag,
                                std::string_view prefix_flag, VllmParser parser = {});

}  // namespace apex
