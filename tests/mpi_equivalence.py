"""apex-mpi on 2 ranks must rank exactly what a single-process apex search ranks (ctest, MPI builds).

Each case compares the whole JSON answer (every metric of every ranked plan, the stats, the baseline)
except the wall time and the thread count. The shared-prefix cases also require a non-zero prefix-cache
hit rate, so a result field dropped by the MPI serialization cannot hide behind a zero.
"""
import json
import os
import subprocess
import sys

apex, apex_mpi, mpirun = sys.argv[1:4]
data = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data")
mpi_prefix = [mpirun, "--allow-run-as-root", "--oversubscribe", "-np", "2", apex_mpi]
failed = False


def flatten(value, prefix=""):
    """{"a": {"b": 1}} -> {"a.b": 1}, lists by index, so differences can be named one by one."""
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            out.update(flatten(v, f"{prefix}{k}."))
        return out
    if isinstance(value, list):
        out = {}
        for i, v in enumerate(value):
            out.update(flatten(v, f"{prefix}{i}."))
        return out
    return {prefix.rstrip("."): value}


def compare(name, args, shared_prefix):
    global failed
    args = ["search"] + args + ["--format", "json", "--threads", "1"]
    single = json.loads(subprocess.run([apex] + args, check=True, capture_output=True, text=True).stdout)
    multi = json.loads(subprocess.run(mpi_prefix + args, check=True, capture_output=True, text=True).stdout)
    for doc in (single, multi):
        doc["stats"].pop("wall_s")
        doc["stats"].pop("threads")
    if not single["plans"]:
        print(f"{name}: no ranked plans")
        failed = True
        return
    if shared_prefix:
        rates = [p["counters"]["prefix_cache_hit_rate"] for p in single["plans"]]
        if min(rates) <= 0:
            print(f"{name}: expected a prefix-cache hit rate above 0 for every plan, got {rates}")
            failed = True
    if single != multi:
        a, b = flatten(single), flatten(multi)
        diffs = [k for k in sorted(set(a) | set(b)) if a.get(k) != b.get(k)]
        print(f"{name}: apex-mpi differs from apex in {len(diffs)} value(s):")
        for k in diffs[:25]:
            print(f"  {k}: apex {a.get(k)!r}, apex-mpi {b.get(k)!r}")
        failed = True
        return
    rates = sorted({p["counters"]["prefix_cache_hit_rate"] for p in single["plans"]})
    print(f"{name}: identical, {len(single['plans'])} ranked plans, {single['stats']['simulated']} simulated, "
          f"prefix-cache hit rates {rates}")


compare("plain", ["--model", "mixtral-8x7b", "--gpu", "h100-sxm", "--rate", "6", "--num-requests", "120",
                  "--prompt-len", "lognormal:800:400", "--output-len", "lognormal:200:100", "--objective", "tpot",
                  "--top", "6"], shared_prefix=False)
compare("synthetic shared prefix",
        ["--model", "mixtral-8x7b", "--gpu", "h100-sxm", "--rate", "6", "--num-requests", "120", "--prompt-len",
         "lognormal:800:400", "--output-len", "lognormal:200:100", "--shared-prefix", "512", "--prefix-groups",
         "4", "--objective", "tpot", "--top", "6"], shared_prefix=True)
compare("shared-prefix trace",
        ["--model", "mixtral-8x7b", "--gpu", "h100-sxm", "--trace", os.path.join(data, "shared_prefix_trace.csv"),
         "--objective", "throughput", "--top", "6"], shared_prefix=True)

# A user error is reported once (by rank 0) with exit code 2.
bad = subprocess.run(mpi_prefix + ["search", "--model", "llama-3.1-70", "--gpu", "h100-sxm", "--trace", "@sample"],
                     capture_output=True, text=True)
if bad.returncode != 2 or bad.stderr.count("did you mean 'llama-3.1-70b'") != 1:
    print("bad input:", bad.returncode, bad.stderr)
    failed = True
sys.exit(1 if failed else 0)
