// fuzz/fuzz_trace.h — shared body of the CSV and JSONL trace harnesses.
#pragma once

#include <string>

#include "fuzz_common.h"
#include "workload/workload.h"

namespace apex {
// The text entry point of the trace readers (src/workload/trace_io.cpp; the embedded sample uses it).
Trace parse_trace_text(const std::string& text, const std::string& name);
}  // namespace apex

namespace apex::fuzz {

// The readers pick the format from the first non-blank character ('{' = JSONL).
inline bool looks_like_jsonl(const std::string& text) {
  const auto first = text.find_first_not_of(" \t\r\n\v\f");
  return first != std::string::npos && text[first] == '{';
}

inline void fuzz_trace_text(const std::string& text) {
  expect_user_errors([&] {
    const Trace t = parse_trace_text(text, "fuzz/trace");
    if (t.requests.empty()) return;
    keep(t.max_prompt());
    keep(t.max_total());
    keep(t.mean_prompt());
    keep(t.mean_output());
    keep(t.span_seconds());
  });
}

}  // namespace apex::fuzz
