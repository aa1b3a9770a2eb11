// Schemas of the relext ops and their CPU kernels. The math lives in the torch-free
// headers beside this file; the CUDA kernels register themselves in relext_ops_cuda.cu.
#include <ATen/Parallel.h>
#include <torch/library.h>
#include <torch/types.h>

#include <algorithm>
#include <functional>
#include <vector>

#include "checks.h"
#include "embed_concat.h"
#include "pair_conv_pool.h"
#include "ranking_loss.h"
#include "softplus_cpu.h"

namespace relext {

namespace {

void check_labels_cpu(const at::Tensor& labels, int64_t C) {
  const int64_t* y = labels.data_ptr<int64_t>();
  for (int64_t b = 0; b < labels.numel(); ++b) {
    TORCH_CHECK(y[b] < C && y[b] >= -1, "ranking_loss: label ", y[b], " at row ", b,
                " is outside [-1, ", C, ") (-1 is the negative class)");
  }
}

std::tuple<at::Tensor, at::Tensor, at::Tensor> ranking_loss_cpu(
    const at::Tensor& scores, const at::Tensor& labels_, const std::optional<at::Tensor>& id_logits,
    double m_pos, double m_neg, double gamma, double id_weight, bool mean) {
  check_ranking_inputs(scores, labels_, id_logits);
  TORCH_CHECK(scores.device().is_cpu(), "ranking_loss: CPU kernel got ", scores.device());
  const auto labels = labels_.contiguous();
  const int64_t B = scores.size(0), C = scores.size(1);
  check_labels_cpu(labels, C);
  auto per = at::empty({mean ? 0 : B}, scores.options());  // per-row losses, for reduction 'none'
  auto dscores = at::empty({B, C}, scores.options());
  auto did = at::empty({id_logits ? B : 0, 2}, scores.options());
  const RankingParams p{m_pos, m_neg, gamma, id_weight};
  double total = 0.0;
  AT_DISPATCH_FLOATING_TYPES(scores.scalar_type(), "ranking_loss_cpu", [&] {
    const scalar_t* s = scores.data_ptr<scalar_t>();
    const scalar_t* id = id_logits ? id_logits->data_ptr<scalar_t>() : nullptr;
    const int64_t s0 = scores.stride(0), s1 = scores.stride(1);
    const int64_t i0 = id_logits ? id_logits->stride(0) : 0, i1 = id_logits ? id_logits->stride(1) : 0;
    const int64_t* y = labels.data_ptr<int64_t>();
    scalar_t* o = mean ? nullptr : per.data_ptr<scalar_t>();
    scalar_t* gs = dscores.data_ptr<scalar_t>();
    scalar_t* gi = did.data_ptr<scalar_t>();
    const scalar_t scale = mean && B > 0 ? scalar_t(1) / scalar_t(B) : scalar_t(1);
    // Rows in chunks of K: the softplus of the whole chunk's arguments in one vectorised call.
    // Each thread also sums its rows' losses (in double), which gives the mean without a
    // second pass over the losses.
    constexpr int64_t K = 256;
    total = at::parallel_reduce(0, B, 2048, 0.0, [&](int64_t b0, int64_t b1, double sum) {
      scalar_t x[3 * K], sp[3 * K], sig[3 * K];
      RowTerms t[K];
      for (int64_t c0 = b0; c0 < b1; c0 += K) {
        const int64_t n = std::min(K, b1 - c0);
        for (int64_t i = 0, b = c0; i < n; ++i, ++b) {
          t[i] = ranking_args<scalar_t, scalar_t>(s + b * s0, s1, C, y[b], id ? id + b * i0 : nullptr, i1, p,
                                                  x + 3 * i);
        }
        softplus_grad_many(x, sp, sig, 3 * n);
        for (int64_t i = 0, b = c0; i < n; ++i, ++b) {
          const scalar_t row = ranking_finish<scalar_t, scalar_t>(t[i], C, y[b], id != nullptr, p, sp + 3 * i,
                                                                  sig + 3 * i, scale, gs + b * C,
                                                                  id ? gi + b * 2 : nullptr);
          if (o) o[b] = row;
          sum += row;
        }
      }
      return sum;
    }, std::plus<double>());
  });
  // 0 / 0 for an empty batch: NaN, as at::mean gives.
  return {mean ? at::scalar_tensor(total / static_cast<double>(B), scores.options()) : per, dscores, did};
}

// grad is a scalar (mean) or [B]; the saved per-row gradients are scaled by it.
std::tuple<at::Tensor, at::Tensor> ranking_loss_backward_cpu(const at::Tensor& grad_,
                                                             const at::Tensor& dscores,
                                                             const at::Tensor& did) {
  const auto grad = grad_.contiguous();
  const int64_t B = dscores.size(0), C = dscores.size(1);
  TORCH_CHECK(grad.dim() == 0 || grad.numel() == B, "ranking_loss_backward: grad must be a scalar or [B]");
  auto gs = at::empty_like(dscores), gid = at::empty_like(did);
  const bool scalar = grad.dim() == 0, with_id = did.numel() > 0;
  AT_DISPATCH_FLOATING_TYPES(dscores.scalar_type(), "ranking_loss_backward_cpu", [&] {
    const scalar_t* go = grad.data_ptr<scalar_t>();
    const scalar_t* ds = dscores.data_ptr<scalar_t>();
    const scalar_t* di = did.data_ptr<scalar_t>();
    scalar_t* a = gs.data_ptr<scalar_t>();
    scalar_t* b = gid.data_ptr<scalar_t>();
    at::parallel_for(0, B, 4096, [&](int64_t b0, int64_t b1) {
      for (int64_t r = b0; r < b1; ++r) {
        const scalar_t g = go[scalar ? 0 : r];
        scale_row<scalar_t, scalar_t>(g, ds + r * C, C, a + r * C);
        if (with_id) scale_row<scalar_t, scalar_t>(g, di + r * 2, 2, b + r * 2);
      }
    });
  });
  return {gs, gid};
}

// ---- embed_concat ------------------------------------------------------------

void check_range_cpu(const at::Tensor& index, int64_t rows, const char* name) {
  int64_t bad = -1;
  const int64_t* p = index.data_ptr<int64_t>();
  if (!indices_in_range(p, index.numel(), rows, &bad)) {
    TORCH_CHECK_INDEX(false, "embed_concat: ", name, " index ", p[bad], " at flat position ", bad,
                      " is out of range for a table of ", rows, " rows");
  }
}

at::Tensor embed_concat_cpu(const at::Tensor& word_table, const at::Tensor& pos_table,
                            const std::optional<at::Tensor>& pos2_table,
                            const std::optional<at::Tensor>& tag_table, const at::Tensor& words_,
                            const at::Tensor& pos1_, const at::Tensor& pos2_,
                            const std::optional<at::Tensor>& tags_, int64_t padding_idx) {
  check_embed_inputs(words_, pos1_, pos2_, tag_table, tags_);
  const auto words = words_.contiguous(), pos1 = pos1_.contiguous(), pos2 = pos2_.contiguous();
  const auto tags = tags_ ? tags_->contiguous() : at::Tensor();
  const auto wt = word_table.contiguous(), pt = pos_table.contiguous();
  const auto p2t = pos2_table ? pos2_table->contiguous() : pt;
  const auto tt = tag_table ? tag_table->contiguous() : at::Tensor();
  check_range_cpu(words, wt.size(0), "words");
  check_range_cpu(pos1, pt.size(0), "pos1");
  check_range_cpu(pos2, p2t.size(0), "pos2");
  if (tags_) check_range_cpu(tags, tt.size(0), "tags");
  const int64_t Dw = wt.size(1), Dp = pt.size(1), Dp2 = p2t.size(1), Dt = tags_ ? tt.size(1) : 0;
  const int64_t D = Dw + Dp + Dp2 + Dt, N = words.numel();
  std::vector<int64_t> shape(words.sizes().begin(), words.sizes().end());
  shape.push_back(D);
  auto out = at::empty(shape, wt.options());
  AT_DISPATCH_FLOATING_TYPES(wt.scalar_type(), "embed_concat_cpu", [&] {
    std::vector<Segment<scalar_t>> segs = {
        {wt.data_ptr<scalar_t>(), wt.size(0), Dw, 0, words.data_ptr<int64_t>()},
        {pt.data_ptr<scalar_t>(), pt.size(0), Dp, Dw, pos1.data_ptr<int64_t>()},
        {p2t.data_ptr<scalar_t>(), p2t.size(0), Dp2, Dw + Dp, pos2.data_ptr<int64_t>()}};
    if (tags_) segs.push_back({tt.data_ptr<scalar_t>(), tt.size(0), Dt, Dw + Dp + Dp2, tags.data_ptr<int64_t>()});
    scalar_t* o = out.data_ptr<scalar_t>();
    at::parallel_for(0, N, 256, [&](int64_t n0, int64_t n1) {
      for (int64_t n = n0; n < n1; ++n) {
        for (const auto& seg : segs) embed_segment_row(seg, n, padding_idx, o + n * D + seg.offset);
      }
    });
  });
  return out;
}

// Gradients of the tables. Work is split by destination columns, so no two threads
// write the same element and the result does not depend on the thread count.
std::tuple<at::Tensor, at::Tensor, at::Tensor, at::Tensor> embed_concat_backward_cpu(
    const at::Tensor& grad_, const at::Tensor& words_, const at::Tensor& pos1_,
    const at::Tensor& pos2_, const std::optional<at::Tensor>& tags_, at::IntArrayRef rows,
    at::IntArrayRef widths, int64_t padding_idx, bool deterministic) {
  (void)deterministic;  // the CPU kernel always is
  TORCH_CHECK(rows.size() == 4 && widths.size() == 4, "embed_concat_backward: rows and widths have 4 entries");
  const auto grad = grad_.contiguous();
  const auto words = words_.contiguous(), pos1 = pos1_.contiguous(), pos2 = pos2_.contiguous();
  const auto tags = tags_ ? tags_->contiguous() : at::Tensor();
  const bool shared = rows[2] == 0;
  const int64_t Dw = widths[0], Dp = widths[1], Dt = widths[3];
  const int64_t Dp2 = shared ? Dp : widths[2];
  const int64_t D = Dw + Dp + Dp2 + Dt, N = words.numel();
  TORCH_CHECK(grad.size(-1) == D, "embed_concat_backward: grad width ", grad.size(-1), " != ", D);
  auto opts = grad.options();
  auto gw = at::zeros({rows[0], Dw}, opts), gp = at::zeros({rows[1], Dp}, opts);
  auto gp2 = at::zeros({shared ? 0 : rows[2], shared ? 0 : Dp2}, opts);
  auto gt = at::zeros({rows[3], Dt}, opts);
  AT_DISPATCH_FLOATING_TYPES(grad.scalar_type(), "embed_concat_backward_cpu", [&] {
    struct Source { const int64_t* index; int64_t offset; };
    struct Job { scalar_t* dest; int64_t width; int64_t c0, c1; Source src[2]; int nsrc; };
    std::vector<Job> jobs;
    const int64_t block = 32;
    auto add = [&](scalar_t* dest, int64_t width, Source a, const Source* b) {
      for (int64_t c0 = 0; c0 < width; c0 += block) {
        Job j{dest, width, c0, std::min(width, c0 + block), {a, b ? *b : a}, b ? 2 : 1};
        jobs.push_back(j);
      }
    };
    add(gw.data_ptr<scalar_t>(), Dw, {words.data_ptr<int64_t>(), 0}, nullptr);
    if (shared) {
      Source second{pos2.data_ptr<int64_t>(), Dw + Dp};
      add(gp.data_ptr<scalar_t>(), Dp, {pos1.data_ptr<int64_t>(), Dw}, &second);
    } else {
      add(gp.data_ptr<scalar_t>(), Dp, {pos1.data_ptr<int64_t>(), Dw}, nullptr);
      add(gp2.data_ptr<scalar_t>(), Dp2, {pos2.data_ptr<int64_t>(), Dw + Dp}, nullptr);
    }
    if (tags_ && Dt > 0) add(gt.data_ptr<scalar_t>(), Dt, {tags.data_ptr<int64_t>(), Dw + Dp + Dp2}, nullptr);
    const scalar_t* g = grad.data_ptr<scalar_t>();
    at::parallel_for(0, static_cast<int64_t>(jobs.size()), 1, [&](int64_t j0, int64_t j1) {
      for (int64_t j = j0; j < j1; ++j) {
        const Job& job = jobs[j];
        for (int s = 0; s < job.nsrc; ++s) {
          const Source& src = job.src[s];
          for (int64_t n = 0; n < N; ++n) {
            const int64_t i = src.index[n];
            if (i == padding_idx) continue;
            scalar_t* dest = job.dest + i * job.width;
            const scalar_t* from = g + n * D + src.offset;
            for (int64_t c = job.c0; c < job.c1; ++c) dest[c] += from[c];
          }
        }
      }
    });
  });
  return {gw, gp, gp2, gt};
}

// ---- pair_conv_pool ------------------------------------------------------------

void check_values_cpu(const at::Tensor& t, int64_t lo, int64_t hi, const char* name) {
  const int64_t* p = t.data_ptr<int64_t>();
  for (int64_t k = 0; k < t.numel(); ++k) {
    TORCH_CHECK_INDEX(p[k] >= lo && p[k] < hi, "pair_conv_pool: ", name, " value ", p[k], " at flat position ", k,
                      " is outside [", lo, ", ", hi, ")");
  }
}

constexpr int64_t kForwardColumns = 64;   // columns per pass of a pair (stack accumulators)
constexpr int64_t kBackwardColumns = 32;  // columns per backward job: one writer per gradient element

std::tuple<at::Tensor, at::Tensor> pair_conv_pool_cpu(const at::Tensor& rows_, const at::Tensor& group_,
                                                      const at::Tensor& pos1_, const at::Tensor& pos2_,
                                                      const at::Tensor& table1_, const at::Tensor& table2_,
                                                      const at::Tensor& lengths_,
                                                      const std::optional<at::Tensor>& cuts_, int64_t pad_left,
                                                      int64_t activation, int64_t pool) {
  const PairInputs in = pair_inputs(rows_, group_, pos1_, pos2_, table1_, table2_, lengths_, cuts_, pad_left,
                                    activation, pool, check_values_cpu);
  const auto &rows = in.rows, &group = in.group, &pos1 = in.pos1, &pos2 = in.pos2, &table1 = in.table1,
             &table2 = in.table2, &lengths = in.lengths, &cuts = in.cuts, &out = in.out, &amax = in.amax;
  const PairConvShape& s = in.shape;
  const int64_t B = group.size(0);
  AT_DISPATCH_FLOATING_TYPES(rows.scalar_type(), "pair_conv_pool_cpu", [&] {
    const scalar_t* r = rows.data_ptr<scalar_t>();
    const scalar_t* t1 = table1.data_ptr<scalar_t>();
    const scalar_t* t2 = table2.data_ptr<scalar_t>();
    const int64_t *g = group.data_ptr<int64_t>(), *p1 = pos1.data_ptr<int64_t>(), *p2 = pos2.data_ptr<int64_t>(),
                  *len = lengths.data_ptr<int64_t>(), *cut = cuts.defined() ? cuts.data_ptr<int64_t>() : nullptr;
    scalar_t* o = out.data_ptr<scalar_t>();
    int32_t* am = amax.data_ptr<int32_t>();
    const int64_t Q = pooled_blocks(s.pool), M = max_blocks(s.pool);
    dispatch_pair_modes(s.activation, s.pool, [&](auto act, auto how) {
      constexpr int ACT = decltype(act)::value, POOL = decltype(how)::value;
      at::parallel_for(0, B, 1, [&](int64_t b0, int64_t b1) {
        for (int64_t b = b0; b < b1; ++b) {
          const int64_t tg = s.Gt == 1 ? 0 : g[b];
          for (int64_t f0 = 0; f0 < s.F; f0 += kForwardColumns) {
            pair_forward_columns<scalar_t, scalar_t, kForwardColumns, ACT, POOL>(
                s, r + g[b] * s.L * s.F, t1, t2, p1 + b * s.L, p2 + b * s.L, tg, len[b], cut ? cut[2 * b] : 0,
                cut ? cut[2 * b + 1] : 0, f0, std::min(kForwardColumns, s.F - f0), o + b * Q * s.F,
                am + b * M * s.F);
          }
        }
      });
    });
  });
  return {out, amax};
}

// Gradients of rows and both tables. Work is split by filter columns, so each gradient
// element has one writer and the result does not depend on the thread count.
std::tuple<at::Tensor, at::Tensor, at::Tensor> pair_conv_pool_backward_cpu(
    const at::Tensor& grad_, const at::Tensor& pooled_, const at::Tensor& amax_, const at::Tensor& rows_,
    const at::Tensor& group_, const at::Tensor& pos1_, const at::Tensor& pos2_, const at::Tensor& table1_,
    const at::Tensor& table2_, const at::Tensor& lengths_, int64_t pad_left, int64_t activation, int64_t pool) {
  const auto grad = grad_.contiguous(), pooled = pooled_.contiguous(), amax = amax_.contiguous(),
             rows = rows_.contiguous(), group = group_.contiguous(), pos1 = pos1_.contiguous(),
             pos2 = pos2_.contiguous(), table1 = table1_.contiguous(), table2 = table2_.contiguous(),
             lengths = lengths_.contiguous();
  const PairConvShape s = pair_shape(rows, table1, pad_left, activation, pool);
  const int64_t B = group.size(0), Q = pooled_blocks(s.pool), M = max_blocks(s.pool);
  TORCH_CHECK(grad.sizes() == pooled.sizes() && grad.size(0) == B && grad.size(1) == Q * s.F,
              "pair_conv_pool_backward: grad must be [B, ", Q * s.F, "], got ", grad.sizes());
  auto grows = at::zeros_like(rows), gt1 = at::zeros_like(table1), gt2 = at::zeros_like(table2);
  AT_DISPATCH_FLOATING_TYPES(rows.scalar_type(), "pair_conv_pool_backward_cpu", [&] {
    const scalar_t *r = rows.data_ptr<scalar_t>(), *t1 = table1.data_ptr<scalar_t>(),
                   *t2 = table2.data_ptr<scalar_t>(), *go = grad.data_ptr<scalar_t>(),
                   *po = pooled.data_ptr<scalar_t>();
    const int64_t *g = group.data_ptr<int64_t>(), *p1 = pos1.data_ptr<int64_t>(), *p2 = pos2.data_ptr<int64_t>(),
                  *len = lengths.data_ptr<int64_t>();
    const int32_t* am = amax.data_ptr<int32_t>();
    scalar_t *dr = grows.data_ptr<scalar_t>(), *d1 = gt1.data_ptr<scalar_t>(), *d2 = gt2.data_ptr<scalar_t>();
    const int64_t jobs = (s.F + kBackwardColumns - 1) / kBackwardColumns;
    dispatch_pair_modes(s.activation, s.pool, [&](auto act, auto how) {
      constexpr int ACT = decltype(act)::value, POOL = decltype(how)::value;
      at::parallel_for(0, jobs, 1, [&](int64_t j0, int64_t j1) {
        for (int64_t job = j0; job < j1; ++job) {
          const int64_t f0 = job * kBackwardColumns, n = std::min(kBackwardColumns, s.F - f0);
          for (int64_t b = 0; b < B; ++b) {
            const int64_t tg = s.Gt == 1 ? 0 : g[b];
            pair_backward_columns<scalar_t, scalar_t, kBackwardColumns, ACT, POOL>(
                s, r + g[b] * s.L * s.F, t1, t2, p1 + b * s.L, p2 + b * s.L, tg, len[b], f0, n, go + b * Q * s.F,
                po + b * Q * s.F, am + b * M * s.F, dr + g[b] * s.L * s.F, d1, d2, PlainAdd{});
          }
        }
      });
    });
  });
  return {grows, gt1, gt2};
}

}  // namespace

TORCH_LIBRARY(relext, m) {
  // Returns (loss, d loss/d scores, d loss/d id_logits); the loss is the mean when `mean`,
  // else per instance. The gradients feed ranking_loss_backward.
  m.def("ranking_loss(Tensor scores, Tensor labels, Tensor? id_logits, float m_pos, float m_neg, "
        "float gamma, float id_weight, bool mean) -> (Tensor, Tensor, Tensor)");
  m.def("ranking_loss_backward(Tensor grad, Tensor dscores, Tensor did) -> (Tensor, Tensor)");
  m.def("embed_concat(Tensor word_table, Tensor pos_table, Tensor? pos2_table, Tensor? tag_table, "
        "Tensor words, Tensor pos1, Tensor pos2, Tensor? tags, int padding_idx) -> Tensor");
  m.def("embed_concat_backward(Tensor grad, Tensor words, Tensor pos1, Tensor pos2, Tensor? tags, "
        "int[] rows, int[] widths, int padding_idx, bool deterministic) -> (Tensor, Tensor, Tensor, Tensor)");
  // Sentence-shared convolution + activation + pooling per pair (pair_conv_pool.h).
  // Returns (pooled [B, Q*F], argmax [B, M, F] int32); the argmax feeds the backward.
  m.def("pair_conv_pool(Tensor rows, Tensor group, Tensor pos1, Tensor pos2, Tensor table1, Tensor table2, "
        "Tensor lengths, Tensor? cuts, int pad_left, int activation, int pool) -> (Tensor, Tensor)");
  m.def("pair_conv_pool_backward(Tensor grad, Tensor pooled, Tensor argmax, Tensor rows, Tensor group, "
        "Tensor pos1, Tensor pos2, Tensor table1, Tensor table2, Tensor lengths, int pad_left, int activation, "
        "int pool) -> (Tensor, Tensor, Tensor)");
}

TORCH_LIBRARY_IMPL(relext, CPU, m) {
  m.impl("ranking_loss", &ranking_loss_cpu);
  m.impl("ranking_loss_backward", &ranking_loss_backward_cpu);
  m.impl("embed_concat", &embed_concat_cpu);
  m.impl("embed_concat_backward", &embed_concat_backward_cpu);
  m.impl("pair_conv_pool", &pair_conv_pool_cpu);
  m.impl("pair_conv_pool_backward", &pair_conv_pool_backward_cpu);
}

}  // namespace relext
