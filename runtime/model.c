#include "model.h"

#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "channel_axis.h"
#include "op.h"

#define MODEL_FILE_LIMIT ((size_t)1 << 34)

illume_status model_from_graph(illume_context *context, graph *g, illume_model **model) {
    *model = NULL;
    for (int n = 0; n < g->node_count; n++) {
        if (!op_get(g->nodes[n].op)) {
            graph_free(g);
            return illume_fail(context, ILLUME_ERROR_UNSUPPORTED, "node '%s': unknown op", g->nodes[n].name);
        }
        illume_status status = op_validate_opset(context, g, &g->nodes[n]);
        if (status == ILLUME_OK) status = op_validate_node(context, g, &g->nodes[n]);
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

/* The imported graph and its problems, as a model. */
static illume_status model_from_bytes(illume_context *context, const void *bytes, size_t size,
                                  const char *base_directory, int permissive, illume_model **model) {
    *model = calloc(1, sizeof **model);
    if (!*model) return illume_fail(context, ILLUME_ERROR_OUT_OF_MEMORY, "out of memory");
    illume_status status = onnx_import(context, bytes, size, base_directory, permissive, &(*model)->graph,
                                       &(*model)->problems);
    if (status != ILLUME_OK) {
        free(*model);
        *model = NULL;
    }
    return status;
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
    illume_status status = model_from_bytes(context, bytes, size, dirname(path_copy), permissive, model);
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
    return model_from_bytes(context, bytes ? bytes : "", size, base_directory, 0, model);
}

void illume_model_free(illume_model *model) {
    if (!model) return;
    graph_free(model->graph);
    import_problems_free(&model->problems);
    free(model);
}

int illume_model_problem_count(const illume_model *model) { return model ? model->problems.count : 0; }

const char *illume_model_problem(const illume_model *model, int index) {
    if (!model || index < 0 || index >= model->problems.count) return NULL;
    return model->problems.items[index].message;
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
    for (int p = 0; p < model->problems.count; p++)
        if (model->problems.items[p].node == index) info->supported = 0;
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
