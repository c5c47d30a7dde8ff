// search/deployment.h — everything fixed about a deployment except the plan: model, cluster,
// precision, engine, routing, SLOs. The one place where a (deployment, plan) pair becomes a
// simulation, used by `apex simulate`, the planner and the Python bindings alike.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "hw/hardware.h"
#include "model/model.h"
#include "perf/ops.h"
#include "plan/plan.h"
#include "sim/engine.h"
#include "sim/simulator.h"
#include "workload/workload.h"

namespace apex {

struct Deployment {
  Model model;
  Cluster cluster;
  Precision precision;
  std::string engine = "vllm";
  EngineOverrides engine_overrides;
  std::string router = "least-loaded";        // sim/router/router.h
  std::optional<std::int64_t> max_model_len;  // default: the model's max_position_embeddings
  double ttft_slo = 0;                        // seconds, 0 = none
  double tpot_slo = 0;
  double expert_skew = 0;  // MoE expert-load imbalance (power-law alpha of expert popularity; 0 = balanced)
  double expert_capacity_factor = 0;  // MoE fixed-capacity experts (0 = dropless, as vLLM/SGLang serve)
  int concurrency = 0;  // closed-loop clients: a request waits for a free client (0 = open arrivals)
  std::shared_ptr<const OpModel> ops;  // default: analytical ops for the cluster's GPU

  std::int64_t effective_max_model_len() const;
  // Validates dtypes against the GPU and the model/engine settings; UserError on a problem.
  void validate() const;
  std::shared_ptr<const OpModel> op_model_ptr() const;  // `ops`, or the analytical backend
  EnginePolicy engine_policy(const EngineOverrides& extra = {}) const;
};

// Fills plan.stages; UserError naming the reason when the plan is impossible.
void make_plan_or_throw(const Deployment& d, Plan& plan, const PlanOptions& options = {});

// KV tokens one request can occupy: the replica's blocks, or one rank's under data-parallel
// attention, minus the engine's admission watermark.
std::int64_t usable_kv_tokens(const MemoryFootprint& f, const Plan& plan, const EnginePolicy& engine);

// The sequence length the KV cache must hold for one request: the longest request of the workload,
// or the explicit --max-model-len when it is longer (vLLM refuses to start unless the cache holds
// one max_model_len sequence).
std::int64_t required_kv_tokens(const Deployment& d, std::int64_t longest_request);

// Memory check for a plan: nullopt when the KV cache can hold `longest_request` tokens, else the
// reason with bytes needed vs available.
std::optional<std::string> memory_check(const Deployment& d, const Plan& plan, const EnginePolicy& engine,
                                        std::int64_t longest_request);

SimConfig sim_config(const Deployment& d, const Plan& plan, const EnginePolicy& engine);
SimResult simulate_plan(const Deployment& d, const Plan& plan, RequestSource& requests,
                        const EngineOverrides& extra = {}, bool record_requests = false,
                        bool breakdown = false);

}  // namespace apex
