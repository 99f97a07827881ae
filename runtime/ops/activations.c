/* The element-wise activations: Relu, LeakyRelu, Sigmoid, Tanh, HardSigmoid,
 * HardSwish, Elu and Clip. Each maps to one unary kind of the backend. */
#include <float.h>
#include <string.h>

#include "op_support.h"

static const op_attribute no_attributes[] = {{NULL, 0, 0, 0}};
static const op_attribute alpha_attributes[] = {{"alpha", ATTRIBUTE_FLOAT, 0, 0}, {NULL, 0, 0, 0}};
static const op_attribute alpha_beta_attributes[] = {
    {"alpha", ATTRIBUTE_FLOAT, 0, 0}, {"beta", ATTRIBUTE_FLOAT, 0, 0}, {NULL, 0, 0, 0}};
static const op_attribute clip_attributes[] = {
    {"min", ATTRIBUTE_FLOAT, 0, 10}, {"max", ATTRIBUTE_FLOAT, 0, 10}, {NULL, 0, 0, 0}};
static const op_input clip_inputs[] = {{1, "min", 11, 0}, {2, "max", 11, 0}, {0, NULL, 0, 0}};

/* Clip's bounds: attributes before opset 11, optional constant inputs after. */
static illume_status clip_bounds(illume_context *context, const graph *g, const graph_node *node, float *low,
                                 float *high) {
    *low = graph_attribute_float(node, "min", -FLT_MAX);
    *high = graph_attribute_float(node, "max", FLT_MAX);
    float value;
    int count;
    if (graph_input(g, node, 1)) {
        ILLUME_TRY(constant_floats(context, g, node, 1, &value, 1, &count));
        if (count == 1) *low = value;
    }
    if (graph_input(g, node, 2)) {
        ILLUME_TRY(constant_floats(context, g, node, 2, &value, 1, &count));
        if (count == 1) *high = value;
    }
    /* ONNX clips to min(max(x, min), max), so crossed bounds give max everywhere, as equal bounds at max do
     * (which, unlike crossed ones, oneDNN's clip fused into a convolution accepts). */
    if (*low > *high) *low = *high;
    return ILLUME_OK;
}

illume_status activation_describe(illume_context *context, const graph *g, const graph_node *node, unary_desc *desc) {
    const char *name = node_op_name(node);
    memset(desc, 0, sizeof *desc);
    if (strcmp(name, "Relu") == 0) {
        desc->kind = UNARY_RELU;
    } else if (strcmp(name, "LeakyRelu") == 0) {
        desc->kind = UNARY_LEAKY_RELU;
        desc->alpha = graph_attribute_float(node, "alpha", 0.01f);
    } else if (strcmp(name, "Sigmoid") == 0) {
        desc->kind = UNARY_SIGMOID;
    } else if (strcmp(name, "Tanh") == 0) {
        desc->kind = UNARY_TANH;
    } else if (strcmp(name, "HardSigmoid") == 0) {
        desc->kind = UNARY_HARD_SIGMOID;
        desc->alpha = graph_attribute_float(node, "alpha", 0.2f);
        desc->beta = graph_attribute_float(node, "beta", 0.5f);
    } else if (strcmp(name, "HardSwish") == 0) {
        desc->kind = UNARY_HARD_SWISH;
    } else if (strcmp(name, "Elu") == 0) {
        desc->kind = UNARY_ELU;
        desc->alpha = graph_attribute_float(node, "alpha", 1.0f);
    } else {
        desc->kind = UNARY_CLIP;
        ILLUME_TRY(clip_bounds(context, g, node, &desc->alpha, &desc->beta));
    }
    const graph_value *x = graph_input(g, node, 0);
    if (shape_element_count(x->rank, x->dims, &desc->count))
        return node_fail(context, node, ILLUME_ERROR_INVALID_MODEL, "input shape unknown");
    return ILLUME_OK;
}

static illume_status infer(illume_context *context, graph *g, graph_node *node) {
    ILLUME_TRY(require_float(context, g, node, 0));
    ILLUME_TRY(set_output_like(context, g, node, 0, 0));
    unary_desc desc;
    return activation_describe(context, g, node, &desc);
}

static illume_status forward(const op_call *call) {
    unary_desc desc;
    ILLUME_TRY(activation_describe(call->context, call->graph, call->node, &desc));
    return unary_run(call, &desc);
}

static illume_status backward(const op_backward_call *call) {
    const op_call *forward = call->forward;
    ILLUME_TRY(refuse_gradient(call, 1, 2, "bounds"));
    if (!call->input_gradients[0]) return ILLUME_OK;
    unary_desc desc;
    ILLUME_TRY(activation_describe(forward->context, forward->graph, forward->node, &desc));
    return unary_backward_run(call, &desc);
}

#define ACTIVATION(variable, onnx_name, first_opset, attribute_list, inputs, input_list, more_traits)                \
    const op_definition variable = {.name = onnx_name, .kind = KIND_UNARY, .traits = OP_ACTIVATION | (more_traits),   \
                                    .since = first_opset, .min_inputs = 1, .max_inputs = inputs,                    \
                                    .min_outputs = 1, .max_outputs = 1, .attributes = attribute_list,               \
                                    .versioned_inputs = input_list, .infer = infer, .forward = forward,             \
                                    .flops = output_element_flops, .backward = backward,                            \
                                    .backward_reads = reads_first_input}

ACTIVATION(op_relu, "Relu", 0, no_attributes, 1, NULL, OP_NONNEGATIVE);
ACTIVATION(op_leaky_relu, "LeakyRelu", 0, alpha_attributes, 1, NULL, 0);
ACTIVATION(op_sigmoid, "Sigmoid", 0, no_attributes, 1, NULL, OP_GATE | OP_NONNEGATIVE);
ACTIVATION(op_tanh, "Tanh", 0, no_attributes, 1, NULL, 0);
ACTIVATION(op_hard_sigmoid, "HardSigmoid", 0, alpha_beta_attributes, 1, NULL, OP_GATE | OP_NONNEGATIVE);
ACTIVATION(op_hard_swish, "HardSwish", 14, no_attributes, 1, NULL, 0);
ACTIVATION(op_elu, "Elu", 0, alpha_attributes, 1, NULL, 0);
ACTIVATION(op_clip, "Clip", 0, clip_attributes, 3, clip_inputs, 0);
