/* Pad in constant, reflect, edge or wrap mode, with pads as an attribute
 * (before opset 11) or constant inputs, optionally on chosen axes (opset 18).
 * Negative pads crop. */
#include <string.h>

#include "op_support.h"

static const op_attribute attributes[] = {
    {"mode", ATTRIBUTE_STRING, 0, 0}, {"pads", ATTRIBUTE_INTS, 2, 10}, {"value", ATTRIBUTE_FLOAT, 0, 10},
    {"paddings", ATTRIBUTE_INTS, 0, 1}, {NULL, 0, 0, 0}};
static const op_input inputs[] = {
    {1, "pads", 11, 0}, {2, "constant_value", 11, 0}, {3, "axes", 18, 0}, {0, NULL, 0, 0}};

static illume_status check(illume_context *context, const graph *g, const graph_node *node) {
    (void)g;
    const char *mode = graph_attribute_string(node, "mode", "constant");
    if (strcmp(mode, "constant") && strcmp(mode, "reflect") && strcmp(mode, "edge") && strcmp(mode, "wrap"))
        return node_fail(context, node, ILLUME_ERROR_UNSUPPORTED, "mode '%s' is not supported", mode);
    return ILLUME_OK;
}

illume_status pad_describe(illume_context *context, const graph *g, const graph_node *node, pad_desc *desc) {
    ILLUME_TRY(require_shape(context, g, node, 0, -1));
    const graph_value *x = graph_input(g, node, 0);
    int rank = x->rank;
    memset(desc, 0, sizeof *desc);
    desc->rank = rank;
    const char *mode = graph_attribute_string(node, "mode", "constant");
    desc->mode = strcmp(mode, "reflect") == 0 ? PAD_REFLECT
                 : strcmp(mode, "edge") == 0  ? PAD_EDGE
                 : strcmp(mode, "wrap") == 0  ? PAD_WRAP
                                              : PAD_CONSTANT;
    int64_t pads[2 * ILLUME_MAX_RANK];
    int count;
    if (graph_input(g, node, 1)) {
        ILLUME_TRY(constant_ints(context, g, node, 1, pads, 2 * ILLUME_MAX_RANK, &count));
    } else {
        const int64_t *given = graph_attribute_ints(node, "pads", &count);
        if (!given) given = graph_attribute_ints(node, "paddings", &count);
        if (!given || count > 2 * ILLUME_MAX_RANK)
            return node_fail(context, node, ILLUME_ERROR_INVALID_MODEL, "pads are missing");
        memcpy(pads, given, sizeof(int64_t) * (size_t)count);
    }
    int64_t axes[ILLUME_MAX_RANK];
    int axis_count = rank;
    if (graph_input(g, node, 3)) {
        ILLUME_TRY(constant_ints(context, g, node, 3, axes, ILLUME_MAX_RANK, &axis_count));
    } else {
        for (int d = 0; d < rank; d++) axes[d] = d;
    }
    if (count != 2 * axis_count)
        return node_fail(context, node, ILLUME_ERROR_INVALID_MODEL, "pads has %d values for %d axes", count,
                         axis_count);
    int64_t begin[ILLUME_MAX_RANK] = {0}, end[ILLUME_MAX_RANK] = {0};
    for (int i = 0; i < axis_count; i++) {
        int axis;
        ILLUME_TRY(normalize_axis(context, node, axes[i], rank, &axis));
        begin[axis] = pads[i];
        end[axis] = pads[axis_count + i];
    }
    for (int d = 0; d < rank; d++) {
        /* Bounded so that the sums below cannot overflow. */
        const int64_t limit = (int64_t)1 << 61;
        if (x->dims[d] > limit || begin[d] > limit || begin[d] < -limit || end[d] > limit || end[d] < -limit)
            return node_fail(context, node, ILLUME_ERROR_INVALID_MODEL, "pads or dimension %d too large", d);
        desc->in_dims[d] = x->dims[d];
        desc->pad_begin[d] = begin[d];
        desc->out_dims[d] = x->dims[d] + begin[d] + end[d];
        if (desc->out_dims[d] < 0)
            return node_fail(context, node, ILLUME_ERROR_INVALID_MODEL, "pads crop dimension %d below zero", d);
        /* Negative pads crop first; the mode pads the kept part. */
        int64_t kept = x->dims[d] + (begin[d] < 0 ? begin[d] : 0) + (end[d] < 0 ? end[d] : 0);
        if (desc->mode != PAD_CONSTANT && kept <= 0 && desc->out_dims[d] > 0)
            return node_fail(context, node, ILLUME_ERROR_INVALID_MODEL, "cannot pad an empty dimension in mode %s",
                             mode);
        if (desc->mode == PAD_REFLECT && ((begin[d] > 0 && begin[d] >= kept) || (end[d] > 0 && end[d] >= kept)))
            return node_fail(context, node, ILLUME_ERROR_UNSUPPORTED,
                             "reflect pads must be smaller than the dimension they pad");
    }
    desc->value = graph_attribute_float(node, "value", 0.0f);
    if (graph_input(g, node, 2)) {
        float value;
        int value_count;
        ILLUME_TRY(constant_floats(context, g, node, 2, &value, 1, &value_count));
        if (value_count == 1) desc->value = value;
    }
    return ILLUME_OK;
}

static illume_status infer(illume_context *context, graph *g, graph_node *node) {
    ILLUME_TRY(require_float(context, g, node, 0));
    pad_desc desc;
    ILLUME_TRY(pad_describe(context, g, node, &desc));
    return set_output(context, g, node, 0, ILLUME_FLOAT32, desc.rank, desc.out_dims);
}

static illume_status forward(const op_call *call) {
    pad_desc desc;
    ILLUME_TRY(pad_describe(call->context, call->graph, call->node, &desc));
    return call->backend->pad(call->backend, &desc, call->inputs[0], call->outputs[0]);
}

static illume_status backward(const op_backward_call *call) {
    const op_call *forward = call->forward;
    ILLUME_TRY(refuse_gradient(call, 1, 3, "pads or pad value"));
    if (!call->input_gradients[0]) return ILLUME_OK;
    pad_desc desc;
    ILLUME_TRY(pad_describe(forward->context, forward->graph, forward->node, &desc));
    return forward->backend->pad_backward(forward->backend, &desc, call->output_gradients[0],
                                          call->input_gradients[0]);
}

const op_definition op_pad = {
    .name = "Pad", .traits = OP_KEEPS_SIGN | OP_KEEPS_POSITIONS, .min_inputs = 1, .max_inputs = 4, .min_outputs = 1,
    .max_outputs = 1, .attributes = attributes, .versioned_inputs = inputs, .check = check, .infer = infer,
    .forward = forward, .backward = backward};
