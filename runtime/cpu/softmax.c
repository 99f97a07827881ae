/* Softmax and log-softmax along one axis, stabilized by the maximum. */
#include <math.h>

#include "cpu_backend.h"

illume_status cpu_softmax(backend *self, const softmax_desc *desc, const float *x, float *y) {
    (void)self;
    int64_t outer = desc->outer, length = desc->axis, inner = desc->inner;
#pragma omp parallel for schedule(static) if (outer * inner > 64)
    for (int64_t position = 0; position < outer * inner; position++) {
        int64_t o = position / inner, i = position % inner;
        const float *in = x + o * length * inner + i;
        float *out = y + o * length * inner + i;
        float largest = -INFINITY;
        for (int64_t k = 0; k < length; k++)
            if (in[k * inner] > largest) largest = in[k * inner];
        double sum = 0.0;
        for (int64_t k = 0; k < length; k++) sum += exp((double)(in[k * inner] - largest));
        if (desc->log) {
            float log_sum = (float)log(sum);
            for (int64_t k = 0; k < length; k++) out[k * inner] = in[k * inner] - largest - log_sum;
        } else {
            for (int64_t k = 0; k < length; k++) out[k * inner] = (float)(exp((double)(in[k * inner] - largest)) / sum);
        }
    }
    return ILLUME_OK;
}
