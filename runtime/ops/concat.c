/* Concat along one axis: each input is copied into its slab of the output. */
#include "op_support.h"

static const op_attribute attributes[] = {{"axis", ATTRIBUTE_INT, 0, 0}, {NULL, 0, 0, 0}};

static illume_status infer(illume_context *context, graph *g, graph_node *node) {
    ILLUME_TRY(require_shape(context, g, node, 0, -1));
    const graph_value *first = graph_input(g, node, 0);
    if (first->rank < 1) return node_fail(context, node, ILLUME_ERROR_INVALID_MODEL, "inputs must have rank 1 or more");
    int axis;
    ILLUME_TRY(normalize_axis(context, node, graph_attribute_int(node, "axis", g->opset < 4 ? 1 : 0), first->rank,
                              &axis));
    int64_t dims[ILLUME_MAX_RANK];
    for (int d = 0; d < first->rank; d++) dims[d] = first->dims[d];
    dims[axis] = 0;
    for (int i = 0; i < node->input_count; i++) {
        ILLUME_TRY(require_shape(context, g, node, i, first->rank));
        const graph_value *input = graph_input(g, node, i);
        if (input->dtype != first->dtype)
            return node_fail(context, node, ILLUME_ERROR_INVALID_MODEL, "inputs have different element types");
        for (int d = 0; d < first->rank; d++)
            if (d != axis && input->dims[d] != first->dims[d])
                return node_fail(context, node, ILLUME_ERROR_INVALID_MODEL,
                                 "input '%s' differs in dimension %d (%lld, expected %lld)", input->name, d,
                                 (long long)input->dims[d], (long long)first->dims[d]);
        if (input->dims[axis] > SHAPE_EXTENT_LIMIT - dims[axis])
            return node_fail(context, node, ILLUME_ERROR_INVALID_MODEL,
                             "the inputs' dimension %d adds up past 2^60 - 1", axis);
        dims[axis] += input->dims[axis];
    }
    return set_output(context, g, node, 0, first->dtype, first->rank, dims);
}

static illume_status copies(illume_context *context, const graph *g, const graph_node *node, copy_visitor visit,
                            void *closure) {
    const graph_value *y = graph_output(g, node, 0);
    int axis;
    ILLUME_TRY(normalize_axis(context, node, graph_attribute_int(node, "axis", g->opset < 4 ? 1 : 0), y->rank, &axis));
    int64_t y_strides[ILLUME_MAX_RANK];
    contiguous_strides(y->rank, y->dims, y_strides);
    int64_t offset = 0;
    for (int i = 0; i < node->input_count; i++) {
        const graph_value *x = graph_input(g, node, i);
        copy_desc desc = {.rank = x->rank, .dst_offset = offset * y_strides[axis]};
        for (int d = 0; d < x->rank; d++) {
            desc.dims[d] = x->dims[d];
            desc.dst_strides[d] = y_strides[d];
        }
        contiguous_strides(x->rank, x->dims, desc.src_strides);
        ILLUME_TRY(visit(closure, &desc, i, 0));
        offset += x->dims[axis];
    }
    return ILLUME_OK;
}

static illume_status fold(illume_context *context, graph *g, graph_node *node) {
    return fold_by_copies(context, g, node, copies);
}

static illume_status forward(const op_call *call) { return forward_by_copies(call, copies); }

static illume_status backward(const op_backward_call *call) { return backward_by_copies(call, copies); }

const op_definition op_concat = {
    .name = "Concat", .kind = KIND_CONCAT, .traits = OP_KEEPS_SIGN, .min_inputs = 1, .max_inputs = 1 << 20,
    .min_outputs = 1, .max_outputs = 1, .attributes = attributes, .infer = infer, .fold = fold, .forward = forward,
    .backward = backward};
