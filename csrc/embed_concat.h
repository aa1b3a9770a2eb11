// The input layer of every model in one pass: for each token, the rows of the word,
// position-1, position-2 and tag tables, concatenated. Per-element math only.
// An index equal to `padding` gives a zero row and no gradient.
#pragma once
#include "common.h"

namespace relext {

// Up to four segments of the output row: which table, its width and output offset.
template <typename T>
struct Segment {
  const T* table;  // [rows, width], contiguous
  int64_t rows;
  int64_t width;
  int64_t offset;       // first output column
  const int64_t* index; // [N], contiguous
};

// Copies one token's row of one segment into out[0..width).
template <typename T>
RELEXT_HD void embed_segment_row(const Segment<T>& seg, int64_t n, int64_t padding, T* out) {
  const int64_t i = seg.index[n];
  if (i == padding) {
    for (int64_t d = 0; d < seg.width; ++d) out[d] = T(0);
  } else {
    const T* row = seg.table + i * seg.width;
    for (int64_t d = 0; d < seg.width; ++d) out[d] = row[d];
  }
}

// True when every index of the segment lies in [0, rows); reports the first bad one.
inline bool indices_in_range(const int64_t* index, int64_t n, int64_t rows, int64_t* bad_pos) {
  for (int64_t k = 0; k < n; ++k) {
    if (index[k] < 0 || index[k] >= rows) {
      *bad_pos = k;
      return false;
    }
  }
  return true;
}

}  // namespace relext
