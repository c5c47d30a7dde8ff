// tests/test_util.h — helpers shared by the test suites.
#pragma once

#include <gtest/gtest.h>

#include <cstdio>
#include <exception>
#include <string>

#include "core/error.h"

namespace apex::testing {

// The message of the UserError `fn` throws; a test failure if it throws something else or nothing.
template <typename Fn>
std::string user_error_of(Fn&& fn) {
  try {
    fn();
  } catch (const UserError& e) {
    return e.what();
  } catch (const std::exception& e) {
    ADD_FAILURE() << "expected UserError, got another exception: " << e.what();
    return {};
  }
  ADD_FAILURE() << "expected UserError, nothing was thrown";
  return {};
}

// Writes `text` to a file named `name` in the test temporary folder and returns its path.
inline std::string write_temp_file(const std::string& name, const std::string& text) {
  const std::string path = ::testing::TempDir() + "/" + name;
  std::FILE* f = std::fopen(path.c_str(), "w");
  EXPECT_NE(f, nullptr);
  if (f == nullptr) return path;
  std::fputs(text.c_str(), f);
  std::fclose(f);
  return path;
}

inline ::testing::AssertionResult Contains(const std::string& haystack, const std::string& needle) {
  if (haystack.find(needle) != std::string::npos) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "expected to find \"" << needle << "\" in:\n  " << haystack;
}

}  // namespace apex::testing

#define EXPECT_CONTAINS(haystack, needle) EXPECT_TRUE(::apex::testing::Contains(haystack, needle))
