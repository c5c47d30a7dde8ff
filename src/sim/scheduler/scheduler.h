// sim/scheduler/scheduler.h — the batch scheduler of one replica: which requests run in the next
// step and how many tokens each. The queues, admission and the one preemption routine are shared
// here; a policy (mixed.cpp, prefill_first.cpp, reserve_full.cpp) decides the order. A new policy
// is a new file with a SchedulerSpec that an engine names in its EnginePolicy.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "perf/batch_shape.h"
#include "sim/kv/kv_manager.h"
#include "sim/metrics/result.h"
#include "sim/request_state.h"

namespace apex {

struct EnginePolicy;

// What a scheduler tells the rest of the simulation as requests progress.
class SchedulerEvents {
 public:
  virtual ~SchedulerEvents() = default;
  virtual void on_tokens(ActiveRequest& a, std::int32_t n, TimeNs now) = 0;  // n tokens sampled at `now`
  virtual void on_finish(std::int32_t slot, TimeNs now) = 0;                 // last token; blocks released
  virtual void on_preempt(ActiveRequest& a) = 0;
  virtual void on_prefix_hit(std::int32_t tokens) = 0;  // prompt tokens served from the prefix cache
  // Of those, tokens loaded back from the CPU offload tier (also counted by on_prefix_hit).
  virtual void on_prefix_cpu_hit(std::int32_t /*tokens*/) {}
};

struct SchedulerContext {
  const EnginePolicy& engine;
  RequestTable& requests;
  KvManager& kv;
  const ShapeBuilder& shapes;
  SchedulerEvents& events;
};

class BatchScheduler {
 public:
  explicit BatchScheduler(const SchedulerContext& c) : c_(c) {}
  virtual ~BatchScheduler() = default;
  BatchScheduler(const BatchScheduler&) = delete;
  BatchScheduler& operator=(const BatchScheduler&) = delete;

  void enqueue(std::int32_t slot) { waiting_.push_back(slot); }
  std::size_t load() const { return waiting_.size() + running_.size(); }
  bool has_work() const { return !waiting_.empty() || !running_.empty(); }
  // How close this replica's steps came to the engine's limits (SimResult::limits).
  const LimitUse& limits() const { return limits_; }
  // Builds the next micro-batch at `now` into `mb`; false when nothing can be scheduled.
  bool next_batch(MicroBatch& mb, TimeNs now);
  // `mb` finished at `now`: its requests advance (tokens sampled, speculative drafts accepted,
  // prefixes cached); finished requests release their blocks.
  void complete(MicroBatch& mb, TimeNs now);
  // Calls f(request) for each request of `mb`.
  template <class F>
  void for_each(const MicroBatch& mb, F f) {
    for (std::int32_t slot : mb.slots)
      f(c_.requests[slot]);
  }

 protected:
  virtual bool build(MicroBatch& mb) = 0;
  // Admission hook of capacity policies: false when `a` may not start (its reservation fails).
  virtual bool reserve(const ActiveRequest&) { return true; }
  virtual void unreserve(const ActiveRequest&) {}

  // The head of the waiting queue joins the batch with as much of its prompt as `budget` allows
  // (all of it without chunked prefill), if its blocks are available above `watermark`. FCFS:
  // false when the head cannot start (nothing behind it does).
  bool admit_head(MicroBatch& mb, std::int64_t& budget, std::int64_t watermark);
  // Allocates `q` tokens for running request `slot`, preempting from the back of the running
  // list (recompute) until it fits; false if it does not (then `slot` may itself be preempted).
  bool allocate_or_preempt(std::int32_t slot, std::int64_t q);
  void add_to_batch(MicroBatch& mb, std::int32_t slot, std::int32_t q);
  // Tokens a decoding request schedules in one step: 1, plus the draft tokens it verifies under
  // speculative decoding (never more than its remaining output needs).
  std::int32_t decode_width(const ActiveRequest& a) const;
  std::int64_t watermark() const;
  // The limit checks, each recorded in limits_ and returning what the bare comparison does:
  // running_.size() < max_num_seqs; budget > 0; min(q, budget); q <= budget (of a step's
  // max_num_batched_tokens, `budget` left); `need` blocks free above `mark`; the KV manager's
  // allocate; the block pool's reservation of `blocks`.
  bool below_max_seqs();
  bool budget_left(std::int64_t budget);
  std::int64_t within_budget(std::int64_t q, std::int64_t budget);
  bool fits_budget(std::int64_t q, std::int64_t budget);
  bool kv_admits(std::int64_t need, std::int64_t mark);
  bool kv_allocate(ActiveRequest& a, std::int64_t q);
  bool kv_reserve(std::int64_t blocks);
  ActiveRequest& at(std::int32_t slot) { return c_.requests[slot]; }

  const SchedulerContext c_;
  std::deque<std::int32_t> waiting_;
  std::vector<std::int32_t> running_;
  bool preempted_ = false;  // something was preempted during this step's build
  TimeNs now_ = 0;
  LimitUse limits_;

 private:
  std::int32_t pick_victim() const;
  void preempt(std::int32_t slot);
  void remove_running(std::int32_t slot);
};

// A named scheduling policy (EnginePolicy::scheduler).
struct SchedulerSpec {
  std::string name;
  std::string description;
  // Steps carry whole prompts: the token budget must hold the longest prompt unless chunked.
  bool prefill_first = false;
  std::unique_ptr<BatchScheduler> (*make)(const SchedulerContext&);
};

const SchedulerSpec& mixed_scheduler();          // vLLM V1: running first, then FCFS admission
const SchedulerSpec& prefill_first_scheduler();  // vLLM V0, SGLang: prefill steps, else decode steps
const SchedulerSpec& reserve_full_scheduler();   // TensorRT-LLM GUARANTEED_NO_EVICT

}  // namespace apex
