/* ReduceMean and ReduceSum over axes given as an attribute (ReduceMean's
 * before opset 18, ReduceSum's before 13) or a constant input; keepdims and
 * noop_with_empty_axes as the spec says. */
#include <string.h>

#include "op_support.h"

static const op_attribute mean_attributes[] = {
    {"axes", ATTRIBUTE_INTS, 0, 17}, {"keepdims", ATTRIBUTE_INT, 0, 0}, {"noop_with_empty_axes", ATTRIBUTE_INT, 18, 0},
    {NULL, 0, 0, 0}};
static const op_input mean_inputs[] = {{1, "axes", 18, 0}, {0, NULL, 0, 0}};
static const op_attribute sum_attributes[] = {
    {"axes", ATTRIBUTE_INTS, 0, 12}, {"keepdims", ATTRIBUTE_INT, 0, 0}, {"noop_with_empty_axes", ATTRIBUTE_INT, 13, 0},
    {NULL, 0, 0, 0}};
static const op_input sum_inputs[] = {{1, "axes", 13, 0}, {0, NULL, 0, 0}};

static int is_sum(const graph_node *node) { return strcmp(node_op_name(node), "ReduceSum") == 0; }

static illume_status describe(illume_context *context, const graph *g, const graph_node *node, reduce_desc *desc) {
    ILLUME_TRY(require_shape(context, g, node, 0, -1));
    const graph_value *x = graph_input(g, node, 0);
    memset(desc, 0, sizeof *desc);
    desc->kind = is_sum(node) ? REDUCE_SUM : REDUCE_MEAN;
    desc->rank = x->rank;
    for (int d = 0; d < x->rank; d++) desc->dims[d] = x->dims[d];
    int64_t axes[ILLUME_MAX_RANK];
    int count = 0;
    if (graph_input(g, node, 1)) {
        ILLUME_TRY(constant_ints(context, g, node, 1, axes, ILLUME_MAX_RANK, &count));
    } else {
        const int64_t *given = graph_attribute_ints(node, "axes", &count);
        if (count > ILLUME_MAX_RANK) return node_fail(context, node, ILLUME_ERROR_INVALID_MODEL, "too many axes");
        if (given) memcpy(axes, given, sizeof(int64_t) * (size_t)count);
    }
    if (count == 0) {
        int noop = graph_attribute_int(node, "noop_with_empty_axes", 0) != 0;
        for (int d = 0; d < x->rank; d++) desc->reduced[d] = !noop;
        return ILLUME_OK;
    }
    for (int i = 0; i < count; i++) {
        int axis;
        ILLUME_TRY(normalize_axis(context, node, axes[i], x->rank, &axis));
        desc->reduced[axis] = 1;
    }
    return ILLUME_OK;
}

static illume_status infer(illume_context *context, graph *g, graph_node *node) {
    ILLUME_TRY(require_float(context, g, node, 0));
    reduce_desc desc;
    ILLUME_TRY(describe(context, g, node, &desc));
    int keep = graph_attribute_int(node, "keepdims", 1) != 0;
    int64_t dims[ILLUME_MAX_RANK];
    int rank = 0;
    for (int d = 0; d < desc.rank; d++) {
        if (!desc.reduced[d]) dims[rank++] = desc.dims[d];
        else if (keep) dims[rank++] = 1;
    }
    return set_output(context, g, node, 0, ILLUME_FLOAT32, rank, dims);
}

static illume_status forward(const op_call *call) {
    reduce_desc desc;
    ILLUME_TRY(describe(call->context, call->graph, call->node, &desc));
    return call->backend->reduce(call->backend, &desc, call->inputs[0], call->outputs[0]);
}

/* dx = dy (a sum's) or dy / count (a mean's), broadcast back over the
 * reduced axes: a copy that reads each dy element once for every input
 * position it reduced, then a mean's scale. */
static illume_status backward(const op_backward_call *call) {
    const op_call *forward = call->forward;
    if (!call->input_gradients[0]) return ILLUME_OK;
    reduce_desc desc;
    ILLUME_TRY(describe(forward->context, forward->graph, forward->node, &desc));
    copy_desc spread = {.rank = desc.rank};
    int64_t kept_dims[ILLUME_MAX_RANK], kept_strides[ILLUME_MAX_RANK], count = 1, total = 1;
    for (int d = 0; d < desc.rank; d++) {
        kept_dims[d] = desc.reduced[d] ? 1 : desc.dims[d];
        if (desc.reduced[d]) count *= desc.dims[d];
        total *= desc.dims[d];
        spread.dims[d] = desc.dims[d];
    }
    contiguous_strides(desc.rank, kept_dims, kept_strides);
    contiguous_strides(desc.rank, desc.dims, spread.dst_strides);
    for (int d = 0; d < desc.rank; d++) spread.src_strides[d] = desc.reduced[d] ? 0 : kept_strides[d];
    backend *device = forward->backend;
    ILLUME_TRY(device->copy(device, &spread, call->output_gradients[0], call->input_gradients[0]));
    if (desc.kind == REDUCE_SUM) return ILLUME_OK;
    unary_desc scale = {.kind = UNARY_LINEAR, .alpha = count ? 1.0f / (float)count : 0.0f, .count = total};
    return device->unary(device, &scale, call->input_gradients[0], call->input_gradients[0]);
}

const op_definition op_reduce_mean = {
    .name = "ReduceMean", .traits = OP_AVERAGING | OP_KEEPS_SIGN, .min_inputs = 1, .max_inputs = 2, .min_outputs = 1,
    .max_outputs = 1, .attributes = mean_attributes, .versioned_inputs = mean_inputs, .infer = infer,
    .forward = forward, .backward = backward};

const op_definition op_reduce_sum = {
    .name = "ReduceSum", .traits = OP_AVERAGING | OP_KEEPS_SIGN, .min_inputs = 1, .max_inputs = 2, .min_outputs = 1,
    .max_outputs = 1, .attributes = sum_attributes, .versioned_inputs = sum_inputs, .infer = infer, .forward = forward,
    .backward = backward};
