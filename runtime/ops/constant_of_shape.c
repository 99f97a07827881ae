/* ConstantOfShape: a tensor of the shape input 0 gives, every element the
 * one-element 'value' (float32 zero when absent). The shape is a constant once
 * a session binds its inputs (exporters compute pads this way), so the node
 * always folds. */
#include "op_support.h"

static const op_attribute attributes[] = {{"value", ATTRIBUTE_TENSOR, 0, 0}, {NULL, 0, 0, 0}};

static const graph_value *fill_value(const graph *g, const graph_node *node) {
    const graph_attribute *value = graph_attribute_find(node, "value");
    return value && value->tensor >= 0 ? &g->values[value->tensor] : NULL;
}

static illume_status check(illume_context *context, const graph *g, const graph_node *node) {
    const graph_value *value = fill_value(g, node);
    int64_t count;
    if (value && (shape_element_count(value->rank, value->dims, &count) || count != 1))
        return node_fail(context, node, ILLUME_ERROR_INVALID_MODEL, "attribute 'value' must hold one element");
    return ILLUME_OK;
}

static illume_status infer(illume_context *context, graph *g, graph_node *node) {
    ILLUME_TRY(require_shape(context, g, node, 0, 1));
    int64_t dims[ILLUME_MAX_RANK];
    int rank;
    ILLUME_TRY(constant_ints(context, g, node, 0, dims, ILLUME_MAX_RANK, &rank));
    for (int d = 0; d < rank; d++)
        if (dims[d] < 0)
            return node_fail(context, node, ILLUME_ERROR_INVALID_MODEL, "dimension %d of the shape is negative (%lld)",
                             d, (long long)dims[d]);
    const graph_value *value = fill_value(g, node);
    illume_dtype dtype = value ? value->dtype : ILLUME_FLOAT32;
    ILLUME_TRY(set_output(context, g, node, 0, dtype, rank, dims));
    void *data = allocate_output_constant(context, g, node, 0);
    if (!data) return ILLUME_ERROR_OUT_OF_MEMORY;
    int64_t count;
    shape_element_count(rank, dims, &count);
    if (!value) return ILLUME_OK;
    for (int64_t i = 0; i < count; i++) {
        if (dtype == ILLUME_FLOAT32)
            ((float *)data)[i] = *(const float *)value->constant;
        else
            ((int64_t *)data)[i] = *(const int64_t *)value->constant;
    }
    return ILLUME_OK;
}

const op_definition op_constant_of_shape = {
    .name = "ConstantOfShape", .traits = OP_SHAPED_BY_INPUT, .shape_input = 0, .since = 9, .min_inputs = 1,
    .max_inputs = 1, .min_outputs = 1, .max_outputs = 1, .attributes = attributes, .check = check, .infer = infer};
