// fuzz/fuzz_rate.cpp — the request-rate grammar ("R" requests/s or "inf") through the api's
// workload builder, and the arrivals it produces.
#include "api/api.h"
#include "fuzz_common.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace apex;
  const std::string text = fuzz::text_of(data, size);
  fuzz::expect_user_errors([&] {
    api::WorkloadInput in;
    in.rate = text;
    in.num_requests = 8;
    in.prompt_len = "16";
    in.output_len = "4";
    const api::Workload w = api::build_workload(in, /*load_all=*/true);
    APEX_ASSERT(w.trace.has_value(), "build_workload(load_all) returns a trace");
    TimeNs last = 0;
    for (const Request& r : w.trace->requests) {
      if (r.arrival < last) throw InternalError("synthetic arrivals out of order");
      last = r.arrival;
    }
  });
  return 0;
}
