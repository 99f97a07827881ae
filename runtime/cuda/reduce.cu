// The CUDA backend's reductions: softmax and log-softmax along an axis (and
// their backward passes) one line a thread, and mean, sum and max over any
// axes one output a thread (a block for long reductions), each with the CPU
// backend's math (kernels/softmax.h, softmax_backward.h, reduce.h): sums in
// double, so the two backends agree to float rounding.
#include "cuda_kernel.h"
#include "reduce.h"
#include "reduce_launchers.h"
#include "softmax.h"
#include "softmax_backward.h"

// Reductions of at least this many inputs per output run a block per output
// (the threads of a block reading neighbouring inputs) instead of a thread.
#define REDUCE_BLOCK_MINIMUM 1024
// A power of two: the tree halves it down to one.
#define REDUCE_BLOCK_THREADS 256

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

// A block per output for long reductions: each thread sums (in double) and
// takes the largest of a strided part of the inputs, then the block combines
// them in a tree through shared memory. The sum's order differs from the
// CPU's, in double; the largest ignores NaN as the CPU's does.
__global__ void reduce_block_kernel(reduce_kind kind, illume_reduce_geometry geometry, const float *x, float *y) {
    __shared__ double sums[REDUCE_BLOCK_THREADS];
    __shared__ float largest[REDUCE_BLOCK_THREADS];
    unsigned thread = threadIdx.x;
    // The loop bound is the same for every thread of a block, so all reach each barrier.
    for (int64_t output = blockIdx.x; output < geometry.outputs; output += gridDim.x) {
        const float *base = illume_reduce_base(&geometry, x, output);
        double sum = 0.0;
        float big = -INFINITY;
        for (int64_t k = thread; k < geometry.count; k += blockDim.x) {
            float value = illume_reduce_input(&geometry, base, k);
            sum += value;
            if (value > big) big = value;
        }
        sums[thread] = sum;
        largest[thread] = big;
        __syncthreads();
        for (unsigned half = blockDim.x / 2; half > 0; half /= 2) {
            if (thread < half) {
                sums[thread] += sums[thread + half];
                if (largest[thread + half] > largest[thread]) largest[thread] = largest[thread + half];
            }
            __syncthreads();
        }
        if (thread == 0) y[output] = illume_reduce_result(kind, sums[0], largest[0], geometry.count);
        // No thread may write the next output's partials before thread 0 has read these.
        __syncthreads();
    }
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
    if (geometry.count >= REDUCE_BLOCK_MINIMUM) {
        unsigned blocks = (unsigned)(geometry.outputs < ILLUME_CUDA_MAX_BLOCKS ? geometry.outputs
                                                                             : ILLUME_CUDA_MAX_BLOCKS);
        ILLUME_LAUNCH_SYNCED(reduce_block_kernel, blocks, REDUCE_BLOCK_THREADS, stream, desc->kind, geometry, x, y);
    } else {
        ILLUME_LAUNCH(reduce_kernel, illume_cuda_blocks(geometry.outputs), ILLUME_CUDA_THREADS, stream, desc->kind,
                      geometry, x, y);
    }
    return illume_cuda_launched();
}
