#include "core/stats.h"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace apex {
namespace {
constexpr double kGamma = 1.001;
const double kLogGamma = std::log(kGamma);

// v >= 1 (and finite: at most ~1.8e308 ns, bucket 709783), so the index fits an int32.
std::int32_t bucket_of(double v) {
  return static_cast<std::int32_t>(std::floor(std::log(std::min(v, 1.7e308)) / kLogGamma));
}
constexpr std::size_t kChunk = 512;  // buckets a histogram grows by
std::size_t round_up(std::size_t n) {
  return (n + kChunk - 1) / kChunk * kChunk;
}
double bucket_edge(std::int32_t b) {  // lower edge of the bucket (approximate)
  return std::exp(static_cast<double>(b) * kLogGamma);
}
double bucket_value(std::int32_t b) {  // geometric middle of the bucket
  return std::exp((static_cast<double>(b) + 0.5) * kLogGamma);
}
}  // namespace

double percentile_sorted(const std::vector<double>& sorted, double q) {
  if (sorted.empty()) return 0.0;
  const double rank = q * static_cast<double>(sorted.size() - 1);
  const auto lo = static_cast<std::size_t>(std::floor(rank));
  const auto hi = std::min(lo + 1, sorted.size() - 1);
  const double frac = rank - static_cast<double>(lo);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * frac;
}

Summary summarize(std::vector<double>& values) {
  Summary s;
  if (values.empty()) return s;
  std::sort(values.begin(), values.end());
  s.count = values.size();
  // Pairwise-stable sum in sorted order: deterministic whatever order samples arrived in.
  long double sum = 0;
  for (double v : values)
    sum += v;
  s.mean = static_cast<double>(sum / static_cast<long double>(values.size()));
  s.p50 = percentile_sorted(values, 0.50);
  s.p90 = percentile_sorted(values, 0.90);
  s.p99 = percentile_sorted(values, 0.99);
  s.min = values.front();
  s.max = values.back();
  return s;
}

void LogHistogram::add_new(std::int64_t value_ns, std::uint64_t times) {
  if (times == 0) return;
  if (value_ns < 1) {
    add_ns(static_cast<double>(value_ns), times);
    return;
  }
  add_to_bucket(bucket(value_ns), static_cast<double>(value_ns), times);
  sum_whole_ns_ += static_cast<Sum>(value_ns) * times;
}

std::int32_t LogHistogram::bucket(std::int64_t value_ns) {
  for (const KnownRange& k : known_) {
    if (value_ns >= k.lo && value_ns <= k.hi) return k.b;
  }
  const std::int32_t b = bucket_of(static_cast<double>(value_ns));
  for (KnownRange& k : known_) {
    if (k.b != b || k.lo > k.hi) continue;
    // A second value in a bucket seen: successive token intervals mostly share one, so keep the
    // whole-nanosecond values it surely holds and take the log once per bucket. The edges from
    // exp and the bucket log's rounding differ from the exact edges by far less than the margin.
    const double v = static_cast<double>(value_ns), margin = std::max(2.0, v * 1e-9);
    const double lo = std::ceil(bucket_edge(b) + margin), hi = std::floor(bucket_edge(b + 1) - margin);
    if (lo <= v && v <= hi && hi < 9e18) {
      k.lo = std::min(k.lo, static_cast<std::int64_t>(lo));
      k.hi = std::max(k.hi, static_cast<std::int64_t>(hi));
    }
    return b;
  }
  known_[next_known_] = {value_ns, value_ns, b};
  next_known_ = (next_known_ + 1) % known_.size();
  return b;
}

void LogHistogram::add_ns(double value_ns, std::uint64_t times) {
  if (times == 0) return;
  if (!(value_ns >= 1)) {  // below 1 ns (or NaN): counted, not bucketed
    underflow_ += times;
    note(value_ns, times);
    sum_frac_ns_ += static_cast<long double>(value_ns) * static_cast<long double>(times);
    return;
  }
  add_to_bucket(bucket_of(value_ns), value_ns, times);
  sum_frac_ns_ += static_cast<long double>(value_ns) * static_cast<long double>(times);
}

void LogHistogram::cover(std::int32_t lo, std::int32_t hi) {
  if (buckets_.empty()) {
    first_ = lo;
    buckets_.reserve(round_up(static_cast<std::size_t>(hi - lo + 1)));
    buckets_.assign(static_cast<std::size_t>(hi - lo + 1), 0);
    return;
  }
  const std::int32_t last = first_ + static_cast<std::int32_t>(buckets_.size()) - 1;
  lo = std::min(lo, first_);
  hi = std::max(hi, last);
  const auto size = static_cast<std::size_t>(hi - lo + 1);
  if (size == buckets_.size()) return;
  // Grown in steps of kChunk buckets (not doubled): the memory follows the range of the values.
  if (size > buckets_.capacity()) buckets_.reserve(round_up(size));
  if (lo < first_) buckets_.insert(buckets_.begin(), static_cast<std::size_t>(first_ - lo), 0);
  first_ = lo;
  buckets_.resize(size, 0);
}

void LogHistogram::add_to_bucket(std::int32_t b, double value_ns, std::uint64_t times) {
  if (buckets_.empty() || b < first_ || b - first_ >= static_cast<std::int32_t>(buckets_.size())) cover(b, b);
  buckets_[static_cast<std::size_t>(b - first_)] += times;
  note(value_ns, times);
}

void LogHistogram::merge(const LogHistogram& other) {
  if (other.count_ == 0) return;
  if (count_ == 0) {
    *this = other;
    return;
  }
  if (!other.buckets_.empty()) {
    cover(other.first_, other.first_ + static_cast<std::int32_t>(other.buckets_.size()) - 1);
    for (std::size_t i = 0; i < other.buckets_.size(); ++i)
      buckets_[static_cast<std::size_t>(other.first_ - first_) + i] += other.buckets_[i];
  }
  underflow_ += other.underflow_;
  count_ += other.count_;
  sum_whole_ns_ += other.sum_whole_ns_;
  sum_frac_ns_ += other.sum_frac_ns_;
  min_ = std::min(min_, other.min_);
  max_ = std::max(max_, other.max_);
}

double LogHistogram::value_at_rank(std::uint64_t rank) const {
  if (rank == 0) return min_;
  if (rank + 1 >= count_) return max_;
  if (rank < underflow_) return min_;  // every sample below 1 ns is reported as the smallest
  std::uint64_t seen = underflow_;
  for (std::size_t i = 0; i < buckets_.size(); ++i) {
    seen += buckets_[i];
    if (seen > rank) {
      const double v = bucket_value(first_ + static_cast<std::int32_t>(i));
      return std::clamp(v, min_, max_);
    }
  }
  return max_;
}

Summary LogHistogram::summary_seconds() const {
  Summary s;
  if (count_ == 0) return s;
  s.count = count_;
  // The whole-nanosecond part converts exactly below 2^64 ns (584 years; long double holds 64 bits).
  const long double sum = static_cast<long double>(sum_whole_ns_) + sum_frac_ns_;
  s.mean = static_cast<double>(sum / static_cast<long double>(count_)) * 1e-9;
  auto pct = [&](double q) {
    const double rank = q * static_cast<double>(count_ - 1);
    const auto lo = static_cast<std::uint64_t>(std::floor(rank));
    const double frac = rank - static_cast<double>(lo);
    const double a = value_at_rank(lo);
    const double b = frac > 0 ? value_at_rank(lo + 1) : a;
    return (a + (b - a) * frac) * 1e-9;
  };
  s.p50 = pct(0.50);
  s.p90 = pct(0.90);
  s.p99 = pct(0.99);
  s.min = min_ * 1e-9;
  s.max = max_ * 1e-9;
  return s;
}

void LatencySample::add(double seconds) {
  if (exact_) {
    values_.push_back(seconds);
    return;
  }
  min_ = hist_.count() == 0 ? seconds : std::min(min_, seconds);
  max_ = hist_.count() == 0 ? seconds : std::max(max_, seconds);
  sum_ += seconds;
  hist_.add_seconds(seconds);
}

Summary LatencySample::summary() {
  if (exact_) return summarize(values_);
  Summary s = hist_.summary_seconds();
  if (s.count == 0) return s;
  s.mean = static_cast<double>(sum_ / static_cast<long double>(s.count));
  s.min = min_;
  s.max = max_;
  // The percentiles from the histogram are clamped to its own min and max (in ns); keep them
  // within the exact ones.
  s.p50 = std::clamp(s.p50, min_, max_);
  s.p90 = std::clamp(s.p90, min_, max_);
  s.p99 = std::clamp(s.p99, min_, max_);
  return s;
}

}  // namespace apex
