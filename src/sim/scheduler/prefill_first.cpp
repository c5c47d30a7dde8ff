// sim/scheduler/prefill_first.cpp — vLLM V0's default scheduler (vllm/core/scheduler.py
// _schedule_default) and SGLang's: a step is all-prefill (unfinished chunks, then new prompts
// while they fit) when any prefill can run, else all-decode, preempting from the back of the
// running list (recompute) when a decode needs a block that is not available.
#include <algorithm>

#include "sim/engine.h"
#include "sim/scheduler/scheduler.h"

namespace apex {
namespace {

class PrefillFirstScheduler final : public BatchScheduler {
 public:
  using BatchScheduler::BatchScheduler;

 protected:
  bool build(MicroBatch& mb) override {
    const EnginePolicy& e = c_.engine;
    std::int64_t budget = e.max_num_batched_tokens;
    const std::int64_t mark = watermark();
    // Prefill step: unfinished chunked prefills first, then new prompts, while they fit.
    for (std::int32_t slot : idle_) {
      ActiveRequest& a = at(slot);
      if (a.in_flight) continue;
      const std::int64_t remaining = a.num_tokens() - a.computed;
      if (remaining <= 1 && a.generated > 0) continue;  // a decode: not part of a prefill step
      if (!budget_left(budget)) continue;
      const std::int64_t q = within_budget(remaining, budget);
      if (!kv_allocate(a, q)) break;
      add_to_batch(mb, slot, static_cast<std::int32_t>(q));
      budget -= q;
    }
    while (!waiting_.empty() && budget_left(budget) && below_max_seqs()) {
      if (!admit_head(mb, budget, mark)) break;
    }
    if (!mb.slots.empty()) return true;
    // Decode step: every running request that is not in flight gets its decode tokens.
    for (std::size_t i = 0; i < idle_.size();) {
      const std::int32_t slot = idle_[i];
      if (at(slot).in_flight) {
        ++i;
        continue;
      }
      const std::int32_t width = decode_width(at(slot));
      if (!allocate_or_preempt(slot, width)) break;
      add_to_batch(mb, slot, width);
      ++i;
    }
    return !mb.slots.empty();
  }
  bool decodes_steady() const override { return true; }
  // A decode step's build: no prefill to check, then the waiting queue meets a full batch.
  void record_steady_checks(const MicroBatch&) override {
    if (!waiting_.empty() && budget_left(c_.engine.max_num_batched_tokens)) below_max_seqs();
  }
};

std::unique_ptr<BatchScheduler> make_prefill_first(const SchedulerContext& c) {
  return std::make_unique<PrefillFirstScheduler>(c);
}

}  // namespace

const SchedulerSpec& prefill_first_scheduler() {
  static const SchedulerSpec spec{"prefill-first",
                                  "all-prefill steps whenever a prefill fits, else all-decode steps", true,
                                  &make_prefill_first};
  return spec;
}

}  // namespace apex
