/* The backend interface: a table of function pointers that every compute
 * device implements (runtime/cpu/, runtime/cuda/). Ops in runtime/ops/
 * describe their work with the plain descriptors below and call the table;
 * tensors are device pointers to dense row-major float32 data whose shapes
 * the descriptors carry. */
#ifndef ILLUME_BACKEND_H
#define ILLUME_BACKEND_H

#include <stddef.h>
#include <stdint.h>

#include "illume.h"

#ifdef __cplusplus
extern "C" { /* the CUDA kernel files include this header as C++ */
#endif

#define ILLUME_MAX_SPATIAL 3

typedef enum unary_kind {
    UNARY_COPY,
    UNARY_RELU,
    UNARY_LEAKY_RELU, /* alpha: slope */
    UNARY_SIGMOID,
    UNARY_TANH,
    UNARY_HARD_SIGMOID, /* max(0, min(1, alpha x + beta)) */
    UNARY_HARD_SWISH,
    UNARY_ELU,  /* alpha */
    UNARY_CLIP, /* alpha: low, beta: high */
    UNARY_LINEAR, /* alpha x + beta */
    UNARY_ABS,    /* SmoothGrad's absolute saliency; no ONNX op maps to it */
    UNARY_SWISH,  /* x sigmoid(x): a Sigmoid and a Mul (SiLU) fused into the Conv before them */
    UNARY_ERF,    /* the Gauss error function */
    UNARY_EXP,
    UNARY_LOG,
    UNARY_SQRT,
    UNARY_RECIPROCAL,
    UNARY_SIGN
} unary_kind;

typedef struct convolution_desc {
    int spatial_rank; /* 1 to 3 */
    int64_t batch, in_channels, out_channels, groups;
    int64_t in_size[ILLUME_MAX_SPATIAL], out_size[ILLUME_MAX_SPATIAL];
    int64_t kernel[ILLUME_MAX_SPATIAL], stride[ILLUME_MAX_SPATIAL], dilation[ILLUME_MAX_SPATIAL];
    int64_t pad_begin[ILLUME_MAX_SPATIAL], pad_end[ILLUME_MAX_SPATIAL];
    /* ConvTranspose: weights are (in_channels, out_channels / groups, kernel...). */
    int transpose;
    /* Weights stay the same between calls, so a backend may cache a reordered copy. */
    int constant_weights;
    /* An activation applied after the bias and any accumulation; UNARY_COPY for none. */
    unary_kind activation;
    float activation_alpha, activation_beta;
    /* x or y stored channels last, (N, spatial..., C), instead of (N, C, spatial...). */
    int x_channels_last, y_channels_last;
    /* Add the convolution to what y holds (a fused residual Add), before the fused Relu. */
    int accumulate;
} convolution_desc;

typedef enum pool_kind { POOL_MAX, POOL_AVERAGE } pool_kind;

typedef struct pool_desc {
    pool_kind kind;
    int spatial_rank;
    int64_t planes; /* batch x channels */
    int64_t in_size[ILLUME_MAX_SPATIAL], out_size[ILLUME_MAX_SPATIAL];
    int64_t kernel[ILLUME_MAX_SPATIAL], stride[ILLUME_MAX_SPATIAL], dilation[ILLUME_MAX_SPATIAL];
    int64_t pad_begin[ILLUME_MAX_SPATIAL], pad_end[ILLUME_MAX_SPATIAL];
    int count_include_pad;
    /* x and y stored channels last: planes are then batch x channels interleaved. */
    int channels_last;
    int64_t channels; /* with channels_last: planes = batch x channels */
} pool_desc;

/* y = alpha * op(a) x op(b) + bias (broadcast over rows) + beta * y.
 * Batch dimensions broadcast as numpy does; a_dims and b_dims are the stored
 * shapes, before transposition. */
typedef struct matmul_desc {
    int rank; /* of y, at least 2; a and b are padded with leading ones to it */
    int64_t a_dims[ILLUME_MAX_RANK], b_dims[ILLUME_MAX_RANK], y_dims[ILLUME_MAX_RANK];
    int transpose_a, transpose_b;
    float alpha, beta;
    int has_bias; /* a vector of y_dims[rank - 1]; only with alpha 1 */
    int constant_b;
} matmul_desc;

typedef struct batchnorm_desc {
    int64_t batch, channels, spatial; /* spatial: product of the dims after the channel */
    float epsilon;
    int channels_last; /* x and y stored (N, spatial..., C) */
    int relu;          /* a Relu after it, fused in sessions without a backward pass */
} batchnorm_desc;

/* Local response normalization (ONNX LRN, kernels/lrn.h) across the
 * channels of (batch, channels, spatial) data, NCHW. */
typedef struct lrn_desc {
    int64_t batch, channels, spatial; /* spatial: product of the dims after the channel */
    int64_t size;                     /* channels in a full window */
    float alpha, beta, bias;
} lrn_desc;


typedef struct unary_desc {
    unary_kind kind;
    float alpha, beta;
    int64_t count;
} unary_desc;

typedef enum binary_kind {
    BINARY_ADD,
    BINARY_SUB,
    BINARY_MUL,
    BINARY_DIV,
    BINARY_PRELU,
    BINARY_POW,
    BINARY_MAX,
    BINARY_MIN
} binary_kind;

/* y[i] = a[i . a_strides] op b[i . b_strides] over y's dims; a stride of 0 broadcasts. */
typedef struct binary_desc {
    binary_kind kind;
    int rank;
    int64_t dims[ILLUME_MAX_RANK];
    int64_t a_strides[ILLUME_MAX_RANK], b_strides[ILLUME_MAX_RANK];
} binary_desc;

/* Softmax over `axis` elements, for each of outer x inner positions. */
typedef struct softmax_desc {
    int64_t outer, axis, inner;
    int log;
} softmax_desc;

typedef enum reduce_kind { REDUCE_MEAN, REDUCE_SUM, REDUCE_MAX } reduce_kind;

typedef struct reduce_desc {
    reduce_kind kind;
    int rank;
    int64_t dims[ILLUME_MAX_RANK]; /* of the input */
    int reduced[ILLUME_MAX_RANK];  /* 1 for each reduced axis; the output keeps them as ones */
} reduce_desc;

/* y[dst_offset + i . dst_strides] = x[src_offset + i . src_strides] over dims.
 * Strides are in elements and may be zero (broadcast) or negative (reversal). */
typedef struct copy_desc {
    int rank;
    int64_t dims[ILLUME_MAX_RANK];
    int64_t src_strides[ILLUME_MAX_RANK], dst_strides[ILLUME_MAX_RANK];
    int64_t src_offset, dst_offset;
    int accumulate; /* y += x instead of y = x (backward passes); no two elements may write one place */
} copy_desc;

typedef enum pad_mode { PAD_CONSTANT, PAD_REFLECT, PAD_EDGE, PAD_WRAP } pad_mode;

typedef struct pad_desc {
    pad_mode mode;
    float value;
    int rank;
    int64_t in_dims[ILLUME_MAX_RANK], out_dims[ILLUME_MAX_RANK];
    int64_t pad_begin[ILLUME_MAX_RANK]; /* negative crops; the mode then pads what the crops leave */
} pad_desc;

typedef enum resize_mode { RESIZE_NEAREST, RESIZE_LINEAR } resize_mode;

typedef enum resize_coordinates {
    RESIZE_HALF_PIXEL,
    RESIZE_PYTORCH_HALF_PIXEL,
    RESIZE_ALIGN_CORNERS,
    RESIZE_ASYMMETRIC,
    RESIZE_TF_CROP_AND_RESIZE,
    RESIZE_HALF_PIXEL_SYMMETRIC
} resize_coordinates;

typedef enum resize_rounding {
    RESIZE_ROUND_PREFER_FLOOR,
    RESIZE_ROUND_PREFER_CEIL,
    RESIZE_FLOOR,
    RESIZE_CEIL
} resize_rounding;

typedef struct resize_desc {
    resize_mode mode;
    resize_coordinates coordinates;
    resize_rounding rounding;
    int rank;
    int64_t in_dims[ILLUME_MAX_RANK], out_dims[ILLUME_MAX_RANK];
    float scales[ILLUME_MAX_RANK];
    float roi_start[ILLUME_MAX_RANK], roi_end[ILLUME_MAX_RANK];
    float extrapolation_value;
} resize_desc;

/* How the backward pass treats a Relu: the gradient; guided backpropagation
 * (only positive gradient where the input was positive); deconvnet (the
 * ReLU of the gradient, whatever the input). */
typedef enum gradient_rule { RULE_GRADIENT, RULE_GUIDED, RULE_DECONV } gradient_rule;

/* dx = f'(x) dy for the unary op of kind; x (the input) or y (the output)
 * may be NULL when the kind's derivative reads only the other. */
typedef struct unary_backward_desc {
    unary_kind kind;
    float alpha, beta;
    int64_t count;
    gradient_rule rule;
} unary_backward_desc;

/* LRP: y = gate(g) r / stabilize(z), the relevance ratio of kernels/relevance.h;
 * g (the node's plain output) is read only with a gate. */
typedef struct relevance_ratio_desc {
    int64_t count;
    float epsilon;
    int gate; /* illume_relevance_gate */
} relevance_ratio_desc;

/* DeepLIFT (explain/deeplift_backward.c) on a batch of inputs then their baselines,
 * `half` elements apart: RESCALE overwrites dx (the plain gradient) with
 * the rescale rule where the input differs from its reference, reading x,
 * y, dy; POOL_PARTS writes into dx the parts of dy a max pool routes back
 * (reading its output y); POOL_COMBINE overwrites dx where x differs from
 * its reference by the routed parts y (both halves summed) over x's change. */
typedef enum deeplift_step {
    DEEPLIFT_RESCALE,
    DEEPLIFT_POOL_PARTS,
    DEEPLIFT_POOL_COMBINE,
    /* RevealCancel: dx = x - x_ref in both halves; then the weights a
     * linear node's backward products take by the sign of that change:
     * [dx > 0] + [dx == 0] / 2 (POSITIVE_SHARE), [dx < 0] + [dx == 0] / 2 (NEGATIVE_SHARE),
     * read from x over 2 half elements */
    DEEPLIFT_DIFFERENCE,
    DEEPLIFT_POSITIVE_SHARE,
    DEEPLIFT_NEGATIVE_SHARE
} deeplift_step;

/* RevealCancel at a nonlinearity of kind (alpha, beta), on a batch of inputs
 * then baselines `half` elements apart: from the input x, the positive and
 * negative parts of its change (first half) and dy, the multipliers of the
 * two parts times dy, for both halves. */
typedef struct reveal_cancel_desc {
    int64_t half;
    unary_kind kind;
    float alpha, beta;
} reveal_cancel_desc;

/* SmoothGrad's noisy rows: y[i] = x[i] + sigma * N(0, 1), the normal of
 * element first + i of draw `sample` under `seed` (kernels/philox.h), so a
 * row's noise does not depend on the batch it runs in nor on the backend. */
typedef struct noise_desc {
    uint64_t seed;
    uint32_t sample;
    int64_t first, count;
    float sigma;
} noise_desc;

/* Grad-CAM and Grad-CAM++ (kernels/activation_map.h) from a layer's
 * activation and gradient, each (rows, channels, plane) or, channels last,
 * (rows, plane, channels): the channel weights (rows, channels) and the
 * maps (rows, plane). */
typedef struct class_activation_desc {
    int64_t rows, channels, plane;
    int plus_plus;
    int channels_last;
} class_activation_desc;

typedef struct backend backend;

struct backend {
    const char *name;
    illume_context *context;
    /* Device pointers are host pointers: constants need no upload. */
    int shares_host_memory;
    /* Convolutions run fastest on channels-last activations (the layout pass applies). */
    int prefers_channels_last;
    /* A forward batch's first nodes run faster one image at a time (runtime/split_batch.c). */
    int splits_batches;
    /* Forward convolutions made to run by Winograd's algorithm so far (backend_options.winograd). */
    int winograd_convolutions;
    void (*destroy)(backend *self);

    void *(*allocate)(backend *self, size_t bytes);
    void (*release)(backend *self, void *memory);
    /* Host memory that transfers to and from the device run fastest from
     * (page-locked on CUDA); plain memory on the CPU. */
    void *(*allocate_host)(backend *self, size_t bytes);
    void (*release_host)(backend *self, void *memory);
    illume_status (*upload)(backend *self, void *device, const void *host, size_t bytes);
    illume_status (*download)(backend *self, void *host, const void *device, size_t bytes);
    illume_status (*synchronize)(backend *self);
    /* Transfers beside the computation, so a batch's rows move while
     * another computes (explain/explainer.c): upload_beside queues a copy to
     * the device on an upload queue of its own; wait_uploads makes the
     * computation queued after it wait for every upload queued so far;
     * download_after queues a copy to the host, on a download queue of its
     * own, after the computation queued so far; finish_transfers waits, on
     * the host, for both queues. Neither buffer may be touched until the
     * copy is known done: an upload after wait_uploads (on the device) or
     * finish_transfers, a download after finish_transfers. The host
     * buffers come from allocate_host: from other memory a copy may wait
     * for the device, and nothing overlaps. */
    illume_status (*upload_beside)(backend *self, void *device, const void *host, size_t bytes);
    illume_status (*wait_uploads)(backend *self);
    illume_status (*download_after)(backend *self, void *host, const void *device, size_t bytes);
    illume_status (*finish_transfers)(backend *self);
    /* Frees what a primitive left in a node's state slot. */
    void (*release_state)(backend *self, void *state);

    illume_status (*convolution)(backend *self, const convolution_desc *desc, void **state, const float *x,
                                 const float *weights, const float *bias, float *y);
    /* argmax (optional, max pooling): the flat index into the plane of x that won each output. */
    illume_status (*pool)(backend *self, const pool_desc *desc, const float *x, float *y, int32_t *argmax);
    illume_status (*matmul)(backend *self, const matmul_desc *desc, void **state, const float *a, const float *b,
                            const float *bias, float *y);
    illume_status (*batchnorm)(backend *self, const batchnorm_desc *desc, void **state, const float *x,
                               const float *scale, const float *shift, const float *mean, const float *variance,
                               float *y);
    illume_status (*unary)(backend *self, const unary_desc *desc, const float *x, float *y);
    illume_status (*binary)(backend *self, const binary_desc *desc, const float *a, const float *b, float *y);
    illume_status (*softmax)(backend *self, const softmax_desc *desc, const float *x, float *y);
    illume_status (*lrn)(backend *self, const lrn_desc *desc, const float *x, float *y);
    illume_status (*reduce)(backend *self, const reduce_desc *desc, const float *x, float *y);
    illume_status (*copy)(backend *self, const copy_desc *desc, const float *x, float *y);
    illume_status (*pad)(backend *self, const pad_desc *desc, const float *x, float *y);
    illume_status (*resize)(backend *self, const resize_desc *desc, const float *x, float *y);
    illume_status (*fill)(backend *self, float value, int64_t count, float *y);

    /* Backward: each writes the input gradient dx (overwriting it) from the
     * output gradient dy and what the forward saved. */
    illume_status (*convolution_backward)(backend *self, const convolution_desc *desc, void **state, const float *dy,
                                          const float *weights, float *dx);
    /* Max pooling routes dy to the argmax of each output; average pooling
     * spreads it over the window. Both gather, so no two threads write one place. */
    illume_status (*pool_backward)(backend *self, const pool_desc *desc, const float *dy, const int32_t *argmax,
                                   float *dx);
    illume_status (*unary_backward)(backend *self, const unary_backward_desc *desc, const float *x, const float *y,
                                    const float *dy, float *dx);
    /* The gradient of operand 0 (a) or 1 (b) of a broadcast binary op, summed
     * over the dimensions that operand was broadcast along; dx has its shape. */
    illume_status (*binary_backward)(backend *self, const binary_desc *desc, int operand, const float *a,
                                     const float *b, const float *dy, float *dx);
    illume_status (*softmax_backward)(backend *self, const softmax_desc *desc, const float *y, const float *dy,
                                      float *dx);
    /* From the forward's input x; terms: as many floats as x, which the call overwrites. */
    illume_status (*lrn_backward)(backend *self, const lrn_desc *desc, const float *x, const float *dy, float *terms,
                                  float *dx);
    illume_status (*pad_backward)(backend *self, const pad_desc *desc, const float *dy, float *dx);
    illume_status (*resize_backward)(backend *self, const resize_desc *desc, const float *dy, float *dx);

    /* LRP's steps (explain/lrp_backward.c): the stabilized ratio, and the
     * term y += coefficient * a * b over count elements (b NULL:
     * y += coefficient * a), with which IG and SmoothGrad sum too. */
    illume_status (*relevance_ratio)(backend *self, const relevance_ratio_desc *desc, const float *r,
                                     const float *z, const float *g, float *y);
    illume_status (*relevance_term)(backend *self, int64_t count, float coefficient, const float *a,
                                    const float *b, float *y);
    illume_status (*deeplift)(backend *self, deeplift_step step, int64_t half, const float *x, const float *y,
                              const float *dy, float *dx);
    illume_status (*reveal_cancel)(backend *self, const reveal_cancel_desc *desc, const float *x,
                                   const float *positive, const float *negative, const float *dy,
                                   float *positive_gradient, float *negative_gradient);
    illume_status (*noise)(backend *self, const noise_desc *desc, const float *x, float *y);
    illume_status (*class_activation)(backend *self, const class_activation_desc *desc, const float *activation,
                                      const float *gradient, float *weights, float *maps);
};

/* Speed a backend may buy with reproducibility or rounding (illume_session_options). */
typedef struct backend_options {
    int fast;     /* non-deterministic algorithms and TF32 math allowed */
    int autotune; /* time the candidate algorithms once per node instead of trusting heuristics */
    int winograd; /* forward convolutions may run by Winograd's algorithm where it pays */
} backend_options;

/* Backends compiled into this build; NULL when the name is unknown or absent.
 * backend_create gives the default options (deterministic, no TF32). */
backend *backend_create(illume_context *context, const char *device);
backend *backend_create_with_options(illume_context *context, const char *device, backend_options options);
backend *cpu_backend_create(illume_context *context, backend_options options);

#ifdef __cplusplus
}
#endif

#endif
