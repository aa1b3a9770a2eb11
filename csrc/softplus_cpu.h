// softplus(x[i]) and sigmoid(x[i]) over an array, vectorised on CPU (softplus_cpu.cpp).
// No torch here.
#pragma once
#include <cstdint>

namespace relext {

void softplus_grad_many(const float* x, float* sp, float* sig, int64_t n);
void softplus_grad_many(const double* x, double* sp, double* sig, int64_t n);

}  // namespace relext
