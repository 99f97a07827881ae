// The CUDA backend's pooling: max and average pooling over 1 to 3 spatial
// dims with the argmax of every max (a flat index into its input plane),
// and the backward pass as a gather: one thread per input element sums the
// outputs whose windows cover it (max: those whose argmax names it), so no
// two threads write one place and no atomics are needed. The math is
// kernels/pool.h and kernels/pool_backward.h, the CPU backend's. Planes are
// NCHW (the CUDA backend does not ask for channels-last activations).
#include "cuda_kernel.h"
#include "pool_backward.h"
#include "pooling.h"

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
