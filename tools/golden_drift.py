"""Compares the golden scenarios' expected.json of a git revision with what an apex binary prints
now, and reports every number that moved by more than the goldens' tolerance (1e-6 relative):
its path and relative change, the largest change, and whether every moved value is a latency
percentile (p50/p90/p99 of ttft_s, tpot_s, e2e_s, queue_s) within a stated bound.

  python3 tools/golden_drift.py build/bin/apex [--rev HEAD] [--bound 5e-4]
Exit 1 when a value other than a percentile moved, or a percentile moved by more than the bound."""
import argparse
import json
import os
import re
import shlex
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCEN = os.path.join(ROOT, "tests", "scenarios")
PERCENTILE = re.compile(r"\.(ttft_s|tpot_s|e2e_s|queue_s)\.p(50|90|99)$")


def leaves(x, path, out):
    if isinstance(x, dict):
        for k, v in x.items():
            leaves(v, f"{path}.{k}", out)
    elif isinstance(x, list):
        for i, v in enumerate(x):
            leaves(v, f"{path}[{i}]", out)
    else:
        out[path] = x


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("apex")
    ap.add_argument("--rev", default="HEAD")
    ap.add_argument("--bound", type=float, default=5e-4)
    a = ap.parse_args()
    apex = os.path.abspath(a.apex)
    worst, bad, moved = 0.0, [], 0
    for name in sorted(os.listdir(SCEN)):
        folder = os.path.join(SCEN, name)
        if not os.path.isdir(folder):
            continue
        rel = os.path.relpath(os.path.join(folder, "expected.json"), ROOT)
        old = json.loads(subprocess.run(["git", "show", f"{a.rev}:{rel}"], cwd=ROOT, capture_output=True,
                                        text=True, check=True).stdout)
        with open(os.path.join(folder, "args")) as f:
            args = shlex.split(f.read())
        out = subprocess.run([apex] + args + ["--format", "json"], capture_output=True, text=True, cwd=folder)
        new = json.loads(out.stdout)
        lo, ln = {}, {}
        leaves(old, name, lo)
        leaves(new, name, ln)
        for p in sorted(lo.keys() | ln.keys()):
            if p.endswith(".wall_s"):
                continue
            e, f = lo.get(p), ln.get(p)
            if isinstance(e, (int, float)) and isinstance(f, (int, float)) and not isinstance(e, bool):
                d = abs(e - f) / max(abs(e), abs(f), 1e-12)
                if d <= 1e-6:
                    continue
                moved += 1
                if PERCENTILE.search(p) and d <= a.bound:
                    worst = max(worst, d)
                    print(f"  {p}: {e!r} -> {f!r} ({d:.2e})")
                else:
                    bad.append(f"{p}: {e!r} -> {f!r} ({d:.2e})")
            elif e != f:
                bad.append(f"{p}: {e!r} -> {f!r}")
    print(f"{moved} values moved; largest relative change of a percentile: {worst:.3e} (bound {a.bound:g})")
    for b in bad:
        print("NOT A PERCENTILE WITHIN THE BOUND: " + b)
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
