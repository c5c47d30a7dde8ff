// Tests of src/api: the option table (one declaration per input, concepts and spellings), the
// conversion of front-end values into requests, errors named by concept, and requests run.
#include <gtest/gtest.h>

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <set>
#include <sstream>
#include <string>

#include "api/api.h"
#include "api/options.h"
#include "api/output.h"
#include "core/option_ref.h"
#include "model/registry.h"
#include "test_util.h"

namespace apex::api {
namespace {

using apex::testing::user_error_of;

std::string concept_of_flag(std::string_view flag) {
  std::string out(flag.substr(flag.rfind(',') == std::string_view::npos ? 0 : flag.rfind(',') + 1));
  out = out.substr(out.find_first_not_of('-'));
  for (auto& c : out)
    c = c == '-' ? '_' : c;
  return out;
}

TEST(OptionTable, ConceptIsTheFlagWithUnderscoresAndUniquePerCommand) {
  for (const auto& info : commands()) {
    std::set<std::string> names;
    for (const OptionSpec* s : options_of(info.command)) {
      SCOPED_TRACE(std::string(info.name) + " " + std::string(s->name));
      EXPECT_EQ(concept_of_flag(s->flag), s->name);
      EXPECT_TRUE(names.insert(std::string(s->name)).second) << "declared twice";
      EXPECT_FALSE(s->help.empty());
      EXPECT_NE(s->write, nullptr);
    }
  }
  EXPECT_EQ(find_option(Command::Simulate, "tp")->long_flag(), "--tp");
  EXPECT_EQ(find_option(Command::Search, "tp"), nullptr);  // search enumerates plans
  EXPECT_EQ(find_option(Command::Search, "objective")->default_text, "e2e");
  EXPECT_EQ(find_option(Command::Simulate, "output")->long_flag(), "--output");
  EXPECT_EQ(options_of(Command::Simulate).front()->name, "model");
}

// Every engine knob is written straight into the request's EngineOverrides.
TEST(OptionTable, EngineKnobsWriteIntoEngineOverrides) {
  SimulateRequest r;
  const Target t = target(r);
  auto set = [&](std::string_view name, const Value& v) {
    apply(*find_option(Command::Simulate, name), v, t);
  };
  set("max_num_seqs", std::string("64"));
  set("max_num_batched_tokens", std::int64_t{4096});
  set("gpu_memory_utilization", std::string("0.85"));
  set("block_size", std::int64_t{32});
  set("chunked_prefill", std::string("OFF"));
  set("prefix_caching", true);
  set("step_overhead_ms", 2.5);
  set("disable_custom_all_reduce", true);
  set("spec_tokens", std::int64_t{3});
  set("spec_acceptance", 0.7);
  const EngineOverrides& k = r.deployment.engine.knobs;
  EXPECT_EQ(k.max_num_seqs, 64);
  EXPECT_EQ(k.max_num_batched_tokens, 4096);
  EXPECT_DOUBLE_EQ(*k.gpu_memory_utilization, 0.85);
  EXPECT_EQ(k.block_size, 32);
  EXPECT_EQ(k.chunked_prefill, false);
  EXPECT_EQ(k.prefix_caching, true);
  EXPECT_DOUBLE_EQ(*k.step_overhead_s, 2.5e-3);
  EXPECT_EQ(k.custom_all_reduce, false);
  EXPECT_EQ(k.spec_tokens, 3);
  EXPECT_DOUBLE_EQ(*k.spec_acceptance, 0.7);
}

TEST(OptionTable, ValuesAreConvertedToTheKindOrRefusedByConcept) {
  SimulateRequest r;
  const Target t = target(r);
  apply(*find_option(Command::Simulate, "rate"), std::int64_t{2}, t);  // text options take numbers
  EXPECT_EQ(r.workload.rate, "2");
  apply(*find_option(Command::Simulate, "rate"), 2.5, t);
  EXPECT_EQ(r.workload.rate, "2.5");
  apply(*find_option(Command::Simulate, "seed"), std::string("18446744073709551615"), t);
  EXPECT_EQ(r.workload.seed, 18446744073709551615ull);
  apply(*find_option(Command::Simulate, "frequency"), std::int64_t{1500}, t);
  EXPECT_DOUBLE_EQ(*r.deployment.cluster.frequency_mhz, 1500.0);

  std::string msg =
      user_error_of([&] { apply(*find_option(Command::Simulate, "num_requests"), std::string("abc"), t); });
  EXPECT_EQ(msg, opt("num_requests") + ": 'abc' is not an integer");
  EXPECT_EQ(render_for_cli(msg), "--num-requests: 'abc' is not an integer");
  EXPECT_EQ(render_for_python(msg), "num_requests=: 'abc' is not an integer");
  msg = user_error_of([&] { apply(*find_option(Command::Simulate, "tp"), 2.5, t); });
  EXPECT_EQ(render_for_cli(msg), "--tp: '2.5' is not an integer");
  msg = user_error_of([&] { apply(*find_option(Command::Simulate, "tp"), std::int64_t{1} << 40, t); });
  EXPECT_CONTAINS(render_for_cli(msg), "out of range");
  msg = user_error_of([&] { apply(*find_option(Command::Simulate, "seed"), std::int64_t{-1}, t); });
  EXPECT_EQ(render_for_python(msg), "seed= must be a non-negative integer, got -1");
  msg = user_error_of(
      [&] { apply(*find_option(Command::Simulate, "chunked_prefill"), std::string("maybe"), t); });
  EXPECT_EQ(render_for_cli(msg), "--chunked-prefill 'maybe': expected on or off");
  msg = user_error_of([&] { apply(*find_option(Command::Simulate, "breakdown"), std::string("yes"), t); });
  EXPECT_CONTAINS(render_for_python(msg), "breakdown=True");
  msg = user_error_of([&] { apply(*find_option(Command::Simulate, "burstiness"), std::string("nan"), t); });
  EXPECT_EQ(render_for_cli(msg), "--burstiness: 'nan' is not a number");
  // An empty text is refused for every front end (a path says so), never taken as "not given".
  msg = user_error_of([&] { apply(*find_option(Command::Simulate, "per_request"), std::string(), t); });
  EXPECT_EQ(render_for_python(msg), "per_request=: an empty path; give a file name, or drop per_request=");
  msg = user_error_of([&] { apply(*find_option(Command::Simulate, "kv_dtype"), std::string(), t); });
  EXPECT_EQ(render_for_cli(msg), "--kv-dtype: an empty value; give one, or drop --kv-dtype");
}

TEST(OptionRefs, RenderedPerFrontEnd) {
  const std::string msg = opt("max_num_seqs") + " (" + opt("exhaustive") + ") " + opt("not_an_option");
  EXPECT_EQ(render_for_cli(msg), "--max-num-seqs (--exhaustive) not_an_option");
  EXPECT_EQ(render_for_python(msg), "max_num_seqs= (exhaustive=True) not_an_option=");
  EXPECT_EQ(render_for_cli("no markers {here}"), "no markers {here}");
  // Literal text is left alone: only markers are spelled.
  EXPECT_EQ(render_for_python("--max-num-seqs stays"), "--max-num-seqs stays");
  // src/plan names the option by concept too: a rejection detail spells it per front end.
  Plan p;
  p.tp = 16;
  const auto why = make_plan(load_model("llama-3.1-70b"), make_cluster("h100-sxm", 2, 8), p);
  ASSERT_TRUE(why.has_value());
  EXPECT_EQ(render_for_cli(why->detail),
            "tp=16 spans nodes (a node has 8 GPUs); pass --allow-cross-node-tp to allow it");
  EXPECT_EQ(render_for_python(why->detail),
            "tp=16 spans nodes (a node has 8 GPUs); pass allow_cross_node_tp=True to allow it");
}

TEST(OptionRefs, LibraryErrorsNameTheConcept) {
  // src/sim validates the engine knobs; its message names the option by concept, not by flag.
  EngineKnobs k;
  k.block_size = 3;
  const std::string msg = user_error_of([&] { resolve_engine("vllm", find_gpu("h100-sxm"), 4096, k); });
  EXPECT_EQ(msg, opt("block_size") + " must be a power of two between 1 and 1024, got 3");
  EXPECT_EQ(render_for_cli(msg), "--block-size must be a power of two between 1 and 1024, got 3");
  EXPECT_EQ(render_for_python(msg), "block_size= must be a power of two between 1 and 1024, got 3");
  // Two concepts in one message (src/sim), and one from src/workload.
  k = {};
  k.chunked_prefill = false;
  k.max_num_seqs = 64;
  k.max_num_batched_tokens = 32;
  const std::string two = user_error_of([&] { resolve_engine("vllm-0.6", find_gpu("h100-sxm"), 16, k); });
  EXPECT_EQ(render_for_cli(two), "--max-num-batched-tokens (32) must be at least --max-num-seqs (64)");
  SyntheticSpec w;
  w.rate = 1;
  w.num_requests = 0;
  const std::string none = user_error_of([&] { synthetic_source(w); });
  EXPECT_EQ(none, opt("num_requests") + " must be at least 1, got 0");
  EXPECT_EQ(render_for_cli(none), "--num-requests must be at least 1, got 0");
}

DeploymentInput small_deployment() {
  DeploymentInput d;
  d.model.model = "llama-3.1-8b";
  d.cluster.gpus_per_node = 1;
  return d;
}

TEST(BuildDeployment, DefaultsConflictsAndPrecision) {
  DeploymentInput in = small_deployment();
  const Deployment d = build_deployment(in, {});
  EXPECT_EQ(d.cluster.gpu.name, kDefaultGpu);
  EXPECT_EQ(d.cluster.total_gpus(), 1);
  EXPECT_EQ(d.precision.activation, DType::BF16);

  in.cluster.cluster_file = "whatever.json";
  EXPECT_EQ(render_for_cli(user_error_of([&] { build_deployment(in, {}); })),
            "--cluster replaces --gpu, --nodes and --gpus-per-node; pass one or the other");

  DeploymentInput v100 = small_deployment();
  v100.model.model = "llama-3.2-1b";
  v100.cluster.gpu = "v100-pcie-16gb";
  const Deployment dv = build_deployment(v100, {});
  EXPECT_EQ(dv.precision.activation, DType::FP16);  // no bf16 on V100: served in fp16
  EXPECT_EQ(dv.precision.kv, DType::FP16);
  v100.model.activation_dtype = "bf16";  // an explicit bf16 is refused, not rewritten
  EXPECT_CONTAINS(user_error_of([&] { build_deployment(v100, {}); }),
                  "v100-pcie-16gb has no bf16 tensor-core support");

  DeploymentInput spec = small_deployment();
  spec.engine.knobs.spec_acceptance = 0.5;
  EXPECT_EQ(render_for_python(user_error_of([&] { build_deployment(spec, {}); })),
            "spec_acceptance= needs spec_tokens= K (the number of draft tokens per step)");
}

TEST(BuildWorkload, SyntheticNeedsEveryPartAndExcludesTraces) {
  WorkloadInput w;
  w.rate = "10";
  w.prompt_len = "128";
  EXPECT_EQ(render_for_cli(user_error_of([&] { build_workload(w, false); })),
            "synthetic workload is missing --num-requests, --output-len");
  w.num_requests = 5;
  w.output_len = "16";
  const Workload ok = build_workload(w, true);
  ASSERT_TRUE(ok.trace.has_value());
  EXPECT_EQ(ok.trace->requests.size(), 5u);
  EXPECT_EQ(ok.description, "synthetic: 5 requests at 10 req/s (Poisson), prompt 128, output 16, seed 0");
  w.trace = "@sample";
  EXPECT_CONTAINS(render_for_python(user_error_of([&] { build_workload(w, false); })),
                  "trace= and the synthetic options (rate=, num_requests=, prompt_len=, output_len=)");
}

TEST(BuildSearchOptions, TuneLists) {
  SearchInput in;
  in.tune = "max-num-seqs=8/16,max-num-batched-tokens";
  const SearchOptions s = build_search_options(in);
  EXPECT_EQ(s.tune_max_num_seqs, (std::vector<int>{8, 16}));
  EXPECT_EQ(s.tune_max_num_batched_tokens, (std::vector<int>{2048, 4096, 8192, 16384}));
  in.tune = "max-num-seq";
  EXPECT_EQ(render_for_cli(user_error_of([&] { build_search_options(in); })),
            "--tune: unknown engine knob 'max-num-seq'; did you mean 'max-num-seqs'? valid: max-num-seqs, "
            "max-num-batched-tokens");
}

TEST(Simulate, ARequestRunsAndRendersTheContractDocument) {
  SimulateRequest r;
  r.deployment = small_deployment();
  r.workload.rate = "10";
  r.workload.num_requests = 20;
  r.workload.prompt_len = "128";
  r.workload.output_len = "16";
  const SimulateResponse a = simulate(r);
  EXPECT_EQ(a.result.requests, 20u);
  const Json j = a.json();
  EXPECT_EQ(j["plan"]["label"], "dp1-tp1-pp1");
  EXPECT_EQ(j["metrics"]["requests"], 20);
  EXPECT_EQ(j["run"]["model"], "llama-3.1-8b");
  EXPECT_EQ(j["launch"].get<std::string>().rfind("vllm serve", 0), 0u);
  EXPECT_EQ(a.render(Format::JSON), j.dump(2) + "\n");
  r.deployment.engine.knobs.max_num_seqs = 2;  // a knob set in the request reaches the engine
  const SimulateResponse b = simulate(r);
  EXPECT_EQ(b.engine.max_num_seqs, 2);
  EXPECT_GT(b.result.ttft.mean, a.result.ttft.mean);
}

TEST(Search, RejectionDetailsSpellOptionsAsFlags) {
  // A tuned knob value the engine refuses: the rejection's detail is the library's UserError,
  // whose markers the document spells as flags (byte-identical to the command line's output).
  SearchRequest r;
  r.deployment = small_deployment();
  r.deployment.model.max_model_len = 4096;
  r.deployment.engine.engine = "vllm-0.6";
  r.deployment.engine.knobs.chunked_prefill = false;
  r.workload.rate = "10";
  r.workload.num_requests = 5;
  r.workload.prompt_len = "128";
  r.workload.output_len = "16";
  r.search.tune = "max-num-batched-tokens=1024/8192";
  r.search.top = 1;
  const SearchResponse s = search(r);
  EXPECT_EQ(s.report.rejected.at("invalid-engine-knobs"), 1u);
  const auto it = std::find_if(s.report.rejected_examples.begin(), s.report.rejected_examples.end(),
                               [](const PlanOutcome& o) { return o.reason == "invalid-engine-knobs"; });
  ASSERT_NE(it, s.report.rejected_examples.end());
  EXPECT_EQ(it->detail,
            "without chunked prefill --max-num-batched-tokens (1024) must be at least the max model length "
            "(4096), or a long prompt could never be scheduled");
  EXPECT_EQ(s.render(Format::JSON).find("@{"), std::string::npos);
}

TEST(Resolve, FormatFromFlagPathOrTerminal) {
  EXPECT_EQ(resolve_format({"csv", "x.json"}, true), Format::CSV);
  EXPECT_EQ(resolve_format({"", "x.html"}, true), Format::HTML);
  EXPECT_EQ(resolve_format({"", "x.out"}, true), Format::JSON);
  EXPECT_EQ(resolve_format({"", ""}, true), Format::Table);
  EXPECT_EQ(resolve_format({"", ""}, false), Format::JSON);
}

TEST(Tools, ListAndValidateErrors) {
  EXPECT_CONTAINS(list({"engines"}).text, "vllm");
  EXPECT_CONTAINS(user_error_of([] { list({"modles"}); }), "did you mean 'models'?");
  ValidateRequest v;
  v.what = "ops";
  EXPECT_EQ(render_for_cli(user_error_of([&] { validate(v); })),
            "apex validate ops needs --measurements DIR");
  CalibrateRequest c;
  c.holdout = 1;
  EXPECT_EQ(render_for_python(user_error_of([&] { calibrate(c); })),
            "holdout= must be 0 (off) or at least 2 (hold out 1 row in N)");
}

// ---- Hardening (issue #10), the output / limits part.

TEST(Output, EveryWriteIsCheckedAndNamesTheFile) {
  const std::string path = ::testing::TempDir() + "/apex_output_" + std::to_string(::getpid()) + ".txt";
  write_file(path, "one\ntwo\n");
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  EXPECT_EQ(ss.str(), "one\ntwo\n");
  std::remove(path.c_str());
  // A path that cannot be opened is the user's: UserError, also from the check before a run.
  EXPECT_EQ(user_error_of([] { write_file("/nonexistent-apex-dir/x.json", "{}"); }),
            "could not write /nonexistent-apex-dir/x.json: No such file or directory");
  EXPECT_EQ(user_error_of([] { check_writable("/nonexistent-apex-dir/x.json"); }),
            "could not write /nonexistent-apex-dir/x.json: No such file or directory");
  check_writable(path);  // absent, in a writable folder: fine, and nothing is created
  EXPECT_NE(::access(path.c_str(), F_OK), 0);
  if (::access("/dev/full", W_OK) != 0) GTEST_SKIP() << "no /dev/full";
  // Open, but the data never lands: OutputError (exit 1), at the write or at the close.
  try {
    write_file("/dev/full", "x");
    ADD_FAILURE() << "a write to /dev/full succeeded";
  } catch (const OutputError& e) {
    EXPECT_STREQ(e.what(), "could not write /dev/full: No space left on device");
  }
  OutputFile f("/dev/full");
  f.write(std::string(100, 'x'));  // buffered
  EXPECT_THROW(f.close(), OutputError);
}

TEST(Output, PerRequestRecordsAreWrittenOrTheRunFails) {
  SimulateRequest r;
  r.deployment.model.model = "llama-3.2-1b";
  r.deployment.cluster.gpus_per_node = 1;
  r.workload.rate = "20";
  r.workload.num_requests = 7;
  r.workload.prompt_len = "64";
  r.workload.output_len = "8";
  const std::string path = ::testing::TempDir() + "/apex_per_request_" + std::to_string(::getpid()) + ".csv";
  r.per_request = path;
  (void)simulate(r);
  std::ifstream in(path);
  std::string line;
  int lines = 0;
  while (std::getline(in, line))
    ++lines;
  EXPECT_EQ(lines, 8);  // header + one row per request
  std::remove(path.c_str());
  r.per_request = "/nonexistent-apex-dir/r.csv";
  EXPECT_CONTAINS(user_error_of([&] { (void)simulate(r); }), "could not write /nonexistent-apex-dir/r.csv");
  if (::access("/dev/full", W_OK) != 0) GTEST_SKIP() << "no /dev/full";
  r.per_request = "/dev/full";
  EXPECT_THROW((void)simulate(r), OutputError);
}

TEST(Limits, ClusterSizeAndTuneListsAreBoundedWhereTheyAreCombined) {
  DeploymentInput d;
  d.model.model = "llama-3.1-8b";
  d.cluster.nodes = 2147483647;
  EXPECT_EQ(render_for_cli(user_error_of([&] { (void)build_deployment(d, {}); })),
            "--nodes 2147483647 x --gpus-per-node 8 is 17179869176 GPUs, more than the limit of 65536");
  d.cluster.nodes = 65536 / 8;  // at the limit: fine
  EXPECT_EQ(build_deployment(d, {}).cluster.nodes, 8192);
  SearchInput s;
  s.tune = "max-num-seqs=99999999999";
  EXPECT_EQ(render_for_cli(user_error_of([&] { (void)build_search_options(s); })),
            "--tune max-num-seqs: 99999999999 is above the limit of 1048576");
  s.tune = "max-num-seqs=1048576/8,max-num-batched-tokens=268435456";
  const SearchOptions o = build_search_options(s);
  EXPECT_EQ(o.tune_max_num_seqs, (std::vector<int>{1048576, 8}));
  EXPECT_EQ(o.tune_max_num_batched_tokens, (std::vector<int>{268435456}));
}

TEST(InternalErrors, NameSourcesRelativeToTheTree) {
  EXPECT_EQ(source_relative_path("/home/me/src/apex/src/core/error.cpp"), "src/core/error.cpp");
  EXPECT_EQ(source_relative_path("../src/sim/metrics/collector.cpp"), "src/sim/metrics/collector.cpp");
  EXPECT_EQ(source_relative_path("/work/apex/tests/test_api.cpp"), "tests/test_api.cpp");
  EXPECT_EQ(source_relative_path("src/api/run.cpp"), "src/api/run.cpp");
  EXPECT_EQ(source_relative_path("/elsewhere/x.cpp"), "x.cpp");
  try {
    APEX_ASSERT(1 + 1 == 3, "arithmetic");
    ADD_FAILURE() << "no assertion";
  } catch (const InternalError& e) {
    const std::string what = e.what();
    EXPECT_CONTAINS(what, "internal error: arithmetic (tests/test_api.cpp:");
    EXPECT_EQ(what.find("../"), std::string::npos) << what;
    EXPECT_EQ(what.find(APEX_SOURCE_DIR), std::string::npos) << what;
  }
}

}  // namespace
}  // namespace apex::api
