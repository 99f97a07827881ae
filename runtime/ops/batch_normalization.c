/* BatchNormalization in inference mode: y = scale (x - mean) / sqrt(var + eps) + bias
 * per channel (axis 1). Usually folded into the preceding Conv or Gemm. */
#include <math.h>
#include <stdlib.h>

#include "op_support.h"

static const op_attribute attributes[] = {
    {"epsilon", ATTRIBUTE_FLOAT, 0, 0}, {"momentum", ATTRIBUTE_FLOAT, 0, 0}, {"spatial", ATTRIBUTE_INT, 0, 8},
    {"training_mode", ATTRIBUTE_INT, 14, 0}, {NULL, 0, 0, 0}};

static illume_status check(illume_context *context, const graph *g, const graph_node *node) {
    (void)g;
    if (graph_attribute_int(node, "training_mode", 0) != 0)
        return node_fail(context, node, ILLUME_ERROR_UNSUPPORTED, "training_mode is not supported (inference only)");
    if (graph_attribute_int(node, "spatial", 1) != 1)
        return node_fail(context, node, ILLUME_ERROR_UNSUPPORTED, "spatial=0 is not supported");
    for (int o = 1; o < node->output_count; o++)
        if (node->outputs[o] >= 0)
            return node_fail(context, node, ILLUME_ERROR_UNSUPPORTED, "training outputs (running mean, variance) are "
                             "not supported");
    return ILLUME_OK;
}

static illume_status infer(illume_context *context, graph *g, graph_node *node) {
    ILLUME_TRY(require_shape(context, g, node, 0, -1));
    const graph_value *x = graph_input(g, node, 0);
    if (x->rank < 2) return node_fail(context, node, ILLUME_ERROR_INVALID_MODEL, "input rank %d is below 2", x->rank);
    for (int i = 0; i < 5; i++) ILLUME_TRY(require_float(context, g, node, i));
    for (int i = 1; i < 5; i++) {
        ILLUME_TRY(require_shape(context, g, node, i, 1));
        if (OP_INPUT_DIMS(g, node, i)[0] != x->dims[1])
            return node_fail(context, node, ILLUME_ERROR_INVALID_MODEL, "input %d has %lld values for %lld channels",
                             i, (long long)OP_INPUT_DIMS(g, node, i)[0], (long long)x->dims[1]);
    }
    return set_output_like(context, g, node, 0, 0);
}

static illume_status forward(const op_call *call) {
    const graph_value *x = graph_input(call->graph, call->node, 0);
    int64_t x_dims[ILLUME_MAX_RANK];
    value_logical_dims(x, x_dims);
    batchnorm_desc desc = {.batch = x_dims[0], .channels = x_dims[1], .spatial = 1,
                           .epsilon = graph_attribute_float(call->node, "epsilon", 1e-5f),
                           .channels_last = x->channels_last,
                           .relu = call->node->fused_activation.kind == UNARY_RELU};
    for (int d = 2; d < x->rank; d++) desc.spatial *= x_dims[d];
    return call->backend->batchnorm(call->backend, &desc, call->state, call->inputs[0], call->inputs[1],
                                    call->inputs[2], call->inputs[3], call->inputs[4], call->outputs[0]);
}

/* In inference the op is affine per channel: dx = dy scale / sqrt(var + eps).
 * The factors are computed from the constant statistics and scaled into dy. */
static illume_status backward(const op_backward_call *call) {
    const op_call *forward = call->forward;
    const graph *g = forward->graph;
    const graph_node *node = forward->node;
    ILLUME_TRY(refuse_gradient(call, 1, 4, "statistics or affine parameters"));
    if (!call->input_gradients[0]) return ILLUME_OK;
    const graph_value *x = graph_input(g, node, 0), *scale = graph_input(g, node, 1);
    const graph_value *variance = graph_input(g, node, 4);
    if (!scale->constant || !variance->constant)
        return node_fail(forward->context, node, ILLUME_ERROR_UNSUPPORTED,
                         "a backward pass needs constant scale and variance");
    int64_t channels = scale->dims[0];
    float *factor = malloc(sizeof(float) * (size_t)(channels ? channels : 1));
    if (!factor) return node_fail(forward->context, node, ILLUME_ERROR_OUT_OF_MEMORY, "out of memory");
    float epsilon = graph_attribute_float(node, "epsilon", 1e-5f);
    for (int64_t c = 0; c < channels; c++)
        factor[c] = ((const float *)scale->constant)[c] / sqrtf(((const float *)variance->constant)[c] + epsilon);
    backend *device = forward->backend;
    illume_status status = device->upload(device, call->scratch, factor, sizeof(float) * (size_t)channels);
    if (status == ILLUME_OK) status = device->synchronize(device);
    free(factor);
    ILLUME_TRY(status);
    binary_desc multiply = {.kind = BINARY_MUL, .rank = x->rank};
    int channel_axis = x->channels_last ? x->rank - 1 : 1;
    for (int d = 0; d < x->rank; d++) multiply.dims[d] = x->dims[d];
    contiguous_strides(x->rank, x->dims, multiply.a_strides);
    multiply.b_strides[channel_axis] = 1;
    return device->binary(device, &multiply, call->output_gradients[0], call->scratch, call->input_gradients[0]);
}

static size_t backward_scratch(const graph *g, const graph_node *node) {
    return (size_t)input_elements(g, node, 1) * sizeof(float);
}

static int64_t flops(const graph *g, const graph_node *node) {
    const graph_value *y = graph_output(g, node, 0);
    int64_t count;
    return shape_element_count(y->rank, y->dims, &count) ? 0 : saturating_product(2, count);
}

const op_definition op_batch_normalization = {
    .name = "BatchNormalization", .kind = KIND_UNARY, .traits = OP_NORMALIZATION | OP_CHANNELS_FIRST, .min_inputs = 5,
    .max_inputs = 5, .min_outputs = 1, .max_outputs = 5, .attributes = attributes, .check = check, .infer = infer,
    .forward = forward, .flops = flops, .backward = backward, .backward_scratch_bytes = backward_scratch};
