// Shared by the CPU and CUDA kernels. No torch here: nvcc compiles it on any machine.
#pragma once
#include <cmath>
#include <cstdint>

#if defined(__CUDACC__)
#define RELEXT_HD __host__ __device__ __forceinline__
#else
#define RELEXT_HD inline
#endif

namespace relext {

using std::exp;
using std::log;
using std::log1p;
using std::tanh;

// log(1 + exp(x)) without overflow.
template <typename T>
RELEXT_HD T softplus(T x) {
  return x > T(0) ? x + log1p(exp(-x)) : log1p(exp(x));
}

// 1 / (1 + exp(-x)) without overflow: the derivative of softplus.
template <typename T>
RELEXT_HD T sigmoid(T x) {
  if (x >= T(0)) return T(1) / (T(1) + exp(-x));
  T e = exp(x);
  return e / (T(1) + e);
}

// softplus(x), and its derivative sigmoid(x) into *sig, from one exp. Written with
// selects only, so that the CPU kernel's loop over many arguments vectorises
// (softplus_cpu.cpp; in this order GCC 12 turns the selects into blends).
template <typename T>
RELEXT_HD T softplus_grad(T x, T* sig) {
  const bool pos = x >= T(0);
  const T e = exp(pos ? -x : x);  // exp(-|x|): never overflows
  const T num = pos ? T(1) : e;
  const T sp = (pos ? x : T(0)) + log1p(e);
  *sig = num / (T(1) + e);
  return sp;
}

}  // namespace relext
