// perf/batch_shape.h — the one builder of BatchShape: what a request's tokens of one step add to
// the batch the cost model prices. Used by the simulator's schedulers and by the search bound, so
// both see the same shapes (decoder-only, local attention, speculative verification,
// encoder-decoder).
#pragma once

#include <cstdint>

#include "perf/cost_model.h"

namespace apex {

// One request's part of a step: `q` tokens after `past` computed ones, of a request with
// `prompt` prompt tokens and `generated` output tokens sampled so far.
struct TokenSpan {
  std::int64_t prompt = 0;
  std::int64_t generated = 0;
  std::int64_t past = 0;
  std::int32_t q = 0;
};

class ShapeBuilder {
 public:
  ShapeBuilder(const CostModel& cost, bool encoder_decoder)
      : cost_(cost), encoder_decoder_(encoder_decoder), local_(cost.has_local_attention()) {}
  void add(BatchShape& s, const TokenSpan& t) const;

 private:
  const CostModel& cost_;
  bool encoder_decoder_;
  bool local_;
};

}  // namespace apex
