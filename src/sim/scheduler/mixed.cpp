// sim/scheduler/mixed.cpp — vLLM V1's scheduler (vllm/v1/core/sched/scheduler.py): every step
// serves the running requests first, in order (decodes and unfinished prefill chunks, preempting
// from the back of the running list when blocks run out), then admits waiting requests FCFS
// within the token budget, but only when nothing was preempted this step.
#include <algorithm>

#include "sim/engine.h"
#include "sim/scheduler/mixed.h"

namespace apex {

bool MixedScheduler::build(MicroBatch& mb) {
  const EnginePolicy& e = c_.engine;
  std::int64_t budget = e.max_num_batched_tokens;
  // 1. Running requests, in order: decodes and unfinished prefill chunks.
  for (std::size_t i = 0; i < idle_.size() && budget_left(budget);) {
    const std::int32_t slot = idle_[i];
    ActiveRequest& a = at(slot);
    if (a.in_flight) {
      ++i;
      continue;
    }
    std::int64_t q = a.num_tokens() - a.computed;
    if (q == 1 && a.generated > 0) q = decode_width(a);
    if (e.long_prefill_token_threshold > 0) q = std::min<std::int64_t>(q, e.long_prefill_token_threshold);
    q = within_budget(q, budget);
    if (!allocate_or_preempt(slot, q)) break;
    add_to_batch(mb, slot, static_cast<std::int32_t>(q));
    budget -= q;
    ++i;
  }
  // 2. Waiting requests, FCFS, only if nothing was preempted this step.
  if (!preempted_) {
    const std::int64_t mark = watermark();
    while (!waiting_.empty() && budget_left(budget) && below_max_seqs()) {
      if (!admit_head(mb, budget, mark)) break;
    }
  }
  return !mb.slots.empty();
}

void MixedScheduler::record_steady_checks(const MicroBatch& mb) {
  const auto n = static_cast<std::int64_t>(mb.slots.size());
  const std::int64_t tokens = c_.engine.max_num_batched_tokens;
  // Step 1's loop checks the budget before each running request; the budget shrinks by one at
  // each of the n decodes (every running request not in flight, n <= the budget), so the last
  // check sees n - 1 taken when the last running request is one of them, else n. Each decode's
  // single token fits.
  budget_left(tokens - (at(running_.back()).in_flight ? n : n - 1));
  // Step 2 (nothing is preempted in a stretch): a waiting request meets a full batch.
  if (!waiting_.empty() && budget_left(tokens - n)) below_max_seqs();
}

namespace {
std::unique_ptr<BatchScheduler> make_mixed(const SchedulerContext& c) {
  return std::make_unique<MixedScheduler>(c);
}
}  // namespace

const SchedulerSpec& mixed_scheduler() {
  static const SchedulerSpec spec{"mixed",
                                  "running requests first (decodes, prefill chunks), then FCFS admission "
                                  "within the token budget",
                                  false, &make_mixed};
  return spec;
}

}  // namespace apex
