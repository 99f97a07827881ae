/* Element-wise math that is no activation: Abs, Erf (the core of an
 * exported exact GELU), Exp, Log, Neg, Reciprocal, Sign, Sqrt. Each op maps
 * to one unary kind of the backend, whose forward and derivative are in
 * kernels/activation.h; outside its domain (Log or Sqrt of a negative) it
 * gives NaN, as ONNX Runtime does. */
#include <string.h>

#include "op_support.h"

static const op_attribute no_attributes[] = {{NULL, 0, 0, 0}};

static const struct {
    const char *name;
    unary_kind kind;
    float alpha;
} kinds[] = {{"Abs", UNARY_ABS, 0.0f},   {"Erf", UNARY_ERF, 0.0f},          {"Exp", UNARY_EXP, 0.0f},
             {"Log", UNARY_LOG, 0.0f},   {"Neg", UNARY_LINEAR, -1.0f},      {"Reciprocal", UNARY_RECIPROCAL, 0.0f},
             {"Sign", UNARY_SIGN, 0.0f}, {"Sqrt", UNARY_SQRT, 0.0f}};

static illume_status describe(illume_context *context, const graph *g, const graph_node *node, unary_desc *desc) {
    memset(desc, 0, sizeof *desc);
    const char *name = node_op_name(node);
    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++)
        if (strcmp(name, kinds[k].name) == 0) {
            desc->kind = kinds[k].kind;
            desc->alpha = kinds[k].alpha;
        }
    const graph_value *x = graph_input(g, node, 0);
    if (shape_element_count(x->rank, x->dims, &desc->count))
        return node_fail(context, node, ILLUME_ERROR_INVALID_MODEL, "input shape unknown");
    return ILLUME_OK;
}

static illume_status infer(illume_context *context, graph *g, graph_node *node) {
    ILLUME_TRY(require_float(context, g, node, 0));
    return set_output_like(context, g, node, 0, 0);
}

static illume_status forward(const op_call *call) {
    unary_desc desc;
    ILLUME_TRY(describe(call->context, call->graph, call->node, &desc));
    return unary_run(call, &desc);
}

static illume_status backward(const op_backward_call *call) {
    const op_call *forward = call->forward;
    if (!call->input_gradients[0]) return ILLUME_OK;
    unary_desc desc;
    ILLUME_TRY(describe(forward->context, forward->graph, forward->node, &desc));
    return unary_backward_run(call, &desc);
}

#define MATH(variable, onnx_name, first_opset)                                                                     \
    const op_definition variable = {.name = onnx_name, .kind = KIND_UNARY, .traits = OP_PLAIN,                     \
                                    .since = first_opset, .min_inputs = 1, .max_inputs = 1, .min_outputs = 1,      \
                                    .max_outputs = 1, .attributes = no_attributes, .infer = infer,                 \
                                    .forward = forward, .flops = output_element_flops, .backward = backward,       \
                                    .backward_reads = reads_first_input}

MATH(op_abs, "Abs", 0);
MATH(op_erf, "Erf", 9);
MATH(op_exp, "Exp", 0);
MATH(op_log, "Log", 0);
MATH(op_neg, "Neg", 0);
MATH(op_reciprocal, "Reciprocal", 0);
MATH(op_sign, "Sign", 9);
MATH(op_sqrt, "Sqrt", 0);
