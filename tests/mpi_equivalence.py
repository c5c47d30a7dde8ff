"""apex-mpi on 2 ranks must rank exactly what a single-process apex search ranks (ctest, MPI builds)."""
import json
import subprocess
import sys

apex, apex_mpi, mpirun = sys.argv[1:4]
args = ["search", "--model", "mixtral-8x7b", "--gpu", "h100-sxm", "--rate", "6", "--num-requests", "120",
        "--prompt-len", "lognormal:800:400", "--output-len", "lognormal:200:100", "--objective", "tpot",
        "--top", "6", "--format", "json", "--threads", "1"]
single = json.loads(subprocess.run([apex] + args, check=True, capture_output=True, text=True).stdout)
mpi = subprocess.run([mpirun, "--allow-run-as-root", "--oversubscribe", "-np", "2", apex_mpi] + args,
                     check=True, capture_output=True, text=True)
multi = json.loads(mpi.stdout)
for doc in (single, multi):
    doc["stats"].pop("wall_s")
    doc["stats"].pop("threads")
if single != multi:
    print("apex-mpi differs from apex:\n", json.dumps(single["plans"][:1])[:2000], "\n", json.dumps(multi["plans"][:1])[:2000])
    sys.exit(1)
print(f"identical: {len(single['plans'])} ranked plans, {single['stats']['simulated']} simulated")

# A user error is reported once (by rank 0) with exit code 2.
bad = subprocess.run([mpirun, "--allow-run-as-root", "--oversubscribe", "-np", "2", apex_mpi, "search", "--model",
                      "llama-3.1-70", "--gpu", "h100-sxm", "--trace", "@sample"], capture_output=True, text=True)
if bad.returncode != 2 or bad.stderr.count("did you mean 'llama-3.1-70b'") != 1:
    print("bad input:", bad.returncode, bad.stderr)
    sys.exit(1)
