// tests/sim_shapes.h — batch shapes and iteration times exactly as the simulator computes them,
// for closed-form tests of whole runs.
#pragma once

#include <algorithm>
#include <vector>

#include "perf/cost_model.h"

namespace apex::testing {

// Integer-ns duration of one iteration exactly as the simulator computes it.
// The GPU part alone (stages and transfers), as asynchronous scheduling exposes it when the CPU
// work of the step hides behind the previous one.
inline TimeNs gpu_ns(const CostModel& cost, const BatchShape& b) {
  std::vector<double> st;
  cost.stage_times(b, st);
  TimeNs t = 0;
  for (std::size_t s = 0; s < st.size(); ++s) {
    t += std::max<TimeNs>(1, seconds_to_ns(st[s]));
    if (s + 1 < st.size()) t += seconds_to_ns(cost.pp_transfer(static_cast<int>(s), b.tokens()));
  }
  return t;
}

inline TimeNs iteration_ns(const CostModel& cost, const BatchShape& b) {
  std::vector<double> st;
  cost.stage_times(b, st);
  TimeNs t = std::max<TimeNs>(1, seconds_to_ns(cost.step_overhead(b)));
  for (std::size_t s = 0; s < st.size(); ++s) {
    t += std::max<TimeNs>(1, seconds_to_ns(st[s]));
    if (s + 1 < st.size()) t += seconds_to_ns(cost.pp_transfer(static_cast<int>(s), b.tokens()));
  }
  return t;
}

// A whole q-token prompt alone in a step.
inline BatchShape prefill_shape(std::int64_t q) {
  BatchShape b;
  b.prefill_seqs = 1;
  b.prefill_tokens = q;
  b.prefill_pairs = static_cast<double>(q) * (static_cast<double>(q) + 1) / 2;
  b.prefill_kv = q;
  b.sampled = 1;
  return b;
}

// One sequence decoding with `context` keys (the new token included).
inline BatchShape decode_shape(std::int64_t context) {
  BatchShape b;
  b.decode_seqs = 1;
  b.decode_kv = context;
  b.sampled = 1;
  return b;
}

}  // namespace apex::testing
