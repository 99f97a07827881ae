/* ConvTranspose: the adjoint of Conv, with groups, strides, dilations, pads,
 * output_padding, output_shape and auto_pad. */
#include <string.h>

#include "op_support.h"

static const op_attribute attributes[] = {
    {"auto_pad", ATTRIBUTE_STRING, 0, 0}, {"dilations", ATTRIBUTE_INTS, 0, 0}, {"group", ATTRIBUTE_INT, 0, 0},
    {"kernel_shape", ATTRIBUTE_INTS, 0, 0}, {"output_padding", ATTRIBUTE_INTS, 0, 0},
    {"output_shape", ATTRIBUTE_INTS, 0, 0}, {"pads", ATTRIBUTE_INTS, 0, 0}, {"strides", ATTRIBUTE_INTS, 0, 0},
    {NULL, 0, 0, 0}};

static illume_status check(illume_context *context, const graph *g, const graph_node *node) {
    (void)g;
    if (graph_attribute_int(node, "group", 1) < 1)
        return node_fail(context, node, ILLUME_ERROR_INVALID_MODEL, "group must be positive");
    return window_geometry_check(context, node);
}

static illume_status list(illume_context *context, const graph_node *node, const char *name, int spatial,
                          int64_t fallback, int64_t *values) {
    int count;
    const int64_t *given = graph_attribute_ints(node, name, &count);
    int total = strcmp(name, "pads") == 0 ? 2 * spatial : spatial;
    if (given && count != total && !(strcmp(name, "output_shape") == 0 && count == spatial + 2))
        return node_fail(context, node, ILLUME_ERROR_INVALID_MODEL, "%s has %d values for %d spatial dims", name,
                         count, spatial);
    int skip = strcmp(name, "output_shape") == 0 && count == spatial + 2 ? 2 : 0;
    for (int d = 0; d < total; d++) values[d] = given ? given[skip + d] : fallback;
    return ILLUME_OK;
}

static illume_status describe(illume_context *context, const graph *g, const graph_node *node,
                              convolution_desc *desc) {
    ILLUME_TRY(require_shape(context, g, node, 0, -1));
    const graph_value *x = graph_input(g, node, 0);
    int64_t x_dims[ILLUME_MAX_RANK];
    value_logical_dims(x, x_dims);
    ILLUME_TRY(require_shape(context, g, node, 1, x->rank));
    const graph_value *w = graph_input(g, node, 1);
    int spatial = x->rank - 2;
    if (spatial < 1 || spatial > ILLUME_MAX_SPATIAL)
        return node_fail(context, node, ILLUME_ERROR_UNSUPPORTED, "input rank %d; 1 to 3 spatial dims are supported",
                         x->rank);
    int64_t group = graph_attribute_int(node, "group", 1);
    if (x_dims[1] != w->dims[0] || w->dims[0] % group != 0)
        return node_fail(context, node, ILLUME_ERROR_INVALID_MODEL, "input has %lld channels, weights %lld",
                         (long long)x_dims[1], (long long)w->dims[0]);
    /* group divides the input channels, but any group divides none. */
    if (w->dims[1] != 0 && group > SHAPE_EXTENT_LIMIT / w->dims[1])
        return node_fail(context, node, ILLUME_ERROR_INVALID_MODEL, "%lld groups of %lld output channels are too many",
                         (long long)group, (long long)w->dims[1]);
    int64_t strides[ILLUME_MAX_SPATIAL], dilations[ILLUME_MAX_SPATIAL], output_padding[ILLUME_MAX_SPATIAL];
    int64_t pads[2 * ILLUME_MAX_SPATIAL], output_shape[ILLUME_MAX_SPATIAL];
    ILLUME_TRY(list(context, node, "strides", spatial, 1, strides));
    ILLUME_TRY(list(context, node, "dilations", spatial, 1, dilations));
    ILLUME_TRY(list(context, node, "output_padding", spatial, 0, output_padding));
    ILLUME_TRY(list(context, node, "pads", spatial, 0, pads));
    ILLUME_TRY(list(context, node, "output_shape", spatial, -1, output_shape));
    const char *auto_pad = graph_attribute_string(node, "auto_pad", "NOTSET");
    int same_upper = strcmp(auto_pad, "SAME_UPPER") == 0;
    memset(desc, 0, sizeof *desc);
    desc->transpose = 1;
    desc->spatial_rank = spatial;
    desc->batch = x_dims[0];
    desc->in_channels = x_dims[1];
    desc->out_channels = w->dims[1] * group;
    desc->groups = group;
    for (int d = 0; d < spatial; d++) {
        /* Bounded so that the sizes below cannot overflow (strides and dilations are below 2^31). */
        const int64_t limit = (int64_t)1 << 30;
        if (x_dims[2 + d] > limit || w->dims[2 + d] > limit || output_padding[d] < 0 || output_padding[d] > limit ||
            output_shape[d] > limit)
            return node_fail(context, node, ILLUME_ERROR_INVALID_MODEL,
                             "spatial dimension %d: sizes or output_padding out of range", d);
        if (output_padding[d] >= strides[d] && output_padding[d] >= dilations[d])
            return node_fail(context, node, ILLUME_ERROR_INVALID_MODEL,
                             "output_padding %lld must be smaller than the stride or the dilation",
                             (long long)output_padding[d]);
        int64_t in = x_dims[2 + d], extent = (w->dims[2 + d] - 1) * dilations[d] + 1;
        int64_t full = strides[d] * (in - 1) + output_padding[d] + extent;
        int64_t begin = pads[d], end = pads[spatial + d], out;
        if (output_shape[d] >= 0 || strncmp(auto_pad, "SAME", 4) == 0) {
            out = output_shape[d] >= 0 ? output_shape[d] : in * strides[d];
            /* A negative total extends the output with zeros, as output_padding does; the
             * spec's halves round toward minus infinity. */
            int64_t total = full - out, half = total >= 0 ? total / 2 : -((1 - total) / 2);
            begin = same_upper ? half : total - half;
            end = total - begin;
            if (begin < 0)
                return node_fail(context, node, ILLUME_ERROR_UNSUPPORTED,
                                 "output size %lld needs padding before the first output, which is not supported",
                                 (long long)out);
        } else if (strcmp(auto_pad, "VALID") == 0) {
            begin = end = 0;
            out = full;
        } else {
            out = full - begin - end;
        }
        if (out < 0)
            return node_fail(context, node, ILLUME_ERROR_INVALID_MODEL, "pads leave a negative output size");
        desc->in_size[d] = in;
        desc->out_size[d] = out;
        desc->kernel[d] = w->dims[2 + d];
        desc->stride[d] = strides[d];
        desc->dilation[d] = dilations[d];
        desc->pad_begin[d] = begin;
        desc->pad_end[d] = end - output_padding[d];
    }
    const graph_value *bias = graph_input(g, node, 2);
    if (bias) {
        ILLUME_TRY(require_shape(context, g, node, 2, 1));
        if (bias->dims[0] != desc->out_channels)
            return node_fail(context, node, ILLUME_ERROR_INVALID_MODEL, "bias has %lld values for %lld channels",
                             (long long)bias->dims[0], (long long)desc->out_channels);
    }
    desc->constant_weights = w->constant != NULL;
    desc->x_channels_last = x->channels_last;
    desc->y_channels_last = graph_output(g, node, 0)->channels_last;
    return ILLUME_OK;
}

static illume_status infer(illume_context *context, graph *g, graph_node *node) {
    for (int i = 0; i < node->input_count; i++) ILLUME_TRY(require_float(context, g, node, i));
    convolution_desc desc;
    ILLUME_TRY(describe(context, g, node, &desc));
    int64_t dims[ILLUME_MAX_RANK] = {desc.batch, desc.out_channels};
    for (int d = 0; d < desc.spatial_rank; d++) dims[2 + d] = desc.out_size[d];
    return set_output(context, g, node, 0, ILLUME_FLOAT32, desc.spatial_rank + 2, dims);
}

static illume_status forward(const op_call *call) {
    convolution_desc desc;
    ILLUME_TRY(describe(call->context, call->graph, call->node, &desc));
    return convolution_run(call, &desc);
}

static illume_status backward(const op_backward_call *call) {
    convolution_desc desc;
    ILLUME_TRY(describe(call->forward->context, call->forward->graph, call->forward->node, &desc));
    return convolution_backward_run(call, &desc);
}

static int64_t flops(const graph *g, const graph_node *node) {
    const graph_value *w = graph_input(g, node, 1);
    const graph_value *x = graph_input(g, node, 0);
    int64_t per_input = saturating_product(2, w->dims[1]), inputs;
    for (int d = 2; d < w->rank; d++) per_input = saturating_product(per_input, w->dims[d]);
    if (shape_element_count(x->rank, x->dims, &inputs)) return 0;
    return saturating_product(per_input, inputs);
}

const op_definition op_conv_transpose = {
    .name = "ConvTranspose", .kind = KIND_CONVOLUTION, .traits = OP_LINEAR | OP_CHANNELS_FIRST, .min_inputs = 2,
    .max_inputs = 3, .min_outputs = 1, .max_outputs = 1, .attributes = attributes, .check = check, .infer = infer,
    .forward = forward, .flops = flops, .backward = backward, .backward_reads = convolution_backward_reads,
    .backward_scratch_bytes = convolution_backward_scratch};
