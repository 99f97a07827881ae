/* Split along one axis into parts given by the split attribute (before
 * opset 13) or input, by num_outputs (opset 18), or evenly. */
#include "op_support.h"

static const op_attribute attributes[] = {
    {"axis", ATTRIBUTE_INT, 0, 0}, {"split", ATTRIBUTE_INTS, 0, 12}, {"num_outputs", ATTRIBUTE_INT, 18, 0},
    {NULL, 0, 0, 0}};
static const op_input inputs[] = {{1, "split", 13, 0}, {0, NULL, 0, 0}};

static illume_status sizes(illume_context *context, const graph *g, const graph_node *node, int *axis,
                           int64_t *parts) {
    ILLUME_TRY(require_shape(context, g, node, 0, -1));
    const graph_value *x = graph_input(g, node, 0);
    ILLUME_TRY(normalize_axis(context, node, graph_attribute_int(node, "axis", 0), x->rank, axis));
    int count = node->output_count;
    int given_count = 0;
    const int64_t *given = graph_attribute_ints(node, "split", &given_count);
    int64_t from_input[1024];
    if (graph_input(g, node, 1)) {
        ILLUME_TRY(constant_ints(context, g, node, 1, from_input, 1024, &given_count));
        given = from_input;
    }
    int64_t length = x->dims[*axis];
    if (given) {
        if (given_count != count)
            return node_fail(context, node, ILLUME_ERROR_INVALID_MODEL, "split has %d sizes for %d outputs",
                             given_count, count);
        int64_t total = 0;
        for (int o = 0; o < count; o++) {
            if (given[o] < 0) return node_fail(context, node, ILLUME_ERROR_INVALID_MODEL, "negative split size");
            if (given[o] > length - total)
                return node_fail(context, node, ILLUME_ERROR_INVALID_MODEL, "split sizes exceed the axis of %lld",
                                 (long long)length);
            parts[o] = given[o];
            total += given[o];
        }
        if (total != length)
            return node_fail(context, node, ILLUME_ERROR_INVALID_MODEL, "split sizes add to %lld, the axis has %lld",
                             (long long)total, (long long)length);
        return ILLUME_OK;
    }
    /* Even parts, the last one smaller when the axis does not divide (opset 18). */
    int64_t part = length / count + (length % count != 0);
    if (graph_attribute_find(node, "num_outputs") == NULL && length % count != 0)
        return node_fail(context, node, ILLUME_ERROR_INVALID_MODEL, "axis of %lld does not split evenly in %d",
                         (long long)length, count);
    for (int o = 0; o < count; o++) {
        int64_t left = length - part * o;
        parts[o] = left < 0 ? 0 : (left < part ? left : part);
    }
    return ILLUME_OK;
}

static illume_status infer(illume_context *context, graph *g, graph_node *node) {
    int axis;
    int64_t parts[1024];
    if (node->output_count > 1024)
        return node_fail(context, node, ILLUME_ERROR_UNSUPPORTED, "more than 1024 outputs");
    ILLUME_TRY(sizes(context, g, node, &axis, parts));
    const graph_value *x = graph_input(g, node, 0);
    for (int o = 0; o < node->output_count; o++) {
        int64_t dims[ILLUME_MAX_RANK];
        for (int d = 0; d < x->rank; d++) dims[d] = x->dims[d];
        dims[axis] = parts[o];
        ILLUME_TRY(set_output(context, g, node, o, x->dtype, x->rank, dims));
    }
    return ILLUME_OK;
}

static illume_status copies(illume_context *context, const graph *g, const graph_node *node, copy_visitor visit,
                            void *closure) {
    int axis;
    int64_t parts[1024];
    ILLUME_TRY(sizes(context, g, node, &axis, parts));
    const graph_value *x = graph_input(g, node, 0);
    int64_t x_strides[ILLUME_MAX_RANK];
    contiguous_strides(x->rank, x->dims, x_strides);
    int64_t offset = 0;
    for (int o = 0; o < node->output_count; o++) {
        copy_desc desc = {.rank = x->rank, .src_offset = offset * x_strides[axis]};
        for (int d = 0; d < x->rank; d++) {
            desc.dims[d] = x->dims[d];
            desc.src_strides[d] = x_strides[d];
        }
        desc.dims[axis] = parts[o];
        contiguous_strides(x->rank, desc.dims, desc.dst_strides);
        ILLUME_TRY(visit(closure, &desc, 0, o));
        offset += parts[o];
    }
    return ILLUME_OK;
}

static illume_status fold(illume_context *context, graph *g, graph_node *node) {
    return fold_by_copies(context, g, node, copies);
}

static illume_status forward(const op_call *call) { return forward_by_copies(call, copies); }

static illume_status backward(const op_backward_call *call) { return backward_by_copies(call, copies); }

const op_definition op_split = {
    .name = "Split", .traits = OP_KEEPS_SIGN, .min_inputs = 1, .max_inputs = 2, .min_outputs = 1, .max_outputs = 1024,
    .attributes = attributes, .versioned_inputs = inputs, .infer = infer, .fold = fold, .forward = forward,
    .backward = backward};
