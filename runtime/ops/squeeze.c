/* Squeeze and Unsqueeze: remove or insert dimensions of size one, with axes
 * as an attribute (before opset 13) or a constant input. Views. */
#include <string.h>

#include "op_support.h"

static const op_attribute attributes[] = {{"axes", ATTRIBUTE_INTS, 0, 12}, {NULL, 0, 0, 0}};
static const op_input inputs[] = {{1, "axes", 13, 0}, {0, NULL, 0, 0}};

static illume_status read_axes(illume_context *context, const graph *g, const graph_node *node, int64_t *axes,
                               int *count) {
    if (graph_input(g, node, 1)) return constant_ints(context, g, node, 1, axes, ILLUME_MAX_RANK, count);
    const int64_t *given = graph_attribute_ints(node, "axes", count);
    if (*count > ILLUME_MAX_RANK)
        return node_fail(context, node, ILLUME_ERROR_INVALID_MODEL, "too many axes");
    if (given) memcpy(axes, given, sizeof(int64_t) * (size_t)*count);
    else *count = -1;
    return ILLUME_OK;
}

static illume_status infer_squeeze(illume_context *context, graph *g, graph_node *node) {
    ILLUME_TRY(require_shape(context, g, node, 0, -1));
    const graph_value *x = graph_input(g, node, 0);
    int64_t axes[ILLUME_MAX_RANK];
    int count;
    ILLUME_TRY(read_axes(context, g, node, axes, &count));
    int removed[ILLUME_MAX_RANK] = {0};
    for (int i = 0; i < count; i++) {
        int axis;
        ILLUME_TRY(normalize_axis(context, node, axes[i], x->rank, &axis));
        if (x->dims[axis] != 1)
            return node_fail(context, node, ILLUME_ERROR_INVALID_MODEL, "dimension %d has size %lld, not 1", axis,
                             (long long)x->dims[axis]);
        removed[axis] = 1;
    }
    int64_t dims[ILLUME_MAX_RANK];
    int rank = 0;
    for (int d = 0; d < x->rank; d++)
        if (!(count < 0 ? x->dims[d] == 1 : removed[d])) dims[rank++] = x->dims[d];
    return set_output(context, g, node, 0, x->dtype, rank, dims);
}

static illume_status infer_unsqueeze(illume_context *context, graph *g, graph_node *node) {
    ILLUME_TRY(require_shape(context, g, node, 0, -1));
    const graph_value *x = graph_input(g, node, 0);
    int64_t axes[ILLUME_MAX_RANK];
    int count;
    ILLUME_TRY(read_axes(context, g, node, axes, &count));
    if (count < 0) return node_fail(context, node, ILLUME_ERROR_INVALID_MODEL, "axes are required");
    int rank = x->rank + count;
    if (rank > ILLUME_MAX_RANK)
        return node_fail(context, node, ILLUME_ERROR_UNSUPPORTED, "output rank %d exceeds %d", rank, ILLUME_MAX_RANK);
    int inserted[ILLUME_MAX_RANK] = {0};
    for (int i = 0; i < count; i++) {
        int axis;
        ILLUME_TRY(normalize_axis(context, node, axes[i], rank, &axis));
        if (inserted[axis]) return node_fail(context, node, ILLUME_ERROR_INVALID_MODEL, "axis %d repeats", axis);
        inserted[axis] = 1;
    }
    int64_t dims[ILLUME_MAX_RANK];
    for (int d = 0, k = 0; d < rank; d++) dims[d] = inserted[d] ? 1 : x->dims[k++];
    return set_output(context, g, node, 0, x->dtype, rank, dims);
}

const op_definition op_squeeze = {
    .name = "Squeeze", .traits = OP_KEEPS_SIGN, .min_inputs = 1, .max_inputs = 2, .min_outputs = 1, .max_outputs = 1,
    .attributes = attributes, .versioned_inputs = inputs, .infer = infer_squeeze, .fold = fold_view, .is_view = 1};

const op_definition op_unsqueeze = {
    .name = "Unsqueeze", .traits = OP_KEEPS_SIGN, .min_inputs = 1, .max_inputs = 2, .min_outputs = 1, .max_outputs = 1,
    .attributes = attributes, .versioned_inputs = inputs, .infer = infer_unsqueeze, .fold = fold_view, .is_view = 1};
