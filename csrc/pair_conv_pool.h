// Sentence-shared convolution, per pair: the pair's pre-activation row is the row of its
// sentence (word and tag terms of the convolution, computed once per sentence, bias
// included) plus, for each filter tap j, the rows of two small position tables
// T[j] = P . W_j^position selected by the pair's relative-position indices; then an
// activation and a pooling over the pair's valid tokens. Per-element math only.
//
// Layouts (all contiguous, row-major):
//   rows    [G, L, F]      one row group per sentence (or per window of one)
//   table1  [Gt, K, P, F]  position-1 taps; Gt is 1 (shared) or G (one per group)
//   table2  [Gt, K, P, F]  position-2 taps
//   pos1/2  [B, L]         position index per token, 0 = padding (contributes nothing)
//   pooled  [B, Q * F]     Q pooled blocks: max | mean | max,mean | three pieces
//   argmax  [B, M, F]      int32, the token each max block took (-1: empty piece)
// Output token t of a 'same' convolution of width K reads input tokens t + j - pad_left.
#pragma once
#include <type_traits>

#include "common.h"

namespace relext {

enum PairActivation : int { kActNone = 0, kActRelu = 1, kActTanh = 2 };
enum PairPool : int { kPoolMax = 0, kPoolMean = 1, kPoolMaxMean = 2, kPoolPiecewise = 3 };

struct PairConvShape {
  int64_t G, L, F, Gt, K, P;
  int64_t pad_left;
  int activation;
  int pool;
};

// Pooled blocks per pair, and how many of them are max blocks (with an argmax).
RELEXT_HD int64_t pooled_blocks(int pool) { return pool == kPoolMaxMean ? 2 : pool == kPoolPiecewise ? 3 : 1; }
RELEXT_HD int64_t max_blocks(int pool) { return pool == kPoolMean ? 0 : pool == kPoolPiecewise ? 3 : 1; }

template <typename A>
RELEXT_HD A activate(A h, int activation) {
  if (activation == kActRelu) return h > A(0) ? h : A(0);
  if (activation == kActTanh) return tanh(h);
  return h;
}

// The activation's derivative, from its output y (ReLU: y > 0; tanh: 1 - y^2).
template <typename A>
RELEXT_HD A activate_grad(A y, int activation) {
  if (activation == kActRelu) return y > A(0) ? A(1) : A(0);
  if (activation == kActTanh) return A(1) - y * y;
  return A(1);
}

// Row offset of tap j, position index i in a table of group tg ([Gt, K, P, F]).
RELEXT_HD int64_t table_row(const PairConvShape& s, int64_t tg, int64_t j, int64_t i) {
  return ((tg * s.K + j) * s.P + i) * s.F;
}

// The position index that tap j of output token t reads, or 0 outside the row.
RELEXT_HD int64_t tap_index(const int64_t* pos, const PairConvShape& s, int64_t t, int64_t j) {
  const int64_t u = t + j - s.pad_left;
  return (u < 0 || u >= s.L) ? 0 : pos[u];
}

// Pre-activation of columns [f0, f0 + n) of token t of one pair, into h (accumulator A).
template <typename S, typename A>
RELEXT_HD void pair_preactivation(const PairConvShape& s, const S* rows_g, const S* t1, const S* t2,
                                  const int64_t* p1, const int64_t* p2, int64_t tg, int64_t t, int64_t f0,
                                  int64_t n, A* h) {
  const S* r = rows_g + t * s.F + f0;
  for (int64_t c = 0; c < n; ++c) h[c] = static_cast<A>(r[c]);
  for (int64_t j = 0; j < s.K; ++j) {
    const int64_t i1 = tap_index(p1, s, t, j), i2 = tap_index(p2, s, t, j);
    if (i1 != 0) {
      const S* a = t1 + table_row(s, tg, j, i1) + f0;
      for (int64_t c = 0; c < n; ++c) h[c] += static_cast<A>(a[c]);
    }
    if (i2 != 0) {
      const S* b = t2 + table_row(s, tg, j, i2) + f0;
      for (int64_t c = 0; c < n; ++c) h[c] += static_cast<A>(b[c]);
    }
  }
}

// The token range [lo, hi) of pooled max block q: the whole pair, or PCNN's piece q
// (up to cut1, up to cut2, the rest; a piece outside the pair is empty).
RELEXT_HD void block_range(int pool, int q, int64_t length, int64_t cut1, int64_t cut2, int64_t* lo, int64_t* hi) {
  if (pool != kPoolPiecewise) {
    *lo = 0;
    *hi = length;
    return;
  }
  const int64_t b1 = cut1 < 0 ? 0 : cut1 > length ? length : cut1;
  const int64_t b2 = cut2 < b1 ? b1 : cut2 > length ? length : cut2;
  *lo = q == 0 ? 0 : q == 1 ? b1 : b2;
  *hi = q == 0 ? b1 : q == 1 ? b2 : length;
}

// Forward of one pair over columns [f0, f0 + n), n <= N: activation and pooling.
// out points at the pair's pooled row, amax at its argmax rows ([M, F]). ACT and POOL
// are compile-time, so that the loops over columns have no branches and vectorise.
template <typename S, typename A, int N, int ACT, int POOL>
RELEXT_HD void pair_forward_columns(const PairConvShape& s, const S* rows_g, const S* t1, const S* t2,
                                    const int64_t* p1, const int64_t* p2, int64_t tg, int64_t length,
                                    int64_t cut1, int64_t cut2, int64_t f0, int64_t n, S* out, int32_t* amax) {
  constexpr bool kMax = POOL != kPoolMean, kMean = POOL == kPoolMean || POOL == kPoolMaxMean;
  constexpr int kBlocks = POOL == kPoolPiecewise ? 3 : 1;
  const int64_t F = s.F;
  A h[N], best[N], sum[N];
  int32_t arg[N];
  for (int64_t c = 0; c < n; ++c) sum[c] = A(0);
  for (int q = 0; q < kBlocks; ++q) {
    int64_t lo, hi;
    block_range(POOL, q, length, cut1, cut2, &lo, &hi);
    for (int64_t c = 0; c < n; ++c) {
      best[c] = -INFINITY;
      arg[c] = -1;
    }
    for (int64_t t = lo; t < hi; ++t) {
      pair_preactivation<S, A>(s, rows_g, t1, t2, p1, p2, tg, t, f0, n, h);
      const int32_t tt = static_cast<int32_t>(t);
      for (int64_t c = 0; c < n; ++c) {
        const A y = activate(h[c], ACT);
        if (kMean) sum[c] += y;
        if (kMax) {
          const bool gt = y > best[c] || y != y;  // ties: the first token; NaN wins and stays, as in amax
          best[c] = gt ? y : best[c];
          arg[c] = gt ? tt : arg[c];
        }
      }
    }
    if (kMax) {
      for (int64_t c = 0; c < n; ++c) {
        // An empty piece pools to 0; a max over no token is -inf, as a masked max.
        const A v = (POOL == kPoolPiecewise && arg[c] < 0) ? A(0) : best[c];
        out[q * F + f0 + c] = static_cast<S>(v);
        amax[q * F + f0 + c] = arg[c];
      }
    }
  }
  if (kMean) {
    const A inv = length > 0 ? A(1) / static_cast<A>(length) : A(0);
    const int64_t block = POOL == kPoolMaxMean ? 1 : 0;
    for (int64_t c = 0; c < n; ++c) out[block * F + f0 + c] = static_cast<S>(sum[c] * inv);
  }
}

// Plain accumulation (CPU: each gradient element has one writer); CUDA passes an atomic one.
struct PlainAdd {
  template <typename A>
  RELEXT_HD void operator()(A* p, A v) const { *p += v; }
};

// Adds d[c] to the gradients of everything token t of a pair read: its sentence row and
// the table rows of each tap (columns [f0, f0 + n)).
template <typename A, typename Add>
RELEXT_HD void pair_scatter(const PairConvShape& s, A* grows_g, A* gt1, A* gt2, const int64_t* p1,
                            const int64_t* p2, int64_t tg, int64_t t, int64_t f0, int64_t n, const A* d,
                            const Add& add) {
  A* r = grows_g + t * s.F + f0;
  for (int64_t c = 0; c < n; ++c) add(r + c, d[c]);
  for (int64_t j = 0; j < s.K; ++j) {
    const int64_t i1 = tap_index(p1, s, t, j), i2 = tap_index(p2, s, t, j);
    if (i1 != 0) {
      A* a = gt1 + table_row(s, tg, j, i1) + f0;
      for (int64_t c = 0; c < n; ++c) add(a + c, d[c]);
    }
    if (i2 != 0) {
      A* b = gt2 + table_row(s, tg, j, i2) + f0;
      for (int64_t c = 0; c < n; ++c) add(b + c, d[c]);
    }
  }
}

// Backward of one pair over columns [f0, f0 + n), n <= N: the pooled gradient `grad`
// (the pair's row) goes back through pooling and activation to every token it came
// from, and from there to the sentence row and the position-table rows (Add accumulates).
// Max blocks send it to their argmax token; a mean block recomputes the activations.
template <typename S, typename A, int N, int ACT, int POOL, typename Add>
RELEXT_HD void pair_backward_columns(const PairConvShape& s, const S* rows_g, const S* t1, const S* t2,
                                     const int64_t* p1, const int64_t* p2, int64_t tg, int64_t length,
                                     int64_t f0, int64_t n, const S* grad, const S* pooled,
                                     const int32_t* amax, A* grows_g, A* gt1, A* gt2, const Add& add) {
  const int64_t F = s.F;
  A d[N];
  for (int64_t q = 0; q < max_blocks(POOL); ++q) {
    for (int64_t c = 0; c < n; ++c) {
      const int64_t f = f0 + c;
      const int32_t t = amax[q * F + f];
      if (t < 0) continue;
      d[0] = static_cast<A>(grad[q * F + f]) * activate_grad(static_cast<A>(pooled[q * F + f]), ACT);
      pair_scatter<A>(s, grows_g, gt1, gt2, p1, p2, tg, t, f, 1, d, add);
    }
  }
  if (POOL != kPoolMean && POOL != kPoolMaxMean) return;
  const int64_t mean_block = POOL == kPoolMaxMean ? 1 : 0;
  if (length <= 0) return;
  A g[N], h[N];
  const A inv = A(1) / static_cast<A>(length);
  for (int64_t c = 0; c < n; ++c) g[c] = static_cast<A>(grad[mean_block * F + f0 + c]) * inv;
  for (int64_t t = 0; t < length; ++t) {
    pair_preactivation<S, A>(s, rows_g, t1, t2, p1, p2, tg, t, f0, n, h);
    for (int64_t c = 0; c < n; ++c) d[c] = g[c] * activate_grad(activate(h[c], ACT), ACT);
    pair_scatter<A>(s, grows_g, gt1, gt2, p1, p2, tg, t, f0, n, d, add);
  }
}

// Calls f(act, pool) with both as std::integral_constant: one instantiation per mode.
template <typename Fn>
void dispatch_pair_modes(int activation, int pool, Fn&& f) {
  using std::integral_constant;
  auto with_pool = [&](auto act) {
    switch (pool) {
      case kPoolMax: return f(act, integral_constant<int, kPoolMax>{});
      case kPoolMean: return f(act, integral_constant<int, kPoolMean>{});
      case kPoolMaxMean: return f(act, integral_constant<int, kPoolMaxMean>{});
      default: return f(act, integral_constant<int, kPoolPiecewise>{});
    }
  };
  switch (activation) {
    case kActNone: return with_pool(integral_constant<int, kActNone>{});
    case kActRelu: return with_pool(integral_constant<int, kActRelu>{});
    default: return with_pool(integral_constant<int, kActTanh>{});
  }
}

}  // namespace relext
