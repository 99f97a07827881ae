/* Identity and Dropout (inference: the identity). Views, removed by the
 * simplification pass. */
#include "op_support.h"

static const op_attribute identity_attributes[] = {{NULL, 0, 0, 0}};
static const op_attribute dropout_attributes[] = {
    {"ratio", ATTRIBUTE_FLOAT, 0, 11}, {"seed", ATTRIBUTE_INT, 12, 0}, {"is_test", ATTRIBUTE_INT, 0, 6},
    {NULL, 0, 0, 0}};
static const op_input dropout_inputs[] = {{1, "ratio", 12, 0}, {2, "training_mode", 12, 0}, {0, NULL, 0, 0}};

static illume_status check_dropout(illume_context *context, const graph *g, const graph_node *node) {
    (void)g;
    if (node->output_count > 1 && node->outputs[1] >= 0)
        return node_fail(context, node, ILLUME_ERROR_UNSUPPORTED, "the mask output is not supported");
    return ILLUME_OK;
}

static illume_status infer_dropout(illume_context *context, graph *g, graph_node *node) {
    const graph_value *training = graph_input(g, node, 2);
    if (training) {
        if (!training->constant)
            return node_fail(context, node, ILLUME_ERROR_UNSUPPORTED, "training_mode must be a constant");
        if (((const int64_t *)training->constant)[0] != 0)
            return node_fail(context, node, ILLUME_ERROR_UNSUPPORTED, "training_mode is not supported (inference only)");
    }
    return set_output_like(context, g, node, 0, 0);
}

static illume_status infer_identity(illume_context *context, graph *g, graph_node *node) {
    return set_output_like(context, g, node, 0, 0);
}

const op_definition op_identity = {.name = "Identity", .min_inputs = 1, .max_inputs = 1, .min_outputs = 1,
                                   .max_outputs = 1, .attributes = identity_attributes, .infer = infer_identity,
                                   .fold = fold_view, .is_view = 1};

const op_definition op_dropout = {.name = "Dropout", .min_inputs = 1, .max_inputs = 3, .min_outputs = 1,
                                  .max_outputs = 2, .attributes = dropout_attributes,
                                  .versioned_inputs = dropout_inputs, .check = check_dropout,
                                  .infer = infer_dropout, .fold = fold_view, .is_view = 1};
