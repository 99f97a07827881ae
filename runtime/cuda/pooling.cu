// The CUDA backend's pooling: max and average pooling over 1 to 3 spatial
// dims with the argmax of every max (a flat index into its input plane),
// and the backward pass as a gather: one thread per input element sums the
// outputs whose windows cover it (max: those whose argmax names it), so no
// two threads write one place and no atomics are needed. Global pooling of
// large planes runs a block per plane. The math is
// kernels/pool.h and kernels/pool_backward.h, the CPU backend's. Planes are
// NCHW (the CUDA backend does not ask for channels-last activations).
#include "cuda_kernel.h"
#include "pool_backward.h"
#include "pooling.h"

// Windows of at least this many positions that cover their whole plane
// (global pooling) run a block per plane instead of a thread per output.
#define WHOLE_PLANE_MINIMUM 1024
// A power of two: the tree halves it down to one.
#define WHOLE_PLANE_THREADS 256

static int64_t plane_size(int rank, const int64_t *size) {
    int64_t count = 1;
    for (int d = 0; d < rank; d++) count *= size[d];
    return count;
}

__global__ void pool_kernel(pool_desc desc, int64_t in_plane, int64_t out_plane, const float *x, float *y,
                            int32_t *argmax) {
    ILLUME_CUDA_EACH(i, desc.planes * out_plane) {
        int64_t plane = i / out_plane;
        y[i] = illume_pool_at_index(&desc, x + plane * in_plane, i % out_plane, argmax ? &argmax[i] : nullptr);
    }
}

// A block per plane whose one window is the whole plane: each thread sums
// (in double) and takes the maximum of a strided part, in order, then the
// block combines them in a tree through shared memory, the maxima as one
// scan in order would (kernels/pool.h: the first of equal maxima, the last
// NaN). The sum's order differs from the CPU's.
__global__ void whole_plane_kernel(pool_desc desc, int64_t in_plane, const float *x, float *y, int32_t *argmax) {
    __shared__ double sums[WHOLE_PLANE_THREADS];
    __shared__ float bests[WHOLE_PLANE_THREADS];
    __shared__ int64_t indices[WHOLE_PLANE_THREADS];
    unsigned thread = threadIdx.x;
    const int64_t origin[ILLUME_MAX_SPATIAL] = {0, 0, 0};
    // The loop bound is the same for every thread of a block, so all reach each barrier.
    for (int64_t plane = blockIdx.x; plane < desc.planes; plane += gridDim.x) {
        const float *values = x + plane * in_plane;
        double sum = 0.0;
        float best = 0.0f;
        int64_t index = -1;
        for (int64_t k = thread; k < in_plane; k += blockDim.x) {
            float value = values[k];
            sum += value;
            illume_pool_keep_larger(&best, &index, value, k);
        }
        sums[thread] = sum;
        bests[thread] = best;
        indices[thread] = index;
        __syncthreads();
        for (unsigned half = blockDim.x / 2; half > 0; half /= 2) {
            if (thread < half) {
                sums[thread] += sums[thread + half];
                illume_pool_keep_larger(&bests[thread], &indices[thread], bests[thread + half], indices[thread + half]);
            }
            __syncthreads();
        }
        if (thread == 0 && desc.kind == POOL_MAX) {
            y[plane] = bests[0];
            if (argmax) argmax[plane] = (int32_t)indices[0];
        } else if (thread == 0) {
            y[plane] = (float)(sums[0] / (double)illume_pool_divisor(&desc, origin));
        }
        // No thread may write the next plane's partials before thread 0 has read these.
        __syncthreads();
    }
}

// Whether each plane has one window, the whole plane in order: no padding,
// no dilation, the kernel the plane's size.
static int whole_plane(const pool_desc *desc) {
    for (int d = 0; d < desc->spatial_rank; d++)
        if (desc->out_size[d] != 1 || desc->kernel[d] != desc->in_size[d] || desc->pad_begin[d] != 0 ||
            desc->pad_end[d] != 0 || desc->dilation[d] != 1)
            return 0;
    return 1;
}

__global__ void pool_backward_kernel(pool_desc desc, int64_t in_plane, int64_t out_plane, const float *dy,
                                     const int32_t *argmax, float *dx) {
    int rank = desc.spatial_rank, unused = ILLUME_MAX_SPATIAL - rank;
    ILLUME_CUDA_EACH(i, desc.planes * in_plane) {
        int64_t plane = i / in_plane, index = i % in_plane, rest = index;
        int64_t at[ILLUME_MAX_SPATIAL] = {0, 0, 0}, low[ILLUME_MAX_SPATIAL] = {0, 0, 0};
        int64_t high[ILLUME_MAX_SPATIAL] = {1, 1, 1};
        for (int d = rank - 1; d >= 0; d--) {
            at[d] = rest % desc.in_size[d];
            rest /= desc.in_size[d];
            high[unused + d] = illume_pool_covering(&desc, d, at[d], &low[unused + d]);
        }
        int64_t first_output = plane * out_plane;
        illume_pool_gather(&desc, dy + first_output, argmax ? argmax + first_output : nullptr, 1, 1, at, index, low,
                           high, dx + i);
    }
}

extern "C" int illume_cuda_pool(illume_cuda_stream stream, const pool_desc *desc, const float *x, float *y,
                                int32_t *argmax) {
    int64_t in_plane = plane_size(desc->spatial_rank, desc->in_size);
    int64_t out_plane = plane_size(desc->spatial_rank, desc->out_size), count = desc->planes * out_plane;
    if (count < 1) return 0;
    if (whole_plane(desc) && in_plane >= WHOLE_PLANE_MINIMUM) {
        unsigned blocks = (unsigned)(desc->planes < ILLUME_CUDA_MAX_BLOCKS ? desc->planes : ILLUME_CUDA_MAX_BLOCKS);
        ILLUME_LAUNCH_SYNCED(whole_plane_kernel, blocks, WHOLE_PLANE_THREADS, stream, *desc, in_plane, x, y, argmax);
        return illume_cuda_launched();
    }
    ILLUME_LAUNCH(pool_kernel, illume_cuda_blocks(count), ILLUME_CUDA_THREADS, stream, *desc, in_plane, out_plane, x, y,
                  argmax);
    return illume_cuda_launched();
}

extern "C" int illume_cuda_pool_backward(illume_cuda_stream stream, const pool_desc *desc, const float *dy,
                                         const int32_t *argmax, float *dx) {
    int64_t in_plane = plane_size(desc->spatial_rank, desc->in_size);
    int64_t out_plane = plane_size(desc->spatial_rank, desc->out_size), count = desc->planes * in_plane;
    if (count < 1) return 0;
    ILLUME_LAUNCH(pool_backward_kernel, illume_cuda_blocks(count), ILLUME_CUDA_THREADS, stream, *desc, in_plane,
                  out_plane, dy, argmax, dx);
    return illume_cuda_launched();
}
