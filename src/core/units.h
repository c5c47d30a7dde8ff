// core/units.h — quantities with explicit units at the file boundary, SI inside.
//
// Inside APEX every quantity is SI: seconds, bytes, bytes/s, FLOP/s, watts, hertz. Simulated time
// is integer nanoseconds (TimeNs). Text from users ("80GiB", "3.35TB/s", "5us", "989TFLOPS",
// "700W", "1980MHz") is converted here and nowhere else.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace apex {

using TimeNs = std::int64_t;

constexpr double kNsPerS = 1e9;
constexpr double kGiB = 1024.0 * 1024.0 * 1024.0;
constexpr double kMiB = 1024.0 * 1024.0;

inline TimeNs seconds_to_ns(double s) {
  return static_cast<TimeNs>(s * kNsPerS + 0.5);
}
inline double ns_to_seconds(TimeNs ns) {
  return static_cast<double>(ns) / kNsPerS;
}

enum class Dimension { Bytes, Bandwidth, Time, FlopRate, Power, Frequency };

// Parses "<number><unit>" for the given dimension. Decimal (k, M, G, T, P) and binary (Ki, Mi, Gi,
// Ti) prefixes; bytes B, bits b (bandwidth "400Gb/s" = 50e9 B/s); time s/ms/us/ns; FLOP/s as
// FLOPS/TFLOPS; W; Hz/MHz/GHz. A bare number is rejected: units are never implied.
// `where` names the source (e.g. "cluster.json: gpu.hbm_bandwidth") for the error message.
double parse_quantity(std::string_view text, Dimension dim, std::string_view where);

// Human-readable rendering ("79.1 GiB", "3.35 TB/s", "12.3 ms").
std::string format_bytes(double bytes);
std::string format_seconds(double seconds);

}  // namespace apex
