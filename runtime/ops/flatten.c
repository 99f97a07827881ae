/* Flatten to 2-D at an axis: (d0 x ... x d(axis-1), the rest). A view. */
#include "op_support.h"

static const op_attribute attributes[] = {{"axis", ATTRIBUTE_INT, 0, 0}, {NULL, 0, 0, 0}};

static illume_status infer(illume_context *context, graph *g, graph_node *node) {
    ILLUME_TRY(require_shape(context, g, node, 0, -1));
    const graph_value *x = graph_input(g, node, 0);
    int64_t axis = graph_attribute_int(node, "axis", 1);
    if (axis < 0) axis += x->rank;
    if (axis < 0 || axis > x->rank)
        return node_fail(context, node, ILLUME_ERROR_INVALID_MODEL, "axis %lld is out of range for rank %d",
                         (long long)graph_attribute_int(node, "axis", 1), x->rank);
    int64_t dims[2] = {1, 1};
    for (int d = 0; d < x->rank; d++) dims[d < axis ? 0 : 1] *= x->dims[d];
    return set_output(context, g, node, 0, x->dtype, 2, dims);
}

const op_definition op_flatten = {
    .name = "Flatten", .traits = OP_KEEPS_SIGN, .min_inputs = 1, .max_inputs = 1, .min_outputs = 1, .max_outputs = 1,
    .attributes = attributes, .infer = infer, .fold = fold_view, .is_view = 1};
