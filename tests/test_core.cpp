// Tests of src/core: units, error messages, statistics, JSON reading and text helpers.
#include <gtest/gtest.h>

#include "test_util.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/dtype.h"
#include "core/error.h"
#include "core/json_util.h"
#include "core/parallel.h"
#include "core/progress.h"
#include "core/stats.h"
#include "core/text.h"
#include "core/units.h"

namespace apex {
namespace {

using ::apex::testing::user_error_of;

// Runs `fn`, expects a UserError and returns its message ("" + a test failure otherwise).

// ---------------------------------------------------------------------------------------------
// parse_quantity

TEST(ParseQuantity, BytesBinaryAndDecimalPrefixes) {
  EXPECT_DOUBLE_EQ(parse_quantity("80GiB", Dimension::Bytes, "t"), 80.0 * 1024 * 1024 * 1024);
  EXPECT_DOUBLE_EQ(parse_quantity("80GiB", Dimension::Bytes, "t"), 85899345920.0);
  EXPECT_DOUBLE_EQ(parse_quantity("80GB", Dimension::Bytes, "t"), 80e9);
  EXPECT_DOUBLE_EQ(parse_quantity("50MiB", Dimension::Bytes, "t"), 50.0 * 1024 * 1024);
  EXPECT_DOUBLE_EQ(parse_quantity("1KiB", Dimension::Bytes, "t"), 1024.0);
  EXPECT_DOUBLE_EQ(parse_quantity("1TiB", Dimension::Bytes, "t"), 1099511627776.0);
  EXPECT_DOUBLE_EQ(parse_quantity("1.5TB", Dimension::Bytes, "t"), 1.5e12);
  EXPECT_DOUBLE_EQ(parse_quantity("512B", Dimension::Bytes, "t"), 512.0);
  // Surrounding and separating spaces are accepted.
  EXPECT_DOUBLE_EQ(parse_quantity(" 16 GiB ", Dimension::Bytes, "t"), 16.0 * kGiB);
}

TEST(ParseQuantity, BandwidthBytesAndBits) {
  EXPECT_DOUBLE_EQ(parse_quantity("3.35TB/s", Dimension::Bandwidth, "t"), 3.35e12);
  EXPECT_DOUBLE_EQ(parse_quantity("400Gb/s", Dimension::Bandwidth, "t"), 50e9);
  EXPECT_DOUBLE_EQ(parse_quantity("450GB/s", Dimension::Bandwidth, "t"), 450e9);
  EXPECT_DOUBLE_EQ(parse_quantity("100Gbps", Dimension::Bandwidth, "t"), 12.5e9);
  EXPECT_DOUBLE_EQ(parse_quantity("8b/s", Dimension::Bandwidth, "t"), 1.0);
  EXPECT_DOUBLE_EQ(parse_quantity("1GiB/s", Dimension::Bandwidth, "t"), kGiB);
}

TEST(ParseQuantity, Time) {
  EXPECT_DOUBLE_EQ(parse_quantity("5us", Dimension::Time, "t"), 5e-6);
  EXPECT_DOUBLE_EQ(parse_quantity("2.5ms", Dimension::Time, "t"), 2.5e-3);
  EXPECT_DOUBLE_EQ(parse_quantity("700ns", Dimension::Time, "t"), 700e-9);
  EXPECT_DOUBLE_EQ(parse_quantity("3s", Dimension::Time, "t"), 3.0);
  EXPECT_DOUBLE_EQ(parse_quantity("2min", Dimension::Time, "t"), 120.0);
}

TEST(ParseQuantity, FlopRatePowerFrequency) {
  EXPECT_DOUBLE_EQ(parse_quantity("989TFLOPS", Dimension::FlopRate, "t"), 989e12);
  EXPECT_DOUBLE_EQ(parse_quantity("2.25PFLOPS", Dimension::FlopRate, "t"), 2.25e15);
  EXPECT_DOUBLE_EQ(parse_quantity("19.5TFLOP/s", Dimension::FlopRate, "t"), 19.5e12);
  EXPECT_DOUBLE_EQ(parse_quantity("700W", Dimension::Power, "t"), 700.0);
  EXPECT_DOUBLE_EQ(parse_quantity("1.2kW", Dimension::Power, "t"), 1200.0);
  EXPECT_DOUBLE_EQ(parse_quantity("1980MHz", Dimension::Frequency, "t"), 1.98e9);
  EXPECT_DOUBLE_EQ(parse_quantity("1.41GHz", Dimension::Frequency, "t"), 1.41e9);
}

TEST(ParseQuantity, BareNumberRejectedForEveryDimension) {
  for (Dimension d : {Dimension::Bytes, Dimension::Bandwidth, Dimension::Time, Dimension::FlopRate,
                      Dimension::Power, Dimension::Frequency}) {
    const std::string msg = user_error_of([&] { parse_quantity("80", d, "cluster.json: gpu.x"); });
    EXPECT_CONTAINS(msg, "cluster.json: gpu.x");
    EXPECT_CONTAINS(msg, "no unit");
  }
  const std::string msg = user_error_of([] { parse_quantity("80", Dimension::Bytes, "w"); });
  EXPECT_CONTAINS(msg, "GiB");  // lists what to write instead
}

TEST(ParseQuantity, UnknownUnitListsValidUnits) {
  std::string msg = user_error_of([] { parse_quantity("80GX", Dimension::Bytes, "cluster.json: gpu.hbm"); });
  EXPECT_CONTAINS(msg, "cluster.json: gpu.hbm");
  EXPECT_CONTAINS(msg, "unknown unit 'GX'");
  EXPECT_CONTAINS(msg, "valid:");
  EXPECT_CONTAINS(msg, "GiB");
  EXPECT_CONTAINS(msg, "TB");

  // A unit of another dimension is unknown for this one.
  msg = user_error_of([] { parse_quantity("3.35TB", Dimension::Bandwidth, "bw"); });
  EXPECT_CONTAINS(msg, "unknown unit 'TB'");
  EXPECT_CONTAINS(msg, "TB/s");
  msg = user_error_of([] { parse_quantity("5us", Dimension::Bytes, "b"); });
  EXPECT_CONTAINS(msg, "unknown unit 'us'");
  msg = user_error_of([] { parse_quantity("700W", Dimension::Frequency, "f"); });
  EXPECT_CONTAINS(msg, "MHz");
}

TEST(ParseQuantity, NotANumberOrNegativeRejected) {
  EXPECT_CONTAINS(user_error_of([] { parse_quantity("GiB", Dimension::Bytes, "w"); }), "not a number");
  EXPECT_CONTAINS(user_error_of([] { parse_quantity("", Dimension::Bytes, "w"); }), "w");
  EXPECT_CONTAINS(user_error_of([] { parse_quantity("abcW", Dimension::Power, "w"); }), "not a number");
  EXPECT_CONTAINS(user_error_of([] { parse_quantity("-5W", Dimension::Power, "w"); }), "negative");
  EXPECT_CONTAINS(user_error_of([] { parse_quantity("infW", Dimension::Power, "w"); }), "w");
}

TEST(Units, ConversionsAndFormatting) {
  EXPECT_EQ(seconds_to_ns(1.5), 1500000000);
  EXPECT_EQ(seconds_to_ns(0.618518), 618518000);
  EXPECT_DOUBLE_EQ(ns_to_seconds(2500000000), 2.5);
  EXPECT_EQ(format_bytes(80.0 * kGiB), "80.0 GiB");
  EXPECT_EQ(format_bytes(3.0 * kMiB), "3.0 MiB");
  EXPECT_EQ(format_bytes(100), "100 B");
  EXPECT_EQ(format_seconds(0.0123), "12.3 ms");
  EXPECT_EQ(format_seconds(2.5), "2.50 s");
  EXPECT_EQ(format_seconds(5e-6), "5.0 us");
}

// ---------------------------------------------------------------------------------------------
// Names and did-you-mean

TEST(EditDistance, KnownValues) {
  EXPECT_EQ(edit_distance("kitten", "sitting"), 3u);
  EXPECT_EQ(edit_distance("", "abc"), 3u);
  EXPECT_EQ(edit_distance("abc", ""), 3u);
  EXPECT_EQ(edit_distance("same", "same"), 0u);
  EXPECT_EQ(edit_distance("H100-SXM", "h100-sxm"), 0u);  // case-insensitive
  EXPECT_EQ(edit_distance("--tpp", "--tp"), 1u);
  EXPECT_EQ(edit_distance("flaw", "lawn"), 2u);
  EXPECT_EQ(edit_distance("abc", "cba"), edit_distance("cba", "abc"));
}

TEST(ClosestMatch, PrefixAndTypos) {
  const std::vector<std::string> gpus = {"h100-sxm", "h200-sxm", "b200", "gb200", "a100-sxm-80gb", "l40s"};
  EXPECT_EQ(closest_match("h100", gpus), "h100-sxm");
  EXPECT_EQ(closest_match("h200", gpus), "h200-sxm");
  EXPECT_EQ(closest_match("b20", gpus), "b200");
  EXPECT_EQ(closest_match("l40", gpus), "l40s");
  EXPECT_EQ(closest_match("zzzzzzzzzz", gpus), "");
  // The last whole words of a name count as a prefix does; a mere tail does not.
  const std::vector<std::string> words = {"frequency", "num-requests", "max-model-len", "rate"};
  EXPECT_EQ(closest_match("requests", words), "num-requests");
  EXPECT_EQ(closest_match("model-len", words), "max-model-len");
  EXPECT_EQ(closest_match("Requests", words), "num-requests");
  EXPECT_EQ(closest_match("del-len", words), "");
  EXPECT_EQ(closest_match("te", words), "rate");  // too short for the rule: an ordinary distance
  // Candidates too far apart in length are skipped without changing the answer: the first of the
  // nearest still wins, a prefix still counts as distance 1, a typo in a long name is found.
  const std::vector<std::string> knobs = {"--max-num-seqs", "--max-num-batched-tokens", "--tp", "--pp"};
  EXPECT_EQ(closest_match("--max-num-batched-token", knobs), "--max-num-batched-tokens");
  EXPECT_EQ(closest_match("--max-num-sqes", knobs), "--max-num-seqs");
  EXPECT_EQ(closest_match("--t", knobs), "--tp");
  EXPECT_EQ(closest_match("--max", knobs), "--max-num-seqs");
  EXPECT_EQ(closest_match(std::string(200, 'x'), knobs), "");
  EXPECT_EQ(closest_match("anything", std::vector<std::string>{}), "");
  const std::vector<std::string> flags = {"--tp", "--pp", "--dp", "--ep", "--top"};
  EXPECT_EQ(closest_match("--tpp", flags), "--tp");
}

TEST(ClosestMatch, PrefixRuleIsCaseInsensitiveLikeTheDistance) {
  const std::vector<std::string> gpus = {"h100-sxm", "h200-sxm", "b200"};
  // Regression test for a bug found by review (fixed).
  EXPECT_EQ(closest_match("H100", gpus), "h100-sxm");
  EXPECT_EQ(closest_match("H100-SXM", gpus), "h100-sxm");  // distance 0 already works
}

TEST(UnknownNameMessage, Shape) {
  const std::vector<std::string> gpus = {"h100-sxm", "h200-sxm", "b200"};
  const std::string msg = unknown_name_message("gpu", "h100", gpus, "see `apex list gpus`");
  EXPECT_CONTAINS(msg, "unknown gpu 'h100'");
  EXPECT_CONTAINS(msg, "did you mean 'h100-sxm'?");
  EXPECT_CONTAINS(msg, "valid: h100-sxm, h200-sxm, b200");
  EXPECT_CONTAINS(msg, "see `apex list gpus`");
  EXPECT_EQ(msg.find('\n'), std::string::npos);  // one line

  const std::string far = unknown_name_message("gpu", "tpu-v5", gpus);
  EXPECT_CONTAINS(far, "unknown gpu 'tpu-v5'");
  EXPECT_EQ(far.find("did you mean"), std::string::npos);
  EXPECT_CONTAINS(far, "valid: h100-sxm");
}

TEST(Join, Basics) {
  const std::vector<std::string> v = {"a", "b", "c"};
  EXPECT_EQ(join(v, ", "), "a, b, c");
  EXPECT_EQ(join(std::vector<std::string>{}, ", "), "");
  EXPECT_EQ(join(std::vector<std::string>{"x"}, "-"), "x");
}

TEST(Assertions, ApexAssertThrowsInternalError) {
  EXPECT_THROW(APEX_ASSERT(1 + 1 == 3, "math"), InternalError);
  EXPECT_NO_THROW(APEX_ASSERT(1 + 1 == 2, "math"));
}

// ---------------------------------------------------------------------------------------------
// Statistics

TEST(Summarize, NumpyLinearInterpolation) {
  std::vector<double> two = {2.0, 1.0};
  const Summary s2 = summarize(two);
  EXPECT_EQ(s2.count, 2u);
  EXPECT_DOUBLE_EQ(s2.mean, 1.5);
  EXPECT_DOUBLE_EQ(s2.p50, 1.5);
  EXPECT_DOUBLE_EQ(s2.p90, 1.9);
  EXPECT_DOUBLE_EQ(s2.min, 1.0);
  EXPECT_DOUBLE_EQ(s2.max, 2.0);

  std::vector<double> ten = {10, 3, 1, 7, 2, 9, 4, 8, 6, 5};  // 1..10, shuffled
  const Summary s10 = summarize(ten);
  EXPECT_EQ(s10.count, 10u);
  EXPECT_DOUBLE_EQ(s10.mean, 5.5);
  EXPECT_DOUBLE_EQ(s10.p50, 5.5);
  EXPECT_NEAR(s10.p90, 9.1, 1e-12);
  EXPECT_NEAR(s10.p99, 9.91, 1e-12);
  EXPECT_DOUBLE_EQ(s10.min, 1.0);
  EXPECT_DOUBLE_EQ(s10.max, 10.0);
}

TEST(Summarize, EdgeCases) {
  std::vector<double> empty;
  const Summary e = summarize(empty);
  EXPECT_EQ(e.count, 0u);
  EXPECT_EQ(e.mean, 0.0);
  EXPECT_EQ(e.p50, 0.0);
  EXPECT_EQ(e.p99, 0.0);

  std::vector<double> one = {4.25};
  const Summary o = summarize(one);
  EXPECT_EQ(o.count, 1u);
  EXPECT_DOUBLE_EQ(o.mean, 4.25);
  EXPECT_DOUBLE_EQ(o.p50, 4.25);
  EXPECT_DOUBLE_EQ(o.p99, 4.25);

  // 0..100: numpy percentile(q) == q.
  std::vector<double> hundred;
  for (int i = 100; i >= 0; --i)
    hundred.push_back(i);
  const Summary h = summarize(hundred);
  EXPECT_DOUBLE_EQ(h.p50, 50.0);
  EXPECT_DOUBLE_EQ(h.p90, 90.0);
  EXPECT_DOUBLE_EQ(h.p99, 99.0);

  EXPECT_DOUBLE_EQ(percentile_sorted({1.0, 2.0, 3.0, 4.0}, 0.0), 1.0);
  EXPECT_DOUBLE_EQ(percentile_sorted({1.0, 2.0, 3.0, 4.0}, 1.0), 4.0);
  EXPECT_DOUBLE_EQ(percentile_sorted({1.0, 2.0, 3.0, 4.0}, 0.5), 2.5);
  EXPECT_DOUBLE_EQ(percentile_sorted({}, 0.5), 0.0);
}

TEST(LogHistogram, MeanExactPercentilesWithinTenthOfPercent) {
  LogHistogram h;
  std::vector<double> exact;  // seconds
  long double sum_ns = 0;
  std::uint64_t state = 12345;
  for (int i = 0; i < 100000; ++i) {
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    const double u = static_cast<double>(state >> 11) * 0x1.0p-53;
    // Log-uniform between 1 us and 100 ms: spans many buckets.
    const auto ns = static_cast<std::int64_t>(std::exp(std::log(1e3) + u * (std::log(1e8) - std::log(1e3))));
    h.add(ns);
    exact.push_back(static_cast<double>(ns) * 1e-9);
    sum_ns += ns;
  }
  // Weighted adds.
  h.add(5'000'000, 1000);
  for (int i = 0; i < 1000; ++i)
    exact.push_back(5e-3);
  sum_ns += 5'000'000.0L * 1000;

  const Summary want = summarize(exact);
  const Summary got = h.summary_seconds();
  EXPECT_EQ(got.count, 101000u);
  EXPECT_EQ(h.count(), 101000u);
  EXPECT_NEAR(got.mean, static_cast<double>(sum_ns / 101000) * 1e-9, 1e-15);
  EXPECT_NEAR(got.mean, want.mean, want.mean * 1e-12);
  EXPECT_NEAR(got.p50, want.p50, want.p50 * 1e-3);
  EXPECT_NEAR(got.p90, want.p90, want.p90 * 1e-3);
  EXPECT_NEAR(got.p99, want.p99, want.p99 * 1e-3);
  EXPECT_DOUBLE_EQ(got.min, want.min);
  EXPECT_DOUBLE_EQ(got.max, want.max);
}

// The sum of whole nanoseconds is exact: k equal samples added at once, one by one, shuffled or
// through merge() give bit-identical summaries, even past what a double (or a long double near
// 2^64) would sum exactly.
TEST(LogHistogram, BulkAddsEqualSingleAddsToTheLastBit) {
  std::vector<std::pair<std::int64_t, std::uint64_t>> samples;
  std::uint64_t state = 4242;
  for (int i = 0; i < 2000; ++i) {
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    const auto ns = static_cast<std::int64_t>(1 + (state >> 20) % 90'000'000);  // up to 90 ms
    samples.emplace_back(ns, 1 + (state >> 8) % 300);
  }
  samples.emplace_back(std::int64_t{1} << 61, 7);  // 7 x 2^61 ns: the sum passes 2^64
  LogHistogram bulk, single, merged_a, merged_b;
  for (const auto& [v, k] : samples)
    bulk.add(v, k);
  for (auto it = samples.rbegin(); it != samples.rend(); ++it) {  // reversed order, one at a time
    for (std::uint64_t i = 0; i < it->second; ++i)
      single.add(it->first);
  }
  for (std::size_t i = 0; i < samples.size(); ++i)
    (i % 2 == 0 ? merged_a : merged_b).add(samples[i].first, samples[i].second);
  merged_b.merge(merged_a);
  const Summary a = bulk.summary_seconds(), b = single.summary_seconds(), c = merged_b.summary_seconds();
  for (const Summary* s : {&b, &c}) {
    EXPECT_EQ(s->count, a.count);
    EXPECT_EQ(s->mean, a.mean);  // bit-identical
    EXPECT_EQ(s->p50, a.p50);
    EXPECT_EQ(s->p99, a.p99);
    EXPECT_EQ(s->min, a.min);
    EXPECT_EQ(s->max, a.max);
  }
  // The exact mean: Σ / count computed in integers, within one rounding of the conversions.
  __extension__ using U128 = unsigned __int128;
  U128 sum = 0;
  std::uint64_t count = 0;
  for (const auto& [v, k] : samples) {
    sum += static_cast<U128>(v) * k;
    count += k;
  }
  const double want = static_cast<double>(static_cast<long double>(sum) / count) * 1e-9;
  EXPECT_NEAR(a.mean, want, want * 1e-15);
  EXPECT_GT(a.mean, 0.0);
}

// add() remembers the whole-nanosecond range of the last bucket to skip the log: every value still
// lands in the bucket a fresh histogram puts it in (drifting token intervals crossing thousands of
// bucket edges one nanosecond at a time, and jumps between them).
TEST(LogHistogram, TheLastBucketCacheBucketsEveryValueAsAFreshHistogram) {
  std::vector<std::int64_t> values;
  for (std::int64_t v = 1; v < 5000; ++v)  // small values: buckets narrower than 1 ns at first
    values.push_back(v);
  for (std::int64_t v = 6'999'000; v < 7'030'000; v += 1)  // a 7 ms interval drifting by 1 ns
    values.push_back(v);
  std::uint64_t state = 99;
  for (int i = 0; i < 3000; ++i) {  // jumps, some repeated
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    values.push_back(static_cast<std::int64_t>(1 + (state >> 24) % 50'000'000));
    if (i % 3 == 0) values.push_back(values.back() + 1);
  }
  values.push_back(std::numeric_limits<std::int64_t>::max());
  values.push_back(std::numeric_limits<std::int64_t>::max() - 1);
  LogHistogram cached;
  std::map<std::int32_t, std::uint64_t> want;
  for (const std::int64_t v : values) {
    cached.add(v);
    LogHistogram fresh;
    fresh.add(v);
    ASSERT_EQ(fresh.bucket_counts().size(), 1U);
    ++want[fresh.first_bucket()];
  }
  std::map<std::int32_t, std::uint64_t> got;
  for (std::size_t i = 0; i < cached.bucket_counts().size(); ++i) {
    if (cached.bucket_counts()[i] > 0)
      got[cached.first_bucket() + static_cast<std::int32_t>(i)] = cached.bucket_counts()[i];
  }
  EXPECT_EQ(got, want);
  EXPECT_GT(want.size(), 3000U);
}

// Per-request latencies (TTFT, TPOT, E2E, queue) in seconds: the histogram's percentiles are within
// the stated resolution of the exact ones, count, mean, min and max exact; zeros (a request
// scheduled on arrival) stay exactly 0.
TEST(LatencySample, HistogramPercentilesWithinTheStatedResolutionOfTheExactOnes) {
  EXPECT_EQ(LogHistogram::kRelativeResolution, 5e-4);
  std::uint64_t state = 777;
  auto uniform = [&] {
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    return static_cast<double>(state >> 11) * 0x1.0p-53;
  };
  for (int trial = 0; trial < 20; ++trial) {
    SCOPED_TRACE(trial);
    LatencySample approx, exact(true);
    const int n = 1 + trial * trial * 50;  // 1 .. 18k samples
    for (int i = 0; i < n; ++i) {
      // Log-uniform between 1 ms and 100 s, a fifth of them exactly 0 in odd trials.
      const double v = (trial % 2 == 1 && uniform() < 0.2) ? 0.0 : 1e-3 * std::pow(1e5, uniform());
      approx.add(v);
      exact.add(v);
    }
    const Summary got = approx.summary(), want = exact.summary();
    EXPECT_EQ(got.count, want.count);
    EXPECT_NEAR(got.mean, want.mean, want.mean * 1e-15);
    EXPECT_EQ(got.min, want.min);
    EXPECT_EQ(got.max, want.max);
    for (auto [g, w] : {std::pair{got.p50, want.p50}, {got.p90, want.p90}, {got.p99, want.p99}}) {
      EXPECT_LE(std::abs(g - w), w * LogHistogram::kRelativeResolution * (1 + 1e-9)) << g << " vs " << w;
      if (w == 0) {
        EXPECT_EQ(g, 0.0);
      }
    }
  }
}

TEST(LogHistogram, MemoryDependsOnTheRangeNotTheNumberOfSamples) {
  std::uint64_t state = 99;
  auto sample = [&] {  // 10 ms .. 10 s, log-uniform
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    return 1e-2 * std::pow(1e3, static_cast<double>(state >> 11) * 0x1.0p-53);
  };
  LatencySample small, large;
  for (int i = 0; i < 10'000; ++i)
    small.add(sample());
  for (int i = 0; i < 1'000'000; ++i)
    large.add(sample());
  // ln(1000) / ln(1.001) = 6911 buckets cover the range; 100x the samples add none beyond it.
  // Grown in 512-bucket chunks: 7168 buckets held.
  EXPECT_EQ(large.memory_bytes(), small.memory_bytes());
  EXPECT_LT(large.memory_bytes(), 7168u * 8 + 1024);
  EXPECT_GT(large.memory_bytes(), 6911u * 8);
  EXPECT_EQ(large.summary().count, 1'000'000u);
  // Exact values cost 8 bytes each.
  LatencySample kept(true);
  for (int i = 0; i < 10'000; ++i)
    kept.add(sample());
  EXPECT_GE(kept.memory_bytes(), 10'000u * 8);
}

TEST(LogHistogram, MergeEqualsOneHistogramOfBothSamples) {
  LogHistogram a, b, both;
  std::uint64_t state = 5;
  for (int i = 0; i < 5000; ++i) {
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    const auto v = static_cast<std::int64_t>(state >> 40);  // 0 .. 16.7M ns, zeros included
    (i % 3 == 0 ? a : b).add(v);
    both.add(v);
  }
  LogHistogram empty;
  a.merge(empty);
  a.merge(b);
  const Summary m = a.summary_seconds(), w = both.summary_seconds();
  EXPECT_EQ(a.count(), both.count());
  EXPECT_EQ(a.buckets(), both.buckets());
  EXPECT_EQ(m.mean, w.mean);  // integer nanoseconds: the sum is exact in any order
  EXPECT_EQ(m.p50, w.p50);
  EXPECT_EQ(m.p90, w.p90);
  EXPECT_EQ(m.p99, w.p99);
  EXPECT_EQ(m.min, w.min);
  EXPECT_EQ(m.max, w.max);
  empty.merge(both);
  EXPECT_EQ(empty.summary_seconds().p90, w.p90);
}

TEST(LogHistogram, SmallSamplesAndOrderIndependence) {
  LogHistogram empty;
  EXPECT_EQ(empty.summary_seconds().count, 0u);
  EXPECT_EQ(empty.summary_seconds().mean, 0.0);

  LogHistogram one;
  one.add(7'000'000);
  const Summary s1 = one.summary_seconds();
  EXPECT_DOUBLE_EQ(s1.mean, 7e-3);
  EXPECT_DOUBLE_EQ(s1.p50, 7e-3);
  EXPECT_DOUBLE_EQ(s1.p99, 7e-3);

  // {1 ms, 2 ms}: p50 = 1.5 ms (interpolated between min and max, which are exact).
  LogHistogram two;
  two.add(2'000'000);
  two.add(1'000'000);
  const Summary s2 = two.summary_seconds();
  EXPECT_DOUBLE_EQ(s2.mean, 1.5e-3);
  EXPECT_NEAR(s2.p50, 1.5e-3, 1.5e-6);

  // Same multiset in another order and with `times` gives the same summary.
  LogHistogram a, b;
  for (std::int64_t v : {10, 2000, 30000, 2000, 10, 999999})
    a.add(v);
  b.add(999999);
  b.add(2000, 2);
  b.add(30000);
  b.add(10, 2);
  b.add(12345, 0);  // zero times: ignored
  const Summary sa = a.summary_seconds(), sb = b.summary_seconds();
  EXPECT_EQ(sa.count, sb.count);
  EXPECT_DOUBLE_EQ(sa.mean, sb.mean);
  EXPECT_DOUBLE_EQ(sa.p50, sb.p50);
  EXPECT_DOUBLE_EQ(sa.p90, sb.p90);
  EXPECT_DOUBLE_EQ(sa.p99, sb.p99);
}

// ---------------------------------------------------------------------------------------------
// JSON

TEST(ParseJson, ValidAndMalformed) {
  const Json j = parse_json(R"({"a": 1, "b": [true, "x"]})", "t.json");
  EXPECT_EQ(j["a"].get<int>(), 1);
  EXPECT_EQ(j["b"][1].get<std::string>(), "x");

  const std::string text = "{\n  \"a\": 1,\n  \"b\": }\n";
  const std::string msg = user_error_of([&] { parse_json(text, "cfg.json"); });
  EXPECT_EQ(msg.rfind("cfg.json:3:", 0), 0u) << msg;
  EXPECT_CONTAINS(msg, "malformed JSON");
  EXPECT_EQ(msg.find("[json.exception"), std::string::npos) << "library prefix should be stripped: " << msg;
}

TEST(ParseJson, ColumnPointsAtTheOffendingCharacter) {
  // The '}' is the 7th character of line 1 (nlohmann itself says "line 1, column 7").
  const std::string msg = user_error_of([] { parse_json("{\"a\": }", "x.json"); });
  // Regression test for a bug found by review (fixed).
  EXPECT_EQ(msg.rfind("x.json:1:7:", 0), 0u) << msg;
}

TEST(ParseJson, EmptyTextIsMalformed) {
  EXPECT_CONTAINS(user_error_of([] { parse_json("", "e.json"); }), "e.json:1:");
}

TEST(JsonObjectReader, TypedReadsAndFallbacks) {
  const Json j = parse_json(R"({"n": 3, "x": 2.5, "s": "hi", "b": true, "z": null})", "r.json");
  JsonObjectReader r(j, "r.json");
  EXPECT_TRUE(r.has("n"));
  EXPECT_FALSE(r.has("z"));  // null counts as absent
  EXPECT_FALSE(r.has("missing"));
  EXPECT_EQ(r.integer("n"), 3);
  EXPECT_DOUBLE_EQ(r.number("x"), 2.5);
  EXPECT_EQ(r.string("s"), "hi");
  EXPECT_TRUE(r.boolean_or("b", false));
  EXPECT_EQ(r.integer_or("absent_i", 7), 7);
  EXPECT_DOUBLE_EQ(r.number_or("absent_d", 1.25), 1.25);
  EXPECT_EQ(r.string_or("absent_s", "fb"), "fb");
  EXPECT_FALSE(r.boolean_or("absent_b", false));
  EXPECT_EQ(r.optional("z"), nullptr);
  EXPECT_NO_THROW(r.reject_unknown());
}

TEST(JsonObjectReader, TypeErrorsNameTheKey) {
  const Json j = parse_json(R"({"n": "three", "x": 2.5, "s": 5, "b": "yes"})", "r.json");
  JsonObjectReader r(j, "r.json");
  std::string msg = user_error_of([&] { r.number("n"); });
  EXPECT_CONTAINS(msg, "r.json");
  EXPECT_CONTAINS(msg, "'n'");
  EXPECT_CONTAINS(msg, "must be a number");
  EXPECT_CONTAINS(user_error_of([&] { r.integer("x"); }), "must be an integer");
  EXPECT_CONTAINS(user_error_of([&] { r.string("s"); }), "must be a string");
  EXPECT_CONTAINS(user_error_of([&] { r.boolean_or("b", false); }), "true or false");
  msg = user_error_of([&] { r.required("missing_key"); });
  EXPECT_CONTAINS(msg, "missing required key 'missing_key'");
  EXPECT_CONTAINS(msg, "r.json");
}

TEST(JsonObjectReader, RejectsUnknownKeysWithDidYouMean) {
  const Json j = parse_json(R"({"nodes": 2, "gpus_per_nod": 8})", "cluster.json");
  JsonObjectReader r(j, "cluster.json");
  EXPECT_EQ(r.integer_or("nodes", 1), 2);
  EXPECT_EQ(r.integer_or("gpus_per_node", 8), 8);
  const std::string msg = user_error_of([&] { r.reject_unknown(); });
  EXPECT_CONTAINS(msg, "cluster.json");
  EXPECT_CONTAINS(msg, "unknown key 'gpus_per_nod'");
  EXPECT_CONTAINS(msg, "did you mean 'gpus_per_node'?");

  // ignore() marks keys as known.
  JsonObjectReader r2(j, "cluster.json");
  r2.ignore({"nodes", "gpus_per_nod"});
  EXPECT_NO_THROW(r2.reject_unknown());
}

TEST(JsonObjectReader, NonObjectRejected) {
  const Json arr = Json::array({1, 2});
  const std::string msg = user_error_of([&] { JsonObjectReader r(arr, "list.json"); });
  EXPECT_CONTAINS(msg, "list.json");
  EXPECT_CONTAINS(msg, "expected a JSON object");
}

TEST(ParseJson, AKeyGivenTwiceIsAUserErrorNamingItsPath) {
  EXPECT_CONTAINS(user_error_of([] { parse_json(R"({"a": 1, "a": 2})", "x.json"); }),
                  "x.json: key 'a' is given twice in one object");
  EXPECT_CONTAINS(
      user_error_of([] { parse_json(R"({"gpus": [{"name": 1}, {"name": 2, "name": 3}]})", "y.json"); }),
      "y.json: key 'gpus[].name' is given twice");
  // The same key in sibling or nested objects is no repeat; the document is what nlohmann builds.
  const std::string ok = R"({"a": {"a": {"b": 1}}, "b": [{"a": 1}, {"a": 2}], "c": [1, {"d": null}]})";
  EXPECT_EQ(parse_json(ok, "ok.json"), Json::parse(ok));
  // A large object (hashed past the first keys) is checked as well.
  std::string big = "{";
  for (int i = 0; i < 100; ++i)
    big += "\"k" + std::to_string(i) + "\": " + std::to_string(i) + ",";
  EXPECT_EQ(parse_json(big + "\"last\": 0}", "big.json").size(), 101u);
  EXPECT_CONTAINS(user_error_of([&] { parse_json(big + "\"k7\": 0}", "big.json"); }),
                  "key 'k7' is given twice");
  EXPECT_CONTAINS(user_error_of([&] { parse_json(big + "\"k99\": 0}", "big.json"); }), "key 'k99'");
  // Syntax errors are reported as before.
  EXPECT_CONTAINS(user_error_of([] { parse_json(R"({"a": })", "z.json"); }), "z.json:1:");
}

// ---------------------------------------------------------------------------------------------
// Text helpers

TEST(Text, TrimAndLower) {
  EXPECT_EQ(trim("  a b \t\n"), "a b");
  EXPECT_EQ(trim(""), "");
  EXPECT_EQ(trim("   "), "");
  EXPECT_EQ(to_lower("H100-SXM"), "h100-sxm");
}

TEST(Text, SplitCsv) {
  using V = std::vector<std::string_view>;
  EXPECT_EQ(split_csv("a,b,c"), (V{"a", "b", "c"}));
  EXPECT_EQ(split_csv(" a , b ,c "), (V{"a", "b", "c"}));
  EXPECT_EQ(split_csv("a,,b"), (V{"a", "", "b"}));
  EXPECT_EQ(split_csv("a,"), (V{"a", ""}));
  EXPECT_EQ(split_csv(""), (V{""}));
  EXPECT_EQ(split_csv("\"x,y\",z"), (V{"x,y", "z"}));
  EXPECT_EQ(split_csv("1,\"quoted, with comma\",3"), (V{"1", "quoted, with comma", "3"}));
  EXPECT_EQ(split_csv("arrival_s,prompt_tokens,output_tokens").size(), 3u);
}

TEST(Text, ParseInt) {
  EXPECT_EQ(parse_int("42"), 42);
  EXPECT_EQ(parse_int(" 7 "), 7);
  EXPECT_EQ(parse_int("+3"), 3);
  EXPECT_EQ(parse_int("-5"), -5);
  EXPECT_EQ(parse_int("12.0"), 12);  // integral floats from exported traces
  EXPECT_EQ(parse_int("9007199254740993"), 9007199254740993LL);
  EXPECT_FALSE(parse_int("12.5").has_value());
  EXPECT_FALSE(parse_int("abc").has_value());
  EXPECT_FALSE(parse_int("").has_value());
  EXPECT_FALSE(parse_int("12abc").has_value());
  EXPECT_FALSE(parse_int("1 2").has_value());
  EXPECT_FALSE(parse_int("nan").has_value());
}

TEST(Text, ParseDouble) {
  EXPECT_DOUBLE_EQ(*parse_double("1.5"), 1.5);
  EXPECT_DOUBLE_EQ(*parse_double("1e-3"), 1e-3);
  EXPECT_DOUBLE_EQ(*parse_double("-2"), -2.0);
  EXPECT_DOUBLE_EQ(*parse_double(" +0.25 "), 0.25);
  EXPECT_FALSE(parse_double("inf").has_value());
  EXPECT_FALSE(parse_double("nan").has_value());
  EXPECT_FALSE(parse_double("1.5x").has_value());
  EXPECT_FALSE(parse_double("").has_value());
  EXPECT_FALSE(parse_double("x1").has_value());
}

TEST(Text, ReadFileErrors) {
  EXPECT_CONTAINS(user_error_of([] { read_file("/nonexistent/apex/file.txt", "trace"); }), "does not exist");
  const std::string dir_msg = user_error_of([] { read_file(APEX_TEST_DATA, "trace"); });
  EXPECT_CONTAINS(dir_msg, "is a directory");
  EXPECT_CONTAINS(dir_msg, "trace");
  const std::string text = read_file(std::string(APEX_TEST_DATA) + "/trace_basic.csv", "trace");
  EXPECT_EQ(text.rfind("arrival_s,prompt_tokens,output_tokens\n", 0), 0u);
}

// ---------------------------------------------------------------------------------------------
// Data types

TEST(DType, BytesNamesAndParsing) {
  EXPECT_EQ(dtype_bytes(DType::FP32), 4.0);
  EXPECT_EQ(dtype_bytes(DType::BF16), 2.0);
  EXPECT_EQ(dtype_bytes(DType::FP8), 1.0);
  EXPECT_EQ(dtype_bytes(DType::INT4), 0.5);
  EXPECT_EQ(parse_dtype("bfloat16", "w"), DType::BF16);
  EXPECT_EQ(parse_dtype("BF16", "w"), DType::BF16);
  EXPECT_EQ(parse_dtype("float16", "w"), DType::FP16);
  EXPECT_EQ(parse_dtype("fp8_e4m3", "w"), DType::FP8);
  EXPECT_EQ(parse_dtype("int8", "w"), DType::INT8);
  EXPECT_EQ(parse_dtype("awq", "w"), DType::INT4);
  EXPECT_EQ(dtype_name(DType::FP8), "fp8");
  for (const auto& n : dtype_names())
    EXPECT_EQ(dtype_name(parse_dtype(n, "w")), n);
  const std::string msg = user_error_of([] { parse_dtype("bf61", "--kv-dtype"); });
  EXPECT_CONTAINS(msg, "--kv-dtype");
  EXPECT_CONTAINS(msg, "unknown dtype 'bf61'");
  EXPECT_CONTAINS(msg, "did you mean 'bf16'?");
}

// ---------------------------------------------------------------------------------------------
// Progress (core/progress.h)

TEST(Progress, NothingBeforeTheDelayAndASummaryWhenAsked) {
  std::string out;
  {
    Progress p(
        "search", "plans", [&](std::string_view t) { out += t; }, ProgressStyle{false, 3600, 0, false});
    p.set_total(4);
    p.add_done(3);
    p.add_pruned();
  }
  EXPECT_EQ(out, "");  // a short run shows nothing
  Progress p(
      "search", "plans", [&](std::string_view t) { out += t; }, ProgressStyle{false, 3600, 0, true}, true);
  p.set_total(4);
  p.add_done(3);
  p.add_pruned();
  p.finish();
  p.finish();  // once
  EXPECT_EQ(out.rfind("search: 4/4 plans, 3 simulated, 1 pruned, ", 0), 0u) << out;
  EXPECT_EQ(std::count(out.begin(), out.end(), '\n'), 1) << out;
  EXPECT_EQ(out.find("ETA"), std::string::npos) << out;  // nothing left to estimate
}

TEST(Progress, TerminalRedrawsInPlaceAndClearsTheLine) {
  std::string out;
  Progress p(
      "validate serving", "rows", [&](std::string_view t) { out += t; }, ProgressStyle{true, 0, 0, false});
  p.set_total(2);
  p.add_done();
  EXPECT_EQ(out.rfind("\rvalidate serving: 0/2 rows, ", 0), 0u) << out;  // set_total drew first
  EXPECT_NE(out.find("\rvalidate serving: 1/2 rows, "), std::string::npos) << out;
  EXPECT_NE(out.find(", ETA "), std::string::npos) << out;
  EXPECT_NE(out.find("\x1b[K"), std::string::npos) << out;
  EXPECT_EQ(out.find('\n'), std::string::npos) << out;
  p.note("fitting x\n");  // a line of its own: the status line is cleared first
  EXPECT_NE(out.find("\r\x1b[Kfitting x\n"), std::string::npos) << out;
  out.clear();
  p.finish();
  EXPECT_EQ(out, "");  // nothing drawn since the note: nothing to clear
  p.add_done();        // after finish: nothing
  EXPECT_EQ(out, "");
  Progress q(
      "search", "plans", [&](std::string_view t) { out += t; }, ProgressStyle{true, 0, 0, false});
  q.set_total(1);
  q.finish();
  EXPECT_TRUE(out.ends_with("\r\x1b[K")) << out;  // the terminal is left clean
  EXPECT_EQ(out.find('\n'), std::string::npos) << out;
}

TEST(Progress, RateLimitedAndThreadSafe) {
  std::string out;
  std::mutex m;  // the test's sink is not thread-safe itself; Progress draws from one thread at a time
  int draws = 0;
  Progress slow(
      "search", "plans",
      [&](std::string_view) {
        std::lock_guard lock(m);
        ++draws;
      },
      ProgressStyle{false, 0, 3600, false}, true);
  Progress fast(
      "search", "plans",
      [&](std::string_view t) {
        std::lock_guard lock(m);
        out += t;
      },
      ProgressStyle{false, 0, 0, true}, true);
  slow.set_total(8000);
  fast.set_total(8000);
  parallel_for(8000, 4, [&](std::size_t i) {
    if (i % 4 == 0) {
      slow.add_pruned();
      fast.add_pruned();
    } else {
      slow.add_done();
      fast.add_done();
    }
  });
  EXPECT_EQ(draws, 1);  // one interval of an hour: the first count only
  fast.finish();
  const std::string last = out.substr(out.rfind('\n', out.size() - 2) + 1);
  EXPECT_EQ(last.rfind("search: 8000/8000 plans, 6000 simulated, 2000 pruned, ", 0), 0u) << last;
  // Every line drawn is whole (no interleaving).
  std::size_t start = 0;
  for (std::size_t nl = out.find('\n'); nl != std::string::npos; nl = out.find('\n', start)) {
    EXPECT_EQ(out.compare(start, 8, "search: "), 0) << out.substr(start, nl - start);
    start = nl + 1;
  }
}

TEST(Progress, DurationsReadAsAPersonWouldSay) {
  EXPECT_EQ(format_duration(4.25), "4.2 s");
  EXPECT_EQ(format_duration(187), "3 min 07 s");
  EXPECT_EQ(format_duration(7500), "2 h 05 min");
  EXPECT_EQ(format_duration(-1), "?");
}

}  // namespace
}  // namespace apex

namespace apex {
namespace {
// json_member_spans finds each member's exact text without parsing it (the calibration loader
// parses only the requested GPU's part), skipping strings that hold brackets and quotes.
TEST(JsonSpans, MembersOfANestedObjectAreTheirExactText) {
  const std::string text =
      R"({"about": "x {[", "gpus": {"a": {"k": [1, 2, {"s": "}\"]"}]}, "b": 3.5, "c": "q"}, "z": 1})";
  const auto spans = json_member_spans(text, {"gpus"}, "doc");
  ASSERT_EQ(spans.size(), 3u);
  EXPECT_EQ(spans[0].first, "a");
  EXPECT_EQ(spans[0].second, R"({"k": [1, 2, {"s": "}\"]"}]})");
  EXPECT_EQ(parse_json(spans[0].second, "a")["k"][2]["s"], "}\"]");
  EXPECT_EQ(spans[1].first, "b");
  EXPECT_EQ(spans[1].second, "3.5");
  EXPECT_EQ(spans[2].second, R"("q")");
  EXPECT_THROW(json_member_spans(text, {"nope"}, "doc"), UserError);
  EXPECT_THROW(json_member_spans(R"({"gpus": {"a": [1, 2})", {"gpus"}, "doc"), UserError);
  // A quote after an even run of backslashes ends the string; after an odd run it does not.
  const auto esc = json_member_spans(R"({"gpus": {"a": "x\\", "b": "y\\\"z", "c\"d": 1}})", {"gpus"}, "doc");
  ASSERT_EQ(esc.size(), 3u);
  EXPECT_EQ(esc[0].second, R"("x\\")");
  EXPECT_EQ(esc[1].second, R"("y\\\"z")");
  EXPECT_EQ(esc[2].first, R"(c\"d)");
  EXPECT_THROW(json_member_spans(R"({"gpus": {"a": "x\"}})", {"gpus"}, "doc"), UserError);
}
}  // namespace
}  // namespace apex
