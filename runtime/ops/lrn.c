/* LRN: local response normalization across the channels of (N, C,
 * spatial...) data, as AlexNet and GoogLeNet use it; kernels/lrn.h has the
 * formula and its window. The op is not one the channels-last layout pass
 * keeps (graph_op_kind calls it other), so its input always arrives
 * (N, C, ...). */
#include <math.h>

#include "op_support.h"

static const op_attribute attributes[] = {
    {"alpha", ATTRIBUTE_FLOAT, 0, 0}, {"beta", ATTRIBUTE_FLOAT, 0, 0}, {"bias", ATTRIBUTE_FLOAT, 0, 0},
    {"size", ATTRIBUTE_INT, 0, 0}, {NULL, 0, 0, 0}};

static illume_status check(illume_context *context, const graph *g, const graph_node *node) {
    (void)g;
    if (!graph_attribute_find(node, "size"))
        return node_fail(context, node, ILLUME_ERROR_INVALID_MODEL, "the attribute size is required");
    int64_t size = graph_attribute_int(node, "size", 0);
    if (size < 1)
        return node_fail(context, node, ILLUME_ERROR_INVALID_MODEL,
                         "size is %lld; the window must hold at least one channel", (long long)size);
    static const char *const parameters[] = {"alpha", "beta", "bias"};
    for (size_t k = 0; k < sizeof parameters / sizeof parameters[0]; k++) {
        float value = graph_attribute_float(node, parameters[k], 0.0f);
        if (!isfinite(value))
            return node_fail(context, node, ILLUME_ERROR_INVALID_MODEL, "%s is %g; it must be finite", parameters[k],
                             (double)value);
    }
    return ILLUME_OK;
}

static illume_status describe(illume_context *context, const graph *g, const graph_node *node, lrn_desc *desc) {
    ILLUME_TRY(require_shape(context, g, node, 0, -1));
    const graph_value *x = graph_input(g, node, 0);
    if (x->rank < 3)
        return node_fail(context, node, ILLUME_ERROR_UNSUPPORTED,
                         "input rank %d; LRN runs on (N, C, spatial...) data of rank 3 or more", x->rank);
    if (x->channels_last)
        return node_fail(context, node, ILLUME_ERROR_INTERNAL, "a channels-last input reached LRN");
    *desc = (lrn_desc){.batch = x->dims[0], .channels = x->dims[1], .spatial = 1,
                       .size = graph_attribute_int(node, "size", 1),
                       .alpha = graph_attribute_float(node, "alpha", 1e-4f),
                       .beta = graph_attribute_float(node, "beta", 0.75f),
                       .bias = graph_attribute_float(node, "bias", 1.0f)};
    for (int d = 2; d < x->rank; d++) desc->spatial *= x->dims[d];
    return ILLUME_OK;
}

static illume_status infer(illume_context *context, graph *g, graph_node *node) {
    ILLUME_TRY(require_float(context, g, node, 0));
    lrn_desc desc;
    ILLUME_TRY(describe(context, g, node, &desc));
    return set_output_like(context, g, node, 0, 0);
}

static illume_status forward(const op_call *call) {
    lrn_desc desc;
    ILLUME_TRY(describe(call->context, call->graph, call->node, &desc));
    return call->backend->lrn(call->backend, &desc, call->inputs[0], call->outputs[0]);
}

/* The exact gradient: each input reaches its own output and, through their
 * scales, the outputs of every channel whose window holds it. */
static illume_status backward(const op_backward_call *call) {
    const op_call *forward = call->forward;
    if (!call->input_gradients[0]) return ILLUME_OK;
    lrn_desc desc;
    ILLUME_TRY(describe(forward->context, forward->graph, forward->node, &desc));
    return forward->backend->lrn_backward(forward->backend, &desc, forward->inputs[0], call->output_gradients[0],
                                          call->scratch, call->input_gradients[0]);
}

/* The backward's first pass writes a term per element. */
static size_t backward_scratch(const graph *g, const graph_node *node) {
    return (size_t)input_elements(g, node, 0) * sizeof(float);
}

/* A multiply-add per channel of the window (its squares) and one to scale, per element. */
static int64_t flops(const graph *g, const graph_node *node) {
    const graph_value *y = graph_output(g, node, 0);
    int64_t count, size = graph_attribute_int(node, "size", 1);
    if (y->rank < 2 || shape_element_count(y->rank, y->dims, &count)) return 0;
    int64_t window = size < y->dims[1] ? size : y->dims[1];
    return saturating_product(2 * (window + 1), count);
}

const op_definition op_lrn = {
    .name = "LRN", .traits = OP_NORMALIZATION | OP_CHANNELS_FIRST, .min_inputs = 1, .max_inputs = 1, .min_outputs = 1,
    .max_outputs = 1, .attributes = attributes, .check = check, .infer = infer, .forward = forward, .flops = flops,
    .backward = backward, .backward_reads = reads_first_input, .backward_scratch_bytes = backward_scratch};
