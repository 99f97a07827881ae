#include "model.h"

#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "channel_axis.h"
#include "onnx_import.h"
#include "op.h"

#define MODEL_FILE_LIMIT ((size_t)1 << 34)

int model_add_problem(illume_model *model, int node, const char *message) {
    model_problem *grown = realloc(model->problems, sizeof(model_problem) * (size_t)(model->problem_count + 1));
    if (!grown) return -1;
    model->problems = grown;
    grown[model->problem_count].node = node;
    grown[model->problem_count].message = strdup(message);
    if (!grown[model->problem_count].message) return -1;
    model->problem_count++;
    return 0;
}

illume_status model_from_graph(illume_context *context, graph *g, illume_model **model) {
    *model = NULL;
    for (int n = 0; n < g->node_count; n++) {
        if (!op_get(g->nodes[n].op)) {
            graph_free(g);
            return illume_fail(context, ILLUME_ERROR_UNSUPPORTED, "node '%s': unknown op", g->nodes[n].name);
        }
        illume_status status = model_validate_opset(context, g, &g->nodes[n]);
        if (status == ILLUME_OK) status = model_validate_node(context, g, &g->nodes[n]);
        if (status != ILLUME_OK) {
            graph_free(g);
            return status;
        }
    }
    illume_model *result = calloc(1, sizeof *result);
    if (!result) {
        graph_free(g);
        return illume_fail(context, ILLUME_ERROR_OUT_OF_MEMORY, "out of memory");
    }
    result->graph = g;
    *model = result;
    return ILLUME_OK;
}

static illume_status load_path(illume_context *context, const char *path, int permissive, illume_model **model) {
    *model = NULL;
    if (!path) return illume_fail(context, ILLUME_ERROR_INVALID_INPUT, "no model path given");
    unsigned char *bytes;
    size_t size;
    ILLUME_TRY(read_file(context, path, MODEL_FILE_LIMIT, &bytes, &size));
    char *path_copy = strdup(path);
    if (!path_copy) {
        free(bytes);
        return illume_fail(context, ILLUME_ERROR_OUT_OF_MEMORY, "out of memory");
    }
    illume_status status = onnx_import(context, bytes, size, dirname(path_copy), permissive, model);
    free(path_copy);
    free(bytes);
    if (status != ILLUME_OK) return illume_wrap(context, status, "%s", path);
    return ILLUME_OK;
}

illume_status illume_model_load(illume_context *context, const char *path, illume_model **model) {
    return load_path(context, path, 0, model);
}

illume_status illume_model_inspect(illume_context *context, const char *path, illume_model **model) {
    return load_path(context, path, 1, model);
}

illume_status illume_model_load_from_memory(illume_context *context, const void *bytes, size_t size,
                                            const char *base_directory, illume_model **model) {
    if (!bytes && size) return illume_fail(context, ILLUME_ERROR_INVALID_INPUT, "no model bytes given");
    return onnx_import(context, bytes ? bytes : "", size, base_directory, 0, model);
}

void illume_model_free(illume_model *model) {
    if (!model) return;
    graph_free(model->graph);
    for (int i = 0; i < model->problem_count; i++) free(model->problems[i].message);
    free(model->problems);
    free(model);
}

int illume_model_problem_count(const illume_model *model) { return model ? model->problem_count : 0; }

const char *illume_model_problem(const illume_model *model, int index) {
    if (!model || index < 0 || index >= model->problem_count) return NULL;
    return model->problems[index].message;
}

int illume_model_input_count(const illume_model *model) { return model ? model->graph->input_count : 0; }

int illume_model_input_channels_last(const illume_model *model, int index) {
    if (!model || index < 0 || index >= model->graph->input_count) return 0;
    const graph *g = model->graph;
    int *axes = graph_channel_axes(g);
    int v = g->inputs[index];
    int last = axes && g->values[v].rank >= 3 && axes[v] == g->values[v].rank - 1;
    free(axes);
    return last;
}

int illume_model_output_count(const illume_model *model) { return model ? model->graph->output_count : 0; }

static void describe(const graph *g, int v, const char *name, illume_value_info *info) {
    const graph_value *value = &g->values[v];
    memset(info, 0, sizeof *info);
    info->name = name ? name : value->name;
    info->dtype = value->dtype;
    info->rank = value->rank;
    for (int d = 0; d < ILLUME_MAX_RANK; d++) {
        info->dims[d] = d < value->rank ? value->dims[d] : -1;
        info->dim_names[d] = value->dim_names[d];
    }
}

illume_status illume_model_input(const illume_model *model, int index, illume_value_info *info) {
    if (!model || index < 0 || index >= model->graph->input_count) return ILLUME_ERROR_INVALID_INPUT;
    describe(model->graph, model->graph->inputs[index], NULL, info);
    return ILLUME_OK;
}

illume_status illume_model_output(const illume_model *model, int index, illume_value_info *info) {
    if (!model || index < 0 || index >= model->graph->output_count) return ILLUME_ERROR_INVALID_INPUT;
    describe(model->graph, model->graph->outputs[index], model->graph->output_names[index], info);
    return ILLUME_OK;
}

int illume_model_node_count(const illume_model *model) { return model ? model->graph->node_count : 0; }

illume_status illume_model_node(const illume_model *model, int index, illume_node_info *info) {
    if (!model || index < 0 || index >= model->graph->node_count) return ILLUME_ERROR_INVALID_INPUT;
    const graph_node *node = &model->graph->nodes[index];
    info->name = node->name;
    info->op_type = node->op_type ? node->op_type : "";
    info->supported = node->op >= 0;
    info->output_count = node->output_count;
    for (int p = 0; p < model->problem_count; p++)
        if (model->problems[p].node == index) info->supported = 0;
    return ILLUME_OK;
}

int illume_model_opset(const illume_model *model) { return model ? model->graph->opset : 0; }

const char *illume_model_producer(const illume_model *model) {
    return model && model->graph->producer ? model->graph->producer : "";
}

int64_t illume_model_parameter_count(const illume_model *model) {
    int64_t total = 0;
    if (!model) return 0;
    for (int v = 0; v < model->graph->value_count; v++) {
        const graph_value *value = &model->graph->values[v];
        int64_t count;
        if (value->constant && value->dtype == ILLUME_FLOAT32 &&
            shape_element_count(value->rank, value->dims, &count) == 0)
            total += count;
    }
    return total;
}

illume_status illume_model_set_constant_input(illume_context *context, illume_model *model, const char *name,
                                              const illume_tensor *tensor) {
    graph *g = model->graph;
    for (int i = 0; i < g->input_count; i++) {
        graph_value *value = &g->values[g->inputs[i]];
        if (strcmp(value->name, name) != 0) continue;
        size_t bytes = illume_tensor_bytes(tensor);
        if (tensor->rank != 0 && bytes == 0 && tensor->rank < 0)
            return illume_fail(context, ILLUME_ERROR_INVALID_INPUT, "constant for input '%s' has a bad shape", name);
        void *copy = malloc(bytes ? bytes : 1);
        if (!copy) return illume_fail(context, ILLUME_ERROR_OUT_OF_MEMORY, "out of memory");
        if (bytes) memcpy(copy, tensor->data, bytes);
        value->dtype = tensor->dtype;
        value->rank = tensor->rank;
        for (int d = 0; d < ILLUME_MAX_RANK; d++) value->dims[d] = d < tensor->rank ? tensor->dims[d] : 0;
        value->constant = copy;
        value->owns_constant = 1;
        value->is_graph_input = 0;
        memmove(&g->inputs[i], &g->inputs[i + 1], sizeof(int) * (size_t)(g->input_count - i - 1));
        g->input_count--;
        return ILLUME_OK;
    }
    return illume_fail(context, ILLUME_ERROR_INVALID_INPUT, "the model has no input named '%s'", name);
}

static const op_attribute *attribute_known(const op_definition *definition, const char *name) {
    for (const op_attribute *known = definition->attributes; known && known->name; known++)
        if (strcmp(known->name, name) == 0) return known;
    return NULL;
}

static const char *attribute_type_name(graph_attribute_type type) {
    static const char *names[] = {"a float", "an int", "a string", "floats", "ints", "strings", "a tensor", "other"};
    return names[type];
}

illume_status model_validate_node(illume_context *context, const graph *g, const graph_node *node) {
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

illume_status model_validate_opset(illume_context *context, const graph *g, const graph_node *node) {
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
