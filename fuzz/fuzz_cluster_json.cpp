// fuzz/fuzz_cluster_json.cpp — the custom cluster JSON loader (GPU keys with units, links).
#include "fuzz_common.h"
#include "hw/hardware.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace apex;
  static fuzz::ScratchFile file(".cluster.json");  // load_cluster_json only takes a path
  const std::string& path = file.write(data, size);
  fuzz::expect_user_errors([&] {
    const Cluster c = load_cluster_json(path);
    fuzz::keep(c.total_gpus());
    fuzz::keep(c.describe());
    fuzz::keep(c.gpu.peak_flops(DType::BF16));
  });
  return 0;
}
