// hw/gpu_presets.cpp — GPU presets. Every number is cited; "UNSURE" marks third-party or recalled
// figures. Sources are summarized in ../shared/reference/gpu_specs.csv and hardware-facts.md.
//
// hbm_bytes is the capacity the CUDA driver reports (nvidia-smi "Total", what vLLM's
// gpu_memory_utilization multiplies), not the marketing GB figure.
#include <fmt/format.h>

#include "core/error.h"
#include "core/units.h"
#include "hw/hardware.h"

namespace apex {
namespace {

constexpr double T = 1e12;
constexpr double GBps = 1e9;
constexpr double MiB = 1024.0 * 1024.0;
constexpr double us = 1e-6;

Link nvlink(std::string name, double gbps) {
  return Link{std::move(name), gbps * GBps, 2 * us};
}
Link nic(std::string name, double gbit) {
  return Link{std::move(name), gbit * 1e9 / 8, 5 * us};
}

std::vector<Gpu> build() {
  std::vector<Gpu> g;
  {
    Gpu x;
    x.name = "h100-sxm";
    x.description = "NVIDIA H100 SXM5 80GB HBM3, NVLink 4";
    x.hbm_bytes = 81559 * MiB;
    x.hbm_bandwidth = 3.35e12;
    x.peak_bf16 = x.peak_fp16 = 989.4 * T;
    x.peak_fp8 = x.peak_int8 = 1978.9 * T;
    x.peak_fp32 = 67 * T;
    x.l2_bytes = 50 * MiB;
    x.boost_clock_hz = 1980e6;
    x.power_idle_w = 100;  // 68-72 W bare P0 + 26-50 W CUDA-context DVFS step (arXiv 2605.23918)
    x.power_max_w = 700;
    x.price_per_hour = 3.00;
    x.intra_node = nvlink("nvlink4", 450);
    x.inter_node = nic("ib-ndr-400", 400);
    x.calibration_key = "h100_sxm";
    x.sources =
        "nvidia.com/en-us/data-center/h100 datasheet (dense peaks, 3.35 TB/s, 700 W); NVLink4 18x25 GB/s/dir";
    g.push_back(x);
  }
  {
    Gpu x = g.back();
    x.name = "h200-sxm";
    x.description = "NVIDIA H200 SXM 141GB HBM3e, NVLink 4";
    x.hbm_bytes = 143771 * MiB;
    x.hbm_bandwidth = 4.8e12;
    x.price_per_hour = 3.80;
    x.calibration_key = "h200_sxm";
    x.sources = "nvidia.com/en-us/data-center/h200 (141 GB, 4.8 TB/s, 700 W); same GH100 die as H100";
    g.push_back(x);
  }
  {
    Gpu x;
    x.name = "b200";
    x.description = "NVIDIA B200 (HGX) 180GB HBM3e, NVLink 5";
    x.hbm_bytes = 183359 * MiB;
    x.hbm_bandwidth = 8.0e12;
    x.peak_bf16 = x.peak_fp16 = 2250 * T;
    x.peak_fp8 = x.peak_int8 = 4500 * T;
    x.peak_fp4 = 9000 * T;
    x.peak_fp32 = 75 * T;
    x.l2_bytes = 126 * MiB;
    x.boost_clock_hz = 1965e6;  // UNSURE
    x.power_idle_w = 137;       // air-cooled B200 idle (ROCm/legacy-rocm-build#5219 thread)
    x.power_max_w = 1000;
    x.price_per_hour = 5.50;
    x.intra_node = nvlink("nvlink5", 900);
    x.inter_node = nic("ib-ndr-400", 400);
    x.calibration_key = "b200_sxm";
    x.sources =
        "NVIDIA DGX B200 datasheet (2.25 PF bf16 dense, 8 TB/s; 7.7 TB/s in some NVIDIA docs), 1000 W";
    g.push_back(x);
  }
  {
    Gpu x = g.back();
    x.name = "gb200";
    x.description = "NVIDIA GB200 (per GPU, NVL72) 186GB HBM3e, 72-GPU NVLink 5 domain";
    x.hbm_bytes = 189471 * MiB;
    x.peak_bf16 = x.peak_fp16 = 2500 * T;
    x.peak_fp8 = x.peak_int8 = 5000 * T;
    x.peak_fp4 = 10000 * T;
    x.peak_fp32 = 80 * T;
    x.power_idle_w = 150;  // UNSURE
    x.power_max_w = 1200;  // UNSURE
    x.price_per_hour = 6.50;
    x.max_gpus_per_node = 72;
    x.calibration_key = "gb200";
    x.sources = "nvidia.com/en-us/data-center/gb200-nvl72 (2.5 PF bf16 dense per GPU, 8 TB/s); power UNSURE";
    g.push_back(x);
  }
  {
    Gpu x;
    x.name = "a100-sxm-80gb";
    x.description = "NVIDIA A100 SXM4 80GB HBM2e, NVLink 3";
    x.hbm_bytes = 81920 * MiB;
    x.hbm_bandwidth = 2.039e12;
    x.peak_bf16 = x.peak_fp16 = 312 * T;
    x.peak_int8 = 624 * T;
    x.peak_fp32 = 19.5 * T;
    x.l2_bytes = 40 * MiB;
    x.boost_clock_hz = 1410e6;
    x.power_idle_w = 80;  // ~55 W bare + CUDA-context step (arXiv 2605.23918); UNSURE
    x.power_max_w = 400;
    x.price_per_hour = 1.80;
    x.intra_node = nvlink("nvlink3", 300);
    x.inter_node = nic("ib-hdr-200", 200);
    x.calibration_key = "a100_sxm";
    x.sources =
        "nvidia.com/en-us/data-center/a100 (312 TF bf16 dense, 2.039 TB/s, 400 W); NVLink3 600 GB/s bidir";
    g.push_back(x);
  }
  {
    Gpu x = g.back();
    x.name = "a100-sxm-40gb";
    x.description = "NVIDIA A100 SXM4 40GB HBM2, NVLink 3";
    x.hbm_bytes = 40960 * MiB;
    x.hbm_bandwidth = 1.555e12;
    x.price_per_hour = 1.30;
    x.sources = "nvidia.com/en-us/data-center/a100 (312 TF bf16 dense, 1.555 TB/s, 400 W)";
    g.push_back(x);
  }
  {
    Gpu x;
    x.name = "l40s";
    x.description = "NVIDIA L40S 48GB GDDR6, PCIe Gen4 (no NVLink)";
    x.hbm_bytes = 46068 * MiB;
    x.hbm_bandwidth = 0.864e12;
    x.peak_bf16 = x.peak_fp16 = 362 * T;
    x.peak_fp8 = x.peak_int8 = 733 * T;
    x.peak_fp32 = 91.6 * T;
    x.l2_bytes = 96 * MiB;
    x.boost_clock_hz = 2520e6;
    x.power_idle_w = 100;  // ~35 W bare + 66 W CUDA-context step on L40S (arXiv 2605.23918); UNSURE
    x.power_max_w = 350;
    x.price_per_hour = 1.00;
    x.intra_node = Link{"pcie4", 32 * GBps, 5 * us};
    x.inter_node = nic("eth-100", 100);
    x.calibration_key = "l40s";
    x.sources = "nvidia.com/en-us/data-center/l40s (362 TF bf16 dense, 864 GB/s, 350 W)";
    g.push_back(x);
  }
  {
    Gpu x;
    x.name = "v100-pcie-16gb";
    x.description = "NVIDIA V100 PCIe 16GB HBM2 (fp16 tensor cores only, no bf16)";
    x.hbm_bytes = 16160 * MiB;
    x.hbm_bandwidth = 0.9e12;
    x.peak_fp16 = 112 * T;
    x.peak_fp32 = 14 * T;
    x.l2_bytes = 6 * MiB;
    x.boost_clock_hz = 1380e6;
    x.power_idle_w = 50;  // V100 SXM2 idle with model loaded 53-66 W (zai-org/GLM-130B#32); UNSURE for PCIe
    x.power_max_w = 250;
    x.price_per_hour = 0.50;
    x.intra_node = Link{"pcie3", 16 * GBps, 5 * us};
    x.inter_node = nic("eth-100", 100);
    x.calibration_key = "v100_pcie";
    x.sources = "NVIDIA V100 datasheet (112 TF fp16 tensor, 900 GB/s, 250 W)";
    g.push_back(x);
  }
  {
    Gpu x;
    x.name = "mi300x";
    x.description = "AMD Instinct MI300X 192GB HBM3, Infinity Fabric (xGMI)";
    x.hbm_bytes = 196592 * MiB;
    x.hbm_bandwidth = 5.3e12;
    x.peak_bf16 = x.peak_fp16 = 1307.4 * T;
    x.peak_fp8 = x.peak_int8 = 2614.9 * T;
    x.peak_fp32 = 163.4 * T;
    x.l2_bytes = 256 * MiB;  // Infinity Cache
    x.boost_clock_hz = 2100e6;
    x.power_idle_w = 150;  // UNSURE (MI355X idles at 238 W; no MI300X figure found)
    x.power_max_w = 750;
    x.price_per_hour = 2.50;
    x.intra_node = Link{"xgmi", 448 * GBps, 3 * us};  // 7 peer links × 64 GB/s/dir
    x.inter_node = nic("ib-ndr-400", 400);
    x.calibration_key = "mi300x";
    x.sources = "amd.com/en/products/accelerators/instinct/mi300/mi300x.html; ROCm gpu-specs";
    g.push_back(x);
  }
  return g;
}

}  // namespace

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
  static const std::vector<Gpu> presets = build();
  return presets;
}

std::vector<std::string> gpu_preset_names() {
  std::vector<std::string> names;
  for (const auto& g : gpu_presets())
    names.push_back(g.name);
  return names;
}

const Gpu& find_gpu(std::string_view name) {
  for (const auto& g : gpu_presets()) {
    if (g.name == name) return g;
  }
  throw UserError(unknown_name_message("gpu", name, gpu_preset_names(), "see `apex list gpus`"));
}

}  // namespace apex
