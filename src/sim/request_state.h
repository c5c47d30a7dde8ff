// sim/request_state.h — the runtime state of the requests a simulation holds (arrived, not
// finished), in one flat table of slots reused as requests complete, and the micro-batch a
// scheduler builds from them.
#pragma once

#include <cstdint>
#include <vector>

#include "core/units.h"
#include "perf/cost_model.h"

namespace apex {

struct ActiveRequest {
  std::uint64_t id = 0;
  TimeNs arrival = 0;
  TimeNs first_token = -1;
  TimeNs last_token = -1;
  std::int32_t prompt = 0;
  std::int32_t output = 0;
  std::int32_t generated = 0;  // output tokens sampled so far
  std::int32_t computed = 0;   // tokens whose KV is computed (vLLM num_computed_tokens)
  std::int32_t blocks = 0;     // KV blocks held privately
  std::int32_t scheduled = 0;  // tokens in the in-flight micro-batch
  bool in_flight = false;
  bool running = false;         // in the scheduler's running list (holds blocks)
  std::uint64_t run_order = 0;  // when it (last) joined the running list: that list's order
  bool idle_listed = false;     // in the scheduler's list of requests not in flight
  bool queue_recorded = false;
  double spec_credit = 0;              // speculative decoding: expected accepted tokens not yet emitted
  std::int64_t prefix_group = -1;      // prefix caching: the group whose cached blocks this request uses
  std::int32_t prefix = 0;             // shared prompt tokens of that group
  std::int32_t shared_blocks = 0;      // blocks of the cached prefix this request reads
  bool holds_prefix = false;           // counted in the cached prefix's references
  std::int32_t cpu_loaded_blocks = 0;  // CPU KV offload: prefix blocks loaded back at admission
  std::int32_t replica = 0;
  std::int32_t preemptions = 0;
  std::int32_t stage = 0;  // the load stage it arrived in (Request::stage)

  std::int32_t num_tokens() const { return prompt + generated; }
};

// The most requests a simulation holds at once (arrived, unfinished): memory is bounded by this,
// not by the trace length; a load that queues more is refused (UserError) as far beyond capacity.
inline constexpr std::uint64_t kMaxLiveRequests = std::uint64_t{1} << 22;  // 4,194,304

// Slots of active requests; a finished request's slot is reused by the next arrival.
class RequestTable {
 public:
  std::int32_t add() {
    ++live_;
    if (!free_.empty()) {
      const std::int32_t s = free_.back();
      free_.pop_back();
      slots_[static_cast<std::size_t>(s)] = ActiveRequest{};
      return s;
    }
    slots_.emplace_back();
    return static_cast<std::int32_t>(slots_.size() - 1);
  }
  void remove(std::int32_t slot) {
    --live_;
    free_.push_back(slot);
  }
  ActiveRequest& operator[](std::int32_t slot) { return slots_[static_cast<std::size_t>(slot)]; }
  const ActiveRequest& operator[](std::int32_t slot) const { return slots_[static_cast<std::size_t>(slot)]; }
  // Requests in the system (arrived, not finished).
  std::uint64_t live() const { return live_; }

 private:
  std::vector<ActiveRequest> slots_;
  std::vector<std::int32_t> free_;
  std::uint64_t live_ = 0;
};

struct MicroBatch {
  std::vector<std::int32_t> slots;
  BatchShape shape;
  std::int64_t kv_load_blocks = 0;  // CPU KV offload: prefix blocks loaded from host memory first
  TimeNs start = 0;
};

}  // namespace apex
