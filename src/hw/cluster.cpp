#include <algorithm>
#include <utility>

#include <fmt/format.h>

#include "core/error.h"
#include "core/json_util.h"
#include "core/option_ref.h"
#include "core/text.h"
#include "core/units.h"
#include "hw/hardware.h"

namespace apex {

int Cluster::total_gpus() const {
  const long long n = static_cast<long long>(nodes) * gpus_per_node;
  APEX_ASSERT(n >= 0 && n <= kMaxClusterGpus, "cluster size outside the checked range");
  return static_cast<int>(n);
}

std::string Cluster::describe() const {
  return fmt::format("{} node{} x {} x {} ({}, {})", nodes, nodes == 1 ? "" : "s", gpus_per_node, gpu.name,
                     intra_node.name, nodes > 1 ? inter_node.name : "single node");
}

Cluster make_cluster(std::string_view gpu_name, int nodes, int gpus_per_node) {
  const Gpu& gpu = find_gpu(gpu_name);
  if (nodes < 1) throw UserError(fmt::format("{} must be at least 1, got {}", opt("nodes"), nodes));
  if (gpus_per_node < 1)
    throw UserError(fmt::format("{} must be at least 1, got {}", opt("gpus_per_node"), gpus_per_node));
  if (gpus_per_node > gpu.max_gpus_per_node) {
    throw UserError(fmt::format("{} {} exceeds the {}-GPU scale-up domain of {}", opt("gpus_per_node"),
                                gpus_per_node, gpu.max_gpus_per_node, gpu.name));
  }
  if (static_cast<long long>(nodes) * gpus_per_node > kMaxClusterGpus) {
    throw UserError(fmt::format("{} {} x {} {} is {} GPUs, more than the limit of {}", opt("nodes"), nodes,
                                opt("gpus_per_node"), gpus_per_node,
                                static_cast<long long>(nodes) * gpus_per_node, kMaxClusterGpus));
  }
  Cluster c;
  c.gpu = gpu;
  c.nodes = nodes;
  c.gpus_per_node = gpus_per_node;
  c.intra_node = gpu.intra_node;
  c.inter_node = gpu.inter_node;
  return c;
}

namespace {

// The physically plausible range of a quantity in a cluster file: well beyond every accelerator
// built or announced, so that only a typo (a wrong prefix, an extra exponent) lands outside it.
struct Plausible {
  double lo, hi;
  const char* range;  // as the user would write it
};
constexpr Plausible kCapacity{kGiB, 64.0 * 1024 * kGiB, "1GiB to 64TiB"};
constexpr Plausible kHbmBandwidth{1e9, 1e15, "1GB/s to 1000TB/s"};
constexpr Plausible kPeak{0, 1e18, "0 to 1000PFLOPS"};
constexpr Plausible kCache{0, 16 * kGiB, "0 to 16GiB"};
constexpr Plausible kPower{0, 1e5, "0 to 100kW"};
constexpr Plausible kPowerMax{1, 1e5, "1W to 100kW"};  // the energy figures scale with it: never 0
constexpr Plausible kClock{1e8, 1e10, "100MHz to 10GHz"};
constexpr Plausible kLinkBandwidth{1, 1e14, "1B/s to 100TB/s"};
constexpr Plausible kLatency{0, 1, "0 to 1s"};

double plausible_quantity(JsonObjectReader& r, std::string_view key, Dimension d, const Plausible& p) {
  const std::string text = r.string(key);
  const double v = parse_quantity(text, d, r.path(key));
  if (!(v >= p.lo && v <= p.hi)) {
    throw UserError(fmt::format("{}: {} is outside the physically plausible range {}", r.path(key),
                                quote_value(text), p.range));
  }
  return v;
}

// A count read as an integer, within [1, hi] before it is narrowed to an int.
int count_in_range(JsonObjectReader& r, std::string_view key, std::int64_t fallback, std::int64_t hi) {
  const std::int64_t n = r.integer_or(key, fallback);
  if (n < 1) throw UserError(fmt::format("{} must be at least 1", r.path(key)));
  if (n > hi) throw UserError(fmt::format("{} = {} is above the limit of {}", r.path(key), n, hi));
  return static_cast<int>(n);
}

Link read_link(const Json& j, const Link& fallback, const std::string& where) {
  JsonObjectReader r(j, where);
  Link l = fallback;
  l.name = r.string_or("name", fallback.name);
  if (r.optional("bandwidth"))
    l.bandwidth = plausible_quantity(r, "bandwidth", Dimension::Bandwidth, kLinkBandwidth);
  if (r.optional("latency")) l.latency = plausible_quantity(r, "latency", Dimension::Time, kLatency);
  l.fully_connected = r.boolean_or("fully_connected", fallback.fully_connected);
  r.reject_unknown();
  if (l.bandwidth <= 0) throw UserError(fmt::format("{}: 'bandwidth' must be positive", where));
  return l;
}

Gpu read_gpu(const Json& j, const std::string& where) {
  if (j.is_string()) return find_gpu(j.get<std::string>());
  JsonObjectReader r(j, where);
  Gpu g = r.has("base") ? find_gpu(r.string("base")) : Gpu{};
  g.name = r.string_or("name", g.name.empty() ? "custom-gpu" : g.name + "-custom");
  g.description = r.string_or("description", g.description.empty() ? g.name : g.description);
  auto q = [&](std::string_view key, Dimension d, const Plausible& p, double& field) {
    if (r.optional(key)) field = plausible_quantity(r, key, d, p);
  };
  q("hbm_capacity", Dimension::Bytes, kCapacity, g.hbm_bytes);
  q("hbm_bandwidth", Dimension::Bandwidth, kHbmBandwidth, g.hbm_bandwidth);
  q("peak_bf16", Dimension::FlopRate, kPeak, g.peak_bf16);
  q("peak_fp16", Dimension::FlopRate, kPeak, g.peak_fp16);
  q("peak_fp8", Dimension::FlopRate, kPeak, g.peak_fp8);
  q("peak_int8", Dimension::FlopRate, kPeak, g.peak_int8);
  q("peak_fp4", Dimension::FlopRate, kPeak, g.peak_fp4);
  q("peak_fp32", Dimension::FlopRate, kPeak, g.peak_fp32);
  q("l2_cache", Dimension::Bytes, kCache, g.l2_bytes);
  q("power_idle", Dimension::Power, kPower, g.power_idle_w);
  q("power_max", Dimension::Power, kPowerMax, g.power_max_w);
  q("boost_clock", Dimension::Frequency, kClock, g.boost_clock_hz);
  q("host_bandwidth", Dimension::Bandwidth, kLinkBandwidth, g.host_bandwidth);
  g.price_per_hour = r.number_or("price_per_hour_usd", g.price_per_hour);
  if (!(g.price_per_hour >= 0 && g.price_per_hour <= kMaxPricePerHour)) {
    throw UserError(fmt::format("{} = {} is outside 0 to {} (USD per GPU-hour)", r.path("price_per_hour_usd"),
                                g.price_per_hour, kMaxPricePerHour));
  }
  if (r.has("calibration")) {
    // The fitted parameters are looked up by this key; a typo would silently fall back to the
    // uncalibrated model, so only the keys of the GPU table are accepted.
    const std::string key = r.string("calibration");
    std::vector<std::string> known;
    for (const Gpu& p : gpu_presets()) {
      if (!p.calibration_key.empty() &&
          std::find(known.begin(), known.end(), p.calibration_key) == known.end())
        known.push_back(p.calibration_key);
    }
    if (std::find(known.begin(), known.end(), key) == known.end()) {
      throw UserError(
          fmt::format("{}: {}", r.path("calibration"), unknown_name_message("calibration", key, known)));
    }
    g.calibration_key = key;
  }
  r.reject_unknown();
  if (g.hbm_bytes <= 0)
    throw UserError(fmt::format("{}: 'hbm_capacity' is required (e.g. \"80GiB\")", where));
  if (g.hbm_bandwidth <= 0)
    throw UserError(fmt::format("{}: 'hbm_bandwidth' is required (e.g. \"3.35TB/s\")", where));
  if (std::max(g.peak_bf16, g.peak_fp16) > 0 && std::max(g.peak_bf16, g.peak_fp16) < 1e12) {
    throw UserError(fmt::format("{}: 16-bit peak below 1 TFLOPS is not a GPU APEX can model", where));
  }
  for (const auto& [key, peak] : {std::pair{"peak_bf16", g.peak_bf16}, std::pair{"peak_fp16", g.peak_fp16},
                                  std::pair{"peak_fp8", g.peak_fp8}, std::pair{"peak_int8", g.peak_int8},
                                  std::pair{"peak_fp4", g.peak_fp4}, std::pair{"peak_fp32", g.peak_fp32}}) {
    if (peak > 0 && peak < 1e12) {
      throw UserError(
          fmt::format("{} must be 0 (the format is not supported) or at least 1TFLOPS, got {:g} "
                      "TFLOPS",
                      r.path(key), peak / 1e12));
    }
  }
  if (g.hbm_bandwidth > 0 && g.hbm_bandwidth < 1e9) {
    throw UserError(fmt::format("{}: 'hbm_bandwidth' below 1 GB/s is not a GPU APEX can model", where));
  }
  if (g.peak_bf16 <= 0 && g.peak_fp16 <= 0) {
    throw UserError(fmt::format("{}: 'peak_bf16' or 'peak_fp16' is required (e.g. \"989TFLOPS\")", where));
  }
  if (g.power_max_w <= 0) {
    throw UserError(
        fmt::format("{}: 'power_max' is required without a \"base\" (e.g. \"700W\"): every "
                    "energy figure scales with it",
                    where));
  }
  if (g.power_max_w < g.power_idle_w)
    throw UserError(fmt::format("{}: 'power_max' is below 'power_idle'", where));
  return g;
}

}  // namespace

void set_gpu_frequency(Gpu& gpu, double hz) {
  if (gpu.boost_clock_hz <= 0) {
    throw UserError(
        fmt::format("{}: {} has no boost clock on record to scale from", opt("frequency"), gpu.name));
  }
  const double scale = hz / gpu.boost_clock_hz;
  if (!(scale >= 0.2 && scale <= 1.0 + 1e-9)) {
    throw UserError(fmt::format("{} {:g} MHz is outside {:.0f}..{:.0f} MHz (20-100% of the {} boost clock)",
                                opt("frequency"), hz / 1e6, 0.2 * gpu.boost_clock_hz / 1e6,
                                gpu.boost_clock_hz / 1e6, gpu.name));
  }
  const double rel = scale / gpu.clock_scale;
  for (double* p :
       {&gpu.peak_bf16, &gpu.peak_fp16, &gpu.peak_fp8, &gpu.peak_int8, &gpu.peak_fp4, &gpu.peak_fp32}) {
    *p *= rel;
  }
  gpu.clock_scale = scale;
}

Cluster load_cluster_json(const std::string& path) {
  const std::string text = read_file(path, "cluster file");
  const Json j = parse_json(text, path);
  JsonObjectReader r(j, path);
  Cluster c;
  c.gpu = read_gpu(r.required("gpu"), path + ": gpu");
  c.nodes = count_in_range(r, "nodes", 1, kMaxClusterGpus);
  c.gpus_per_node = count_in_range(r, "gpus_per_node", 8, kMaxClusterGpus);
  if (c.gpus_per_node > c.gpu.max_gpus_per_node) {
    throw UserError(fmt::format("{}: 'gpus_per_node' {} exceeds the {}-GPU scale-up domain of {}", path,
                                c.gpus_per_node, c.gpu.max_gpus_per_node, c.gpu.name));
  }
  if (static_cast<long long>(c.nodes) * c.gpus_per_node > kMaxClusterGpus) {
    throw UserError(fmt::format("{}: 'nodes' {} x 'gpus_per_node' {} is {} GPUs, more than the limit of {}",
                                path, c.nodes, c.gpus_per_node,
                                static_cast<long long>(c.nodes) * c.gpus_per_node, kMaxClusterGpus));
  }
  c.intra_node = c.gpu.intra_node;
  c.inter_node = c.gpu.inter_node;
  if (const Json* l = r.optional("intra_node_link"))
    c.intra_node = read_link(*l, c.intra_node, path + ": intra_node_link");
  if (const Json* l = r.optional("inter_node_link"))
    c.inter_node = read_link(*l, c.inter_node, path + ": inter_node_link");
  r.reject_unknown();
  if (c.intra_node.bandwidth <= 0)
    throw UserError(fmt::format("{}: 'intra_node_link' needs a bandwidth", path));
  if (c.inter_node.bandwidth <= 0)
    throw UserError(fmt::format("{}: 'inter_node_link' needs a bandwidth", path));
  return c;
}

}  // namespace apex
