/* Per-element math of inference batch normalization with the model's
 * statistics, for the CUDA kernels (the CPU backend runs oneDNN's
 * primitive, which this matches). */
#ifndef ILLUME_KERNELS_BATCHNORM_H
#define ILLUME_KERNELS_BATCHNORM_H

#include <math.h>

#include "device.h"

/* scale * (x - mean) / sqrt(variance + epsilon) + shift, in oneDNN's order
 * (its plain-layout kernel): the scale divided by the standard deviation
 * first, so that x is multiplied once. nvcc fuses the multiply-add, which
 * rounds once instead of twice. */
ILLUME_INLINE float illume_batchnorm(float x, float scale, float shift, float mean, float variance, float epsilon) {
    return scale / sqrtf(variance + epsilon) * (x - mean) + shift;
}

#endif
