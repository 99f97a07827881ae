#include "graph_builder.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model.h"
#include "op.h"

builder *builder_create(int opset) {
    builder *b = calloc(1, sizeof *b);
    if (!b) return NULL;
    b->graph = graph_create();
    if (!b->graph) {
        free(b);
        return NULL;
    }
    b->graph->opset = opset;
    b->graph->ir_version = 8;
    return b;
}

void builder_free(builder *b) {
    if (!b) return;
    graph_free(b->graph);
    free(b);
}

static int append_index(int **items, int *count, int value) {
    int *grown = realloc(*items, sizeof(int) * (size_t)(*count + 1));
    if (!grown) return -1;
    *items = grown;
    grown[(*count)++] = value;
    return 0;
}

static int add_value(builder *b, const char *name, illume_dtype dtype, int rank, const int64_t *dims) {
    int v = graph_add_value(b->graph, name);
    if (v < 0) {
        b->failed = 1;
        return -1;
    }
    graph_value *value = &b->graph->values[v];
    value->dtype = dtype;
    value->rank = rank;
    for (int d = 0; d < rank; d++) value->dims[d] = dims[d];
    return v;
}

int builder_input(builder *b, const char *name, int rank, const int64_t *dims) {
    int v = add_value(b, name, ILLUME_FLOAT32, rank, dims);
    if (v < 0) return -1;
    b->graph->values[v].is_graph_input = 1;
    if (append_index(&b->graph->inputs, &b->graph->input_count, v)) b->failed = 1;
    return v;
}

static int add_constant(builder *b, const char *name, illume_dtype dtype, int rank, const int64_t *dims,
                        const void *data) {
    int v = add_value(b, name, dtype, rank, dims);
    if (v < 0) return -1;
    graph_value *value = &b->graph->values[v];
    size_t bytes;
    if (value_byte_size(value, &bytes)) {
        b->failed = 1;
        return v;
    }
    value->constant = malloc(bytes ? bytes : 1);
    if (!value->constant) {
        b->failed = 1;
        return v;
    }
    if (bytes) memcpy(value->constant, data, bytes);
    value->owns_constant = 1;
    return v;
}

int builder_floats(builder *b, const char *name, int rank, const int64_t *dims, const float *data) {
    return add_constant(b, name, ILLUME_FLOAT32, rank, dims, data);
}

int builder_ints(builder *b, const char *name, int rank, const int64_t *dims, const int64_t *data) {
    return add_constant(b, name, ILLUME_INT64, rank, dims, data);
}

int builder_int_list(builder *b, const char *name, int count, const int64_t *values) {
    int64_t dims[1] = {count};
    return add_constant(b, name, ILLUME_INT64, 1, dims, values);
}

int builder_scalar(builder *b, const char *name, float value) {
    return add_constant(b, name, ILLUME_FLOAT32, 0, NULL, &value);
}

int builder_node_to(builder *b, const char *op_type, int input_count, const int *inputs, int output_count,
                    const int *outputs) {
    char name[64];
    snprintf(name, sizeof name, "%s_%d", op_type, b->graph->node_count);
    int n = graph_add_node(b->graph, name, op_find(op_type), input_count, output_count);
    if (n < 0) {
        b->failed = 1;
        return -1;
    }
    graph_node *node = &b->graph->nodes[n];
    node->op_type = malloc(strlen(op_type) + 1);
    if (!node->op_type) b->failed = 1;
    else memcpy(node->op_type, op_type, strlen(op_type) + 1);
    for (int i = 0; i < input_count; i++) node->inputs[i] = inputs[i];
    for (int o = 0; o < output_count; o++) {
        node->outputs[o] = outputs[o];
        if (outputs[o] >= 0) b->graph->values[outputs[o]].producer = n;
    }
    return n;
}

int builder_node(builder *b, const char *op_type, int input_count, const int *inputs, int output_count, int *outputs) {
    int created[64] = {0};
    if (output_count > 64) {
        b->failed = 1;
        return -1;
    }
    for (int o = 0; o < output_count; o++) {
        char name[96];
        snprintf(name, sizeof name, "%s_%d_output_%d", op_type, b->graph->node_count, o);
        created[o] = graph_add_value(b->graph, name);
        if (created[o] < 0) {
            b->failed = 1;
            return -1;
        }
    }
    /* outputs may alias inputs: fill it only once the node has read them. */
    int node = builder_node_to(b, op_type, input_count, inputs, output_count, created);
    for (int o = 0; outputs && o < output_count; o++) outputs[o] = created[o];
    return node;
}

static graph_attribute *add_attribute(builder *b, int node, const char *name, graph_attribute_type type) {
    if (node < 0) {
        b->failed = 1;
        return NULL;
    }
    graph_node *target = &b->graph->nodes[node];
    graph_attribute *grown =
        realloc(target->attributes, sizeof(graph_attribute) * (size_t)(target->attribute_count + 1));
    if (!grown) {
        b->failed = 1;
        return NULL;
    }
    target->attributes = grown;
    graph_attribute *attribute = &grown[target->attribute_count];
    memset(attribute, 0, sizeof *attribute);
    attribute->tensor = -1;
    attribute->type = type;
    attribute->name = malloc(strlen(name) + 1);
    if (!attribute->name) {
        b->failed = 1;
        return NULL;
    }
    memcpy(attribute->name, name, strlen(name) + 1);
    target->attribute_count++;
    return attribute;
}

void builder_attribute_int(builder *b, int node, const char *name, int64_t value) {
    graph_attribute *attribute = add_attribute(b, node, name, ATTRIBUTE_INT);
    if (attribute) attribute->i = value;
}

void builder_attribute_float(builder *b, int node, const char *name, float value) {
    graph_attribute *attribute = add_attribute(b, node, name, ATTRIBUTE_FLOAT);
    if (attribute) attribute->f = value;
}

void builder_attribute_string(builder *b, int node, const char *name, const char *value) {
    graph_attribute *attribute = add_attribute(b, node, name, ATTRIBUTE_STRING);
    if (!attribute) return;
    attribute->s = malloc(strlen(value) + 1);
    if (!attribute->s) b->failed = 1;
    else memcpy(attribute->s, value, strlen(value) + 1);
}

void builder_attribute_ints(builder *b, int node, const char *name, int count, const int64_t *values) {
    graph_attribute *attribute = add_attribute(b, node, name, ATTRIBUTE_INTS);
    if (!attribute) return;
    attribute->count = count;
    attribute->ints = malloc(sizeof(int64_t) * (size_t)(count + 1));
    if (!attribute->ints) b->failed = 1;
    else if (count) memcpy(attribute->ints, values, sizeof(int64_t) * (size_t)count);
}

void builder_attribute_floats(builder *b, int node, const char *name, int count, const float *values) {
    graph_attribute *attribute = add_attribute(b, node, name, ATTRIBUTE_FLOATS);
    if (!attribute) return;
    attribute->count = count;
    attribute->floats = malloc(sizeof(float) * (size_t)(count + 1));
    if (!attribute->floats) b->failed = 1;
    else if (count) memcpy(attribute->floats, values, sizeof(float) * (size_t)count);
}

void builder_attribute_tensor(builder *b, int node, const char *name, int value) {
    graph_attribute *attribute = add_attribute(b, node, name, ATTRIBUTE_TENSOR);
    if (attribute) attribute->tensor = value;
}

void builder_output(builder *b, int value) {
    graph *g = b->graph;
    if (value < 0) {
        b->failed = 1;
        return;
    }
    char **names = realloc(g->output_names, sizeof(char *) * (size_t)(g->output_count + 1));
    if (!names) {
        b->failed = 1;
        return;
    }
    g->output_names = names;
    names[g->output_count] = malloc(strlen(g->values[value].name) + 1);
    if (!names[g->output_count]) {
        b->failed = 1;
        return;
    }
    memcpy(names[g->output_count], g->values[value].name, strlen(g->values[value].name) + 1);
    int count = g->output_count;
    if (append_index(&g->outputs, &count, value)) {
        free(names[g->output_count]);
        b->failed = 1;
        return;
    }
    g->output_count = count;
    g->values[value].is_graph_output = 1;
}

illume_status builder_finish(builder *b, illume_context *context, illume_model **model) {
    *model = NULL;
    if (!b) return ILLUME_ERROR_OUT_OF_MEMORY;
    graph *g = b->graph;
    int failed = b->failed;
    free(b);
    if (failed) {
        graph_free(g);
        return ILLUME_ERROR_OUT_OF_MEMORY;
    }
    return model_from_graph(context, g, model);
}

illume_status run_model(illume_context *context, const illume_model *model, const illume_session_options *options,
                        int input_count, const illume_tensor *inputs, int output_count, illume_tensor *outputs,
                        illume_session_stats *stats) {
    for (int o = 0; o < output_count; o++) memset(&outputs[o], 0, sizeof outputs[o]);
    illume_session_options defaults;
    if (!options) {
        illume_session_options_default(&defaults);
        defaults.device = "cpu";
        options = &defaults;
    }
    illume_session *session;
    illume_status status = illume_session_create(context, model, options, input_count, inputs, &session);
    if (status != ILLUME_OK) return status;
    if (illume_session_output_count(session) != output_count) {
        illume_session_free(session);
        return ILLUME_ERROR_INVALID_INPUT;
    }
    for (int o = 0; o < output_count && status == ILLUME_OK; o++) {
        illume_value_info info;
        status = illume_session_output(session, o, &info);
        if (status != ILLUME_OK) break;
        outputs[o].dtype = info.dtype;
        outputs[o].rank = info.rank;
        for (int d = 0; d < info.rank; d++) outputs[o].dims[d] = info.dims[d];
        size_t bytes = illume_tensor_bytes(&outputs[o]);
        outputs[o].data = malloc(bytes ? bytes : 1);
        if (!outputs[o].data) status = ILLUME_ERROR_OUT_OF_MEMORY;
    }
    if (status == ILLUME_OK) status = illume_session_run(session, input_count, inputs, output_count, outputs);
    if (status == ILLUME_OK && stats) illume_session_get_stats(session, stats);
    illume_session_free(session);
    if (status != ILLUME_OK)
        for (int o = 0; o < output_count; o++) tensor_release(&outputs[o]);
    return status;
}

int64_t tensor_count(const illume_tensor *tensor) {
    int64_t count = 1;
    for (int d = 0; d < tensor->rank; d++) count *= tensor->dims[d];
    return count;
}

illume_tensor tensor_zeros(int rank, const int64_t *dims) {
    illume_tensor tensor;
    memset(&tensor, 0, sizeof tensor);
    tensor.dtype = ILLUME_FLOAT32;
    tensor.rank = rank;
    for (int d = 0; d < rank; d++) tensor.dims[d] = dims[d];
    int64_t count = tensor_count(&tensor);
    tensor.data = calloc((size_t)(count ? count : 1), sizeof(float));
    return tensor;
}

illume_tensor tensor_copy(const illume_tensor *tensor) {
    illume_tensor copy = tensor_zeros(tensor->rank, tensor->dims);
    if (copy.data) memcpy(copy.data, tensor->data, sizeof(float) * (size_t)tensor_count(tensor));
    return copy;
}

double random_uniform(uint64_t *seed) {
    *seed = *seed * 6364136223846793005ULL + 1442695040888963407ULL;
    return (double)(*seed >> 11) / 9007199254740992.0;
}

illume_tensor tensor_random(int rank, const int64_t *dims, float low, float high, uint64_t *seed) {
    illume_tensor tensor = tensor_zeros(rank, dims);
    float *data = tensor.data;
    int64_t count = tensor_count(&tensor);
    for (int64_t i = 0; data && i < count; i++) data[i] = low + (high - low) * (float)random_uniform(seed);
    return tensor;
}

void tensor_release(illume_tensor *tensor) {
    free(tensor->data);
    tensor->data = NULL;
}
