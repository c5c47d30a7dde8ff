#include "perf/energy.h"

namespace apex {

double math_peak_flops(const Gpu& gpu, DType math) {
  double peak = gpu.peak_flops(math);
  if (peak <= 0) peak = gpu.peak_flops(DType::BF16);
  if (peak <= 0) peak = gpu.peak_flops(DType::FP16);
  return peak;
}

}  // namespace apex
