/* The one-node models that both the forward op tests and the backward tests
 * of tests/gradients run: per op family the case struct, the cases both
 * sides take, and what builds a case's graph (builder calls, attributes)
 * and its label. Each side keeps its checks (a naive reference, or finite
 * differences) and the cases only it runs. */
#ifndef ILLUME_TESTS_OP_CASES_H
#define ILLUME_TESTS_OP_CASES_H

#include <stddef.h>
#include <stdint.h>

#include "graph_builder.h"
#include "reference.h"

/* Which attributes a builder writes: only those a case changes, so that the
 * op's defaults are read, or every one, the defaults spelled out. */
typedef enum attribute_form { ATTRIBUTES_CHANGED, ATTRIBUTES_ALL } attribute_form;

/* A built model: its operands (drawn uniform in [-1, 1) in order unless
 * said otherwise, owned here), the graph over them (owned by the check it is
 * handed to), the operands the graph takes as inputs (sharing their data),
 * and the label the checks report it by. */
typedef struct op_model {
    illume_tensor operands[3];
    builder *graph;
    int input_count;
    illume_tensor inputs[3];
    char label[192];
} op_model;

/* Releases the operands. */
void op_model_release(op_model *model);

typedef struct gemm_case {
    int64_t m, k, n;
    int trans_a, trans_b;
    float alpha, beta;
    int c_rank; /* -1: no C */
    int64_t c_dims[2];
    int b_as_input, c_as_input, set_alpha_beta;
} gemm_case;

/* The sweep both sides run: M = 7, N = 5 and the given K under every
 * transposition with every C shape that broadcasts to (M, N), alpha and
 * beta 1, B and C constants. */
enum { GEMM_SWEEP_COUNT = 32 };
gemm_case gemm_sweep_case(int index, int64_t k);
/* Operands A, B and C (drawn, a scalar, even without C); B and C graph
 * inputs or constants as the case says. */
op_model gemm_model(const gemm_case *c, uint64_t *seed);

/* MatMul of A by B, numpy broadcasting, 1-D operands included. */
typedef struct matmul_case {
    int a_rank;
    int64_t a_dims[5];
    int b_rank;
    int64_t b_dims[5];
} matmul_case;

/* Operands A and B; B a graph input or a constant. */
op_model matmul_model(const matmul_case *c, int b_as_input, uint64_t *seed);

/* Conv and ConvTranspose: x is (batch, channels, size...), the output has
 * `features` channels. */
typedef struct conv_case {
    const char *name;
    int spatial;
    int64_t batch, channels, features, group;
    int64_t size[3], kernel[3];
    int64_t strides[3], dilations[3], pads[6]; /* zero strides or dilations mean the default of 1 */
    const char *auto_pad;
    int bias, relu, weights_as_input, kernel_shape_attribute;
    /* ConvTranspose only */
    int64_t output_padding[3], output_shape[3];
    int has_output_shape;
} conv_case;

/* The case's attributes as the references take them. */
window_params conv_window(const conv_case *c);
/* The shapes of x and of the weights, spatial + 2 dimensions each. */
void conv_shapes(const conv_case *c, int transpose, int64_t *x_dims, int64_t *w_dims);
/* Conv (or ConvTranspose) of the graph input x by w, itself a graph input
 * where the case says so and a constant otherwise, plus the constant bias
 * and a Relu after it where the case has them. */
builder *conv_model(const conv_case *c, int transpose, const illume_tensor *w, const illume_tensor *bias,
                    attribute_form form);
/* The op and the case's name, and whether its Relu ran fused. */
void conv_label(const conv_case *c, int transpose, int fused, char *label, size_t size);

/* A convolution reading another's output: add_conv's 4 channels of x,
 * channels last between the two where the layout pass applies. */
typedef struct conv_chain_case {
    const char *name;
    int transpose;
    int64_t features, group, kernel[2], strides[2], pads[4]; /* a zero kernel covers the whole input */
} conv_chain_case;

/* x (batch, 3, height, width) a graph input, add_conv's convolution of it
 * (its reference output in *produced), then the case's convolution by
 * constant weights drawn uniform in [-bound, bound) (in *w). */
builder *conv_chain_model(const conv_chain_case *c, const illume_tensor *x, float bound, uint64_t *seed,
                          illume_tensor *produced, illume_tensor *w);

/* MaxPool and AveragePool of x (batch, channels, size...). */
typedef struct pool_case {
    const char *name;
    int spatial;
    int64_t batch, channels;
    int64_t size[3], kernel[3];
    int64_t strides[3], dilations[3], pads[6]; /* zero strides or dilations mean the default of 1 */
    const char *auto_pad;
    int ceil_mode, count_include_pad;
    int after_conv; /* 2-D only: pooled after a Conv too, whose output the layout pass keeps channels last */
} pool_case;

window_params pool_window(const pool_case *c);
void pool_shape(const pool_case *c, int64_t *x_dims);
/* "MaxPool", "AveragePool", "GlobalMaxPool" or "GlobalAveragePool". */
const char *pool_op(int max, int global);
/* Appends the pooling of x; returns its output. */
int pool_node(builder *b, int x, const pool_case *c, int max, attribute_form form);
/* The op and the case's name, and whether the pooling reads a Conv. */
void pool_label(int max, int global, const char *name, int after_conv, char *label, size_t size);

/* The usual classifier head: x (2, 3, 5, 4) a graph input, add_conv's 6
 * channels of it, GlobalAveragePool, Flatten, and Gemm by the constant w
 * (3, 6) transposed. Operands x, w and the Conv's reference output. */
op_model classifier_head_model(uint64_t *seed);

/* LRN of x (rank, dims): alpha, beta and bias written where set (else
 * the defaults 1e-4, 0.75 and 1), size always. */
typedef struct lrn_case {
    const char *name;
    int rank;
    int64_t dims[5];
    int64_t size;
    int set_alpha, set_beta, set_bias;
    float alpha, beta, bias;
} lrn_case;

/* The attributes the op reads, defaults filled in. */
void lrn_parameters(const lrn_case *c, double *alpha, double *beta, double *bias);
/* Appends the LRN of x; returns its output. */
int lrn_node(builder *b, int x, const lrn_case *c);

/* GlobalMaxPool and GlobalAveragePool. */
typedef struct global_pool_case {
    const char *name;
    int rank;
    int64_t dims[5];
} global_pool_case;

/* The models of the data-movement ops below take their data x as a graph
 * input, or as a constant where constant is set. */

/* Slice of a 5x7x3x6 x; axes and steps given where has_axes and
 * has_steps. */
typedef struct slice_case {
    const char *name;
    int count;
    int64_t starts[4], ends[4], axes[4], steps[4];
    int has_axes, has_steps;
} slice_case;
op_model slice_model(const slice_case *c, int constant, uint64_t *seed);

/* Without perm Transpose reverses the axes. */
typedef struct transpose_case {
    int rank;
    int64_t dims[5];
    int has_perm;
    int64_t perm[5];
} transpose_case;
op_model transpose_model(const transpose_case *c, int constant, uint64_t *seed);

/* Gather from a 5x4x3 x by constant indices. */
typedef struct gather_case {
    int64_t axis;
    int index_rank;
    int64_t index_dims[2];
    int64_t indices[6];
} gather_case;
op_model gather_model(const gather_case *c, int constant, attribute_form form, uint64_t *seed);

/* The split sizes are the outputs' extents along the axis, whatever the
 * form says them by (the even forms divide the axis themselves). */
typedef enum split_form { SPLIT_ATTRIBUTE, SPLIT_INPUT, SPLIT_NUM_OUTPUTS, SPLIT_EVEN } split_form;
typedef struct split_case {
    split_form form;
    int rank;
    int64_t dims[3], axis;
    int count;
    int64_t sizes[4];
} split_case;

/* Every output a graph output, in the opset that says the sizes as the
 * form does. */
op_model split_model(const split_case *c, int constant, uint64_t *seed);

/* The cases both sides run, and how many each table holds. */
extern const matmul_case shared_matmul_cases[];
extern const conv_case shared_conv_cases[], shared_conv_transpose_cases[];
extern const conv_chain_case shared_conv_chain_cases[];
extern const pool_case shared_pool_cases[];
extern const global_pool_case shared_global_pool_cases[];
extern const lrn_case shared_lrn_cases[];
extern const slice_case shared_slice_cases[];
extern const transpose_case shared_transpose_cases[];
extern const gather_case shared_gather_cases[];
extern const split_case shared_split_cases[];
extern const size_t shared_matmul_case_count, shared_conv_case_count, shared_conv_transpose_case_count,
    shared_conv_chain_case_count, shared_pool_case_count, shared_global_pool_case_count, shared_lrn_case_count,
    shared_slice_case_count,
    shared_transpose_case_count, shared_gather_case_count, shared_split_case_count;

#endif
