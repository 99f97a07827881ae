// A CPU execution harness for the CUDA kernels: compiled as host C++, a .cu
// file sees the names it uses from CUDA here, and a launch runs the kernel
// body for every thread of every block, in order, with threadIdx, blockIdx,
// blockDim and gridDim set as on a GPU.
//
// Element-wise kernels (ILLUME_LAUNCH) run each thread to its end in turn.
// Kernels that share memory within a block and wait at __syncthreads
// (ILLUME_LAUNCH_SYNCED) run each thread of a block as a fiber on its own
// stack: every fiber runs until the barrier, then the next, and the block
// goes on only when all have reached it; a barrier that some threads of a
// block skip (undefined on a GPU) stops the test. __shared__ variables are
// static, so the fibers of a block, which run on one system thread, share
// them, and the next block finds what the last one left, as a GPU may.
// atomicAdd and atomicMax are plain updates (nothing else runs between a
// fiber's barriers). Out-of-bounds accesses are caught by
// AddressSanitizer, under which the test suite also runs (the fiber
// switches are announced to it, so its warning that makecontext may give
// false positives does not apply). tests/cuda/test_harness.cpp tests the
// harness itself.
#ifndef ILLUME_TESTS_KERNEL_HARNESS_H
#define ILLUME_TESTS_KERNEL_HARNESS_H

#include <ucontext.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <vector>

#if defined(__SANITIZE_ADDRESS__)
#define HARNESS_ADDRESS_SANITIZER 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define HARNESS_ADDRESS_SANITIZER 1
#endif
#endif
#ifdef HARNESS_ADDRESS_SANITIZER
#include <sanitizer/common_interface_defs.h>
#endif

#define __global__
#define __device__
#define __host__
#define __shared__ static

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

inline void harness_stop(const char *why) {
    std::fprintf(stderr, "kernel harness: %s\n", why);
    std::abort();
}

// The block being run as fibers, and where each fiber stands.
struct harness_fiber {
    ucontext_t context;
    std::vector<char> stack;
    bool finished;
    void *fake_stack; // AddressSanitizer's record of the fiber's stack while it is switched out
};

struct harness_block {
    ucontext_t scheduler;
    const void *scheduler_stack_bottom;
    size_t scheduler_stack_size;
    std::vector<harness_fiber> fibers;
    harness_fiber *current;
    const std::function<void()> *body;
};

inline thread_local harness_block *harness_running = nullptr;

// Switches from the fiber that runs to the scheduler; `finishing` when the fiber will not come back.
inline void harness_yield(bool finishing) {
    harness_block *block = harness_running;
    harness_fiber *fiber = block->current;
#ifdef HARNESS_ADDRESS_SANITIZER
    __sanitizer_start_switch_fiber(finishing ? nullptr : &fiber->fake_stack, block->scheduler_stack_bottom,
                                   block->scheduler_stack_size);
#endif
    if (finishing) {
        setcontext(&block->scheduler);
        harness_stop("setcontext returned");
    }
    swapcontext(&fiber->context, &block->scheduler);
#ifdef HARNESS_ADDRESS_SANITIZER
    __sanitizer_finish_switch_fiber(fiber->fake_stack, &block->scheduler_stack_bottom, &block->scheduler_stack_size);
#endif
}

inline void harness_fiber_start() {
    harness_block *block = harness_running;
#ifdef HARNESS_ADDRESS_SANITIZER
    __sanitizer_finish_switch_fiber(nullptr, &block->scheduler_stack_bottom, &block->scheduler_stack_size);
#endif
    (*block->body)();
    block->current->finished = true;
    harness_yield(true);
}

// Atomics: the fibers of a block switch only at barriers and blocks run one
// after another, so a plain read-modify-write is atomic here. Each returns
// the old value, as CUDA's do.
template <typename Value>
inline Value atomicAdd(Value *address, Value value) {
    Value old = *address;
    *address = old + value;
    return old;
}

template <typename Value>
inline Value atomicMax(Value *address, Value value) {
    Value old = *address;
    if (value > old) *address = value;
    return old;
}

inline void __syncthreads() {
    if (!harness_running) harness_stop("__syncthreads in a kernel launched with ILLUME_LAUNCH, not ILLUME_LAUNCH_SYNCED");
    harness_yield(false);
}

// Runs one block's threads as fibers, a round at a time: a round takes every
// fiber to its next barrier or its end.
inline void harness_run_block(harness_block *block, dim3 threads) {
    const size_t stack_bytes = 64 * 1024;
    size_t count = (size_t)threads.x * threads.y * threads.z;
    block->fibers.resize(count);
    for (size_t k = 0; k < count; k++) {
        harness_fiber *fiber = &block->fibers[k];
        fiber->stack.resize(stack_bytes);
        fiber->finished = false;
        fiber->fake_stack = nullptr;
        getcontext(&fiber->context);
        fiber->context.uc_stack.ss_sp = fiber->stack.data();
        fiber->context.uc_stack.ss_size = stack_bytes;
        fiber->context.uc_link = nullptr;
        makecontext(&fiber->context, harness_fiber_start, 0);
    }
    for (;;) {
        size_t finished = 0;
        for (size_t k = 0; k < count; k++) {
            harness_fiber *fiber = &block->fibers[k];
            if (fiber->finished) {
                finished++;
                continue;
            }
            threadIdx = dim3((unsigned)(k % threads.x), (unsigned)(k / threads.x % threads.y),
                             (unsigned)(k / ((size_t)threads.x * threads.y)));
            block->current = fiber;
#ifdef HARNESS_ADDRESS_SANITIZER
            void *fake_stack = nullptr;
            __sanitizer_start_switch_fiber(&fake_stack, fiber->stack.data(), stack_bytes);
            swapcontext(&block->scheduler, &fiber->context);
            __sanitizer_finish_switch_fiber(fake_stack, nullptr, nullptr);
#else
            swapcontext(&block->scheduler, &fiber->context);
#endif
            if (fiber->finished) finished++;
        }
        if (finished == count) return;
        if (finished) harness_stop("some threads of a block ended while others wait at __syncthreads");
    }
}

template <typename Body>
void harness_launch(dim3 blocks, dim3 threads, cudaStream_t, bool synced, Body body) {
    harness_launches++;
    gridDim = blocks;
    blockDim = threads;
    std::function<void()> erased = body;
    harness_block block;
    block.body = &erased;
    for (unsigned bz = 0; bz < blocks.z; bz++)
        for (unsigned by = 0; by < blocks.y; by++)
            for (unsigned bx = 0; bx < blocks.x; bx++) {
                blockIdx = dim3(bx, by, bz);
                if (synced) {
                    harness_running = &block;
                    harness_run_block(&block, threads);
                    harness_running = nullptr;
                    continue;
                }
                for (unsigned tz = 0; tz < threads.z; tz++)
                    for (unsigned ty = 0; ty < threads.y; ty++)
                        for (unsigned tx = 0; tx < threads.x; tx++) {
                            threadIdx = dim3(tx, ty, tz);
                            body();
                        }
            }
}

#endif
