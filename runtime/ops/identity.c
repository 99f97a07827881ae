/* Identity and Dropout (inference: the identity, its mask all true, a
 * constant). Views, removed by the simplification pass. */
#include "op_support.h"

static const op_attribute identity_attributes[] = {{NULL, 0, 0, 0}};
static const op_attribute dropout_attributes[] = {
    {"ratio", ATTRIBUTE_FLOAT, 0, 11}, {"seed", ATTRIBUTE_INT, 12, 0}, {"is_test", ATTRIBUTE_INT, 0, 6},
    {NULL, 0, 0, 0}};
static const op_input dropout_inputs[] = {{1, "ratio", 12, 0}, {2, "training_mode", 12, 0}, {0, NULL, 0, 0}};

static illume_status infer_dropout(illume_context *context, graph *g, graph_node *node) {
    const graph_value *training = graph_input(g, node, 2);
    if (training) {
        if (!training->constant)
            return node_fail(context, node, ILLUME_ERROR_UNSUPPORTED, "training_mode must be a constant");
        if (((const int64_t *)training->constant)[0] != 0)
            return node_fail(context, node, ILLUME_ERROR_UNSUPPORTED, "training_mode is not supported (inference only)");
    }
    ILLUME_TRY(set_output_like(context, g, node, 0, 0));
    if (node->output_count < 2 || node->outputs[1] < 0) return ILLUME_OK;
    /* The mask (bool, held as int64) keeps every element in inference. */
    const graph_value *x = graph_input(g, node, 0);
    ILLUME_TRY(set_output(context, g, node, 1, ILLUME_INT64, x->rank, x->dims));
    int64_t *mask = allocate_output_constant(context, g, node, 1);
    if (!mask) return ILLUME_ERROR_OUT_OF_MEMORY;
    int64_t count = output_elements(g, node, 1);
    for (int64_t i = 0; i < count; i++) mask[i] = 1;
    return ILLUME_OK;
}

static illume_status infer_identity(illume_context *context, graph *g, graph_node *node) {
    return set_output_like(context, g, node, 0, 0);
}

const op_definition op_identity = {
    .name = "Identity", .traits = OP_PASS_THROUGH | OP_KEEPS_SIGN | OP_KEEPS_POSITIONS, .min_inputs = 1,
    .max_inputs = 1, .min_outputs = 1, .max_outputs = 1, .attributes = identity_attributes, .infer = infer_identity,
    .fold = fold_view, .is_view = 1};

const op_definition op_dropout = {
    .name = "Dropout", .traits = OP_PASS_THROUGH | OP_KEEPS_SIGN | OP_KEEPS_POSITIONS, .min_inputs = 1,
    .max_inputs = 3, .min_outputs = 1, .max_outputs = 2, .attributes = dropout_attributes,
    .versioned_inputs = dropout_inputs, .infer = infer_dropout, .fold = fold_view, .is_view = 1};
