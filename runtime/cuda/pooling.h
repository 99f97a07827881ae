/* The CUDA backend's pooling kernels (pooling.cu), NCHW planes; each
 * launcher returns the launch's cudaError_t as an int (0 on success). */
#ifndef ILLUME_CUDA_POOLING_H
#define ILLUME_CUDA_POOLING_H

#include <stdint.h>

#include "backend.h"
#include "elementwise.h"

#ifdef __cplusplus
extern "C" {
#endif

/* argmax (max pooling, optional): the flat index into its input plane of each output's maximum. */
int illume_cuda_pool(illume_cuda_stream stream, const pool_desc *desc, const float *x, float *y, int32_t *argmax);
int illume_cuda_pool_backward(illume_cuda_stream stream, const pool_desc *desc, const float *dy,
                              const int32_t *argmax, float *dx);

#ifdef __cplusplus
}
#endif

#endif
