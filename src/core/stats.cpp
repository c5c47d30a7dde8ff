#include "core/stats.h"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace apex {
namespace {
constexpr double kGamma = 1.001;
const double kLogGamma = std::log(kGamma);

std::int32_t bucket_of(std::int64_t v) {
  return static_cast<std::int32_t>(
      std::floor(std::log(static_cast<double>(std::max<std::int64_t>(v, 1))) / kLogGamma));
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

void LogHistogram::add(std::int64_t value_ns, std::uint64_t times) {
  if (times == 0) return;
  const std::int32_t b = value_ns == last_value_ ? last_bucket_ : bucket_of(value_ns);
  last_value_ = value_ns;
  last_bucket_ = b;
  if (buckets_.empty()) {
    first_ = b;
    buckets_.assign(1, 0);
    min_ = max_ = value_ns;
  } else if (b < first_) {
    buckets_.insert(buckets_.begin(), static_cast<std::size_t>(first_ - b), 0);
    first_ = b;
  } else if (b >= first_ + static_cast<std::int32_t>(buckets_.size())) {
    buckets_.resize(static_cast<std::size_t>(b - first_ + 1), 0);
  }
  buckets_[static_cast<std::size_t>(b - first_)] += times;
  count_ += times;
  sum_ns_ += static_cast<long double>(value_ns) * static_cast<long double>(times);
  min_ = std::min(min_, value_ns);
  max_ = std::max(max_, value_ns);
}

double LogHistogram::value_at_rank(std::uint64_t rank) const {
  if (rank == 0) return static_cast<double>(min_);
  if (rank + 1 >= count_) return static_cast<double>(max_);
  std::uint64_t seen = 0;
  for (std::size_t i = 0; i < buckets_.size(); ++i) {
    seen += buckets_[i];
    if (seen > rank) {
      const double v = bucket_value(first_ + static_cast<std::int32_t>(i));
      return std::clamp(v, static_cast<double>(min_), static_cast<double>(max_));
    }
  }
  return static_cast<double>(max_);
}

Summary LogHistogram::summary_seconds() const {
  Summary s;
  if (count_ == 0) return s;
  s.count = count_;
  s.mean = static_cast<double>(sum_ns_ / static_cast<long double>(count_)) * 1e-9;
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
  s.min = static_cast<double>(min_) * 1e-9;
  s.max = static_cast<double>(max_) * 1e-9;
  return s;
}

}  // namespace apex
