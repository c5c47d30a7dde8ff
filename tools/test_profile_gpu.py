"""Tests of tools/profile_gpu.py's table writer (no GPU needed): run by ctest."""
import csv
import os
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import profile_gpu  # noqa: E402


class WriterTest(unittest.TestCase):
    def test_gemm_table_has_the_shared_header_sorted_rows_and_5_significant_digits(self):
        rows = [
            {"m": 2, "n": 64, "k": 32, "dtype": "bf16", "latency_us": 3.1415926, "framework": "torch",
             "framework_version": "2.5", "source": "x"},
            {"m": 1, "n": 64, "k": 32, "dtype": "bf16", "latency_us": 123456.789, "framework": "torch",
             "framework_version": "2.5", "source": "x"},
        ]
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "gemm.csv")
            self.assertEqual(profile_gpu.write_table(path, "gemm.csv", rows), 2)
            with open(path) as f:
                header = f.readline().strip()
                self.assertEqual(header, "m,n,k,dtype,latency_us,framework,framework_version,source")
            with open(path) as f:
                got = list(csv.DictReader(f))
        self.assertEqual([r["m"] for r in got], ["1", "2"])
        self.assertEqual(float(got[0]["latency_us"]), 123460.0)
        self.assertEqual(float(got[1]["latency_us"]), 3.1416)

    def test_invalid_rows_are_rejected(self):
        bad = {"batch_size": 1, "seq_len": 16, "num_heads": 8, "num_kv_heads": 1, "head_dim": 128,
               "window_size": 0, "dtype": "bf16", "kv_dtype": "bf16", "latency_us": -1}
        with self.assertRaises(ValueError):
            profile_gpu.validate_row("attention_prefill.csv", bad)
        missing = dict(bad, latency_us=5)
        del missing["head_dim"]
        with self.assertRaises(ValueError):
            profile_gpu.validate_row("attention_prefill.csv", missing)
        fractional = dict(bad, latency_us=5, seq_len=1.5)
        with self.assertRaises(ValueError):
            profile_gpu.validate_row("attention_prefill.csv", fractional)

    def test_round_sig(self):
        self.assertEqual(profile_gpu.round_sig(0.000123456789), 0.00012346)
        self.assertEqual(profile_gpu.round_sig(0), 0.0)


if __name__ == "__main__":
    unittest.main()
