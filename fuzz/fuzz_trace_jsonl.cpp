// fuzz/fuzz_trace_jsonl.cpp — the JSONL trace reader (one object per line, ns offsets).
#include "fuzz_trace.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text = apex::fuzz::text_of(data, size);
  if (!apex::fuzz::looks_like_jsonl(text)) return 0;  // the CSV harness covers those
  apex::fuzz::fuzz_trace_text(text);
  return 0;
}
