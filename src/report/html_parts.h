// report/html_parts.h — pieces shared by the simulate and search HTML pages (internal to src/report).
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "report/svg.h"
#include "sim/metrics/result.h"

namespace apex::html {

// The whole page: the inline style, `body`, and the footer.
std::string page(const std::string& title, const std::string& body);
// A summary card: a key, a large value and a line under it.
std::string card(std::string_view key, std::string_view value, std::string_view sub);
// A chart with its caption.
std::string chart(const std::string& svg_text, std::string_view caption);
// Milliseconds for a table cell ("31.3", "11320").
std::string ms_text(double seconds);
// CDF vertices (value × scale, fraction): through a summary's min, p50, p90, p99 and max, or over
// every value of a sample.
std::vector<std::pair<double, double>> cdf_points(const Summary& s, double scale);
std::vector<std::pair<double, double>> cdf_points(std::vector<double> values, double scale);
// The unit of a latency axis: milliseconds, or seconds past 10 s. (scale from seconds, name)
std::pair<double, const char*> latency_unit(double largest_seconds);
// Where a CDF's x axis ends: 15% past the largest p99, at most the largest value.
double cdf_axis_end(const std::vector<svg::Line>& lines);
// Memory per GPU and a request's mean time (queue, first token, decode) as stacked bars, one per
// result; the kernel time breakdown of a measured run.
std::string memory_chart(const std::vector<std::string>& rows, const std::vector<const SimResult*>& results);
std::string request_time_chart(const std::vector<std::string>& rows,
                               const std::vector<const SimResult*>& results);
std::string kernel_chart(const SimResult& r);

}  // namespace apex::html
