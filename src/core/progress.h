// core/progress.h — one status line for long runs (search, validate, calibrate), written to the
// front end's stderr, never to the document. The loops count work items through a Progress; it
// redraws the line at most every `interval_s` and only once `delay_s` has passed, so a short run
// shows nothing. The counters are atomics and a redraw is taken by one thread at a time, so worker
// threads of a thread pool count directly. finish() ends the line: a terminal line is cleared; with
// `summary` a last line with the totals and the elapsed time stays.
//
//   search: 120/480 plans, 96 simulated, 24 pruned, 12.3 s elapsed, ETA 37 s
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>

namespace apex {

struct ProgressStyle {
  bool terminal = false;    // redraw one line in place ("\r", clear to the end); else a line per update
  double delay_s = 1.0;     // nothing is drawn before this much time has passed
  double interval_s = 0.2;  // at most one redraw per interval
  bool summary = false;     // finish() leaves a last line, even for a run shorter than delay_s
};

class Progress {
 public:
  using Sink = std::function<void(std::string_view)>;
  // `what` names the run ("search"), `unit` its items ("plans"). With `breakdown` the line splits
  // the items done into simulated and pruned (search); else every item counts as done.
  Progress(std::string what, std::string unit, Sink sink, ProgressStyle style, bool breakdown = false);
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;
  ~Progress();  // finish()

  void set_total(std::uint64_t n);
  void add_done(std::uint64_t n = 1);    // an item finished (or simulated, with breakdown)
  void add_pruned(std::uint64_t n = 1);  // with breakdown: an item skipped without simulating it
  // A line of its own (ending in '\n') among the redraws: the status line is cleared first and
  // redrawn at the next count.
  void note(std::string_view text);
  void finish();                             // once; later calls do nothing
  std::string line(double elapsed_s) const;  // the status text, without line control characters

 private:
  double elapsed() const;
  void tick();
  void draw(double now);

  std::string what_, unit_;
  Sink sink_;
  ProgressStyle style_;
  bool breakdown_;
  std::chrono::steady_clock::time_point start_;
  std::atomic<std::uint64_t> total_{0}, done_{0}, pruned_{0};
  std::atomic<std::int64_t> next_draw_ns_;  // elapsed ns before which no redraw happens
  std::mutex draw_mutex_;
  bool drawn_ = false;     // under draw_mutex_
  bool finished_ = false;  // under draw_mutex_
};

// A duration as a person reads it: "4.2 s", "3 min 07 s", "2 h 05 min".
std::string format_duration(double seconds);

}  // namespace apex
