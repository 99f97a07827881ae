// A CPU execution harness for the CUDA kernels: compiled as host C++, a .cu
// file sees the names it uses from CUDA here, and a launch runs the kernel
// body once for every thread of every block, in order, with threadIdx,
// blockIdx, blockDim and gridDim set as on a GPU. The kernels run so far
// are element-wise (no shared memory, no barriers); a kernel that needs
// __syncthreads or __shared__ makes this harness grow (fibers per thread of
// a block), it is not left unexecuted. Out-of-bounds accesses are caught by
// AddressSanitizer, under which the test suite also runs.
#ifndef ILLUME_TESTS_KERNEL_HARNESS_H
#define ILLUME_TESTS_KERNEL_HARNESS_H

#include <cstdint>

#define __global__
#define __device__
#define __host__

struct dim3 {
    unsigned x, y, z;
    dim3(unsigned x_ = 1, unsigned y_ = 1, unsigned z_ = 1) : x(x_), y(y_), z(z_) {}
};

inline thread_local dim3 threadIdx, blockIdx, blockDim, gridDim;

typedef struct CUstream_st *cudaStream_t;
typedef int cudaError_t;
enum { cudaSuccess = 0 };

// Launches that ran, for tests that check a launcher launched at all.
inline thread_local long long harness_launches = 0;

inline cudaError_t cudaGetLastError() { return cudaSuccess; }

template <typename Body>
void harness_launch(dim3 blocks, dim3 threads, cudaStream_t, Body body) {
    harness_launches++;
    gridDim = blocks;
    blockDim = threads;
    for (unsigned bz = 0; bz < blocks.z; bz++)
        for (unsigned by = 0; by < blocks.y; by++)
            for (unsigned bx = 0; bx < blocks.x; bx++) {
                blockIdx = dim3(bx, by, bz);
                for (unsigned tz = 0; tz < threads.z; tz++)
                    for (unsigned ty = 0; ty < threads.y; ty++)
                        for (unsigned tx = 0; tx < threads.x; tx++) {
                            threadIdx = dim3(tx, ty, tz);
                            body();
                        }
            }
}

#endif
