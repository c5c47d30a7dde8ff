// tests/cli_run.h — runs the real `apex` binary for the command-line tests: stdout, stderr and the
// exit code of one invocation, and the shape of a user error.
#pragma once

#include <gtest/gtest.h>

#include "test_util.h"

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>

namespace apex_cli_test {

inline const std::string kBinary = APEX_BINARY;
inline const std::string kData = APEX_TEST_DATA;

struct CliRun {
  int code = -1;
  std::string out;  // stdout
  std::string err;  // stderr
};

inline std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline std::string quote(const std::string& s) {
  return "'" + s + "'";
}

// Runs `apex <args>` (args are passed to /bin/sh as written) and captures stdout, stderr and the exit code.
inline CliRun apex(const std::string& args) {
  static std::atomic<int> counter{0};
  const std::string err_path = ::testing::TempDir() + "/apex_cli_stderr_" + std::to_string(::getpid()) + "_" +
                               std::to_string(counter++);
  const std::string cmd = quote(kBinary) + " " + args + " 2>" + quote(err_path);
  CliRun r;
  FILE* pipe = ::popen(cmd.c_str(), "r");
  if (pipe == nullptr) {
    ADD_FAILURE() << "popen failed for: " << cmd;
    return r;
  }
  char buf[4096];
  std::size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, pipe)) > 0)
    r.out.append(buf, n);
  const int status = ::pclose(pipe);
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
  r.err = slurp(err_path);
  std::remove(err_path.c_str());
  return r;
}

// A user error: exit code 2, nothing on stdout, exactly one line on stderr "apex: ..." holding `needle`.
inline void expect_user_error(const std::string& args, const std::string& needle,
                              const std::string& needle2 = {}) {
  SCOPED_TRACE("apex " + args);
  const CliRun r = apex(args);
  EXPECT_EQ(r.code, 2) << "stderr: " << r.err;
  EXPECT_TRUE(r.out.empty()) << "stdout: " << r.out.substr(0, 300);
  EXPECT_EQ(r.err.rfind("apex: ", 0), 0u) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << "want one line, got:\n" << r.err;
  EXPECT_EQ(r.err.find("terminate called"), std::string::npos) << r.err;
  EXPECT_CONTAINS(r.err, needle);
  if (!needle2.empty()) {
    EXPECT_CONTAINS(r.err, needle2);
  }
}

}  // namespace apex_cli_test
