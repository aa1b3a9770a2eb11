// The CR-CNN pairwise ranking loss (dos Santos et al. 2015) as in the paper's script,
// fused with the multi-task identification cross-entropy. Per-row math only.
//
// Scores s[0..C) for the C positive classes; label y in [0, C), or y < 0 for the
// negative class (Other), which has no score column.
//   positive: softplus(g (m+ - s_y)) + softplus(g (m- + s_c)),  c = argmax_{k != y} s_k
//   negative: softplus(g (m- + max_k s_k))
// Ties go to the lowest index. With C == 1 a positive has no competitor term.
// Identification (optional): w * cross_entropy(logits[0..2), target = (y >= 0)),
// computed as w * softplus(l_other - l_target).
// A NaN anywhere in the row makes the row's loss and gradients NaN.
//
// One pass gives the loss and its gradient (each term's exp serves both), so the
// backward kernel only scales the stored per-row gradient by the incoming gradient.
// A row is three steps: ranking_args (the competitor and the softplus arguments),
// softplus_grad of each argument, ranking_finish (loss and gradients).
#pragma once
#include "common.h"

namespace relext {

struct RankingParams {
  double m_pos;
  double m_neg;
  double gamma;
  double id_weight;
};

// Index of the largest score other than `skip` (-1 for none); NaN sets *nan.
template <typename S, typename A>
RELEXT_HD int64_t competitor(const S* s, int64_t stride, int64_t C, int64_t skip, bool* nan) {
  int64_t best = -1;
  A best_v = A(0);
  for (int64_t k = 0; k < C; ++k) {
    A v = static_cast<A>(s[k * stride]);
    if (v != v) *nan = true;
    if (k == skip) continue;
    if (best < 0 || v > best_v) {
      best = k;
      best_v = v;
    }
  }
  return best;
}

// A row's three softplus arguments, x[0..3): the positive term (when y >= 0), the
// competitor term (when a competitor exists) and the identification term (when id !=
// nullptr); an absent term gets 0 and is ignored by ranking_finish. The CPU kernel
// evaluates the softplus of many rows' arguments in one vectorised loop; the CUDA
// kernel does it per row (ranking_row).
struct RowTerms {
  int64_t c;  // the competitor class, -1 for none
  bool nan;
};

template <typename S, typename A>
RELEXT_HD RowTerms ranking_args(const S* s, int64_t stride, int64_t C, int64_t y, const S* id,
                                int64_t id_stride, const RankingParams& p, A* x) {
  RowTerms t{-1, false};
  const A g = A(p.gamma);
  t.c = competitor<S, A>(s, stride, C, y >= 0 ? y : -1, &t.nan);
  x[0] = y >= 0 ? g * (A(p.m_pos) - static_cast<A>(s[y * stride])) : A(0);
  x[1] = t.c >= 0 ? g * (A(p.m_neg) + static_cast<A>(s[t.c * stride])) : A(0);
  x[2] = A(0);
  if (id != nullptr) {
    const A l0 = static_cast<A>(id[0]), l1 = static_cast<A>(id[id_stride]);
    if (l0 != l0 || l1 != l1) t.nan = true;
    // Target 1 (relation): softplus(l0 - l1); target 0 (Other): softplus(l1 - l0).
    x[2] = y >= 0 ? l0 - l1 : l1 - l0;
  }
  return t;
}

// The row's loss from sp[j] = softplus(x[j]) and sig[j] = sigmoid(x[j]); writes
// d(loss)/d(scores) (and d/d(id logits) when with_id), times `scale`, into gs[0..C)
// and gid[0..2).
template <typename S, typename A>
RELEXT_HD A ranking_finish(RowTerms t, int64_t C, int64_t y, bool with_id, const RankingParams& p,
                           const A* sp, const A* sig, A scale, S* gs, S* gid) {
  const A g = A(p.gamma);
  A loss = A(0);
  for (int64_t k = 0; k < C; ++k) gs[k] = S(0);
  if (y >= 0) {
    loss += sp[0];
    gs[y] = static_cast<S>(-scale * g * sig[0]);
  }
  if (t.c >= 0) {
    loss += sp[1];
    gs[t.c] = static_cast<S>(scale * g * sig[1]);
  }
  if (with_id) {
    const A w = A(p.id_weight);
    loss += w * sp[2];
    const A d = scale * w * sig[2];  // d/d(other logit); minus that for the target logit
    gid[0] = static_cast<S>(y >= 0 ? d : -d);
    gid[1] = static_cast<S>(y >= 0 ? -d : d);
  }
  if (t.nan) {
    for (int64_t k = 0; k < C; ++k) gs[k] = static_cast<S>(A(NAN));
    if (with_id) gid[0] = gid[1] = static_cast<S>(A(NAN));
    return A(NAN);
  }
  return loss;
}

// Loss and gradients of one row in one go.
template <typename S, typename A>
RELEXT_HD A ranking_row(const S* s, int64_t stride, int64_t C, int64_t y, const S* id,
                        int64_t id_stride, const RankingParams& p, A scale, S* gs, S* gid) {
  A x[3], sp[3], sig[3];
  const RowTerms t = ranking_args<S, A>(s, stride, C, y, id, id_stride, p, x);
  for (int j = 0; j < 3; ++j) sp[j] = softplus_grad(x[j], &sig[j]);
  return ranking_finish<S, A>(t, C, y, id != nullptr, p, sp, sig, scale, gs, gid);
}

// Backward of one row: out[k] = go * saved[k] for k < n.
template <typename S, typename A>
RELEXT_HD void scale_row(A go, const S* saved, int64_t n, S* out) {
  for (int64_t k = 0; k < n; ++k) out[k] = static_cast<S>(go * static_cast<A>(saved[k]));
}

}  // namespace relext
