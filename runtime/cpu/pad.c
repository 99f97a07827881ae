/* Pad: each output element reads the input coordinate kernels/pad.h names. */
#include "cpu_backend.h"
#include "pad.h"

illume_status cpu_pad(backend *self, const pad_desc *desc, const float *x, float *y) {
    (void)self;
    int rank = desc->rank;
    int64_t total = 1, in_strides[ILLUME_MAX_RANK], stride = 1;
    for (int d = rank - 1; d >= 0; d--) {
        in_strides[d] = stride;
        stride *= desc->in_dims[d];
        total *= desc->out_dims[d];
    }
#pragma omp parallel for schedule(static) if (total > 32768)
    for (int64_t i = 0; i < total; i++) {
        int64_t rest = i, offset = 0;
        int outside = 0;
        for (int d = rank - 1; d >= 0; d--) {
            int64_t coordinate = rest % desc->out_dims[d] - desc->pad_begin[d];
            rest /= desc->out_dims[d];
            int64_t source = illume_pad_source(desc->mode, coordinate, desc->in_dims[d]);
            if (source < 0) outside = 1;
            else offset += source * in_strides[d];
        }
        y[i] = outside ? desc->value : x[offset];
    }
    return ILLUME_OK;
}
