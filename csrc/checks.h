// Argument checks shared by the CPU and CUDA bindings (torch-bound).
#pragma once
#include <torch/types.h>

#include <optional>

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

}  // namespace relext
