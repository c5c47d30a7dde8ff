#!/usr/bin/env python3
"""bench_check.py APEX_BENCH BASELINE_JSON [--update] — runs the Google Benchmark suite and compares
each benchmark's wall time with the figure recorded in BASELINE_JSON (milliseconds). Exit 1 when
any is more than `max_ratio` (2x) slower than recorded; --update rewrites the recorded figures from
this run (do it on a quiet machine, and say which machine in the file's "machine" field)."""
import json, subprocess, sys


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    exe, path = sys.argv[1], sys.argv[2]
    update = "--update" in sys.argv[3:]
    base = json.load(open(path))
    run = subprocess.run([exe, "--benchmark_format=json", "--benchmark_repetitions=1"],
                         capture_output=True, text=True)
    if run.returncode != 0:
        sys.exit(f"bench-check: {exe} failed: {run.stderr.strip()[:400]}")
    measured = {}
    for b in json.loads(run.stdout)["benchmarks"]:
        scale = {"ns": 1e-6, "us": 1e-3, "ms": 1.0, "s": 1e3}[b.get("time_unit", "ns")]
        measured[b["name"]] = b["real_time"] * scale
    if update:
        base["ms"] = {k: float(f"{v:.6g}") for k, v in sorted(measured.items())}
        with open(path, "w") as f:
            json.dump(base, f, indent=2)
            f.write("\n")
        print(f"bench-check: recorded {len(measured)} figures in {path}")
        return
    ratio = base.get("max_ratio", 2.0)
    failed = []
    for name, ms in sorted(measured.items()):
        ref = base["ms"].get(name)
        if ref is None:
            print(f"  {name:50s} {ms:12.3f} ms   (no recorded figure)")
            continue
        verdict = "ok" if ms <= ratio * ref else f"SLOWER than {ratio:g}x"
        print(f"  {name:50s} {ms:12.3f} ms   recorded {ref:10.3f} ms  {ms / ref:5.2f}x  {verdict}")
        if ms > ratio * ref:
            failed.append(name)
    missing = sorted(set(base["ms"]) - set(measured))
    for name in missing:
        print(f"  {name:50s} not run (recorded {base['ms'][name]} ms)")
    if failed or missing:
        sys.exit(f"bench-check: {len(failed)} regression(s), {len(missing)} missing")
    print("bench-check: every benchmark within", f"{ratio:g}x of", path)


if __name__ == "__main__":
    main()
