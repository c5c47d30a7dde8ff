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
  const bool ff = fast_forward_ && pp_ == 1;
  while (in_flight_ < pp_ && stage_free_[0] <= now) {
    if (!scheduler_->has_work()) return;
    int b = 0;
    while (batch_busy_[static_cast<std::size_t>(b)])
      ++b;
    MicroBatch& mb = batches_[static_cast<std::size_t>(b)];
    TimeNs t = 0;
    if (!ff || !(steady_ || candidate_) || !launch_steady(mb, b, now, t)) {
      if (!scheduler_->next_batch(mb, now)) return;
      // Asynchronous scheduling: when the previous step has just ended and this step carries a
      // request known when that one started, this step's CPU work began then, behind it; only
      // what exceeds it is exposed (plus async_gap). A step of requests that all arrived later
      // (an engine that had drained) pays its CPU work, as without async.
      const EngineCosts& ec = cost_.engine_costs();
      bool overlapped = ec.async_scheduling && pp_ == 1 && last_end_ == now;
      if (overlapped) {
        overlapped = false;
        scheduler_->for_each(
            mb, [&](const ActiveRequest& a) { overlapped = overlapped || a.arrival <= last_start_; });
      }
      t = launch(mb, b, now, overlapped);
      scheduler_->for_each(mb, [&](ActiveRequest& a) { metrics_.on_scheduled(a, now); });
      candidate_ = ff && scheduler_->steady(mb);
    }
    // Nothing else happens before a steady step ends: it completes here, as at its event (the
    // event loop's instant `t` with only this completion, then this replica's turn).
    if ((steady_ || candidate_) && t < events_.horizon(index_)) {
      events_.pass(t);
      metrics_.on_fast_forward(FastForwardCounts::kWithoutQueue);
      finish(b, t);
      now = t;
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

bool Replica::launch_steady(MicroBatch& mb, int b, TimeNs now, TimeNs& t) {
  if (!steady_) {
    // The steady step just completed (complete() ran): plan the stretch after it.
    candidate_ = false;
    if (!scheduler_->admits_nothing() || !scheduler_->plan_steady(mb, cost_.has_local_attention(), plan_))
      return false;
    steady_ = true;
    done_ = 0;
    group_.all = 0;
    group_.stages.clear();
    scheduler_->for_each(mb, [&](const ActiveRequest& a) { metrics_.join(group_, a); });
  } else if (!scheduler_->admits_nothing()) {  // a request arrived that the next step would admit
    end_stretch(mb, false, now);
    return false;
  }
  // Step j of the plan, built at `now` (when step j - 1 ended): every decode takes the block its
  // next token needs; a shortfall (eviction or preemption) is the scheduler's to build.
  const std::int32_t j = done_ + 1;
  const auto block_size = static_cast<std::int32_t>(plan_.new_blocks.size());
  const std::int64_t blocks = plan_.new_blocks[static_cast<std::size_t>((j - 1) % block_size)];
  if (blocks > kv_->pool().free()) {
    end_stretch(mb, false, now);
    return false;
  }
  kv_->pool().take(blocks);
  scheduler_->steady_shape(mb, plan_, j, mb.shape);
  const bool overlapped =
      cost_.engine_costs().async_scheduling && last_end_ == now && plan_.min_arrival <= last_start_;
  t = launch(mb, b, now, overlapped);
  if (j == plan_.last) end_stretch(mb, true, now);  // it finishes a request: a plain step from here
  return true;
}

void Replica::end_stretch(const MicroBatch& mb, bool in_flight, TimeNs now) {
  scheduler_->commit_steady(mb, done_, in_flight, now);
  steady_ = false;
}

void Replica::finish(int b, TimeNs now) {
  MicroBatch& mb = batches_[static_cast<std::size_t>(b)];
  if (steady_) {
    // A step of the stretch: every request sampled one token `now - (previous step's end)`.
    metrics_.on_fast_forward(FastForwardCounts::kPlanned);
    metrics_.on_tokens(group_, now - last_token_);
    ++done_;
  } else if (candidate_) {
    slots_ = mb.slots;  // the stretch after it plans from this batch
    scheduler_->complete(mb, now);
    mb.slots.swap(slots_);
  } else {
    scheduler_->complete(mb, now);
  }
  last_token_ = now;
  batch_busy_[static_cast<std::size_t>(b)] = 0;
  --in_flight_;
}

void Replica::on_batch_done(int b, TimeNs now) {
  finish(b, now);
}

}  // namespace apex
