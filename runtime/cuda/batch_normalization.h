/* The CUDA backend's inference batch normalization (batch_normalization.cu), NCHW
 * activations; the launcher returns the launch's cudaError_t as an int (0
 * on success). */
#ifndef ILLUME_CUDA_BATCH_NORMALIZATION_H
#define ILLUME_CUDA_BATCH_NORMALIZATION_H

#include "backend.h"
#include "elementwise.h"

#ifdef __cplusplus
extern "C" {
#endif

/* scale, shift, mean, variance: one per channel. */
int illume_cuda_batchnorm(illume_cuda_stream stream, const batchnorm_desc *desc, const float *x, const float *scale,
                          const float *shift, const float *mean, const float *variance, float *y);

#ifdef __cplusplus
}
#endif

#endif
