// sim/replica.h — one data-parallel replica as a pipeline clock: its scheduler builds a
// micro-batch, which pays the engine's CPU step overhead and then walks the pipeline stages in
// FIFO order (a stage starts when the previous stage is done and the stage is free); up to pp
// micro-batches are in flight. With asynchronous scheduling (EngineCosts::async_scheduling, pp = 1)
// the CPU work of the next step overlaps the current step on the GPU. The replica only keeps time: batching
// is the scheduler's, KV the KV manager's, measurement the collector's.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "perf/cost_model.h"
#include "sim/kv/kv_manager.h"
#include "sim/metrics/collector.h"
#include "sim/scheduler/scheduler.h"

namespace apex {

// Where a replica posts the instants it must be woken at.
class EventSink {
 public:
  virtual ~EventSink() = default;
  virtual void batch_done_at(TimeNs t, int replica, int batch) = 0;
  virtual void wake_at(TimeNs t, int replica) = 0;
  // Fast-forward (RunOptions::fast_forward): the earliest instant at which anything but this
  // replica's own steps happens (an event, an arrival, another replica's turn at this instant);
  // steps that end before it may complete without the event queue, each instant passed in order.
  virtual TimeNs horizon(int replica) const = 0;
  virtual void pass(TimeNs t) = 0;
};

class Replica {
 public:
  Replica(int index, int pp, int gpus_per_stage, bool breakdown, std::unique_ptr<KvManager> kv,
          const CostModel& cost, MetricsCollector& metrics, EventSink& events);
  void set_scheduler(std::unique_ptr<BatchScheduler> s) { scheduler_ = std::move(s); }
  void set_fast_forward(bool on) { fast_forward_ = on; }
  KvManager& kv() { return *kv_; }
  BatchScheduler& scheduler() { return *scheduler_; }
  std::size_t load() const { return scheduler_->load(); }
  bool idle() const { return in_flight_ == 0 && !scheduler_->has_work(); }

  // Launches micro-batches while a pipeline slot and stage 0 are free and work is waiting.
  void try_schedule(TimeNs now);
  void on_batch_done(int batch, TimeNs now);

 private:
  // Prices micro-batch `b` built at `now` and puts it in flight; returns when it is done.
  // `steps`: the costs of its stretch's steps (else priced by the cost model's stage_times).
  TimeNs launch(MicroBatch& mb, int b, TimeNs now, bool overlapped, const CostModel::DecodeSteps* steps);
  // Fast-forward: the one stretch whose step completed and whose requests are the only ones the
  // next step could hold, or -1.
  int relaunchable() const;
  // Launches the next step of stretch `b` at `now` without the scheduler; false when the
  // stretch ends here instead.
  bool launch_steady(int b, TimeNs now, TimeNs& t);
  // pp = 1: the steps of stretch 0 (its last step completed at `now`, relaunchable) that
  // complete before the horizon, up to its last; returns when the last of them completed.
  TimeNs run_steady(TimeNs now);
  // Every stretch whose step completed ends (before the scheduler builds a step).
  void end_completed_stretches();
  void end_stretch(int b, bool in_flight);
  // Micro-batch `b` is done at `now`.
  void finish(int b, TimeNs now);

  int index_;
  int pp_;
  int gpus_per_stage_;
  bool breakdown_;
  std::unique_ptr<KvManager> kv_;
  std::unique_ptr<BatchScheduler> scheduler_;
  const CostModel& cost_;
  MetricsCollector& metrics_;
  EventSink& events_;
  std::vector<MicroBatch> batches_;  // pp slots
  std::vector<char> batch_busy_;
  std::vector<TimeNs> stage_free_;
  std::vector<double> stage_s_;  // scratch
  // Per micro-batch slot: the pipeline hops after each stage (the last 0) of its last size.
  struct Hops {
    std::int64_t tokens = -1;
    std::vector<TimeNs> ns;
    std::vector<double> seconds;  // ns_to_seconds(ns)
  };
  std::vector<Hops> hops_;
  int in_flight_ = 0;
  TimeNs wake_at_ = -1;
  TimeNs busy_until_ = 0;
  // Asynchronous scheduling (pp = 1): the GPU start and end of the last step launched.
  TimeNs last_start_ = -1;
  TimeNs last_end_ = -1;
  // Fast-forward. A stretch starts at a step's build when the steps from there on are steady
  // (BatchScheduler::plan_steady); while it runs, its requests' state is the plan's plus `done`
  // completed steps (their in_flight flags excepted, kept exact under PP), committed when it
  // ends. One per micro-batch slot; it moves with its batch.
  struct Stretch {
    bool active = false;
    bool completed = false;  // its last step is done, the next not launched
    std::int32_t done = 0;
    TimeNs last_token = 0;  // when its last step ended (its requests' previous token)
    SteadyPlan plan;
    MetricsCollector::TokenGroup group;
    bool priced = false;  // `steps` holds the costs of its steps
    CostModel::DecodeSteps steps;
  };
  bool fast_forward_ = false;
  std::vector<Stretch> stretch_;        // pp slots, with batches_
  std::size_t in_flight_requests_ = 0;  // in the micro-batches in flight
};

}  // namespace apex
