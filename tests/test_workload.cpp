// Tests of src/workload: trace readers, synthetic traffic, length distributions and the sample trace.
#include <gtest/gtest.h>

#include "test_util.h"

#include <filesystem>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "core/error.h"
#include "core/option_ref.h"
#include "core/text.h"
#include "core/units.h"
#include "workload/workload.h"

namespace apex {
namespace {

using ::apex::testing::user_error_of;
using ::apex::testing::write_temp_file;

const std::string kData = APEX_TEST_DATA;
const std::string kRealTrace =
    std::string(APEX_SHARED_DIR) + "/measurements/traces/apexplus_llama_creation_05.csv";

void expect_same_requests(const Trace& a, const Trace& b) {
  ASSERT_EQ(a.requests.size(), b.requests.size());
  for (std::size_t i = 0; i < a.requests.size(); ++i) {
    SCOPED_TRACE(i);
    EXPECT_EQ(a.requests[i].id, b.requests[i].id);
    EXPECT_EQ(a.requests[i].arrival, b.requests[i].arrival);
    EXPECT_EQ(a.requests[i].prompt, b.requests[i].prompt);
    EXPECT_EQ(a.requests[i].output, b.requests[i].output);
  }
}

// ---------------------------------------------------------------------------------------------
// Trace files

TEST(TraceCsv, BasicValues) {
  const Trace t = load_trace(kData + "/trace_basic.csv");
  ASSERT_EQ(t.requests.size(), 4u);
  EXPECT_EQ(t.name, kData + "/trace_basic.csv");
  const std::vector<Request> want = {
      {0, 0, 100, 20}, {1, 500'000'000, 250, 1}, {2, 500'000'000, 7, 300}, {3, 1'618'518'000, 4096, 128}};
  for (std::size_t i = 0; i < want.size(); ++i) {
    SCOPED_TRACE(i);
    EXPECT_EQ(t.requests[i].id, want[i].id);
    EXPECT_EQ(t.requests[i].arrival, want[i].arrival);
    EXPECT_EQ(t.requests[i].prompt, want[i].prompt);
    EXPECT_EQ(t.requests[i].output, want[i].output);
  }
  EXPECT_EQ(t.max_prompt(), 4096);
  EXPECT_EQ(t.max_total(), 4096 + 128);
  EXPECT_DOUBLE_EQ(t.mean_prompt(), (100 + 250 + 7 + 4096) / 4.0);
  EXPECT_DOUBLE_EQ(t.mean_output(), (20 + 1 + 300 + 128) / 4.0);
  EXPECT_DOUBLE_EQ(t.span_seconds(), 1.618518);
}

TEST(TraceCsv, ColumnOrderExtraColumnsAndBlankLines) {
  const Trace basic = load_trace(kData + "/trace_basic.csv");
  const Trace reordered = load_trace(kData + "/trace_reordered.csv");
  expect_same_requests(basic, reordered);
}

TEST(TraceCsv, WindowsLineEndingsAndQuotedHeader) {
  const std::string path = ::testing::TempDir() + "/apex_crlf.csv";
  std::FILE* f = std::fopen(path.c_str(), "wb");
  ASSERT_NE(f, nullptr);
  std::fputs(
      "\"arrival_s\",\"prompt_tokens\",\"output_tokens\"\r\n0.0,100,20\r\n0.5,250,1\r\n\r\n"
      "0.5,7,300\r\n1.618518,4096,128\r\n",
      f);
  std::fclose(f);
  expect_same_requests(load_trace(kData + "/trace_basic.csv"), load_trace(path));
}

TEST(TraceJsonl, NanosecondOffsetsAndSameTraceAsCsv) {
  const Trace csv = load_trace(kData + "/trace_basic.csv");
  const Trace jsonl = load_trace(kData + "/trace_basic.jsonl");
  expect_same_requests(csv, jsonl);
  EXPECT_EQ(jsonl.requests[3].arrival, 1'618'518'000);
}

TEST(TraceStreaming, OpenTraceIsLazyAndReportsBadRowsWhenReached) {
  auto src = open_trace(kData + "/bad_nonmonotonic.csv");
  Request r;
  ASSERT_TRUE(src->next(r));
  EXPECT_EQ(r.id, 0u);
  ASSERT_TRUE(src->next(r));
  EXPECT_EQ(r.id, 1u);
  EXPECT_EQ(r.arrival, 1'000'000'000);
  const std::string msg = user_error_of([&] { src->next(r); });
  EXPECT_CONTAINS(msg, "bad_nonmonotonic.csv:4");

  auto ok = open_trace(kData + "/trace_basic.csv");
  int n = 0;
  while (ok->next(r))
    ++n;
  EXPECT_EQ(n, 4);
  EXPECT_FALSE(ok->next(r));  // stays at the end
}

TEST(TraceStreaming, SourceOfStreamsALoadedTrace) {
  const Trace t = load_trace(kData + "/trace_basic.csv");
  auto src = source_of(t);
  Request r;
  std::vector<Request> got;
  while (src->next(r))
    got.push_back(r);
  ASSERT_EQ(got.size(), 4u);
  EXPECT_EQ(got[2].prompt, 7);
  EXPECT_EQ(got[3].arrival, t.requests[3].arrival);
}

TEST(TraceErrors, NegativeArrival) {
  const std::string msg = user_error_of([] { load_trace(kData + "/bad_negative_arrival.csv"); });
  EXPECT_CONTAINS(msg, "bad_negative_arrival.csv:3:");
  EXPECT_CONTAINS(msg, "negative");
}

TEST(TraceErrors, NonMonotonicArrival) {
  const std::string msg = user_error_of([] { load_trace(kData + "/bad_nonmonotonic.csv"); });
  EXPECT_CONTAINS(msg, "bad_nonmonotonic.csv:4:");
  EXPECT_CONTAINS(msg, "earlier than the previous");
  EXPECT_CONTAINS(msg, "sorted");
}

TEST(TraceErrors, ZeroPromptLengthWithBlankLineCounted) {
  const std::string msg = user_error_of([] { load_trace(kData + "/bad_zero_prompt.csv"); });
  EXPECT_CONTAINS(msg, "bad_zero_prompt.csv:4:");  // line 3 is blank and still counts
  EXPECT_CONTAINS(msg, "prompt length");
}

TEST(TraceErrors, NegativeOutputLength) {
  const std::string msg = user_error_of([] { load_trace(kData + "/bad_negative_output.csv"); });
  EXPECT_CONTAINS(msg, "bad_negative_output.csv:3:");
  EXPECT_CONTAINS(msg, "output length");
  EXPECT_CONTAINS(msg, "-3");
}

TEST(TraceErrors, NonNumericField) {
  const std::string msg = user_error_of([] { load_trace(kData + "/bad_nonnumeric.csv"); });
  EXPECT_CONTAINS(msg, "bad_nonnumeric.csv:3:");
  EXPECT_CONTAINS(msg, "prompt_tokens 'ten' is not an integer");
}

TEST(TraceErrors, LineNumbersCountLeadingBlankLines) {
  const std::string msg = user_error_of([] { load_trace(kData + "/bad_after_leading_blanks.csv"); });
  // Regression test for a bug found by review (fixed).
  EXPECT_CONTAINS(msg, "bad_after_leading_blanks.csv:5:");
}

TEST(TraceErrors, MissingHeaderColumn) {
  const std::string msg = user_error_of([] { load_trace(kData + "/bad_missing_column.csv"); });
  EXPECT_CONTAINS(msg, "bad_missing_column.csv:1:");
  EXPECT_CONTAINS(msg, "prompt_tokens");
  EXPECT_CONTAINS(msg, "arrival_s,prompt_tokens,output_tokens");
}

TEST(TraceErrors, MalformedJsonLine) {
  const std::string msg = user_error_of([] { load_trace(kData + "/bad_malformed.jsonl"); });
  EXPECT_CONTAINS(msg, "bad_malformed.jsonl:2:");
  EXPECT_CONTAINS(msg, "malformed JSON");
}

TEST(TraceErrors, EmptyFiles) {
  std::string msg = user_error_of([] { load_trace(kData + "/empty.csv"); });
  EXPECT_CONTAINS(msg, "empty.csv");
  EXPECT_CONTAINS(msg, "empty");
  msg = user_error_of([] { load_trace(kData + "/header_only.csv"); });
  EXPECT_CONTAINS(msg, "header_only.csv");
  EXPECT_CONTAINS(msg, "no requests");
}

TEST(TraceErrors, MissingFileAndDirectory) {
  std::string msg = user_error_of([] { load_trace("/nonexistent/apex/trace.csv"); });
  EXPECT_CONTAINS(msg, "/nonexistent/apex/trace.csv");
  EXPECT_CONTAINS(msg, "does not exist");
  msg = user_error_of([] { load_trace(kData); });
  EXPECT_CONTAINS(msg, "is a directory");
  EXPECT_CONTAINS(user_error_of([] { open_trace("/nonexistent/x.jsonl"); }), "does not exist");
}

TEST(TraceErrors, JsonlFieldProblems) {
  const std::string dir = ::testing::TempDir();
  auto write = [&](const std::string& name, const std::string& text) {
    const std::string path = dir + "/" + name;
    std::FILE* f = std::fopen(path.c_str(), "w");
    EXPECT_NE(f, nullptr);
    std::fputs(text.c_str(), f);
    std::fclose(f);
    return path;
  };
  std::string p = write("apex_j1.jsonl", "{\"StartTimeOffset\": 0, \"ContextTokens\": 10}\n");
  std::string msg = user_error_of([&] { load_trace(p); });
  EXPECT_CONTAINS(msg, p + ":1:");
  EXPECT_CONTAINS(msg, "GeneratedTokens");
  p = write("apex_j2.jsonl",
            "{\"StartTimeOffset\": 0, \"ContextTokens\": 10, \"GeneratedTokens\": 5}\n"
            "{\"StartTimeOffset\": 5, \"ContextTokens\": 10.5, \"GeneratedTokens\": 5}\n");
  msg = user_error_of([&] { load_trace(p); });
  EXPECT_CONTAINS(msg, p + ":2:");
  EXPECT_CONTAINS(msg, "integer");
  p = write("apex_j3.jsonl", "{\"StartTimeOffset\": \"0\", \"ContextTokens\": 10, \"GeneratedTokens\": 5}\n");
  EXPECT_CONTAINS(user_error_of([&] { load_trace(p); }), "StartTimeOffset");
  p = write("apex_j4.jsonl", "{\"StartTimeOffset\": 0, \"ContextTokens\": 10, \"GeneratedTokens\": 0}\n");
  EXPECT_CONTAINS(user_error_of([&] { load_trace(p); }), "output length");
  p = write("apex_c1.csv", "arrival_s,prompt_tokens,output_tokens\n0.0,10\n");
  msg = user_error_of([&] { load_trace(p); });
  EXPECT_CONTAINS(msg, p + ":2:");
  EXPECT_CONTAINS(msg, "fields");
}

// ---------------------------------------------------------------------------------------------
// Length distributions

// ---------------------------------------------------------------------------------------------
// Prefix sharing

TEST(TracePrefix, OptionalColumnsAndErrors) {
  const Trace t =
      load_trace(write_temp_file("apex_prefix.csv",
                                 "arrival_s,prompt_tokens,output_tokens,prefix_group,prefix_tokens\n"
                                 "0,1200,10,7,1000\n"
                                 "0.5,300,10,,\n"
                                 "1,1100,10,7,1000\n"));
  ASSERT_EQ(t.requests.size(), 3u);
  EXPECT_EQ(t.requests[0].prefix_group, 7);
  EXPECT_EQ(t.requests[0].prefix, 1000);
  EXPECT_EQ(t.requests[1].prefix_group, -1);  // empty fields: no shared prefix
  EXPECT_EQ(t.requests[1].prefix, 0);
  EXPECT_EQ(t.requests[2].prefix_group, 7);
  EXPECT_CONTAINS(
      user_error_of([] {
        load_trace(write_temp_file("apex_prefix_one.csv",
                                   "arrival_s,prompt_tokens,output_tokens,prefix_group\n0,10,1,1\n"));
      }),
      "needs both columns prefix_group and prefix_tokens");
  EXPECT_CONTAINS(
      user_error_of([] {
        load_trace(write_temp_file(
            "apex_prefix_long.csv",
            "arrival_s,prompt_tokens,output_tokens,prefix_group,prefix_tokens\n0,10,1,1,11\n"));
      }),
      "apex_prefix_long.csv:2: prefix_tokens '11' must be an integer between 0 and the prompt length 10");
  EXPECT_CONTAINS(user_error_of([] {
                    load_trace(write_temp_file(
                        "apex_prefix_neg.csv",
                        "arrival_s,prompt_tokens,output_tokens,prefix_group,prefix_tokens\n0,10,1,-2,5\n"));
                  }),
                  "prefix_group '-2' is not a non-negative integer");
}

TEST(Synthetic, SharedPrefixGroups) {
  SyntheticSpec s;
  s.rate = 5;
  s.num_requests = 9;
  s.prompt = LengthDist::parse("100", "p");
  s.output = LengthDist::parse("5", "o");
  s.shared_prefix = 2000;
  s.prefix_groups = 3;
  const Trace t = synthesize(s);
  for (std::size_t i = 0; i < t.requests.size(); ++i) {
    EXPECT_EQ(t.requests[i].prompt, 2100);
    EXPECT_EQ(t.requests[i].prefix, 2000);
    EXPECT_EQ(t.requests[i].prefix_group, static_cast<std::int64_t>(i % 3));
  }
  // The arrivals and sampled lengths do not depend on the prefix.
  SyntheticSpec plain = s;
  plain.shared_prefix = 0;
  const Trace u = synthesize(plain);
  for (std::size_t i = 0; i < t.requests.size(); ++i) {
    EXPECT_EQ(t.requests[i].arrival, u.requests[i].arrival);
    EXPECT_EQ(u.requests[i].prefix_group, -1);
  }
}

TEST(LengthDist, ParseForms) {
  LengthDist d = LengthDist::parse("512", "--prompt-len");
  EXPECT_EQ(d.kind, LengthDist::Kind::Fixed);
  EXPECT_DOUBLE_EQ(d.a, 512);
  EXPECT_DOUBLE_EQ(d.mean(), 512);
  EXPECT_EQ(d.max_value(), 512);

  d = LengthDist::parse("uniform:10:20", "--prompt-len");
  EXPECT_EQ(d.kind, LengthDist::Kind::Uniform);
  EXPECT_DOUBLE_EQ(d.a, 10);
  EXPECT_DOUBLE_EQ(d.b, 20);
  EXPECT_DOUBLE_EQ(d.mean(), 15);
  EXPECT_EQ(d.max_value(), 20);

  d = LengthDist::parse("normal:100:10", "--prompt-len");
  EXPECT_EQ(d.kind, LengthDist::Kind::Normal);
  EXPECT_DOUBLE_EQ(d.mean(), 100);
  EXPECT_EQ(d.max_value(), 131);  // mean + 3.1 sd

  d = LengthDist::parse("lognormal:100:50", "--output-len");
  EXPECT_EQ(d.kind, LengthDist::Kind::LogNormal);
  EXPECT_DOUBLE_EQ(d.mean(), 100);
  EXPECT_GT(d.max_value(), 100);

  d = LengthDist::parse("Uniform:1:1", "x");  // kind is case-insensitive; LO == HI allowed
  EXPECT_EQ(d.kind, LengthDist::Kind::Uniform);
}

TEST(LengthDist, ParseErrors) {
  struct Case {
    const char* text;
    const char* expect;
  };
  const std::vector<Case> cases = {
      {"0", "at least 1"},
      {"12.5", "whole number"},
      {"abc", "'abc' is not a number"},
      {"", "not a number"},
      {"-4", "at least 1"},
      {"uniform:20:10", "LO <= HI"},
      {"uniform:0:5", "LO <= HI"},
      {"normal:100:-1", "STD"},
      {"lognormal:0:5", "MEAN"},
      {"foo:1:2", "unknown distribution 'foo'"},
      {"uniform:1", "KIND:A:B"},
      {"uniform:1:2:3", "KIND:A:B"},
      {"uniform:a:2", "'a' is not a number"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.text);
    const std::string msg = user_error_of([&] { LengthDist::parse(c.text, "--prompt-len"); });
    EXPECT_CONTAINS(msg, "--prompt-len");
    EXPECT_CONTAINS(msg, c.expect);
    EXPECT_CONTAINS(msg, "uniform:LO:HI");  // says what to write
  }
}

// ---------------------------------------------------------------------------------------------
// Synthetic traffic

SyntheticSpec spec(double rate, std::int64_t n, std::uint64_t seed) {
  SyntheticSpec s;
  s.rate = rate;
  s.num_requests = n;
  s.seed = seed;
  s.prompt = LengthDist::parse("uniform:10:2000", "p");
  s.output = LengthDist::parse("lognormal:200:100", "o");
  return s;
}

TEST(Synthetic, SameSeedIdenticalDifferentSeedDifferent) {
  const Trace a = synthesize(spec(5, 500, 42));
  const Trace b = synthesize(spec(5, 500, 42));
  expect_same_requests(a, b);
  const Trace c = synthesize(spec(5, 500, 43));
  ASSERT_EQ(c.requests.size(), 500u);
  int same_arrivals = 0, same_prompts = 0;
  for (std::size_t i = 1; i < 500; ++i) {
    same_arrivals += a.requests[i].arrival == c.requests[i].arrival;
    same_prompts += a.requests[i].prompt == c.requests[i].prompt;
  }
  EXPECT_LT(same_arrivals, 5);
  EXPECT_LT(same_prompts, 50);
}

TEST(Synthetic, StreamingSourceMatchesSynthesize) {
  const SyntheticSpec s = spec(3, 100, 7);
  auto src = synthetic_source(s);
  Trace streamed;
  Request r;
  while (src->next(r))
    streamed.requests.push_back(r);
  expect_same_requests(streamed, synthesize(s));
}

TEST(Synthetic, IdsArrivalOrderAndCount) {
  const Trace t = synthesize(spec(20, 1000, 1));
  ASSERT_EQ(t.requests.size(), 1000u);
  EXPECT_EQ(t.requests[0].arrival, 0);  // the first request arrives at t = 0
  for (std::size_t i = 0; i < t.requests.size(); ++i) {
    EXPECT_EQ(t.requests[i].id, i);
    if (i > 0) {
      EXPECT_GE(t.requests[i].arrival, t.requests[i - 1].arrival);
    }
    EXPECT_GE(t.requests[i].output, 1);
  }
}

TEST(Synthetic, InfiniteRateAllArriveAtZero) {
  const Trace t = synthesize(spec(std::numeric_limits<double>::infinity(), 300, 9));
  ASSERT_EQ(t.requests.size(), 300u);
  for (const auto& r : t.requests)
    EXPECT_EQ(r.arrival, 0);
  EXPECT_DOUBLE_EQ(t.span_seconds(), 0.0);
}

TEST(Synthetic, PoissonMeanInterArrival) {
  for (double rate : {10.0, 0.5}) {
    SCOPED_TRACE(rate);
    SyntheticSpec s = spec(rate, 20000, 2024);
    const Trace t = synthesize(s);
    const double mean_gap = t.span_seconds() / static_cast<double>(t.requests.size() - 1);
    EXPECT_NEAR(mean_gap, 1.0 / rate, 0.05 / rate);
    // Exponential gaps: coefficient of variation 1.
    double sum = 0, sum2 = 0;
    for (std::size_t i = 1; i < t.requests.size(); ++i) {
      const double g = ns_to_seconds(t.requests[i].arrival - t.requests[i - 1].arrival);
      sum += g;
      sum2 += g * g;
    }
    const double n = static_cast<double>(t.requests.size() - 1);
    const double m = sum / n, cv = std::sqrt(sum2 / n - m * m) / m;
    EXPECT_NEAR(cv, 1.0, 0.05);
  }
}

TEST(Synthetic, GammaBurstinessCv) {
  for (double burst : {0.5, 2.0, 4.0}) {
    SCOPED_TRACE(burst);
    SyntheticSpec s = spec(10, 20000, 77);
    s.burstiness = burst;
    const Trace t = synthesize(s);
    double sum = 0, sum2 = 0;
    for (std::size_t i = 1; i < t.requests.size(); ++i) {
      const double g = ns_to_seconds(t.requests[i].arrival - t.requests[i - 1].arrival);
      sum += g;
      sum2 += g * g;
    }
    const double n = static_cast<double>(t.requests.size() - 1);
    const double m = sum / n, cv = std::sqrt(sum2 / n - m * m) / m;
    EXPECT_NEAR(cv, burst, 0.1 * burst);
    EXPECT_NEAR(m, 0.1, 0.1 * 0.1);  // the rate is kept
  }
}

// ---------------------------------------------------------------------------------------------
// Load profiles (--rate 8:600,20:600)

// "1:1,1:1,...": n load stages of one second each.
std::string stage_list(int n) {
  std::string out;
  for (int i = 0; i < n; ++i) {
    if (i > 0) out += ',';
    out += "1:1";
  }
  return out;
}

SyntheticSpec staged(const std::string& profile, std::uint64_t seed) {
  SyntheticSpec s = spec(1, 1, seed);
  s.stages = parse_load_stages(profile, "--rate");
  return s;
}

// Gaps between consecutive arrivals of one stage, seconds.
std::vector<double> stage_gaps(const Trace& t, std::int32_t stage) {
  std::vector<double> out;
  for (std::size_t i = 1; i < t.requests.size(); ++i) {
    if (t.requests[i].stage == stage && t.requests[i - 1].stage == stage)
      out.push_back(ns_to_seconds(t.requests[i].arrival - t.requests[i - 1].arrival));
  }
  return out;
}

TEST(LoadStages, ParseForms) {
  const auto two = parse_load_stages("8:600,20:600", "--rate");
  ASSERT_EQ(two.size(), 2u);
  EXPECT_EQ(two[0].rate, 8.0);
  EXPECT_EQ(two[0].duration_s, 600.0);
  EXPECT_EQ(two[1].rate, 20.0);
  EXPECT_EQ(two[1].duration_s, 600.0);
  const auto one = parse_load_stages(" 0.5 : 12.5 ", "--rate");
  ASSERT_EQ(one.size(), 1u);
  EXPECT_EQ(one[0].rate, 0.5);
  EXPECT_EQ(one[0].duration_s, 12.5);
  EXPECT_TRUE(is_load_profile("8:600"));
  EXPECT_TRUE(is_load_profile("8,9"));
  EXPECT_FALSE(is_load_profile("8"));
  EXPECT_FALSE(is_load_profile("inf"));
  const std::string sixty_four = stage_list(64);
  EXPECT_EQ(parse_load_stages(sixty_four, "--rate").size(), kMaxLoadStages);
}

TEST(LoadStages, BadSyntaxNamesTheOptionAndTheAcceptedForm) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"8:", "the duration '' of stage 1 is not a positive finite number"},
      {"8:-1", "the duration '-1' of stage 1"},
      {"a:5", "the rate 'a' of stage 1 is not a positive finite number"},
      {"8:600,", "stage 2 is empty"},
      {"8:0", "the duration '0' of stage 1"},
      {"8:inf", "the duration 'inf' of stage 1"},
      {"8:nan", "the duration 'nan' of stage 1"},
      {"0:5", "the rate '0' of stage 1"},
      {"inf:5", "the rate 'inf' of stage 1"},
      {"8:5:3", "stage 1 '8:5:3' is not RATE:DURATION_S"},
      {"8", "stage 1 '8' is not RATE:DURATION_S"},
      {"8:1,,9:1", "stage 2 is empty"},
  };
  for (const auto& [text, why] : cases) {
    SCOPED_TRACE(text);
    const std::string msg = user_error_of([&] { parse_load_stages(text, "--rate"); });
    EXPECT_CONTAINS(msg, fmt::format("--rate '{}': {}", text, why));
    EXPECT_CONTAINS(msg, "RATE:DURATION_S[,RATE:DURATION_S...]");
  }
  const std::string too_many = stage_list(65);
  EXPECT_CONTAINS(user_error_of([&] { parse_load_stages(too_many, "--rate"); }), "more than 64 stages");
}

TEST(LoadStages, ArrivalCountsAreRateTimesDurationAndStagesFollowEachOther) {
  // A stage's count is Poisson(rate × duration) (+1 for the request at t = 0 in the first): its
  // standard deviation is sqrt(rate × duration), and 4 of them bound it (a chance of 6e-5 per
  // check to fail for a fair generator; the seeds are fixed, so the test is deterministic).
  for (std::uint64_t seed : {1u, 2u, 3u}) {
    SCOPED_TRACE(seed);
    const Trace t = synthesize(staged("8:600,20:600", seed));
    std::int64_t count[2] = {0, 0};
    std::int32_t prev_stage = 0;
    for (const Request& r : t.requests) {
      ASSERT_GE(r.stage, prev_stage);  // stages in order, never back
      ASSERT_LE(r.stage, 1);
      prev_stage = r.stage;
      ++count[r.stage];
      const double a = ns_to_seconds(r.arrival);
      if (r.stage == 0) {
        EXPECT_GE(a, 0.0);
        EXPECT_LT(a, 600.0);
      } else {
        EXPECT_GE(a, 600.0);  // the second stage starts where the first ends
        EXPECT_LT(a, 1200.0);
      }
    }
    EXPECT_EQ(t.requests.front().arrival, 0);
    EXPECT_NEAR(static_cast<double>(count[0]), 8 * 600, 4 * std::sqrt(8 * 600));
    EXPECT_NEAR(static_cast<double>(count[1]), 20 * 600, 4 * std::sqrt(20 * 600));
    EXPECT_EQ(t.requests.size(), static_cast<std::size_t>(count[0] + count[1]));
    for (std::size_t i = 0; i < t.requests.size(); ++i)
      EXPECT_EQ(t.requests[i].id, i);
  }
}

TEST(LoadStages, OneStageIsTheSingleRateStreamCutAtItsDuration) {
  const Trace staged_trace = synthesize(staged("5:100", 42));
  const Trace plain = synthesize(spec(5, static_cast<std::int64_t>(staged_trace.requests.size()), 42));
  expect_same_requests(staged_trace, plain);
  EXPECT_LT(ns_to_seconds(staged_trace.requests.back().arrival), 100.0);
  // The single-rate stream's next arrival would have been past the stage's end.
  const Trace longer = synthesize(spec(5, static_cast<std::int64_t>(staged_trace.requests.size()) + 1, 42));
  EXPECT_GE(ns_to_seconds(longer.requests.back().arrival), 100.0);
}

TEST(LoadStages, BurstinessAppliesWithinEachStage) {
  SyntheticSpec s = staged("10:2000,40:500", 77);
  s.burstiness = 2.0;
  const Trace t = synthesize(s);
  const double rates[2] = {10, 40};
  for (std::int32_t k = 0; k < 2; ++k) {
    SCOPED_TRACE(k);
    const std::vector<double> g = stage_gaps(t, k);
    ASSERT_GT(g.size(), 15000u);
    double sum = 0, sum2 = 0;
    for (double x : g) {
      sum += x;
      sum2 += x * x;
    }
    const double n = static_cast<double>(g.size());
    const double m = sum / n, cv = std::sqrt(sum2 / n - m * m) / m;
    EXPECT_NEAR(cv, 2.0, 0.2);                       // the Gamma gaps keep their CV
    EXPECT_NEAR(m, 1.0 / rates[k], 0.1 / rates[k]);  // at the stage's own rate
  }
}

TEST(LoadStages, InvalidLibrarySpecsNameTheRate) {
  SyntheticSpec s = spec(1, 1, 0);
  s.stages = {LoadStage{8, 0}};
  EXPECT_CONTAINS(user_error_of([&] { synthesize(s); }), opt("rate") + ": load stage 1");
  s.stages = {LoadStage{8, 10}, LoadStage{std::numeric_limits<double>::infinity(), 10}};
  EXPECT_CONTAINS(user_error_of([&] { synthesize(s); }), opt("rate") + ": load stage 2");
  s.stages = std::vector<LoadStage>(65, LoadStage{1, 1});
  EXPECT_CONTAINS(user_error_of([&] { synthesize(s); }), "65 load stages, at most 64");
  s.stages = {LoadStage{1e6, 1e3}};
  EXPECT_CONTAINS(user_error_of([&] { synthesize(s); }), "expect 1e+09 requests");
  s.stages = {LoadStage{1e-3, 2e8}};
  EXPECT_CONTAINS(user_error_of([&] { synthesize(s); }), "past the simulated horizon");
}

TEST(Synthetic, UniformLengthsWithinBoundsAndCoverThem) {
  SyntheticSpec s = spec(10, 5000, 5);
  s.prompt = LengthDist::parse("uniform:10:20", "p");
  s.output = LengthDist::parse("uniform:1:3", "o");
  const Trace t = synthesize(s);
  std::vector<int> seen(21, 0);
  double sum = 0;
  for (const auto& r : t.requests) {
    ASSERT_GE(r.prompt, 10);
    ASSERT_LE(r.prompt, 20);
    ASSERT_GE(r.output, 1);
    ASSERT_LE(r.output, 3);
    ++seen[static_cast<std::size_t>(r.prompt)];
    sum += r.prompt;
  }
  for (int v = 10; v <= 20; ++v)
    EXPECT_GT(seen[static_cast<std::size_t>(v)], 300) << v;  // ~455 each
  EXPECT_NEAR(sum / 5000, 15.0, 0.2);
}

TEST(Synthetic, FixedNormalAndLogNormalLengths) {
  SyntheticSpec s = spec(10, 20000, 11);
  s.prompt = LengthDist::parse("128", "p");
  s.output = LengthDist::parse("normal:300:50", "o");
  Trace t = synthesize(s);
  double sum = 0;
  for (const auto& r : t.requests) {
    ASSERT_EQ(r.prompt, 128);
    ASSERT_GE(r.output, 1);
    sum += r.output;
  }
  EXPECT_NEAR(sum / 20000, 300, 3);

  s.output = LengthDist::parse("lognormal:300:150", "o");
  t = synthesize(s);
  sum = 0;
  double sum2 = 0;
  for (const auto& r : t.requests) {
    sum += r.output;
    sum2 += static_cast<double>(r.output) * r.output;
  }
  const double m = sum / 20000, sd = std::sqrt(sum2 / 20000 - m * m);
  EXPECT_NEAR(m, 300, 300 * 0.03);  // parameters are of the length itself
  EXPECT_NEAR(sd, 150, 150 * 0.1);

  // A normal with a huge spread is clamped to >= 1.
  s.output = LengthDist::parse("normal:2:100", "o");
  t = synthesize(s);
  for (const auto& r : t.requests)
    ASSERT_GE(r.output, 1);
}

TEST(Synthetic, InvalidSpecs) {
  // The messages name the option by concept (the front end spells it).
  SyntheticSpec s = spec(0, 10, 0);
  EXPECT_CONTAINS(user_error_of([&] { synthetic_source(s); }), opt("rate"));
  s = spec(-1, 10, 0);
  EXPECT_CONTAINS(user_error_of([&] { synthesize(s); }), opt("rate"));
  s = spec(std::nan(""), 10, 0);
  EXPECT_CONTAINS(user_error_of([&] { synthesize(s); }), opt("rate"));
  s = spec(1, 0, 0);
  EXPECT_CONTAINS(user_error_of([&] { synthesize(s); }), opt("num_requests"));
  s = spec(1, 10, 0);
  s.burstiness = 0;
  EXPECT_CONTAINS(user_error_of([&] { synthesize(s); }), opt("burstiness"));
  s.burstiness = std::numeric_limits<double>::infinity();
  EXPECT_CONTAINS(user_error_of([&] { synthesize(s); }), opt("burstiness"));
}

// ---------------------------------------------------------------------------------------------
// Sample and real traces

TEST(SampleTrace, EmbeddedHasFirst100RequestsOfCreation05) {
  const Trace t = embedded_sample_trace();
  ASSERT_EQ(t.requests.size(), 100u);
  EXPECT_EQ(t.requests[0].arrival, 618'518'000);
  EXPECT_EQ(t.requests[0].prompt, 304);
  EXPECT_EQ(t.requests[0].output, 822);
  EXPECT_EQ(t.requests[1].prompt, 497);
  EXPECT_EQ(t.requests[1].output, 1783);
  for (std::size_t i = 0; i < t.requests.size(); ++i)
    EXPECT_EQ(t.requests[i].id, i);

  if (!std::filesystem::exists(kRealTrace)) GTEST_SKIP() << kRealTrace << " not present";
  const Trace full = load_trace(kRealTrace);
  for (std::size_t i = 0; i < 100; ++i) {
    SCOPED_TRACE(i);
    EXPECT_EQ(t.requests[i].arrival, full.requests[i].arrival);
    EXPECT_EQ(t.requests[i].prompt, full.requests[i].prompt);
    EXPECT_EQ(t.requests[i].output, full.requests[i].output);
  }
}

TEST(RealTrace, ApexPlusLlamaCreation05) {
  if (!std::filesystem::exists(kRealTrace)) GTEST_SKIP() << kRealTrace << " not present";
  const Trace t = load_trace(kRealTrace);
  ASSERT_EQ(t.requests.size(), 512u);
  EXPECT_NEAR(t.mean_prompt(), 307.7, 0.1);
  EXPECT_NEAR(t.mean_output(), 1144.3, 0.1);
  EXPECT_EQ(t.requests.front().arrival, 618'518'000);
  EXPECT_EQ(t.requests.back().id, 511u);
  // Rate 0.5 req/s: 512 requests span roughly 1000 s.
  EXPECT_GT(t.span_seconds(), 800);
  EXPECT_LT(t.span_seconds(), 1300);
}

// ---------------------------------------------------------------------------------------------
// Hostile inputs (issue #10, input side): every one a UserError naming the file and line (or the
// option), never undefined behaviour, a hang, unbounded memory or an impossible trace.

TEST(LengthDistHostile, ParametersBeyondTheTokenLimitAreRejectedWithTheRange) {
  // lognormal:100:1e200 squared the spread to inf: every sample was NaN, converted to an int
  // (undefined) and reported as 1.8e19 output tokens with exit 0.
  std::string msg = user_error_of([] { LengthDist::parse("lognormal:100:1e200", opt("output_len")); });
  EXPECT_CONTAINS(msg,
                  opt("output_len") + " 'lognormal:100:1e200': STD 1e+200 is above the limit of 16777216");
  EXPECT_CONTAINS(msg, "valid: STD from 0 to 16777216");
  EXPECT_CONTAINS(user_error_of([] { LengthDist::parse("normal:1e300:1", "p"); }), "MEAN 1e+300 is above");
  EXPECT_CONTAINS(user_error_of([] { LengthDist::parse("uniform:1:1e17", "p"); }), "HI 1e+17 is above");
  EXPECT_CONTAINS(user_error_of([] { LengthDist::parse("99999999999", "p"); }),
                  "the length 99999999999 is above");
  // At the limits every sample is finite and within [1, kMaxRequestTokens].
  SyntheticSpec s = spec(1000, 2000, 3);
  s.prompt = LengthDist::parse("lognormal:1000:16777216", "p");
  s.output = LengthDist::parse("normal:16777216:16777216", "o");
  EXPECT_LE(s.prompt.max_value(), kMaxRequestTokens);
  EXPECT_LE(s.output.max_value(), kMaxRequestTokens);
  const Trace t = synthesize(s);
  ASSERT_EQ(t.requests.size(), 2000u);
  std::int32_t longest = 0;
  for (const auto& r : t.requests) {
    EXPECT_GE(r.prompt, 1);
    EXPECT_LE(r.prompt, kMaxRequestTokens);
    EXPECT_GE(r.output, 1);
    EXPECT_LE(r.output, kMaxRequestTokens);
    longest = std::max(longest, r.prompt);
  }
  EXPECT_GT(longest, 1000);  // the heavy tail is really sampled, not clamped to 1
}

TEST(SyntheticHostile, BurstinessIsBoundedSoTheGammaSamplerEnds) {
  // 1e-160 squared underflows: the Gamma shape was infinite and the sampler looped forever.
  SyntheticSpec s = spec(10, 50, 1);
  for (double b : {1e-160, 1e-4, 1e4, 1e160}) {
    SCOPED_TRACE(b);
    s.burstiness = b;
    const std::string msg = user_error_of([&] { synthesize(s); });
    EXPECT_CONTAINS(msg, opt("burstiness") + " must be between 0.001 and 1000");
  }
  for (double b : {kMinBurstiness, kMaxBurstiness}) {  // the bounds themselves run and stay sorted
    SCOPED_TRACE(b);
    s.burstiness = b;
    const Trace t = synthesize(s);
    ASSERT_EQ(t.requests.size(), 50u);
    for (std::size_t i = 1; i < t.requests.size(); ++i)
      EXPECT_GE(t.requests[i].arrival, t.requests[i - 1].arrival);
  }
}

TEST(TraceHostile, JsonlNumberBeyondADoubleNamesTheLine) {
  const std::string path = kData + "/overflowing_number.jsonl";
  const std::string msg = user_error_of([&] { load_trace(path); });
  EXPECT_CONTAINS(msg, path + ":2: malformed JSON line");
  EXPECT_CONTAINS(msg, "'1e400'");
}

TEST(TraceHostile, JsonlWithAByteOrderMarkIsReadAsJsonl) {
  const Trace t = load_trace(kData + "/bom.jsonl");  // was sniffed as CSV: "header lacks columns"
  ASSERT_EQ(t.requests.size(), 2u);
  EXPECT_EQ(t.requests[0].prompt, 12);
  EXPECT_EQ(t.requests[1].arrival, 500'000'000);
  EXPECT_EQ(t.requests[1].output, 4);
  // A first byte 0xEF that is not a BOM is left to the CSV reader (and reported as its header).
  // (Without output_tokens: a header of both lengths would be a valid length-only trace.)
  const std::string p = write_temp_file("apex_not_bom.csv", "\xEF,prompt_tokens\n0,1\n");
  EXPECT_CONTAINS(user_error_of([&] { load_trace(p); }), "lacks column(s) arrival_s, output_tokens");
}

TEST(TraceHostile, CsvShapeErrors) {
  std::string path = kData + "/bad_duplicate_column.csv";
  EXPECT_EQ(user_error_of([&] { load_trace(path); }),
            path + ":1: column 'prompt_tokens' appears twice in the CSV header (columns 2 and 4)");
  path = kData + "/bad_extra_field.csv";
  EXPECT_CONTAINS(user_error_of([&] { load_trace(path); }),
                  path + ":3: the row has 4 comma-separated fields but the header has 3 columns");
  path = kData + "/bad_prefix_lengths.csv";
  EXPECT_CONTAINS(user_error_of([&] { load_trace(path); }),
                  path + ":3: prefix_group 7 has prefix_tokens 500 here but 1000 at line 2");
  // Quoted commas are one field; empty header cells may repeat (trailing commas).
  const Trace t = load_trace(
      write_temp_file("apex_quoted.csv", "arrival_s,prompt_tokens,output_tokens,note,,\n0,5,2,\"a, b\",,\n"));
  ASSERT_EQ(t.requests.size(), 1u);
  EXPECT_EQ(t.requests[0].prompt, 5);
}

TEST(TraceHostile, LinesAreBounded) {
  // /dev/zero has no line end: the reader grew one line until memory ran out.
  EXPECT_CONTAINS(user_error_of([] { load_trace("/dev/zero"); }),
                  "/dev/zero:1: line is longer than the limit of 1 MiB");
  const std::string long_line(kMaxTraceLineBytes + 1, '7');
  const std::string p = write_temp_file("apex_long_line.csv",
                                        "arrival_s,prompt_tokens,output_tokens\n0,1,1\n" + long_line + "\n");
  EXPECT_CONTAINS(user_error_of([&] { load_trace(p); }),
                  "apex_long_line.csv:3: line is longer than the limit");
  // A line at the limit is read (and its value judged).
  const std::string at_limit = "0,1," + std::string(kMaxTraceLineBytes - 4, '9');
  const std::string q =
      write_temp_file("apex_limit_line.csv", "arrival_s,prompt_tokens,output_tokens\n" + at_limit + "\n");
  EXPECT_CONTAINS(user_error_of([&] { load_trace(q); }), "apex_limit_line.csv:2: output_tokens '9999");
}

TEST(TraceHostile, AHugeFieldIsQuotedShort) {
  const std::string field(500'000, 'z');
  const std::string p =
      write_temp_file("apex_huge_field.csv", "arrival_s,prompt_tokens,output_tokens\n0," + field + ",3\n");
  const std::string msg = user_error_of([&] { load_trace(p); });
  EXPECT_CONTAINS(msg, "apex_huge_field.csv:2: prompt_tokens 'zzzz");
  EXPECT_CONTAINS(msg, "...' (500000 bytes) is not an integer");
  EXPECT_LT(msg.size(), 300u);
}

TEST(QuoteValue, ShortValuesVerbatimLongOnesCutAtACharacter) {
  EXPECT_EQ(quote_value("abc"), "'abc'");
  EXPECT_EQ(quote_value(""), "''");
  EXPECT_EQ(quote_value("a\tb\n"), "'a\\x09b\\x0a'");
  EXPECT_EQ(quote_value(std::string(80, 'q')), "'" + std::string(80, 'q') + "'");
  EXPECT_EQ(quote_value(std::string(81, 'q')), "'" + std::string(80, 'q') + "...' (81 bytes)");
  // A 2-byte UTF-8 character straddling the cut is not split.
  const std::string utf8 = std::string(79, 'a') + "\xC3\xA9" + "zz";
  EXPECT_EQ(quote_value(utf8), "'" + std::string(79, 'a') + "...' (83 bytes)");
  EXPECT_EQ(quote_value("abcdef", 3), "'abc...' (6 bytes)");
}

// ---------------------------------------------------------------------------------------------
// Length-only traces and re-rated traces (#11 item 11)

TEST(TraceLengthsOnly, ACsvWithoutArrivalsKeepsItsLengthsAndHasNoArrivals) {
  const Trace t = load_trace(kData + "/lengths_only.csv");
  EXPECT_FALSE(t.has_arrivals);
  ASSERT_EQ(t.requests.size(), 200u);
  for (std::size_t i = 0; i < t.requests.size(); ++i) {
    SCOPED_TRACE(i);
    EXPECT_EQ(t.requests[i].id, i);
    EXPECT_EQ(t.requests[i].arrival, 0);
    EXPECT_EQ(t.requests[i].prompt, static_cast<std::int32_t>(40 + (i * 37) % 400));
    EXPECT_EQ(t.requests[i].output, static_cast<std::int32_t>(8 + (i * 13) % 90));
  }
  EXPECT_TRUE(load_trace(kData + "/trace_basic.csv").has_arrivals);
  // A header without the lengths is still an error, naming what a length-only trace needs.
  const std::string bad = write_temp_file("lengths_bad.csv", "prompt_tokens,output\n10,5\n");
  EXPECT_CONTAINS(user_error_of([&] { load_trace(bad); }), "'prompt_tokens,output_tokens' for lengths only");
}

TEST(TraceLengthsOnly, AssignedArrivalsArePoissonAtTheRateAndSeeded) {
  Trace t;
  for (int i = 0; i < 20000; ++i)
    t.requests.push_back(Request{static_cast<std::uint64_t>(i), 0, 100 + i % 7, 10});
  t.has_arrivals = false;
  Trace a = t;
  assign_arrivals(a, 8.0, 1.0, 42);
  EXPECT_TRUE(a.has_arrivals);
  EXPECT_EQ(a.requests.front().arrival, 0);
  std::vector<double> gaps;
  for (std::size_t i = 1; i < a.requests.size(); ++i) {
    ASSERT_GE(a.requests[i].arrival, a.requests[i - 1].arrival);
    EXPECT_EQ(a.requests[i].prompt, t.requests[i].prompt);  // lengths and order kept
    gaps.push_back(ns_to_seconds(a.requests[i].arrival - a.requests[i - 1].arrival));
  }
  // Mean rate (n-1)/span within 3% of 8 req/s (the estimate's sd is 0.7% with 20,000 requests).
  const double rate = static_cast<double>(gaps.size()) / a.span_seconds();
  EXPECT_NEAR(rate, 8.0, 8.0 * 0.03);
  double mean = 0, var = 0;
  for (double g : gaps)
    mean += g / static_cast<double>(gaps.size());
  for (double g : gaps)
    var += (g - mean) * (g - mean) / static_cast<double>(gaps.size());
  EXPECT_NEAR(std::sqrt(var) / mean, 1.0, 0.05);  // exponential gaps: CV 1
  // Burstiness as synthetic traffic: Gamma gaps with CV 3 (within 15%: heavy-tailed estimate).
  Trace bursty = t;
  assign_arrivals(bursty, 8.0, 3.0, 42);
  std::vector<double> bg;
  for (std::size_t i = 1; i < bursty.requests.size(); ++i)
    bg.push_back(ns_to_seconds(bursty.requests[i].arrival - bursty.requests[i - 1].arrival));
  double bm = 0, bv = 0;
  for (double g : bg)
    bm += g / static_cast<double>(bg.size());
  for (double g : bg)
    bv += (g - bm) * (g - bm) / static_cast<double>(bg.size());
  EXPECT_NEAR(std::sqrt(bv) / bm, 3.0, 3.0 * 0.15);
  EXPECT_NEAR(1.0 / bm, 8.0, 8.0 * 0.1);
  // The same seed gives the same arrivals; another seed others.
  Trace again = t, other = t;
  assign_arrivals(again, 8.0, 1.0, 42);
  assign_arrivals(other, 8.0, 1.0, 43);
  expect_same_requests(a, again);
  EXPECT_NE(a.requests[1].arrival, other.requests[1].arrival);
  // 'inf': everything at t = 0; bad rates and burstiness are user errors naming the flag.
  Trace burst = t;
  assign_arrivals(burst, std::numeric_limits<double>::infinity(), 1.0, 0);
  EXPECT_EQ(burst.requests.back().arrival, 0);
  EXPECT_CONTAINS(user_error_of([&] { assign_arrivals(burst, 0.0, 1.0, 0); }), opt("rate"));
  EXPECT_CONTAINS(user_error_of([&] { assign_arrivals(burst, 1.0, 1e6, 0); }), opt("burstiness"));
  EXPECT_CONTAINS(user_error_of([&] { assign_arrivals(burst, 1e-10, 1.0, 0); }), "horizon");
}

TEST(TraceRateScale, DividesEveryArrivalAndChecksTheFactor) {
  const Trace orig = load_trace(kData + "/trace_basic.csv");
  Trace t = orig;
  scale_arrivals(t, 2.0, "--rate-scale");
  ASSERT_EQ(t.requests.size(), orig.requests.size());
  for (std::size_t i = 0; i < t.requests.size(); ++i) {
    SCOPED_TRACE(i);
    EXPECT_EQ(t.requests[i].arrival * 2, orig.requests[i].arrival);  // exact: the file's ns are even
    EXPECT_EQ(t.requests[i].prompt, orig.requests[i].prompt);
    EXPECT_EQ(t.requests[i].output, orig.requests[i].output);
  }
  Trace slow = orig;
  scale_arrivals(slow, 0.5, "--rate-scale");
  EXPECT_EQ(slow.requests.back().arrival, orig.requests.back().arrival * 2);
  for (double bad : {0.0, -1.0, std::numeric_limits<double>::infinity(), std::nan("")}) {
    Trace x = orig;
    EXPECT_CONTAINS(user_error_of([&] { scale_arrivals(x, bad, "--rate-scale"); }),
                    "--rate-scale must be a positive finite number");
  }
  Trace far = orig;
  EXPECT_CONTAINS(user_error_of([&] { scale_arrivals(far, 1e-12, "--rate-scale"); }), "horizon");
}

}  // namespace
}  // namespace apex
