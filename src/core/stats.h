// core/stats.h — summaries of per-request and per-token samples.
#pragma once

#include <cstdint>
#include <vector>

namespace apex {

// Mean and percentiles of a sample. Percentiles use linear interpolation between closest ranks
// (numpy's default), so p50 of {1, 2} is 1.5. An empty sample gives count 0 and zeros.
struct Summary {
  std::uint64_t count = 0;
  double mean = 0, p50 = 0, p90 = 0, p99 = 0, min = 0, max = 0;
};

// Summarizes `values` (reordered in place).
Summary summarize(std::vector<double>& values);

// Percentile q in [0, 1] of sorted values, linear interpolation.
double percentile_sorted(const std::vector<double>& sorted, double q);

// Constant-memory histogram of positive durations in integer nanoseconds, with logarithmic buckets
// of relative width 0.1%, for token-weighted inter-token latencies (millions of samples). The mean is
// exact; percentiles are exact to within 0.05%. Deterministic: depends only on the multiset of samples.
class LogHistogram {
 public:
  void add(std::int64_t value_ns, std::uint64_t times = 1);
  Summary summary_seconds() const;
  std::uint64_t count() const { return count_; }

 private:
  double value_at_rank(std::uint64_t rank) const;  // 0-based rank, in ns
  std::vector<std::uint64_t> buckets_;
  std::int32_t first_ = 0;  // bucket index of buckets_[0]
  std::uint64_t count_ = 0;
  long double sum_ns_ = 0;
  std::int64_t min_ = 0, max_ = 0;
  std::int64_t last_value_ = -1;  // one-entry cache: a batch's tokens often share one interval
  std::int32_t last_bucket_ = 0;
};

}  // namespace apex
