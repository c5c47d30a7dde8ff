// core/progress.cpp — the rate-limited status line of long runs.
#include "core/progress.h"

#include <cmath>
#include <utility>

#include <fmt/format.h>

namespace apex {

std::string format_duration(double seconds) {
  if (!(seconds >= 0) || !std::isfinite(seconds)) return "?";
  if (seconds < 60) return fmt::format("{:.1f} s", seconds);
  const auto s = static_cast<std::int64_t>(std::llround(seconds));
  if (s < 3600) return fmt::format("{} min {:02} s", s / 60, s % 60);
  return fmt::format("{} h {:02} min", s / 3600, (s % 3600) / 60);
}

Progress::Progress(std::string what, std::string unit, Sink sink, ProgressStyle style, bool breakdown)
    : what_(std::move(what)),
      unit_(std::move(unit)),
      sink_(std::move(sink)),
      style_(style),
      breakdown_(breakdown),
      start_(std::chrono::steady_clock::now()),
      next_draw_ns_(static_cast<std::int64_t>(style.delay_s * 1e9)) {}

Progress::~Progress() {
  finish();
}

double Progress::elapsed() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
}

void Progress::set_total(std::uint64_t n) {
  total_.store(n, std::memory_order_relaxed);
  tick();
}

void Progress::add_done(std::uint64_t n) {
  done_.fetch_add(n, std::memory_order_relaxed);
  tick();
}

void Progress::add_pruned(std::uint64_t n) {
  pruned_.fetch_add(n, std::memory_order_relaxed);
  tick();
}

std::string Progress::line(double elapsed_s) const {
  const std::uint64_t done = done_.load(std::memory_order_relaxed);
  const std::uint64_t pruned = pruned_.load(std::memory_order_relaxed);
  const std::uint64_t total = total_.load(std::memory_order_relaxed);
  const std::uint64_t finished = done + pruned;
  if (total == 0) return fmt::format("{}: preparing, {} elapsed", what_, format_duration(elapsed_s));
  std::string out = fmt::format("{}: {}/{} {}", what_, finished, total, unit_);
  if (breakdown_) out += fmt::format(", {} simulated, {} pruned", done, pruned);
  out += fmt::format(", {} elapsed", format_duration(elapsed_s));
  if (finished > 0 && finished < total) {
    const double eta = elapsed_s * static_cast<double>(total - finished) / static_cast<double>(finished);
    out += fmt::format(", ETA {}", format_duration(eta));
  }
  return out;
}

void Progress::tick() {
  if (!sink_) return;
  const double now = elapsed();
  const auto now_ns = static_cast<std::int64_t>(now * 1e9);
  if (now_ns < next_draw_ns_.load(std::memory_order_relaxed)) return;  // the common, lock-free case
  std::unique_lock lock(draw_mutex_, std::try_to_lock);
  if (!lock.owns_lock() || finished_) return;  // another thread is drawing
  if (now_ns < next_draw_ns_.load(std::memory_order_relaxed)) return;
  next_draw_ns_.store(now_ns + static_cast<std::int64_t>(style_.interval_s * 1e9), std::memory_order_relaxed);
  draw(now);
}

void Progress::draw(double now) {
  // "\r" + clear to the end of the line redraws in place; a log gets one line per update.
  std::string text = style_.terminal ? std::string("\r") : std::string();
  text += line(now);
  text += style_.terminal ? "\x1b[K" : "\n";
  sink_(text);
  drawn_ = true;
}

void Progress::note(std::string_view text) {
  if (!sink_) return;
  std::lock_guard lock(draw_mutex_);
  if (style_.terminal && drawn_) sink_("\r\x1b[K");
  sink_(text);
  if (style_.terminal && drawn_) {
    drawn_ = false;
    next_draw_ns_.store(0, std::memory_order_relaxed);  // redraw at the next count
  }
}

void Progress::finish() {
  if (!sink_) return;
  std::lock_guard lock(draw_mutex_);
  if (finished_) return;
  finished_ = true;
  if (style_.terminal && drawn_) sink_("\r\x1b[K");
  if (style_.summary) {
    std::string text = line(elapsed());
    text += '\n';
    sink_(text);
  }
}

}  // namespace apex
