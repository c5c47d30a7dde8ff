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

    def test_unknown_keyword_gets_a_did_you_mean(self):
        with self.assertRaises(ValueError) as e:
            apex.simulate(model="llama-3.1-8b", gpu="h100-sxm", trace="@sample", tpp=2)
        self.assertIn("unknown keyword argument of apex.simulate() 'tpp'; did you mean 'tp'?", str(e.exception))
        with self.assertRaisesRegex(ValueError, "'objectve'; did you mean 'objective'"):
            apex.search(model="llama-3.1-8b", trace="@sample", objectve="tpot")
        # tp is a plan of simulate; search enumerates plans itself.
        with self.assertRaisesRegex(ValueError, "unknown keyword argument of apex.search\\(\\) 'tp'"):
            apex.search(model="llama-3.1-8b", trace="@sample", tp=2)
        # The output destination belongs to the command line; Python gets the document.
        with self.assertRaisesRegex(ValueError, "'format'"):
            apex.simulate(model="llama-3.1-8b", trace="@sample", format="csv")

    def test_errors_name_options_as_keywords(self):
        base = dict(model="llama-3.1-8b", gpu="h100-sxm", gpus_per_node=1, rate=10, num_requests=20,
                    prompt_len=128, output_len=16)
        with self.assertRaises(ValueError) as e:
            apex.simulate(**base, max_num_seqs=0)
        self.assertEqual(str(e.exception), "apex: max_num_seqs= must be at least 1, got 0")
        with self.assertRaisesRegex(ValueError, "^apex: chunked_prefill= 'maybe': expected on or off$"):
            apex.simulate(**base, chunked_prefill="maybe")
        with self.assertRaisesRegex(ValueError, "^apex: tp=: '2.5' is not an integer$"):
            apex.simulate(**base, tp=2.5)
        with self.assertRaisesRegex(ValueError, "spec_acceptance= needs spec_tokens= K"):
            apex.simulate(**base, spec_acceptance=0.5)
        with self.assertRaisesRegex(ValueError, "synthetic workload is missing num_requests=, output_len="):
            apex.simulate(model="llama-3.1-8b", rate=10, prompt_len=128)
        with self.assertRaisesRegex(ValueError, "^apex: model= is required$"):
            apex.simulate(trace="@sample")
        with self.assertRaises(ValueError) as e:
            apex.simulate(**base, gpu_memory_utilization=1.5)
        self.assertNotIn("--", str(e.exception))
        self.assertIn("gpu_memory_utilization=", str(e.exception))

    def test_library_errors_spell_their_concept_as_a_keyword(self):
        # src/workload and src/sim name options by concept; the module spells them as keywords.
        base = dict(model="llama-3.1-8b", gpu="h100-sxm", gpus_per_node=1, rate=10, num_requests=20,
                    prompt_len=128, output_len=16)
        with self.assertRaises(ValueError) as e:
            apex.simulate(**base, burstiness=0)
        self.assertEqual(str(e.exception), "apex: burstiness= must be a positive number (1 = Poisson), got 0")
        with self.assertRaises(ValueError) as e:
            apex.simulate(**dict(base, num_requests=200_000_000))
        self.assertEqual(str(e.exception),
                         "apex: num_requests= 200000000 exceeds the limit of 100,000,000 requests per run")
        with self.assertRaises(ValueError) as e:
            apex.simulate(**base, block_size=3)
        self.assertEqual(str(e.exception),
                         "apex: block_size= must be a power of two between 1 and 1024, got 3")
        with self.assertRaises(ValueError) as e:
            apex.simulate(**dict(base, prompt_len=2000), max_model_len=1024)
        self.assertIn("shorten it or raise max_model_len= (up to the model's context of", str(e.exception))

    def test_keywords_are_typed_values_not_argv(self):
        base = dict(model="llama-3.1-8b", gpu="h100-sxm", gpus_per_node=1, rate=10, num_requests=20,
                    prompt_len=128, output_len=16)
        plain = apex.simulate(**base)
        # Booleans for on/off knobs and flags; None means not given.
        off = apex.simulate(**base, chunked_prefill=False, max_model_len=4096, breakdown=None)
        self.assertEqual(off["metrics"]["requests"], 20)
        self.assertTrue(plain["engine"]["chunked_prefill"])
        self.assertFalse(off["engine"]["chunked_prefill"])
        self.assertIn("--max-model-len 4096", off["launch"])
        overhead = apex.simulate(**base, step_overhead_ms=5)
        self.assertGreater(overhead["metrics"]["e2e_s"]["mean"], plain["metrics"]["e2e_s"]["mean"])

    def test_load_stages_and_frontend_latency_as_on_the_command_line(self):
        base = dict(model="llama-3.1-8b", gpu="h100-sxm", gpus_per_node=1, prompt_len=128, output_len=16)
        r = apex.simulate(**base, rate="4:10,12:10")
        self.assertEqual([s["rate"] for s in r["stages"]], [4.0, 12.0])
        self.assertEqual([s["start_s"] for s in r["stages"]], [0.0, 10.0])
        self.assertEqual(sum(s["metrics"]["requests"] for s in r["stages"]), r["metrics"]["requests"])
        with self.assertRaises(ValueError) as e:
            apex.simulate(**base, rate="8:600,")
        self.assertIn("rate= '8:600,': stage 2 is empty", str(e.exception))
        plain = apex.simulate(**base, rate=10, num_requests=20, frontend_latency_ms=0)
        fe = apex.simulate(**base, rate=10, num_requests=20, frontend_latency_ms=10)
        self.assertEqual(fe["engine"]["frontend_latency_ms"], 10.0)
        self.assertAlmostEqual(fe["metrics"]["ttft_s"]["mean"] - plain["metrics"]["ttft_s"]["mean"], 0.010, places=9)
        self.assertEqual(fe["metrics"]["tpot_s"]["mean"], plain["metrics"]["tpot_s"]["mean"])

    def test_help_lists_the_keywords(self):
        self.assertIn("max_num_seqs: Engine: max sequences per step", apex.simulate.__doc__)
        self.assertIn("objective [e2e]", apex.search.__doc__)


if __name__ == "__main__":
    unittest.main()
