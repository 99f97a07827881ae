/* Per-element math of pooling: one output value of max or average pooling
 * over 1 to 3 spatial dims, with the flat index of the max in its plane.
 * Shared by the CPU backend and the CUDA kernels. Window positions are
 * visited in row-major order; the first of equal maxima wins and a NaN wins. */
#ifndef ILLUME_KERNELS_POOL_H
#define ILLUME_KERNELS_POOL_H

#include <stdint.h>

#include "backend.h"
#include "device.h"

/* The window positions k (start + k step) of one axis that fall inside
 * [0, limit): k from *low to the returned bound. */
ILLUME_INLINE int64_t illume_pool_window(int64_t start, int64_t step, int64_t extent, int64_t limit, int64_t *low) {
    int64_t high;
    if (step == 1) { /* the usual undilated window, without divisions */
        *low = start < 0 ? -start : 0;
        high = limit - start;
    } else {
        *low = start < 0 ? (-start + step - 1) / step : 0;
        high = limit > start ? (limit - start + step - 1) / step : 0;
    }
    if (high < *low) high = *low;
    return high < extent ? high : extent;
}

/* The window of output `at` along every axis, right-aligned in three slots
 * (unused leading slots are one wide). */
typedef struct illume_pool_span {
    int64_t start[ILLUME_MAX_SPATIAL], step[ILLUME_MAX_SPATIAL], size[ILLUME_MAX_SPATIAL];
    int64_t low[ILLUME_MAX_SPATIAL], high[ILLUME_MAX_SPATIAL];
} illume_pool_span;

ILLUME_INLINE illume_pool_span illume_pool_span_at(const pool_desc *desc, const int64_t *at) {
    illume_pool_span span;
    for (int slot = 0; slot < ILLUME_MAX_SPATIAL; slot++) {
        span.start[slot] = span.low[slot] = 0;
        span.step[slot] = span.size[slot] = span.high[slot] = 1;
    }
    int rank = desc->spatial_rank;
    for (int d = 0; d < rank; d++) {
        int slot = ILLUME_MAX_SPATIAL - rank + d;
        span.start[slot] = at[d] * desc->stride[d] - desc->pad_begin[d];
        span.step[slot] = desc->dilation[d];
        span.size[slot] = desc->in_size[d];
        span.high[slot] =
            illume_pool_window(span.start[slot], span.step[slot], desc->kernel[d], span.size[slot], &span.low[slot]);
    }
    return span;
}

/* What average pooling divides the sum of output `at` by: the positions
 * inside the input, or with count_include_pad those inside the padded input. */
ILLUME_INLINE float illume_pool_divisor(const pool_desc *desc, const int64_t *at) {
    int64_t count = 1;
    for (int d = 0; d < desc->spatial_rank; d++) {
        int64_t start = at[d] * desc->stride[d] - desc->pad_begin[d], low;
        int64_t limit = desc->in_size[d] + (desc->count_include_pad ? desc->pad_end[d] : 0);
        if (desc->count_include_pad && start < 0) {
            /* Positions in the begin padding count as well. */
            int64_t high = illume_pool_window(start, desc->dilation[d], desc->kernel[d], limit, &low);
            count *= high;
        } else {
            count *= illume_pool_window(start, desc->dilation[d], desc->kernel[d], limit, &low) - low;
        }
    }
    return (float)count;
}

/* The output at spatial coordinates `at` of one plane. */
ILLUME_INLINE float illume_pool_at(const pool_desc *desc, const float *plane, const int64_t *at, int32_t *argmax) {
    illume_pool_span s = illume_pool_span_at(desc, at);
    float best = 0.0f, sum = 0.0f;
    int64_t best_index = -1;
    for (int64_t k0 = s.low[0]; k0 < s.high[0]; k0++) {
        int64_t row0 = (s.start[0] + k0 * s.step[0]) * s.size[1];
        for (int64_t k1 = s.low[1]; k1 < s.high[1]; k1++) {
            int64_t row = (row0 + s.start[1] + k1 * s.step[1]) * s.size[2] + s.start[2];
            for (int64_t k2 = s.low[2]; k2 < s.high[2]; k2++) {
                int64_t index = row + k2 * s.step[2];
                float value = plane[index];
                sum += value;
                if (value > best || value != value || best_index < 0) {
                    best = value;
                    best_index = index;
                }
            }
        }
    }
    if (desc->kind == POOL_MAX) {
        if (argmax) *argmax = (int32_t)best_index;
        return best;
    }
    if (best_index < 0) return 0.0f;
    return sum / illume_pool_divisor(desc, at);
}

/* Folds the maximum of one part of a plane (other at other_index, found in
 * the order of illume_pool_at) into that of another part (*best at *index),
 * as one scan of both parts in order would choose: the NaN of the larger
 * index, else the larger value, the smaller index of equal ones. An index of
 * -1 is an empty part. For reductions of a plane split among threads. */
ILLUME_INLINE void illume_pool_keep_larger(float *best, int64_t *index, float other, int64_t other_index) {
    if (other_index < 0) return;
    int nan = *best != *best, other_nan = other != other, take;
    if (*index < 0) take = 1;
    else if (nan || other_nan) take = other_nan && (!nan || other_index > *index);
    else take = other > *best || (other == *best && other_index < *index);
    if (take) {
        *best = other;
        *index = other_index;
    }
}

/* The output with flat index `out` within its plane. */
ILLUME_INLINE float illume_pool_at_index(const pool_desc *desc, const float *plane, int64_t out, int32_t *argmax) {
    int64_t at[ILLUME_MAX_SPATIAL] = {0, 0, 0};
    for (int d = desc->spatial_rank - 1; d >= 0; d--) {
        at[d] = out % desc->out_size[d];
        out /= desc->out_size[d];
    }
    return illume_pool_at(desc, plane, at, argmax);
}

#endif
