/* Transpose by a permutation (default: reversed axes). */
#include "op_support.h"

static const op_attribute attributes[] = {{"perm", ATTRIBUTE_INTS, 0, 0}, {NULL, 0, 0, 0}};

static illume_status permutation(illume_context *context, const graph *g, const graph_node *node, int *perm) {
    ILLUME_TRY(require_shape(context, g, node, 0, -1));
    int rank = OP_INPUT_RANK(g, node, 0);
    int count;
    const int64_t *given = graph_attribute_ints(node, "perm", &count);
    if (given && count != rank)
        return node_fail(context, node, ILLUME_ERROR_INVALID_MODEL, "perm has %d values for rank %d", count, rank);
    int seen[ILLUME_MAX_RANK] = {0};
    for (int d = 0; d < rank; d++) {
        int64_t p = given ? given[d] : rank - 1 - d;
        if (p < 0) p += rank;
        if (p < 0 || p >= rank || seen[p])
            return node_fail(context, node, ILLUME_ERROR_INVALID_MODEL, "perm is not a permutation");
        seen[p] = 1;
        perm[d] = (int)p;
    }
    return ILLUME_OK;
}

static illume_status infer(illume_context *context, graph *g, graph_node *node) {
    int perm[ILLUME_MAX_RANK];
    ILLUME_TRY(permutation(context, g, node, perm));
    const graph_value *x = graph_input(g, node, 0);
    int64_t dims[ILLUME_MAX_RANK];
    for (int d = 0; d < x->rank; d++) dims[d] = x->dims[perm[d]];
    return set_output(context, g, node, 0, x->dtype, x->rank, dims);
}

static illume_status copies(illume_context *context, const graph *g, const graph_node *node, copy_visitor visit,
                            void *closure) {
    int perm[ILLUME_MAX_RANK];
    ILLUME_TRY(permutation(context, g, node, perm));
    const graph_value *x = graph_input(g, node, 0);
    int64_t x_strides[ILLUME_MAX_RANK];
    contiguous_strides(x->rank, x->dims, x_strides);
    copy_desc desc = {.rank = x->rank};
    for (int d = 0; d < x->rank; d++) {
        desc.dims[d] = x->dims[perm[d]];
        desc.src_strides[d] = x_strides[perm[d]];
    }
    contiguous_strides(x->rank, desc.dims, desc.dst_strides);
    return visit(closure, &desc, 0, 0);
}

static illume_status fold(illume_context *context, graph *g, graph_node *node) {
    return fold_by_copies(context, g, node, copies);
}

static illume_status forward(const op_call *call) { return forward_by_copies(call, copies); }

static illume_status backward(const op_backward_call *call) { return backward_by_copies(call, copies); }

const op_definition op_transpose = {
    .name = "Transpose", .traits = OP_KEEPS_SIGN, .min_inputs = 1, .max_inputs = 1, .min_outputs = 1, .max_outputs = 1,
    .attributes = attributes, .infer = infer, .fold = fold, .forward = forward, .backward = backward};
