// hw/gpu_presets.cpp — the GPU presets, read from the table data/gpus.json (embedded in the
// binary). The table holds every number with its source; this file only converts units and checks
// that each entry is complete. Adding a GPU is one entry in the table.
#include <cmath>
#include <map>
#include <mutex>
#include <set>

#include <fmt/format.h>

#include "core/error.h"
#include "core/json_util.h"
#include "hw/hardware.h"

namespace apex {
namespace embedded {
std::string_view gpus();
}  // namespace embedded

namespace {

constexpr double kTera = 1e12;
constexpr double kGiga = 1e9;
constexpr double kMega = 1e6;
constexpr double kMiB = 1024.0 * 1024.0;
constexpr double kMicro = 1e-6;

// A cited number: {"value": x, "source": "..."}; the source must not be empty.
double cited(JsonObjectReader& r, std::string_view key) {
  JsonObjectReader v(r.required(key), r.path(key));
  const double x = v.number("value");
  if (v.string("source").empty()) throw UserError(fmt::format("{}: empty 'source'", r.path(key)));
  v.reject_unknown();
  if (!std::isfinite(x) || x < 0)
    throw UserError(fmt::format("{}: value must be finite and not negative, found {}", r.path(key), x));
  return x;
}

double positive(JsonObjectReader& r, std::string_view key) {
  const double x = cited(r, key);
  if (x <= 0) throw UserError(fmt::format("{}: value must be positive", r.path(key)));
  return x;
}

// A cited flag: {"value": true|false, "source": "..."}.
bool cited_flag(JsonObjectReader& r, std::string_view key) {
  JsonObjectReader v(r.required(key), r.path(key));
  const Json& x = v.required("value");
  if (!x.is_boolean()) throw UserError(fmt::format("{}: value must be true or false", v.path("value")));
  if (v.string("source").empty()) throw UserError(fmt::format("{}: empty 'source'", r.path(key)));
  v.reject_unknown();
  return x.get<bool>();
}

// `scale_up`: the intra-node link, which states whether it connects every GPU pair directly.
Link read_link(JsonObjectReader& gpu, std::string_view key, bool scale_up) {
  JsonObjectReader r(gpu.required(key), gpu.path(key));
  Link l;
  l.name = r.string("name");
  if (scale_up) l.fully_connected = cited_flag(r, "fully_connected");
  const bool bytes = r.has("bandwidth_gbyte_per_s"), bits = r.has("bandwidth_gbit_per_s");
  if (bytes == bits) {
    throw UserError(fmt::format("{}: give exactly one of 'bandwidth_gbyte_per_s' and 'bandwidth_gbit_per_s'",
                                gpu.path(key)));
  }
  l.bandwidth =
      bytes ? positive(r, "bandwidth_gbyte_per_s") * kGiga : positive(r, "bandwidth_gbit_per_s") * kGiga / 8;
  l.latency = positive(r, "latency_us") * kMicro;
  r.reject_unknown();
  return l;
}

Gpu read_gpu(const Json& j, const std::string& where) {
  Gpu g;
  g.name = JsonObjectReader(j, where).string("name");
  if (g.name.empty()) throw UserError(fmt::format("{}: empty 'name'", where));
  JsonObjectReader e(j, fmt::format("{} ({})", where, g.name));  // every message names the GPU
  e.ignore({"name"});
  g.description = e.string("description");
  g.calibration_key = e.string("calibration_key");
  g.sources = e.string("sources");
  g.hbm_bytes = positive(e, "hbm_capacity_mib") * kMiB;
  g.hbm_bandwidth = positive(e, "hbm_bandwidth_gbyte_per_s") * kGiga;
  g.peak_bf16 = cited(e, "peak_bf16_tflops") * kTera;
  g.peak_fp16 = cited(e, "peak_fp16_tflops") * kTera;
  g.peak_fp8 = cited(e, "peak_fp8_tflops") * kTera;
  g.peak_int8 = cited(e, "peak_int8_tops") * kTera;
  g.peak_fp4 = cited(e, "peak_fp4_tflops") * kTera;
  g.peak_fp32 = positive(e, "peak_fp32_tflops") * kTera;
  g.l2_bytes = positive(e, "l2_cache_mib") * kMiB;
  g.boost_clock_hz = positive(e, "boost_clock_mhz") * kMega;
  g.power_idle_w = positive(e, "power_idle_w");
  g.power_max_w = positive(e, "power_max_w");
  g.price_per_hour = positive(e, "price_per_hour_usd");
  const double per_node = positive(e, "max_gpus_per_node");
  if (per_node != std::floor(per_node))
    throw UserError(fmt::format("{}: value must be an integer", e.path("max_gpus_per_node")));
  g.max_gpus_per_node = static_cast<int>(per_node);
  g.compute_capability = cited(e, "compute_capability");
  g.host_bandwidth = positive(e, "host_link_gbyte_per_s") * kGiga;
  g.intra_node = read_link(e, "intra_node", true);
  g.inter_node = read_link(e, "inter_node", false);
  e.reject_unknown();
  if (g.description.empty() || g.calibration_key.empty() || g.sources.empty())
    throw UserError(
        fmt::format("{} ({}): empty 'description', 'calibration_key' or 'sources'", where, g.name));
  if (g.peak_bf16 <= 0 && g.peak_fp16 <= 0)
    throw UserError(fmt::format("{} ({}): needs a bf16 or fp16 peak", where, g.name));
  if (g.power_max_w < g.power_idle_w)
    throw UserError(fmt::format("{} ({}): 'power_max_w' is below 'power_idle_w'", where, g.name));
  return g;
}

}  // namespace

std::vector<Gpu> gpus_from_table(std::string_view json_text, std::string_view where) {
  // The table ships with APEX, so a defect in it is a programming error, not a user error.
  try {
    const Json j = parse_json(json_text, where);
    JsonObjectReader r(j, std::string(where));
    r.ignore({"about"});
    const Json& list = r.required("gpus");
    r.reject_unknown();
    if (!list.is_array() || list.empty())
      throw UserError(fmt::format("{}: 'gpus' must be a non-empty array", where));
    std::vector<Gpu> out;
    std::set<std::string, std::less<>> names;
    for (std::size_t i = 0; i < list.size(); ++i) {
      out.push_back(read_gpu(list[i], fmt::format("{}: gpus[{}]", where, i)));
      if (!names.insert(out.back().name).second)
        throw UserError(fmt::format("{}: GPU '{}' is listed twice", where, out.back().name));
    }
    return out;
  } catch (const UserError& e) {
    throw InternalError(fmt::format("GPU table: {}", e.what()));
  }
}

double Gpu::peak_flops(DType compute) const {
  switch (compute) {
    case DType::BF16:
      return peak_bf16;
    case DType::FP16:
      return peak_fp16;
    case DType::FP8:
      return peak_fp8;
    case DType::INT8:
      return peak_int8;
    case DType::INT4:
      return 0;  // weight-only: the math runs in the activation dtype
    case DType::FP4:
      return peak_fp4;  // native FP4 math only on Blackwell
    case DType::FP32:
      return peak_fp32;
  }
  return 0;
}

const std::vector<Gpu>& gpu_presets() {
  static const std::vector<Gpu> presets = gpus_from_table(embedded::gpus(), "data/gpus.json");
  return presets;
}

std::vector<std::string> gpu_preset_names() {
  std::vector<std::string> names;
  for (const auto& g : gpu_presets())
    names.push_back(g.name);
  return names;
}

const Gpu& find_gpu(std::string_view name) {
  // Only the entry asked for is parsed (a run uses one GPU; start-up was a third of a short
  // simulate's time parsing the table); anything listing the presets reads the whole table, and
  // the tests check each entry read here equals the table's.
  static const std::vector<std::pair<std::string_view, std::string_view>> entries = [] {
    std::vector<std::pair<std::string_view, std::string_view>> out;
    try {
      for (const auto& [key, list] : json_member_spans(embedded::gpus(), {}, "data/gpus.json")) {
        if (key != "gpus") continue;
        for (const std::string_view entry : json_array_spans(list, "data/gpus.json: gpus")) {
          std::string_view n;
          for (const auto& [k, v] : json_member_spans(entry, {}, "data/gpus.json: gpus[]")) {
            if (k == "name" && v.size() >= 2) n = v.substr(1, v.size() - 2);
          }
          out.emplace_back(n, entry);
        }
      }
    } catch (const UserError& e) {
      throw InternalError(fmt::format("GPU table: {}", e.what()));
    }
    return out;
  }();
  static std::mutex mutex;
  static std::map<std::string, Gpu, std::less<>> parsed;
  {
    const std::lock_guard<std::mutex> lock(mutex);
    if (auto it = parsed.find(name); it != parsed.end()) return it->second;
    for (std::size_t i = 0; i < entries.size(); ++i) {
      if (entries[i].first != name) continue;
      const std::string where = fmt::format("data/gpus.json: gpus[{}]", i);
      try {
        return parsed.emplace(std::string(name), read_gpu(parse_json(entries[i].second, where), where))
            .first->second;
      } catch (const UserError& e) {
        throw InternalError(fmt::format("GPU table: {}", e.what()));
      }
    }
  }
  throw UserError(unknown_name_message("gpu", name, gpu_preset_names(), "see `apex list gpus`"));
}

}  // namespace apex
