/* Gather along an axis with indices known when the session is made: one
 * slab copy per index. */
#include "op_support.h"

static const op_attribute attributes[] = {{"axis", ATTRIBUTE_INT, 0, 0}, {NULL, 0, 0, 0}};

static illume_status indices(illume_context *context, const graph *g, const graph_node *node, int *axis,
                             const graph_value **index_value) {
    ILLUME_TRY(require_shape(context, g, node, 0, -1));
    ILLUME_TRY(require_shape(context, g, node, 1, -1));
    const graph_value *x = graph_input(g, node, 0), *index = graph_input(g, node, 1);
    if (x->rank < 1) return node_fail(context, node, ILLUME_ERROR_INVALID_MODEL, "data must have rank 1 or more");
    ILLUME_TRY(normalize_axis(context, node, graph_attribute_int(node, "axis", 0), x->rank, axis));
    if (index->dtype != ILLUME_INT64)
        return node_fail(context, node, ILLUME_ERROR_INVALID_MODEL, "indices must be integers");
    if (!index->constant)
        return node_fail(context, node, ILLUME_ERROR_UNSUPPORTED,
                         "indices must be known when the session is made (they depend on the input data)");
    if (x->rank + index->rank - 1 > ILLUME_MAX_RANK)
        return node_fail(context, node, ILLUME_ERROR_UNSUPPORTED, "output rank exceeds %d", ILLUME_MAX_RANK);
    int64_t count;
    shape_element_count(index->rank, index->dims, &count);
    const int64_t *values = index->constant;
    for (int64_t i = 0; i < count; i++)
        if (values[i] < -x->dims[*axis] || values[i] >= x->dims[*axis])
            return node_fail(context, node, ILLUME_ERROR_INVALID_MODEL, "index %lld is out of range for size %lld",
                             (long long)values[i], (long long)x->dims[*axis]);
    *index_value = index;
    return ILLUME_OK;
}

static illume_status infer(illume_context *context, graph *g, graph_node *node) {
    int axis;
    const graph_value *index;
    ILLUME_TRY(indices(context, g, node, &axis, &index));
    const graph_value *x = graph_input(g, node, 0);
    int64_t dims[ILLUME_MAX_RANK];
    int rank = 0;
    for (int d = 0; d < axis; d++) dims[rank++] = x->dims[d];
    for (int d = 0; d < index->rank; d++) dims[rank++] = index->dims[d];
    for (int d = axis + 1; d < x->rank; d++) dims[rank++] = x->dims[d];
    return set_output(context, g, node, 0, x->dtype, rank, dims);
}

/* Each index i copies x[..., index[i], ...] to y[..., i, ...]: the output seen
 * as (outer, count, inner) and the input as (outer, size, inner). */
static illume_status copies(illume_context *context, const graph *g, const graph_node *node, copy_visitor visit,
                            void *closure) {
    int axis;
    const graph_value *index;
    ILLUME_TRY(indices(context, g, node, &axis, &index));
    const graph_value *x = graph_input(g, node, 0);
    int64_t outer = 1, inner = 1, count;
    for (int d = 0; d < axis; d++) outer *= x->dims[d];
    for (int d = axis + 1; d < x->rank; d++) inner *= x->dims[d];
    shape_element_count(index->rank, index->dims, &count);
    const int64_t *values = index->constant;
    for (int64_t i = 0; i < count; i++) {
        int64_t position = values[i] < 0 ? values[i] + x->dims[axis] : values[i];
        copy_desc desc = {.rank = 2,
                          .dims = {outer, inner},
                          .src_strides = {x->dims[axis] * inner, 1},
                          .dst_strides = {count * inner, 1},
                          .src_offset = position * inner,
                          .dst_offset = i * inner};
        ILLUME_TRY(visit(closure, &desc, 0, 0));
    }
    return ILLUME_OK;
}

static illume_status fold(illume_context *context, graph *g, graph_node *node) {
    return fold_by_copies(context, g, node, copies);
}

static illume_status forward(const op_call *call) { return forward_by_copies(call, copies); }

static illume_status backward(const op_backward_call *call) { return backward_by_copies(call, copies); }

const op_definition op_gather = {
    .name = "Gather", .traits = OP_KEEPS_SIGN, .min_inputs = 2, .max_inputs = 2, .min_outputs = 1, .max_outputs = 1,
    .attributes = attributes, .infer = infer, .fold = fold, .forward = forward, .backward = backward};
