// SmoothGrad's noisy rows: y = x + sigma * N(0, 1) with the normals of
// kernels/philox.h, one thread per Philox block (four elements), as the CPU
// backend's loop (runtime/cpu/noise.c) draws them, so a seed gives the same
// noise on both.
#include "cuda_kernel.h"
#include "noise.h"
#include "philox.h"

__global__ void noise_kernel(noise_desc desc, int64_t first_group, int64_t groups, const float *x, float *y) {
    int64_t end = desc.first + desc.count;
    ILLUME_CUDA_EACH(g, groups) {
        int64_t group = first_group + g;
        float normals[4];
        illume_philox_normals(desc.seed, (uint64_t)group, desc.sample, normals);
        for (int64_t lane = 0; lane < 4; lane++) {
            int64_t index = group * 4 + lane;
            if (index >= desc.first && index < end)
                y[index - desc.first] = x[index - desc.first] + desc.sigma * normals[lane];
        }
    }
}

extern "C" int illume_cuda_noise(illume_cuda_stream stream, const noise_desc *desc, const float *x, float *y) {
    if (desc->count < 1) return 0;
    int64_t first_group = desc->first / 4, groups = (desc->first + desc->count + 3) / 4 - first_group;
    ILLUME_LAUNCH(noise_kernel, illume_cuda_blocks(groups), ILLUME_CUDA_THREADS, stream, *desc, first_group, groups, x,
                  y);
    return illume_cuda_launched();
}
