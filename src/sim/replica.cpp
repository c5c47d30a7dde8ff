#include "sim/replica.h"

#include <algorithm>

namespace apex {

Replica::Replica(int index, int pp, int gpus_per_stage, bool breakdown, std::unique_ptr<KvManager> kv,
                 const CostModel& cost, MetricsCollector& metrics, EventSink& events)
    : index_(index),
      pp_(pp),
      gpus_per_stage_(gpus_per_stage),
      breakdown_(breakdown),
      kv_(std::move(kv)),
      cost_(cost),
      metrics_(metrics),
      events_(events) {
  batches_.resize(static_cast<std::size_t>(pp));
  batch_busy_.assign(static_cast<std::size_t>(pp), 0);
  stage_free_.assign(static_cast<std::size_t>(pp), 0);
}

void Replica::try_schedule(TimeNs now) {
  while (in_flight_ < pp_ && stage_free_[0] <= now) {
    if (!scheduler_->has_work()) return;
    int b = 0;
    while (batch_busy_[static_cast<std::size_t>(b)])
      ++b;
    MicroBatch& mb = batches_[static_cast<std::size_t>(b)];
    const EngineCosts& ec = cost_.engine_costs();
    if (!scheduler_->next_batch(mb, now)) return;
    // Asynchronous scheduling: when the previous step has just ended and this step carries a
    // request known when that one started, this step's CPU work began then, behind it; only what
    // exceeds it is exposed (plus async_gap). A step of requests that all arrived later (an engine
    // that had drained) pays its CPU work, as without async.
    bool overlapped = ec.async_scheduling && pp_ == 1 && last_end_ == now;
    if (overlapped) {
      overlapped = false;
      scheduler_->for_each(
          mb, [&](const ActiveRequest& a) { overlapped = overlapped || a.arrival <= last_start_; });
    }
    const TimeNs t = launch(mb, b, now, overlapped);
    scheduler_->for_each(mb, [&](ActiveRequest& a) { metrics_.on_scheduled(a, now); });
    if (fast_forward_ && pp_ == 1) {
      const TimeNs next = fast_forward(mb, b, t);
      if (next < 0) continue;  // posted (pp = 1: the loop ends)
      now = next;              // what step-by-step does at the event of the last completed step
      continue;
    }
    events_.batch_done_at(t, index_, b);
  }
  // A pipeline slot is open but stage 0 is still busy: wake up when it frees.
  if (in_flight_ < pp_ && stage_free_[0] > now && scheduler_->has_work() && wake_at_ != stage_free_[0]) {
    wake_at_ = stage_free_[0];
    events_.wake_at(stage_free_[0], index_);
  }
}

TimeNs Replica::launch(MicroBatch& mb, int b, TimeNs now, bool overlapped) {
  const EngineCosts& ec = cost_.engine_costs();
  // Launch: CPU step overhead, then the micro-batch walks the stages in FIFO order. Each
  // stage's start waits for the previous stage and for the stage's previous micro-batch.
  cost_.stage_times(mb.shape, stage_s_);
  if (mb.kv_load_blocks > 0) stage_s_[0] += kv_->load_seconds(mb.kv_load_blocks);  // CPU KV offload
  const TimeNs cpu = seconds_to_ns(cost_.step_overhead(mb.shape));
  const TimeNs overhead =
      overlapped ? std::max(seconds_to_ns(ec.async_gap), last_start_ + cpu - now) : std::max<TimeNs>(1, cpu);
  TimeNs t = now + overhead;
  if (pp_ == 1) last_start_ = t;
  TimeBreakdown& time = metrics_.time();
  time.cpu_overhead += ns_to_seconds(overhead);
  if (breakdown_) time.kernels += cost_.step_breakdown(mb.shape);
  for (int s = 0; s < pp_; ++s) {
    const TimeNs start = std::max(t, stage_free_[static_cast<std::size_t>(s)]);
    const TimeNs end = start + std::max<TimeNs>(1, seconds_to_ns(stage_s_[static_cast<std::size_t>(s)]));
    stage_free_[static_cast<std::size_t>(s)] = end;
    const TimeNs hop = s + 1 < pp_ ? seconds_to_ns(cost_.pp_transfer(s, mb.shape.tokens())) : 0;
    time.pp_transfer += ns_to_seconds(hop);
    t = end + hop;
  }
  if (pp_ == 1) last_end_ = t;
  mb.start = now;
  batch_busy_[static_cast<std::size_t>(b)] = 1;
  ++in_flight_;
  metrics_.on_launch(mb.shape, cost_.work(mb.shape), stage_s_, gpus_per_stage_);
  // Busy time is the union of in-flight intervals (micro-batches overlap under PP).
  metrics_.on_busy(ns_to_seconds(std::max<TimeNs>(0, t - std::max(now, busy_until_))));
  busy_until_ = std::max(busy_until_, t);
  metrics_.on_kv_use(kv_->pool().utilization());
  return t;
}

TimeNs Replica::fast_forward(MicroBatch& mb, int b, TimeNs t) {
  // Each instant below is one the step-by-step run has: the step's completion event, with no
  // other event or arrival at or before it, then this replica scheduling its next step.
  const TimeNs horizon = events_.horizon(index_);
  if (t >= horizon || !scheduler_->steady(mb)) {
    events_.batch_done_at(t, index_, b);
    return -1;
  }
  // The step completes as by its event (complete() empties the slots; the batch stays).
  slots_ = mb.slots;
  events_.pass(t);
  metrics_.on_fast_forward();
  scheduler_->complete(mb, t);
  retire(b);
  mb.slots.swap(slots_);
  if (!scheduler_->plan_steady(mb, cost_.has_local_attention(), plan_)) return t;
  group_.all = 0;
  group_.stages.clear();
  scheduler_->for_each(mb, [&](const ActiveRequest& a) { metrics_.join(group_, a); });
  const bool async = cost_.engine_costs().async_scheduling;
  const auto block_size = static_cast<std::int32_t>(plan_.new_blocks.size());
  TimeNs prev = t;
  for (std::int32_t j = 1;; ++j) {
    // Step j, built at `prev`: every decode takes the blocks its next token needs; a shortfall
    // (eviction or preemption) is the scheduler's to build.
    const std::int64_t blocks = plan_.new_blocks[static_cast<std::size_t>((j - 1) % block_size)];
    if (blocks > kv_->pool().free()) {
      scheduler_->commit_steady(mb, j - 1, false, prev);
      return prev;
    }
    kv_->pool().take(blocks);
    scheduler_->steady_shape(mb, plan_, j, mb.shape);
    const bool overlapped = async && last_end_ == prev && plan_.min_arrival <= last_start_;
    const TimeNs end = launch(mb, b, prev, overlapped);
    if (j == plan_.last || end >= horizon) {  // it finishes a request, or something else happens first
      scheduler_->commit_steady(mb, j - 1, true, prev);
      events_.batch_done_at(end, index_, b);
      return -1;
    }
    events_.pass(end);
    metrics_.on_fast_forward();
    metrics_.on_tokens(group_, end - prev);
    retire(b);
    prev = end;
  }
}

void Replica::on_batch_done(int b, TimeNs now) {
  scheduler_->complete(batches_[static_cast<std::size_t>(b)], now);
  batch_busy_[static_cast<std::size_t>(b)] = 0;
  --in_flight_;
}

}  // namespace apex
