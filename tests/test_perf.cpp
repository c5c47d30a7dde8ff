// Cost-model tests: roofline bounds, monotonicity, collectives, composition.
#include <gtest/gtest.h>

#include "core/error.h"
#include "core/json_util.h"
#include "core/option_ref.h"
#include "model/registry.h"
#include "perf/batch_shape.h"
#include "perf/cost_model.h"
#include "perf/params.h"
#include "perf/params_pack.h"
#include "perf/profile.h"
#include "test_util.h"

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <optional>

namespace apex {
namespace {

TEST(Ops, GemmNeverBeatsTheRoofline) {
  for (const auto& gpu : gpu_presets()) {
    auto ops = make_analytical_ops(gpu);
    const DType act = gpu.peak_bf16 > 0 ? DType::BF16 : DType::FP16;
    for (std::int64_t m : {1, 7, 64, 512, 4096, 16384}) {
      for (std::int64_t nk : {256, 4096, 16384}) {
        const double t = ops->gemm({m, nk, nk, act, act});
        const double flops = 2.0 * m * nk * nk;
        const double bytes = 2.0 * (m * nk + nk * nk + m * nk);
        EXPECT_GE(t, flops / gpu.peak_flops(act)) << gpu.name << " m=" << m;
        EXPECT_GE(t, bytes / gpu.hbm_bandwidth) << gpu.name << " m=" << m;
      }
    }
  }
}

TEST(Ops, GemmTimeGrowsWithTokens) {
  auto ops = make_analytical_ops(find_gpu("h100-sxm"));
  // Measured GEMMs are not perfectly monotone in m (tile quantization: this shape's table reads
  // 49.9 us at m=4 and 43.0 at m=5), and the fitted model follows them; it may dip by at most 4%
  // and must grow overall.
  double peak_so_far = 0;
  for (std::int64_t m = 1; m <= 8192; m = m * 3 / 2 + 1) {
    const double t = ops->gemm({m, 7168, 8192, DType::BF16, DType::BF16});
    EXPECT_GE(t, 0.96 * peak_so_far) << "m=" << m;
    peak_so_far = std::max(peak_so_far, t);
  }
  EXPECT_GT(ops->gemm({8192, 7168, 8192, DType::BF16, DType::BF16}),
            20 * ops->gemm({16, 7168, 8192, DType::BF16, DType::BF16}));
  // 1 and 64 tokens must not cost the same, but a skinny GEMM is memory-bound: close.
  const double t1 = ops->gemm({1, 7168, 8192, DType::BF16, DType::BF16});
  const double t64 = ops->gemm({64, 7168, 8192, DType::BF16, DType::BF16});
  EXPECT_GT(t64, t1);
  EXPECT_LT(t64, 2 * t1);
}

TEST(Ops, Fp8WeightsAreCheaperToStreamThanBf16) {
  auto ops = make_analytical_ops(find_gpu("h100-sxm"));
  const double bf16 = ops->gemm({1, 8192, 8192, DType::BF16, DType::BF16});
  const double fp8 = ops->gemm({1, 8192, 8192, DType::FP8, DType::BF16});
  EXPECT_LT(fp8, bf16);
}

TEST(Ops, DecodeAttentionReadsTheKvCache) {
  auto ops = make_analytical_ops(find_gpu("h100-sxm"));
  DecodeAttnArgs a{64, 64 * 1000, 8, 1, 128, DType::BF16};
  DecodeAttnArgs b = a;
  b.kv_tokens = 64 * 8000;
  EXPECT_GT(ops->attention_decode(b), 3 * ops->attention_decode(a));
  const double bytes = static_cast<double>(b.kv_tokens) * 1 * 128 * 2 * 2;
  EXPECT_GE(ops->attention_decode(b), bytes / find_gpu("h100-sxm").hbm_bandwidth);
}

// The decode-attention pricer a CostModel keeps per layer shape must be attention_decode to the
// last bit, on every GPU's shipped calibration, for shapes on and between the correction's nodes
// (head ratios 5 and 6 and head size 96 sit between them), MLA latents and FP8 caches, and for the
// sequence counts a stretch repeats (its cached coordinate) and changes.
TEST(Ops, DecodeAttentionPricerEqualsAttentionDecodeBitForBit) {
  std::uint64_t state = 7;
  const auto next = [&state](std::uint64_t n) {
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    return static_cast<std::int64_t>((state >> 33) % n);
  };
  int compared = 0;
  for (const Gpu& gpu : gpu_presets()) {
    auto ops = make_analytical_ops(gpu);
    for (const DecodeAttnArgs shape :
         {DecodeAttnArgs{0, 0, 8, 1, 128, DType::BF16}, DecodeAttnArgs{0, 0, 40, 8, 128, DType::BF16},
          DecodeAttnArgs{0, 0, 48, 8, 96, DType::FP8}, DecodeAttnArgs{0, 0, 5, 1, 64, DType::FP8},
          DecodeAttnArgs{0, 0, 128, 1, 576, DType::BF16, true}}) {
      const auto pricer = ops->decode_attention_pricer(shape);
      std::int64_t seqs = 1;
      for (int i = 0; i < 300; ++i) {
        if (i % 7 == 0) seqs = 1 + next(600);  // runs of one sequence count, then a change
        DecodeAttnArgs a = shape;
        a.seqs = seqs;
        a.kv_tokens = seqs * (1 + next(40000));
        const double want = ops->attention_decode(a);
        ASSERT_EQ(pricer->price(a.seqs, a.kv_tokens), want) << gpu.name << " heads " << shape.heads;
        ++compared;
      }
      DecodeAttnArgs none = shape;
      EXPECT_EQ(pricer->price(0, 0), ops->attention_decode(none));
    }
  }
  EXPECT_GT(compared, 1000);
}

// Correction::factor with trailing dimensions fixed once (Tail) equals the plain 4-D interpolation
// bit for bit, on and between nodes and clamped outside the grid.
TEST(Ops, CorrectionWithAFixedTailEqualsThePlainInterpolation) {
  Correction c;
  c.lo = {0, 2, 1, 5};
  c.size = {6, 5, 3, 3};
  std::uint64_t state = 3;
  const auto next = [&state]() {
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    return static_cast<double>(state >> 11) / 9007199254740992.0;  // [0, 1)
  };
  for (int i = 0; i < 6 * 5 * 3 * 3; ++i)
    c.log_factor.push_back(static_cast<float>(next() - 0.5));
  for (const bool prepared : {false, true}) {
    if (prepared) c.prepare();
    for (int i = 0; i < 2000; ++i) {
      const auto coord = [&](int lo, int size) {
        const double r = next();
        return r < 0.3 ? static_cast<double>(lo + static_cast<int>(r * 10) % size)  // on a node
                       : lo - 1.0 + (size + 1.0) * next();                          // between, or outside
      };
      const double x[4] = {coord(0, 6), coord(2, 5), coord(1, 3), coord(5, 3)};
      // The reference: the corners and weights, summed in corner order (what the calibration fit reads).
      std::size_t nodes[16];
      double weights[16];
      const std::size_t n = c.corners(x, nodes, weights);
      double want = 0;
      for (std::size_t k = 0; k < n; ++k) {
        const float lf = c.log_factor[nodes[k]];
        want +=
            weights[k] * (prepared ? static_cast<double>(std::exp(lf)) : std::exp(static_cast<double>(lf)));
      }
      ASSERT_EQ(c.factor(x), want);
      const Correction::Tail tail = c.tail(2, x + 2);
      ASSERT_EQ(c.factor(x, tail), want);
      ASSERT_EQ(c.factor(c.axis(0, x[0]), x[1], tail), want);
      ASSERT_EQ(c.factor(x, c.tail(4, nullptr)), want);
      ASSERT_EQ(c.factor(x + 0, c.tail(1, x + 1)), want);
    }
  }
}

TEST(Ops, CollectivesNeedMoreThanOneGpuAndGrowWithBytes) {
  const Cluster c = make_cluster("h100-sxm", 2, 8);
  auto ops = make_analytical_ops(c.gpu);
  CommGroup one{1, 1, c.intra_node, c.inter_node};
  EXPECT_EQ(ops->collective(Collective::AllReduce, 1e6, one), 0.0);
  CommGroup eight{8, 1, c.intra_node, c.inter_node};
  const double small = ops->collective(Collective::AllReduce, 16e3, eight);
  const double large = ops->collective(Collective::AllReduce, 64e6, eight);
  EXPECT_GT(large, 10 * small);
  // Bus bandwidth of a large all-reduce stays below the NVLink line rate.
  EXPECT_LT(2.0 * 7 / 8 * 64e6 / large, c.intra_node.bandwidth);
  CommGroup sixteen{16, 2, c.intra_node, c.inter_node};
  EXPECT_GT(ops->collective(Collective::AllReduce, 64e6, sixteen), large);  // InfiniBand is slower
}

TEST(CostModel, TensorParallelLayerHasTwoAllReduces) {
  const Model m = load_model("llama-3.1-70b");
  const Cluster c = make_cluster("h100-sxm", 1, 8);
  Plan p;
  p.tp = 8;
  ASSERT_FALSE(make_plan(m, c, p));
  auto ops = std::shared_ptr<const OpModel>(make_analytical_ops(c.gpu));
  CostModel cost(m, c, p, Precision{}, ops, EngineCosts{});
  BatchShape b;
  b.decode_seqs = 16;
  b.decode_kv = 16 * 1000;
  b.sampled = 16;
  const auto layer = cost.layer(0, b);
  CommGroup g{8, 1, c.intra_node, c.inter_node};
  // 256 KiB per all-reduce: under vLLM's 8 MiB limit, so the custom all-reduce is used.
  EXPECT_DOUBLE_EQ(layer.communication, 2 * ops->collective(Collective::CustomAllReduce, 16.0 * 8192 * 2, g));
  EngineCosts nccl;
  nccl.custom_all_reduce = false;
  CostModel cost_nccl(m, c, p, Precision{}, ops, nccl);
  EXPECT_DOUBLE_EQ(cost_nccl.layer(0, b).communication,
                   2 * ops->collective(Collective::AllReduce, 16.0 * 8192 * 2, g));
  Plan p1;
  p1.dp = 8;
  ASSERT_FALSE(make_plan(m, c, p1));
  CostModel cost1(m, c, p1, Precision{}, ops, EngineCosts{});
  EXPECT_EQ(cost1.layer(0, b).communication, 0.0);
}

// stage_times keeps the parts of the last batch composition that do not depend on the contexts: a
// CostModel pricing a mixed sequence of shapes (stretches of growing contexts, compositions
// changing, pipeline stages, speculative drafts) gives each stage the same bits as a fresh one.
TEST(CostModel, StageTimesReuseOfTheLastCompositionIsExact) {
  const Model m = load_model("llama-3.1-70b");
  const Cluster c = make_cluster("h100-sxm", 1, 8);
  Plan p;
  p.tp = 4;
  p.pp = 2;
  ASSERT_FALSE(make_plan(m, c, p));
  auto ops = std::shared_ptr<const OpModel>(make_analytical_ops(c.gpu));
  CostModel warm(m, c, p, Precision{}, ops, EngineCosts{});
  std::vector<double> got, want;
  for (int i = 0; i < 200; ++i) {
    BatchShape b;
    b.decode_seqs = 8 + (i / 10) % 3;  // a composition held for 10 steps, then another
    b.decode_kv = b.decode_seqs * (500 + i);
    b.sampled = b.decode_seqs;
    if (i % 25 == 3) {  // a prefill chunk joins
      b.prefill_seqs = 1;
      b.prefill_tokens = 512;
      b.prefill_kv = 512;
      b.prefill_pairs = 512.0 * 256.5;
      b.sampled += 1;
    }
    if (i % 40 == 7) b.spec_tokens = 2 * b.decode_seqs;
    warm.stage_times(b, got);
    CostModel fresh(m, c, p, Precision{}, ops, EngineCosts{});
    fresh.stage_times(b, want);
    ASSERT_EQ(got, want) << "step " << i;
  }
  EXPECT_EQ(got.size(), 2U);
}

// A steady decode stretch prices its steps through CostModel::DecodeSteps: the stage times and work
// of every step equal stage_times() and work() of the same batch, bit for bit (dense and MoE models,
// pipeline stages, attention over TP and over data-parallel ranks, fp8 KV); where its form does not
// hold, it says so.
TEST(CostModel, DecodeStepsEqualTheGeneralPath) {
  struct Case {
    const char* model;
    int tp, pp, ep;
    bool attn_dp;
    DType kv;
  };
  const Case cases[] = {
      {"llama-3.1-70b", 8, 1, 1, false, DType::BF16}, {"llama-3.1-70b", 4, 2, 1, false, DType::BF16},
      {"llama-3.1-70b", 1, 8, 1, false, DType::BF16}, {"llama-3.1-8b", 1, 1, 1, false, DType::FP8},
      {"mixtral-8x7b", 8, 1, 8, false, DType::BF16},  {"mixtral-8x7b", 8, 1, 8, true, DType::BF16},
      {"deepseek-v3", 8, 1, 8, true, DType::FP8}};
  const Cluster c = make_cluster("h200-sxm", 1, 8), one_gpu = make_cluster("h200-sxm", 1, 1);
  auto ops = std::shared_ptr<const OpModel>(make_analytical_ops(c.gpu));
  for (const Case& k : cases) {
    SCOPED_TRACE(k.model);
    const Model m = load_model(k.model);
    const Cluster& cl = k.tp * k.pp == 1 ? one_gpu : c;
    Plan p;
    p.tp = k.tp;
    p.pp = k.pp;
    p.ep = k.ep;
    p.attn_dp = k.attn_dp;
    ASSERT_FALSE(make_plan(m, cl, p));
    Precision prec;
    prec.kv = k.kv;
    if (std::string(k.model) == "deepseek-v3") prec.weight = DType::FP8;
    const CostModel cost(m, cl, p, prec, ops, EngineCosts{});
    std::vector<double> want, got;
    for (int seqs : {1, 7, 64, 300}) {
      BatchShape base;
      base.decode_seqs = seqs;
      base.sampled = seqs;
      base.decode_kv = static_cast<std::int64_t>(seqs) * 100;
      CostModel::DecodeSteps steps;
      ASSERT_TRUE(cost.decode_steps(base, steps));
      for (int j = 0; j < 3000; j += 37) {
        BatchShape b = base;
        b.decode_kv += static_cast<std::int64_t>(seqs) * j * 3 + j % 5;
        CostModel fresh(m, cl, p, prec, ops, EngineCosts{});
        fresh.stage_times(b, want);
        ASSERT_EQ(want.size(), static_cast<std::size_t>(k.pp));
        steps.times(b.decode_kv, got);
        ASSERT_EQ(got, want) << seqs << " seqs, " << b.decode_kv << " keys";
        if (k.pp == 1) {
          ASSERT_EQ(steps.time(b.decode_kv), want[0]);
        }
        const Work w = fresh.work(b), work = steps.work(b.decode_kv);
        ASSERT_EQ(work.model_flops, w.model_flops);
        ASSERT_EQ(work.bytes_read, w.bytes_read);
      }
    }
  }
  // Not a steady decode batch: a prefill chunk, local attention.
  const Model llama = load_model("llama-3.1-70b");
  CostModel::DecodeSteps steps;
  BatchShape decode;
  decode.decode_seqs = decode.sampled = 4;
  decode.decode_kv = 4000;
  Plan tp8;
  tp8.tp = 8;
  ASSERT_FALSE(make_plan(llama, c, tp8));
  BatchShape mixed = decode;
  mixed.prefill_seqs = 1;
  mixed.prefill_tokens = mixed.prefill_kv = 64;
  EXPECT_FALSE(CostModel(llama, c, tp8, Precision{}, ops, EngineCosts{}).decode_steps(mixed, steps));
  const Model gemma = load_model("gemma-2-9b");
  Plan one;
  ASSERT_FALSE(make_plan(gemma, one_gpu, one));
  EXPECT_FALSE(CostModel(gemma, one_gpu, one, Precision{}, ops, EngineCosts{}).decode_steps(decode, steps));
}

TEST(CustomAllReduce, VllmRuleFollowsTheScaleUpLink) {
  // vLLM custom_all_reduce.py: world size 2/4/6/8 on one node; beyond 2 GPUs only fully connected
  // (NVLink); per call only below the cap.
  const EngineCosts v;
  constexpr double kb16 = 16 * 1024;
  EXPECT_TRUE(v.uses_custom_all_reduce(4, 1, true, kb16));
  EXPECT_FALSE(v.uses_custom_all_reduce(4, 1, false, kb16));  // 4 PCIe GPUs: NCCL
  EXPECT_FALSE(v.uses_custom_all_reduce(8, 1, false, kb16));
  EXPECT_TRUE(v.uses_custom_all_reduce(2, 1, false, kb16));  // 2 PCIe GPUs are allowed
  EXPECT_FALSE(v.uses_custom_all_reduce(3, 1, true, kb16));  // unsupported world size
  EXPECT_FALSE(v.uses_custom_all_reduce(16, 1, true, kb16));
  EXPECT_FALSE(v.uses_custom_all_reduce(8, 2, true, kb16));  // spans nodes
  EXPECT_TRUE(v.uses_custom_all_reduce(8, 1, true, 8.0 * 1024 * 1024 - 16));
  EXPECT_FALSE(v.uses_custom_all_reduce(8, 1, true, 8.0 * 1024 * 1024));  // not below 8 MiB
  EXPECT_FALSE(v.uses_symm_mem_all_reduce(8, 1, true, 16e6));             // no such tier by default
  EngineCosts nvlink_only = v;                                            // TensorRT-LLM
  nvlink_only.custom_ar_pcie_gpus = 0;
  EXPECT_FALSE(nvlink_only.uses_custom_all_reduce(2, 1, false, kb16));
  EXPECT_TRUE(nvlink_only.uses_custom_all_reduce(2, 1, true, kb16));
}

TEST(CustomAllReduce, PcieTp4DecodeRunsNcclTp2RunsCustom) {
  const Model m = load_model("llama-2-7b");
  Precision fp16;
  fp16.weight = fp16.activation = fp16.kv = DType::FP16;
  BatchShape b;
  b.decode_seqs = 1;
  b.decode_kv = 1000;
  b.sampled = 1;
  const double bytes = 4096.0 * 2;  // one decode token's activations
  for (int tp : {2, 4}) {
    const Cluster c = make_cluster("v100-pcie-16gb", 1, tp);
    ASSERT_FALSE(c.intra_node.fully_connected);
    Plan p;
    p.tp = tp;
    ASSERT_FALSE(make_plan(m, c, p));
    auto ops = std::shared_ptr<const OpModel>(make_analytical_ops(c.gpu));
    const CommGroup g{tp, 1, c.intra_node, c.inter_node};
    const Collective used = tp == 2 ? Collective::CustomAllReduce : Collective::AllReduce;
    EXPECT_DOUBLE_EQ(CostModel(m, c, p, fp16, ops, EngineCosts{}).layer(0, b).communication,
                     2 * ops->collective(used, bytes, g))
        << "tp " << tp;
  }
  // With no custom-kernel rows for V100 the calibration borrows NCCL's fit (calib/fit.cpp), so a
  // measured 4-GPU NCCL all-reduce of 16 KB (34 us, ../shared/measurements/v100_pcie) sets the cost.
  const Gpu& v100 = find_gpu("v100-pcie-16gb");
  auto ops = make_analytical_ops(v100);
  const CommGroup g4{4, 1, v100.intra_node, v100.inter_node};
  const double nccl = ops->collective(Collective::AllReduce, 16384, g4);
  EXPECT_NEAR(nccl, 34e-6, 10e-6);
  EXPECT_DOUBLE_EQ(ops->collective(Collective::CustomAllReduce, 16384, g4), nccl);
}

TEST(CostModel, StageTimeIsLayerTimeTimesCountPlusEnds) {
  const Model m = load_model("llama-3.1-8b");
  const Cluster c = make_cluster("h100-sxm", 1, 2);
  Plan p;
  p.pp = 2;
  ASSERT_FALSE(make_plan(m, c, p));
  auto ops = std::shared_ptr<const OpModel>(make_analytical_ops(c.gpu));
  EngineCosts e;
  e.graph_max_tokens = 1 << 20;  // no eager-launch penalty in this check
  CostModel cost(m, c, p, Precision{}, ops, e);
  BatchShape b;
  b.decode_seqs = 4;
  b.decode_kv = 4000;
  b.sampled = 4;
  std::vector<double> st;
  cost.stage_times(b, st);
  const double layer = cost.layer(0, b).total();
  // Stage 0: 16 layers + embedding lookup; stage 1: 16 layers + LM head.
  EXPECT_NEAR(st[0], 16 * layer + ops->elementwise(4.0 * 4096 * 2), 1e-12);
  EXPECT_GT(st[1], 16 * layer + ops->gemm({4, 128256, 4096, DType::BF16, DType::BF16}));
}

// An encoder-decoder decode step runs only the decoder: it streams the decoder's weights and reads
// the self- and cross-attention caches, never the encoder's weights (counting them made the MBU of
// flan-t5-xxl decode exceed 100%, an assertion at the end of the run).
TEST(CostModel, EncoderDecoderDecodeStepReadsOnlyWhatItRuns) {
  const Model m = load_model("flan-t5-xxl");
  const Cluster c = make_cluster("h100-sxm", 1, 1);
  Plan p;
  ASSERT_FALSE(make_plan(m, c, p));
  auto ops = std::shared_ptr<const OpModel>(make_analytical_ops(c.gpu));
  const ShardedModel sharded(m, p, Precision{});
  CostModel cost(sharded, c, ops, EngineCosts{});
  const ShapeBuilder shapes(cost, true);
  BatchShape decode;
  for (int i = 0; i < 8; ++i)
    shapes.add(decode, TokenSpan{512, 1, 512 + 20, 1});  // 20 tokens generated after a 512-token input
  BatchShape prefill;
  shapes.add(prefill, TokenSpan{512, 0, 0, 512});
  const Work wd = cost.work(decode);
  const Work wp = cost.work(prefill);
  const double kv_bytes = sharded.kv_bytes_per_token_replica;
  ASSERT_GT(kv_bytes, 0);
  // The decode step's caches: 21 own tokens and the 512-token input of each of the 8 sequences.
  const double decode_caches = kv_bytes * 8 * (21 + 512);
  // The encoder is ~42% of T5's weights (24 layers without cross-attention): a decode step streams
  // the other ~58%.
  EXPECT_GT(wd.bytes_read - decode_caches, 0.5 * sharded.weight_bytes_per_replica);
  EXPECT_LT(wd.bytes_read - decode_caches, 0.65 * sharded.weight_bytes_per_replica);
  // The prefill step streams every weight (the encoder runs) and writes the new input's caches.
  EXPECT_DOUBLE_EQ(wp.bytes_read, sharded.weight_bytes_per_replica + kv_bytes * (1 + 512));
  EXPECT_GT(wp.bytes_read - kv_bytes * 513,
            wd.bytes_read - decode_caches + 0.35 * sharded.weight_bytes_per_replica);
  // No step moves more bytes than HBM can in its time.
  std::vector<double> st;
  for (const BatchShape* b : {&decode, &prefill}) {
    cost.stage_times(*b, st);
    EXPECT_LE(cost.work(*b).bytes_read, st[0] * c.gpu.hbm_bandwidth);
  }
}

TEST(Params, ShippedCalibrationRoundTripsThroughJson) {
  OpParams p;
  p.gemm[0].e_max = 0.77;
  p.gemm_fitted[0] = true;
  p.intra[0].bw_eff = 0.66;
  const OpParams q = params_from_json(params_to_json(p), "test");
  EXPECT_DOUBLE_EQ(q.gemm[0].e_max, 0.77);
  EXPECT_DOUBLE_EQ(q.intra[0].bw_eff, 0.66);
  EXPECT_THROW(params_from_json(Json{{"gemm", {{"bf16", {{"e_max", 1}}}}}}, "t"), UserError);
}

// The build packs data/calibration.json (apex_calpack); what a process unpacks for each GPU must be
// what the JSON reader makes of the file, to the bit (compared in packed form: every double and
// float byte for byte), and nothing may be lost or invented.
TEST(Params, PackedShippedCalibrationEqualsTheJsonFile) {
  std::ifstream in(std::string(APEX_SOURCE_DIR) + "/data/calibration.json", std::ios::binary);
  ASSERT_TRUE(in.good());
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<std::string> keys;
  for (const auto& [key, part] : json_member_spans(text, {"gpus"}, "data/calibration.json")) {
    keys.push_back(key);
    OpParams from_json = params_from_json(parse_json(part, key), key);
    prepare_corrections(from_json);  // the packed set carries the exps, made by the build
    const std::optional<OpParams> shipped = shipped_params(key);
    ASSERT_TRUE(shipped.has_value()) << key;
    std::string a, b;
    pack_params(from_json, a);
    pack_params(*shipped, b);
    EXPECT_EQ(a, b) << key;
    EXPECT_EQ(shipped->source, from_json.source) << key;
    EXPECT_EQ(shipped->decode_correction[0].log_factor, from_json.decode_correction[0].log_factor) << key;
    EXPECT_EQ(shipped->decode_correction[0].prepared(), from_json.decode_correction[0].prepared()) << key;
  }
  EXPECT_GE(keys.size(), 7U);
  EXPECT_FALSE(shipped_params("no_such_gpu").has_value());
}

TEST(Params, PackedFormRoundTripsAndRejectsDamage) {
  OpParams p;
  p.source = "test";
  p.gemm[1].m_half = 123.5;
  p.gemm_fitted[1] = true;
  p.moe[4].ep_mem_eff = 0.25;
  p.moe_fitted[4] = true;
  p.intra_correction[2].lo = {3, -1};
  p.intra_correction[2].size = {2, 3};
  p.intra_correction[2].log_factor = {0.1f, -0.2f, 0.3f, 0.f, 1e-7f, -3.5f};
  const std::string set = pack_param_set({{"a", OpParams{}}, {"b", p}});
  EXPECT_EQ(packed_param_keys(set, "t"), (std::vector<std::string>{"a", "b"}));
  const std::optional<OpParams> q = unpack_param_set(set, "b", "t");
  ASSERT_TRUE(q.has_value());
  std::string want, got;
  pack_params(p, want);
  pack_params(*q, got);
  EXPECT_EQ(got, want);
  EXPECT_EQ(q->intra_correction[2].log_factor, p.intra_correction[2].log_factor);
  EXPECT_EQ(q->moe[4].ep_mem_eff, 0.25);
  EXPECT_FALSE(unpack_param_set(set, "c", "t").has_value());
  // Prepared corrections travel with their factors, exactly.
  prepare_corrections(p);
  ASSERT_EQ(p.intra_correction[2].prepared().size(), 6U);
  const std::string prepared = pack_param_set({{"b", p}});
  const std::optional<OpParams> r = unpack_param_set(prepared, "b", "t");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->intra_correction[2].prepared(), p.intra_correction[2].prepared());
  EXPECT_TRUE(r->gemm_correction[0].prepared().empty());
  for (const std::size_t cut : {std::size_t{0}, std::size_t{5}, set.size() / 2, set.size() - 1})
    EXPECT_THROW(unpack_param_set(set.substr(0, cut), "b", "t"), InternalError) << cut;
}

}  // namespace
}  // namespace apex

namespace apex {
namespace {

const std::string kProfile = std::string(APEX_TEST_DATA) + "/profile";

// A table row far faster than the GPU's roofline is not a measurement of it: refused, naming the
// row; one merely faster than HBM (a benchmark loop keeps small matrices in L2) is kept, and the
// time a simulated step sees is clamped to the roofline, as the analytical backend's.
std::string profile_dir_with(const std::string& name, const std::string& gemm_rows) {
  const std::string dir = ::testing::TempDir() + "/" + name;
  std::filesystem::create_directories(dir);
  std::FILE* f = std::fopen((dir + "/gemm.csv").c_str(), "w");
  EXPECT_NE(f, nullptr);
  if (f != nullptr) {
    std::fputs(("m,n,k,dtype,latency_us\n" + gemm_rows).c_str(), f);
    std::fclose(f);
  }
  return dir;
}

TEST(ProfileOps, RowsBelowHalfTheRooflineAreRefusedAndLookupsClampedToIt) {
  const Gpu& h100 = find_gpu("h100-sxm");
  // 8192 x 8192 bf16 weights: 134 MB, 82 MB beyond the 50 MB L2 -> 24.4 us from HBM at 3.35 TB/s.
  const double weights_s = 8192.0 * 8192 * 2 / h100.hbm_bandwidth;  // 40 us, the full read
  const std::string fast = profile_dir_with("apex_profile_fast", "1,8192,8192,bf16,20\n");
  auto ops = make_profile_ops(h100, fast, false);
  EXPECT_NEAR(ops->gemm({1, 8192, 8192, DType::BF16, DType::BF16}),
              weights_s + 4.0 * 8192 / h100.hbm_bandwidth, 1e-9);
  const std::string absurd =
      profile_dir_with("apex_profile_absurd", "1,8192,8192,bf16,20\n4,8192,8192,bf16,2\n");
  EXPECT_CONTAINS(
      testing::user_error_of([&] { (void)make_profile_ops(h100, absurd, false); }),
      "apex_profile_absurd/gemm.csv: gemm m=4 n=8192 k=8192 bf16 takes 2 us, below half the h100-sxm "
      "roofline of 24.4 us");
  // Compute-bound: 2 * 4096^3 FLOPs at 989 TFLOPS = 139 us; 10 us is refused whatever the cache.
  const std::string flops = profile_dir_with("apex_profile_flops", "4096,4096,4096,bf16,10\n");
  EXPECT_CONTAINS(testing::user_error_of([&] { (void)make_profile_ops(h100, flops, false); }),
                  "gemm m=4096 n=4096 k=4096 bf16 takes 10 us, below half the h100-sxm roofline of 139");
}

TEST(ProfileOps, ExactGridPointsReturnTheMeasurement) {
  auto ops = make_profile_ops(find_gpu("h100-sxm"), kProfile, false);
  EXPECT_NEAR(ops->gemm({4, 256, 64, DType::BF16, DType::BF16}), 10 * 4 * 4 * 1e-6, 1e-12);
  CommGroup g{8, 1, find_gpu("h100-sxm").intra_node, find_gpu("h100-sxm").inter_node};
  EXPECT_NEAR(ops->collective(Collective::AllReduce, 1048576, g), 5 * 8 * 32 * 1e-6, 1e-12);
  DecodeAttnArgs d{16, 16 * 4096, 64, 8, 128, DType::BF16};
  EXPECT_NEAR(ops->attention_decode(d), (2 + 16 * 4096 * 8 / 1000.0) * 1e-6, 1e-12);
}

TEST(ProfileOps, InterpolatesInLogSpace) {
  auto ops = make_profile_ops(find_gpu("h100-sxm"), kProfile, false);
  // m = 2 lies halfway between 1 and 4 in log2: the latency is the geometric mean, 20 us.
  EXPECT_NEAR(ops->gemm({2, 64, 64, DType::BF16, DType::BF16}), std::sqrt(10.0 * 40.0) * 1e-6, 1e-9);
}

TEST(ProfileOps, OutsideTheTableIsAClearErrorUnlessFallingBack) {
  auto strict = make_profile_ops(find_gpu("h100-sxm"), kProfile, false);
  try {
    strict->gemm({64, 64, 64, DType::BF16, DType::BF16});
    FAIL() << "expected a UserError";
  } catch (const UserError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("gemm m=64 n=64 k=64"), std::string::npos) << msg;
    EXPECT_NE(msg.find(opt("perf_fallback") + " analytical"), std::string::npos) << msg;  // by concept
  }
  EXPECT_THROW(strict->gemm({1, 64, 64, DType::FP8, DType::BF16}), UserError);  // no fp8 rows
  auto lenient = make_profile_ops(find_gpu("h100-sxm"), kProfile, true);
  auto analytical = make_analytical_ops(find_gpu("h100-sxm"));
  EXPECT_DOUBLE_EQ(lenient->gemm({64, 64, 64, DType::BF16, DType::BF16}),
                   analytical->gemm({64, 64, 64, DType::BF16, DType::BF16}));
  EXPECT_THROW(make_profile_ops(find_gpu("h100-sxm"), std::string(APEX_TEST_DATA) + "/nope", false),
               UserError);
}

TEST(ProfileOps, SharedMeasurementsAgreeWithTheFittedModelOnA70bDecodeStep) {
  const std::string dir = std::string(APEX_SHARED_DIR) + "/measurements/h100_sxm";
  if (!std::filesystem::is_directory(dir)) GTEST_SKIP() << dir;
  const Model m = load_model("llama-3.1-70b");
  const Cluster c = make_cluster("h100-sxm", 1, 8);
  Plan p;
  p.tp = 8;
  ASSERT_FALSE(make_plan(m, c, p));
  std::shared_ptr<const OpModel> prof(make_profile_ops(c.gpu, dir, false));
  std::shared_ptr<const OpModel> ana(make_analytical_ops(c.gpu));
  BatchShape b;
  b.decode_seqs = 32;
  b.decode_kv = 32 * 2000;
  b.sampled = 32;
  std::vector<double> tp, ta;
  CostModel(m, c, p, Precision{}, prof, EngineCosts{}).stage_times(b, tp);
  CostModel(m, c, p, Precision{}, ana, EngineCosts{}).stage_times(b, ta);
  EXPECT_NEAR(tp[0] / ta[0], 1.0, 0.10);  // two backends, one set of measurements
}

}  // namespace
}  // namespace apex

namespace apex {
namespace {

// Issue #9, the cost of a mixed step: vLLM V1 runs a step's decodes and prefill chunks as one
// batch, each layer's GEMMs once at M = all its tokens. The marginal GEMM cost of adding a
// 448-token chunk to 64 running decodes is then GEMM(M=512) − GEMM(M=64) per projection, not a
// second weight read; checked against the measured H100 kernel table for a layer whose four
// projections are table shapes (hidden 4096, 32/8 heads of 128, gated FFN 8192: QKV 6144×4096,
// O 4096×4096, gate-up 16384×4096, down 4096×8192).
TEST(MixedStep, MarginalGemmCostOfAPrefillChunkMatchesTheKernelTable) {
  const std::string table = std::string(APEX_SHARED_DIR) + "/measurements/h100_sxm/gemm.csv";
  if (!std::filesystem::exists(table)) GTEST_SKIP() << table << " not present";
  std::map<std::array<long, 3>, double> us;
  {
    std::ifstream in(table);
    std::string line;
    std::getline(in, line);
    while (std::getline(in, line)) {
      long m = 0, n = 0, k = 0;
      char dtype[16] = {};
      double t = 0;
      if (std::sscanf(line.c_str(), "%ld,%ld,%ld,%15[^,],%lf", &m, &n, &k, dtype, &t) == 5 &&
          std::string(dtype) == "bf16")
        us[{m, n, k}] = t;
    }
  }
  const long shapes[4][2] = {{6144, 4096}, {4096, 4096}, {16384, 4096}, {4096, 8192}};
  double table_64 = 0, table_512 = 0;
  for (const auto& s : shapes) {
    ASSERT_TRUE(us.count({64, s[0], s[1]}) && us.count({512, s[0], s[1]}));
    table_64 += us[{64, s[0], s[1]}] * 1e-6;
    table_512 += us[{512, s[0], s[1]}] * 1e-6;
  }
  const Json j = parse_json(R"({"model_type":"llama","hidden_size":4096,"num_attention_heads":32,
      "num_key_value_heads":8,"intermediate_size":8192,"num_hidden_layers":1,"vocab_size":32000,
      "max_position_embeddings":8192})",
                            "inline");
  const Model m = model_from_hf_config(j, "mixed-step-layer", "inline");
  const Cluster c = make_cluster("h100-sxm", 1, 1);
  Plan p;
  ASSERT_FALSE(make_plan(m, c, p));
  auto ops = std::shared_ptr<const OpModel>(make_analytical_ops(c.gpu));
  CostModel cost(m, c, p, Precision{}, ops, EngineCosts{});
  const ShapeBuilder shapes_of(cost, false);
  BatchShape decode, mixed;
  for (int i = 0; i < 64; ++i) {
    shapes_of.add(decode, TokenSpan{1000, 1, 1000, 1});
    shapes_of.add(mixed, TokenSpan{1000, 1, 1000, 1});
  }
  shapes_of.add(mixed, TokenSpan{448, 0, 0, 448});
  ASSERT_EQ(mixed.tokens(), 512);
  const double marginal = cost.layer(0, mixed).gemm - cost.layer(0, decode).gemm;
  // Each point within 8% of the table (model 114.8 / 188.0 us, table 122.4 / 187.1); their
  // difference, 64.6 us measured, then within 15%.
  EXPECT_NEAR(cost.layer(0, decode).gemm / table_64, 1.0, 0.08);
  EXPECT_NEAR(cost.layer(0, mixed).gemm / table_512, 1.0, 0.08);
  EXPECT_NEAR(marginal / (table_512 - table_64), 1.0, 0.15);
  // One weight read for the whole step: the mixed GEMMs cost well under a decode step plus a
  // separate 448-token prefill step.
  BatchShape alone;
  shapes_of.add(alone, TokenSpan{448, 0, 0, 448});
  EXPECT_LT(cost.layer(0, mixed).gemm, 0.8 * (cost.layer(0, decode).gemm + cost.layer(0, alone).gemm));
}

// vLLM V1 runs one varlen attention kernel over a mixed step's chunks and decodes: the step pays
// the kernel's fixed cost once. Adding a chunk to a decode batch then costs the chunk's prefill
// kernel less that fixed cost (the smallest decode call), which itself matches the kernel table's
// smallest measured call; engines with separate kernels pay both.
TEST(MixedStep, VarlenAttentionPaysTheKernelFloorOnce) {
  const Json j = parse_json(R"({"model_type":"llama","hidden_size":4096,"num_attention_heads":32,
      "num_key_value_heads":8,"intermediate_size":8192,"num_hidden_layers":1,"vocab_size":32000,
      "max_position_embeddings":8192})",
                            "inline");
  const Model m = model_from_hf_config(j, "varlen-layer", "inline");
  const Cluster c = make_cluster("h100-sxm", 1, 1);
  Plan p;
  ASSERT_FALSE(make_plan(m, c, p));
  auto ops = std::shared_ptr<const OpModel>(make_analytical_ops(c.gpu));
  EngineCosts separate, varlen;
  varlen.varlen_attention = true;
  const CostModel two(m, c, p, Precision{}, ops, separate), one(m, c, p, Precision{}, ops, varlen);
  const ShapeBuilder shapes_of(one, false);
  BatchShape decode, chunk, mixed;
  for (int i = 0; i < 32; ++i) {
    shapes_of.add(decode, TokenSpan{1000, 1, 1000, 1});
    shapes_of.add(mixed, TokenSpan{1000, 1, 1000, 1});
  }
  shapes_of.add(chunk, TokenSpan{512, 0, 0, 256});
  shapes_of.add(mixed, TokenSpan{512, 0, 0, 256});
  const double floor = ops->attention_decode({1, 1, 32, 8, 128, DType::BF16, false});
  const double d = one.layer(0, decode).attention, q = one.layer(0, chunk).attention;
  EXPECT_DOUBLE_EQ(two.layer(0, mixed).attention, d + q);
  EXPECT_NEAR(one.layer(0, mixed).attention, d + q - floor, 1e-12);
  EXPECT_GT(floor, 5e-6);            // a real fixed cost, not rounding
  EXPECT_LT(floor, std::min(d, q));  // so the whole floor is saved, not clamped
  // Decode-only and prefill-only steps are one kernel either way.
  EXPECT_DOUBLE_EQ(one.layer(0, decode).attention, two.layer(0, decode).attention);
  EXPECT_DOUBLE_EQ(one.layer(0, chunk).attention, two.layer(0, chunk).attention);
  const std::string table = std::string(APEX_SHARED_DIR) + "/measurements/h100_sxm/attention_decode.csv";
  if (!std::filesystem::exists(table)) return;
  std::ifstream in(table);
  std::string line;
  double smallest = 0;
  while (std::getline(in, line)) {
    // batch_size,past_kv_len,num_heads,num_kv_heads,head_dim,window_size,dtype,kv_dtype,latency_us
    if (line.rfind("1,1,32,8,128,0,bf16,bf16,", 0) == 0) smallest = std::stod(line.substr(25));
  }
  ASSERT_GT(smallest, 0) << "no batch-1 row in " << table;
  EXPECT_NEAR(floor / (smallest * 1e-6), 1.0, 0.15);  // fitted t0 against the measured call
}

}  // namespace
}  // namespace apex
