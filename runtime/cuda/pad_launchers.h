/* The launchers of the CUDA backend's Pad and its backward pass (pad.cu);
 * each returns the launch's cudaError_t as an int (0 on success). */
#ifndef ILLUME_CUDA_PAD_LAUNCHERS_H
#define ILLUME_CUDA_PAD_LAUNCHERS_H

#include "backend.h"
#include "elementwise.h"

#ifdef __cplusplus
extern "C" {
#endif

int illume_cuda_pad(illume_cuda_stream stream, const pad_desc *desc, const float *x, float *y);
int illume_cuda_pad_backward(illume_cuda_stream stream, const pad_desc *desc, const float *dy, float *dx);

#ifdef __cplusplus
}
#endif

#endif
