// Compiled by CI with nvcc alone (no torch, no GPU): every CUDA kernel of the extension
// must compile for each storage type the binding dispatches to.
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include "kernels_cuda.cuh"

namespace relext {
namespace cuda {

template <typename S, typename A>
void instantiate() {
  ranking_forward_kernel<S, A><<<1, 1>>>(nullptr, 0, 0, 0, 0, nullptr, nullptr, 0, 0, RankingParams{}, A(1),
                                         nullptr, nullptr, nullptr);
  ranking_backward_kernel<S, A><<<1, 1>>>(nullptr, 1, nullptr, nullptr, 0, 0, nullptr, nullptr);
  Segments<S> segs{};
  embed_forward_kernel<S><<<1, 1>>>(segs, 0, 0, nullptr);
  embed_check_kernel<S><<<1, 1>>>(segs, 0, nullptr);
  embed_backward_atomic_kernel<S><<<1, 1>>>(nullptr, segs, Dest{}, 0, 0);
  embed_backward_sorted_kernel<S><<<1, 1>>>(nullptr, 0, nullptr, nullptr, nullptr, nullptr, 0, 0, 0, nullptr);
  PairConvShape shape{};
  dispatch_pair_modes(0, 0, [&](auto act, auto how) {  // every mode is instantiated
    constexpr int ACT = decltype(act)::value, POOL = decltype(how)::value;
    pair_forward_kernel<S, A, ACT, POOL><<<1, 1>>>(shape, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr,
                                                   nullptr, nullptr, 0, nullptr, nullptr);
    pair_backward_kernel<S, A, ACT, POOL><<<1, 1>>>(shape, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr,
                                                    nullptr, nullptr, nullptr, nullptr, 0, nullptr, nullptr, nullptr);
  });
}

template void instantiate<float, float>();
template void instantiate<double, double>();
template void instantiate<__half, float>();
template void instantiate<__nv_bfloat16, float>();

}  // namespace cuda
}  // namespace relext
