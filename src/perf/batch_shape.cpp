#include "perf/batch_shape.h"

namespace apex {

void ShapeBuilder::add(BatchShape& s, const TokenSpan& t) const {
  const std::int64_t past = t.past;
  const std::int32_t q = t.q;
  const std::int64_t num_tokens = t.prompt + t.generated;
  if (encoder_decoder_) {
    // The prompt is the encoder input (one whole step); decoder tokens attend to their own
    // tokens and, through cross-attention, to the prompt.
    if (past < t.prompt) {
      ++s.prefill_seqs;
      s.prefill_tokens += q;
      const auto pq = static_cast<double>(q);
      s.prefill_pairs += pq * (pq + 1) / 2;
      s.prefill_kv += q;
    } else {
      ++s.decode_seqs;
      s.decode_kv += past + 1 - t.prompt;
    }
    s.cross_kv += t.prompt;
    if (past + q >= num_tokens) ++s.sampled;
    return;
  }
  const bool decode = q == 1 || (t.generated > 0 && past + 1 == num_tokens);
  if (decode) {
    ++s.decode_seqs;
    s.spec_tokens += q - 1;
    s.decode_kv += past + 1;
    if (local_) s.decode_kv_window += cost_.local_kv(past + 1);
  } else {
    ++s.prefill_seqs;
    s.prefill_tokens += q;
    const auto pq = static_cast<double>(q);
    s.prefill_pairs += pq * (static_cast<double>(past) + (pq + 1) / 2);
    s.prefill_kv += past + q;
    if (local_) {
      s.prefill_pairs_window += cost_.local_pairs(past, q);
      s.prefill_kv_window += cost_.local_prefill_kv(past, q);
    }
  }
  if (past + q >= num_tokens) ++s.sampled;
}

}  // namespace apex
