// Argument checks shared by the CPU and CUDA bindings (torch-bound).
#pragma once
#include <torch/types.h>

#include <optional>

#include "pair_conv_pool.h"

namespace relext {

inline void check_ranking_inputs(const at::Tensor& scores, const at::Tensor& labels,
                          const std::optional<at::Tensor>& id_logits) {
  TORCH_CHECK(scores.dim() == 2, "ranking_loss: scores must be [B, C], got ", scores.sizes());
  TORCH_CHECK(labels.dim() == 1 && labels.size(0) == scores.size(0),
              "ranking_loss: labels must be [B] with B = ", scores.size(0), ", got ", labels.sizes());
  TORCH_CHECK(labels.scalar_type() == at::kLong, "ranking_loss: labels must be int64");
  TORCH_CHECK(scores.size(1) >= 1, "ranking_loss: need at least one positive class");
  if (id_logits) {
    TORCH_CHECK(id_logits->dim() == 2 && id_logits->size(0) == scores.size(0) && id_logits->size(1) == 2,
                "ranking_loss: id_logits must be [B, 2], got ", id_logits->sizes());
    TORCH_CHECK(id_logits->scalar_type() == scores.scalar_type(),
                "ranking_loss: id_logits and scores must share a dtype");
  }
}

inline void check_index(const at::Tensor& index, const at::Tensor& like, const char* name) {
  TORCH_CHECK(index.scalar_type() == at::kLong, "embed_concat: ", name, " must be int64");
  TORCH_CHECK(index.sizes() == like.sizes(), "embed_concat: ", name, " has shape ", index.sizes(),
              ", words has ", like.sizes());
}

// The index tensors of embed_concat: int64, all of the words' shape; tags with a tag table.
inline void check_embed_inputs(const at::Tensor& words, const at::Tensor& pos1, const at::Tensor& pos2,
                               const std::optional<at::Tensor>& tag_table,
                               const std::optional<at::Tensor>& tags) {
  check_index(words, words, "words");
  check_index(pos1, words, "pos1");
  check_index(pos2, words, "pos2");
  TORCH_CHECK(tag_table.has_value() == tags.has_value(), "embed_concat: tag_table and tags go together");
  if (tags) check_index(*tags, words, "tags");
}

inline PairConvShape pair_shape(const at::Tensor& rows, const at::Tensor& table, int64_t pad_left,
                                int64_t activation, int64_t pool) {
  return PairConvShape{rows.size(0), rows.size(1), rows.size(2), table.size(0), table.size(1), table.size(2),
                       pad_left, static_cast<int>(activation), static_cast<int>(pool)};
}

// pair_conv_pool: shapes and dtypes (values are range-checked by each device's kernel).
inline void check_pair_inputs(const at::Tensor& rows, const at::Tensor& group, const at::Tensor& pos1,
                              const at::Tensor& pos2, const at::Tensor& table1, const at::Tensor& table2,
                              const at::Tensor& lengths, const std::optional<at::Tensor>& cuts,
                              int64_t pad_left, int64_t activation, int64_t pool) {
  TORCH_CHECK(rows.dim() == 3, "pair_conv_pool: rows must be [G, L, F], got ", rows.sizes());
  TORCH_CHECK(table1.dim() == 4 && table1.sizes() == table2.sizes(),
              "pair_conv_pool: table1 and table2 must both be [Gt, K, P, F], got ", table1.sizes(), " and ",
              table2.sizes());
  TORCH_CHECK(table1.scalar_type() == rows.scalar_type() && table2.scalar_type() == rows.scalar_type(),
              "pair_conv_pool: rows and tables must share a dtype");
  TORCH_CHECK(table1.size(3) == rows.size(2), "pair_conv_pool: tables have ", table1.size(3),
              " filters, rows have ", rows.size(2));
  TORCH_CHECK(table1.size(0) == 1 || table1.size(0) == rows.size(0),
              "pair_conv_pool: tables must have 1 group or one per row group (", rows.size(0), "), got ",
              table1.size(0));
  TORCH_CHECK(group.dim() == 1 && group.scalar_type() == at::kLong, "pair_conv_pool: group must be int64 [B]");
  const int64_t B = group.size(0);
  for (const at::Tensor* p : {&pos1, &pos2}) {
    TORCH_CHECK(p->scalar_type() == at::kLong && p->dim() == 2 && p->size(0) == B && p->size(1) == rows.size(1),
                "pair_conv_pool: pos1 and pos2 must be int64 [B, L] = [", B, ", ", rows.size(1), "], got ",
                p->sizes());
  }
  TORCH_CHECK(lengths.scalar_type() == at::kLong && lengths.dim() == 1 && lengths.size(0) == B,
              "pair_conv_pool: lengths must be int64 [B]");
  TORCH_CHECK(0 <= activation && activation <= 2, "pair_conv_pool: activation is 0 (none), 1 (relu) or 2 (tanh)");
  TORCH_CHECK(0 <= pool && pool <= 3, "pair_conv_pool: pool is 0 (max), 1 (mean), 2 (max+mean) or 3 (piecewise)");
  TORCH_CHECK(pool != 3 || (cuts && cuts->scalar_type() == at::kLong && cuts->dim() == 2 && cuts->size(0) == B &&
                            cuts->size(1) == 2),
              "pair_conv_pool: piecewise pooling needs cuts, int64 [B, 2]");
  TORCH_CHECK(0 <= pad_left && pad_left < table1.size(1), "pair_conv_pool: pad_left must lie in [0, K)");
}

// pair_conv_pool's inputs made contiguous, checked (shapes here; index values by the
// device's `check_values(tensor, lo, hi, name)`), with the shape and empty outputs.
struct PairInputs {
  at::Tensor rows, group, pos1, pos2, table1, table2, lengths, cuts;
  PairConvShape shape;
  at::Tensor out, amax;
};

template <typename CheckValues>
PairInputs pair_inputs(const at::Tensor& rows, const at::Tensor& group, const at::Tensor& pos1,
                       const at::Tensor& pos2, const at::Tensor& table1, const at::Tensor& table2,
                       const at::Tensor& lengths, const std::optional<at::Tensor>& cuts, int64_t pad_left,
                       int64_t activation, int64_t pool, CheckValues check_values) {
  check_pair_inputs(rows, group, pos1, pos2, table1, table2, lengths, cuts, pad_left, activation, pool);
  PairInputs in{rows.contiguous(), group.contiguous(), pos1.contiguous(), pos2.contiguous(), table1.contiguous(),
                table2.contiguous(), lengths.contiguous(), cuts ? cuts->contiguous() : at::Tensor(), {}, {}, {}};
  const PairConvShape& s = in.shape = pair_shape(in.rows, in.table1, pad_left, activation, pool);
  check_values(in.group, 0, s.G, "group");
  check_values(in.pos1, 0, s.P, "pos1");
  check_values(in.pos2, 0, s.P, "pos2");
  check_values(in.lengths, 0, s.L + 1, "lengths");
  const int64_t B = in.group.size(0);
  in.out = at::empty({B, pooled_blocks(s.pool) * s.F}, in.rows.options());
  in.amax = at::empty({B, max_blocks(s.pool), s.F}, in.rows.options().dtype(at::kInt));
  return in;
}

}  // namespace relext
