/* MaxPool, AveragePool, GlobalMaxPool and GlobalAveragePool: one window
 * geometry, one backend call. Max pooling saves the argmax of every output
 * for the backward pass. */
#include <string.h>

#include "op_support.h"

static const op_attribute max_attributes[] = {
    {"auto_pad", ATTRIBUTE_STRING, 0, 0}, {"ceil_mode", ATTRIBUTE_INT, 10, 0}, {"dilations", ATTRIBUTE_INTS, 10, 0},
    {"kernel_shape", ATTRIBUTE_INTS, 0, 0}, {"pads", ATTRIBUTE_INTS, 0, 0}, {"storage_order", ATTRIBUTE_INT, 8, 0},
    {"strides", ATTRIBUTE_INTS, 0, 0}, {NULL, 0, 0, 0}};

static const op_attribute average_attributes[] = {
    {"auto_pad", ATTRIBUTE_STRING, 0, 0}, {"ceil_mode", ATTRIBUTE_INT, 10, 0},
    {"count_include_pad", ATTRIBUTE_INT, 7, 0}, {"dilations", ATTRIBUTE_INTS, 19, 0},
    {"kernel_shape", ATTRIBUTE_INTS, 0, 0}, {"pads", ATTRIBUTE_INTS, 0, 0}, {"strides", ATTRIBUTE_INTS, 0, 0},
    {NULL, 0, 0, 0}};

static const op_attribute global_attributes[] = {{NULL, 0, 0, 0}};

static int is_global(const graph_node *node) { return strncmp(node_op_name(node), "Global", 6) == 0; }

static int is_max(const graph_node *node) { return strstr(node_op_name(node), "MaxPool") != NULL; }

static illume_status check(illume_context *context, const graph *g, const graph_node *node) {
    (void)g;
    if (is_global(node)) return ILLUME_OK;
    int count;
    if (!graph_attribute_ints(node, "kernel_shape", &count))
        return node_fail(context, node, ILLUME_ERROR_INVALID_MODEL, "kernel_shape is required");
    if (node->output_count > 1 && node->outputs[1] >= 0)
        return node_fail(context, node, ILLUME_ERROR_UNSUPPORTED, "the Indices output is not supported");
    return window_geometry_check(context, node);
}

illume_status pool_describe(illume_context *context, const graph *g, const graph_node *node, pool_desc *desc) {
    ILLUME_TRY(require_shape(context, g, node, 0, -1));
    const graph_value *x = graph_input(g, node, 0);
    int64_t x_dims[ILLUME_MAX_RANK];
    value_logical_dims(x, x_dims);
    int spatial = x->rank - 2;
    if (spatial < 1 || spatial > ILLUME_MAX_SPATIAL)
        return node_fail(context, node, ILLUME_ERROR_UNSUPPORTED, "input rank %d; 1 to 3 spatial dims are supported",
                         x->rank);
    memset(desc, 0, sizeof *desc);
    desc->kind = is_max(node) ? POOL_MAX : POOL_AVERAGE;
    desc->spatial_rank = spatial;
    desc->planes = x_dims[0] * x_dims[1];
    desc->channels = x_dims[1];
    desc->channels_last = x->channels_last;
    /* A max pool keeps each window's argmax in the plane as an int32. */
    int64_t plane = 1;
    for (int d = 0; d < spatial; d++) plane *= x_dims[2 + d];
    if (desc->kind == POOL_MAX && plane > INT32_MAX)
        return node_fail(context, node, ILLUME_ERROR_UNSUPPORTED, "planes of %lld elements, over 2^31 - 1",
                         (long long)plane);
    if (is_global(node)) {
        for (int d = 0; d < spatial; d++) {
            desc->in_size[d] = desc->kernel[d] = x_dims[2 + d];
            desc->out_size[d] = desc->stride[d] = desc->dilation[d] = 1;
        }
        return ILLUME_OK;
    }
    int count;
    const int64_t *kernel = graph_attribute_ints(node, "kernel_shape", &count);
    if (count != spatial)
        return node_fail(context, node, ILLUME_ERROR_INVALID_MODEL, "kernel_shape has %d values for %d spatial dims",
                         count, spatial);
    window_geometry geometry;
    ILLUME_TRY(window_geometry_compute(context, g, node, kernel, graph_attribute_int(node, "ceil_mode", 0) != 0,
                                       &geometry));
    for (int d = 0; d < spatial; d++) {
        desc->in_size[d] = geometry.in_size[d];
        desc->out_size[d] = geometry.out_size[d];
        desc->kernel[d] = geometry.kernel[d];
        desc->stride[d] = geometry.stride[d];
        desc->dilation[d] = geometry.dilation[d];
        desc->pad_begin[d] = geometry.pad_begin[d];
        desc->pad_end[d] = geometry.pad_end[d];
    }
    desc->count_include_pad = graph_attribute_int(node, "count_include_pad", 0) != 0;
    return ILLUME_OK;
}

static illume_status infer(illume_context *context, graph *g, graph_node *node) {
    ILLUME_TRY(require_float(context, g, node, 0));
    pool_desc desc;
    ILLUME_TRY(pool_describe(context, g, node, &desc));
    const graph_value *x = graph_input(g, node, 0);
    int64_t dims[ILLUME_MAX_RANK] = {x->dims[0], x->dims[1]};
    for (int d = 0; d < desc.spatial_rank; d++) dims[2 + d] = desc.out_size[d];
    return set_output(context, g, node, 0, ILLUME_FLOAT32, x->rank, dims);
}

static illume_status forward(const op_call *call) {
    pool_desc desc;
    ILLUME_TRY(pool_describe(call->context, call->graph, call->node, &desc));
    return call->backend->pool(call->backend, &desc, call->inputs[0], call->outputs[0], call->saved);
}

static illume_status backward(const op_backward_call *call) {
    const op_call *forward = call->forward;
    if (!call->input_gradients[0]) return ILLUME_OK;
    pool_desc desc;
    ILLUME_TRY(pool_describe(forward->context, forward->graph, forward->node, &desc));
    if (desc.kind == POOL_MAX && !forward->saved)
        return node_fail(forward->context, forward->node, ILLUME_ERROR_INTERNAL, "no argmax was saved");
    return forward->backend->pool_backward(forward->backend, &desc, call->output_gradients[0], forward->saved,
                                           call->input_gradients[0]);
}

static size_t argmax_bytes(const graph *g, const graph_node *node) {
    const graph_value *y = graph_output(g, node, 0);
    int64_t count;
    if (shape_element_count(y->rank, y->dims, &count)) return 0;
    return (size_t)count * sizeof(int32_t);
}

const op_definition op_max_pool = {
    .name = "MaxPool", .kind = KIND_UNARY, .traits = OP_MAX_POOLING | OP_KEEPS_SIGN | OP_CHANNELS_FIRST,
    .min_inputs = 1, .max_inputs = 1, .min_outputs = 1, .max_outputs = 2, .attributes = max_attributes, .check = check,
    .infer = infer, .forward = forward, .saved_bytes = argmax_bytes, .backward = backward};

const op_definition op_average_pool = {
    .name = "AveragePool", .kind = KIND_UNARY, .traits = OP_AVERAGING | OP_KEEPS_SIGN | OP_CHANNELS_FIRST,
    .min_inputs = 1, .max_inputs = 1, .min_outputs = 1, .max_outputs = 1, .attributes = average_attributes,
    .check = check, .infer = infer, .forward = forward, .backward = backward};

const op_definition op_global_max_pool = {
    .name = "GlobalMaxPool", .kind = KIND_UNARY, .traits = OP_MAX_POOLING | OP_KEEPS_SIGN | OP_CHANNELS_FIRST,
    .min_inputs = 1, .max_inputs = 1, .min_outputs = 1, .max_outputs = 1, .attributes = global_attributes,
    .check = check, .infer = infer, .forward = forward, .saved_bytes = argmax_bytes, .backward = backward};

const op_definition op_global_average_pool = {
    .name = "GlobalAveragePool", .kind = KIND_UNARY, .traits = OP_AVERAGING | OP_KEEPS_SIGN | OP_CHANNELS_FIRST,
    .min_inputs = 1, .max_inputs = 1, .min_outputs = 1, .max_outputs = 1, .attributes = global_attributes,
    .check = check, .infer = infer, .forward = forward, .backward = backward};
