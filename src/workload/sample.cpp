#include "workload/workload.h"

namespace apex {
namespace embedded {
std::string_view sample_trace();
}
Trace parse_trace_text(const std::string& text, const std::string& name);

Trace embedded_sample_trace() {
  return parse_trace_text(std::string(embedded::sample_trace()),
                          "embedded:sample_trace (APEX+ llama creation_05, first 100)");
}

}  // namespace apex
