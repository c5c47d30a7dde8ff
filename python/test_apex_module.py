"""Tests of the `apex` Python module (ctest runs it with PYTHONPATH pointing at the build)."""
import unittest

import apex


class ModuleTest(unittest.TestCase):
    def test_presets_are_listed(self):
        self.assertIn("llama-3.1-70b", apex.models())
        self.assertIn("h100-sxm", apex.gpus())
        self.assertEqual(apex.engines()[0], "vllm")

    def test_simulate_returns_the_cli_json_object(self):
        r = apex.simulate(model="llama-3.1-8b", gpu="h100-sxm", gpus_per_node=1, rate=2, num_requests=40,
                          prompt_len=512, output_len=32, seed=3)
        self.assertTrue(r["feasible"])
        self.assertEqual(r["plan"]["label"], "dp1-tp1-pp1")
        self.assertEqual(r["metrics"]["requests"], 40)
        for key in ("mean", "p50", "p90", "p99"):
            self.assertGreater(r["metrics"]["ttft_s"][key], 0)
        # Same inputs, same answer.
        again = apex.simulate(model="llama-3.1-8b", gpu="h100-sxm", gpus_per_node=1, rate=2, num_requests=40,
                              prompt_len=512, output_len=32, seed=3)
        self.assertEqual(r, again)

    def test_search_ranks_plans(self):
        s = apex.search(model="llama-3.1-70b", gpu="h100-sxm", trace="@sample", objective="tpot", top=3)
        self.assertEqual(len(s["plans"]), 3)
        self.assertEqual(s["best"]["plan"]["tp"], 8)
        self.assertIn("memory-weights", s["stats"]["rejected"])

    def test_user_errors_raise_value_error_with_the_cli_message(self):
        with self.assertRaisesRegex(ValueError, "did you mean 'llama-3.1-70b'"):
            apex.simulate(model="llama-3.1-70", gpu="h100-sxm", trace="@sample")
        with self.assertRaisesRegex(ValueError, "--tpp"):
            apex.simulate(model="llama-3.1-8b", gpu="h100-sxm", trace="@sample", tpp=2)


if __name__ == "__main__":
    unittest.main()
