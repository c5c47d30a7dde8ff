// sim/scheduler/reserve_full.cpp — TensorRT-LLM's GUARANTEED_NO_EVICT capacity policy
// (tensorrt_llm/_torch/pyexecutor/scheduler.py, CapacitySchedulerPolicy): batches as the mixed
// policy does, but a request is admitted only when the KV blocks of its whole sequence (prompt +
// max output) can be reserved, so running requests are never preempted for blocks.
#include "sim/scheduler/mixed.h"

namespace apex {
namespace {

class ReserveFullScheduler final : public MixedScheduler {
 public:
  using MixedScheduler::MixedScheduler;

 protected:
  bool reserve(const ActiveRequest& a) override { return kv_reserve(final_blocks(a)); }
  void unreserve(const ActiveRequest& a) override { c_.kv.pool().unreserve(final_blocks(a)); }

 private:
  std::int64_t final_blocks(const ActiveRequest& a) const {
    return c_.kv.pool().blocks_for(static_cast<std::int64_t>(a.prompt) + a.output);
  }
};

std::unique_ptr<BatchScheduler> make_reserve_full(const SchedulerContext& c) {
  return std::make_unique<ReserveFullScheduler>(c);
}

}  // namespace

const SchedulerSpec& reserve_full_scheduler() {
  static const SchedulerSpec spec{"reserve-full-sequence",
                                  "mixed batches; admits a request only when its whole sequence's blocks can "
                                  "be reserved (no preemption)",
                                  false, &make_reserve_full};
  return spec;
}

}  // namespace apex
