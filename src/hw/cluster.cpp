#include <fmt/format.h>

#include "core/error.h"
#include "core/json_util.h"
#include "core/option_ref.h"
#include "core/text.h"
#include "core/units.h"
#include "hw/hardware.h"

namespace apex {

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
  Cluster c;
  c.gpu = gpu;
  c.nodes = nodes;
  c.gpus_per_node = gpus_per_node;
  c.intra_node = gpu.intra_node;
  c.inter_node = gpu.inter_node;
  return c;
}

namespace {

Link read_link(const Json& j, const Link& fallback, const std::string& where) {
  JsonObjectReader r(j, where);
  Link l = fallback;
  l.name = r.string_or("name", fallback.name);
  if (r.optional("bandwidth"))
    l.bandwidth = parse_quantity(r.string("bandwidth"), Dimension::Bandwidth, r.path("bandwidth"));
  if (r.optional("latency"))
    l.latency = parse_quantity(r.string("latency"), Dimension::Time, r.path("latency"));
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
  auto q = [&](std::string_view key, Dimension d, double& field) {
    if (r.optional(key)) field = parse_quantity(r.string(key), d, r.path(key));
  };
  q("hbm_capacity", Dimension::Bytes, g.hbm_bytes);
  q("hbm_bandwidth", Dimension::Bandwidth, g.hbm_bandwidth);
  q("peak_bf16", Dimension::FlopRate, g.peak_bf16);
  q("peak_fp16", Dimension::FlopRate, g.peak_fp16);
  q("peak_fp8", Dimension::FlopRate, g.peak_fp8);
  q("peak_int8", Dimension::FlopRate, g.peak_int8);
  q("peak_fp4", Dimension::FlopRate, g.peak_fp4);
  q("peak_fp32", Dimension::FlopRate, g.peak_fp32);
  q("l2_cache", Dimension::Bytes, g.l2_bytes);
  q("power_idle", Dimension::Power, g.power_idle_w);
  q("power_max", Dimension::Power, g.power_max_w);
  q("boost_clock", Dimension::Frequency, g.boost_clock_hz);
  g.price_per_hour = r.number_or("price_per_hour_usd", g.price_per_hour);
  g.calibration_key = r.string_or("calibration", g.calibration_key);
  r.reject_unknown();
  if (g.hbm_bytes <= 0)
    throw UserError(fmt::format("{}: 'hbm_capacity' is required (e.g. \"80GiB\")", where));
  if (g.hbm_bandwidth <= 0)
    throw UserError(fmt::format("{}: 'hbm_bandwidth' is required (e.g. \"3.35TB/s\")", where));
  if (std::max(g.peak_bf16, g.peak_fp16) > 0 && std::max(g.peak_bf16, g.peak_fp16) < 1e12) {
    throw UserError(fmt::format("{}: 16-bit peak below 1 TFLOPS is not a GPU APEX can model", where));
  }
  if (g.hbm_bandwidth > 0 && g.hbm_bandwidth < 1e9) {
    throw UserError(fmt::format("{}: 'hbm_bandwidth' below 1 GB/s is not a GPU APEX can model", where));
  }
  if (g.peak_bf16 <= 0 && g.peak_fp16 <= 0) {
    throw UserError(fmt::format("{}: 'peak_bf16' or 'peak_fp16' is required (e.g. \"989TFLOPS\")", where));
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
    throw UserError(fmt::format("{} {:.0f} MHz is outside {:.0f}..{:.0f} MHz (20-100% of the {} boost clock)",
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
  c.nodes = static_cast<int>(r.integer_or("nodes", 1));
  c.gpus_per_node = static_cast<int>(r.integer_or("gpus_per_node", 8));
  if (c.nodes < 1) throw UserError(fmt::format("{}: 'nodes' must be at least 1", path));
  if (c.gpus_per_node < 1) throw UserError(fmt::format("{}: 'gpus_per_node' must be at least 1", path));
  if (c.gpus_per_node > c.gpu.max_gpus_per_node) {
    throw UserError(fmt::format("{}: 'gpus_per_node' {} exceeds the {}-GPU scale-up domain of {}", path,
                                c.gpus_per_node, c.gpu.max_gpus_per_node, c.gpu.name));
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
