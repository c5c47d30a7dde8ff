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

// A steady decode stretch (sim/replica.cpp fast-forward): the next steps hold every running
// request not in flight, each decoding one token per step, and nothing can join or leave them
// until a request finishes; what step j = 1, 2, ... takes and computes follows from the
// requests' state when it is planned. Filled by BatchScheduler::plan_steady.
struct SteadyPlan {
  std::int32_t last = 0;                 // the first step that finishes a request
  std::vector<std::int64_t> new_blocks;  // [(j - 1) % block_size]: KV blocks step j takes
  TimeNs min_arrival = 0;                // of the batch's requests
  BatchShape base;                       // step j's shape, less j keys per decode
  bool rebuild_shape = false;            // local attention: each step's shape is built afresh
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

  // Steady decode stretches (sim/replica.cpp fast-forward). At a step's build: when the next
  // steps would hold every running request not in flight, each decoding one token, with nobody
  // to admit, puts them in `mb` (in the order build() would) and plans the steps, whose first
  // is j = 1; `last_token` is when they all sampled their previous token. False otherwise.
  bool plan_steady(MicroBatch& mb, bool rebuild_shape, SteadyPlan& p, TimeNs& last_token) const;
  // No waiting request can be admitted to the next step: none waits, or the batch is at
  // max_num_seqs (admission is not even tried).
  bool admits_nothing() const;
  std::size_t running() const { return running_.size(); }
  void set_in_flight(const MicroBatch& mb, bool on) {
    // On: they stay listed, flagged in flight, until the next build. Off: those not listed land.
    bool unlisted = false;
    for (std::int32_t slot : mb.slots) {
      ActiveRequest& a = c_.requests[slot];
      a.in_flight = on;
      unlisted = unlisted || (a.running && !a.idle_listed);
    }
    if (!on && unlisted) land(mb);
  }
  // The shape of step j >= 1 of the plan (what build() would price).
  void steady_shape(const MicroBatch& mb, const SteadyPlan& p, std::int32_t j, BatchShape& out) const {
    if (p.rebuild_shape) return rebuild_steady_shape(mb, j, out);
    // Every decode reads j more keys than in the completed step; nothing else changes.
    out = p.base;
    out.decode_kv += static_cast<std::int64_t>(mb.slots.size()) * j;
  }
  // The requests' state after `completed` more steps of the plan completed and, with `in_flight`,
  // the next one built (its blocks taken); `last_token` is when the last completed step ended.
  void commit_steady(const MicroBatch& mb, std::int32_t completed, bool in_flight, TimeNs last_token);
  // Step j of a stretch was built (its `blocks` taken from the pool): records in limits() what
  // build() and next_batch() would have for that step, so knob reuse can read a fast-forwarded run.
  // O(1).
  void record_steady_step(const MicroBatch& mb, std::int64_t blocks);
  // Its KV part alone: for a further step of the stretch whose checks, made on an unchanged
  // scheduler state, would record nothing new.
  void record_steady_kv(std::int64_t blocks);

 protected:
  virtual bool build(MicroBatch& mb) = 0;
  // The policy builds a step of only running decodes, all of them in order, whenever no prefill
  // can run and no waiting request can be admitted (what steady() relies on).
  virtual bool decodes_steady() const { return false; }
  // The token-budget and max_num_seqs checks build() makes in a step of the `n` decodes of `mb`
  // that admits nothing (a steady stretch's step), made again on limits_. Every policy whose
  // decodes_steady() is true overrides it (the default is never called).
  virtual void record_steady_checks(const MicroBatch& mb);
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
  // Every running request not in flight, in running_'s order: what a step's build walks (under
  // pipeline parallelism most running requests are in other stages' micro-batches). It may also
  // hold requests flagged in flight since the last build (those a build took, steady steps
  // launched), which every walk skips and the next build drops first if they still fly (without
  // pipeline parallelism they have landed by then, and stay listed).
  std::vector<std::int32_t> idle_;
  bool preempted_ = false;  // something was preempted during this step's build
  TimeNs now_ = 0;
  LimitUse limits_;

 private:
  std::int32_t pick_victim() const;
  void rebuild_steady_shape(const MicroBatch& mb, std::int32_t j, BatchShape& out) const;
  // The first step of a steady stretch whose token does not fit the blocks `a` holds.
  static std::int64_t first_block_step(const ActiveRequest& a, std::int64_t block_size);
  void preempt(std::int32_t slot);
  void remove_running(std::int32_t slot);
  // idle_ upkeep: drop the requests flagged in flight; add mb's running requests (now landed).
  void drop_flying();
  void land(const MicroBatch& mb);
  std::uint64_t next_run_order_ = 0;
  std::vector<std::int32_t> merged_;  // land()'s scratch
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
