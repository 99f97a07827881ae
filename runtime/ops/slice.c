/* Slice with starts, ends, axes and steps (attributes before opset 10,
 * constant inputs after), clamped as the ONNX spec says; negative steps
 * read backwards. */
#include "op_support.h"

static const op_attribute attributes[] = {
    {"starts", ATTRIBUTE_INTS, 0, 9}, {"ends", ATTRIBUTE_INTS, 0, 9}, {"axes", ATTRIBUTE_INTS, 0, 9}, {NULL, 0, 0, 0}};
static const op_input inputs[] = {
    {1, "starts", 10, 0}, {2, "ends", 10, 0}, {3, "axes", 10, 0}, {4, "steps", 10, 0}, {0, NULL, 0, 0}};

typedef struct slice_geometry {
    int64_t start[ILLUME_MAX_RANK], step[ILLUME_MAX_RANK], size[ILLUME_MAX_RANK];
} slice_geometry;

static illume_status read_list(illume_context *context, const graph *g, const graph_node *node, int input,
                               const char *attribute, int64_t *values, int *count) {
    if (g->opset < 10) {
        const int64_t *given = graph_attribute_ints(node, attribute, count);
        if (*count > ILLUME_MAX_RANK)
            return node_fail(context, node, ILLUME_ERROR_INVALID_MODEL, "%s has too many values", attribute);
        for (int i = 0; i < *count; i++) values[i] = given[i];
        if (!given) *count = -1;
        return ILLUME_OK;
    }
    if (!graph_input(g, node, input)) {
        *count = -1;
        return ILLUME_OK;
    }
    return constant_ints(context, g, node, input, values, ILLUME_MAX_RANK, count);
}

static int64_t clamp(int64_t value, int64_t low, int64_t high) { return value < low ? low : (value > high ? high : value); }

static illume_status geometry_of(illume_context *context, const graph *g, const graph_node *node,
                                 slice_geometry *geometry) {
    ILLUME_TRY(require_shape(context, g, node, 0, -1));
    const graph_value *x = graph_input(g, node, 0);
    int64_t starts[ILLUME_MAX_RANK], ends[ILLUME_MAX_RANK], axes[ILLUME_MAX_RANK], steps[ILLUME_MAX_RANK];
    int start_count, end_count, axis_count, step_count;
    ILLUME_TRY(read_list(context, g, node, 1, "starts", starts, &start_count));
    ILLUME_TRY(read_list(context, g, node, 2, "ends", ends, &end_count));
    ILLUME_TRY(read_list(context, g, node, 3, "axes", axes, &axis_count));
    ILLUME_TRY(read_list(context, g, node, 4, "steps", steps, &step_count));
    if (start_count < 0 || end_count != start_count)
        return node_fail(context, node, ILLUME_ERROR_INVALID_MODEL, "starts and ends must have the same length");
    if ((axis_count >= 0 && axis_count != start_count) || (step_count >= 0 && step_count != start_count))
        return node_fail(context, node, ILLUME_ERROR_INVALID_MODEL, "axes and steps must match starts in length");
    for (int d = 0; d < x->rank; d++) {
        geometry->start[d] = 0;
        geometry->step[d] = 1;
        geometry->size[d] = x->dims[d];
    }
    int used[ILLUME_MAX_RANK] = {0};
    for (int i = 0; i < start_count; i++) {
        int axis;
        ILLUME_TRY(normalize_axis(context, node, axis_count >= 0 ? axes[i] : i, x->rank, &axis));
        if (used[axis]) return node_fail(context, node, ILLUME_ERROR_INVALID_MODEL, "axis %d repeats", axis);
        used[axis] = 1;
        int64_t dim = x->dims[axis], step = step_count >= 0 ? steps[i] : 1;
        if (step == 0) return node_fail(context, node, ILLUME_ERROR_INVALID_MODEL, "step is zero");
        int64_t start = starts[i], end = ends[i];
        if (start < 0) start += dim;
        if (end < 0) end += dim;
        if (step > 0) {
            start = clamp(start, 0, dim);
            end = clamp(end, 0, dim);
        } else {
            start = clamp(start, 0, dim - 1);
            end = clamp(end, -1, dim - 1);
        }
        int64_t distance = step > 0 ? end - start : start - end;
        int64_t stride = step > 0 ? step : (step == INT64_MIN ? INT64_MAX : -step);
        int64_t size = distance > 0 ? (distance - 1) / stride + 1 : 0;
        geometry->start[axis] = start;
        geometry->step[axis] = step;
        geometry->size[axis] = size > 0 && dim > 0 ? size : 0;
    }
    return ILLUME_OK;
}

static illume_status infer(illume_context *context, graph *g, graph_node *node) {
    slice_geometry geometry;
    ILLUME_TRY(geometry_of(context, g, node, &geometry));
    const graph_value *x = graph_input(g, node, 0);
    return set_output(context, g, node, 0, x->dtype, x->rank, geometry.size);
}

static illume_status copies(illume_context *context, const graph *g, const graph_node *node, copy_visitor visit,
                            void *closure) {
    slice_geometry geometry;
    ILLUME_TRY(geometry_of(context, g, node, &geometry));
    const graph_value *x = graph_input(g, node, 0);
    int64_t x_strides[ILLUME_MAX_RANK];
    contiguous_strides(x->rank, x->dims, x_strides);
    copy_desc desc = {.rank = x->rank};
    for (int d = 0; d < x->rank; d++) {
        desc.dims[d] = geometry.size[d];
        /* A step past the dimension takes one element, and its stride is never walked. */
        desc.src_strides[d] = geometry.size[d] > 1 ? x_strides[d] * geometry.step[d] : 0;
        if (geometry.size[d] > 0) desc.src_offset += geometry.start[d] * x_strides[d];
    }
    contiguous_strides(x->rank, desc.dims, desc.dst_strides);
    return visit(closure, &desc, 0, 0);
}

static illume_status fold(illume_context *context, graph *g, graph_node *node) {
    return fold_by_copies(context, g, node, copies);
}

static illume_status forward(const op_call *call) { return forward_by_copies(call, copies); }

static illume_status backward(const op_backward_call *call) { return backward_by_copies(call, copies); }

const op_definition op_slice = {
    .name = "Slice", .traits = OP_KEEPS_SIGN, .min_inputs = 1, .max_inputs = 5, .min_outputs = 1, .max_outputs = 1,
    .attributes = attributes, .versioned_inputs = inputs, .infer = infer, .fold = fold, .forward = forward,
    .backward = backward};
