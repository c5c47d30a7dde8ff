// core/stats.h — summaries of per-request and per-token samples.
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
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

// Bounded-memory histogram of positive durations in nanoseconds, with logarithmic buckets of
// relative width 0.1% (gamma = 1.001): a percentile is within 0.05% (relative) of the exact one
// (numpy linear interpolation over the same sample), min and max are exact, and the mean is exact
// (the sum is kept). Values below 1 ns share one bucket, reported as the sample's minimum (absolute
// error < 1 ns). Memory is one counter per bucket between the smallest and the largest value
// (at most ~44k buckets for 1 ns .. 292 years), whatever the number of samples. Deterministic: the
// counts depend only on the multiset of samples. The sum of whole-nanosecond samples (add) is kept
// as an exact 128-bit integer, so adding a value k times at once, one at a time, in any order or
// through merge() gives the same mean to the last bit; fractional samples (add_ns) are summed
// apart in long double (up to the order of the additions).
class LogHistogram {
 public:
  static constexpr double kRelativeResolution = 5e-4;  // percentiles within 0.05% of the exact ones

  void add(std::int64_t value_ns, std::uint64_t times = 1) {
    // The common case inline: a whole-nanosecond value in a bucket seen (whose range is covered).
    for (const KnownRange& k : known_) {
      if (value_ns >= k.lo && value_ns <= k.hi) {
        if (times == 0) return;
        buckets_[static_cast<std::size_t>(k.b - first_)] += times;
        note(static_cast<double>(value_ns), times);
        sum_whole_ns_ += static_cast<Sum>(value_ns) * times;
        return;
      }
    }
    add_new(value_ns, times);
  }
  void add_ns(double value_ns, std::uint64_t times = 1);  // fractional nanoseconds
  void add_seconds(double seconds) { add_ns(seconds * 1e9); }
  void merge(const LogHistogram& other);
  Summary summary_seconds() const;
  std::uint64_t count() const { return count_; }
  std::size_t buckets() const { return buckets_.size(); }
  // Bucket first_bucket() + i holds bucket_counts()[i] samples (bucket b: [γ^b, γ^(b+1)) ns).
  std::int32_t first_bucket() const { return first_; }
  const std::vector<std::uint64_t>& bucket_counts() const { return buckets_; }
  std::size_t memory_bytes() const { return sizeof(*this) + buckets_.capacity() * sizeof(std::uint64_t); }

 private:
  void cover(std::int32_t lo, std::int32_t hi);  // extends buckets_ to hold [lo, hi]
  void add_to_bucket(std::int32_t b, double value_ns, std::uint64_t times);
  void add_new(std::int64_t value_ns, std::uint64_t times);  // add() of a value in no known range
  void note(double value_ns, std::uint64_t times) {          // count, min and max
    min_ = count_ == 0 ? value_ns : std::min(min_, value_ns);
    max_ = count_ == 0 ? value_ns : std::max(max_, value_ns);
    count_ += times;
  }
  double value_at_rank(std::uint64_t rank) const;  // 0-based rank, in ns
  std::vector<std::uint64_t> buckets_;
  std::int32_t first_ = 0;       // bucket index of buckets_[0]
  std::uint64_t underflow_ = 0;  // samples below 1 ns
  std::uint64_t count_ = 0;
  __extension__ using Sum = unsigned __int128;  // GCC and Clang
  Sum sum_whole_ns_ = 0;                        // Σ of the whole-nanosecond samples (>= 1 ns), exact
  long double sum_frac_ns_ = 0;                 // Σ of the other samples (add_ns)
  double min_ = 0, max_ = 0;
  // The last buckets seen: the whole-nanosecond values [lo, hi] all fall in bucket b (two, as
  // the micro-batches of a pipeline alternate their token intervals).
  struct KnownRange {
    std::int64_t lo = 1, hi = 0;
    std::int32_t b = 0;
  };
  std::array<KnownRange, 2> known_{};
  std::uint32_t next_known_ = 0;
  std::int32_t bucket(std::int64_t value_ns);
};

// A sample of latencies in seconds, one per request. By default a LogHistogram: memory independent
// of the number of samples, percentiles within LogHistogram::kRelativeResolution (0.05%) of the
// exact ones; count, mean (sum kept in seconds), min and max exact. With `exact` (a simulation that
// keeps per-request records, which grow with the trace anyway) every value is kept and summarized
// by summarize(): exact percentiles.
class LatencySample {
 public:
  explicit LatencySample(bool exact = false) : exact_(exact) {}
  void add(double seconds);
  Summary summary();  // sorts the kept values
  std::size_t memory_bytes() const {
    return sizeof(*this) + hist_.memory_bytes() + values_.capacity() * sizeof(double);
  }

 private:
  bool exact_;
  LogHistogram hist_;
  std::vector<double> values_;
  long double sum_ = 0;
  double min_ = 0, max_ = 0;
};

}  // namespace apex
