// The CUDA backend's local response normalization (ONNX LRN) and its
// backward pass: one thread per element of (batch, channels, spatial), with
// the CPU backend's math (kernels/lrn.h). The backward runs in two kernels,
// because an element's gradient reads the first pass's terms of its
// neighbouring channels.
#include "cuda_kernel.h"
#include "lrn_launchers.h"
#include "lrn.h"

__global__ void lrn_kernel(lrn_desc desc, const float *x, float *y) {
    ILLUME_CUDA_EACH(i, desc.batch * desc.channels * desc.spatial) y[i] = illume_lrn(&desc, x, i);
}

__global__ void lrn_term_kernel(lrn_desc desc, const float *x, const float *dy, float *terms) {
    ILLUME_CUDA_EACH(i, desc.batch * desc.channels * desc.spatial) terms[i] = illume_lrn_term(&desc, x, dy, i);
}

__global__ void lrn_gradient_kernel(lrn_desc desc, const float *x, const float *dy, const float *terms, float *dx) {
    ILLUME_CUDA_EACH(i, desc.batch * desc.channels * desc.spatial) dx[i] = illume_lrn_gradient(&desc, x, dy, terms, i);
}

extern "C" int illume_cuda_lrn(illume_cuda_stream stream, const lrn_desc *desc, const float *x, float *y) {
    int64_t count = desc->batch * desc->channels * desc->spatial;
    if (count < 1) return 0;
    ILLUME_LAUNCH(lrn_kernel, illume_cuda_blocks(count), ILLUME_CUDA_THREADS, stream, *desc, x, y);
    return illume_cuda_launched();
}

extern "C" int illume_cuda_lrn_backward(illume_cuda_stream stream, const lrn_desc *desc, const float *x,
                                        const float *dy, float *terms, float *dx) {
    int64_t count = desc->batch * desc->channels * desc->spatial;
    if (count < 1) return 0;
    ILLUME_LAUNCH(lrn_term_kernel, illume_cuda_blocks(count), ILLUME_CUDA_THREADS, stream, *desc, x, dy, terms);
    int error = illume_cuda_launched();
    if (error) return error;
    ILLUME_LAUNCH(lrn_gradient_kernel, illume_cuda_blocks(count), ILLUME_CUDA_THREADS, stream, *desc, x, dy, terms,
                  dx);
    return illume_cuda_launched();
}
