// Class activation maps: a block per (row, channel) sums the channel's
// weight terms (kernels/activation_map.h) in double, each thread over a
// strided part of the plane and then the block in a tree through shared
// memory; then a thread per pixel of each row forms the map from the
// weights, in channel order as the CPU backend does.
#include "activation_map.h"
#include "class_activation.h"
#include "cuda_kernel.h"

// A power of two: the tree halves it down to one.
#define CAM_THREADS 256

// The sum of every thread's value, returned to all of them; every thread of
// the block must call it (it waits at barriers).
__device__ double block_sum(double *partial, double value) {
    partial[threadIdx.x] = value;
    __syncthreads();
    for (unsigned half = blockDim.x / 2; half > 0; half /= 2) {
        if (threadIdx.x < half) partial[threadIdx.x] += partial[threadIdx.x + half];
        __syncthreads();
    }
    double total = partial[0];
    // No thread may overwrite partial for the next sum before all have read this one.
    __syncthreads();
    return total;
}

__global__ void cam_weights_kernel(class_activation_desc desc, const float *activation, const float *gradient,
                                   float *weights) {
    __shared__ double partial[CAM_THREADS];
    int64_t pairs = desc.rows * desc.channels, plane = desc.plane, channels = desc.channels;
    int last = desc.channels_last;
    // The loop bound is the same for every thread of a block, so all reach each barrier.
    for (int64_t pair = blockIdx.x; pair < pairs; pair += gridDim.x) {
        int64_t row = pair / channels, channel = pair % channels;
        const float *a = activation + row * channels * plane, *g = gradient + row * channels * plane;
        double activation_sum = 0.0, term_sum = 0.0;
        if (desc.plus_plus) {
            double part = 0.0;
            for (int64_t i = threadIdx.x; i < plane; i += blockDim.x)
                part += a[illume_cam_offset(last, channels, plane, channel, i)];
            activation_sum = block_sum(partial, part);
        }
        for (int64_t i = threadIdx.x; i < plane; i += blockDim.x) {
            float gradient_value = g[illume_cam_offset(last, channels, plane, channel, i)];
            term_sum += illume_cam_term(desc.plus_plus, activation_sum, gradient_value);
        }
        term_sum = block_sum(partial, term_sum);
        if (threadIdx.x == 0) weights[pair] = illume_cam_weight(desc.plus_plus, term_sum, plane);
    }
}

__global__ void cam_maps_kernel(class_activation_desc desc, const float *activation, const float *weights,
                                float *maps) {
    int64_t plane = desc.plane, channels = desc.channels;
    ILLUME_CUDA_EACH(i, desc.rows * plane) {
        int64_t row = i / plane;
        maps[i] = illume_cam_pixel(weights + row * channels, activation + row * channels * plane, desc.channels_last,
                                   channels, plane, i % plane);
    }
}

extern "C" int illume_cuda_class_activation(illume_cuda_stream stream, const class_activation_desc *desc,
                                            const float *activation, const float *gradient, float *weights,
                                            float *maps) {
    int64_t pairs = desc->rows * desc->channels;
    if (pairs < 1 || desc->plane < 1) return 0;
    unsigned blocks = (unsigned)(pairs < ILLUME_CUDA_MAX_BLOCKS ? pairs : ILLUME_CUDA_MAX_BLOCKS);
    ILLUME_LAUNCH_SYNCED(cam_weights_kernel, blocks, CAM_THREADS, stream, *desc, activation, gradient, weights);
    int error = illume_cuda_launched();
    if (error) return error;
    ILLUME_LAUNCH(cam_maps_kernel, illume_cuda_blocks(desc->rows * desc->plane), ILLUME_CUDA_THREADS, stream, *desc,
                  activation, weights, maps);
    return illume_cuda_launched();
}
