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
    // Launch: CPU step overhead, then the micro-batch walks the stages in FIFO order. Each
    // stage's start waits for the previous stage and for the stage's previous micro-batch.
    cost_.stage_times(mb.shape, stage_s_);
    if (mb.kv_load_blocks > 0) stage_s_[0] += kv_->load_seconds(mb.kv_load_blocks);  // CPU KV offload
    const TimeNs cpu = seconds_to_ns(cost_.step_overhead(mb.shape));
    const TimeNs overhead = overlapped ? std::max(seconds_to_ns(ec.async_gap), last_start_ + cpu - now)
                                       : std::max<TimeNs>(1, cpu);
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
    scheduler_->for_each(mb, [&](ActiveRequest& a) { metrics_.on_scheduled(a, now); });
    batch_busy_[static_cast<std::size_t>(b)] = 1;
    ++in_flight_;
    metrics_.on_launch(mb.shape, cost_.work(mb.shape), stage_s_, gpus_per_stage_);
    // Busy time is the union of in-flight intervals (micro-batches overlap under PP).
    metrics_.on_busy(ns_to_seconds(std::max<TimeNs>(0, t - std::max(now, busy_until_))));
    busy_until_ = std::max(busy_until_, t);
    events_.batch_done_at(t, index_, b);
    metrics_.on_kv_use(kv_->pool().utilization());
  }
  // A pipeline slot is open but stage 0 is still busy: wake up when it frees.
  if (in_flight_ < pp_ && stage_free_[0] > now && scheduler_->has_work() && wake_at_ != stage_free_[0]) {
    wake_at_ = stage_free_[0];
    events_.wake_at(stage_free_[0], index_);
  }
}

void Replica::on_batch_done(int b, TimeNs now) {
  scheduler_->complete(batches_[static_cast<std::size_t>(b)], now);
  batch_busy_[static_cast<std::size_t>(b)] = 0;
  --in_flight_;
}

}  // namespace apex
