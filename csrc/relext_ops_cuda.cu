// CUDA registration of the relext ops: the thin torch binding around kernels_cuda.cuh.
// Kernels run on the current stream; half and bfloat16 accumulate in float.
#include <ATen/Dispatch.h>
#include <ATen/OpMathType.h>
#include <c10/cuda/CUDAException.h>
#include <c10/cuda/CUDAStream.h>
#include <c10/cuda/CUDAGuard.h>
#include <torch/library.h>

#include <vector>

#include "checks.h"
#include "kernels_cuda.cuh"

namespace relext {
namespace {

constexpr int kThreads = 256;

int64_t blocks_for(int64_t n, int64_t threads) { return std::max<int64_t>(1, (n + threads - 1) / threads); }

void check_labels_cuda(const at::Tensor& labels, int64_t C) {
  TORCH_CHECK(!((labels < -1) | (labels >= C)).any().item<bool>(),
              "ranking_loss: a label is outside [-1, ", C, ") (-1 is the negative class)");
}

std::tuple<at::Tensor, at::Tensor, at::Tensor> ranking_loss_cuda(
    const at::Tensor& scores, const at::Tensor& labels_, const std::optional<at::Tensor>& id_logits,
    double m_pos, double m_neg, double gamma, double id_weight, bool mean) {
  check_ranking_inputs(scores, labels_, id_logits);
  c10::cuda::CUDAGuard guard(scores.device());
  const auto labels = labels_.contiguous();
  const int64_t B = scores.size(0), C = scores.size(1);
  check_labels_cuda(labels, C);
  auto per = at::empty({B}, scores.options());
  auto dscores = at::empty({B, C}, scores.options());
  auto did = at::empty({id_logits ? B : 0, 2}, scores.options());
  if (B > 0) {
    const RankingParams p{m_pos, m_neg, gamma, id_weight};
    auto stream = c10::cuda::getCurrentCUDAStream();
    AT_DISPATCH_FLOATING_TYPES_AND2(at::kHalf, at::kBFloat16, scores.scalar_type(), "ranking_loss_cuda", [&] {
      using A = at::opmath_type<scalar_t>;
      const A scale = mean ? A(1) / A(B) : A(1);
      cuda::ranking_forward_kernel<scalar_t, A><<<blocks_for(B, kThreads), kThreads, 0, stream>>>(
          scores.data_ptr<scalar_t>(), scores.stride(0), scores.stride(1), B, C, labels.data_ptr<int64_t>(),
          id_logits ? id_logits->data_ptr<scalar_t>() : nullptr, id_logits ? id_logits->stride(0) : 0,
          id_logits ? id_logits->stride(1) : 0, p, scale, per.data_ptr<scalar_t>(),
          dscores.data_ptr<scalar_t>(), id_logits ? did.data_ptr<scalar_t>() : nullptr);
      C10_CUDA_KERNEL_LAUNCH_CHECK();
    });
  }
  // The mean of half/bfloat16 losses accumulates in float (at::mean does).
  return {mean ? per.mean() : per, dscores, did};
}

std::tuple<at::Tensor, at::Tensor> ranking_loss_backward_cuda(const at::Tensor& grad_,
                                                              const at::Tensor& dscores,
                                                              const at::Tensor& did) {
  c10::cuda::CUDAGuard guard(dscores.device());
  const auto grad = grad_.contiguous();
  const int64_t B = dscores.size(0), C = dscores.size(1);
  TORCH_CHECK(grad.dim() == 0 || grad.numel() == B, "ranking_loss_backward: grad must be a scalar or [B]");
  auto gs = at::empty_like(dscores), gid = at::empty_like(did);
  if (B == 0) return {gs, gid};
  auto stream = c10::cuda::getCurrentCUDAStream();
  AT_DISPATCH_FLOATING_TYPES_AND2(at::kHalf, at::kBFloat16, dscores.scalar_type(), "ranking_loss_backward_cuda", [&] {
    using A = at::opmath_type<scalar_t>;
    cuda::ranking_backward_kernel<scalar_t, A><<<blocks_for(B, kThreads), kThreads, 0, stream>>>(
        grad.data_ptr<scalar_t>(), grad.dim() == 0 ? 1 : 0, dscores.data_ptr<scalar_t>(),
        did.numel() > 0 ? did.data_ptr<scalar_t>() : nullptr, B, C, gs.data_ptr<scalar_t>(),
        did.numel() > 0 ? gid.data_ptr<scalar_t>() : nullptr);
    C10_CUDA_KERNEL_LAUNCH_CHECK();
  });
  return {gs, gid};
}

template <typename S>
cuda::Segments<S> make_segments(const std::vector<at::Tensor>& tables, const std::vector<at::Tensor>& index) {
  cuda::Segments<S> segs{};
  segs.count = static_cast<int>(tables.size());
  int64_t offset = 0;
  for (size_t k = 0; k < tables.size(); ++k) {
    segs.seg[k] = Segment<S>{tables[k].defined() ? tables[k].data_ptr<S>() : nullptr,
                             tables[k].size(0), tables[k].size(1), offset, index[k].data_ptr<int64_t>()};
    offset += tables[k].size(1);
  }
  segs.width = offset;
  return segs;
}

const char* kStreamNames[4] = {"words", "pos1", "pos2", "tags"};

at::Tensor embed_concat_cuda(const at::Tensor& word_table, const at::Tensor& pos_table,
                             const std::optional<at::Tensor>& pos2_table,
                             const std::optional<at::Tensor>& tag_table, const at::Tensor& words,
                             const at::Tensor& pos1, const at::Tensor& pos2,
                             const std::optional<at::Tensor>& tags, int64_t padding_idx) {
  check_embed_inputs(words, pos1, pos2, tag_table, tags);
  c10::cuda::CUDAGuard guard(word_table.device());
  std::vector<at::Tensor> tables = {word_table.contiguous(), pos_table.contiguous(),
                                    (pos2_table ? *pos2_table : pos_table).contiguous()};
  std::vector<at::Tensor> index = {words.contiguous(), pos1.contiguous(), pos2.contiguous()};
  if (tags) {
    tables.push_back(tag_table->contiguous());
    index.push_back(tags->contiguous());
  }
  const int64_t N = words.numel();
  auto stream = c10::cuda::getCurrentCUDAStream();
  at::Tensor out;
  AT_DISPATCH_FLOATING_TYPES_AND2(at::kHalf, at::kBFloat16, word_table.scalar_type(), "embed_concat_cuda", [&] {
    auto segs = make_segments<scalar_t>(tables, index);
    std::vector<int64_t> shape(words.sizes().begin(), words.sizes().end());
    shape.push_back(segs.width);
    out = at::empty(shape, word_table.options());
    if (N == 0) return;
    auto flag = at::zeros({4}, words.options().dtype(at::kInt));
    cuda::embed_check_kernel<scalar_t><<<std::min<int64_t>(blocks_for(N, kThreads), 1024), kThreads, 0, stream>>>(
        segs, N, flag.data_ptr<int>());
    C10_CUDA_KERNEL_LAUNCH_CHECK();
    auto bad = flag.cpu();
    for (int k = 0; k < segs.count; ++k) {
      TORCH_CHECK_INDEX(bad.data_ptr<int>()[k] == 0, "embed_concat: an index of ", kStreamNames[k],
                        " is out of range for a table of ", segs.seg[k].rows, " rows");
    }
    cuda::embed_forward_kernel<scalar_t><<<std::min<int64_t>(N, 65535), 128, 0, stream>>>(
        segs, N, padding_idx, out.data_ptr<scalar_t>());
    C10_CUDA_KERNEL_LAUNCH_CHECK();
  });
  return out;
}

std::tuple<at::Tensor, at::Tensor, at::Tensor, at::Tensor> embed_concat_backward_cuda(
    const at::Tensor& grad_, const at::Tensor& words, const at::Tensor& pos1, const at::Tensor& pos2,
    const std::optional<at::Tensor>& tags, at::IntArrayRef rows, at::IntArrayRef widths,
    int64_t padding_idx, bool deterministic) {
  TORCH_CHECK(rows.size() == 4 && widths.size() == 4, "embed_concat_backward: rows and widths have 4 entries");
  c10::cuda::CUDAGuard guard(grad_.device());
  const auto grad = grad_.contiguous();
  const bool shared = rows[2] == 0;
  const int64_t Dw = widths[0], Dp = widths[1], Dp2 = shared ? Dp : widths[2], Dt = widths[3];
  const int64_t D = Dw + Dp + Dp2 + Dt, N = words.numel();
  TORCH_CHECK(grad.size(-1) == D, "embed_concat_backward: grad width ", grad.size(-1), " != ", D);
  auto f32 = grad.options().dtype(at::kFloat);
  std::vector<at::Tensor> acc = {at::zeros({rows[0], Dw}, f32), at::zeros({rows[1], Dp}, f32),
                                 at::zeros({shared ? 0 : rows[2], shared ? 0 : Dp2}, f32),
                                 at::zeros({rows[3], Dt}, f32)};
  std::vector<at::Tensor> index = {words.contiguous(), pos1.contiguous(), pos2.contiguous()};
  if (tags && Dt > 0) index.push_back(tags->contiguous());
  // Stream k writes table dest[k]: a shared position table takes both position streams.
  const int dest_of[4] = {0, 1, shared ? 1 : 2, 3};
  const int64_t offsets[4] = {0, Dw, Dw + Dp, Dw + Dp + Dp2};
  const int64_t stream_width[4] = {Dw, Dp, Dp2, Dt};
  auto stream = c10::cuda::getCurrentCUDAStream();
  if (N > 0) {
    AT_DISPATCH_FLOATING_TYPES_AND2(at::kHalf, at::kBFloat16, grad.scalar_type(), "embed_concat_backward_cuda", [&] {
      if (!deterministic) {
        cuda::Segments<scalar_t> segs{};
        cuda::Dest dest{};
        segs.count = static_cast<int>(index.size());
        for (int k = 0; k < segs.count; ++k) {
          segs.seg[k] = Segment<scalar_t>{nullptr, 0, stream_width[k], offsets[k], index[k].data_ptr<int64_t>()};
          dest.p[k] = acc[dest_of[k]].data_ptr<float>();
        }
        segs.width = D;
        cuda::embed_backward_atomic_kernel<scalar_t><<<std::min<int64_t>(N, 65535), 128, 0, stream>>>(
            grad.data_ptr<scalar_t>(), segs, dest, N, padding_idx);
        C10_CUDA_KERNEL_LAUNCH_CHECK();
        return;
      }
      // Deterministic: per table, entries sorted by row (stable), one fixed-order sum per row.
      for (int t = 0; t < 4; ++t) {
        std::vector<at::Tensor> r, tok, col;
        for (int k = 0; k < static_cast<int>(index.size()); ++k) {
          if (dest_of[k] != t) continue;
          r.push_back(index[k].flatten());
          tok.push_back(at::arange(N, index[k].options()));
          col.push_back(at::full({N}, offsets[k], index[k].options()));
        }
        if (r.empty() || acc[t].numel() == 0) continue;
        auto all_rows = at::cat(r), all_tok = at::cat(tok), all_col = at::cat(col);
        auto sorted = all_rows.sort(/*stable=*/true, /*dim=*/0, /*descending=*/false);
        auto rows_sorted = std::get<0>(sorted), perm = std::get<1>(sorted);
        auto tok_sorted = all_tok.index_select(0, perm), col_sorted = all_col.index_select(0, perm);
        auto uniq = at::unique_consecutive(rows_sorted, false, true);
        auto counts = std::get<2>(uniq);
        auto run_start = at::cat({at::zeros({1}, counts.options()), counts.cumsum(0)});
        const int64_t runs = counts.numel();
        cuda::embed_backward_sorted_kernel<scalar_t><<<std::min<int64_t>(runs, 65535), 128, 0, stream>>>(
            grad.data_ptr<scalar_t>(), D, rows_sorted.data_ptr<int64_t>(), tok_sorted.data_ptr<int64_t>(),
            col_sorted.data_ptr<int64_t>(), run_start.data_ptr<int64_t>(), runs, acc[t].size(1),
            padding_idx, acc[t].data_ptr<float>());
        C10_CUDA_KERNEL_LAUNCH_CHECK();
      }
    });
  }
  auto dtype = grad.scalar_type();
  return {acc[0].to(dtype), acc[1].to(dtype), acc[2].to(dtype), acc[3].to(dtype)};
}

// ---- pair_conv_pool ------------------------------------------------------------

void check_values_cuda(const at::Tensor& t, int64_t lo, int64_t hi, const char* name) {
  TORCH_CHECK_INDEX(!((t < lo) | (t >= hi)).any().item<bool>(), "pair_conv_pool: a value of ", name,
                    " is outside [", lo, ", ", hi, ")");
}

int64_t column_threads(int64_t F) { return std::min<int64_t>(256, std::max<int64_t>(32, (F + 31) / 32 * 32)); }

std::tuple<at::Tensor, at::Tensor> pair_conv_pool_cuda(const at::Tensor& rows_, const at::Tensor& group_,
                                                       const at::Tensor& pos1_, const at::Tensor& pos2_,
                                                       const at::Tensor& table1_, const at::Tensor& table2_,
                                                       const at::Tensor& lengths_,
                                                       const std::optional<at::Tensor>& cuts_, int64_t pad_left,
                                                       int64_t activation, int64_t pool) {
  c10::cuda::CUDAGuard guard(rows_.device());
  const PairInputs in = pair_inputs(rows_, group_, pos1_, pos2_, table1_, table2_, lengths_, cuts_, pad_left,
                                    activation, pool, check_values_cuda);
  const auto &rows = in.rows, &group = in.group, &pos1 = in.pos1, &pos2 = in.pos2, &table1 = in.table1,
             &table2 = in.table2, &lengths = in.lengths, &cuts = in.cuts, &out = in.out, &amax = in.amax;
  const PairConvShape& s = in.shape;
  const int64_t B = group.size(0);
  if (B == 0 || s.F == 0) return {out, amax};
  auto stream = c10::cuda::getCurrentCUDAStream();
  AT_DISPATCH_FLOATING_TYPES_AND2(at::kHalf, at::kBFloat16, rows.scalar_type(), "pair_conv_pool_cuda", [&] {
    using A = at::opmath_type<scalar_t>;
    dispatch_pair_modes(s.activation, s.pool, [&](auto act, auto how) {
      cuda::pair_forward_kernel<scalar_t, A, decltype(act)::value, decltype(how)::value>
          <<<std::min<int64_t>(B, 65535), column_threads(s.F), 0, stream>>>(
              s, rows.data_ptr<scalar_t>(), table1.data_ptr<scalar_t>(), table2.data_ptr<scalar_t>(),
              group.data_ptr<int64_t>(), pos1.data_ptr<int64_t>(), pos2.data_ptr<int64_t>(),
              lengths.data_ptr<int64_t>(), cuts.defined() ? cuts.data_ptr<int64_t>() : nullptr, B,
              out.data_ptr<scalar_t>(), amax.data_ptr<int32_t>());
      C10_CUDA_KERNEL_LAUNCH_CHECK();
    });
  });
  return {out, amax};
}

std::tuple<at::Tensor, at::Tensor, at::Tensor> pair_conv_pool_backward_cuda(
    const at::Tensor& grad_, const at::Tensor& pooled_, const at::Tensor& amax_, const at::Tensor& rows_,
    const at::Tensor& group_, const at::Tensor& pos1_, const at::Tensor& pos2_, const at::Tensor& table1_,
    const at::Tensor& table2_, const at::Tensor& lengths_, int64_t pad_left, int64_t activation, int64_t pool) {
  c10::cuda::CUDAGuard guard(rows_.device());
  const auto grad = grad_.contiguous(), pooled = pooled_.contiguous(), amax = amax_.contiguous(),
             rows = rows_.contiguous(), group = group_.contiguous(), pos1 = pos1_.contiguous(),
             pos2 = pos2_.contiguous(), table1 = table1_.contiguous(), table2 = table2_.contiguous(),
             lengths = lengths_.contiguous();
  const PairConvShape s = pair_shape(rows, table1, pad_left, activation, pool);
  const int64_t B = group.size(0);
  TORCH_CHECK(grad.sizes() == pooled.sizes() && grad.size(0) == B && grad.size(1) == pooled_blocks(s.pool) * s.F,
              "pair_conv_pool_backward: grad must be [B, ", pooled_blocks(s.pool) * s.F, "], got ", grad.sizes());
  // Accumulate in float (double for double), then cast to the storage type.
  const auto acc_type = rows.scalar_type() == at::kDouble ? at::kDouble : at::kFloat;
  auto grows = at::zeros(rows.sizes(), rows.options().dtype(acc_type));
  auto gt1 = at::zeros(table1.sizes(), rows.options().dtype(acc_type));
  auto gt2 = at::zeros(table2.sizes(), rows.options().dtype(acc_type));
  if (B > 0 && s.F > 0) {
    auto stream = c10::cuda::getCurrentCUDAStream();
    AT_DISPATCH_FLOATING_TYPES_AND2(at::kHalf, at::kBFloat16, rows.scalar_type(), "pair_conv_pool_backward_cuda", [&] {
      using A = at::opmath_type<scalar_t>;
      dispatch_pair_modes(s.activation, s.pool, [&](auto act, auto how) {
        cuda::pair_backward_kernel<scalar_t, A, decltype(act)::value, decltype(how)::value>
            <<<std::min<int64_t>(B, 65535), column_threads(s.F), 0, stream>>>(
                s, grad.data_ptr<scalar_t>(), pooled.data_ptr<scalar_t>(), amax.data_ptr<int32_t>(),
                rows.data_ptr<scalar_t>(), table1.data_ptr<scalar_t>(), table2.data_ptr<scalar_t>(),
                group.data_ptr<int64_t>(), pos1.data_ptr<int64_t>(), pos2.data_ptr<int64_t>(),
                lengths.data_ptr<int64_t>(), B, grows.data_ptr<A>(), gt1.data_ptr<A>(), gt2.data_ptr<A>());
        C10_CUDA_KERNEL_LAUNCH_CHECK();
      });
    });
  }
  const auto dtype = rows.scalar_type();
  return {grows.to(dtype), gt1.to(dtype), gt2.to(dtype)};
}

}  // namespace

TORCH_LIBRARY_IMPL(relext, CUDA, m) {
  m.impl("ranking_loss", &ranking_loss_cuda);
  m.impl("ranking_loss_backward", &ranking_loss_backward_cuda);
  m.impl("embed_concat", &embed_concat_cuda);
  m.impl("embed_concat_backward", &embed_concat_backward_cuda);
  m.impl("pair_conv_pool", &pair_conv_pool_cuda);
  m.impl("pair_conv_pool_backward", &pair_conv_pool_backward_cuda);
}

}  // namespace relext
