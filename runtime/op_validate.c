/* Checks an imported node against its op's definition in the op table
 * (runtime/op_table.c): what any opset allows, then what the graph's
 * opset defines. The importer calls these on every node, and so does a
 * model made from a graph built in code. */
#include <stdio.h>
#include <string.h>

#include "op.h"

static const op_attribute *attribute_known(const op_definition *definition, const char *name) {
    for (const op_attribute *known = definition->attributes; known && known->name; known++)
        if (strcmp(known->name, name) == 0) return known;
    return NULL;
}

static const char *attribute_type_name(graph_attribute_type type) {
    static const char *names[] = {"a float", "an int", "a string", "floats", "ints", "strings", "a tensor", "other"};
    return names[type];
}

illume_status op_validate_node(illume_context *context, const graph *g, const graph_node *node) {
    const op_definition *definition = op_get(node->op);
    int inputs = node->input_count;
    while (inputs > 0 && node->inputs[inputs - 1] < 0) inputs--;
    if (inputs < definition->min_inputs || node->input_count > definition->max_inputs)
        return illume_fail(context, ILLUME_ERROR_INVALID_MODEL, "node '%s' (%s): has %d inputs, expects %d to %d",
                           node->name, definition->name, node->input_count, definition->min_inputs,
                           definition->max_inputs);
    for (int i = 0; i < definition->min_inputs; i++)
        if (node->inputs[i] < 0)
            return illume_fail(context, ILLUME_ERROR_INVALID_MODEL, "node '%s' (%s): required input %d is empty",
                               node->name, definition->name, i);
    if (node->output_count < definition->min_outputs || node->output_count > definition->max_outputs)
        return illume_fail(context, ILLUME_ERROR_INVALID_MODEL, "node '%s' (%s): has %d outputs, expects %d to %d",
                           node->name, definition->name, node->output_count, definition->min_outputs,
                           definition->max_outputs);
    if (node->outputs[0] < 0)
        return illume_fail(context, ILLUME_ERROR_INVALID_MODEL, "node '%s' (%s): its first output has no name",
                           node->name, definition->name);
    for (int a = 0; a < node->attribute_count; a++) {
        const graph_attribute *attribute = &node->attributes[a];
        const op_attribute *known = attribute_known(definition, attribute->name);
        if (!known)
            return illume_fail(context, ILLUME_ERROR_UNSUPPORTED, "node '%s' (%s): attribute '%s' is not supported",
                               node->name, definition->name, attribute->name);
        if (known->type != attribute->type)
            return illume_fail(context, ILLUME_ERROR_INVALID_MODEL, "node '%s' (%s): attribute '%s' must be %s, not %s",
                               node->name, definition->name, attribute->name, attribute_type_name(known->type),
                               attribute_type_name(attribute->type));
        for (int b = 0; b < a; b++)
            if (strcmp(node->attributes[b].name, attribute->name) == 0)
                return illume_fail(context, ILLUME_ERROR_INVALID_MODEL, "node '%s' (%s): attribute '%s' is repeated",
                                   node->name, definition->name, attribute->name);
    }
    if (definition->check) return definition->check(context, g, node);
    return ILLUME_OK;
}

/* Fails naming the part of a node that the graph's opset does not define. */
static illume_status opset_fail(illume_context *context, const graph *g, const graph_node *node, const char *part,
                                int since, int until) {
    char range[64];
    op_opset_range_text(since, until, range, sizeof range);
    return illume_fail(context, ILLUME_ERROR_INVALID_MODEL, "node '%s' (%s): %s exists %s, and the model's opset is %d",
                       node->name, op_get(node->op)->name, part, range, g->opset);
}

/* The op's first entry for the input at index when none of its entries for
 * that index covers the opset; NULL when one does, or when the op has none
 * (the input exists wherever the op does). */
static const op_input *input_undefined(const op_definition *definition, int index, int opset) {
    const op_input *first = NULL;
    for (const op_input *input = definition->versioned_inputs; input && input->name; input++) {
        if (input->index != index) continue;
        if (op_opset_within(opset, input->since, input->until)) return NULL;
        if (!first) first = input;
    }
    return first;
}

illume_status op_validate_opset(illume_context *context, const graph *g, const graph_node *node) {
    const op_definition *definition = op_get(node->op);
    char part[160];
    if (!op_opset_within(g->opset, definition->since, 0))
        return opset_fail(context, g, node, "the op", definition->since, 0);
    for (int i = 0; i < node->input_count; i++) {
        const op_input *input = node->inputs[i] >= 0 ? input_undefined(definition, i, g->opset) : NULL;
        if (!input) continue;
        snprintf(part, sizeof part, "input %d (%s)", i, input->name);
        return opset_fail(context, g, node, part, input->since, input->until);
    }
    for (int a = 0; a < node->attribute_count; a++) {
        const op_attribute *known = attribute_known(definition, node->attributes[a].name);
        if (!known || op_opset_within(g->opset, known->since, known->until)) continue;
        snprintf(part, sizeof part, "attribute '%.100s'", known->name);
        return opset_fail(context, g, node, part, known->since, known->until);
    }
    return ILLUME_OK;
}
