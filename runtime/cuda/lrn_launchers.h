/* The launchers of the CUDA backend's local response normalization
 * (lrn.cu), NCHW activations; each returns the launch's cudaError_t as an
 * int (0 on success). */
#ifndef ILLUME_CUDA_LRN_LAUNCHERS_H
#define ILLUME_CUDA_LRN_LAUNCHERS_H

#include "backend.h"
#include "elementwise.h"

#ifdef __cplusplus
extern "C" {
#endif

int illume_cuda_lrn(illume_cuda_stream stream, const lrn_desc *desc, const float *x, float *y);
/* terms: as many floats as x, overwritten (the first of the two passes). */
int illume_cuda_lrn_backward(illume_cuda_stream stream, const lrn_desc *desc, const float *x, const float *dy,
                             float *terms, float *dx);

#ifdef __cplusplus
}
#endif

#endif
