// The CR-CNN pairwise ranking loss (dos Santos et al. 2015) as in the paper's script,
// fused with the multi-task identification cross-entropy. Per-row math only.
//
// Scores s[0..C) for the C positive classes; label y in [0, C), or y < 0 for the
// negative class (Other), which has no score column.
//   positive: softplus(g (m+ - s_y)) + softplus(g (m- + s_c)),  c = argmax_{k != y} s_k
//   negative: softplus(g (m- + max_k s_k))
// Ties go to the lowest index. With C == 1 a positive has no competitor term.
// Identification (optional): w * cross_entropy(logits[0..2), target = (y >= 0)).
// A NaN anywhere in the row makes the row's loss NaN.
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

// Forward of one row; A is the accumulation type.
template <typename S, typename A>
RELEXT_HD A ranking_row_forward(const S* s, int64_t stride, int64_t C, int64_t y, const S* id,
                                int64_t id_stride, const RankingParams& p) {
  bool nan = false;
  const A g = A(p.gamma);
  A loss = A(0);
  if (y >= 0) {
    int64_t c = competitor<S, A>(s, stride, C, y, &nan);
    loss += softplus(g * (A(p.m_pos) - static_cast<A>(s[y * stride])));
    if (c >= 0) loss += softplus(g * (A(p.m_neg) + static_cast<A>(s[c * stride])));
  } else {
    int64_t c = competitor<S, A>(s, stride, C, -1, &nan);
    if (c >= 0) loss += softplus(g * (A(p.m_neg) + static_cast<A>(s[c * stride])));
  }
  if (id != nullptr) {
    A l0 = static_cast<A>(id[0]), l1 = static_cast<A>(id[id_stride]);
    if (l0 != l0 || l1 != l1) nan = true;
    A mx = l0 > l1 ? l0 : l1;
    A lse = mx + log(exp(l0 - mx) + exp(l1 - mx));
    loss += A(p.id_weight) * (lse - (y >= 0 ? l1 : l0));
  }
  return nan ? A(NAN) : loss;
}

// Backward of one row: writes d(loss)/d(scores) and d(loss)/d(id logits), scaled by `go`.
template <typename S, typename A>
RELEXT_HD void ranking_row_backward(A go, const S* s, int64_t stride, int64_t C, int64_t y,
                                    const S* id, int64_t id_stride, const RankingParams& p,
                                    S* gs, int64_t gstride, S* gid, int64_t gid_stride) {
  bool nan = false;
  const A g = A(p.gamma);
  for (int64_t k = 0; k < C; ++k) gs[k * gstride] = S(0);
  if (y >= 0) {
    int64_t c = competitor<S, A>(s, stride, C, y, &nan);
    A sy = static_cast<A>(s[y * stride]);
    gs[y * gstride] = static_cast<S>(-go * g * sigmoid(g * (A(p.m_pos) - sy)));
    if (c >= 0) {
      A sc = static_cast<A>(s[c * stride]);
      gs[c * gstride] = static_cast<S>(go * g * sigmoid(g * (A(p.m_neg) + sc)));
    }
  } else {
    int64_t c = competitor<S, A>(s, stride, C, -1, &nan);
    if (c >= 0) {
      A sc = static_cast<A>(s[c * stride]);
      gs[c * gstride] = static_cast<S>(go * g * sigmoid(g * (A(p.m_neg) + sc)));
    }
  }
  if (id != nullptr) {
    A l0 = static_cast<A>(id[0]), l1 = static_cast<A>(id[id_stride]);
    A p1 = sigmoid(l1 - l0);  // softmax probability of class 1
    A t1 = y >= 0 ? A(1) : A(0);
    A w = go * A(p.id_weight);
    gid[0] = static_cast<S>(w * ((A(1) - p1) - (A(1) - t1)));
    gid[gid_stride] = static_cast<S>(w * (p1 - t1));
  }
  if (nan) {
    for (int64_t k = 0; k < C; ++k) gs[k * gstride] = static_cast<S>(A(NAN));
  }
}

}  // namespace relext
