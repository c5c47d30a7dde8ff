#!/usr/bin/env python3
"""Measure the kernel tables APEX's profile backend reads (docs/profile-format.md) on this machine's GPU.

    python3 tools/profile_gpu.py --out my_gpu/ [--dtype bf16] [--quick]
    apex simulate ... --perf profile --profile-dir my_gpu/

Requires PyTorch with CUDA (and torch.distributed/NCCL for collectives, launched with torchrun
--nproc-per-node N tools/profile_gpu.py --collectives-only --out my_gpu/). The table-writing logic is
plain Python and is tested without a GPU (tools/test_profile_gpu.py).
"""
import argparse
import csv
import os
import sys

GEMM_DIMS = [32, 64, 128, 256, 512, 1024, 1536, 2048, 3072, 4096, 5120, 6144, 7168, 8192, 10240, 12288, 16384]
GEMM_M = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384]
PREFILL_SEQ = [16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384]
DECODE_PAST = [(1 << j) - 1 for j in range(1, 18)]
BATCHES = [1, 2, 4, 8, 16, 32, 64, 128, 256]
HEADS = [(8, 1), (8, 8), (16, 2), (32, 4), (32, 8), (64, 8)]

COLUMNS = {
    "gemm.csv": ["m", "n", "k", "dtype", "latency_us", "framework", "framework_version", "source"],
    "attention_prefill.csv": ["batch_size", "seq_len", "num_heads", "num_kv_heads", "head_dim", "window_size",
                              "dtype", "kv_dtype", "latency_us"],
    "attention_decode.csv": ["batch_size", "past_kv_len", "num_heads", "num_kv_heads", "head_dim", "window_size",
                             "dtype", "kv_dtype", "latency_us"],
    "collectives.csv": ["op", "num_gpus", "num_nodes", "message_bytes", "dtype", "latency_us", "source", "impl"],
}


def round_sig(x, digits=5):
    """Round to `digits` significant digits (the convention of the shared tables)."""
    if x == 0:
        return 0.0
    from math import floor, log10
    return round(x, -int(floor(log10(abs(x)))) + (digits - 1))


def validate_row(table, row):
    """Raise ValueError if a row does not fit the table's format; return the row otherwise."""
    cols = COLUMNS[table]
    missing = [c for c in cols if c not in row]
    if missing:
        raise ValueError(f"{table}: row lacks {', '.join(missing)}")
    lat = float(row["latency_us"])
    if not lat > 0:
        raise ValueError(f"{table}: latency_us must be positive, got {lat}")
    for c in cols:
        if c in ("dtype", "kv_dtype", "op", "source", "impl", "framework", "framework_version"):
            continue
        v = float(row[c])
        if v < 0 or (c != "latency_us" and v != int(v)):
            raise ValueError(f"{table}: column {c} must be a non-negative integer, got {row[c]}")
    return row


def sort_key(table, row):
    keys = [c for c in COLUMNS[table] if c not in ("latency_us", "source", "impl", "framework", "framework_version")]
    return tuple(str(row[k]) if isinstance(row[k], str) else float(row[k]) for k in keys)


def write_table(path, table, rows):
    """Write rows (dicts) as `table` in the shared format: header, validated, sorted, 5 significant digits."""
    rows = [validate_row(table, dict(r)) for r in rows]
    for r in rows:
        r["latency_us"] = round_sig(float(r["latency_us"]))
    rows.sort(key=lambda r: sort_key(table, r))
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=COLUMNS[table], extrasaction="ignore", lineterminator="\n")
        w.writeheader()
        for r in rows:
            w.writerow(r)
    return len(rows)


def timed(fn, warmup=5, iters=20):
    import torch
    for _ in range(warmup):
        fn()
    torch.cuda.synchronize()
    g = torch.cuda.CUDAGraph()
    with torch.cuda.graph(g):
        fn()
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    start.record()
    for _ in range(iters):
        g.replay()
    end.record()
    torch.cuda.synchronize()
    return start.elapsed_time(end) * 1000.0 / iters  # us


def measure_gemm(dtype, quick):
    import torch
    tdt = {"bf16": torch.bfloat16, "fp16": torch.float16}[dtype]
    dims = GEMM_DIMS[::3] if quick else GEMM_DIMS
    ms = GEMM_M[::2] if quick else GEMM_M
    for n in dims:
        for k in dims:
            w = torch.randn(n, k, device="cuda", dtype=tdt)
            for m in ms:
                x = torch.randn(m, k, device="cuda", dtype=tdt)
                us = timed(lambda: torch.nn.functional.linear(x, w))
                yield {"m": m, "n": n, "k": k, "dtype": dtype, "latency_us": us, "framework": "torch",
                       "framework_version": torch.__version__, "source": "profile_gpu.py"}


def measure_attention(quick):
    import torch
    import torch.nn.functional as F
    for heads, kv in (HEADS[:2] if quick else HEADS):
        for b in (BATCHES[::2] if quick else BATCHES):
            for s in (PREFILL_SEQ[::2] if quick else PREFILL_SEQ):
                if b * s > 65536:
                    continue
                q = torch.randn(b, heads, s, 128, device="cuda", dtype=torch.bfloat16)
                k = torch.randn(b, kv, s, 128, device="cuda", dtype=torch.bfloat16)
                us = timed(lambda: F.scaled_dot_product_attention(q, k, k, is_causal=True, enable_gqa=True))
                yield "attention_prefill.csv", {"batch_size": b, "seq_len": s, "num_heads": heads,
                                                "num_kv_heads": kv, "head_dim": 128, "window_size": 0,
                                                "dtype": "bf16", "kv_dtype": "bf16", "latency_us": us}
            for past in (DECODE_PAST[::3] if quick else DECODE_PAST):
                if b * past > 1 << 22:
                    continue
                q = torch.randn(b, heads, 1, 128, device="cuda", dtype=torch.bfloat16)
                k = torch.randn(b, kv, past + 1, 128, device="cuda", dtype=torch.bfloat16)
                us = timed(lambda: F.scaled_dot_product_attention(q, k, k, enable_gqa=True))
                yield "attention_decode.csv", {"batch_size": b, "past_kv_len": past, "num_heads": heads,
                                               "num_kv_heads": kv, "head_dim": 128, "window_size": 0,
                                               "dtype": "bf16", "kv_dtype": "bf16", "latency_us": us}


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", required=True, help="output directory")
    p.add_argument("--dtype", default="bf16", choices=["bf16", "fp16"])
    p.add_argument("--quick", action="store_true", help="a coarse grid (minutes instead of an hour)")
    args = p.parse_args(argv)
    try:
        import torch
    except ImportError:
        sys.exit("profile_gpu.py needs PyTorch with CUDA (pip install torch)")
    if not torch.cuda.is_available():
        sys.exit("profile_gpu.py: no CUDA device visible")
    os.makedirs(args.out, exist_ok=True)
    n = write_table(os.path.join(args.out, "gemm.csv"), "gemm.csv", measure_gemm(args.dtype, args.quick))
    print(f"gemm.csv: {n} rows")
    tables = {"attention_prefill.csv": [], "attention_decode.csv": []}
    for table, row in measure_attention(args.quick):
        tables[table].append(row)
    for table, rows in tables.items():
        print(f"{table}: {write_table(os.path.join(args.out, table), table, rows)} rows")


if __name__ == "__main__":
    main()
