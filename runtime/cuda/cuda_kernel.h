/* What a kernel file (.cu) needs from CUDA, and how it launches: under nvcc
 * the real thing; compiled as host C++ (the tests' CPU execution harness,
 * tests/cuda/kernel_harness.h) the same names run every thread of the grid
 * on the CPU, so that the kernels' indexing runs without a GPU. */
#ifndef ILLUME_CUDA_KERNEL_H
#define ILLUME_CUDA_KERNEL_H

/* ILLUME_LAUNCH_SYNCED launches a kernel whose threads share memory and wait
 * at __syncthreads: the same launch on a GPU, fibers per thread in the
 * harness. */
#if defined(__CUDACC__)
#include <cuda_runtime.h>
#define ILLUME_LAUNCH(kernel, blocks, threads, stream, ...) kernel<<<(blocks), (threads), 0, (stream)>>>(__VA_ARGS__)
#define ILLUME_LAUNCH_SYNCED ILLUME_LAUNCH
#else
#include "kernel_harness.h"
#define ILLUME_LAUNCH(kernel, blocks, threads, stream, ...) \
    harness_launch((blocks), (threads), (stream), false, [&]() { kernel(__VA_ARGS__); })
#define ILLUME_LAUNCH_SYNCED(kernel, blocks, threads, stream, ...) \
    harness_launch((blocks), (threads), (stream), true, [&]() { kernel(__VA_ARGS__); })
#endif

/* i over [0, count) in a grid-stride loop: each thread from its global index, by the grid's size. */
#define ILLUME_CUDA_EACH(i, count) \
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < (count); i += (int64_t)blockDim.x * gridDim.x)

/* A launcher's result: the launch's error (0 on success). */
static inline int illume_cuda_launched(void) { return (int)cudaGetLastError(); }

/* Threads per block of the element-wise kernels, and the most blocks a
 * launch asks for: a grid-stride loop covers the rest. */
#define ILLUME_CUDA_THREADS 256
#define ILLUME_CUDA_MAX_BLOCKS 65535

static inline unsigned illume_cuda_blocks(long long count) {
    long long blocks = (count + ILLUME_CUDA_THREADS - 1) / ILLUME_CUDA_THREADS;
    if (blocks < 1) blocks = 1;
    return (unsigned)(blocks > ILLUME_CUDA_MAX_BLOCKS ? ILLUME_CUDA_MAX_BLOCKS : blocks);
}

#endif
