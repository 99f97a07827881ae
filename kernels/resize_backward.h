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

#include <stdint.h>

#include "backend.h"
#include "device.h"
#include "resize.h"

/* One entry of an input coordinate's list: an output coordinate that reads
 * it, and with what weight. */
typedef struct illume_resize_tap {
    int64_t out;
    float weight;
} illume_resize_tap;

/* Where every axis's lists lie in two tables, one of list starts and one of
 * taps: input coordinate j of axis d has the taps from
 * taps[tap_base[d] + start[j]] up to start[j + 1], where start is
 * starts + start_base[d] (in_dims[d] + 1 entries); the axis has room for
 * two taps per output coordinate. */
typedef struct illume_resize_lists {
    int64_t start_base[ILLUME_MAX_RANK], tap_base[ILLUME_MAX_RANK];
    int64_t starts, taps; /* the tables' entries */
    int64_t out_strides[ILLUME_MAX_RANK];
    int64_t inputs; /* dx's elements */
} illume_resize_lists;

ILLUME_INLINE illume_resize_lists illume_resize_lists_layout(const resize_desc *desc) {
    illume_resize_lists layout;
    int64_t stride = 1;
    layout.starts = layout.taps = 0;
    layout.inputs = 1;
    for (int d = desc->rank - 1; d >= 0; d--) {
        layout.out_strides[d] = stride;
        stride *= desc->out_dims[d];
        layout.inputs *= desc->in_dims[d];
        layout.start_base[d] = layout.starts;
        layout.tap_base[d] = layout.taps;
        layout.starts += desc->in_dims[d] + 1;
        layout.taps += 2 * desc->out_dims[d];
    }
    return layout;
}

/* Adds to start[j + 1] the taps of input coordinate j, or with `fill`
 * appends them at start[j] (advancing it) to taps. */
ILLUME_INLINE void illume_resize_walk_taps(const resize_desc *desc, int axis, int64_t *start, illume_resize_tap *taps,
                                           int fill) {
    for (int64_t o = 0; o < desc->out_dims[axis]; o++) {
        int64_t reads[2];
        float weight;
        if (!illume_resize_taps(desc, axis, o, &reads[0], &reads[1], &weight)) continue;
        /* Zero weights read nothing in the forward either. */
        float weights[2] = {1.0f - weight, weight};
        for (int corner = 0; corner < 2; corner++) {
            if (weights[corner] == 0.0f) continue;
            if (fill) {
                illume_resize_tap *tap = &taps[start[reads[corner]]++];
                tap->out = o;
                tap->weight = weights[corner];
            } else {
                start[reads[corner] + 1]++;
            }
        }
    }
}

/* Fills the lists of one axis, each in output order: counts, their prefix
 * sums, then the taps. */
ILLUME_INLINE void illume_resize_axis_lists(const resize_desc *desc, const illume_resize_lists *layout, int axis,
                                            int64_t *starts, illume_resize_tap *taps) {
    int64_t *start = starts + layout->start_base[axis], n = desc->in_dims[axis];
    illume_resize_tap *axis_taps = taps + layout->tap_base[axis];
    for (int64_t j = 0; j <= n; j++) start[j] = 0;
    illume_resize_walk_taps(desc, axis, start, axis_taps, 0);
    for (int64_t j = 0; j < n; j++) start[j + 1] += start[j];
    /* Filling advances start[j] to where j's list ends; shift back after. */
    illume_resize_walk_taps(desc, axis, start, axis_taps, 1);
    for (int64_t j = n; j > 0; j--) start[j] = start[j - 1];
    start[0] = 0;
}

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

/* The gradient of input element i, from the tables the axes' lists fill. */
ILLUME_INLINE float illume_resize_input_gradient(const resize_desc *desc, const illume_resize_lists *layout,
                                                 const int64_t *starts, const illume_resize_tap *taps,
                                                 const float *dy, int64_t i) {
    const illume_resize_tap *lists[ILLUME_MAX_RANK];
    int64_t counts[ILLUME_MAX_RANK], rest = i;
    for (int d = desc->rank - 1; d >= 0; d--) {
        int64_t j = rest % desc->in_dims[d];
        rest /= desc->in_dims[d];
        const int64_t *start = starts + layout->start_base[d];
        lists[d] = taps + layout->tap_base[d] + start[j];
        counts[d] = start[j + 1] - start[j];
    }
    return illume_resize_backward_at(desc->rank, lists, counts, layout->out_strides, dy);
}

#endif
