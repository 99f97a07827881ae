/* Helpers every op definition uses: errors that name the node, reading
 * constant inputs, axes, broadcasting and output shapes. */
#ifndef ILLUME_OP_SUPPORT_H
#define ILLUME_OP_SUPPORT_H

#include "op.h"

/* Fails with "node 'name' (Op): message". */
illume_status node_fail(illume_context *context, const graph_node *node, illume_status status, const char *format,
                        ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;

const char *node_op_name(const graph_node *node);

/* Fails unless input i has a known shape (and, with rank >= 0, that rank). */
illume_status require_shape(illume_context *context, const graph *g, const graph_node *node, int i, int rank);
/* Fails unless input i is float32. */
illume_status require_float(illume_context *context, const graph *g, const graph_node *node, int i);

/* Reads input i as a constant list of integers (int64 or a float tensor of integral values).
 * Fails when it is not known when the session is made. */
illume_status constant_ints(illume_context *context, const graph *g, const graph_node *node, int i,
                            int64_t *values, int capacity, int *count);
illume_status constant_floats(illume_context *context, const graph *g, const graph_node *node, int i, float *values,
                              int capacity, int *count);

/* Maps axis in [-rank, rank) to [0, rank). */
illume_status normalize_axis(illume_context *context, const graph_node *node, int64_t axis, int rank, int *result);

/* numpy broadcasting of the shapes of inputs first..last-1 into rank and dims. */
illume_status broadcast_shapes(illume_context *context, const graph *g, const graph_node *node, int first, int last,
                               int *rank, int64_t *dims);
/* Strides (in elements) to read a tensor of shape (rank_in, dims_in) broadcast to rank dims: zero where broadcast. */
void broadcast_strides(int rank_in, const int64_t *dims_in, int rank, int64_t *strides);
/* Row-major strides of a shape. A shape past SHAPE_EXTENT_LIMIT, which no
 * value of a graph has, saturates there instead of overflowing. */
void contiguous_strides(int rank, const int64_t *dims, int64_t *strides);

/* a * b for non-negative a and b, or INT64_MAX when that overflows: FLOP counts saturate. */
int64_t saturating_product(int64_t a, int64_t b);

/* Sets output o's dtype and shape, refusing a shape past SHAPE_EXTENT_LIMIT. */
illume_status set_output(illume_context *context, graph *g, const graph_node *node, int o, illume_dtype dtype,
                         int rank, const int64_t *dims);
/* Output o takes input i's dtype and shape. */
illume_status set_output_like(illume_context *context, graph *g, const graph_node *node, int o, int i);

/* Gives output o the constant data (owned by the graph from now on). */
void set_output_constant(graph *g, const graph_node *node, int o, void *data);
/* Allocates constant storage for output o, whose shape is set; NULL on failure (message set). */
void *allocate_output_constant(illume_context *context, graph *g, const graph_node *node, int o);

/* The element-wise math of an activation node (runtime/ops/activations.c),
 * and whether a node is one. */
illume_status activation_describe(illume_context *context, const graph *g, const graph_node *node, unary_desc *desc);
/* A Pad node's padding (runtime/ops/pad.c), for the pass that folds it into its reader. */
illume_status pad_describe(illume_context *context, const graph *g, const graph_node *node, pad_desc *desc);

/* Runs a Conv or ConvTranspose described by desc with what the fusion passes
 * folded into the node: its activation, and its Add (the addend, the last
 * input, is put into the output unless the planner placed them in the same
 * bytes, and the backend accumulates). */
illume_status convolution_run(const op_call *call, convolution_desc *desc);
/* The window of a MaxPool, AveragePool or global pooling node. */
illume_status pool_describe(illume_context *context, const graph *g, const graph_node *node, pool_desc *desc);

/* The backward of a Conv or ConvTranspose described by desc: through the
 * fused activation (from the output, into the scratch memory), to the fused
 * Add's addend, and back through the convolution to x. */
illume_status convolution_backward_run(const op_backward_call *call, const convolution_desc *desc);
/* What that backward reads and needs: the output, when an activation is fused. */
op_reads convolution_backward_reads(const graph *g, const graph_node *node);
size_t convolution_backward_scratch(const graph *g, const graph_node *node);

/* Convolution and pooling geometry from kernel_shape, strides, dilations, pads and auto_pad. */
typedef struct window_geometry {
    int spatial_rank;
    int64_t in_size[ILLUME_MAX_SPATIAL], out_size[ILLUME_MAX_SPATIAL];
    int64_t kernel[ILLUME_MAX_SPATIAL], stride[ILLUME_MAX_SPATIAL], dilation[ILLUME_MAX_SPATIAL];
    int64_t pad_begin[ILLUME_MAX_SPATIAL], pad_end[ILLUME_MAX_SPATIAL];
} window_geometry;

/* Fills the geometry of a Conv or pooling node whose input 0 is (N, C, spatial...).
 * kernel: the kernel shape (from the weights for Conv); ceil_mode for pooling. */
illume_status window_geometry_compute(illume_context *context, const graph *g, const graph_node *node,
                                      const int64_t *kernel, int ceil_mode, window_geometry *geometry);
/* Checks the attributes window_geometry_compute reads (at import). */
illume_status window_geometry_check(illume_context *context, const graph_node *node);

#define OP_INPUT_DIMS(g, node, i) ((g)->values[(node)->inputs[i]].dims)
#define OP_INPUT_RANK(g, node, i) ((g)->values[(node)->inputs[i]].rank)
#define OP_OUTPUT_DIMS(g, node, o) ((g)->values[(node)->outputs[o]].dims)
#define OP_OUTPUT_RANK(g, node, o) ((g)->values[(node)->outputs[o]].rank)

/* Data-movement ops describe their work as strided copies from an input to an
 * output; the same description runs on a backend or folds on the host. */
typedef illume_status (*copy_visitor)(void *closure, const copy_desc *desc, int input, int output);
typedef illume_status (*copy_plan)(illume_context *context, const graph *g, const graph_node *node,
                                   copy_visitor visit, void *closure);

illume_status fold_by_copies(illume_context *context, graph *g, graph_node *node, copy_plan plan);
illume_status forward_by_copies(const op_call *call, copy_plan plan);

/* The backward of a data-movement op: each input gradient is zeroed, then
 * every copy of the forward runs in reverse, adding the output gradient into
 * the input gradient (Gather may read one element several times). */
illume_status backward_by_copies(const op_backward_call *call, copy_plan plan);

/* Fills an input gradient of node input i with zeros (inputs whose share of
 * the output receives no gradient). */
illume_status zero_gradient(const op_backward_call *call, int i);

/* Elements of a node's input i or output o. */
int64_t input_elements(const graph *g, const graph_node *node, int i);
int64_t output_elements(const graph *g, const graph_node *node, int o);
/* One operation per element of output 0: the flops of an element-wise op. */
int64_t output_element_flops(const graph *g, const graph_node *node);
/* The forward values a backward that reads input 0 alone keeps. */
op_reads reads_first_input(const graph *g, const graph_node *node);

/* A unary kind of the backend (desc) on input 0 into output 0, and its
 * gradient into input 0's from input 0: the element-wise ops' forward and
 * backward once they have described themselves. */
illume_status unary_run(const op_call *call, const unary_desc *desc);
illume_status unary_backward_run(const op_backward_call *call, const unary_desc *desc);

/* Fails when a backward is asked for the gradient of an input it does not
 * compute (weights, biases, integer parameters). */
illume_status refuse_gradient(const op_backward_call *call, int first, int last, const char *what);

/* Folds a view op: the output is the input's data under the output's shape. */
illume_status fold_view(illume_context *context, graph *g, graph_node *node);

#endif
