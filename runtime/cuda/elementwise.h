/* The element-wise kernels of the CUDA backend (elementwise.cu), launched on
 * a stream; each returns the launch's cudaError_t as an int (0 on success).
 * Their math is the CPU backend's, from the headers of kernels/. */
#ifndef ILLUME_CUDA_ELEMENTWISE_H
#define ILLUME_CUDA_ELEMENTWISE_H

#include <stdint.h>

#include "backend.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct CUstream_st *illume_cuda_stream;

int illume_cuda_fill(illume_cuda_stream stream, float value, int64_t count, float *y);
int illume_cuda_copy(illume_cuda_stream stream, const copy_desc *desc, const float *x, float *y);
int illume_cuda_unary(illume_cuda_stream stream, const unary_desc *desc, const float *x, float *y);
int illume_cuda_binary(illume_cuda_stream stream, const binary_desc *desc, const float *a, const float *b, float *y);
int illume_cuda_unary_backward(illume_cuda_stream stream, const unary_backward_desc *desc, const float *x,
                               const float *y, const float *dy, float *dx);
/* The gradient of operand 0 (a) or 1 (b), summed over the axes it was broadcast along. */
int illume_cuda_binary_backward(illume_cuda_stream stream, const binary_desc *desc, int operand, const float *a,
                                const float *b, const float *dy, float *dx);
int illume_cuda_relevance_ratio(illume_cuda_stream stream, const relevance_ratio_desc *desc, const float *r,
                                const float *z, const float *g, float *y);
int illume_cuda_relevance_term(illume_cuda_stream stream, int64_t count, float coefficient, const float *a,
                               const float *b, float *y);
int illume_cuda_deeplift(illume_cuda_stream stream, deeplift_step step, int64_t half, const float *x,
                         const float *y, const float *dy, float *dx);
int illume_cuda_reveal_cancel(illume_cuda_stream stream, const reveal_cancel_desc *desc, const float *x,
                              const float *positive, const float *negative, const float *dy,
                              float *positive_gradient, float *negative_gradient);

#ifdef __cplusplus
}
#endif

#endif
