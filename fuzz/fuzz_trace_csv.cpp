// fuzz/fuzz_trace_csv.cpp — the CSV trace reader (header, fields, prefix columns, validation).
#include "fuzz_trace.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text = apex::fuzz::text_of(data, size);
  if (apex::fuzz::looks_like_jsonl(text)) return 0;  // the JSONL harness covers those
  apex::fuzz::fuzz_trace_text(text);
  return 0;
}
