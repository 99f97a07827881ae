/* Add, Sub, Mul, Div, PRelu, Pow, Max and Min with numpy broadcasting.
 * Integer arithmetic (shape computations) only ever folds; float arithmetic
 * runs on the backend and folds too when both operands are constant. */
#include <string.h>

#include "binary.h"
#include "op_support.h"
#include "strided.h"

static const op_attribute no_attributes[] = {{NULL, 0, 0, 0}};

static binary_kind kind_of(const graph_node *node) {
    const char *name = node_op_name(node);
    if (strcmp(name, "Add") == 0) return BINARY_ADD;
    if (strcmp(name, "Sub") == 0) return BINARY_SUB;
    if (strcmp(name, "Mul") == 0) return BINARY_MUL;
    if (strcmp(name, "Div") == 0) return BINARY_DIV;
    if (strcmp(name, "Pow") == 0) return BINARY_POW;
    if (strcmp(name, "Max") == 0) return BINARY_MAX;
    if (strcmp(name, "Min") == 0) return BINARY_MIN;
    return BINARY_PRELU;
}

/* Max and Min take any number of inputs in ONNX; illume runs the two-operand form exporters write. */
static illume_status check(illume_context *context, const graph *g, const graph_node *node) {
    (void)g;
    if (node->input_count != 2)
        return node_fail(context, node, ILLUME_ERROR_UNSUPPORTED, "%s of %d inputs: illume runs it on two",
                         node_op_name(node), node->input_count);
    return ILLUME_OK;
}

static illume_status describe(illume_context *context, const graph *g, const graph_node *node, binary_desc *desc) {
    memset(desc, 0, sizeof *desc);
    desc->kind = kind_of(node);
    ILLUME_TRY(broadcast_shapes(context, g, node, 0, 2, &desc->rank, desc->dims));
    const graph_value *a = graph_input(g, node, 0), *b = graph_input(g, node, 1);
    if (desc->kind == BINARY_PRELU && (desc->rank != a->rank || memcmp(desc->dims, a->dims, sizeof(int64_t) * (size_t)a->rank)))
        return node_fail(context, node, ILLUME_ERROR_INVALID_MODEL, "the slope does not broadcast to the input");
    broadcast_strides(a->rank, a->dims, desc->rank, desc->a_strides);
    broadcast_strides(b->rank, b->dims, desc->rank, desc->b_strides);
    return ILLUME_OK;
}

static illume_status infer(illume_context *context, graph *g, graph_node *node) {
    const graph_value *a = graph_input(g, node, 0), *b = graph_input(g, node, 1);
    if (kind_of(node) == BINARY_POW && (a->dtype != ILLUME_FLOAT32 || b->dtype != ILLUME_FLOAT32))
        return node_fail(context, node, ILLUME_ERROR_UNSUPPORTED, "Pow runs on float base and exponent only");
    if (a->dtype != b->dtype)
        return node_fail(context, node, ILLUME_ERROR_INVALID_MODEL, "operands have different element types");
    binary_desc desc;
    ILLUME_TRY(describe(context, g, node, &desc));
    return set_output(context, g, node, 0, a->dtype, desc.rank, desc.dims);
}

static illume_status fold(illume_context *context, graph *g, graph_node *node) {
    binary_desc desc;
    ILLUME_TRY(describe(context, g, node, &desc));
    const graph_value *a = graph_input(g, node, 0), *b = graph_input(g, node, 1);
    void *data = allocate_output_constant(context, g, node, 0);
    if (!data) return ILLUME_ERROR_OUT_OF_MEMORY;
    int64_t count;
    shape_element_count(desc.rank, desc.dims, &count);
    for (int64_t i = 0; i < count; i++) {
        int64_t ia = illume_strided_offset(desc.rank, desc.dims, desc.a_strides, i);
        int64_t ib = illume_strided_offset(desc.rank, desc.dims, desc.b_strides, i);
        if (a->dtype == ILLUME_FLOAT32) {
            float x = ((const float *)a->constant)[ia], y = ((const float *)b->constant)[ib];
            ((float *)data)[i] = illume_binary(desc.kind, x, y);
        } else {
            int64_t x = ((const int64_t *)a->constant)[ia], y = ((const int64_t *)b->constant)[ib];
            if (desc.kind == BINARY_DIV && y == 0)
                return node_fail(context, node, ILLUME_ERROR_INVALID_MODEL, "integer division by zero");
            ((int64_t *)data)[i] = desc.kind == BINARY_ADD   ? (int64_t)((uint64_t)x + (uint64_t)y)
                                   : desc.kind == BINARY_SUB ? (int64_t)((uint64_t)x - (uint64_t)y)
                                   : desc.kind == BINARY_MUL ? (int64_t)((uint64_t)x * (uint64_t)y)
                                   : desc.kind == BINARY_DIV ? (y == -1 ? (int64_t)(0 - (uint64_t)x) : x / y)
                                   : desc.kind == BINARY_MAX ? (x > y ? x : y)
                                   : desc.kind == BINARY_MIN ? (x < y ? x : y)
                                                             : (x >= 0 ? x : x * y);
        }
    }
    return ILLUME_OK;
}

static illume_status forward(const op_call *call) {
    binary_desc desc;
    ILLUME_TRY(describe(call->context, call->graph, call->node, &desc));
    return call->backend->binary(call->backend, &desc, call->inputs[0], call->inputs[1], call->outputs[0]);
}

static illume_status backward(const op_backward_call *call) {
    const op_call *forward = call->forward;
    binary_desc desc;
    ILLUME_TRY(describe(forward->context, forward->graph, forward->node, &desc));
    for (int operand = 0; operand < 2; operand++) {
        if (!call->input_gradients[operand]) continue;
        ILLUME_TRY(forward->backend->binary_backward(forward->backend, &desc, operand, forward->inputs[0],
                                                     forward->inputs[1], call->output_gradients[0],
                                                     call->input_gradients[operand]));
    }
    return ILLUME_OK;
}

/* Add and Sub need no forward values; the others read both operands. */
static op_reads backward_reads(const graph *g, const graph_node *node) {
    (void)g;
    binary_kind kind = kind_of(node);
    return (op_reads){.inputs = kind == BINARY_ADD || kind == BINARY_SUB ? 0u : 3u};
}

#define ARITHMETIC(variable, onnx_name, fewest_inputs, most_inputs, op_traits)                                        \
    const op_definition variable = {.name = onnx_name, .kind = KIND_BINARY, .traits = op_traits,                    \
                                    .min_inputs = fewest_inputs,                                                    \
                                    .max_inputs = most_inputs, .min_outputs = 1, .max_outputs = 1,                  \
                                    .attributes = no_attributes, .check = check, .infer = infer, .fold = fold,     \
                                    .forward = forward, .flops = output_element_flops, .backward = backward,       \
                                    .backward_reads = backward_reads}

ARITHMETIC(op_add, "Add", 2, 2, OP_SUM | OP_AFFINE);
ARITHMETIC(op_sub, "Sub", 2, 2, OP_AFFINE);
ARITHMETIC(op_mul, "Mul", 2, 2, OP_SCALING | OP_AFFINE);
ARITHMETIC(op_div, "Div", 2, 2, OP_SCALING | OP_AFFINE);
ARITHMETIC(op_prelu, "PRelu", 2, 2, OP_ACTIVATION);
ARITHMETIC(op_pow, "Pow", 2, 2, OP_PLAIN);
ARITHMETIC(op_max, "Max", 1, 1 << 20, OP_PLAIN);
ARITHMETIC(op_min, "Min", 1, 1 << 20, OP_PLAIN);
