#include "core/units.h"

#include <array>
#include <charconv>
#include <cmath>
#include <utility>

#include <fmt/format.h>

#include "core/error.h"
#include "core/text.h"

namespace apex {
namespace {

struct Unit {
  std::string_view name;
  double factor;
};

constexpr std::array kBytesUnits = {Unit{"B", 1},
                                    Unit{"kB", 1e3},
                                    Unit{"KB", 1e3},
                                    Unit{"MB", 1e6},
                                    Unit{"GB", 1e9},
                                    Unit{"TB", 1e12},
                                    Unit{"KiB", 1024.0},
                                    Unit{"MiB", 1024.0 * 1024},
                                    Unit{"GiB", 1024.0 * 1024 * 1024},
                                    Unit{"TiB", 1024.0 * 1024 * 1024 * 1024}};
constexpr std::array kBandwidthUnits = {Unit{"B/s", 1},        Unit{"kB/s", 1e3},    Unit{"KB/s", 1e3},
                                        Unit{"MB/s", 1e6},     Unit{"GB/s", 1e9},    Unit{"TB/s", 1e12},
                                        Unit{"GiB/s", kGiB},   Unit{"MiB/s", kMiB},  Unit{"b/s", 0.125},
                                        Unit{"kb/s", 125.0},   Unit{"Mb/s", 1.25e5}, Unit{"Gb/s", 1.25e8},
                                        Unit{"Tb/s", 1.25e11}, Unit{"Bps", 1},       Unit{"GBps", 1e9},
                                        Unit{"TBps", 1e12},    Unit{"Gbps", 1.25e8}};
constexpr std::array kTimeUnits = {Unit{"s", 1},     Unit{"ms", 1e-3}, Unit{"us", 1e-6},
                                   Unit{"ns", 1e-9}, Unit{"min", 60},  Unit{"h", 3600}};
constexpr std::array kFlopUnits = {Unit{"FLOPS", 1},      Unit{"GFLOPS", 1e9}, Unit{"TFLOPS", 1e12},
                                   Unit{"PFLOPS", 1e15},  Unit{"FLOP/s", 1},   Unit{"TFLOP/s", 1e12},
                                   Unit{"PFLOP/s", 1e15}, Unit{"TOPS", 1e12}};
constexpr std::array kPowerUnits = {Unit{"W", 1}, Unit{"kW", 1e3}};
constexpr std::array kFrequencyUnits = {Unit{"Hz", 1}, Unit{"kHz", 1e3}, Unit{"MHz", 1e6}, Unit{"GHz", 1e9}};

template <std::size_t N>
std::pair<bool, double> lookup(const std::array<Unit, N>& table, std::string_view unit) {
  for (const auto& u : table) {
    if (u.name == unit) return {true, u.factor};
  }
  return {false, 0.0};
}

template <std::size_t N>
std::string names(const std::array<Unit, N>& table) {
  std::string out;
  for (const auto& u : table) {
    if (!out.empty()) out += ", ";
    out += u.name;
  }
  return out;
}

}  // namespace

double parse_quantity(std::string_view text, Dimension dim, std::string_view where) {
  std::string_view s = text;
  while (!s.empty() && s.front() == ' ')
    s.remove_prefix(1);
  while (!s.empty() && s.back() == ' ')
    s.remove_suffix(1);
  double value = 0;
  const auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (ec != std::errc{} || !std::isfinite(value)) {
    throw UserError(fmt::format("{}: {} is not a number with a unit", where, quote_value(text)));
  }
  std::string_view unit(ptr, static_cast<std::size_t>(s.data() + s.size() - ptr));
  while (!unit.empty() && unit.front() == ' ')
    unit.remove_prefix(1);
  std::pair<bool, double> found{false, 0.0};
  std::string valid;
  switch (dim) {
    case Dimension::Bytes:
      found = lookup(kBytesUnits, unit), valid = names(kBytesUnits);
      break;
    case Dimension::Bandwidth:
      found = lookup(kBandwidthUnits, unit), valid = names(kBandwidthUnits);
      break;
    case Dimension::Time:
      found = lookup(kTimeUnits, unit), valid = names(kTimeUnits);
      break;
    case Dimension::FlopRate:
      found = lookup(kFlopUnits, unit), valid = names(kFlopUnits);
      break;
    case Dimension::Power:
      found = lookup(kPowerUnits, unit), valid = names(kPowerUnits);
      break;
    case Dimension::Frequency:
      found = lookup(kFrequencyUnits, unit), valid = names(kFrequencyUnits);
      break;
  }
  if (unit.empty()) {
    throw UserError(
        fmt::format("{}: {} has no unit; write it with one of: {}", where, quote_value(text), valid));
  }
  if (!found.first) {
    throw UserError(fmt::format("{}: unknown unit {} in {}; valid: {}", where, quote_value(unit),
                                quote_value(text), valid));
  }
  if (value < 0) throw UserError(fmt::format("{}: {} must not be negative", where, quote_value(text)));
  return value * found.second;
}

std::string format_bytes(double bytes) {
  const double a = std::fabs(bytes);
  if (a >= kGiB) return fmt::format("{:.1f} GiB", bytes / kGiB);
  if (a >= kMiB) return fmt::format("{:.1f} MiB", bytes / kMiB);
  if (a >= 1024) return fmt::format("{:.1f} KiB", bytes / 1024);
  return fmt::format("{:.0f} B", bytes);
}

std::string format_seconds(double seconds) {
  const double a = std::fabs(seconds);
  if (a >= 1.0) return fmt::format("{:.2f} s", seconds);
  if (a >= 1e-3) return fmt::format("{:.1f} ms", seconds * 1e3);
  return fmt::format("{:.1f} us", seconds * 1e6);
}

}  // namespace apex
