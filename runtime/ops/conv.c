/* Conv: N-d convolution with groups (depthwise included), strides,
 * dilations, pads and auto_pad. */
#include "op_support.h"

static const op_attribute attributes[] = {
    {"auto_pad", ATTRIBUTE_STRING, 0, 0}, {"dilations", ATTRIBUTE_INTS, 0, 0}, {"group", ATTRIBUTE_INT, 0, 0},
    {"kernel_shape", ATTRIBUTE_INTS, 0, 0}, {"pads", ATTRIBUTE_INTS, 0, 0}, {"strides", ATTRIBUTE_INTS, 0, 0},
    {NULL, 0, 0, 0}};

static illume_status check(illume_context *context, const graph *g, const graph_node *node) {
    (void)g;
    if (graph_attribute_int(node, "group", 1) < 1)
        return node_fail(context, node, ILLUME_ERROR_INVALID_MODEL, "group must be positive");
    return window_geometry_check(context, node);
}

static illume_status describe(illume_context *context, const graph *g, const graph_node *node,
                              convolution_desc *desc) {
    ILLUME_TRY(require_shape(context, g, node, 0, -1));
    const graph_value *x = graph_input(g, node, 0);
    int64_t x_dims[ILLUME_MAX_RANK];
    value_logical_dims(x, x_dims);
    ILLUME_TRY(require_shape(context, g, node, 1, x->rank));
    const graph_value *w = graph_input(g, node, 1);
    int64_t group = graph_attribute_int(node, "group", 1);
    window_geometry geometry;
    ILLUME_TRY(window_geometry_compute(context, g, node, w->dims + 2, 0, &geometry));
    int kernel_count;
    const int64_t *kernel = graph_attribute_ints(node, "kernel_shape", &kernel_count);
    for (int d = 0; kernel && d < kernel_count && d < geometry.spatial_rank; d++)
        if (kernel[d] != w->dims[2 + d])
            return node_fail(context, node, ILLUME_ERROR_INVALID_MODEL, "kernel_shape does not match the weights");
    if (x_dims[1] % group != 0 || x_dims[1] / group != w->dims[1] || w->dims[0] % group != 0)
        return node_fail(context, node, ILLUME_ERROR_INVALID_MODEL,
                         "input has %lld channels but weights %lld x %lld groups (weights shape [%lld, %lld, ...])",
                         (long long)x_dims[1], (long long)w->dims[1], (long long)group, (long long)w->dims[0],
                         (long long)w->dims[1]);
    const graph_value *bias = graph_input(g, node, 2);
    if (bias) {
        ILLUME_TRY(require_shape(context, g, node, 2, 1));
        if (bias->dims[0] != w->dims[0])
            return node_fail(context, node, ILLUME_ERROR_INVALID_MODEL, "bias has %lld values for %lld channels",
                             (long long)bias->dims[0], (long long)w->dims[0]);
    }
    desc->spatial_rank = geometry.spatial_rank;
    desc->batch = x_dims[0];
    desc->in_channels = x_dims[1];
    desc->out_channels = w->dims[0];
    desc->groups = group;
    for (int d = 0; d < geometry.spatial_rank; d++) {
        desc->in_size[d] = geometry.in_size[d];
        desc->out_size[d] = geometry.out_size[d];
        desc->kernel[d] = geometry.kernel[d];
        desc->stride[d] = geometry.stride[d];
        desc->dilation[d] = geometry.dilation[d];
        desc->pad_begin[d] = geometry.pad_begin[d];
        desc->pad_end[d] = geometry.pad_end[d];
    }
    desc->constant_weights = w->constant != NULL;
    desc->x_channels_last = x->channels_last;
    desc->y_channels_last = graph_output(g, node, 0)->channels_last;
    return ILLUME_OK;
}

static illume_status infer(illume_context *context, graph *g, graph_node *node) {
    for (int i = 0; i < node->input_count; i++) ILLUME_TRY(require_float(context, g, node, i));
    convolution_desc desc = {0};
    ILLUME_TRY(describe(context, g, node, &desc));
    int64_t dims[ILLUME_MAX_RANK] = {desc.batch, desc.out_channels};
    for (int d = 0; d < desc.spatial_rank; d++) dims[2 + d] = desc.out_size[d];
    return set_output(context, g, node, 0, ILLUME_FLOAT32, desc.spatial_rank + 2, dims);
}

static illume_status forward(const op_call *call) {
    convolution_desc desc = {0};
    ILLUME_TRY(describe(call->context, call->graph, call->node, &desc));
    return convolution_run(call, &desc);
}

static illume_status backward(const op_backward_call *call) {
    convolution_desc desc = {0};
    ILLUME_TRY(describe(call->forward->context, call->forward->graph, call->forward->node, &desc));
    return convolution_backward_run(call, &desc);
}

static int64_t flops(const graph *g, const graph_node *node) {
    const graph_value *w = graph_input(g, node, 1);
    const graph_value *y = graph_output(g, node, 0);
    int64_t per_output = saturating_product(2, w->dims[1]), outputs;
    for (int d = 2; d < w->rank; d++) per_output = saturating_product(per_output, w->dims[d]);
    if (shape_element_count(y->rank, y->dims, &outputs)) return 0;
    return saturating_product(per_output, outputs);
}

const op_definition op_conv = {
    .name = "Conv", .kind = KIND_CONVOLUTION, .traits = OP_LINEAR | OP_CHANNELS_FIRST, .min_inputs = 2,
    .max_inputs = 3, .min_outputs = 1, .max_outputs = 1, .attributes = attributes, .check = check, .infer = infer,
    .forward = forward, .flops = flops, .backward = backward, .backward_reads = convolution_backward_reads,
    .backward_scratch_bytes = convolution_backward_scratch};
