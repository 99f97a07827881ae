// The CUDA backend's element-wise kernels: fills, strided copies, unary and
// broadcast binary ops, their backward passes, and the element-wise steps of
// LRP and DeepLIFT. Every kernel is a grid-stride loop over the elements,
// computing with the per-element math of kernels/ (the CPU backend's), and
// every launcher returns the launch's error.
#include "activation.h"
#include "binary_backward.h"
#include "cuda_kernel.h"
#include "elementwise.h"
#include "relevance.h"
#include "rescale.h"
#include "strided.h"

#define EACH ILLUME_CUDA_EACH

static int64_t element_product(int rank, const int64_t *dims) {
    int64_t count = 1;
    for (int d = 0; d < rank; d++) count *= dims[d];
    return count;
}

__global__ void fill_kernel(float value, int64_t count, float *y) {
    EACH(i, count) y[i] = value;
}

__global__ void copy_kernel(copy_desc desc, int64_t count, const float *x, float *y) {
    EACH(i, count) {
        float value = x[desc.src_offset + illume_strided_offset(desc.rank, desc.dims, desc.src_strides, i)];
        float *target = &y[desc.dst_offset + illume_strided_offset(desc.rank, desc.dims, desc.dst_strides, i)];
        *target = desc.accumulate ? *target + value : value;
    }
}

__global__ void unary_kernel(unary_desc desc, const float *x, float *y) {
    EACH(i, desc.count) y[i] = illume_unary(desc.kind, desc.alpha, desc.beta, x[i]);
}

__global__ void binary_kernel(binary_desc desc, int64_t count, const float *a, const float *b, float *y) {
    EACH(i, count) {
        float left = a[illume_strided_offset(desc.rank, desc.dims, desc.a_strides, i)];
        float right = b[illume_strided_offset(desc.rank, desc.dims, desc.b_strides, i)];
        y[i] = illume_binary(desc.kind, left, right);
    }
}

__global__ void unary_backward_kernel(unary_backward_desc desc, const float *x, const float *y, const float *dy,
                                      float *dx) {
    EACH(i, desc.count) {
        dx[i] = x ? illume_unary_gradient(desc.kind, desc.alpha, desc.beta, desc.rule, x[i], dy[i])
                  : illume_unary_gradient_from_output(desc.kind, desc.alpha, desc.beta, desc.rule, y ? y[i] : 0.0f,
                                                      dy[i]);
    }
}

__global__ void binary_backward_kernel(binary_kind kind, int operand, illume_axis_group kept,
                                       illume_axis_group broadcast, const float *a, const float *b, const float *dy,
                                       float *dx) {
    EACH(e, kept.count) illume_binary_backward_element(kind, operand, &kept, &broadcast, a, b, dy, dx, e);
}

__global__ void relevance_ratio_kernel(relevance_ratio_desc desc, const float *r, const float *z, const float *g,
                                       float *y) {
    EACH(i, desc.count) y[i] = illume_relevance_ratio(r[i], z[i], desc.epsilon, desc.gate, desc.gate ? g[i] : 0.0f);
}

__global__ void relevance_term_kernel(int64_t count, float coefficient, const float *a, const float *b, float *y) {
    EACH(i, count) y[i] = illume_relevance_term(y[i], coefficient, a[i], b ? b[i] : 1.0f);
}

__global__ void deeplift_kernel(deeplift_step step, int64_t half, const float *x, const float *y, const float *dy,
                                float *dx) {
    int64_t count = step == DEEPLIFT_POSITIVE_SHARE || step == DEEPLIFT_NEGATIVE_SHARE ? 2 * half : half;
    EACH(i, count) {
        switch (step) {
        case DEEPLIFT_RESCALE:
            if (illume_deeplift_differs(x[i], x[i + half])) {
                dx[i] = illume_deeplift_rescale(x[i], x[i + half], y[i], y[i + half], dy[i]);
                dx[i + half] = illume_deeplift_rescale(x[i], x[i + half], y[i], y[i + half], dy[i + half]);
            }
            break;
        case DEEPLIFT_POOL_PARTS:
            dx[i] = illume_deeplift_pool_input_part(y[i], y[i + half], dy[i]);
            dx[i + half] = illume_deeplift_pool_reference_part(y[i], y[i + half], dy[i + half]);
            break;
        case DEEPLIFT_POOL_COMBINE:
            if (illume_deeplift_differs(x[i], x[i + half])) dx[i] = dx[i + half] = (y[i] + y[i + half]) / (x[i] - x[i + half]);
            break;
        case DEEPLIFT_DIFFERENCE: dx[i] = dx[i + half] = x[i] - x[i + half]; break;
        case DEEPLIFT_POSITIVE_SHARE: dx[i] = x[i] > 0.0f ? 1.0f : x[i] == 0.0f ? 0.5f : 0.0f; break;
        case DEEPLIFT_NEGATIVE_SHARE: dx[i] = x[i] < 0.0f ? 1.0f : x[i] == 0.0f ? 0.5f : 0.0f; break;
        }
    }
}

__global__ void reveal_cancel_kernel(reveal_cancel_desc desc, const float *x, const float *positive,
                                     const float *negative, const float *dy, float *positive_gradient,
                                     float *negative_gradient) {
    int64_t half = desc.half;
    EACH(i, half) {
        float up, down;
        illume_reveal_cancel(desc.kind, desc.alpha, desc.beta, x[i], x[i + half], positive[i], negative[i], &up, &down);
        positive_gradient[i] = dy[i] * up;
        negative_gradient[i] = dy[i] * down;
        positive_gradient[i + half] = dy[i + half] * up;
        negative_gradient[i + half] = dy[i + half] * down;
    }
}

extern "C" int illume_cuda_fill(illume_cuda_stream stream, float value, int64_t count, float *y) {
    if (count < 1) return 0;
    ILLUME_LAUNCH(fill_kernel, illume_cuda_blocks(count), ILLUME_CUDA_THREADS, stream, value, count, y);
    return illume_cuda_launched();
}

extern "C" int illume_cuda_copy(illume_cuda_stream stream, const copy_desc *desc, const float *x, float *y) {
    int64_t count = element_product(desc->rank, desc->dims);
    if (count < 1) return 0;
    ILLUME_LAUNCH(copy_kernel, illume_cuda_blocks(count), ILLUME_CUDA_THREADS, stream, *desc, count, x, y);
    return illume_cuda_launched();
}

extern "C" int illume_cuda_unary(illume_cuda_stream stream, const unary_desc *desc, const float *x, float *y) {
    if (desc->count < 1) return 0;
    ILLUME_LAUNCH(unary_kernel, illume_cuda_blocks(desc->count), ILLUME_CUDA_THREADS, stream, *desc, x, y);
    return illume_cuda_launched();
}

extern "C" int illume_cuda_binary(illume_cuda_stream stream, const binary_desc *desc, const float *a, const float *b,
                                  float *y) {
    int64_t count = element_product(desc->rank, desc->dims);
    if (count < 1) return 0;
    ILLUME_LAUNCH(binary_kernel, illume_cuda_blocks(count), ILLUME_CUDA_THREADS, stream, *desc, count, a, b, y);
    return illume_cuda_launched();
}

extern "C" int illume_cuda_unary_backward(illume_cuda_stream stream, const unary_backward_desc *desc, const float *x,
                                          const float *y, const float *dy, float *dx) {
    if (desc->count < 1) return 0;
    ILLUME_LAUNCH(unary_backward_kernel, illume_cuda_blocks(desc->count), ILLUME_CUDA_THREADS, stream, *desc, x, y,
                  dy, dx);
    return illume_cuda_launched();
}

extern "C" int illume_cuda_binary_backward(illume_cuda_stream stream, const binary_desc *desc, int operand,
                                           const float *a, const float *b, const float *dy, float *dx) {
    illume_axis_group kept, broadcast;
    illume_binary_backward_groups(desc, operand, &kept, &broadcast);
    if (kept.count < 1) return 0;
    ILLUME_LAUNCH(binary_backward_kernel, illume_cuda_blocks(kept.count), ILLUME_CUDA_THREADS, stream, desc->kind,
                  operand, kept, broadcast, a, b, dy, dx);
    return illume_cuda_launched();
}

extern "C" int illume_cuda_relevance_ratio(illume_cuda_stream stream, const relevance_ratio_desc *desc,
                                           const float *r, const float *z, const float *g, float *y) {
    if (desc->count < 1) return 0;
    ILLUME_LAUNCH(relevance_ratio_kernel, illume_cuda_blocks(desc->count), ILLUME_CUDA_THREADS, stream, *desc, r, z,
                  g, y);
    return illume_cuda_launched();
}

extern "C" int illume_cuda_relevance_term(illume_cuda_stream stream, int64_t count, float coefficient,
                                          const float *a, const float *b, float *y) {
    if (count < 1) return 0;
    ILLUME_LAUNCH(relevance_term_kernel, illume_cuda_blocks(count), ILLUME_CUDA_THREADS, stream, count, coefficient,
                  a, b, y);
    return illume_cuda_launched();
}

extern "C" int illume_cuda_deeplift(illume_cuda_stream stream, deeplift_step step, int64_t half, const float *x,
                                    const float *y, const float *dy, float *dx) {
    int64_t count = step == DEEPLIFT_POSITIVE_SHARE || step == DEEPLIFT_NEGATIVE_SHARE ? 2 * half : half;
    if (count < 1) return 0;
    ILLUME_LAUNCH(deeplift_kernel, illume_cuda_blocks(count), ILLUME_CUDA_THREADS, stream, step, half, x, y, dy, dx);
    return illume_cuda_launched();
}

extern "C" int illume_cuda_reveal_cancel(illume_cuda_stream stream, const reveal_cancel_desc *desc, const float *x,
                                         const float *positive, const float *negative, const float *dy,
                                         float *positive_gradient, float *negative_gradient) {
    if (desc->half < 1) return 0;
    ILLUME_LAUNCH(reveal_cancel_kernel, illume_cuda_blocks(desc->half), ILLUME_CUDA_THREADS, stream, *desc, x,
                  positive, negative, dy, positive_gradient, negative_gradient);
    return illume_cuda_launched();
}
