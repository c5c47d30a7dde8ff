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
  stretch_.resize(static_cast<std::size_t>(pp));
  hops_.resize(static_cast<std::size_t>(pp));
}

void Replica::try_schedule(TimeNs now) {
  while (in_flight_ < pp_ && stage_free_[0] <= now) {
    if (!scheduler_->has_work()) return;
    int b = 0;
    while (batch_busy_[static_cast<std::size_t>(b)])
      ++b;
    TimeNs t = 0;
    bool launched = false;
    if (fast_forward_) {
      const int r = relaunchable();
      if (r >= 0) {
        if (r != b) {  // the batch and its stretch move to the free slot
          std::swap(batches_[static_cast<std::size_t>(r)], batches_[static_cast<std::size_t>(b)]);
          std::swap(stretch_[static_cast<std::size_t>(r)], stretch_[static_cast<std::size_t>(b)]);
        }
        launched = launch_steady(b, now, t);
      }
      if (!launched) {
        end_completed_stretches();
        Stretch& s = stretch_[static_cast<std::size_t>(b)];
        MicroBatch& next = batches_[static_cast<std::size_t>(b)];
        if (scheduler_->plan_steady(next, cost_.has_local_attention(), s.plan, s.last_token)) {
          s.active = true;
          s.done = 0;
          s.group.all = 0;
          s.group.stages.clear();
          scheduler_->for_each(next, [&](const ActiveRequest& a) { metrics_.join(s.group, a); });
          s.priced = !s.plan.rebuild_shape && cost_.decode_steps(next.shape, s.steps);
          launched = launch_steady(b, now, t);
        }
      }
    }
    MicroBatch& mb = batches_[static_cast<std::size_t>(b)];
    if (!launched) {
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
      t = launch(mb, b, now, overlapped, nullptr);
      scheduler_->for_each(mb, [&](ActiveRequest& a) { metrics_.on_scheduled(a, now); });
    }
    // pp = 1: nothing else happens before a steady step ends, so it completes here, as at its
    // event (the event loop's instant `t` with only this completion, then this replica's turn).
    if (pp_ == 1 && stretch_[0].active && t < events_.horizon(index_)) {
      events_.pass(t);
      metrics_.on_fast_forward(FastForwardCounts::kWithoutQueue);
      finish(b, t);
      now = t;
      if (stretch_[0].active && relaunchable() == 0) now = run_steady(now);
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

TimeNs Replica::launch(MicroBatch& mb, int b, TimeNs now, bool overlapped,
                       const CostModel::DecodeSteps* steps) {
  const EngineCosts& ec = cost_.engine_costs();
  // Launch: CPU step overhead, then the micro-batch walks the stages in FIFO order. Each
  // stage's start waits for the previous stage and for the stage's previous micro-batch.
  if (steps != nullptr) {
    steps->times(mb.shape.decode_kv, stage_s_);
  } else {
    cost_.stage_times(mb.shape, stage_s_);
  }
  if (mb.kv_load_blocks > 0) stage_s_[0] += kv_->load_seconds(mb.kv_load_blocks);  // CPU KV offload
  const TimeNs cpu = seconds_to_ns(cost_.step_overhead(mb.shape));
  const TimeNs overhead =
      overlapped ? std::max(seconds_to_ns(ec.async_gap), last_start_ + cpu - now) : std::max<TimeNs>(1, cpu);
  TimeNs t = now + overhead;
  if (pp_ == 1) last_start_ = t;
  TimeBreakdown& time = metrics_.time();
  time.cpu_overhead += ns_to_seconds(overhead);
  if (breakdown_) time.kernels += cost_.step_breakdown(mb.shape);
  // The hops after each stage (the last: none) of a micro-batch of this many tokens, kept per slot
  // (a stretch keeps its micro-batch's size).
  Hops& hops = hops_[static_cast<std::size_t>(b)];
  const std::int64_t tokens = mb.shape.tokens();
  if (tokens != hops.tokens) {
    hops.tokens = tokens;
    hops.ns.assign(static_cast<std::size_t>(pp_), 0);
    hops.seconds.assign(static_cast<std::size_t>(pp_), 0.0);
    for (int s = 0; s + 1 < pp_; ++s) {
      hops.ns[static_cast<std::size_t>(s)] = seconds_to_ns(cost_.pp_transfer(s, tokens));
      hops.seconds[static_cast<std::size_t>(s)] = ns_to_seconds(hops.ns[static_cast<std::size_t>(s)]);
    }
  }
  for (int s = 0; s < pp_; ++s) {
    const TimeNs start = std::max(t, stage_free_[static_cast<std::size_t>(s)]);
    const TimeNs end = start + std::max<TimeNs>(1, seconds_to_ns(stage_s_[static_cast<std::size_t>(s)]));
    stage_free_[static_cast<std::size_t>(s)] = end;
    time.pp_transfer += hops.seconds[static_cast<std::size_t>(s)];
    t = end + hops.ns[static_cast<std::size_t>(s)];
  }
  if (pp_ == 1) last_end_ = t;
  mb.start = now;
  batch_busy_[static_cast<std::size_t>(b)] = 1;
  ++in_flight_;
  in_flight_requests_ += mb.slots.size();
  metrics_.on_launch(mb.shape, steps != nullptr ? steps->work(mb.shape.decode_kv) : cost_.work(mb.shape),
                     stage_s_, gpus_per_stage_);
  // Busy time is the union of in-flight intervals (micro-batches overlap under PP).
  metrics_.on_busy(ns_to_seconds(std::max<TimeNs>(0, t - std::max(now, busy_until_))));
  busy_until_ = std::max(busy_until_, t);
  metrics_.on_kv_use(kv_->pool().utilization());
  return t;
}

int Replica::relaunchable() const {
  int found = -1;
  for (std::size_t i = 0; i < stretch_.size(); ++i) {
    if (!stretch_[i].completed) continue;
    if (found >= 0) return -1;  // two batches' requests: the scheduler merges them
    found = static_cast<int>(i);
  }
  // The requests not in flight are this batch's, and nobody waiting can be admitted.
  if (found < 0 ||
      scheduler_->running() != in_flight_requests_ + batches_[static_cast<std::size_t>(found)].slots.size() ||
      !scheduler_->admits_nothing())
    return -1;
  return found;
}

bool Replica::launch_steady(int b, TimeNs now, TimeNs& t) {
  Stretch& s = stretch_[static_cast<std::size_t>(b)];
  MicroBatch& mb = batches_[static_cast<std::size_t>(b)];
  s.completed = false;
  // Step j of the plan, built at `now`: every decode takes the block its next token needs; a
  // shortfall (eviction or preemption) is the scheduler's to build.
  const std::int32_t j = s.done + 1;
  const auto block_size = static_cast<std::int32_t>(s.plan.new_blocks.size());
  const std::int64_t blocks = s.plan.new_blocks[static_cast<std::size_t>((j - 1) % block_size)];
  if (blocks > kv_->pool().free()) {
    end_stretch(b, false);
    return false;
  }
  kv_->pool().take(blocks);
  scheduler_->record_steady_step(mb, blocks);
  scheduler_->steady_shape(mb, s.plan, j, mb.shape);
  const bool overlapped = cost_.engine_costs().async_scheduling && pp_ == 1 && last_end_ == now &&
                          s.plan.min_arrival <= last_start_;
  t = launch(mb, b, now, overlapped, s.priced ? &s.steps : nullptr);
  if (pp_ > 1) scheduler_->set_in_flight(mb, true);  // pp = 1: nothing reads them until commit
  if (j == s.plan.last) end_stretch(b, true);        // it finishes a request: a plain step from here
  return true;
}

TimeNs Replica::run_steady(TimeNs now) {
  // What the loop of try_schedule does for each step of the stretch (relaunchable, launch_steady,
  // launch and finish with one stage) without what cannot change between two steps: nothing but
  // this replica's steps happens before the horizon (no arrival, event or other replica), so the
  // scheduler's state, the step's CPU time and its limit checks stay as they were.
  Stretch& s = stretch_[0];
  MicroBatch& mb = batches_[0];
  BlockPool& pool = kv_->pool();
  const TimeNs horizon = events_.horizon(index_);
  const EngineCosts& ec = cost_.engine_costs();
  const auto block_size = static_cast<std::int32_t>(s.plan.new_blocks.size());
  TimeBreakdown& time = metrics_.time();
  bool checked = false;
  TimeNs cpu = 0;
  stage_s_.resize(1);

  // Steps before the last (which finishes a request and ends the stretch: the plain path's).
  while (s.done + 1 < s.plan.last) {
    const std::int32_t j = s.done + 1;
    const std::int64_t blocks = s.plan.new_blocks[static_cast<std::size_t>((j - 1) % block_size)];
    if (blocks > pool.free()) break;
    scheduler_->steady_shape(mb, s.plan, j, mb.shape);
    if (!checked) cpu = seconds_to_ns(cost_.step_overhead(mb.shape));
    if (s.priced) {
      stage_s_[0] = s.steps.time(mb.shape.decode_kv);
    } else {
      cost_.stage_times(mb.shape, stage_s_);
    }
    const bool overlapped = ec.async_scheduling && last_end_ == now && s.plan.min_arrival <= last_start_;
    const TimeNs overhead = overlapped ? std::max(seconds_to_ns(ec.async_gap), last_start_ + cpu - now)
                                       : std::max<TimeNs>(1, cpu);
    const TimeNs start = now + overhead;
    const TimeNs end = std::max(start, stage_free_[0]) + std::max<TimeNs>(1, seconds_to_ns(stage_s_[0]));
    if (end >= horizon) break;  // its completion is an event: the plain path launches it
    // Built (launch_steady): its blocks taken, its limits recorded.
    pool.take(blocks);
    if (!checked) {
      scheduler_->record_steady_step(mb, blocks);
      checked = true;
    } else {
      scheduler_->record_steady_kv(blocks);
    }
    // Launched (launch).
    last_start_ = start;
    time.cpu_overhead += ns_to_seconds(overhead);
    if (breakdown_) time.kernels += cost_.step_breakdown(mb.shape);
    time.pp_transfer += ns_to_seconds(0);
    stage_free_[0] = end;
    last_end_ = end;
    mb.start = now;
    metrics_.on_launch(mb.shape, s.priced ? s.steps.work(mb.shape.decode_kv) : cost_.work(mb.shape), stage_s_,
                       gpus_per_stage_);
    metrics_.on_busy(ns_to_seconds(std::max<TimeNs>(0, end - std::max(now, busy_until_))));
    busy_until_ = std::max(busy_until_, end);
    metrics_.on_kv_use(pool.utilization());
    // Completed (finish) at `end`, before the horizon.
    events_.pass(end);
    metrics_.on_fast_forward(FastForwardCounts::kWithoutQueue);
    metrics_.on_fast_forward(FastForwardCounts::kPlanned);
    metrics_.on_tokens(s.group, end - s.last_token);
    ++s.done;
    s.last_token = end;
    now = end;
  }
  return now;
}

void Replica::end_completed_stretches() {
  for (std::size_t i = 0; i < stretch_.size(); ++i) {
    Stretch& s = stretch_[i];
    if (s.completed) end_stretch(static_cast<int>(i), false);
  }
}

void Replica::end_stretch(int b, bool in_flight) {
  Stretch& s = stretch_[static_cast<std::size_t>(b)];
  scheduler_->commit_steady(batches_[static_cast<std::size_t>(b)], s.done, in_flight, s.last_token);
  s.active = false;
  s.completed = false;
}

void Replica::finish(int b, TimeNs now) {
  MicroBatch& mb = batches_[static_cast<std::size_t>(b)];
  Stretch& s = stretch_[static_cast<std::size_t>(b)];
  in_flight_requests_ -= mb.slots.size();
  if (s.active) {
    // A step of the stretch: every request sampled one token `now - (previous step's end)`.
    metrics_.on_fast_forward(FastForwardCounts::kPlanned);
    metrics_.on_tokens(s.group, now - s.last_token);
    if (pp_ > 1) scheduler_->set_in_flight(mb, false);
    ++s.done;
    s.completed = true;
    s.last_token = now;
  } else {
    scheduler_->complete(mb, now);
  }
  batch_busy_[static_cast<std::size_t>(b)] = 0;
  --in_flight_;
}

void Replica::on_batch_done(int b, TimeNs now) {
  finish(b, now);
}

}  // namespace apex
