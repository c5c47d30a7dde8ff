#include "search/knob_reuse.h"

#include <algorithm>
#include <tuple>

namespace apex {
namespace {

// Every field of the engine costs (a field added to EngineCosts stops this from compiling until
// it is listed).
bool same_costs(const EngineCosts& a, const EngineCosts& b) {
  const auto fields = [](const EngineCosts& c) {
    const auto& [step_overhead, per_seq_overhead, graph_max_tokens, eager_launch, graph_decode_only,
                 varlen_attention, custom_all_reduce, custom_ar_pcie_gpus, custom_ar_max_bytes,
                 symm_mem_max_bytes, async_scheduling, moe_ep_masked, async_gap, spec_tokens, spec_acceptance,
                 frontend_latency] = c;
    return std::tie(step_overhead, per_seq_overhead, graph_max_tokens, eager_launch, graph_decode_only,
                    varlen_attention, custom_all_reduce, custom_ar_pcie_gpus, custom_ar_max_bytes,
                    symm_mem_max_bytes, async_scheduling, moe_ep_masked, async_gap, spec_tokens,
                    spec_acceptance, frontend_latency);
  };
  return fields(a) == fields(b);
}

// Every field of the resolved engine but the two knobs (max_num_seqs, max_num_batched_tokens),
// including the costs derived from them (vLLM's CUDA-graph capture size).
bool same_engine_but_knobs(const EnginePolicy& a, const EnginePolicy& b) {
  const auto fields = [](const EnginePolicy& p) {
    const auto& [name, version, description, sources, scheduler, chunked_prefill, max_num_seqs,
                 max_num_batched_tokens, gpu_memory_utilization, block_size, long_prefill_token_threshold,
                 admission_watermark, kv_free_fraction, free_local_kv, prefix_caching, prefix_cache,
                 supports_cpu_offload, cpu_offload_bytes, costs, supports_async_scheduling] = p;
    (void)max_num_seqs;
    (void)max_num_batched_tokens;
    return std::tie(name, version, description, sources, scheduler, chunked_prefill, gpu_memory_utilization,
                    block_size, long_prefill_token_threshold, admission_watermark, kv_free_fraction,
                    free_local_kv, prefix_caching, prefix_cache, supports_cpu_offload, cpu_offload_bytes,
                    supports_async_scheduling);
  };
  return fields(a) == fields(b) && same_costs(a.costs, b.costs);
}

bool same_plan(const Plan& a, const Plan& b) {
  return a.dp == b.dp && a.tp == b.tp && a.pp == b.pp && a.ep == b.ep && a.attn_dp == b.attn_dp &&
         a.stages.size() == b.stages.size();
}

// A knob's new value reproduces the run: the value it had where it bound, else at least what the
// run needed.
bool knob_fits(bool bound, std::int64_t value, std::int64_t was, std::int64_t needed) {
  return bound ? value == was : value >= needed;
}

// peak_kv_utilization over `blocks` (BlockPool::utilization at the fullest launch).
double peak_utilization(std::int64_t used, std::int64_t blocks) {
  return static_cast<double>(used) / static_cast<double>(blocks);
}

// Settings whose runs could ever stand for each other: the same plan, engine but the knobs (costs
// included) and KV block bytes.
bool same_class(const PlanInstance& iy, const PlanInstance& ix) {
  return &iy.d() == &ix.d() && same_plan(iy.plan, ix.plan) && same_engine_but_knobs(iy.engine, ix.engine) &&
         ix.memory.block_size == iy.memory.block_size &&
         ix.memory.kv_bytes_per_token == iy.memory.kv_bytes_per_token;  // (the CPU offload tier's blocks)
}

}  // namespace

bool run_reusable_for(const PlanOutcome& y, const PlanOutcome& x) {
  if (!y.result || !y.instance || !x.instance) return false;
  const LimitUse& u = y.result->limits;
  if (!u.recorded) return false;
  const PlanInstance& iy = *y.instance;
  const PlanInstance& ix = *x.instance;
  if (!same_class(iy, ix)) return false;
  if (!knob_fits(u.max_num_seqs, ix.engine.max_num_seqs, iy.engine.max_num_seqs, u.seqs_needed) ||
      !knob_fits(u.max_num_batched_tokens, ix.engine.max_num_batched_tokens, iy.engine.max_num_batched_tokens,
                 u.tokens_needed)) {
    return false;
  }
  const MemoryFootprint& my = iy.memory;
  const MemoryFootprint& mx = ix.memory;
  if (mx.kv_blocks == my.kv_blocks) return true;
  // Another cache size: only if the cache never bound and every check still passes, with the
  // admission watermark over the new size (BatchScheduler::watermark), and the reported peak
  // utilization is recomputed exactly.
  if (u.kv_cache) return false;
  const std::int64_t blocks = mx.kv_blocks;
  const auto mark = static_cast<std::int64_t>(ix.engine.admission_watermark * static_cast<double>(blocks));
  return blocks > 0 && blocks >= u.kv_blocks_needed && blocks - mark >= u.kv_admit_needed &&
         peak_utilization(u.kv_peak_used, my.kv_blocks) == y.result->peak_kv_utilization;
}

SimResult reused_result(const PlanOutcome& y, const PlanOutcome& x) {
  SimResult r = *y.result;
  const MemoryFootprint& mx = x.instance->memory;
  if (mx.kv_blocks != r.memory.kv_blocks)
    r.peak_kv_utilization = peak_utilization(r.limits.kv_peak_used, mx.kv_blocks);
  r.memory = mx;
  return r;
}

std::uint64_t KnobReuse::run_wave(const std::vector<PlanOutcome*>& wave,
                                  const std::function<void(std::vector<PlanOutcome*>&)>& run,
                                  const std::function<void(PlanOutcome&)>& reused) {
  std::uint64_t count = 0;
  std::vector<PlanOutcome*> pending = wave;
  while (!pending.empty()) {
    // A round runs, of each plan, the first pending setting of each class (settings of different
    // classes never stand for each other, so running them together wastes nothing).
    std::vector<PlanOutcome*> round, rest;
    const auto in_round = [&](const PlanOutcome& o) {
      return std::any_of(round.begin(), round.end(), [&](const PlanOutcome* r) {
        return plan_of(*r) == plan_of(o) && same_class(*r->instance, *o.instance);
      });
    };
    for (PlanOutcome* o : pending) {
      const std::vector<const PlanOutcome*>& runs = runs_[plan_of(*o)];
      const PlanOutcome* from = nullptr;
      for (const PlanOutcome* y : runs) {
        if (run_reusable_for(*y, *o)) {
          from = y;
          break;
        }
      }
      if (from != nullptr) {
        o->result = reused_result(*from, *o);
        reused(*o);
        ++count;
      } else if (in_round(*o)) {
        rest.push_back(o);
      } else {
        round.push_back(o);
      }
    }
    if (!round.empty()) {
      run(round);
      for (const PlanOutcome* o : round)
        runs_[plan_of(*o)].push_back(o);
    }
    pending = std::move(rest);
  }
  return count;
}

}  // namespace apex
