/* Per-element math of the Resize backward pass (its adjoint). Resize is
 * separable: along each axis, output coordinate o reads at most two input
 * coordinates with weights that do not depend on the other axes, and an
 * output reads input element (j0, j1, ...) with the product of the axes'
 * weights. The backward turns each axis's taps around into a list per input
 * coordinate, then gathers for every input element over the product of its
 * coordinates' lists, so that each thread writes only its own element.
 * Shared by the CPU backend and the CUDA kernels. */
#ifndef ILLUME_KERNELS_RESIZE_BACKWARD_H
#define ILLUME_KERNELS_RESIZE_BACKWARD_H

#include <math.h>
#include <stdint.h>

#include "backend.h"
#include "device.h"
#include "resize.h"

/* The input coordinates output coordinate `out` of `axis` reads, as the
 * forward computes them: *low with weight 1 - *weight, *high with *weight
 * (nearest mode: *low only, weight 0). Returns 0 where tf_crop_and_resize
 * extrapolates, which reads nothing. */
ILLUME_INLINE int illume_resize_taps(const resize_desc *desc, int axis, int64_t out, int64_t *low, int64_t *high,
                                     float *weight) {
    int64_t n = desc->in_dims[axis];
    float source = illume_resize_source(desc, axis, out);
    if (desc->coordinates == RESIZE_TF_CROP_AND_RESIZE && (source < 0.0f || source > (float)(n - 1))) return 0;
    if (desc->mode == RESIZE_NEAREST) {
        int64_t index = illume_resize_nearest(desc->rounding, source);
        *low = *high = index < 0 ? 0 : (index >= n ? n - 1 : index);
        *weight = 0.0f;
    } else {
        float clamped = source < 0.0f ? 0.0f : (source > (float)(n - 1) ? (float)(n - 1) : source);
        int64_t base = (int64_t)floorf(clamped);
        *low = base;
        *high = base + 1 < n ? base + 1 : base;
        *weight = clamped - (float)base;
    }
    return 1;
}

/* One entry of an input coordinate's list: an output coordinate that reads
 * it, and with what weight. */
typedef struct illume_resize_tap {
    int64_t out;
    float weight;
} illume_resize_tap;

/* The gradient of one input element: lists[d] (counts[d] taps) are the taps
 * of its coordinate along axis d; out_strides are dy's. */
ILLUME_INLINE float illume_resize_backward_at(int rank, const illume_resize_tap *const *lists, const int64_t *counts,
                                              const int64_t *out_strides, const float *dy) {
    int64_t term[ILLUME_MAX_RANK];
    for (int d = 0; d < rank; d++) {
        if (counts[d] == 0) return 0.0f;
        term[d] = 0;
    }
    float sum = 0.0f;
    for (;;) {
        float weight = 1.0f;
        int64_t offset = 0;
        for (int d = 0; d < rank; d++) {
            weight *= lists[d][term[d]].weight;
            offset += lists[d][term[d]].out * out_strides[d];
        }
        sum += weight * dy[offset];
        int d = rank - 1;
        while (d >= 0 && ++term[d] == counts[d]) term[d--] = 0;
        if (d < 0) return sum;
    }
}

#endif
