/* The launcher of the CUDA backend's inference batch normalization
 * (batchnorm.cu), NCHW activations; it returns the launch's cudaError_t as
 * an int (0 on success). The name is not batchnorm.h, which would hide
 * kernels/batchnorm.h from batchnorm.cu: a quoted include looks in the
 * including file's folder first. The other _launchers.h headers likewise. */
#ifndef ILLUME_CUDA_BATCHNORM_LAUNCHERS_H
#define ILLUME_CUDA_BATCHNORM_LAUNCHERS_H

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
