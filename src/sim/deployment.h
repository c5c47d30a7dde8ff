// sim/deployment.h — everything fixed about a deployment except the plan: model, cluster,
// precision, engine, routing, SLOs. sim/instance.h turns a (deployment, plan) pair into a
// PlanInstance, which `simulate` runs.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "hw/hardware.h"
#include "model/model.h"
#include "perf/ops.h"
#include "plan/plan.h"
#include "sim/engine.h"
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

}  // namespace apex
