/* Shape: the input's dimensions (from start to end, opset 15), always known
 * when the session is made, so always a constant. */
#include "op_support.h"

static const op_attribute attributes[] = {
    {"start", ATTRIBUTE_INT, 15, 0}, {"end", ATTRIBUTE_INT, 15, 0}, {NULL, 0, 0, 0}};

static int64_t clamp_index(int64_t index, int rank) {
    if (index < 0) index += rank;
    return index < 0 ? 0 : (index > rank ? rank : index);
}

static illume_status infer(illume_context *context, graph *g, graph_node *node) {
    ILLUME_TRY(require_shape(context, g, node, 0, -1));
    const graph_value *x = graph_input(g, node, 0);
    int64_t start = clamp_index(graph_attribute_int(node, "start", 0), x->rank);
    int64_t end = clamp_index(graph_attribute_int(node, "end", x->rank), x->rank);
    int64_t count = end > start ? end - start : 0;
    ILLUME_TRY(set_output(context, g, node, 0, ILLUME_INT64, 1, &count));
    int64_t *data = allocate_output_constant(context, g, node, 0);
    if (!data) return ILLUME_ERROR_OUT_OF_MEMORY;
    for (int64_t d = 0; d < count; d++) data[d] = x->dims[start + d];
    return ILLUME_OK;
}

const op_definition op_shape = {
    .name = "Shape", .traits = OP_PLAIN, .min_inputs = 1, .max_inputs = 1, .min_outputs = 1, .max_outputs = 1,
    .attributes = attributes, .infer = infer};
