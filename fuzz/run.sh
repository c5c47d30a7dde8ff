#!/usr/bin/env bash
# fuzz/run.sh SECONDS [HARNESS...] — runs each libFuzzer harness of build-fuzz/bin for SECONDS and
# prints the executions of each. Exit 1 when any harness crashes, hangs or runs out of memory.
# FUZZ_RUNS=N (environment) instead runs each harness for N executions (SECONDS is then ignored):
# FUZZ_RUNS=10000000 fuzz/run.sh 0 is the campaign whose figures the README states.
#
# Per harness: the working corpus is build-fuzz/corpus/<h> (grows over runs, never in git), seeded
# from fuzz/corpus/<h>; the reproducers kept in fuzz/crashes/<h>/ are loaded first, so a known crash
# fails the run until its fix is merged (and then guards against a regression). New crash inputs
# are written to build-fuzz/crashes/<h>/ — copy one into fuzz/crashes/<h>/ with a descriptive name.
set -uo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-30}
shift || true
harnesses=("$@")
[ ${#harnesses[@]} -eq 0 ] && harnesses=(hf_config trace_csv trace_jsonl cluster_json length_dist rate cli)
bin=build-fuzz/bin
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:allocator_may_return_null=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

failed=()
summary=()
for h in "${harnesses[@]}"; do
  exe=$bin/fuzz_$h
  [ -x "$exe" ] || { echo "fuzz: $exe is missing (build with: make fuzz-build)"; exit 1; }
  work=build-fuzz/corpus/$h
  crashes=build-fuzz/crashes/$h
  mkdir -p "$work" "$crashes"
  dirs=("$work" "fuzz/corpus/$h")
  [ -d "fuzz/crashes/$h" ] && dirs+=("fuzz/crashes/$h")
  log=build-fuzz/fuzz_$h.log
  if [ -n "${FUZZ_RUNS:-}" ]; then
    budget=(-runs="$FUZZ_RUNS")
    echo "fuzz: $h for ${FUZZ_RUNS} executions (log $log)"
  else
    budget=(-max_total_time="$seconds")
    echo "fuzz: $h for ${seconds} s (log $log)"
  fi
  start=$(date +%s)
  # -timeout: one input taking longer is a hang; -rss_limit_mb: the process using more is a bug
  # (inputs are at most -max_len bytes, so no input may need gigabytes).
  "$exe" "${budget[@]}" -timeout=10 -rss_limit_mb=2048 -max_len=8192 \
    -print_final_stats=1 -artifact_prefix="$crashes/" "${dirs[@]}" >"$log" 2>&1
  rc=$?
  elapsed=$(($(date +%s) - start))
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1)
  if [ $rc -ne 0 ]; then
    failed+=("$h")
    summary+=("$(printf '%-13s FAILED (exit %d) after %s executions; see %s and %s/' "$h" "$rc" "${execs:-?}" "$log" "$crashes")")
    grep -m3 -E 'ERROR: |runtime error:|SUMMARY:|uncaught exception|deadly signal|==ERROR' "$log" | sed 's/^/    /'
  else
    summary+=("$(printf '%-13s ok  %12s executions in %s s' "$h" "${execs:-?}" "$elapsed")")
  fi
done
echo "fuzz summary:"
printf '  %s\n' "${summary[@]}"
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz: ${#failed[@]} harness(es) failed: ${failed[*]}"
  exit 1
fi
