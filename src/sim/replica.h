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
};

class Replica {
 public:
  Replica(int index, int pp, int gpus_per_stage, bool breakdown, std::unique_ptr<KvManager> kv,
          const CostModel& cost, MetricsCollector& metrics, EventSink& events);
  void set_scheduler(std::unique_ptr<BatchScheduler> s) { scheduler_ = std::move(s); }
  KvManager& kv() { return *kv_; }
  BatchScheduler& scheduler() { return *scheduler_; }
  std::size_t load() const { return scheduler_->load(); }
  bool idle() const { return in_flight_ == 0 && !scheduler_->has_work(); }

  // Launches micro-batches while a pipeline slot and stage 0 are free and work is waiting.
  void try_schedule(TimeNs now);
  void on_batch_done(int batch, TimeNs now);

 private:
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
  int in_flight_ = 0;
  TimeNs wake_at_ = -1;
  TimeNs busy_until_ = 0;
  // Asynchronous scheduling (pp = 1): the GPU start and end of the last step launched.
  TimeNs last_start_ = -1;
  TimeNs last_end_ = -1;
};

}  // namespace apex
