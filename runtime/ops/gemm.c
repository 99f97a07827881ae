/* Gemm: Y = alpha * op(A) op(B) + beta * C, with C broadcast to (M, N). */
#include "op_support.h"

static const op_attribute attributes[] = {
    {"alpha", ATTRIBUTE_FLOAT, 0, 0}, {"beta", ATTRIBUTE_FLOAT, 0, 0}, {"transA", ATTRIBUTE_INT, 0, 0},
    {"transB", ATTRIBUTE_INT, 0, 0}, {"broadcast", ATTRIBUTE_INT, 0, 6}, {NULL, 0, 0, 0}};

static illume_status describe(illume_context *context, const graph *g, const graph_node *node, matmul_desc *desc) {
    ILLUME_TRY(require_shape(context, g, node, 0, 2));
    ILLUME_TRY(require_shape(context, g, node, 1, 2));
    const graph_value *a = graph_input(g, node, 0), *b = graph_input(g, node, 1);
    int transpose_a = graph_attribute_int(node, "transA", 0) != 0;
    int transpose_b = graph_attribute_int(node, "transB", 0) != 0;
    int64_t m = a->dims[transpose_a ? 1 : 0], k = a->dims[transpose_a ? 0 : 1];
    int64_t kb = b->dims[transpose_b ? 1 : 0], n = b->dims[transpose_b ? 0 : 1];
    if (k != kb)
        return node_fail(context, node, ILLUME_ERROR_INVALID_MODEL, "inner dimensions differ: %lld and %lld",
                         (long long)k, (long long)kb);
    *desc = (matmul_desc){.rank = 2, .transpose_a = transpose_a, .transpose_b = transpose_b};
    for (int d = 0; d < 2; d++) {
        desc->a_dims[d] = a->dims[d];
        desc->b_dims[d] = b->dims[d];
    }
    desc->y_dims[0] = m;
    desc->y_dims[1] = n;
    desc->alpha = graph_attribute_float(node, "alpha", 1.0f);
    desc->constant_b = b->constant != NULL;
    const graph_value *c = graph_input(g, node, 2);
    if (c) {
        ILLUME_TRY(require_shape(context, g, node, 2, -1));
        if (c->rank > 2)
            return node_fail(context, node, ILLUME_ERROR_INVALID_MODEL, "C has rank %d", c->rank);
        for (int d = 0; d < c->rank; d++) {
            int64_t target = desc->y_dims[2 - c->rank + d];
            if (c->dims[d] != 1 && c->dims[d] != target)
                return node_fail(context, node, ILLUME_ERROR_INVALID_MODEL, "C does not broadcast to (%lld, %lld)",
                                 (long long)m, (long long)n);
        }
    }
    return ILLUME_OK;
}

static illume_status infer(illume_context *context, graph *g, graph_node *node) {
    for (int i = 0; i < node->input_count; i++) ILLUME_TRY(require_float(context, g, node, i));
    matmul_desc desc;
    ILLUME_TRY(describe(context, g, node, &desc));
    return set_output(context, g, node, 0, ILLUME_FLOAT32, 2, desc.y_dims);
}

/* A C that is one row of N values adds as a bias (when alpha and beta are 1);
 * any other C is first broadcast into Y and accumulated with weight beta. */
static int c_is_row(const graph_value *c, int64_t n) {
    int64_t count;
    return shape_element_count(c->rank, c->dims, &count) == 0 && count == n && c->dims[c->rank - 1] == n;
}

static illume_status forward(const op_call *call) {
    matmul_desc desc;
    ILLUME_TRY(describe(call->context, call->graph, call->node, &desc));
    const graph_value *c = graph_input(call->graph, call->node, 2);
    float beta = graph_attribute_float(call->node, "beta", 1.0f);
    const float *bias = NULL;
    if (c && beta != 0.0f) {
        if (beta == 1.0f && desc.alpha == 1.0f && c->rank >= 1 && c_is_row(c, desc.y_dims[1])) {
            bias = call->inputs[2];
            desc.has_bias = 1;
        } else {
            copy_desc copy = {.rank = 2, .dims = {desc.y_dims[0], desc.y_dims[1]}, .dst_strides = {desc.y_dims[1], 1}};
            broadcast_strides(c->rank, c->dims, 2, copy.src_strides);
            ILLUME_TRY(call->backend->copy(call->backend, &copy, call->inputs[2], call->outputs[0]));
            desc.beta = beta;
        }
    }
    return call->backend->matmul(call->backend, &desc, call->state, call->inputs[0], call->inputs[1], bias,
                                 call->outputs[0]);
}

/* One product of the backward: y = alpha op(a) op(b) over stored operand
 * shapes; constant_b when b is a constant (the backend then keeps it in the
 * layout it prefers instead of packing it at every call). */
static illume_status product(const op_backward_call *call, int slot, const float *a, const int64_t *a_dims,
                             int transpose_a, const float *b, const int64_t *b_dims, int transpose_b, int constant_b,
                             float alpha, float *y) {
    matmul_desc desc = {.rank = 2, .transpose_a = transpose_a, .transpose_b = transpose_b, .alpha = alpha,
                        .constant_b = constant_b};
    for (int d = 0; d < 2; d++) {
        desc.a_dims[d] = a_dims[d];
        desc.b_dims[d] = b_dims[d];
    }
    desc.y_dims[0] = a_dims[transpose_a ? 1 : 0];
    desc.y_dims[1] = b_dims[transpose_b ? 0 : 1];
    backend *device = call->forward->backend;
    return device->matmul(device, &desc, &call->state[slot], a, b, NULL, y);
}

/* dA = alpha dY op(B)^T, dB = alpha op(A)^T dY (each transposed back when the
 * operand is stored transposed), dC = beta dY summed over C's broadcast. */
static illume_status backward(const op_backward_call *call) {
    const op_call *forward = call->forward;
    const graph_node *node = forward->node;
    matmul_desc desc;
    ILLUME_TRY(describe(forward->context, forward->graph, node, &desc));
    const float *dy = call->output_gradients[0];
    const float *a = forward->inputs[0], *b = forward->inputs[1];
    int transpose_a = desc.transpose_a, transpose_b = desc.transpose_b;
    float alpha = desc.alpha;
    if (call->input_gradients[0]) {
        if (!transpose_a)
            ILLUME_TRY(product(call, 0, dy, desc.y_dims, 0, b, desc.b_dims, !transpose_b, desc.constant_b, alpha,
                               call->input_gradients[0]));
        else
            ILLUME_TRY(product(call, 0, b, desc.b_dims, transpose_b, dy, desc.y_dims, 1, 0, alpha,
                               call->input_gradients[0]));
    }
    if (call->input_gradients[1]) {
        if (!transpose_b)
            ILLUME_TRY(product(call, 1, a, desc.a_dims, !transpose_a, dy, desc.y_dims, 0, 0, alpha,
                               call->input_gradients[1]));
        else
            ILLUME_TRY(product(call, 1, dy, desc.y_dims, 1, a, desc.a_dims, transpose_a, 0, alpha,
                               call->input_gradients[1]));
    }
    if (call->input_gradients[2]) {
        const graph_value *c = graph_input(forward->graph, node, 2);
        backend *device = forward->backend;
        binary_desc sum = {.kind = BINARY_ADD, .rank = 2, .dims = {desc.y_dims[0], desc.y_dims[1]}};
        contiguous_strides(2, sum.dims, sum.a_strides);
        broadcast_strides(c->rank, c->dims, 2, sum.b_strides);
        ILLUME_TRY(device->binary_backward(device, &sum, 1, dy, NULL, dy, call->input_gradients[2]));
        float beta = graph_attribute_float(node, "beta", 1.0f);
        unary_desc scale = {.kind = UNARY_LINEAR, .alpha = beta, .count = input_elements(forward->graph, node, 2)};
        ILLUME_TRY(device->unary(device, &scale, call->input_gradients[2], call->input_gradients[2]));
    }
    return ILLUME_OK;
}

static op_reads backward_reads(const graph *g, const graph_node *node) {
    (void)g;
    (void)node;
    return (op_reads){.inputs = 3u};
}

static int64_t flops(const graph *g, const graph_node *node) {
    const graph_value *a = graph_input(g, node, 0), *y = graph_output(g, node, 0);
    int64_t k = a->dims[graph_attribute_int(node, "transA", 0) ? 0 : 1];
    return saturating_product(saturating_product(2, y->dims[0]), saturating_product(y->dims[1], k));
}

const op_definition op_gemm = {
    .name = "Gemm", .traits = OP_LINEAR, .min_inputs = 2, .max_inputs = 3, .min_outputs = 1, .max_outputs = 1,
    .attributes = attributes, .infer = infer, .forward = forward, .flops = flops, .backward = backward,
    .backward_reads = backward_reads};
