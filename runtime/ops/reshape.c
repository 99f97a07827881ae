/* Reshape to a shape known when the session is made: 0 keeps the input's
 * dimension (unless allowzero), -1 takes what is left. A view. */
#include "op_support.h"

static const op_attribute attributes[] = {{"allowzero", ATTRIBUTE_INT, 14, 0}, {NULL, 0, 0, 0}};

static illume_status infer(illume_context *context, graph *g, graph_node *node) {
    ILLUME_TRY(require_shape(context, g, node, 0, -1));
    const graph_value *x = graph_input(g, node, 0);
    int64_t shape[ILLUME_MAX_RANK];
    int rank;
    ILLUME_TRY(constant_ints(context, g, node, 1, shape, ILLUME_MAX_RANK, &rank));
    if (graph_input(g, node, 1)->rank != 1)
        return node_fail(context, node, ILLUME_ERROR_INVALID_MODEL, "the shape must be a 1-D tensor");
    int allow_zero = graph_attribute_int(node, "allowzero", 0) != 0;
    int64_t total, known = 1;
    shape_element_count(x->rank, x->dims, &total);
    int inferred = -1;
    for (int d = 0; d < rank; d++) {
        if (shape[d] == 0 && !allow_zero) {
            if (d >= x->rank)
                return node_fail(context, node, ILLUME_ERROR_INVALID_MODEL, "0 at dimension %d copies a missing dimension",
                                 d);
            shape[d] = x->dims[d];
        }
        if (shape[d] == -1) {
            if (inferred >= 0) return node_fail(context, node, ILLUME_ERROR_INVALID_MODEL, "more than one -1 in the shape");
            inferred = d;
            continue;
        }
        if (shape[d] < 0)
            return node_fail(context, node, ILLUME_ERROR_INVALID_MODEL, "negative dimension %lld", (long long)shape[d]);
        if (shape[d] != 0 && known > INT64_MAX / shape[d])
            return node_fail(context, node, ILLUME_ERROR_INVALID_MODEL, "the shape overflows");
        known *= shape[d];
    }
    if (inferred >= 0) {
        if (known == 0 || total % known != 0)
            return node_fail(context, node, ILLUME_ERROR_INVALID_MODEL, "cannot infer the -1 dimension");
        shape[inferred] = total / known;
        known = total;
    }
    if (known != total) {
        char a[128], b[128];
        return node_fail(context, node, ILLUME_ERROR_INVALID_MODEL, "cannot reshape %s into %s",
                         shape_format(x->rank, x->dims, a, sizeof a), shape_format(rank, shape, b, sizeof b));
    }
    return set_output(context, g, node, 0, x->dtype, rank, shape);
}

const op_definition op_reshape = {
    .name = "Reshape", .traits = OP_KEEPS_SIGN | OP_SHAPED_BY_INPUT, .shape_input = 1, .min_inputs = 2,
    .max_inputs = 2, .min_outputs = 1, .max_outputs = 1, .attributes = attributes, .infer = infer, .fold = fold_view,
    .is_view = 1};
