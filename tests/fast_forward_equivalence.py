"""Fast-forward equivalence: every golden scenario (tests/scenarios/*/args) and a randomized set of
synthetic workloads run twice, with the default fast-forward of steady decode stretches and with
--no-fast-forward (every step through the event queue), must print the same JSON byte for byte
(the search's wall time excepted). Also checks that the randomized set exercised what it should
(preemptions, prefix hits, several engines). Usage: fast_forward_equivalence.py path/to/apex"""
import json
import os
import random
import re
import shlex
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
SCENARIOS = os.path.join(HERE, "scenarios")
WALL = re.compile(rb'"wall_s": [-+0-9.eE]+')


def run(apex, args, cwd):
    out = subprocess.run([apex] + args + ["--format", "json"], capture_output=True, cwd=cwd)
    return out.returncode, WALL.sub(b'"wall_s": 0', out.stdout), out.stderr


def compare(apex, name, args, cwd, problems):
    rc_ff, ff, err_ff = run(apex, args, cwd)
    rc_ref, ref, err_ref = run(apex, args + ["--no-fast-forward"], cwd)
    if rc_ff != rc_ref or ff != ref or err_ff != err_ref:
        problems.append(f"{name}: fast-forward differs from step by step (exit {rc_ff} vs {rc_ref}): "
                        f"{shlex.join(args)}")
        return None
    if rc_ff != 0:  # an expected rejection is fine as long as both agree; note it
        return None
    return json.loads(ff)


def synthetic_cases(count):
    rng = random.Random(20240612)
    engines = ["vllm", "vllm-0.6", "sglang", "trtllm", "vllm-0.11"]
    cases = []
    for i in range(count):
        engine = engines[i % len(engines)]
        model, gpu = rng.choice([("llama-3.1-8b", "l40s"), ("llama-3.1-8b", "a100-sxm-40gb"),
                                 ("qwen2.5-7b", "h100-sxm"), ("gemma-2-9b", "l40s"),
                                 ("mistral-7b", "a100-sxm-40gb")])
        layout = rng.choice([[1], [1, 2, 1], [2, 1, 1], [1, 1, 2], [2, 2, 1]])
        dp, tp, pp = (layout + [1, 1])[:3] if len(layout) == 3 else (1, 1, 1)
        args = ["simulate", "--model", model, "--gpu", gpu, "--gpus-per-node", str(dp * tp * pp),
                "--dp", str(dp), "--tp", str(tp), "--pp", str(pp), "--engine", engine,
                "--seed", str(rng.randrange(1000)),
                "--prompt-len", rng.choice(["256", "uniform:16:3000", "lognormal:600:300"]),
                "--output-len", rng.choice(["64", "uniform:1:700", "lognormal:300:150"]),
                "--max-model-len", "8192"]
        if rng.random() < 0.2:
            args += ["--rate", "3:10,30:4"]  # load stages
        else:
            args += ["--rate", rng.choice(["2", "8", "25"]), "--num-requests", str(rng.choice([40, 120, 250]))]
        if rng.random() < 0.5:
            args += ["--shared-prefix", str(rng.choice([64, 512])), "--prefix-groups", str(rng.choice([1, 3]))]
            if engine in ("vllm", "vllm-0.6"):
                args += ["--prefix-caching", "on"]
        if rng.random() < 0.6:  # a small KV cache: preemptions (or, for trtllm, admission limits)
            low = {"l40s": ["0.4", "0.42", "0.45"], "a100-sxm-40gb": ["0.5", "0.52"], "h100-sxm": ["0.25", "0.3"]}
            args += ["--gpu-memory-utilization", rng.choice(low[gpu])]
        if rng.random() < 0.3:
            args += ["--max-num-seqs", str(rng.choice([4, 16, 64]))]
        if rng.random() < 0.2:
            args += ["--burstiness", "4"]
        if rng.random() < 0.2 and engine == "vllm":
            args += ["--async-scheduling", "on"]
        if rng.random() < 0.15:
            args += ["--concurrency", str(rng.choice([2, 8]))]
        if rng.random() < 0.15:
            args += ["--breakdown"]
        if rng.random() < 0.15:
            args += ["--block-size", rng.choice(["1", "32"])]
        if rng.random() < 0.15:  # fewer tokens per step than running requests
            args += ["--max-num-batched-tokens", rng.choice(["8", "32"]), "--chunked-prefill", "on"]
        if rng.random() < 0.1:
            args += ["--spec-tokens", "2", "--spec-acceptance", "0.6"]
        if rng.random() < 0.1 and engine == "vllm" and "--prefix-caching" in args:
            args += ["--cpu-offload-gib", "1"]
        cases.append((f"synthetic[{i}]", args))
    # Encoder-decoder, chunked local attention, sliding windows: fixed shapes.
    for seed in (1, 2):
        cases.append((f"whisper[{seed}]", ["simulate", "--model", "whisper-large-v3", "--gpu", "l40s", "--gpus-per-node",
                                           "1", "--rate", "8", "--num-requests", "80", "--prompt-len", "1500",
                                           "--output-len", "uniform:2:300", "--seed", str(seed)]))
        cases.append((f"llama4[{seed}]", ["simulate", "--model", "llama-4-scout-17b-16e", "--gpu", "h100-sxm",
                                          "--gpus-per-node", "4", "--tp", "4", "--rate", "3", "--num-requests", "60",
                                          "--prompt-len", "uniform:1000:12000", "--output-len", "uniform:2:400",
                                          "--max-model-len", "16384", "--seed", str(seed)]))
        cases.append((f"gemma-v0[{seed}]", ["simulate", "--model", "gemma-2-9b", "--gpu", "l40s", "--gpus-per-node",
                                            "1", "--engine", "vllm-0.6", "--rate", "6", "--num-requests", "100",
                                            "--prompt-len", "uniform:100:3000", "--output-len", "uniform:2:400",
                                            "--max-model-len", "4096", "--seed", str(seed)]))
    return cases


def main():
    apex = os.path.abspath(sys.argv[1])
    count = int(sys.argv[2]) if len(sys.argv) > 2 else 40
    problems = []
    for name in sorted(os.listdir(SCENARIOS)):
        folder = os.path.join(SCENARIOS, name)
        if not os.path.isdir(folder):
            continue
        with open(os.path.join(folder, "args")) as f:
            args = shlex.split(f.read())
        compare(apex, name, args, folder, problems)
    preempted = prefix_hits = ran = 0
    for name, args in synthetic_cases(count):
        out = compare(apex, name, args, HERE, problems)
        if out is None:
            continue
        ran += 1
        counters = out.get("counters", {})
        preempted += counters.get("preemptions", 0) > 0
        prefix_hits += counters.get("prefix_cache_hit_rate", 0) > 0
    # The randomized set must reach the hard cases, or it proves little.
    if ran < count * 3 // 4 + 6:
        problems.append(f"only {ran} of {count} synthetic cases ran")
    if preempted < 5:
        problems.append(f"only {preempted} synthetic cases preempted (want 5)")
    if prefix_hits < 3:
        problems.append(f"only {prefix_hits} synthetic cases hit the prefix cache")
    for p in problems:
        print(p)
    print(f"{ran} synthetic cases ran ({preempted} with preemptions, {prefix_hits} with prefix hits); "
          f"{len(problems)} problem(s)")
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
