/* Per-element math of the softmax backward pass, shared by the CPU backend
 * and the CUDA kernels. */
#ifndef ILLUME_KERNELS_SOFTMAX_BACKWARD_H
#define ILLUME_KERNELS_SOFTMAX_BACKWARD_H

#include <math.h>
#include <stdint.h>

#include "device.h"

/* dx at one position from the forward output y there and dy. `reduction` is
 * taken along the axis: sum(dy y) for softmax (dx = y (dy - sum)), sum(dy)
 * for log-softmax, whose output is log(p) (dx = dy - p sum). */
ILLUME_INLINE float illume_softmax_gradient(int log_softmax, float y, float dy, float reduction) {
    return log_softmax ? dy - expf(y) * reduction : y * (dy - reduction);
}

/* dx along one line of `length` values `inner` apart, from the forward's
 * output y and dy: the reduction in double, then each element. */
ILLUME_INLINE void illume_softmax_backward_line(int log_softmax, int64_t length, int64_t inner, const float *y,
                                                const float *dy, float *dx) {
    double sum = 0.0;
    for (int64_t k = 0; k < length; k++)
        sum += log_softmax ? (double)dy[k * inner] : (double)dy[k * inner] * (double)y[k * inner];
    for (int64_t k = 0; k < length; k++)
        dx[k * inner] = illume_softmax_gradient(log_softmax, y[k * inner], dy[k * inner], (float)sum);
}

#endif
