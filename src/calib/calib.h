// calib/calib.h — fitting the analytical op model to measured kernel tables, and validating any
// op backend against them (per GPU and op kind: median and p90 absolute relative error).
#pragma once

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "hw/hardware.h"
#include "perf/measurements.h"
#include "perf/params.h"

namespace apex {

// One op kind's error summary against every measured row it covers.
struct OpError {
  std::string kind;  // "gemm bf16", "attention_prefill", "all_reduce (nccl)", ...
  std::size_t rows = 0;
  double median = 0;  // median of |model/measured - 1|
  double p90 = 0;
  double mean_signed = 0;  // mean of (model/measured - 1): bias
};

struct ValidationReport {
  std::string gpu;
  std::vector<OpError> ops;
  std::vector<std::string> skipped;  // row families not modelled, with counts and why
};

// Which rows are compared, and how a row maps to op arguments, is shared by fit and validate.
ValidationReport validate_ops(const OpModel& ops, const Gpu& gpu, const MeasurementSet& m);

// Fits every op family that has rows; families without rows keep `start`'s values.
OpParams fit_op_params(const Gpu& gpu, const MeasurementSet& m, const OpParams& start,
                       const std::string& provenance);

// Splits every table into a training set and a held-out set: row i is held out when
// i % folds == fold (deterministic). For out-of-sample error estimates.
std::pair<MeasurementSet, MeasurementSet> split_measurements(const MeasurementSet& m, int folds, int fold);

// Preset GPU whose calibration_key is `key` ("h100_sxm"), or nullptr.
const Gpu* gpu_for_calibration_key(const std::string& key);

}  // namespace apex
