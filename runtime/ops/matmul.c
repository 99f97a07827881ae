/* MatMul: numpy matmul, with 1-D operands promoted and batch dims broadcast. */
#include <string.h>

#include "op_support.h"

static const op_attribute attributes[] = {{NULL, 0, 0, 0}};

static illume_status describe(illume_context *context, const graph *g, const graph_node *node, matmul_desc *desc,
                              int *y_rank, int64_t *y_dims) {
    ILLUME_TRY(require_shape(context, g, node, 0, -1));
    ILLUME_TRY(require_shape(context, g, node, 1, -1));
    const graph_value *a = graph_input(g, node, 0), *b = graph_input(g, node, 1);
    if (a->rank < 1 || b->rank < 1)
        return node_fail(context, node, ILLUME_ERROR_INVALID_MODEL, "operands must have rank 1 or more");
    int64_t a_dims[ILLUME_MAX_RANK], b_dims[ILLUME_MAX_RANK];
    int a_rank = a->rank, b_rank = b->rank;
    if (a_rank == 1) { a_dims[0] = 1; a_dims[1] = a->dims[0]; a_rank = 2; }
    else for (int d = 0; d < a_rank; d++) a_dims[d] = a->dims[d];
    if (b_rank == 1) { b_dims[0] = b->dims[0]; b_dims[1] = 1; b_rank = 2; }
    else for (int d = 0; d < b_rank; d++) b_dims[d] = b->dims[d];
    int rank = a_rank > b_rank ? a_rank : b_rank;
    *desc = (matmul_desc){.rank = rank, .alpha = 1.0f, .constant_b = b->constant != NULL};
    for (int d = 0; d < rank; d++) {
        int ka = d - (rank - a_rank), kb = d - (rank - b_rank);
        desc->a_dims[d] = ka < 0 ? 1 : a_dims[ka];
        desc->b_dims[d] = kb < 0 ? 1 : b_dims[kb];
    }
    if (desc->a_dims[rank - 1] != desc->b_dims[rank - 2])
        return node_fail(context, node, ILLUME_ERROR_INVALID_MODEL, "inner dimensions differ: %lld and %lld",
                         (long long)desc->a_dims[rank - 1], (long long)desc->b_dims[rank - 2]);
    for (int d = 0; d < rank - 2; d++) {
        int64_t x = desc->a_dims[d], y = desc->b_dims[d];
        if (x != y && x != 1 && y != 1)
            return node_fail(context, node, ILLUME_ERROR_INVALID_MODEL, "batch dimensions %lld and %lld do not broadcast",
                             (long long)x, (long long)y);
        desc->y_dims[d] = x == 1 ? y : x;
    }
    desc->y_dims[rank - 2] = desc->a_dims[rank - 2];
    desc->y_dims[rank - 1] = desc->b_dims[rank - 1];
    /* The shape numpy reports drops the promoted dimensions again. */
    *y_rank = 0;
    for (int d = 0; d < rank - 2; d++) y_dims[(*y_rank)++] = desc->y_dims[d];
    if (a->rank > 1) y_dims[(*y_rank)++] = desc->y_dims[rank - 2];
    if (b->rank > 1) y_dims[(*y_rank)++] = desc->y_dims[rank - 1];
    return ILLUME_OK;
}

static illume_status infer(illume_context *context, graph *g, graph_node *node) {
    for (int i = 0; i < node->input_count; i++) ILLUME_TRY(require_float(context, g, node, i));
    matmul_desc desc;
    int rank;
    int64_t dims[ILLUME_MAX_RANK];
    ILLUME_TRY(describe(context, g, node, &desc, &rank, dims));
    return set_output(context, g, node, 0, ILLUME_FLOAT32, rank, dims);
}

static illume_status forward(const op_call *call) {
    matmul_desc desc;
    int rank;
    int64_t dims[ILLUME_MAX_RANK];
    ILLUME_TRY(describe(call->context, call->graph, call->node, &desc, &rank, dims));
    return call->backend->matmul(call->backend, &desc, call->state, call->inputs[0], call->inputs[1], NULL,
                                 call->outputs[0]);
}

/* Whether an operand of padded dims was broadcast along a batch dim of y. */
static int broadcast_batch(const matmul_desc *desc, const int64_t *dims) {
    for (int d = 0; d < desc->rank - 2; d++)
        if (dims[d] != desc->y_dims[d]) return 1;
    return 0;
}

/* The gradient of one operand: the product for every batch of y, then, when
 * the operand was broadcast along batch dims, summed over them (in scratch). */
static illume_status operand_gradient(const op_backward_call *call, const matmul_desc *desc, int operand, float *dx) {
    const op_call *forward = call->forward;
    backend *device = forward->backend;
    int rank = desc->rank;
    const int64_t *dims = operand == 0 ? desc->a_dims : desc->b_dims;
    matmul_desc product = {.rank = rank, .alpha = 1.0f};
    for (int d = 0; d < rank; d++) product.y_dims[d] = d < rank - 2 ? desc->y_dims[d] : dims[d];
    const float *left, *right;
    if (operand == 0) { /* dA = dY B^T */
        memcpy(product.a_dims, desc->y_dims, sizeof product.a_dims);
        memcpy(product.b_dims, desc->b_dims, sizeof product.b_dims);
        product.transpose_b = 1;
        product.constant_b = desc->constant_b;
        left = call->output_gradients[0];
        right = forward->inputs[1];
    } else { /* dB = A^T dY */
        memcpy(product.a_dims, desc->a_dims, sizeof product.a_dims);
        memcpy(product.b_dims, desc->y_dims, sizeof product.b_dims);
        product.transpose_a = 1;
        left = forward->inputs[0];
        right = call->output_gradients[0];
    }
    int reduce = broadcast_batch(desc, dims);
    float *full = reduce ? call->scratch : dx;
    ILLUME_TRY(device->matmul(device, &product, &call->state[operand], left, right, NULL, full));
    if (!reduce) return ILLUME_OK;
    reduce_desc sum = {.kind = REDUCE_SUM, .rank = rank};
    for (int d = 0; d < rank; d++) {
        sum.dims[d] = product.y_dims[d];
        sum.reduced[d] = d < rank - 2 && dims[d] == 1 && product.y_dims[d] != 1;
    }
    return device->reduce(device, &sum, full, dx);
}

static illume_status backward(const op_backward_call *call) {
    const op_call *forward = call->forward;
    matmul_desc desc;
    int rank;
    int64_t dims[ILLUME_MAX_RANK];
    ILLUME_TRY(describe(forward->context, forward->graph, forward->node, &desc, &rank, dims));
    for (int operand = 0; operand < 2; operand++)
        if (call->input_gradients[operand])
            ILLUME_TRY(operand_gradient(call, &desc, operand, call->input_gradients[operand]));
    return ILLUME_OK;
}

static op_reads backward_reads(const graph *g, const graph_node *node) {
    (void)g;
    (void)node;
    return (op_reads){.inputs = 3u};
}

/* Room for an operand's gradient over all of y's batches, when it was broadcast. */
static size_t backward_scratch(const graph *g, const graph_node *node) {
    matmul_desc desc;
    int rank;
    int64_t dims[ILLUME_MAX_RANK];
    if (describe(NULL, g, node, &desc, &rank, dims) != ILLUME_OK) return 0;
    /* y's batches and an operand's matrix come from different values: their
     * product saturates, and the planner refuses a scratch that large. */
    int64_t batch = 1, largest = 0;
    for (int d = 0; d < desc.rank - 2; d++) batch *= desc.y_dims[d];
    for (int operand = 0; operand < 2; operand++) {
        const int64_t *operand_dims = operand == 0 ? desc.a_dims : desc.b_dims;
        int64_t size = saturating_product(saturating_product(batch, operand_dims[desc.rank - 2]),
                                          operand_dims[desc.rank - 1]);
        if (broadcast_batch(&desc, operand_dims) && size > largest) largest = size;
    }
    return (uint64_t)largest > SIZE_MAX / sizeof(float) ? SIZE_MAX : (size_t)largest * sizeof(float);
}

static int64_t flops(const graph *g, const graph_node *node) {
    const graph_value *a = graph_input(g, node, 0), *y = graph_output(g, node, 0);
    int64_t outputs;
    if (shape_element_count(y->rank, y->dims, &outputs)) return 0;
    return saturating_product(saturating_product(2, outputs), a->dims[a->rank - 1]);
}

const op_definition op_matmul = {
    .name = "MatMul", .traits = OP_LINEAR, .min_inputs = 2, .max_inputs = 2, .min_outputs = 1, .max_outputs = 1,
    .attributes = attributes, .infer = infer, .forward = forward, .flops = flops, .backward = backward,
    .backward_reads = backward_reads, .backward_scratch_bytes = backward_scratch};
