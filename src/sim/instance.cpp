#include "sim/instance.h"

#include <fmt/format.h>

#include "core/error.h"
#include "core/option_ref.h"
#include "core/units.h"

namespace apex {
namespace {

// KV tokens one request can occupy: the replica's blocks, or one rank's under data-parallel
// attention, minus the engine's admission watermark.
std::int64_t usable_kv_tokens(const MemoryFootprint& f, const Plan& plan, const EnginePolicy& engine) {
  std::int64_t blocks = plan.attn_dp ? f.kv_blocks / plan.tp : f.kv_blocks;
  blocks -= static_cast<std::int64_t>(engine.admission_watermark * static_cast<double>(f.kv_blocks));
  return std::max<std::int64_t>(0, blocks) * f.block_size;
}

// nullopt when the KV budget holds `longest_request` tokens, else the typed rejection.
std::optional<PlanRejection> check_memory(const PlanInstance& i, std::int64_t longest_request) {
  const MemoryFootprint& f = i.memory;
  // With the hybrid KV manager a request holds less than its length in full-model tokens.
  const std::int64_t need_tokens = i.local_kv.equivalent(longest_request);
  const double need_kv = static_cast<double>(need_tokens) * f.kv_bytes_per_token;
  const double fixed = f.weights + f.activation + f.runtime_reserve;
  // How far from fitting (ranks the nearest miss): the whole request's KV, as the search reports it.
  const double shortfall = (fixed + static_cast<double>(longest_request) * f.kv_bytes_per_token) / f.budget;
  if (fixed >= f.budget) {
    return PlanRejection{
        RejectReason::MemoryWeights,
        fmt::format("needs {} per GPU for weights ({}) + activations ({}) + reserve ({}) before "
                    "any KV cache, has {} ({} × {:.2f})",
                    format_bytes(fixed + need_kv), format_bytes(f.weights), format_bytes(f.activation),
                    format_bytes(f.runtime_reserve), format_bytes(f.budget), format_bytes(f.capacity),
                    i.engine.gpu_memory_utilization),
        shortfall};
  }
  if (i.usable_kv_tokens < need_tokens) {
    return PlanRejection{
        RejectReason::MemoryKvCache,
        fmt::format(
            "KV cache holds {} tokens for one request ({} per GPU{}), the longest request needs {}{} ({} "
            "per GPU)",
            i.usable_kv_tokens, format_bytes(f.kv_cache),
            i.plan.attn_dp ? ", one data-parallel attention rank" : "", longest_request,
            need_tokens != longest_request
                ? fmt::format(" (the KV of {} with local layers freed)", need_tokens)
                : std::string(),
            format_bytes(need_kv)),
        shortfall};
  }
  return std::nullopt;
}

// Everything about the plan once its stages and engine are known.
PlanInstance build(const Deployment& d, Plan plan, EnginePolicy engine) {
  ShardedModel sharded(d.model, plan, d.precision);
  const MemoryFootprint memory = memory_footprint(sharded, d.cluster, engine.memory_knobs());
  PlanInstance i{&d, std::move(plan), std::move(engine), std::move(sharded), memory, 0, LocalKv{}};
  i.usable_kv_tokens = usable_kv_tokens(i.memory, i.plan, i.engine);
  if (i.engine.free_local_kv) i.local_kv = i.sharded.local_kv(i.engine.block_size);
  return i;
}

}  // namespace

std::variant<PlanInstance, PlanRejection> instantiate(const Deployment& d, Plan plan,
                                                      const EngineKnobs& knobs,
                                                      std::optional<std::int64_t> longest_request,
                                                      const PlanOptions& options) {
  if (auto why = make_plan(d.model, d.cluster, plan, options)) return *why;
  EnginePolicy engine;
  try {
    engine = d.engine_policy(knobs);
  } catch (const UserError& e) {
    return PlanRejection{RejectReason::InvalidEngineKnobs, e.what()};
  }
  PlanInstance i = build(d, std::move(plan), std::move(engine));
  if (longest_request) {
    if (auto why = check_memory(i, *longest_request)) return *why;
  }
  return i;
}

PlanInstance instantiate_or_throw(const Deployment& d, Plan plan, const EngineKnobs& knobs,
                                  std::optional<std::int64_t> longest_request, const PlanOptions& options) {
  const std::string label = plan.label();
  auto r = instantiate(d, std::move(plan), knobs, longest_request, options);
  if (auto* why = std::get_if<PlanRejection>(&r)) {
    switch (why->reason) {
      case RejectReason::InvalidEngineKnobs:
        throw UserError(why->detail);
      case RejectReason::MemoryWeights:
      case RejectReason::MemoryKvCache:
        throw UserError(fmt::format("plan {} does not fit in memory: {}", label, why->detail));
      default:
        throw UserError(fmt::format("impossible plan {}: {}", label, why->detail));
    }
  }
  return std::get<PlanInstance>(std::move(r));
}

void make_plan_or_throw(const Deployment& d, Plan& plan, const PlanOptions& options) {
  if (auto why = make_plan(d.model, d.cluster, plan, options)) {
    throw UserError(fmt::format("impossible plan {}: {}", plan.label(), why->detail));
  }
}

std::int64_t required_kv_tokens(const Deployment& d, std::int64_t longest_request) {
  return std::max<std::int64_t>(longest_request, d.max_model_len.value_or(0));
}

std::optional<std::string> memory_check(const Deployment& d, const Plan& plan, const EnginePolicy& engine,
                                        std::int64_t longest_request) {
  if (auto why = check_memory(build(d, plan, engine), longest_request)) return why->detail;
  return std::nullopt;
}

SimResult simulate_plan(const Deployment& d, const Plan& plan, RequestSource& requests,
                        const EngineOverrides& extra, bool record_requests, bool breakdown) {
  APEX_ASSERT(!plan.stages.empty(), "simulate_plan needs a plan made by make_plan");
  return simulate(build(d, plan, d.engine_policy(extra)), requests, RunOptions{record_requests, breakdown});
}

MaxModelLenAdvice max_model_len_advice(const Deployment& d) {
  if (d.effective_max_model_len() < d.model.max_positions) {
    return {true, fmt::format("shorten it or raise {} (up to the model's context of {} tokens)",
                              opt("max_model_len"), d.model.max_positions)};
  }
  return {false,
          fmt::format("{}'s own context length, which {} cannot raise", d.model.name, opt("max_model_len"))};
}

}  // namespace apex
