/* Per-element math of pooling: one output value of max or average pooling
 * over 1 to 3 spatial dims, with the flat index of the max in its plane.
 * Shared by the CPU backend and the CUDA kernels. */
#ifndef ILLUME_KERNELS_POOL_H
#define ILLUME_KERNELS_POOL_H

#include <float.h>

#include "backend.h"
#include "device.h"

/* out: the output's flat index within its plane. */
ILLUME_INLINE float illume_pool_at(const pool_desc *desc, const float *plane, int64_t out, int32_t *argmax) {
    int rank = desc->spatial_rank;
    int64_t start[ILLUME_MAX_SPATIAL] = {0, 0, 0}, extent[ILLUME_MAX_SPATIAL] = {1, 1, 1};
    int64_t step[ILLUME_MAX_SPATIAL] = {1, 1, 1}, size[ILLUME_MAX_SPATIAL] = {1, 1, 1};
    int64_t padded_end[ILLUME_MAX_SPATIAL] = {1, 1, 1};
    for (int d = rank - 1; d >= 0; d--) {
        int64_t coordinate = out % desc->out_size[d];
        out /= desc->out_size[d];
        start[d] = coordinate * desc->stride[d] - desc->pad_begin[d];
        extent[d] = desc->kernel[d];
        step[d] = desc->dilation[d];
        size[d] = desc->in_size[d];
        padded_end[d] = desc->in_size[d] + desc->pad_end[d];
    }
    float best = -FLT_MAX;
    int64_t best_index = -1;
    float sum = 0.0f;
    int64_t counted = 0, padded = 0;
    for (int64_t k0 = 0; k0 < extent[0]; k0++) {
        int64_t i0 = start[0] + k0 * step[0];
        for (int64_t k1 = 0; k1 < extent[1]; k1++) {
            int64_t i1 = start[1] + k1 * step[1];
            for (int64_t k2 = 0; k2 < extent[2]; k2++) {
                int64_t i2 = start[2] + k2 * step[2];
                int inside_padding = i0 < padded_end[0] && i1 < padded_end[1] && i2 < padded_end[2];
                if (inside_padding) padded++;
                if (i0 < 0 || i0 >= size[0] || i1 < 0 || i1 >= size[1] || i2 < 0 || i2 >= size[2]) continue;
                int64_t index = (i0 * size[1] + i1) * size[2] + i2;
                float value = plane[index];
                counted++;
                sum += value;
                if (value > best || best_index < 0 || value != value) {
                    best = value;
                    best_index = index;
                }
            }
        }
    }
    if (desc->kind == POOL_MAX) {
        if (argmax) *argmax = (int32_t)best_index;
        return best_index < 0 ? 0.0f : best;
    }
    int64_t divisor = desc->count_include_pad ? padded : counted;
    return divisor > 0 ? sum / (float)divisor : 0.0f;
}

#endif
