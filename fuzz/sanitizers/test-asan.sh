#!/usr/bin/env bash
# fuzz/sanitizers/test-asan.sh — the whole ctest suite of the `debug` preset (ASan + UBSan) with
# every sanitizer report fatal. Run by `make test-asan` after the debug build.
#  - UBSan: halt_on_error, so a report fails the test that triggered it (GCC recovers by default).
#  - LeakSanitizer: on; only the MPI runtime's own leaks are suppressed (fuzz/sanitizers/lsan.supp).
#    dist.mpi_equivalence runs separately with the slow unwinder: OpenMPI's plugins are built without
#    frame pointers and unloaded at MPI_Finalize, so the fast unwinder's 2-frame stacks name no
#    library a suppression could match.
#  - python.module: the pybind11 module is built with ASan but the interpreter is not, so that test
#    runs separately with the ASan/UBSan runtimes preloaded and leak checking off (CPython keeps
#    its arenas and interned objects until exit; those are not APEX leaks).
set -uo pipefail
cd "$(dirname "$0")/../.."
build=${1:-build-debug}
jobs=${JOBS:-2}
supp=$PWD/fuzz/sanitizers/lsan.supp
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0
export LSAN_OPTIONS=suppressions=$supp:print_suppressions=0
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
rc=0
has_test() { ctest --test-dir "$build" -N -R "^$1\$" | grep -q 'Total Tests: 1'; }
ctest --test-dir "$build" -j"$jobs" --output-on-failure -E '^(python\.module|dist\.mpi_equivalence)$' || rc=1
if has_test 'dist\.mpi_equivalence'; then
  LSAN_OPTIONS=$LSAN_OPTIONS:fast_unwind_on_malloc=0 \
    ctest --test-dir "$build" --output-on-failure -R '^dist\.mpi_equivalence$' || rc=1
fi
if has_test 'python\.module'; then
  cxx=$(sed -n 's/^CMAKE_CXX_COMPILER:[A-Z]*=//p' "$build/CMakeCache.txt")
  preload="$("${cxx:-g++}" -print-file-name=libasan.so) $("${cxx:-g++}" -print-file-name=libubsan.so)"
  LD_PRELOAD="$preload" ASAN_OPTIONS=detect_leaks=0:abort_on_error=0 \
    ctest --test-dir "$build" --output-on-failure -R '^python\.module$' || rc=1
fi
if [ $rc -ne 0 ]; then echo "test-asan: failures under ASan/UBSan (see above)"; else echo "test-asan: clean"; fi
exit $rc
