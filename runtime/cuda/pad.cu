// The CUDA backend's Pad: one thread per output element reads the input
// element kernels/pad.h names (or writes the pad value). The backward pass
// is a gather: one thread per input element finds, axis by axis, the
// outputs that read it (kernels/pad_backward.h) and sums their gradients,
// so no two threads write one place and no atomics are needed. The CPU
// backend tabulates the same reaches once per call; here each thread
// computes its own, which costs a few integer divisions and no memory.
#include "cuda_kernel.h"
#include "pad_backward.h"
#include "pad_launchers.h"

__global__ void pad_kernel(pad_desc desc, illume_pad_geometry geometry, const float *x, float *y) {
    ILLUME_CUDA_EACH(i, geometry.outputs) y[i] = illume_pad_output(&desc, &geometry, x, i);
}

__global__ void pad_backward_kernel(pad_desc desc, illume_pad_geometry geometry, const float *dy, float *dx) {
    int rank = desc.rank;
    ILLUME_CUDA_EACH(i, geometry.inputs) {
        illume_pad_reach reaches[ILLUME_MAX_RANK];
        const illume_pad_reach *axes[ILLUME_MAX_RANK];
        int64_t rest = i;
        for (int d = rank - 1; d >= 0; d--) {
            reaches[d] = illume_pad_axis_reach(&desc, d, rest % desc.in_dims[d]);
            rest /= desc.in_dims[d];
            axes[d] = &reaches[d];
        }
        dx[i] = illume_pad_gather(rank, axes, geometry.out_strides, dy);
    }
}

extern "C" int illume_cuda_pad(illume_cuda_stream stream, const pad_desc *desc, const float *x, float *y) {
    illume_pad_geometry geometry = illume_pad_setup(desc);
    if (geometry.outputs < 1) return 0;
    ILLUME_LAUNCH(pad_kernel, illume_cuda_blocks(geometry.outputs), ILLUME_CUDA_THREADS, stream, *desc, geometry, x, y);
    return illume_cuda_launched();
}

extern "C" int illume_cuda_pad_backward(illume_cuda_stream stream, const pad_desc *desc, const float *dy, float *dx) {
    illume_pad_geometry geometry = illume_pad_setup(desc);
    if (geometry.inputs < 1) return 0;
    ILLUME_LAUNCH(pad_backward_kernel, illume_cuda_blocks(geometry.inputs), ILLUME_CUDA_THREADS, stream, *desc, geometry,
                  dy, dx);
    return illume_cuda_launched();
}
