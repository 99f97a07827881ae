/* Naive reference implementations of the ONNX operators illume runs,
 * written from the operator specification: plain loops over every output
 * element, double accumulation, no shared code with illume. Each returns a
 * newly allocated float32 tensor (free with tensor_release) whose shape the
 * reference derives itself from the spec's formulas. */
#ifndef ILLUME_TESTS_REFERENCE_H
#define ILLUME_TESTS_REFERENCE_H

#include <stdint.h>

#include "illume.h"

/* Row-major coordinates of the flat index in dims, and back. */
void reference_coordinates(int rank, const int64_t *dims, int64_t index, int64_t *coordinates);
int64_t reference_offset(int rank, const int64_t *dims, const int64_t *coordinates);
/* An allocated float32 tensor of the shape, zero-filled. */
illume_tensor reference_tensor(int rank, const int64_t *dims);

/* The attributes of Conv, ConvTranspose and the pooling ops, as ONNX names them. */
typedef struct window_params {
    int64_t kernel_shape[3]; /* pooling; Conv reads the weights */
    int64_t strides[3], dilations[3];
    int64_t pads[6]; /* the begins of every axis, then the ends */
    const char *auto_pad; /* "NOTSET", "VALID", "SAME_UPPER", "SAME_LOWER" */
    int ceil_mode, count_include_pad;
    int64_t output_padding[3];
    int64_t output_shape[3];
    int has_output_shape;
} window_params;

/* Strides and dilations 1, no pads, NOTSET. */
window_params window_defaults(void);

/* Explicit begin and end pads and output size of one axis of Conv or pooling,
 * from auto_pad or pads (and ceil_mode for pooling). */
void reference_window_axis(const window_params *params, int axis, int spatial, int64_t in, int64_t kernel,
                           int64_t *pad_begin, int64_t *pad_end, int64_t *out);

illume_tensor reference_conv(const illume_tensor *x, const illume_tensor *w, const illume_tensor *bias, int64_t group,
                             const window_params *params, int relu);
illume_tensor reference_conv_transpose(const illume_tensor *x, const illume_tensor *w, const illume_tensor *bias,
                                       int64_t group, const window_params *params);

typedef enum reference_pool_kind { REFERENCE_MAX_POOL, REFERENCE_AVERAGE_POOL } reference_pool_kind;
illume_tensor reference_pool(const illume_tensor *x, reference_pool_kind kind, const window_params *params);
illume_tensor reference_global_pool(const illume_tensor *x, reference_pool_kind kind);

/* c may be NULL. */
illume_tensor reference_gemm(const illume_tensor *a, const illume_tensor *b, const illume_tensor *c, int trans_a,
                             int trans_b, float alpha, float beta);
illume_tensor reference_matmul(const illume_tensor *a, const illume_tensor *b);

illume_tensor reference_batchnorm(const illume_tensor *x, const illume_tensor *scale, const illume_tensor *bias,
                                  const illume_tensor *mean, const illume_tensor *variance, float epsilon);

/* Relu, LeakyRelu (alpha), Sigmoid, Tanh, HardSigmoid (alpha, beta), HardSwish,
 * Elu (alpha), Clip (alpha: min, beta: max), and the math ops Abs, Erf, Exp,
 * Log, Neg, Reciprocal, Sign, Sqrt. */
double reference_activation(const char *op, double x, double alpha, double beta);
illume_tensor reference_unary(const illume_tensor *x, const char *op, double alpha, double beta);
/* Add, Sub, Mul, Div (numpy broadcasting) and PRelu (slope broadcast to x). */
illume_tensor reference_binary(const char *op, const illume_tensor *a, const illume_tensor *b);

/* Softmax or LogSoftmax as the given opset defines it (2-D coercion before 13). */
illume_tensor reference_softmax(const illume_tensor *x, int64_t axis, int opset, int log);
/* LRN across the channels (axis 1) of x, rank 3 or more. */
illume_tensor reference_lrn(const illume_tensor *x, int64_t size, double alpha, double beta, double bias);
/* axes NULL (count 0) reduces all unless noop_with_empty_axes. */
illume_tensor reference_reduce_mean(const illume_tensor *x, int count, const int64_t *axes, int keepdims,
                                    int noop_with_empty_axes);
illume_tensor reference_reduce_sum(const illume_tensor *x, int count, const int64_t *axes, int keepdims,
                                   int noop_with_empty_axes);

illume_tensor reference_concat(int count, const illume_tensor *inputs, int64_t axis);
/* Fills count outputs of the given sizes along axis. */
void reference_split(const illume_tensor *x, int64_t axis, int count, const int64_t *sizes, illume_tensor *outputs);
/* axes and steps may be NULL. */
illume_tensor reference_slice(const illume_tensor *x, int count, const int64_t *starts, const int64_t *ends,
                              const int64_t *axes, const int64_t *steps);
/* perm NULL reverses the axes. */
illume_tensor reference_transpose(const illume_tensor *x, const int64_t *perm);
/* pads: 2 x rank, begins then ends; may be negative. mode: constant, reflect, edge, wrap. */
illume_tensor reference_pad(const illume_tensor *x, const int64_t *pads, const char *mode, float value);
illume_tensor reference_gather(const illume_tensor *x, int index_rank, const int64_t *index_dims,
                               const int64_t *indices, int64_t axis);

typedef struct resize_params {
    const char *mode;                  /* nearest, linear */
    const char *coordinate_mode;       /* coordinate_transformation_mode */
    const char *nearest_mode;
    float extrapolation_value;
    /* One per axis. scales alone: the output size is floor(input x scale); sizes
     * alone: the scale is size / input; both: sizes set the output size and
     * scales the coordinate transformation (keep_aspect_ratio_policy). */
    const float *scales;
    const int64_t *sizes;
    const float *roi;                  /* starts then ends, for tf_crop_and_resize */
} resize_params;
illume_tensor reference_resize(const illume_tensor *x, const resize_params *params);

#endif
