/* Pad: each output element reads the input coordinate kernels/pad.h names.
 * Negative pads crop first, and the mode pads what is left, as onnxruntime
 * does: wrap and reflect never read a cropped element. */
#include "cpu_backend.h"
#include "pad.h"

illume_status cpu_pad(backend *self, const pad_desc *desc, const float *x, float *y) {
    (void)self;
    int rank = desc->rank;
    int64_t total = 1, in_strides[ILLUME_MAX_RANK], stride = 1;
    int64_t crop[ILLUME_MAX_RANK], kept[ILLUME_MAX_RANK], shift[ILLUME_MAX_RANK];
    for (int d = rank - 1; d >= 0; d--) {
        in_strides[d] = stride;
        stride *= desc->in_dims[d];
        total *= desc->out_dims[d];
        int64_t begin = desc->pad_begin[d], end = desc->out_dims[d] - desc->in_dims[d] - begin;
        crop[d] = begin < 0 ? -begin : 0;
        kept[d] = desc->in_dims[d] - crop[d] - (end < 0 ? -end : 0);
        shift[d] = begin > 0 ? begin : 0;
    }
#pragma omp parallel for schedule(static) if (total > 32768)
    for (int64_t i = 0; i < total; i++) {
        int64_t rest = i, offset = 0;
        int outside = 0;
        for (int d = rank - 1; d >= 0; d--) {
            int64_t coordinate = rest % desc->out_dims[d] - shift[d];
            rest /= desc->out_dims[d];
            int64_t source = illume_pad_source(desc->mode, coordinate, kept[d]);
            if (source < 0) outside = 1;
            else offset += (crop[d] + source) * in_strides[d];
        }
        y[i] = outside ? desc->value : x[offset];
    }
    return ILLUME_OK;
}
