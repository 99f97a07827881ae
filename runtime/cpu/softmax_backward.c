/* The softmax and log-softmax backward passes along one axis, from the
 * forward's output: one reduction per position, then kernels/softmax_backward.h. */
#include "cpu_backend.h"
#include "softmax_backward.h"

illume_status cpu_softmax_backward(backend *self, const softmax_desc *desc, const float *y, const float *dy,
                                   float *dx) {
    (void)self;
    int64_t outer = desc->outer, length = desc->axis, inner = desc->inner;
    int log_softmax = desc->log != 0;
#pragma omp parallel for schedule(static) if (outer * inner * length > 32768)
    for (int64_t position = 0; position < outer * inner; position++) {
        int64_t o = position / inner, i = position % inner;
        int64_t first = o * length * inner + i;
        double sum = 0.0;
        for (int64_t k = 0; k < length; k++) {
            int64_t at = first + k * inner;
            sum += log_softmax ? (double)dy[at] : (double)dy[at] * (double)y[at];
        }
        for (int64_t k = 0; k < length; k++) {
            int64_t at = first + k * inner;
            dx[at] = illume_softmax_gradient(log_softmax, y[at], dy[at], (float)sum);
        }
    }
    return ILLUME_OK;
}
