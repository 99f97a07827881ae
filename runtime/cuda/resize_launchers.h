/* The launchers of the CUDA backend's Resize and its backward pass
 * (resize.cu); each returns the launch's cudaError_t as an int (0 on
 * success). */
#ifndef ILLUME_CUDA_RESIZE_LAUNCHERS_H
#define ILLUME_CUDA_RESIZE_LAUNCHERS_H

#include <stddef.h>

#include "backend.h"
#include "elementwise.h"

#ifdef __cplusplus
extern "C" {
#endif

int illume_cuda_resize(illume_cuda_stream stream, const resize_desc *desc, const float *x, float *y);
/* The bytes of device memory the backward pass needs for its tap lists. */
size_t illume_cuda_resize_backward_scratch(const resize_desc *desc);
/* scratch: illume_cuda_resize_backward_scratch(desc) bytes, which the stream may write until the pass is done. */
int illume_cuda_resize_backward(illume_cuda_stream stream, const resize_desc *desc, void *scratch, const float *dy,
                                float *dx);

#ifdef __cplusplus
}
#endif

#endif
