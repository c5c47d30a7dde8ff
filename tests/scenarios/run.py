"""Golden scenarios: each folder holds `args` (an apex command line) and `expected.json` (its JSON
output). The test reruns every scenario and compares field by field: numbers within a relative
tolerance of 1e-6, everything else exactly, and reports missing or extra keys. Refresh the goldens
with `python3 tests/scenarios/run.py build/bin/apex --update` and review the diff."""
import json
import os
import shlex
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
TOLERANCE = 1e-6
# Keys whose values depend on the machine, not on the inputs (search wall time).
IGNORED = {"wall_s"}


def compare(expected, actual, path, problems):
    if isinstance(expected, dict) and isinstance(actual, dict):
        for key in expected.keys() - actual.keys():
            problems.append(f"{path}.{key}: missing")
        for key in actual.keys() - expected.keys():
            problems.append(f"{path}.{key}: extra")
        for key in (expected.keys() & actual.keys()) - IGNORED:
            compare(expected[key], actual[key], f"{path}.{key}", problems)
    elif isinstance(expected, list) and isinstance(actual, list):
        if len(expected) != len(actual):
            problems.append(f"{path}: {len(expected)} items expected, {len(actual)} found")
        for i, (e, a) in enumerate(zip(expected, actual)):
            compare(e, a, f"{path}[{i}]", problems)
    elif isinstance(expected, (int, float)) and isinstance(actual, (int, float)) and not isinstance(expected, bool):
        scale = max(abs(expected), abs(actual), 1e-12)
        if abs(expected - actual) / scale > TOLERANCE:
            problems.append(f"{path}: expected {expected!r}, found {actual!r}")
    elif expected != actual:
        problems.append(f"{path}: expected {expected!r}, found {actual!r}")


def main():
    apex = os.path.abspath(sys.argv[1])
    update = "--update" in sys.argv[2:]
    failures = 0
    for name in sorted(os.listdir(HERE)):
        folder = os.path.join(HERE, name)
        if not os.path.isdir(folder):
            continue
        with open(os.path.join(folder, "args")) as f:
            args = shlex.split(f.read())
        out = subprocess.run([apex] + args + ["--format", "json"], capture_output=True, text=True, cwd=folder)
        if out.returncode != 0:
            print(f"{name}: apex exited {out.returncode}: {out.stderr.strip()}")
            failures += 1
            continue
        actual = json.loads(out.stdout)
        golden = os.path.join(folder, "expected.json")
        if update or not os.path.exists(golden):
            with open(golden, "w") as f:
                json.dump(actual, f, indent=1, sort_keys=True)
                f.write("\n")
            print(f"{name}: golden written")
            continue
        with open(golden) as f:
            expected = json.load(f)
        problems = []
        compare(expected, actual, name, problems)
        if problems:
            failures += 1
            print(f"{name}: {len(problems)} differences")
            for p in problems[:20]:
                print("  " + p)
        else:
            print(f"{name}: ok")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
