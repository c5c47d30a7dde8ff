// sim/engines/engine_spec.h — a serving engine as one unit: its name, version, description and
// sources, its defaults for a GPU and model, its own rules on the user's knobs, and the command
// that launches it with a plan. One file per engine (vllm_v1.cpp, vllm_v0.cpp, sglang.cpp,
// trtllm.cpp), listed once in registry.cpp; register_engine() adds one at run time (tests, plug-ins).
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sim/engine.h"

namespace apex {

// Everything a launch command shows about a deployment.
struct LaunchContext {
  const Model& model;
  const Precision& precision;
  const Plan& plan;
  const EnginePolicy& engine;
  std::optional<std::int64_t> max_model_len;  // set when the user chose it
  std::string model_id;                       // Hugging Face id, or the config's folder
  int gpus_per_node = 0;                      // the cluster's node size (0: one node holds it all)
};

// Where a plan's GPUs land: how many nodes one replica spans and whether every replica fits on
// one node (then an engine's own data parallelism can hold them in one server).
struct LaunchLayout {
  int replica_gpus = 1;       // tp x pp
  int nodes_per_replica = 1;  // > 1: one replica needs a multi-node launch
  bool one_node = true;       // all dp x tp x pp GPUs on one node
};
LaunchLayout launch_layout(const LaunchContext& c);
// "   # x{n} servers of {gpus} GPUs each behind a load balancer{why}": the plan's replicas as
// separate deployments (`why` says why the engine's own data parallelism does not serve them).
std::string separate_replicas_note(int n, int gpus, std::string_view why);

struct EngineSpec {
  std::string name;  // the --engine value
  std::string version;
  std::string description;  // one line for `apex list engines`
  std::string sources;      // where the defaults come from (file and commit; docs/engines.md)
  // How published benchmark tables name this engine (prefixes, e.g. "vLLM"): rows of
  // ../shared/reference measured on it are validated against it.
  std::vector<std::string> reported_as;
  // The policy as the engine starts on this GPU for this model, before the user's knobs. `knobs`
  // is given for defaults that depend on another knob (vLLM 0.6's budget on chunked prefill).
  std::function<EnginePolicy(const EngineContext&, const EngineKnobs&)> defaults;
  // The engine's own rules once the user's knobs are applied (clamps, derived sizes); optional.
  std::function<void(EnginePolicy&, const EngineKnobs&, const EngineContext&)> finalize;
  std::function<std::string(const LaunchContext&)> launch_command;
};

const std::vector<EngineSpec>& engine_registry();
// The engine named `name`; UserError with a did-you-mean otherwise.
const EngineSpec& find_engine(const std::string& name);
// The engine a published result names `text` (e.g. "TensorRT-LLM v0.5"), or null.
const EngineSpec* engine_reported_as(const std::string& text);
// Adds an engine (a name already registered is replaced). Not thread-safe: call before simulating.
void register_engine(EngineSpec spec);

// The model argument of a launch command: the Hugging Face id of a preset, the folder of a
// config.json path ("." for a bare file name), or the folder given itself.
std::string launch_model_id(const Model& model);
// The launch command of `engine` for this deployment; `gpus_per_node` places multi-node plans
// (0: everything on one node).
std::string launch_command(const Model& model, const Precision& precision, const Plan& plan,
                           const EnginePolicy& engine, std::optional<std::int64_t> max_model_len,
                           int gpus_per_node = 0);

// Shared by the engine files: a policy with the spec's identity filled in.
EnginePolicy policy_of(const EngineSpec& spec);
// A parameter fitted to measured serving runs, shipped in data/engine_fits.json with its provenance
// ("engines" -> `engine` -> `key`); the file is embedded, so a missing value is an internal error.
double fitted_engine_value(std::string_view engine, std::string_view key);
// The checkpoint carries a multi-token-prediction module (DeepSeek-V3/R1): speculative decoding
// drafts with it instead of a separate EAGLE checkpoint.
bool carries_mtp_module(const Model& model);
// vLLM's device check: at least 70 GiB and not an A100 (vllm/engine/arg_utils.py).
bool vllm_big_gpu(const Gpu& gpu);
// vLLM's all-reduce tiers with symmetric memory on (VLLM_ALLREDUCE_USE_SYMM_MEM, default 1): on
// Hopper (9.0) and Blackwell (10.0) custom all-reduce only below
// min(CUSTOM_ALL_REDUCE_MAX_SIZES[cc][tp], 8 MiB), then torch symm-mem up to
// SYMM_MEM_ALL_REDUCE_MAX_SIZES[cc][tp], then NCCL; elsewhere custom below 8 MiB, then NCCL
// (vllm/distributed/device_communicators/all_reduce_utils.py, custom_all_reduce.py).
void set_vllm_symm_mem_all_reduce(const Gpu& gpu, EngineCosts& costs);

}  // namespace apex
