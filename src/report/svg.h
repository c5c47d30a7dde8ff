// report/svg.h — the inline SVG charts of the HTML reports (internal to src/report): axes with
// "nice" round ticks (1-2-5 steps), a scatter with its Pareto frontier and labels placed so they
// never overlap, line charts (latency CDFs), stacked and plain horizontal bars. Every chart is one
// self-contained <svg> element, well-formed XML, no scripts.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace apex::svg {

// The 1-2-5 step (1, 2 or 5 times a power of ten) that splits `range` into about `target` intervals.
double nice_step(double range, int target);

// Round ticks covering [lo, hi]: lo and hi widened to multiples of the step.
struct Ticks {
  double lo = 0, hi = 1, step = 1;
  std::vector<double> values;
};
Ticks nice_ticks(double lo, double hi, int target = 5);
// A tick's text for a given step: as many decimals as the step needs, never an exponent; k / M past
// 10 000 ("120k", "1.5M"); "0" for zero.
std::string tick_label(double v, double step);

// XML-escaped text (&, <, >, ").
std::string escape(std::string_view s);

// Which points are on the Pareto frontier: no other point is at least as good on both axes and
// better on one. `higher_x` / `higher_y`: the direction in which each axis is better.
std::vector<bool> pareto_front(const std::vector<double>& xs, const std::vector<double>& ys, bool higher_x,
                               bool higher_y);

// The categorical colour of series `i` (repeats after 8).
const char* color(std::size_t i);

struct Point {
  double x = 0, y = 0;
  std::string label;  // drawn next to frontier points (where it fits), always in the tooltip
  std::string tip;    // tooltip text after the label
  bool best = false;  // ringed
};
struct ScatterSpec {
  std::string title, x_label, y_label;  // axis labels carry the unit
  std::vector<Point> points;
  bool higher_x = true, higher_y = true;  // the better direction of each axis (for the frontier)
};
// Points, the frontier as a staircase through its points, labels on frontier points placed to avoid
// each other, the points and the plot border (a label that fits nowhere is left to the tooltip).
std::string scatter(const ScatterSpec& spec);

struct Line {
  std::string name;
  std::vector<std::pair<double, double>> points;  // (x, y), drawn in order
};
struct LineSpec {
  std::string title, x_label, y_label;
  std::vector<Line> lines;
  double x_max = 0;          // > 0: the x axis ends here (lines beyond are clipped)
  bool y_fraction = false;   // y in 0..1, ticks as percentages
  bool mark_points = false;  // a dot at every point
};
std::string line_chart(const LineSpec& spec);

struct StackSpec {
  std::string title, x_label;
  std::vector<std::string> parts;           // one colour each, with a legend
  std::vector<std::string> rows;            // one bar each
  std::vector<std::vector<double>> values;  // [row][part], >= 0
  std::vector<std::string> row_notes;       // text after each bar (may be empty)
};
std::string stacked_bars(const StackSpec& spec);

struct BarSpec {
  std::string title, x_label;
  std::vector<std::string> rows;
  std::vector<double> values;      // >= 0
  std::vector<std::string> texts;  // printed after each bar
  std::vector<bool> highlight;     // darker bars (may be empty)
  double reference = 0;            // > 0: a dashed line here (e.g. 1x for a speed-up)
  std::string reference_label;
};
std::string bars(const BarSpec& spec);

}  // namespace apex::svg
