// report/format.h — human formatting shared by the text tables and the HTML report (internal to
// src/report): numbers with three significant figures and a unit, objective values in their own
// units, word wrapping to a width, and the parts of a run's time breakdown.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "search/objectives.h"

namespace apex {

// The widest line the text tables print (a terminal of 100 columns); --wide lifts it for the
// ranked plans.
inline constexpr std::size_t kTableWidth = 100;

// `x` with three significant figures in fixed notation, never an exponent: 14613 -> "14613",
// 11.32 -> "11.3", 0.00994 -> "0.00994", 0 -> "0".
std::string sig3(double x);
// A count or rate with a k / M / G suffix past 10 000: 434.8 -> "435", 14613 -> "14.6k",
// 1385712 -> "1.39M".
std::string human_count(double x);
// A duration in the unit that reads best: 850 µs, 131 ms, 11.3 s, 12.5 min, 3.2 h.
std::string human_duration(double seconds);
// An objective value with its unit: "14.6k tok/s", "131 ms", "$0.42/Mtok", "0.21 J/tok",
// "3.20 req/s"; "n/a" when not finite (no request met the SLOs).
std::string objective_text(Objective o, double value);
// The speed-up of `value` over `baseline` for an objective (> 1: `value` is better); 0 when either
// is not a positive finite number.
double speedup_over(Objective o, double value, double baseline);

// Greedy word wrap of `text` to lines of at most `width` characters (UTF-8 aware): the first line
// starts with `first`, the others with `rest` (indentation). A word longer than a line stays whole.
// Each line ends with '\n'.
std::string wrap(std::string_view text, std::size_t width, std::string_view first, std::string_view rest);
// A shell command wrapped at its arguments with " \" continuations (still one command when pasted).
std::string wrap_command(std::string_view command, std::size_t width, std::string_view first,
                         std::string_view rest);
// Display width of UTF-8 text (code points; the tables use no wide characters).
std::size_t display_width(std::string_view s);

struct SearchReport;
// What the plan labels of a search's ranked plans stand for ("dpD-tpT-ppP: D replicas ...", then
// -epE, -dpattn and the tuned knobs when a label carries them).
std::string plan_label_legend(const SearchReport& s);

struct SimResult;
// (name, seconds) of each part of a measured time breakdown, in registry order, and their sum.
std::vector<std::pair<std::string_view, double>> breakdown_parts(const SimResult& r);
double breakdown_total(const SimResult& r);

}  // namespace apex
