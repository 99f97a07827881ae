/* The softmax and log-softmax backward passes along one axis, from the
 * forward's output: a line at a time, through kernels/softmax_backward.h. */
#include "cpu_backend.h"
#include "softmax_backward.h"

illume_status cpu_softmax_backward(backend *self, const softmax_desc *desc, const float *y, const float *dy,
                                   float *dx) {
    (void)self;
    int64_t outer = desc->outer, length = desc->axis, inner = desc->inner;
#pragma omp parallel for schedule(static) if (outer * inner * length > 32768)
    for (int64_t position = 0; position < outer * inner; position++) {
        int64_t first = position / inner * length * inner + position % inner;
        illume_softmax_backward_line(desc->log != 0, length, inner, y + first, dy + first, dx + first);
    }
    return ILLUME_OK;
}
