// The CUDA backend's Resize: one thread per output element, with the
// per-element math of kernels/resize.h. The backward pass is the CPU
// backend's gather (kernels/resize_backward.h): first each axis's taps are
// turned around into a list per input coordinate (one thread per axis, a
// walk over that axis's output coordinates, into the scratch memory), then
// one thread per input element sums the gradients of the outputs on its
// coordinates' lists, so no two threads write one place and no atomics are
// needed.
#include "cuda_kernel.h"
#include "resize_backward.h"
#include "resize_launchers.h"

__global__ void resize_kernel(resize_desc desc, int64_t outputs, const float *x, float *y) {
    ILLUME_CUDA_EACH(i, outputs) y[i] = illume_resize_output(&desc, x, i);
}

__global__ void resize_lists_kernel(resize_desc desc, illume_resize_lists layout, int64_t *starts,
                                    illume_resize_tap *taps) {
    ILLUME_CUDA_EACH(axis, desc.rank) illume_resize_axis_lists(&desc, &layout, (int)axis, starts, taps);
}

__global__ void resize_backward_kernel(resize_desc desc, illume_resize_lists layout, const int64_t *starts,
                                       const illume_resize_tap *taps, const float *dy, float *dx) {
    ILLUME_CUDA_EACH(i, layout.inputs) dx[i] = illume_resize_input_gradient(&desc, &layout, starts, taps, dy, i);
}

extern "C" int illume_cuda_resize(illume_cuda_stream stream, const resize_desc *desc, const float *x, float *y) {
    int64_t outputs = 1;
    for (int d = 0; d < desc->rank; d++) outputs *= desc->out_dims[d];
    if (outputs < 1) return 0;
    ILLUME_LAUNCH(resize_kernel, illume_cuda_blocks(outputs), ILLUME_CUDA_THREADS, stream, *desc, outputs, x, y);
    return illume_cuda_launched();
}

// The scratch holds the taps, then the list starts (the taps' alignment suits both).
extern "C" size_t illume_cuda_resize_backward_scratch(const resize_desc *desc) {
    illume_resize_lists layout = illume_resize_lists_layout(desc);
    return (size_t)layout.taps * sizeof(illume_resize_tap) + (size_t)layout.starts * sizeof(int64_t);
}

extern "C" int illume_cuda_resize_backward(illume_cuda_stream stream, const resize_desc *desc, void *scratch,
                                           const float *dy, float *dx) {
    illume_resize_lists layout = illume_resize_lists_layout(desc);
    if (layout.inputs < 1) return 0;
    illume_resize_tap *taps = (illume_resize_tap *)scratch;
    int64_t *starts = (int64_t *)(taps + layout.taps);
    ILLUME_LAUNCH(resize_lists_kernel, illume_cuda_blocks(desc->rank), ILLUME_CUDA_THREADS, stream, *desc, layout,
                  starts, taps);
    int error = illume_cuda_launched();
    if (error) return error;
    ILLUME_LAUNCH(resize_backward_kernel, illume_cuda_blocks(layout.inputs), ILLUME_CUDA_THREADS, stream, *desc, layout,
                  starts, taps, dy, dx);
    return illume_cuda_launched();
}
