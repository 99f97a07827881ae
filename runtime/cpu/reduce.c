/* Mean, sum and max over any set of axes: one output at a time, walking the
 * reduced axes through strides. */
#include <math.h>

#include "cpu_backend.h"
#include "strided.h"

illume_status cpu_reduce(backend *self, const reduce_desc *desc, const float *x, float *y) {
    (void)self;
    int rank = desc->rank;
    int64_t strides[ILLUME_MAX_RANK], kept_dims[ILLUME_MAX_RANK], kept_strides[ILLUME_MAX_RANK];
    int64_t reduced_dims[ILLUME_MAX_RANK], reduced_strides[ILLUME_MAX_RANK];
    int kept_rank = 0, reduced_rank = 0;
    int64_t stride = 1, outputs = 1, count = 1;
    for (int d = rank - 1; d >= 0; d--) {
        strides[d] = stride;
        stride *= desc->dims[d];
    }
    for (int d = 0; d < rank; d++) {
        if (desc->reduced[d]) {
            reduced_dims[reduced_rank] = desc->dims[d];
            reduced_strides[reduced_rank++] = strides[d];
            count *= desc->dims[d];
        } else {
            kept_dims[kept_rank] = desc->dims[d];
            kept_strides[kept_rank++] = strides[d];
            outputs *= desc->dims[d];
        }
    }
#pragma omp parallel for schedule(static) if (outputs > 16)
    for (int64_t o = 0; o < outputs; o++) {
        const float *base = x + illume_strided_offset(kept_rank, kept_dims, kept_strides, o);
        double sum = 0.0;
        float largest = -INFINITY;
        for (int64_t k = 0; k < count; k++) {
            float value = base[illume_strided_offset(reduced_rank, reduced_dims, reduced_strides, k)];
            sum += value;
            if (value > largest) largest = value;
        }
        y[o] = desc->kind == REDUCE_MAX ? largest
               : desc->kind == REDUCE_SUM ? (float)sum
                                          : (count ? (float)(sum / (double)count) : NAN);
    }
    return ILLUME_OK;
}
