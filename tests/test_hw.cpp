// Tests of src/hw: GPU presets, preset clusters and custom cluster files.
#include <gtest/gtest.h>

#include "test_util.h"

#include <string>
#include <vector>

#include "core/error.h"
#include "core/json_util.h"
#include "core/option_ref.h"
#include "core/text.h"
#include "core/units.h"
#include "hw/hardware.h"

namespace apex {
namespace {

using ::apex::testing::user_error_of;
using ::apex::testing::write_temp_file;

const std::string kData = APEX_TEST_DATA;

// ---------------------------------------------------------------------------------------------
// Presets

// find_gpu parses only the entry it is asked for; it must be the table's entry, field for field.
TEST(GpuPresets, FindParsesTheSameEntryAsTheTable) {
  for (const Gpu& g : gpu_presets()) {
    SCOPED_TRACE(g.name);
    const Gpu& found = find_gpu(g.name);
    EXPECT_TRUE(found == g);
    EXPECT_EQ(found.peak_fp8, g.peak_fp8);
    EXPECT_EQ(found.intra_node.bandwidth, g.intra_node.bandwidth);
    EXPECT_EQ(&find_gpu(g.name), &found);  // parsed once
  }
  try {
    (void)find_gpu("h100");
    ADD_FAILURE() << "no error";
  } catch (const UserError& e) {
    EXPECT_NE(std::string(e.what()).find("did you mean 'h100-sxm'"), std::string::npos) << e.what();
  }
}

TEST(GpuPresets, EveryPresetIsPhysicallySane) {
  ASSERT_GE(gpu_presets().size(), 4u);
  for (const Gpu& g : gpu_presets()) {
    SCOPED_TRACE(g.name);
    EXPECT_FALSE(g.name.empty());
    EXPECT_FALSE(g.description.empty());
    EXPECT_GT(g.hbm_bytes, 8 * kGiB);
    EXPECT_LT(g.hbm_bytes, 1024 * kGiB);
    EXPECT_GT(g.hbm_bandwidth, 100e9);
    EXPECT_LT(g.hbm_bandwidth, 100e12);
    EXPECT_GT(std::max(g.peak_bf16, g.peak_fp16), 10e12);
    EXPECT_GT(g.peak_fp32, 0);
    EXPECT_GE(g.peak_fp16, g.peak_fp32);
    if (g.peak_fp8 > 0) {
      EXPECT_GE(g.peak_fp8, g.peak_bf16);
    }
    EXPECT_GT(g.power_idle_w, 0);
    EXPECT_GT(g.power_max_w, g.power_idle_w);
    EXPECT_GT(g.boost_clock_hz, 500e6);
    EXPECT_GT(g.l2_bytes, 0);
    EXPECT_GT(g.intra_node.bandwidth, 0);
    EXPECT_GT(g.inter_node.bandwidth, 0);
    EXPECT_GT(g.intra_node.latency, 0);
    EXPECT_GT(g.inter_node.latency, 0);
    EXPECT_FALSE(g.intra_node.name.empty());
    EXPECT_GE(g.max_gpus_per_node, 1);
    EXPECT_GT(g.price_per_hour, 0);
    EXPECT_FALSE(g.calibration_key.empty());
    EXPECT_TRUE(g.supports(DType::FP16) || g.supports(DType::BF16));
  }
}

TEST(GpuPresets, NamesUniqueAndFindable) {
  const auto names = gpu_preset_names();
  EXPECT_EQ(names.size(), gpu_presets().size());
  for (std::size_t i = 0; i < names.size(); ++i) {
    EXPECT_EQ(find_gpu(names[i]).name, names[i]);
    for (std::size_t j = i + 1; j < names.size(); ++j)
      EXPECT_NE(names[i], names[j]);
  }
  for (const char* want : {"h100-sxm", "h200-sxm", "b200", "a100-sxm-80gb"})
    EXPECT_NO_THROW(find_gpu(want)) << want;
}

TEST(GpuPresets, H100Datasheet) {
  const Gpu& g = find_gpu("h100-sxm");
  EXPECT_DOUBLE_EQ(g.hbm_bytes, 81559.0 * kMiB);
  EXPECT_DOUBLE_EQ(g.hbm_bandwidth, 3.35e12);
  EXPECT_NEAR(g.peak_bf16, 989.4e12, 1e9);
  EXPECT_NEAR(g.peak_fp8, 1978.9e12, 1e9);
  EXPECT_DOUBLE_EQ(g.power_max_w, 700);
  EXPECT_DOUBLE_EQ(g.boost_clock_hz, 1980e6);
  EXPECT_EQ(g.max_gpus_per_node, 8);
  EXPECT_DOUBLE_EQ(g.inter_node.bandwidth, 50e9);  // 400 Gb/s NIC
  EXPECT_DOUBLE_EQ(g.peak_flops(DType::BF16), g.peak_bf16);
  EXPECT_DOUBLE_EQ(g.peak_flops(DType::FP8), g.peak_fp8);
  EXPECT_FALSE(g.supports(DType::FP4));  // no native 4-bit math before Blackwell
  EXPECT_TRUE(find_gpu("b200").supports(DType::FP4));
  EXPECT_DOUBLE_EQ(find_gpu("b200").peak_flops(DType::FP4), 9000e12);
  EXPECT_FALSE(g.supports(DType::INT4));  // W4A16 is weight-only: its math runs in 16 bits
}

TEST(GpuPresets, V100HasNoBf16) {
  const Gpu& g = find_gpu("v100-pcie-16gb");
  EXPECT_FALSE(g.supports(DType::BF16));
  EXPECT_TRUE(g.supports(DType::FP16));
  EXPECT_FALSE(g.supports(DType::FP8));
}

TEST(GpuPresets, FindGpuDidYouMean) {
  std::string msg = user_error_of([] { find_gpu("h100"); });
  EXPECT_CONTAINS(msg, "unknown gpu 'h100'");
  EXPECT_CONTAINS(msg, "did you mean 'h100-sxm'?");
  EXPECT_CONTAINS(msg, "apex list gpus");
  msg = user_error_of([] { find_gpu("b20"); });
  EXPECT_CONTAINS(msg, "did you mean 'b200'?");
  msg = user_error_of([] { find_gpu("tpu-v5e-pod"); });
  EXPECT_CONTAINS(msg, "unknown gpu 'tpu-v5e-pod'");
  EXPECT_CONTAINS(msg, "h100-sxm");  // lists the valid names
}

// ---------------------------------------------------------------------------------------------
// The GPU table (data/gpus.json)

const std::string kGpuTable = std::string(APEX_SOURCE_DIR) + "/data/gpus.json";

// The message of the InternalError `fn` throws; a test failure if it throws something else or nothing.
template <typename Fn>
std::string internal_error_of(Fn&& fn) {
  try {
    fn();
  } catch (const InternalError& e) {
    return e.what();
  } catch (const std::exception& e) {
    ADD_FAILURE() << "expected InternalError, got another exception: " << e.what();
    return {};
  }
  ADD_FAILURE() << "expected InternalError, nothing was thrown";
  return {};
}

std::string table_without(const std::string& gpu, const std::string& key) {
  Json j = parse_json(read_file(kGpuTable, "gpu table"), kGpuTable);
  for (auto& g : j["gpus"]) {
    if (g["name"] == gpu) g.erase(key);
  }
  return j.dump();
}

TEST(GpuTable, TheSourceFileIsWhatShips) {
  // The embedded copy and the file in the tree give the same presets, field for field.
  const auto table = gpus_from_table(read_file(kGpuTable, "gpu table"), kGpuTable);
  ASSERT_EQ(table.size(), gpu_presets().size());
  for (std::size_t i = 0; i < table.size(); ++i) {
    const Gpu &a = table[i], &b = gpu_presets()[i];
    SCOPED_TRACE(a.name);
    EXPECT_EQ(a.name, b.name);
    EXPECT_EQ(a.sources, b.sources);
    EXPECT_EQ(a.hbm_bytes, b.hbm_bytes);
    EXPECT_EQ(a.peak_bf16, b.peak_bf16);
    EXPECT_EQ(a.peak_fp4, b.peak_fp4);
    EXPECT_EQ(a.power_idle_w, b.power_idle_w);
    EXPECT_EQ(a.inter_node.bandwidth, b.inter_node.bandwidth);
    EXPECT_EQ(a.intra_node.latency, b.intra_node.latency);
  }
}

TEST(GpuTable, UnitsOfTheKeys) {
  // Exact: the loader multiplies the table's figures the way the presets always have.
  const Gpu& a100 = find_gpu("a100-sxm-80gb");
  EXPECT_EQ(a100.hbm_bytes, 81920 * kMiB);
  EXPECT_EQ(a100.hbm_bandwidth, 2.039e12);  // 2039 GB/s
  EXPECT_EQ(a100.peak_fp32, 19.5 * 1e12);
  EXPECT_EQ(a100.l2_bytes, 40 * kMiB);
  EXPECT_EQ(a100.boost_clock_hz, 1410e6);
  EXPECT_EQ(a100.inter_node.bandwidth, 25e9);  // 200 Gbit/s
  EXPECT_EQ(a100.intra_node.latency, 2 * 1e-6);
  EXPECT_EQ(a100.calibration_key, "a100_sxm");
  const Gpu& mi300x = find_gpu("mi300x");
  EXPECT_EQ(mi300x.intra_node.bandwidth, 448e9);
  EXPECT_EQ(mi300x.intra_node.latency, 3 * 1e-6);
  EXPECT_EQ(find_gpu("gb200").max_gpus_per_node, 72);
}

TEST(GpuTable, ScaleUpTopologyHostLinkAndComputeCapability) {
  // PCIe-only presets are not fully connected (vLLM's custom all-reduce needs NVLink beyond 2 GPUs);
  // NVLink / NVSwitch / xGMI presets are.
  int pcie = 0;
  for (const Gpu& g : gpu_presets()) {
    SCOPED_TRACE(g.name);
    const bool is_pcie = g.intra_node.name.rfind("pcie", 0) == 0;
    pcie += is_pcie ? 1 : 0;
    EXPECT_EQ(g.intra_node.fully_connected, !is_pcie);
    EXPECT_GE(g.host_bandwidth, 16e9);
    EXPECT_LE(g.host_bandwidth, 450e9);
  }
  EXPECT_EQ(pcie, 2);  // l40s, v100-pcie-16gb
  EXPECT_FALSE(find_gpu("l40s").intra_node.fully_connected);
  EXPECT_EQ(find_gpu("h100-sxm").compute_capability, 9.0);
  EXPECT_EQ(find_gpu("b200").compute_capability, 10.0);
  EXPECT_EQ(find_gpu("l40s").compute_capability, 8.9);
  EXPECT_EQ(find_gpu("mi300x").compute_capability, 0.0);
  EXPECT_EQ(find_gpu("h100-sxm").host_bandwidth, 64e9);
  EXPECT_EQ(find_gpu("v100-pcie-16gb").host_bandwidth, 16e9);
  // A cluster file inherits the flag from its base and may override it.
  const std::string path = testing::write_temp_file("pcie_h100.json",
                                                    R"({"gpu": "h100-sxm", "gpus_per_node": 4,
          "intra_node_link": {"name": "pcie5", "bandwidth": "64GB/s", "fully_connected": false}})");
  EXPECT_FALSE(load_cluster_json(path).intra_node.fully_connected);
  EXPECT_TRUE(load_cluster_json(kData + "/custom_cluster.json").intra_node.fully_connected);
}

TEST(GpuTable, AMissingFieldNamesTheGpuAndTheKey) {
  std::string msg = internal_error_of([] { gpus_from_table(table_without("b200", "peak_fp8_tflops"), "t"); });
  EXPECT_CONTAINS(msg, "(b200)");
  EXPECT_CONTAINS(msg, "peak_fp8_tflops");
  msg = internal_error_of([] { gpus_from_table(table_without("l40s", "inter_node"), "t"); });
  EXPECT_CONTAINS(msg, "(l40s)");
  EXPECT_CONTAINS(msg, "inter_node");
}

TEST(GpuTable, EveryNumberNeedsASource) {
  Json j = parse_json(read_file(kGpuTable, "gpu table"), kGpuTable);
  j["gpus"][0]["power_idle_w"].erase("source");
  std::string msg = internal_error_of([&] { gpus_from_table(j.dump(), "t"); });
  EXPECT_CONTAINS(msg, "(h100-sxm)");
  EXPECT_CONTAINS(msg, "power_idle_w");
  EXPECT_CONTAINS(msg, "source");
  j = parse_json(read_file(kGpuTable, "gpu table"), kGpuTable);
  j["gpus"][1]["hbm_capacity_mib"] = 143771;  // a bare number, no {value, source}
  msg = internal_error_of([&] { gpus_from_table(j.dump(), "t"); });
  EXPECT_CONTAINS(msg, "(h200-sxm)");
  EXPECT_CONTAINS(msg, "hbm_capacity_mib");
}

TEST(GpuTable, RejectsTyposDuplicatesAndAmbiguousLinks) {
  Json j = parse_json(read_file(kGpuTable, "gpu table"), kGpuTable);
  j["gpus"][2]["peak_fp8_tflop"] = j["gpus"][2]["peak_fp8_tflops"];
  std::string msg = internal_error_of([&] { gpus_from_table(j.dump(), "t"); });
  EXPECT_CONTAINS(msg, "peak_fp8_tflop'");
  j = parse_json(read_file(kGpuTable, "gpu table"), kGpuTable);
  j["gpus"].push_back(j["gpus"][0]);
  msg = internal_error_of([&] { gpus_from_table(j.dump(), "t"); });
  EXPECT_CONTAINS(msg, "'h100-sxm' is listed twice");
  j = parse_json(read_file(kGpuTable, "gpu table"), kGpuTable);
  j["gpus"][0]["intra_node"]["bandwidth_gbit_per_s"] = {{"value", 3600}, {"source", "x"}};
  msg = internal_error_of([&] { gpus_from_table(j.dump(), "t"); });
  EXPECT_CONTAINS(msg, "exactly one of");
}

TEST(GpuTable, AddingAGpuIsOneEntry) {
  Json j = parse_json(read_file(kGpuTable, "gpu table"), kGpuTable);
  Json extra = j["gpus"][0];
  extra["name"] = "h100-half";
  extra["hbm_capacity_mib"]["value"] = 40000;
  extra["peak_bf16_tflops"]["value"] = 500;
  j["gpus"].push_back(extra);
  const auto gpus = gpus_from_table(j.dump(), "t");
  ASSERT_EQ(gpus.size(), gpu_presets().size() + 1);
  EXPECT_EQ(gpus.back().name, "h100-half");
  EXPECT_EQ(gpus.back().hbm_bytes, 40000 * kMiB);
  EXPECT_EQ(gpus.back().peak_bf16, 500e12);
  EXPECT_EQ(gpus.back().peak_fp16, find_gpu("h100-sxm").peak_fp16);
}

// ---------------------------------------------------------------------------------------------
// Preset clusters

TEST(MakeCluster, Valid) {
  const Cluster c = make_cluster("h100-sxm", 2, 8);
  EXPECT_EQ(c.total_gpus(), 16);
  EXPECT_EQ(c.nodes, 2);
  EXPECT_EQ(c.gpus_per_node, 8);
  EXPECT_EQ(c.gpu.name, "h100-sxm");
  EXPECT_EQ(c.intra_node.name, "nvlink4");
  EXPECT_DOUBLE_EQ(c.intra_node.bandwidth, 450e9);
  EXPECT_DOUBLE_EQ(c.inter_node.bandwidth, 50e9);
  EXPECT_CONTAINS(c.describe(), "h100-sxm");
  EXPECT_CONTAINS(c.describe(), "2 nodes");
  EXPECT_EQ(make_cluster("a100-sxm-80gb", 1, 1).total_gpus(), 1);
  EXPECT_EQ(make_cluster("gb200", 1, 72).total_gpus(), 72);  // NVL72 scale-up domain
}

TEST(MakeCluster, Validation) {
  // The library names the option by concept; each front end spells it (tests/test_cli.cpp).
  std::string msg = user_error_of([] { make_cluster("h100-sxm", 0, 8); });
  EXPECT_CONTAINS(msg, opt("nodes"));
  msg = user_error_of([] { make_cluster("h100-sxm", -1, 8); });
  EXPECT_CONTAINS(msg, opt("nodes"));
  msg = user_error_of([] { make_cluster("h100-sxm", 1, 0); });
  EXPECT_CONTAINS(msg, opt("gpus_per_node"));
  msg = user_error_of([] { make_cluster("h100-sxm", 1, 9); });
  EXPECT_CONTAINS(msg, opt("gpus_per_node") + " 9");
  EXPECT_CONTAINS(msg, "8-GPU");
  msg = user_error_of([] { make_cluster("h100", 1, 8); });
  EXPECT_CONTAINS(msg, "did you mean 'h100-sxm'?");
}

// ---------------------------------------------------------------------------------------------
// Cluster files

TEST(ClusterJson, CustomGpuOnPresetBase) {
  const Cluster c = load_cluster_json(kData + "/custom_cluster.json");
  const Gpu& base = find_gpu("h100-sxm");
  EXPECT_EQ(c.gpu.name, "h100-96g");
  EXPECT_DOUBLE_EQ(c.gpu.hbm_bytes, 96.0 * 1024 * 1024 * 1024);
  EXPECT_DOUBLE_EQ(c.gpu.hbm_bandwidth, 3.9e12);
  // Everything not overridden comes from the base preset.
  EXPECT_DOUBLE_EQ(c.gpu.peak_bf16, base.peak_bf16);
  EXPECT_DOUBLE_EQ(c.gpu.peak_fp8, base.peak_fp8);
  EXPECT_DOUBLE_EQ(c.gpu.power_max_w, base.power_max_w);
  EXPECT_EQ(c.gpu.calibration_key, base.calibration_key);
  EXPECT_EQ(c.nodes, 2);
  EXPECT_EQ(c.gpus_per_node, 4);
  EXPECT_EQ(c.total_gpus(), 8);
  EXPECT_EQ(c.intra_node.name, "nvlink4");
  EXPECT_DOUBLE_EQ(c.intra_node.bandwidth, base.intra_node.bandwidth);
  EXPECT_EQ(c.inter_node.name, "roce-200");
  EXPECT_DOUBLE_EQ(c.inter_node.bandwidth, 25e9);  // 200 Gb/s
  EXPECT_DOUBLE_EQ(c.inter_node.latency, 8e-6);
}

TEST(ClusterJson, FullyCustomGpuWithEveryUnit) {
  const Cluster c = load_cluster_json(kData + "/cluster_full_custom.json");
  EXPECT_EQ(c.gpu.name, "toy-accel");
  EXPECT_DOUBLE_EQ(c.gpu.hbm_bytes, 32.0 * kGiB);
  EXPECT_DOUBLE_EQ(c.gpu.hbm_bandwidth, 1.2e12);
  EXPECT_DOUBLE_EQ(c.gpu.peak_bf16, 250e12);
  EXPECT_DOUBLE_EQ(c.gpu.peak_fp8, 0.5e15);
  EXPECT_DOUBLE_EQ(c.gpu.l2_bytes, 40.0 * kMiB);
  EXPECT_DOUBLE_EQ(c.gpu.power_idle_w, 60);
  EXPECT_DOUBLE_EQ(c.gpu.power_max_w, 400);
  EXPECT_DOUBLE_EQ(c.gpu.boost_clock_hz, 1.5e9);
  EXPECT_DOUBLE_EQ(c.gpu.price_per_hour, 1.25);
  EXPECT_EQ(c.gpus_per_node, 4);
  EXPECT_EQ(c.intra_node.name, "pcie5");
  EXPECT_DOUBLE_EQ(c.intra_node.bandwidth, 64e9);
  EXPECT_DOUBLE_EQ(c.intra_node.latency, 5e-6);
  EXPECT_DOUBLE_EQ(c.inter_node.bandwidth, 12.5e9);
  EXPECT_DOUBLE_EQ(c.inter_node.latency, 10e-6);
}

TEST(ClusterJsonErrors, UnknownTopLevelKey) {
  const std::string path = kData + "/cluster_unknown_key.json";
  const std::string msg = user_error_of([&] { load_cluster_json(path); });
  EXPECT_CONTAINS(msg, path);
  EXPECT_CONTAINS(msg, "unknown key 'gpus_per_nod'");
  EXPECT_CONTAINS(msg, "did you mean 'gpus_per_node'?");
}

TEST(ClusterJsonErrors, UnknownGpuKeyDidYouMean) {
  const std::string path = kData + "/cluster_unknown_gpu_key.json";
  const std::string msg = user_error_of([&] { load_cluster_json(path); });
  EXPECT_CONTAINS(msg, path);
  EXPECT_CONTAINS(msg, "unknown key 'hbm_capacty'");
  // Regression test for a bug found by review (fixed).
  EXPECT_CONTAINS(msg, "did you mean 'hbm_capacity'?");
}

TEST(ClusterJsonErrors, UnknownLinkKeyDidYouMean) {
  const std::string path = ::testing::TempDir() + "/apex_cluster_bad_link.json";
  {
    std::FILE* f = std::fopen(path.c_str(), "w");
    ASSERT_NE(f, nullptr);
    std::fputs(R"({"gpu": "h100-sxm", "inter_node_link": {"bandwith": "200Gb/s"}})", f);
    std::fclose(f);
  }
  const std::string msg = user_error_of([&] { load_cluster_json(path); });
  EXPECT_CONTAINS(msg, "inter_node_link");
  EXPECT_CONTAINS(msg, "unknown key 'bandwith'");
  // Regression test for a bug found by review (fixed).
  EXPECT_CONTAINS(msg, "did you mean 'bandwidth'?");
}

TEST(ClusterJsonErrors, MissingUnit) {
  const std::string path = kData + "/cluster_missing_unit.json";
  const std::string msg = user_error_of([&] { load_cluster_json(path); });
  EXPECT_CONTAINS(msg, path);
  EXPECT_CONTAINS(msg, "hbm_capacity");
  EXPECT_CONTAINS(msg, "'80' has no unit");
  EXPECT_CONTAINS(msg, "GiB");
}

TEST(ClusterJsonErrors, BadUnit) {
  const std::string path = kData + "/cluster_bad_unit.json";
  const std::string msg = user_error_of([&] { load_cluster_json(path); });
  EXPECT_CONTAINS(msg, path);
  EXPECT_CONTAINS(msg, "hbm_bandwidth");
  EXPECT_CONTAINS(msg, "unknown unit 'TB'");
  EXPECT_CONTAINS(msg, "TB/s");
}

TEST(ClusterJsonErrors, FileNotFoundAndDirectory) {
  std::string msg = user_error_of([] { load_cluster_json("/nonexistent/apex/cluster.json"); });
  EXPECT_CONTAINS(msg, "/nonexistent/apex/cluster.json");
  EXPECT_CONTAINS(msg, "does not exist");
  msg = user_error_of([] { load_cluster_json(kData); });
  EXPECT_CONTAINS(msg, "is a directory");
}

TEST(ClusterJsonErrors, MalformedAndInvalidValues) {
  const std::string dir = ::testing::TempDir();
  auto write = [&](const std::string& name, const std::string& text) {
    const std::string path = dir + "/" + name;
    std::FILE* f = std::fopen(path.c_str(), "w");
    EXPECT_NE(f, nullptr);
    std::fputs(text.c_str(), f);
    std::fclose(f);
    return path;
  };
  std::string p = write("apex_c1.json", "{\n  \"gpu\": \"h100-sxm\",\n  \"nodes\": 1,,\n}\n");
  std::string msg = user_error_of([&] { load_cluster_json(p); });
  EXPECT_CONTAINS(msg, p + ":3:");
  EXPECT_CONTAINS(msg, "malformed JSON");

  struct Case {
    const char* json;
    const char* expect;
  };
  const std::vector<Case> cases = {
      {R"({"nodes": 1})", "missing required key 'gpu'"},
      {R"({"gpu": "h100", "nodes": 1})", "did you mean 'h100-sxm'?"},
      {R"({"gpu": "h100-sxm", "nodes": 0})", "'nodes' must be at least 1"},
      {R"({"gpu": "h100-sxm", "gpus_per_node": 0})", "'gpus_per_node' must be at least 1"},
      {R"({"gpu": {"base": "h100-sxm", "hbm_capacity": 80}})", "must be a string"},
      {R"({"gpu": {"name": "x", "hbm_capacity": "80GiB"}})", "hbm_bandwidth"},
      {R"({"gpu": {"name": "x", "hbm_capacity": "80GiB", "hbm_bandwidth": "1TB/s"}})", "peak_bf16"},
      {R"({"gpu": {"base": "h100-sxm", "power_idle": "800W"}})", "power_max"},
      {R"({"gpu": {"name": "x", "hbm_capacity": "80GiB", "hbm_bandwidth": "1TB/s", "peak_bf16": "100TFLOPS"}})",
       "'power_max' is required without a \"base\""},
      {R"({"gpu": "h100-sxm", "nodes": 1.5})", "integer"},
      {R"({"gpu": {"base": "h100-sxm", "hbm_capacity": "-80GiB"}})", "negative"},
  };
  for (std::size_t i = 0; i < cases.size(); ++i) {
    SCOPED_TRACE(cases[i].json);
    p = write("apex_c" + std::to_string(i) + ".json", cases[i].json);
    EXPECT_CONTAINS(user_error_of([&] { load_cluster_json(p); }), cases[i].expect);
  }

  // A preset GPU by name, defaults for the rest.
  p = write("apex_c9.json", R"({"gpu": "a100-sxm-80gb"})");
  const Cluster c = load_cluster_json(p);
  EXPECT_EQ(c.gpu.name, "a100-sxm-80gb");
  EXPECT_EQ(c.nodes, 1);
  EXPECT_EQ(c.gpus_per_node, 8);
}

TEST(ClusterJsonErrors, GpusPerNodeBeyondScaleUpDomain) {
  const std::string p = ::testing::TempDir() + "/apex_c_big_node.json";
  std::FILE* f = std::fopen(p.c_str(), "w");
  ASSERT_NE(f, nullptr);
  std::fputs(R"({"gpu": "h100-sxm", "gpus_per_node": 16})", f);
  std::fclose(f);
  // Regression test for a bug found by review (fixed).
  EXPECT_CONTAINS(user_error_of([&] { load_cluster_json(p); }), "gpus_per_node");
}

// ---------------------------------------------------------------------------------------------
// Hostile cluster files and sizes (issue #10, input side): each a UserError naming the file, the
// key and the valid range, never an overflow or a GPU that cannot exist.

TEST(ClusterHostile, UnitValuesOutsideAPlausibleRangeNameTheRange) {
  // 1e307TB/s and 1e305PFLOPS overflowed to inf: MBU and MFU printed as 0 with exit 0.
  std::string path = kData + "/cluster_implausible_bandwidth.json";
  EXPECT_EQ(
      user_error_of([&] { load_cluster_json(path); }),
      path +
          ": gpu: 'hbm_bandwidth': '1e307TB/s' is outside the physically plausible range 1GB/s to 1000TB/s");
  path = kData + "/cluster_implausible_peak.json";
  EXPECT_CONTAINS(user_error_of([&] { load_cluster_json(path); }),
                  "'peak_bf16': '1e305PFLOPS' is outside the physically plausible range 0 to 1000PFLOPS");
  struct Case {
    const char* gpu;
    const char* expect;
  };
  const std::vector<Case> cases = {
      {R"("hbm_capacity": "1e30TiB")",
       "'hbm_capacity': '1e30TiB' is outside the physically plausible range 1GiB"},
      {R"("hbm_capacity": "10MiB")", "'hbm_capacity': '10MiB' is outside"},
      {R"("peak_fp8": "2e6PFLOPS")", "'peak_fp8': '2e6PFLOPS' is outside"},
      {R"("l2_cache": "1TB")", "'l2_cache': '1TB' is outside the physically plausible range 0 to 16GiB"},
      {R"("power_max": "1e9W")", "'power_max': '1e9W' is outside the physically plausible range 1W to 100kW"},
      {R"("power_max": "0W")", "'power_max': '0W' is outside the physically plausible range 1W to 100kW"},
      {R"("power_idle": "1e9W")",
       "'power_idle': '1e9W' is outside the physically plausible range 0 to 100kW"},
      {R"("boost_clock": "1e6GHz")", "'boost_clock': '1e6GHz' is outside"},
      // A zero clock would leave nothing to scale --frequency from (and is no GPU).
      {R"("boost_clock": "0GHz")",
       "'boost_clock': '0GHz' is outside the physically plausible range 100MHz to 10GHz"},
      {R"("boost_clock": "5MHz")", "'boost_clock': '5MHz' is outside"},
      {R"("peak_fp8": "1e-6PFLOPS")",
       "'peak_fp8' must be 0 (the format is not supported) or at least 1TFLOPS"},
      {R"("price_per_hour_usd": 1e9)",
       "'price_per_hour_usd' = 1000000000 is outside 0 to 1000 (USD per GPU-hour)"},
  };
  for (std::size_t i = 0; i < cases.size(); ++i) {
    SCOPED_TRACE(cases[i].gpu);
    const std::string p =
        write_temp_file("apex_hostile_gpu" + std::to_string(i) + ".json",
                        std::string(R"({"gpu": {"base": "h100-sxm", )") + cases[i].gpu + "}}");
    EXPECT_CONTAINS(user_error_of([&] { load_cluster_json(p); }), cases[i].expect);
  }
  const std::string link = write_temp_file(
      "apex_hostile_link.json",
      R"({"gpu": "h100-sxm", "inter_node_link": {"bandwidth": "1e20TB/s", "latency": "1us"}})");
  EXPECT_CONTAINS(
      user_error_of([&] { load_cluster_json(link); }),
      "inter_node_link: 'bandwidth': '1e20TB/s' is outside the physically plausible range 1B/s to 100TB/s");
  const std::string slow =
      write_temp_file("apex_hostile_latency.json",
                      R"({"gpu": "h100-sxm", "intra_node_link": {"bandwidth": "100GB/s", "latency": "2h"}})");
  EXPECT_CONTAINS(user_error_of([&] { load_cluster_json(slow); }), "'latency': '2h' is outside");
  // The upper ends themselves are accepted.
  const Cluster c = load_cluster_json(
      write_temp_file("apex_edge_gpu.json",
                      R"({"gpu": {"base": "h100-sxm", "hbm_bandwidth": "1000TB/s", "peak_bf16": "1000PFLOPS",
                                        "price_per_hour_usd": 1000}})"));
  EXPECT_DOUBLE_EQ(c.gpu.hbm_bandwidth, 1e15);
  EXPECT_DOUBLE_EQ(c.gpu.peak_bf16, 1e18);
  EXPECT_DOUBLE_EQ(c.gpu.price_per_hour, 1000);
}

TEST(ClusterHostile, NegativePriceIsRefused) {
  const std::string path = kData + "/cluster_negative_price.json";
  EXPECT_EQ(user_error_of([&] { load_cluster_json(path); }),
            path + ": gpu: 'price_per_hour_usd' = -3 is outside 0 to 1000 (USD per GPU-hour)");
}

TEST(ClusterHostile, CountsBeyondAnIntAreRefusedNotTruncated) {
  // 4294967297 was narrowed to an int: silently 1 node.
  const std::string path = kData + "/cluster_nodes_overflow.json";
  EXPECT_EQ(user_error_of([&] { load_cluster_json(path); }),
            path + ": 'nodes' = 4294967297 is above the limit of 65536");
  EXPECT_CONTAINS(
      user_error_of([] {
        load_cluster_json(write_temp_file("apex_nodes_1e300.json", R"({"gpu": "h100-sxm", "nodes": 1e300})"));
      }),
      "'nodes' = 1e+300 is out of range");
  EXPECT_CONTAINS(
      user_error_of([] {
        load_cluster_json(write_temp_file("apex_nodes_many.json", R"({"gpu": "h100-sxm", "nodes": 10000})"));
      }),
      "'nodes' 10000 x 'gpus_per_node' 8 is 80000 GPUs, more than the limit of 65536");
  // nodes x GPUs per node overflowed an int ("the cluster has -8 GPUs").
  const std::string msg = user_error_of([] { make_cluster("h100-sxm", 2147483647, 8); });
  EXPECT_EQ(msg, opt("nodes") + " 2147483647 x " + opt("gpus_per_node") +
                     " 8 is 17179869176 GPUs, more than the limit of 65536");
  const Cluster big = make_cluster("h100-sxm", 8192, 8);  // exactly the limit
  EXPECT_EQ(big.total_gpus(), 65536);
}

TEST(ClusterHostile, UnknownCalibrationNameIsAnErrorWithDidYouMean) {
  // An unknown name fell back silently to the uncalibrated model.
  const std::string path = kData + "/cluster_unknown_calibration.json";
  const std::string msg = user_error_of([&] { load_cluster_json(path); });
  EXPECT_CONTAINS(msg,
                  path + ": gpu: 'calibration': unknown calibration 'h100sxm'; did you mean 'h100_sxm'?");
  EXPECT_CONTAINS(msg, "a100_sxm");
  const Cluster c = load_cluster_json(write_temp_file(
      "apex_calibration_ok.json", R"({"gpu": {"base": "h100-sxm", "calibration": "a100_sxm"}})"));
  EXPECT_EQ(c.gpu.calibration_key, "a100_sxm");
}

TEST(ClusterHostile, FilesAreBoundedAndOverflowingNumbersNamed) {
  EXPECT_CONTAINS(user_error_of([] { load_cluster_json("/dev/zero"); }),
                  "cluster file '/dev/zero' is larger than the limit of 8 MiB");
  const std::string p =
      write_temp_file("apex_cluster_1e400.json", "{\"gpu\": \"h100-sxm\",\n \"nodes\": 1e400}\n");
  const std::string msg = user_error_of([&] { load_cluster_json(p); });
  EXPECT_CONTAINS(msg, p + ":2:");
  EXPECT_CONTAINS(msg, "number '1e400' is out of range");
  // A 5 MB GPU name is quoted short.
  const std::string big =
      write_temp_file("apex_cluster_big_name.json", "{\"gpu\": \"" + std::string(5 << 20, 'g') + "\"}");
  const std::string long_msg = user_error_of([&] { load_cluster_json(big); });
  EXPECT_CONTAINS(long_msg, "...' (5242880 bytes)");
  EXPECT_LT(long_msg.size(), 2000u);
}

}  // namespace
}  // namespace apex
