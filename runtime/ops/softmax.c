/* Softmax and LogSoftmax. Before opset 13 the input is seen as 2-D, split at
 * axis (default 1); from opset 13 the op runs along one axis (default -1). */
#include <string.h>

#include "op_support.h"

static const op_attribute attributes[] = {{"axis", ATTRIBUTE_INT, 0, 0}, {NULL, 0, 0, 0}};

static illume_status describe(illume_context *context, const graph *g, const graph_node *node, softmax_desc *desc) {
    ILLUME_TRY(require_shape(context, g, node, 0, -1));
    const graph_value *x = graph_input(g, node, 0);
    int rank = x->rank > 0 ? x->rank : 1;
    int legacy = g->opset < 13;
    int axis;
    ILLUME_TRY(normalize_axis(context, node, graph_attribute_int(node, "axis", legacy ? 1 : -1), rank, &axis));
    desc->outer = desc->axis = desc->inner = 1;
    for (int d = 0; d < x->rank; d++) {
        if (d < axis) desc->outer *= x->dims[d];
        else if (d == axis || legacy) desc->axis *= x->dims[d];
        else desc->inner *= x->dims[d];
    }
    desc->log = strcmp(node_op_name(node), "LogSoftmax") == 0;
    return ILLUME_OK;
}

static illume_status infer(illume_context *context, graph *g, graph_node *node) {
    ILLUME_TRY(require_float(context, g, node, 0));
    softmax_desc desc;
    ILLUME_TRY(describe(context, g, node, &desc));
    return set_output_like(context, g, node, 0, 0);
}

static illume_status forward(const op_call *call) {
    softmax_desc desc;
    ILLUME_TRY(describe(call->context, call->graph, call->node, &desc));
    return call->backend->softmax(call->backend, &desc, call->inputs[0], call->outputs[0]);
}

static illume_status backward(const op_backward_call *call) {
    const op_call *forward = call->forward;
    if (!call->input_gradients[0]) return ILLUME_OK;
    softmax_desc desc;
    ILLUME_TRY(describe(forward->context, forward->graph, forward->node, &desc));
    return forward->backend->softmax_backward(forward->backend, &desc, forward->outputs[0], call->output_gradients[0],
                                              call->input_gradients[0]);
}

static op_reads reads_output(const graph *g, const graph_node *node) {
    (void)g;
    (void)node;
    return (op_reads){.outputs = 1u};
}

const op_definition op_softmax = {
    .name = "Softmax", .traits = OP_NONNEGATIVE | OP_KEEPS_POSITIONS, .min_inputs = 1, .max_inputs = 1,
    .min_outputs = 1, .max_outputs = 1, .attributes = attributes, .infer = infer, .forward = forward,
    .backward = backward, .backward_reads = reads_output};

const op_definition op_log_softmax = {
    .name = "LogSoftmax", .traits = OP_KEEPS_POSITIONS, .min_inputs = 1, .max_inputs = 1, .min_outputs = 1,
    .max_outputs = 1, .attributes = attributes, .infer = infer, .forward = forward, .backward = backward,
    .backward_reads = reads_output};
