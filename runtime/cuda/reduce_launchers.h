/* The launchers of the CUDA backend's reductions (reduce.cu): softmax and
 * log-softmax along an axis and their backward, and mean, sum and max over
 * axes. Each returns the launch's cudaError_t as an int (0 on success). */
#ifndef ILLUME_CUDA_REDUCE_LAUNCHERS_H
#define ILLUME_CUDA_REDUCE_LAUNCHERS_H

#include "backend.h"
#include "elementwise.h"

#ifdef __cplusplus
extern "C" {
#endif

int illume_cuda_softmax(illume_cuda_stream stream, const softmax_desc *desc, const float *x, float *y);
int illume_cuda_softmax_backward(illume_cuda_stream stream, const softmax_desc *desc, const float *y, const float *dy,
                                 float *dx);
int illume_cuda_reduce(illume_cuda_stream stream, const reduce_desc *desc, const float *x, float *y);

#ifdef __cplusplus
}
#endif

#endif
