/* Per-output math of the reductions (mean, sum, max over any set of axes),
 * shared by the CPU backend and the CUDA kernels: the axes split into kept
 * and reduced once, then each output walks its reduced axes by strides,
 * summing in double. */
#ifndef ILLUME_KERNELS_REDUCE_H
#define ILLUME_KERNELS_REDUCE_H

#include <math.h>
#include <stdint.h>

#include "backend.h"
#include "device.h"
#include "strided.h"

typedef struct illume_reduce_geometry {
    int kept_rank, reduced_rank;
    int64_t kept_dims[ILLUME_MAX_RANK], kept_strides[ILLUME_MAX_RANK];
    int64_t reduced_dims[ILLUME_MAX_RANK], reduced_strides[ILLUME_MAX_RANK];
    int64_t outputs, count; /* outputs, and inputs each output reduces */
} illume_reduce_geometry;

ILLUME_INLINE illume_reduce_geometry illume_reduce_split(const reduce_desc *desc) {
    illume_reduce_geometry g;
    int64_t strides[ILLUME_MAX_RANK], stride = 1;
    g.kept_rank = g.reduced_rank = 0;
    g.outputs = g.count = 1;
    for (int d = desc->rank - 1; d >= 0; d--) {
        strides[d] = stride;
        stride *= desc->dims[d];
    }
    for (int d = 0; d < desc->rank; d++) {
        if (desc->reduced[d]) {
            g.reduced_dims[g.reduced_rank] = desc->dims[d];
            g.reduced_strides[g.reduced_rank++] = strides[d];
            g.count *= desc->dims[d];
        } else {
            g.kept_dims[g.kept_rank] = desc->dims[d];
            g.kept_strides[g.kept_rank++] = strides[d];
            g.outputs *= desc->dims[d];
        }
    }
    return g;
}

/* An output from the sum (in double) and the largest of its count inputs. */
ILLUME_INLINE float illume_reduce_result(reduce_kind kind, double sum, float largest, int64_t count) {
    return kind == REDUCE_MAX   ? largest
           : kind == REDUCE_SUM ? (float)sum
                                : (count ? (float)(sum / (double)count) : NAN);
}

/* The first input of an output (the reduced axes at zero). */
ILLUME_INLINE const float *illume_reduce_base(const illume_reduce_geometry *g, const float *x, int64_t output) {
    return x + illume_strided_offset(g->kept_rank, g->kept_dims, g->kept_strides, output);
}

/* Input k of the inputs an output reduces, from its base. */
ILLUME_INLINE float illume_reduce_input(const illume_reduce_geometry *g, const float *base, int64_t k) {
    return base[illume_strided_offset(g->reduced_rank, g->reduced_dims, g->reduced_strides, k)];
}

ILLUME_INLINE float illume_reduce_output(reduce_kind kind, const illume_reduce_geometry *g, const float *x,
                                         int64_t output) {
    const float *base = illume_reduce_base(g, x, output);
    double sum = 0.0;
    float largest = -INFINITY;
    for (int64_t k = 0; k < g->count; k++) {
        float value = illume_reduce_input(g, base, k);
        sum += value;
        if (value > largest) largest = value;
    }
    return illume_reduce_result(kind, sum, largest, g->count);
}

#endif
