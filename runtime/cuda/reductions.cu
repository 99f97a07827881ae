// The CUDA backend's reductions: softmax and log-softmax along an axis (and
// their backward passes) one line a thread, and mean, sum and max over any
// axes one output a thread, each with the CPU backend's math (kernels/
// softmax.h, softmax_backward.h, reduce.h): sums in double, in the same
// order, so the two backends agree to float rounding.
#include "cuda_kernel.h"
#include "reduce.h"
#include "reductions.h"
#include "softmax.h"
#include "softmax_backward.h"

__global__ void softmax_kernel(softmax_desc desc, const float *x, float *y) {
    ILLUME_CUDA_EACH(position, desc.outer * desc.inner) {
        int64_t first = position / desc.inner * desc.axis * desc.inner + position % desc.inner;
        illume_softmax_line(desc.log != 0, desc.axis, desc.inner, x + first, y + first);
    }
}

__global__ void softmax_backward_kernel(softmax_desc desc, const float *y, const float *dy, float *dx) {
    ILLUME_CUDA_EACH(position, desc.outer * desc.inner) {
        int64_t first = position / desc.inner * desc.axis * desc.inner + position % desc.inner;
        illume_softmax_backward_line(desc.log != 0, desc.axis, desc.inner, y + first, dy + first, dx + first);
    }
}

__global__ void reduce_kernel(reduce_kind kind, illume_reduce_geometry geometry, const float *x, float *y) {
    ILLUME_CUDA_EACH(output, geometry.outputs) y[output] = illume_reduce_output(kind, &geometry, x, output);
}

extern "C" int illume_cuda_softmax(illume_cuda_stream stream, const softmax_desc *desc, const float *x, float *y) {
    int64_t lines = desc->outer * desc->inner;
    if (lines < 1) return 0;
    ILLUME_LAUNCH(softmax_kernel, illume_cuda_blocks(lines), ILLUME_CUDA_THREADS, stream, *desc, x, y);
    return illume_cuda_launched();
}

extern "C" int illume_cuda_softmax_backward(illume_cuda_stream stream, const softmax_desc *desc, const float *y,
                                            const float *dy, float *dx) {
    int64_t lines = desc->outer * desc->inner;
    if (lines < 1) return 0;
    ILLUME_LAUNCH(softmax_backward_kernel, illume_cuda_blocks(lines), ILLUME_CUDA_THREADS, stream, *desc, y, dy, dx);
    return illume_cuda_launched();
}

extern "C" int illume_cuda_reduce(illume_cuda_stream stream, const reduce_desc *desc, const float *x, float *y) {
    illume_reduce_geometry geometry = illume_reduce_split(desc);
    if (geometry.outputs < 1) return 0;
    ILLUME_LAUNCH(reduce_kernel, illume_cuda_blocks(geometry.outputs), ILLUME_CUDA_THREADS, stream, desc->kind,
                  geometry, x, y);
    return illume_cuda_launched();
}
