/* Resize, nearest or n-linear, one output element at a time through the
 * coordinate math of kernels/resize.h. */
#include <math.h>

#include "cpu_backend.h"
#include "resize.h"

illume_status cpu_resize(backend *self, const resize_desc *desc, const float *x, float *y) {
    (void)self;
    int rank = desc->rank;
    int64_t total = 1, in_strides[ILLUME_MAX_RANK], stride = 1;
    for (int d = rank - 1; d >= 0; d--) {
        in_strides[d] = stride;
        stride *= desc->in_dims[d];
        total *= desc->out_dims[d];
    }
#pragma omp parallel for schedule(static) if (total > 16384)
    for (int64_t i = 0; i < total; i++) {
        int64_t rest = i;
        int64_t low[ILLUME_MAX_RANK], high[ILLUME_MAX_RANK];
        float weight[ILLUME_MAX_RANK];
        int outside = 0;
        for (int d = rank - 1; d >= 0; d--) {
            int64_t out = rest % desc->out_dims[d];
            rest /= desc->out_dims[d];
            int64_t n = desc->in_dims[d];
            float source = illume_resize_source(desc, d, out);
            if (desc->coordinates == RESIZE_TF_CROP_AND_RESIZE && (source < 0.0f || source > (float)(n - 1)))
                outside = 1;
            if (desc->mode == RESIZE_NEAREST) {
                int64_t index = illume_resize_nearest(desc->rounding, source);
                low[d] = high[d] = index < 0 ? 0 : (index >= n ? n - 1 : index);
                weight[d] = 0.0f;
            } else {
                float clamped = source < 0.0f ? 0.0f : (source > (float)(n - 1) ? (float)(n - 1) : source);
                int64_t base = (int64_t)floorf(clamped);
                low[d] = base;
                high[d] = base + 1 < n ? base + 1 : base;
                weight[d] = clamped - (float)base;
            }
        }
        if (outside) {
            y[i] = desc->extrapolation_value;
            continue;
        }
        float sum = 0.0f;
        for (int corner = 0; corner < (1 << rank); corner++) {
            float w = 1.0f;
            int64_t offset = 0;
            for (int d = 0; d < rank && w != 0.0f; d++) {
                int upper = (corner >> d) & 1;
                w *= upper ? weight[d] : 1.0f - weight[d];
                offset += (upper ? high[d] : low[d]) * in_strides[d];
            }
            if (w != 0.0f) sum += w * x[offset];
        }
        y[i] = sum;
    }
    return ILLUME_OK;
}
