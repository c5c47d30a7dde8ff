// sim/scheduler/mixed.h — the mixed (chunked-prefill) policy, also the base of reserve_full.cpp.
#pragma once

#include "sim/scheduler/scheduler.h"

namespace apex {

class MixedScheduler : public BatchScheduler {
 public:
  using BatchScheduler::BatchScheduler;

 protected:
  bool build(MicroBatch& mb) override;
  bool decodes_steady() const override { return true; }
  void record_steady_checks(const MicroBatch& mb) override;
};

}  // namespace apex
