#include "perf/energy.h"

#include <algorithm>

namespace apex {

double math_peak_flops(const Gpu& gpu, DType math) {
  double peak = gpu.peak_flops(math);
  if (peak <= 0) peak = gpu.peak_flops(DType::BF16);
  if (peak <= 0) peak = gpu.peak_flops(DType::FP16);
  return peak;
}

double PowerModel::dynamic_energy(const Work& w, double busy_gpu_s) const {
  if (busy_gpu_s <= 0) return 0;
  const Gpu& g = gpu_;
  // Compute power follows the work done per second times the energy per operation, which falls
  // with the square of the clock under DVFS (voltage tracks frequency): cubic at full load.
  const double u_comp =
      w.model_flops / (busy_gpu_s * peak_flops_) * g.clock_scale;  // vs the boost-clock peak
  const double u_mem = w.bytes_read / (busy_gpu_s * g.hbm_bandwidth);
  const double activity =
      std::min(1.0, kPowerMem * std::min(1.0, u_mem) +
                        kPowerCompute * std::min(1.0, u_comp) * g.clock_scale * g.clock_scale);
  return (g.power_max_w - g.power_idle_w) * activity * busy_gpu_s;
}

}  // namespace apex
