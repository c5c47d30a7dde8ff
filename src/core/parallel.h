// core/parallel.h — a small fork-join loop over indices on std::jthread workers.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

namespace apex {

// Calls f(i) for every i in [0, n) on up to `threads` workers; the first exception thrown by any
// call is rethrown after all workers stop. Results must be written to per-index slots so that
// the outcome does not depend on scheduling.
template <class F>
void parallel_for(std::size_t n, int threads, F&& f) {
  if (n == 0) return;
  const int workers = std::max(1, std::min<int>(threads, static_cast<int>(n)));
  if (workers == 1) {
    for (std::size_t i = 0; i < n; ++i)
      f(i);
    return;
  }
  std::atomic<std::size_t> next{0};
  std::exception_ptr error;
  std::size_t error_index = n;  // the lowest failing index wins, whatever the timing
  std::mutex error_mutex;
  {
    std::vector<std::jthread> pool;
    for (int w = 0; w < workers; ++w) {
      pool.emplace_back([&] {
        for (std::size_t i = next++; i < n; i = next++) {
          try {
            f(i);
          } catch (...) {
            std::lock_guard lock(error_mutex);
            if (i < error_index) {
              error_index = i;
              error = std::current_exception();
            }
          }
        }
      });
    }
  }
  if (error) std::rethrow_exception(error);
}

inline int default_threads() {
  return std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
}

}  // namespace apex
