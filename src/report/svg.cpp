#include "report/svg.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <limits>

#include <fmt/format.h>

namespace apex::svg {

double nice_step(double range, int target) {
  if (!(range > 0) || !std::isfinite(range)) return 1;
  const double raw = range / std::max(1, target);
  const double mag = std::pow(10.0, std::floor(std::log10(raw)));
  const double f = raw / mag;
  const double nice = f < 1.5 ? 1 : f < 3 ? 2 : f < 7 ? 5 : 10;
  return nice * mag;
}

Ticks nice_ticks(double lo, double hi, int target) {
  if (!std::isfinite(lo) || !std::isfinite(hi)) lo = 0, hi = 1;
  if (hi < lo) std::swap(lo, hi);
  if (hi == lo) {  // one value: a range around it
    const double pad = lo == 0 ? 1 : std::abs(lo) * 0.1;
    lo -= pad;
    hi += pad;
    if (lo < 0 && hi - 2 * pad >= 0) lo = 0;
  }
  Ticks t;
  t.step = nice_step(hi - lo, target);
  t.lo = std::floor(lo / t.step + 1e-9) * t.step;
  t.hi = std::ceil(hi / t.step - 1e-9) * t.step;
  const auto n = static_cast<int>(std::llround((t.hi - t.lo) / t.step));
  for (int i = 0; i <= n; ++i) {
    double v = t.lo + i * t.step;
    if (std::abs(v) < t.step * 1e-9) v = 0;
    t.values.push_back(v);
  }
  return t;
}

std::string tick_label(double v, double step) {
  if (v == 0) return "0";
  // The fewest decimals that write every multiple of the step exactly (2.5 -> 1, 0.02 -> 2).
  const auto decimals = [](double s) {
    int d = 0;
    for (double m = s; d < 6 && std::abs(m - std::round(m)) > 1e-6 * m; m *= 10)
      ++d;
    return d;
  };
  const double a = std::abs(v);
  if (a >= 1e6 && step >= 1e5) return fmt::format("{:.{}f}M", v / 1e6, decimals(step / 1e6));
  if (a >= 1e4 && step >= 1e3) return fmt::format("{:.{}f}k", v / 1e3, decimals(step / 1e3));
  return fmt::format("{:.{}f}", v, decimals(step));
}

std::string escape(std::string_view s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::vector<bool> pareto_front(const std::vector<double>& xs, const std::vector<double>& ys, bool higher_x,
                               bool higher_y) {
  const std::size_t n = std::min(xs.size(), ys.size());
  const auto at_least = [](double a, double b, bool higher) { return higher ? a >= b : a <= b; };
  const auto better = [](double a, double b, bool higher) { return higher ? a > b : a < b; };
  std::vector<bool> front(n, true);
  for (std::size_t i = 0; i < n; ++i) {
    for (std::size_t j = 0; j < n && front[i]; ++j) {
      if (j == i) continue;
      const bool dominates = at_least(xs[j], xs[i], higher_x) && at_least(ys[j], ys[i], higher_y) &&
                             (better(xs[j], xs[i], higher_x) || better(ys[j], ys[i], higher_y));
      if (dominates) front[i] = false;
    }
  }
  return front;
}

const char* color(std::size_t i) {
  static constexpr const char* kColors[] = {"#4e79a7", "#f28e2b", "#59a14f", "#e15759",
                                            "#76b7b2", "#edc948", "#b07aa1", "#9c755f"};
  return kColors[i % 8];
}

namespace {

constexpr double kCharWidth = 6.8;  // px per character of 11 px sans-serif text (a safe estimate)
constexpr double kWidth = 640, kHeight = 380;
constexpr double kLeft = 70, kRight = 24, kTop = 40, kBottom = 52;

std::string open_svg(double w, double h, std::string_view title) {
  return fmt::format(
      R"(<svg xmlns="http://www.w3.org/2000/svg" width="{:.0f}" height="{:.0f}" viewBox="0 0 {:.0f} {:.0f}" )"
      R"(role="img" aria-label="{}"><text x="0" y="16" class="title">{}</text>)",
      w, h, w, h, escape(title), escape(title));
}

// A plot frame: the data range of each axis, nice ticks, and the mapping to pixels.
struct Frame {
  Ticks x, y;
  double left = kLeft, right = kWidth - kRight, top = kTop, bottom = kHeight - kBottom;
  double px(double v) const { return left + (right - left) * (v - x.lo) / (x.hi - x.lo); }
  double py(double v) const { return bottom - (bottom - top) * (v - y.lo) / (y.hi - y.lo); }
};

// [lo, hi] of the values with 4% padding, from 0 when all are positive and near it.
std::pair<double, double> padded(const std::vector<double>& v) {
  double lo = std::numeric_limits<double>::infinity(), hi = -lo;
  for (double x : v) {
    if (!std::isfinite(x)) continue;
    lo = std::min(lo, x);
    hi = std::max(hi, x);
  }
  if (!std::isfinite(lo)) return {0, 1};
  const double pad = (hi - lo) * 0.04;
  const double a = lo - pad, b = hi + pad;
  return {lo >= 0 && a < 0 ? 0 : a, b};
}

std::string axes(const Frame& f, std::string_view x_label, std::string_view y_label, bool y_percent = false) {
  std::string s;
  for (double v : f.x.values) {
    const double x = f.px(v);
    s += fmt::format(R"(<line x1="{0:.1f}" y1="{1:.1f}" x2="{0:.1f}" y2="{2:.1f}" class="grid"/>)", x, f.top,
                     f.bottom);
    s += fmt::format(R"(<text x="{:.1f}" y="{:.1f}" text-anchor="middle">{}</text>)", x, f.bottom + 16,
                     tick_label(v, f.x.step));
  }
  for (double v : f.y.values) {
    const double y = f.py(v);
    s += fmt::format(R"(<line x1="{1:.1f}" y1="{0:.1f}" x2="{2:.1f}" y2="{0:.1f}" class="grid"/>)", y, f.left,
                     f.right);
    const std::string text = y_percent ? fmt::format("{:.0f}%", v * 100) : tick_label(v, f.y.step);
    s += fmt::format(R"(<text x="{:.1f}" y="{:.1f}" text-anchor="end">{}</text>)", f.left - 6, y + 4, text);
  }
  s += fmt::format(R"(<rect x="{:.1f}" y="{:.1f}" width="{:.1f}" height="{:.1f}" class="frame"/>)", f.left,
                   f.top, f.right - f.left, f.bottom - f.top);
  s += fmt::format(R"(<text x="{:.1f}" y="{:.1f}" text-anchor="middle" class="axis">{}</text>)",
                   (f.left + f.right) / 2, f.bottom + 38, escape(x_label));
  const double cy = (f.top + f.bottom) / 2;
  s += fmt::format(
      R"svg(<text x="16" y="{0:.1f}" transform="rotate(-90 16 {0:.1f})" text-anchor="middle" class="axis">{1}</text>)svg",
      cy, escape(y_label));
  return s;
}

// Characters of UTF-8 text (its width in kCharWidth units).
std::size_t display_chars(std::string_view s) {
  return static_cast<std::size_t>(std::count_if(
      s.begin(), s.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; }));
}

struct Box {
  double x0, y0, x1, y1;
  bool overlaps(const Box& o) const { return x0 < o.x1 && o.x0 < x1 && y0 < o.y1 && o.y0 < y1; }
};

}  // namespace

std::string scatter(const ScatterSpec& spec) {
  std::vector<double> xs, ys;
  for (const Point& p : spec.points) {
    xs.push_back(p.x);
    ys.push_back(p.y);
  }
  Frame f;
  const auto [x0, x1] = padded(xs);
  const auto [y0, y1] = padded(ys);
  f.x = nice_ticks(x0, x1, 6);
  f.y = nice_ticks(y0, y1, 5);
  std::string s = open_svg(kWidth, kHeight, spec.title);
  s += axes(f, spec.x_label, spec.y_label);
  const std::vector<bool> front = pareto_front(xs, ys, spec.higher_x, spec.higher_y);
  // The frontier as a staircase: sorted by x, each step holds the better y until the next point.
  std::vector<std::size_t> on;
  for (std::size_t i = 0; i < front.size(); ++i) {
    if (front[i]) on.push_back(i);
  }
  std::sort(on.begin(), on.end(), [&](std::size_t a, std::size_t b) { return xs[a] < xs[b]; });
  if (on.size() > 1) {
    std::string path;
    for (std::size_t k = 0; k < on.size(); ++k) {
      const double x = f.px(xs[on[k]]), y = f.py(ys[on[k]]);
      if (k == 0) {
        path += fmt::format("M{:.1f},{:.1f}", x, y);
      } else if (spec.higher_x) {
        // Between two frontier points the best y reachable is the next point's (further right).
        path += fmt::format(" V{:.1f} H{:.1f}", y, x);
      } else {
        // ... or the previous point's, when lower x is better.
        path += fmt::format(" H{:.1f} V{:.1f}", x, y);
      }
    }
    s += fmt::format(R"(<path d="{}" class="front"/>)", path);
  }
  // Points: dominated ones light, frontier ones dark, the best ringed.
  std::vector<Box> taken;
  for (std::size_t i = 0; i < spec.points.size(); ++i) {
    const double x = f.px(xs[i]), y = f.py(ys[i]);
    taken.push_back({x - 5, y - 5, x + 5, y + 5});
    const Point& p = spec.points[i];
    s += fmt::format(R"(<circle cx="{:.1f}" cy="{:.1f}" r="{}" class="{}"><title>{}{}{}</title></circle>)", x,
                     y, front[i] ? 5 : 4, front[i] ? "pt-front" : "pt", escape(p.label),
                     p.tip.empty() ? "" : ": ", escape(p.tip));
    if (p.best) s += fmt::format(R"(<circle cx="{:.1f}" cy="{:.1f}" r="9" class="ring"/>)", x, y);
  }
  // Labels of frontier points, best first, at the first free place around the point.
  std::vector<std::size_t> order = on;  // and the best plan, on the frontier or not
  for (std::size_t i = 0; i < spec.points.size(); ++i) {
    if (spec.points[i].best && !front[i]) order.push_back(i);
  }
  std::stable_sort(order.begin(), order.end(),
                   [&](std::size_t a, std::size_t b) { return spec.points[a].best && !spec.points[b].best; });
  const Box plot{f.left, f.top, f.right, f.bottom};
  for (std::size_t i : order) {
    const double x = f.px(xs[i]), y = f.py(ys[i]);
    const double w = kCharWidth * static_cast<double>(display_chars(spec.points[i].label)), h = 12;
    struct Place {
      double dx, dy;
      const char* anchor;
    };
    static constexpr Place kPlaces[] = {{9, -7, "start"}, {9, 13, "start"},   {-9, -7, "end"},
                                        {-9, 13, "end"},  {0, -12, "middle"}, {0, 20, "middle"},
                                        {9, 3, "start"},  {-9, 3, "end"}};
    for (const Place& pl : kPlaces) {
      const double tx = x + pl.dx;
      const double bx0 = pl.anchor[0] == 's' ? tx : pl.anchor[0] == 'e' ? tx - w : tx - w / 2;
      const Box b{bx0, y + pl.dy - h + 2, bx0 + w, y + pl.dy + 2};
      if (b.x0 < plot.x0 || b.x1 > plot.x1 || b.y0 < plot.y0 || b.y1 > plot.y1) continue;
      if (std::any_of(taken.begin(), taken.end(), [&](const Box& o) { return b.overlaps(o); })) continue;
      taken.push_back(b);
      s += fmt::format(R"(<text x="{:.1f}" y="{:.1f}" text-anchor="{}" class="lbl">{}</text>)", tx, y + pl.dy,
                       pl.anchor, escape(spec.points[i].label));
      break;
    }
  }
  return s + "</svg>";
}

std::string line_chart(const LineSpec& spec) {
  std::vector<double> xs, ys;
  for (const Line& l : spec.lines) {
    for (const auto& [x, y] : l.points) {
      xs.push_back(x);
      ys.push_back(y);
    }
  }
  if (spec.x_max > 0) xs.push_back(spec.x_max);
  Frame f;
  const double legend_rows = std::ceil(static_cast<double>(spec.lines.size()) / 3.0);
  const double height = kHeight + 12 + 18 * legend_rows;
  f.bottom = kHeight - kBottom;
  double xlo = std::numeric_limits<double>::infinity(), xhi = 0;
  for (double x : xs) {
    if (!std::isfinite(x)) continue;
    xhi = std::max(xhi, x);
    xlo = std::min(xlo, x);
  }
  if (spec.x_max > 0) xhi = spec.x_max;
  // From zero unless the values sit far from it (TPOTs of 8-10 ms).
  xlo = std::isfinite(xlo) && xlo > 0.4 * xhi ? xlo - 0.05 * (xhi - xlo) : 0;
  f.x = nice_ticks(xlo, xhi, 6);
  const auto [y0, y1] = padded(ys);
  f.y = spec.y_fraction ? nice_ticks(0, 1, 5) : nice_ticks(y0, y1, 5);
  std::string s = open_svg(kWidth, height, spec.title);
  s += axes(f, spec.x_label, spec.y_label, spec.y_fraction);
  // The clip of this chart, named after its title (unique on a page; deterministic).
  std::string id = "clip";
  for (char c : spec.title) {
    if (std::isalnum(static_cast<unsigned char>(c))) id += c;
  }
  s += fmt::format(
      R"(<clipPath id="{}"><rect x="{:.1f}" y="{:.1f}" width="{:.1f}" height="{:.1f}"/></clipPath>)", id,
      f.left, f.top - 2, f.right - f.left, f.bottom - f.top + 4);
  s += fmt::format(R"svg(<g clip-path="url(#{})">)svg", id);
  for (std::size_t i = 0; i < spec.lines.size(); ++i) {
    std::string pts;
    for (const auto& [x, y] : spec.lines[i].points)
      pts += fmt::format("{}{:.1f},{:.1f}", pts.empty() ? "" : " ", f.px(x), f.py(y));
    s += fmt::format(
        R"(<polyline points="{}" fill="none" stroke="{}" stroke-width="2"><title>{}</title></polyline>)", pts,
        color(i), escape(spec.lines[i].name));
    if (spec.mark_points) {
      for (const auto& [x, y] : spec.lines[i].points)
        s +=
            fmt::format(R"(<circle cx="{:.1f}" cy="{:.1f}" r="2.5" fill="{}"/>)", f.px(x), f.py(y), color(i));
    }
  }
  s += "</g>";
  for (std::size_t i = 0; i < spec.lines.size(); ++i) {
    const double lx = f.left + 200.0 * static_cast<double>(i % 3);
    const double ly = kHeight + 8 + 18 * std::floor(static_cast<double>(i) / 3.0);
    s +=
        fmt::format(R"(<rect x="{:.1f}" y="{:.1f}" width="14" height="4" fill="{}"/>)", lx, ly - 5, color(i));
    s += fmt::format(R"(<text x="{:.1f}" y="{:.1f}">{}</text>)", lx + 19, ly, escape(spec.lines[i].name));
  }
  return s + "</svg>";
}

namespace {

// The left margin that holds the longest row label.
double label_margin(const std::vector<std::string>& rows) {
  std::size_t n = 4;
  for (const auto& r : rows)
    n = std::max(n, display_chars(r));
  return std::min(300.0, 14 + kCharWidth * static_cast<double>(n));
}

}  // namespace

namespace {
// The value axis of a horizontal bar chart: grid lines and round ticks from `top` to `bottom`, and
// the axis label centred at `mid`.
template <class Px>
std::string bar_axis(const Ticks& t, const Px& px, double top, double bottom, double mid,
                     const std::string& label) {
  std::string s;
  for (double v : t.values) {
    s += fmt::format(R"(<line x1="{0:.1f}" y1="{1:.1f}" x2="{0:.1f}" y2="{2:.1f}" class="grid"/>)", px(v),
                     top - 4, bottom);
    s += fmt::format(R"(<text x="{:.1f}" y="{:.1f}" text-anchor="middle">{}</text>)", px(v), bottom + 14,
                     tick_label(v, t.step));
  }
  return s + fmt::format(R"(<text x="{:.1f}" y="{:.1f}" text-anchor="middle" class="axis">{}</text>)", mid,
                         bottom + 34, escape(label));
}
}  // namespace

std::string stacked_bars(const StackSpec& spec) {
  const double bar = 18, gap = 8;
  const double left = label_margin(spec.rows), right = kWidth - 96;
  // The legend under the title, wrapped to the chart's width.
  std::string legend;
  double lx = 0, ly = 36;
  for (std::size_t k = 0; k < spec.parts.size(); ++k) {
    const double w = 30 + kCharWidth * static_cast<double>(display_chars(spec.parts[k]));
    if (lx > 0 && lx + w > kWidth) {
      lx = 0;
      ly += 17;
    }
    legend += fmt::format(R"(<rect x="{:.1f}" y="{:.1f}" width="11" height="11" fill="{}"/>)", lx, ly - 10,
                          color(k));
    legend += fmt::format(R"(<text x="{:.1f}" y="{:.1f}">{}</text>)", lx + 15, ly, escape(spec.parts[k]));
    lx += w;
  }
  const double top = ly + 22;
  const double height = top + static_cast<double>(spec.rows.size()) * (bar + gap) + 44;
  double vmax = 0;
  for (const auto& row : spec.values) {
    double sum = 0;
    for (double v : row)
      sum += std::max(0.0, v);
    vmax = std::max(vmax, sum);
  }
  const Ticks t = nice_ticks(0, vmax > 0 ? vmax : 1, 5);
  const auto px = [&](double v) { return left + (right - left) * v / t.hi; };
  std::string s = open_svg(kWidth, height, spec.title) + legend;
  const double bottom = top + static_cast<double>(spec.rows.size()) * (bar + gap);
  s += bar_axis(t, px, top, bottom, (left + right) / 2, spec.x_label);
  for (std::size_t r = 0; r < spec.rows.size(); ++r) {
    const double y = top + static_cast<double>(r) * (bar + gap);
    s += fmt::format(R"(<text x="{:.1f}" y="{:.1f}" text-anchor="end">{}</text>)", left - 6, y + bar - 5,
                     escape(spec.rows[r]));
    double x = 0;
    for (std::size_t k = 0; k < spec.parts.size() && k < spec.values[r].size(); ++k) {
      const double v = std::max(0.0, spec.values[r][k]);
      if (v <= 0) continue;
      s += fmt::format(
          R"(<rect x="{:.1f}" y="{:.1f}" width="{:.1f}" height="{}" fill="{}"><title>{}: {}</title></rect>)",
          px(x), y, std::max(0.5, px(x + v) - px(x)), bar, color(k), escape(spec.rows[r]),
          escape(spec.parts[k]));
      x += v;
    }
    if (r < spec.row_notes.size() && !spec.row_notes[r].empty()) {
      s += fmt::format(R"(<text x="{:.1f}" y="{:.1f}">{}</text>)", px(x) + 5, y + bar - 5,
                       escape(spec.row_notes[r]));
    }
  }
  return s + "</svg>";
}

std::string bars(const BarSpec& spec) {
  const double bar = 18, gap = 8, top = 46;  // room for the reference line's label
  const double left = label_margin(spec.rows), right = kWidth - 90;
  const double bottom = top + static_cast<double>(spec.rows.size()) * (bar + gap);
  const double height = bottom + 44;
  double vmax = spec.reference;
  for (double v : spec.values)
    vmax = std::max(vmax, std::isfinite(v) ? v : 0);
  const Ticks t = nice_ticks(0, vmax > 0 ? vmax : 1, 5);
  const auto px = [&](double v) { return left + (right - left) * v / t.hi; };
  std::string s = open_svg(kWidth, height, spec.title);
  s += bar_axis(t, px, top, bottom, (left + right) / 2, spec.x_label);
  for (std::size_t r = 0; r < spec.rows.size(); ++r) {
    const double y = top + static_cast<double>(r) * (bar + gap);
    const double v = std::isfinite(spec.values[r]) ? std::max(0.0, spec.values[r]) : 0;
    const bool dark = r < spec.highlight.size() && spec.highlight[r];
    s += fmt::format(R"(<text x="{:.1f}" y="{:.1f}" text-anchor="end">{}</text>)", left - 6, y + bar - 5,
                     escape(spec.rows[r]));
    s += fmt::format(R"(<rect x="{:.1f}" y="{:.1f}" width="{:.1f}" height="{}" fill="{}"/>)", left, y,
                     std::max(0.5, px(v) - left), bar, dark ? color(0) : "#a5bdd8");
    if (r < spec.texts.size()) {
      s += fmt::format(R"(<text x="{:.1f}" y="{:.1f}">{}</text>)", px(v) + 5, y + bar - 5,
                       escape(spec.texts[r]));
    }
  }
  if (spec.reference > 0) {
    const double x = px(spec.reference);
    s += fmt::format(R"(<line x1="{0:.1f}" y1="{1:.1f}" x2="{0:.1f}" y2="{2:.1f}" class="ref"/>)", x, top - 6,
                     bottom);
    s += fmt::format(R"(<text x="{:.1f}" y="{:.1f}" text-anchor="middle" class="ref-t">{}</text>)", x,
                     top - 10, escape(spec.reference_label));
  }
  return s + "</svg>";
}

}  // namespace apex::svg
