// test_harness: the CPU execution harness itself (kernel_harness.h), on
// small kernels written here that use what it offers: every thread of a 3-D
// grid of 3-D blocks runs once with its own indices; shared memory and
// barriers (a tree sum whose every level needs the one before, in blocks of
// two dimensions); atomics on shared and global memory (a histogram).
#include "cuda_kernel.h"

#include <cstdio>
#include <vector>

static int failures = 0, cases = 0;

static void expect(const char *label, bool holds) {
    cases++;
    if (!holds) {
        failures++;
        std::printf("FAIL %s\n", label);
    }
}

// Each thread counts itself at its global position.
__global__ void visit_kernel(int *visits, unsigned width, unsigned height) {
    unsigned x = blockIdx.x * blockDim.x + threadIdx.x, y = blockIdx.y * blockDim.y + threadIdx.y;
    unsigned z = blockIdx.z * blockDim.z + threadIdx.z;
    visits[(z * height + y) * width + x] += 1;
}

// The sum of a block's values, halving the live threads at each barrier.
__global__ void tree_sum_kernel(const int *values, int *sums) {
    __shared__ int partial[64];
    unsigned thread = threadIdx.y * blockDim.x + threadIdx.x, threads = blockDim.x * blockDim.y;
    partial[thread] = values[blockIdx.x * threads + thread];
    __syncthreads();
    for (unsigned half = threads / 2; half > 0; half /= 2) {
        if (thread < half) partial[thread] += partial[thread + half];
        __syncthreads();
    }
    if (thread == 0) sums[blockIdx.x] = partial[0];
}

// Per block a histogram in shared memory, then added to the global one; the largest value by atomicMax.
__global__ void histogram_kernel(const int *values, int count, int *histogram, int *largest) {
    __shared__ int bins[8];
    if (threadIdx.x < 8) bins[threadIdx.x] = 0;
    __syncthreads();
    for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < count; i += blockDim.x * gridDim.x) {
        atomicAdd(&bins[values[i] % 8], 1);
        atomicMax(largest, values[i]);
    }
    __syncthreads();
    if (threadIdx.x < 8) atomicAdd(&histogram[threadIdx.x], bins[threadIdx.x]);
}

int main() {
    {
        const dim3 blocks(3, 2, 2), threads(4, 3, 2);
        unsigned width = blocks.x * threads.x, height = blocks.y * threads.y, depth = blocks.z * threads.z;
        std::vector<int> visits((size_t)width * height * depth, 0);
        ILLUME_LAUNCH(visit_kernel, blocks, threads, nullptr, visits.data(), width, height);
        bool once = true;
        for (int count : visits) once = once && count == 1;
        expect("every thread of a 3-D grid of 3-D blocks runs once", once);
        std::vector<int> synced((size_t)width * height * depth, 0);
        ILLUME_LAUNCH_SYNCED(visit_kernel, blocks, threads, nullptr, synced.data(), width, height);
        once = true;
        for (int count : synced) once = once && count == 1;
        expect("every fiber of a 3-D grid of 3-D blocks runs once", once);
    }
    {
        const unsigned block_count = 5;
        const dim3 threads(8, 8);
        std::vector<int> values(block_count * 64), sums(block_count, -1);
        for (size_t i = 0; i < values.size(); i++) values[i] = (int)(i * 7 % 23) - 11;
        ILLUME_LAUNCH_SYNCED(tree_sum_kernel, block_count, threads, nullptr, values.data(), sums.data());
        bool right = true;
        for (unsigned b = 0; b < block_count; b++) {
            int want = 0;
            for (unsigned t = 0; t < 64; t++) want += values[b * 64 + t];
            right = right && sums[b] == want;
        }
        expect("a tree sum through shared memory and barriers", right);
    }
    {
        const int count = 1000;
        std::vector<int> values(count), histogram(8, 0), want(8, 0);
        int largest = 0, want_largest = 0;
        for (int i = 0; i < count; i++) {
            values[i] = (i * 37 + 11) % 101;
            want[values[i] % 8]++;
            if (values[i] > want_largest) want_largest = values[i];
        }
        ILLUME_LAUNCH_SYNCED(histogram_kernel, 3, 64, nullptr, values.data(), count, histogram.data(), &largest);
        expect("a histogram by atomicAdd in shared and global memory", histogram == want);
        expect("the largest value by atomicMax", largest == want_largest);
    }
    std::printf("cuda/harness: %d cases, %d failures\n", cases, failures);
    return failures ? 1 : 0;
}
