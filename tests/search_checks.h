// tests/search_checks.h — the pruning invariant of the planner, shared by the suites that add a
// feature the lower bound must account for (sliding-window and chunked attention, speculative
// decoding, ...).
#pragma once

#include <gtest/gtest.h>

#include <initializer_list>

#include "search/planner.h"

namespace apex::testing {

// For each objective: the bound-pruned search ranks exactly the plans the exhaustive one does,
// and every ranked plan's bound is optimistic (latency objectives: a lower bound; throughput-like
// ones: an upper bound). `top` plans are expected in the ranking.
inline void expect_pruned_search_exact(const Deployment& d, const Trace& t,
                                       std::initializer_list<Objective> objectives, std::size_t top,
                                       bool require_all_gpus = true) {
  for (Objective obj : objectives) {
    SCOPED_TRACE(objective_name(obj));
    SearchOptions o;
    o.objective = obj;
    o.top = static_cast<int>(top);
    o.wave = 1;
    o.plan.require_all_gpus = require_all_gpus;
    const SearchReport pruned = search(d, t, o);
    o.exhaustive = true;
    const SearchReport full = search(d, t, o);
    ASSERT_EQ(full.ranked.size(), top);
    ASSERT_EQ(pruned.ranked.size(), full.ranked.size());
    for (std::size_t i = 0; i < full.ranked.size(); ++i) {
      EXPECT_EQ(pruned.ranked[i].candidate.id, full.ranked[i].candidate.id);
      if (higher_is_better(obj)) {
        EXPECT_GE(full.ranked[i].bound, full.ranked[i].score * (1 - 1e-9));
      } else {
        EXPECT_LE(full.ranked[i].bound, full.ranked[i].score * (1 + 1e-9));
      }
    }
  }
}

}  // namespace apex::testing
