// fuzz/fuzz_length_dist.cpp — the token-length grammar ("512", "uniform:LO:HI", "normal:M:S",
// "lognormal:M:S") and what the synthetic source samples from a parsed distribution.
#include "fuzz_common.h"
#include "workload/workload.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace apex;
  const std::string text = fuzz::text_of(data, size);
  fuzz::expect_user_errors([&] {
    const LengthDist d = LengthDist::parse(text, "--prompt-len");
    fuzz::keep(d.mean());
    fuzz::keep(d.max_value());
    SyntheticSpec s;
    s.rate = 10;
    s.num_requests = 8;
    s.prompt = d;
    s.output = d;
    s.seed = size;
    auto src = synthetic_source(s);
    Request r;
    while (src->next(r)) {
      if (r.prompt < 1 || r.output < 1) throw InternalError("synthetic length below 1 token");
    }
  });
  return 0;
}
