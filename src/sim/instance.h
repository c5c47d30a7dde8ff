// sim/instance.h — a plan made concrete for a deployment: the feasibility check (shape, engine
// knobs, memory) runs once and leaves a PlanInstance holding everything a simulation, the search
// bound and the reports need — the plan with its stages, the resolved engine, the sharded model,
// the memory footprint and the KV budget — or a typed rejection.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <variant>

#include "plan/sharding.h"
#include "sim/deployment.h"
#include "sim/request_state.h"
#include "sim/simulator.h"

namespace apex {

struct PlanInstance {
  const Deployment* deployment = nullptr;
  Plan plan;
  EnginePolicy engine;
  ShardedModel sharded;
  MemoryFootprint memory;
  std::int64_t usable_kv_tokens = 0;  // KV tokens one request may occupy
  LocalKv local_kv;                   // what the engine frees of local-attention layers (share 0: nothing)

  const Deployment& d() const { return *deployment; }
};

// The feasibility check. `longest_request` (prompt + output tokens; nullopt = no memory check)
// must fit one request's KV budget. `plan` is filled by make_plan.
std::variant<PlanInstance, PlanRejection> instantiate(const Deployment& d, Plan plan,
                                                      const EngineKnobs& knobs,
                                                      std::optional<std::int64_t> longest_request,
                                                      const PlanOptions& options = {});
// The same, as a UserError naming the plan and the reason when the plan is impossible.
PlanInstance instantiate_or_throw(const Deployment& d, Plan plan, const EngineKnobs& knobs,
                                  std::optional<std::int64_t> longest_request,
                                  const PlanOptions& options = {});

// Fills plan.stages; UserError naming the reason when the plan is impossible.
void make_plan_or_throw(const Deployment& d, Plan& plan, const PlanOptions& options = {});

// The sequence length the KV cache must hold for one request: the longest request of the workload,
// or the explicit --max-model-len when it is longer (vLLM refuses to start unless the cache holds
// one max_model_len sequence).
std::int64_t required_kv_tokens(const Deployment& d, std::int64_t longest_request);

// What a request longer than the max model length can do about it: raise --max-model-len up to the
// model's own context (true, with that context), or nothing but shorten it (false).
struct MaxModelLenAdvice {
  bool can_raise = false;
  std::string text;  // "shorten it or raise …" / "<model>'s own context length, which … cannot raise"
};
MaxModelLenAdvice max_model_len_advice(const Deployment& d);

// Memory check for a plan: nullopt when the KV cache can hold `longest_request` tokens, else the
// reason with bytes needed vs available.
std::optional<std::string> memory_check(const Deployment& d, const Plan& plan, const EnginePolicy& engine,
                                        std::int64_t longest_request);

// Steps of a run advanced by the fast-forward: completed without the event queue (nothing else
// happened before they ended), and planned (built and completed without the scheduler).
struct FastForwardCounts {
  enum Kind { kWithoutQueue, kPlanned };
  std::uint64_t without_queue = 0, planned = 0;
};

struct RunOptions {
  bool record_requests = false;  // keep one RequestRecord per request (memory grows with the trace)
  bool breakdown = false;        // attribute GPU time to kernel classes (SimResult::time); slower
  // The load profile of the requests (SyntheticSpec::stages): measure each stage's requests
  // (Request::stage) apart as well, in SimResult::stages. Empty = no stage results.
  std::vector<LoadStage> stages{};
  // Refuse (UserError) a load that puts more requests in the system at once (request_state.h).
  std::uint64_t max_live_requests = kMaxLiveRequests;
  // Advance steady decode stretches of a replica (the same batch, step after step, until an
  // event) without the event queue, the scheduler rebuild and per-token bookkeeping; the result
  // is identical to the step-by-step run (false: step by step, the reference).
  bool fast_forward = true;
  // When set, receives how many steps the fast-forward advanced.
  FastForwardCounts* fast_forwarded = nullptr;
};

// Runs the simulation of an instance. Throws UserError for a request the deployment can never
// serve (named by its index in arrival order).
SimResult simulate(const PlanInstance& instance, RequestSource& requests, const RunOptions& options = {});

// instantiate_or_throw (no memory check: the simulation rejects what does not fit) + simulate.
SimResult simulate_plan(const Deployment& d, const Plan& plan, RequestSource& requests,
                        const EngineOverrides& extra = {}, bool record_requests = false,
                        bool breakdown = false);

}  // namespace apex
