// perf/shipped_params.cpp — the fitted parameters compiled into the binary: data/calibration.json,
// packed at build time (apex_calpack, perf/params_pack.h), so a process unpacks only the GPU it
// asks for, by copying numbers.
#include <map>
#include <mutex>

#include "perf/params.h"
#include "perf/params_pack.h"

namespace apex {

namespace embedded {
std::string_view calibration_packed();
}

std::optional<OpParams> shipped_params(const std::string& calibration_key) {
  // Unpacked once per key (the planner asks once per plan and thread).
  static std::mutex mutex;
  static std::map<std::string, std::optional<OpParams>, std::less<>> unpacked;
  const std::lock_guard<std::mutex> lock(mutex);
  if (auto it = unpacked.find(calibration_key); it != unpacked.end()) return it->second;
  auto p =
      unpack_param_set(embedded::calibration_packed(), calibration_key, "embedded data/calibration.json");
  return unpacked.emplace(calibration_key, std::move(p)).first->second;
}

}  // namespace apex
