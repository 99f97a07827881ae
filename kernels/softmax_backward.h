/* Per-element math of the softmax backward pass, shared by the CPU backend
 * and the CUDA kernels. */
#ifndef ILLUME_KERNELS_SOFTMAX_BACKWARD_H
#define ILLUME_KERNELS_SOFTMAX_BACKWARD_H

#include <math.h>

#include "device.h"

/* dx at one position from the forward output y there and dy. `reduction` is
 * taken along the axis: sum(dy y) for softmax (dx = y (dy - sum)), sum(dy)
 * for log-softmax, whose output is log(p) (dx = dy - p sum). */
ILLUME_INLINE float illume_softmax_gradient(int log_softmax, float y, float dy, float reduction) {
    return log_softmax ? dy - expf(y) * reduction : y * (dy - reduction);
}

#endif
