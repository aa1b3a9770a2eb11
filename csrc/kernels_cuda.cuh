// CUDA kernels of the relext ops. No torch here: nvcc compiles this on any machine
// (check_headers.cu), and relext_ops_cuda.cu launches them from the torch binding.
// S is the storage type (float, double, half, bfloat16); A the accumulation type.
#pragma once
#include <cuda_runtime.h>

#include "embed_concat.h"
#include "pair_conv_pool.h"
#include "ranking_loss.h"

namespace relext {
namespace cuda {

// One thread per row: the row's loss and its gradient (times `scale`).
template <typename S, typename A>
__global__ void ranking_forward_kernel(const S* scores, int64_t s0, int64_t s1, int64_t B, int64_t C,
                                       const int64_t* labels, const S* id, int64_t i0, int64_t i1,
                                       RankingParams p, A scale, S* out, S* dscores, S* did) {
  const int64_t b = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  if (b >= B) return;
  out[b] = static_cast<S>(ranking_row<S, A>(scores + b * s0, s1, C, labels[b], id ? id + b * i0 : nullptr,
                                            i1, p, scale, dscores + b * C, id ? did + b * 2 : nullptr));
}

// grad is a scalar (grad_scalar != 0) or one value per row.
template <typename S, typename A>
__global__ void ranking_backward_kernel(const S* grad, int grad_scalar, const S* dscores, const S* did,
                                        int64_t B, int64_t C, S* gs, S* gid) {
  const int64_t b = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  if (b >= B) return;
  const A g = static_cast<A>(grad[grad_scalar ? 0 : b]);
  scale_row<S, A>(g, dscores + b * C, C, gs + b * C);
  if (did != nullptr) scale_row<S, A>(g, did + b * 2, 2, gid + b * 2);
}

// Up to four segments; one block per group of tokens, threads across the output row
// so that reads of a table row and writes of the output row are coalesced.
template <typename S>
struct Segments {
  Segment<S> seg[4];
  int count;
  int64_t width;  // total output width
};

// The segment that output column d belongs to.
template <typename S>
__device__ __forceinline__ int segment_of(const Segments<S>& segs, int64_t d) {
  int k = 0;
  while (k + 1 < segs.count && d >= segs.seg[k + 1].offset) ++k;
  return k;
}

template <typename S>
__global__ void embed_forward_kernel(Segments<S> segs, int64_t N, int64_t padding, S* out) {
  for (int64_t n = blockIdx.x; n < N; n += gridDim.x) {
    for (int64_t d = threadIdx.x; d < segs.width; d += blockDim.x) {
      const int k = segment_of(segs, d);
      const Segment<S>& s = segs.seg[k];
      const int64_t i = s.index[n];
      out[n * segs.width + d] = i == padding ? S(0.0f) : s.table[i * s.width + (d - s.offset)];
    }
  }
}

// Marks the first out-of-range index of each segment (flag[k] = 1).
template <typename S>
__global__ void embed_check_kernel(Segments<S> segs, int64_t N, int* flag) {
  for (int64_t n = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; n < N;
       n += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    for (int k = 0; k < segs.count; ++k) {
      const int64_t i = segs.seg[k].index[n];
      if (i < 0 || i >= segs.seg[k].rows) flag[k] = 1;
    }
  }
}

// Fast backward: atomic accumulation into float32 gradient tables (dest[k], one per
// segment; a shared position table appears twice with the same dest).
struct Dest {
  float* p[4];
};

template <typename S>
__global__ void embed_backward_atomic_kernel(const S* grad, Segments<S> segs, Dest dest,
                                             int64_t N, int64_t padding) {
  for (int64_t n = blockIdx.x; n < N; n += gridDim.x) {
    for (int64_t d = threadIdx.x; d < segs.width; d += blockDim.x) {
      const int k = segment_of(segs, d);
      const Segment<S>& s = segs.seg[k];
      const int64_t i = s.index[n];
      if (i == padding) continue;
      atomicAdd(dest.p[k] + i * s.width + (d - s.offset), static_cast<float>(grad[n * segs.width + d]));
    }
  }
}

// Deterministic backward for one table: entries sorted by row (stable), so each block
// sums one row's contributions in a fixed order. run_start[r]..run_start[r+1] are the
// entries of run r; entry e reads grad[token[e], column[e] + j].
template <typename S>
__global__ void embed_backward_sorted_kernel(const S* grad, int64_t grad_width, const int64_t* rows,
                                             const int64_t* token, const int64_t* column,
                                             const int64_t* run_start, int64_t runs, int64_t width,
                                             int64_t padding, float* dest) {
  for (int64_t r = blockIdx.x; r < runs; r += gridDim.x) {
    const int64_t e0 = run_start[r], e1 = run_start[r + 1];
    const int64_t row = rows[e0];
    if (row == padding) continue;
    for (int64_t j = threadIdx.x; j < width; j += blockDim.x) {
      float acc = 0.0f;
      for (int64_t e = e0; e < e1; ++e) acc += static_cast<float>(grad[token[e] * grad_width + column[e] + j]);
      dest[row * width + j] = acc;
    }
  }
}

// ---- pair_conv_pool ------------------------------------------------------------
// One block per pair (grid-stride), one thread per filter column: reads of a sentence
// row and of a table row are coalesced across the block.
template <typename S, typename A, int ACT, int POOL>
__global__ void pair_forward_kernel(PairConvShape s, const S* rows, const S* t1, const S* t2, const int64_t* group,
                                    const int64_t* pos1, const int64_t* pos2, const int64_t* lengths,
                                    const int64_t* cuts, int64_t B, S* out, int32_t* amax) {
  const int64_t Q = pooled_blocks(s.pool), M = max_blocks(s.pool);
  for (int64_t b = blockIdx.x; b < B; b += gridDim.x) {
    const int64_t g = group[b], tg = s.Gt == 1 ? 0 : g;
    for (int64_t f = threadIdx.x; f < s.F; f += blockDim.x) {
      pair_forward_columns<S, A, 1, ACT, POOL>(s, rows + g * s.L * s.F, t1, t2, pos1 + b * s.L, pos2 + b * s.L, tg, lengths[b],
                                    cuts ? cuts[2 * b] : 0, cuts ? cuts[2 * b + 1] : 0, f, 1, out + b * Q * s.F,
                                    amax + b * M * s.F);
    }
  }
}

// Accumulates into A-typed gradient buffers (float for half and bfloat16) with atomics:
// the pairs of one sentence, and all pairs of a batch, share rows and table entries.
struct AtomicAdd {
  template <typename A>
  RELEXT_HD void operator()(A* p, A v) const {
#if defined(__CUDA_ARCH__)
    atomicAdd(p, v);
#else
    *p += v;
#endif
  }
};

template <typename S, typename A, int ACT, int POOL>
__global__ void pair_backward_kernel(PairConvShape s, const S* grad, const S* pooled, const int32_t* amax,
                                     const S* rows, const S* t1, const S* t2, const int64_t* group,
                                     const int64_t* pos1, const int64_t* pos2, const int64_t* lengths, int64_t B,
                                     A* grows, A* gt1, A* gt2) {
  const int64_t Q = pooled_blocks(s.pool), M = max_blocks(s.pool);
  for (int64_t b = blockIdx.x; b < B; b += gridDim.x) {
    const int64_t g = group[b], tg = s.Gt == 1 ? 0 : g;
    for (int64_t f = threadIdx.x; f < s.F; f += blockDim.x) {
      pair_backward_columns<S, A, 1, ACT, POOL>(s, rows + g * s.L * s.F, t1, t2, pos1 + b * s.L, pos2 + b * s.L, tg,
                                     lengths[b], f, 1, grad + b * Q * s.F, pooled + b * Q * s.F,
                                     amax + b * M * s.F, grows + g * s.L * s.F, gt1, gt2, AtomicAdd{});
    }
  }
}

}  // namespace cuda
}  // namespace relext
