// hw/hardware.h — GPUs, links and clusters. SI units throughout (bytes, B/s, FLOP/s, W, s).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/dtype.h"

namespace apex {

struct Link {
  std::string name;      // "nvlink4", "ib-ndr-400", "pcie4"
  double bandwidth = 0;  // bytes/s per GPU per direction
  double latency = 0;    // seconds, one hop
  // Scale-up links only: every GPU pair of a node has a direct NVLink / NVSwitch / xGMI path (what
  // vLLM's is_fully_connected reports); false for GPUs whose peers talk over PCIe.
  bool fully_connected = false;
  bool operator==(const Link&) const = default;
};

inline constexpr double kMaxPricePerHour = 1000;  // USD per GPU-hour: the most a price may be

struct Gpu {
  std::string name;          // preset key, e.g. "h100-sxm"
  std::string description;   // "NVIDIA H100 SXM5 80GB"
  double hbm_bytes = 0;      // capacity the driver reports
  double hbm_bandwidth = 0;  // bytes/s
  // Dense tensor-core peaks (FLOP/s or OP/s); 0 = not supported by this GPU.
  double peak_bf16 = 0, peak_fp16 = 0, peak_fp8 = 0, peak_int8 = 0, peak_fp4 = 0, peak_fp32 = 0;
  double l2_bytes = 0;
  double boost_clock_hz = 0;
  double power_idle_w = 0;    // engine loaded, GPU idle
  double power_max_w = 0;     // board power limit (TDP)
  double price_per_hour = 0;  // USD, on-demand list price (illustrative, overridable; <= kMaxPricePerHour)
  Link intra_node;            // scale-up link of one GPU (NVLink / xGMI / PCIe)
  Link inter_node;            // default scale-out NIC per GPU
  int max_gpus_per_node = 8;  // largest scale-up domain
  double compute_capability = 0;  // CUDA compute capability (9.0 = Hopper); 0 = not a CUDA GPU or unknown
  double host_bandwidth = 0;      // GPU <-> host CPU memory, bytes/s per direction (PCIe, NVLink-C2C)
  std::string calibration_key;    // folder name of the fitted parameters ("h100_sxm")
  std::string sources;
  double clock_scale = 1.0;  // sustained SM clock / boost clock (DVFS); tensor peaks already scaled

  // Peak for GEMMs whose inputs are `compute` (activations) — W4A16 computes in bf16.
  double peak_flops(DType compute) const;
  bool supports(DType compute) const { return peak_flops(compute) > 0; }
  bool operator==(const Gpu&) const = default;
};

struct Cluster {
  Gpu gpu;
  int nodes = 1;
  int gpus_per_node = 8;
  Link intra_node;
  Link inter_node;

  // nodes × gpus_per_node; make_cluster and load_cluster_json keep it within kMaxClusterGpus.
  int total_gpus() const;
  std::string describe() const;
};

// The largest cluster APEX plans or simulates: 65,536 GPUs, far above any real deployment; it keeps
// an absurd input from overflowing GPU counts or exhausting memory. make_cluster and
// load_cluster_json enforce it.
inline constexpr long long kMaxClusterGpus = 65536;

// The presets: data/gpus.json, embedded in the binary.
const std::vector<Gpu>& gpu_presets();
std::vector<std::string> gpu_preset_names();
// UserError with did-you-mean on an unknown name.
const Gpu& find_gpu(std::string_view name);
// Reads a GPU table in the format of data/gpus.json (every number {value, source}, units in the key
// names). InternalError naming the GPU and the key when an entry is missing or malformed: the table
// ships with APEX, so a defect in it is a programming error.
std::vector<Gpu> gpus_from_table(std::string_view json_text, std::string_view where);

// A preset cluster: `nodes` × `gpus_per_node` of a preset GPU with its default links.
Cluster make_cluster(std::string_view gpu_name, int nodes, int gpus_per_node);
// A custom cluster from JSON (units explicit, see docs/cluster-format.md).
Cluster load_cluster_json(const std::string& path);

// DVFS: runs the GPU at `hz` (SM clock) instead of its boost clock. Tensor-core peaks scale with
// the clock; HBM bandwidth and links do not. UserError outside [20%, 100%] of the boost clock.
void set_gpu_frequency(Gpu& gpu, double hz);

}  // namespace apex
