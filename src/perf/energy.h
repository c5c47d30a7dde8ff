// perf/energy.h — GPU power and energy of a deployment: a cost of the work done, not a scheduling
// decision (the simulator asks it once per micro-batch).
#pragma once

#include <algorithm>

#include "hw/hardware.h"
#include "perf/cost_model.h"
#include "plan/plan.h"

namespace apex {

// The dense peak of the math the GEMMs run in (ShardedModel::math, from gemm_math_dtype), against
// which MFU is measured; GPUs without that peak fall back to bf16, then fp16.
double math_peak_flops(const Gpu& gpu, DType math);

// First-order GPU power while a stage computes: idle + (TDP − idle) × min(1, kPowerMem · memory
// utilization + kPowerCompute · compute utilization), with compute power scaled by the square of
// the clock under DVFS. The coefficients are fitted to the ML.ENERGY anchors for an H100 SXM
// (batch-1 decode ≈ 300 W, batch-128 decode ≈ 600 W; prefill at the 700 W cap): docs/energy.md.
class PowerModel {
 public:
  PowerModel(const Gpu& gpu, double peak_flops) : gpu_(gpu), peak_flops_(peak_flops) {}
  // Joules above idle of one micro-batch that did `w` in `busy_gpu_s` GPU-seconds.
  double dynamic_energy(const Work& w, double busy_gpu_s) const {
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
  // Idle power of `gpus` GPUs over `seconds`.
  double idle_energy(int gpus, double seconds) const { return gpu_.power_idle_w * gpus * seconds; }

  static constexpr double kPowerMem = 0.48;
  static constexpr double kPowerCompute = 3.0;

 private:
  const Gpu& gpu_;
  double peak_flops_;
};

}  // namespace apex
