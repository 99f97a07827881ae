/* Softmax and log-softmax along one axis: a line at a time, through
 * kernels/softmax.h. */
#include "cpu_backend.h"
#include "softmax.h"

illume_status cpu_softmax(backend *self, const softmax_desc *desc, const float *x, float *y) {
    (void)self;
    int64_t outer = desc->outer, length = desc->axis, inner = desc->inner;
#pragma omp parallel for schedule(static) if (outer * inner > 64)
    for (int64_t position = 0; position < outer * inner; position++) {
        int64_t first = position / inner * length * inner + position % inner;
        illume_softmax_line(desc->log != 0, length, inner, x + first, y + first);
    }
    return ILLUME_OK;
}
