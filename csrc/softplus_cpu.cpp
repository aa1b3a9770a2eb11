// The CPU kernel's transcendental work, in a loop the compiler vectorises. glibc's
// vector math library (libmvec) provides SIMD exp and log1p on x86-64, but its header
// announces them to the compiler only under -ffast-math, which would also remove the
// kernel's NaN checks; so the SIMD variants are declared here, and the loop is
// otherwise plain C++ (elsewhere it compiles to the scalar calls). The build passes
// -fno-math-errno, without which no math call is vectorised.
#include "softplus_cpu.h"

#include "common.h"

#if defined(__x86_64__) && defined(__GLIBC__) && defined(__GNUC__) && !defined(__clang__)
#if __GLIBC_PREREQ(2, 35)  // log1p joined libmvec in 2.35
// An AVX2 clone beside the baseline one, picked at load time by the CPU.
#define RELEXT_CLONES __attribute__((target_clones("avx2", "default")))
extern "C" {
__attribute__((simd("notinbranch"))) float expf(float) noexcept;
__attribute__((simd("notinbranch"))) double exp(double) noexcept;
__attribute__((simd("notinbranch"))) float log1pf(float) noexcept;
__attribute__((simd("notinbranch"))) double log1p(double) noexcept;
}
#endif
#endif
#ifndef RELEXT_CLONES
#define RELEXT_CLONES
#endif

namespace relext {
namespace {

template <typename T>
__attribute__((always_inline)) inline void many(const T* __restrict x, T* __restrict sp, T* __restrict sig, int64_t n) {
#pragma omp simd
  for (int64_t i = 0; i < n; ++i) sp[i] = softplus_grad(x[i], &sig[i]);
}

}  // namespace

RELEXT_CLONES void softplus_grad_many(const float* x, float* sp, float* sig, int64_t n) { many(x, sp, sig, n); }
RELEXT_CLONES void softplus_grad_many(const double* x, double* sp, double* sig, int64_t n) {
  many(x, sp, sig, n);
}

}  // namespace relext
