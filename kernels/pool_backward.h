/* Per-element math of the pooling backward pass: the gradient of one input
 * element, gathered from the outputs whose windows cover it, so that every
 * thread writes only its own element. Shared by the CPU backend and the CUDA
 * kernels. */
#ifndef ILLUME_KERNELS_POOL_BACKWARD_H
#define ILLUME_KERNELS_POOL_BACKWARD_H

#include <stdint.h>

#include "backend.h"
#include "device.h"
#include "pool.h"

/* The outputs along axis d whose window span reaches input coordinate i: o
 * from *first to the returned bound. With a dilation, only those for which
 * illume_pool_reaches holds put a window position on i. */
ILLUME_INLINE int64_t illume_pool_covering(const pool_desc *desc, int d, int64_t i, int64_t *first) {
    /* Output o's window holds the padded coordinates o stride + k dilation, k < kernel. */
    int64_t position = i + desc->pad_begin[d], stride = desc->stride[d];
    int64_t lowest = position - (desc->kernel[d] - 1) * desc->dilation[d];
    int64_t low = lowest <= 0 ? 0 : (lowest + stride - 1) / stride;
    int64_t high = position < 0 ? 0 : position / stride + 1;
    if (high > desc->out_size[d]) high = desc->out_size[d];
    *first = low;
    return high < low ? low : high;
}

ILLUME_INLINE int illume_pool_reaches(const pool_desc *desc, int d, int64_t i, int64_t o) {
    return desc->dilation[d] == 1 || (i + desc->pad_begin[d] - o * desc->stride[d]) % desc->dilation[d] == 0;
}

/* The gradients of the input element at spatial coordinates `at` (flat
 * index `index` in its plane) in `count` consecutive channels, into dx[0..count):
 * dy and argmax point at the first output of the first channel's plane; a
 * plane's consecutive outputs lie `step` elements apart and its channels
 * 1 apart (channels last: step is the channels; NCHW: one channel a call,
 * step 1). first and last hold the covering outputs of each axis,
 * right-aligned in three slots as in illume_pool_span (unused slots 0 and
 * 1). Max pooling takes the dy of the outputs whose argmax names the
 * element; average pooling dy / divisor of every output whose window holds
 * it. The channel loop is innermost, so that it vectorizes; each channel
 * sums its outputs in the same order whatever count is. */
ILLUME_INLINE void illume_pool_gather(const pool_desc *desc, const float *dy, const int32_t *argmax, int64_t step,
                                      int64_t count, const int64_t *at, int64_t index, const int64_t *first,
                                      const int64_t *last, float *dx) {
    int64_t size[ILLUME_MAX_SPATIAL] = {1, 1, 1};
    int rank = desc->spatial_rank, unused = ILLUME_MAX_SPATIAL - rank;
    for (int d = 0; d < rank; d++) size[unused + d] = desc->out_size[d];
    for (int64_t c = 0; c < count; c++) dx[c] = 0.0f;
    int64_t o[ILLUME_MAX_SPATIAL];
    for (o[0] = first[0]; o[0] < last[0]; o[0]++) {
        if (unused == 0 && !illume_pool_reaches(desc, 0, at[0], o[0])) continue;
        for (o[1] = first[1]; o[1] < last[1]; o[1]++) {
            if (unused <= 1 && !illume_pool_reaches(desc, 1 - unused, at[1 - unused], o[1])) continue;
            for (o[2] = first[2]; o[2] < last[2]; o[2]++) {
                if (!illume_pool_reaches(desc, 2 - unused, at[2 - unused], o[2])) continue;
                int64_t out = ((o[0] * size[1] + o[1]) * size[2] + o[2]) * step;
                const float *gradient = dy + out;
                if (desc->kind == POOL_MAX) {
                    /* Both loads unconditional, so that the selection vectorizes. */
                    const int32_t *winner = argmax + out, wanted = (int32_t)index;
                    for (int64_t c = 0; c < count; c++) {
                        float value = gradient[c];
                        dx[c] += winner[c] == wanted ? value : 0.0f;
                    }
                } else {
                    float divisor = illume_pool_divisor(desc, o + unused);
                    if (divisor > 0.0f)
                        for (int64_t c = 0; c < count; c++) dx[c] += gradient[c] / divisor;
                }
            }
        }
    }
}

#endif
