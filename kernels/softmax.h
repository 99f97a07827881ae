/* Per-line math of softmax and log-softmax along one axis, shared by the
 * CPU backend and the CUDA kernels: a line is `length` values `inner` apart,
 * stabilized by its maximum, its sum of exponentials taken in double. */
#ifndef ILLUME_KERNELS_SOFTMAX_H
#define ILLUME_KERNELS_SOFTMAX_H

#include <math.h>
#include <stdint.h>

#include "device.h"

ILLUME_INLINE void illume_softmax_line(int log_softmax, int64_t length, int64_t inner, const float *in, float *out) {
    float largest = -INFINITY;
    for (int64_t k = 0; k < length; k++)
        if (in[k * inner] > largest) largest = in[k * inner];
    double sum = 0.0;
    for (int64_t k = 0; k < length; k++) sum += exp((double)(in[k * inner] - largest));
    if (log_softmax) {
        float log_sum = (float)log(sum);
        for (int64_t k = 0; k < length; k++) out[k * inner] = in[k * inner] - largest - log_sum;
    } else {
        for (int64_t k = 0; k < length; k++) out[k * inner] = (float)(exp((double)(in[k * inner] - largest)) / sum);
    }
}

#endif
