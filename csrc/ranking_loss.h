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

// Loss of one row; writes d(loss)/d(scores) (and d/d(id logits) when id != nullptr),
// times `scale`, into gs[0..C) and gid[0..2).
template <typename S, typename A>
RELEXT_HD A ranking_row(const S* s, int64_t stride, int64_t C, int64_t y, const S* id,
                        int64_t id_stride, const RankingParams& p, A scale, S* gs, S* gid) {
  bool nan = false;
  const A g = A(p.gamma);
  A loss = A(0), sig = A(0);
  for (int64_t k = 0; k < C; ++k) gs[k] = S(0);
  const int64_t c = competitor<S, A>(s, stride, C, y >= 0 ? y : -1, &nan);
  if (y >= 0) {
    loss += softplus_grad(g * (A(p.m_pos) - static_cast<A>(s[y * stride])), &sig);
    gs[y] = static_cast<S>(-scale * g * sig);
  }
  if (c >= 0) {
    loss += softplus_grad(g * (A(p.m_neg) + static_cast<A>(s[c * stride])), &sig);
    gs[c] = static_cast<S>(scale * g * sig);
  }
  if (id != nullptr) {
    const A l0 = static_cast<A>(id[0]), l1 = static_cast<A>(id[id_stride]);
    if (l0 != l0 || l1 != l1) nan = true;
    const A w = A(p.id_weight);
    // Target 1 (relation): softplus(l0 - l1); target 0 (Other): softplus(l1 - l0).
    const A x = y >= 0 ? l0 - l1 : l1 - l0;
    loss += w * softplus_grad(x, &sig);
    const A d = scale * w * sig;  // d/d(other logit); minus that for the target logit
    gid[0] = static_cast<S>(y >= 0 ? d : -d);
    gid[1] = static_cast<S>(y >= 0 ? -d : d);
  }
  if (nan) {
    for (int64_t k = 0; k < C; ++k) gs[k] = static_cast<S>(A(NAN));
    if (id != nullptr) gid[0] = gid[1] = static_cast<S>(A(NAN));
    return A(NAN);
  }
  return loss;
}

// Backward of one row: out[k] = go * saved[k] for k < n.
template <typename S, typename A>
RELEXT_HD void scale_row(A go, const S* saved, int64_t n, S* out) {
  for (int64_t k = 0; k < n; ++k) out[k] = static_cast<S>(go * static_cast<A>(saved[k]));
}

}  // namespace relext
