#include "graph.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *copy_string(const char *text) {
    if (!text) return NULL;
    size_t length = strlen(text);
    char *copy = malloc(length + 1);
    if (copy) memcpy(copy, text, length + 1);
    return copy;
}

graph *graph_create(void) { return calloc(1, sizeof(graph)); }

static void free_attribute(graph_attribute *attribute) {
    free(attribute->name);
    free(attribute->s);
    free(attribute->floats);
    free(attribute->ints);
}

void graph_node_release(graph_node *node) {
    free(node->name);
    free(node->op_type);
    free(node->inputs);
    free(node->outputs);
    for (int a = 0; a < node->attribute_count; a++) free_attribute(&node->attributes[a]);
    free(node->attributes);
    memset(node, 0, sizeof *node);
}

void graph_free(graph *g) {
    if (!g) return;
    for (int i = 0; i < g->value_count; i++) {
        graph_value *value = &g->values[i];
        free(value->name);
        for (int d = 0; d < ILLUME_MAX_RANK; d++) free(value->dim_names[d]);
        if (value->owns_constant) free(value->constant);
    }
    for (int i = 0; i < g->node_count; i++) {
        graph_node *node = &g->nodes[i];
        graph_node_release(node);
    }
    if (g->output_names)
        for (int i = 0; i < g->output_count; i++) free(g->output_names[i]);
    free(g->output_names);
    free(g->values);
    free(g->nodes);
    free(g->inputs);
    free(g->outputs);
    free(g->producer);
    free(g);
}

static int grow(void **items, int *capacity, int count, size_t item_size) {
    if (count < *capacity) return 0;
    int next = *capacity ? *capacity * 2 : 64;
    void *grown = realloc(*items, (size_t)next * item_size);
    if (!grown) return -1;
    memset((char *)grown + (size_t)*capacity * item_size, 0, (size_t)(next - *capacity) * item_size);
    *items = grown;
    *capacity = next;
    return 0;
}

int graph_add_value(graph *g, const char *name) {
    if (grow((void **)&g->values, &g->value_capacity, g->value_count, sizeof(graph_value))) return -1;
    graph_value *value = &g->values[g->value_count];
    memset(value, 0, sizeof *value);
    value->name = copy_string(name ? name : "");
    if (!value->name) return -1;
    value->dtype = ILLUME_FLOAT32;
    value->rank = -1;
    value->producer = -1;
    return g->value_count++;
}

int graph_add_node(graph *g, const char *name, int op, int input_count, int output_count) {
    if (grow((void **)&g->nodes, &g->node_capacity, g->node_count, sizeof(graph_node))) return -1;
    graph_node *node = &g->nodes[g->node_count];
    memset(node, 0, sizeof *node);
    node->name = copy_string(name ? name : "");
    node->op = op;
    node->input_count = input_count;
    node->output_count = output_count;
    node->inplace_input = -1;
    node->inputs = malloc(sizeof(int) * (size_t)(input_count > 0 ? input_count : 1));
    node->outputs = malloc(sizeof(int) * (size_t)(output_count > 0 ? output_count : 1));
    if (!node->name || !node->inputs || !node->outputs) {
        free(node->name);
        free(node->inputs);
        free(node->outputs);
        return -1;
    }
    for (int i = 0; i < input_count; i++) node->inputs[i] = -1;
    for (int i = 0; i < output_count; i++) node->outputs[i] = -1;
    return g->node_count++;
}

static int clone_attribute(graph_attribute *copy, const graph_attribute *source) {
    *copy = *source;
    copy->name = copy_string(source->name);
    copy->s = copy_string(source->s);
    copy->floats = NULL;
    copy->ints = NULL;
    if (source->floats) {
        copy->floats = malloc(sizeof(float) * (size_t)(source->count ? source->count : 1));
        if (copy->floats) memcpy(copy->floats, source->floats, sizeof(float) * (size_t)source->count);
    }
    if (source->ints) {
        copy->ints = malloc(sizeof(int64_t) * (size_t)(source->count ? source->count : 1));
        if (copy->ints) memcpy(copy->ints, source->ints, sizeof(int64_t) * (size_t)source->count);
    }
    if (!copy->name || (source->s && !copy->s) || (source->floats && !copy->floats) ||
        (source->ints && !copy->ints))
        return -1;
    return 0;
}

graph *graph_clone(const graph *source) {
    graph *g = graph_create();
    if (!g) return NULL;
    g->opset = source->opset;
    g->ir_version = source->ir_version;
    g->producer = copy_string(source->producer);
    for (int i = 0; i < source->value_count; i++) {
        const graph_value *from = &source->values[i];
        int index = graph_add_value(g, from->name);
        if (index < 0) goto failed;
        graph_value *to = &g->values[index];
        char *name = to->name;
        *to = *from;
        to->name = name;
        to->owns_constant = 0;
        for (int d = 0; d < ILLUME_MAX_RANK; d++) {
            to->dim_names[d] = copy_string(from->dim_names[d]);
            if (from->dim_names[d] && !to->dim_names[d]) goto failed;
        }
    }
    for (int i = 0; i < source->node_count; i++) {
        const graph_node *from = &source->nodes[i];
        int index = graph_add_node(g, from->name, from->op, from->input_count, from->output_count);
        if (index < 0) goto failed;
        graph_node *to = &g->nodes[index];
        to->fused_activation = from->fused_activation;
        to->fused_add = from->fused_add;
        to->inplace_input = from->inplace_input;
        to->op_type = copy_string(from->op_type);
        if (from->op_type && !to->op_type) goto failed;
        memcpy(to->inputs, from->inputs, sizeof(int) * (size_t)from->input_count);
        memcpy(to->outputs, from->outputs, sizeof(int) * (size_t)from->output_count);
        if (from->attribute_count) {
            to->attributes = calloc((size_t)from->attribute_count, sizeof(graph_attribute));
            if (!to->attributes) goto failed;
            for (int a = 0; a < from->attribute_count; a++) {
                to->attribute_count = a + 1;
                if (clone_attribute(&to->attributes[a], &from->attributes[a])) goto failed;
            }
        }
    }
    g->input_count = source->input_count;
    g->output_count = source->output_count;
    g->inputs = malloc(sizeof(int) * (size_t)(source->input_count + 1));
    g->outputs = malloc(sizeof(int) * (size_t)(source->output_count + 1));
    g->output_names = calloc((size_t)source->output_count + 1, sizeof(char *));
    if (!g->inputs || !g->outputs || !g->output_names) goto failed;
    /* A graph built in code may have no inputs, and so no array. */
    if (source->input_count) memcpy(g->inputs, source->inputs, sizeof(int) * (size_t)source->input_count);
    if (source->output_count) memcpy(g->outputs, source->outputs, sizeof(int) * (size_t)source->output_count);
    for (int i = 0; i < source->output_count; i++) {
        g->output_names[i] = copy_string(source->output_names[i]);
        if (!g->output_names[i]) goto failed;
    }
    return g;
failed:
    graph_free(g);
    return NULL;
}

const graph_attribute *graph_attribute_find(const graph_node *node, const char *name) {
    for (int i = 0; i < node->attribute_count; i++)
        if (strcmp(node->attributes[i].name, name) == 0) return &node->attributes[i];
    return NULL;
}

int64_t graph_attribute_int(const graph_node *node, const char *name, int64_t fallback) {
    const graph_attribute *attribute = graph_attribute_find(node, name);
    return attribute && attribute->type == ATTRIBUTE_INT ? attribute->i : fallback;
}

float graph_attribute_float(const graph_node *node, const char *name, float fallback) {
    const graph_attribute *attribute = graph_attribute_find(node, name);
    return attribute && attribute->type == ATTRIBUTE_FLOAT ? attribute->f : fallback;
}

const char *graph_attribute_string(const graph_node *node, const char *name, const char *fallback) {
    const graph_attribute *attribute = graph_attribute_find(node, name);
    return attribute && attribute->type == ATTRIBUTE_STRING ? attribute->s : fallback;
}

const int64_t *graph_attribute_ints(const graph_node *node, const char *name, int *count) {
    const graph_attribute *attribute = graph_attribute_find(node, name);
    if (!attribute || attribute->type != ATTRIBUTE_INTS) {
        *count = 0;
        return NULL;
    }
    *count = attribute->count;
    return attribute->ints;
}

const float *graph_attribute_floats(const graph_node *node, const char *name, int *count) {
    const graph_attribute *attribute = graph_attribute_find(node, name);
    if (!attribute || attribute->type != ATTRIBUTE_FLOATS) {
        *count = 0;
        return NULL;
    }
    *count = attribute->count;
    return attribute->floats;
}

/* The node's attribute `name`, given `type`, made when absent; NULL on allocation failure. */
static graph_attribute *attribute_slot(graph_node *node, const char *name, graph_attribute_type type) {
    graph_attribute *attribute = (graph_attribute *)graph_attribute_find(node, name);
    if (!attribute) {
        graph_attribute *grown = realloc(node->attributes, sizeof *grown * (size_t)(node->attribute_count + 1));
        if (!grown) return NULL;
        node->attributes = grown;
        attribute = &grown[node->attribute_count];
        memset(attribute, 0, sizeof *attribute);
        attribute->name = copy_string(name);
        if (!attribute->name) return NULL;
        node->attribute_count++;
    }
    attribute->type = type;
    return attribute;
}

int graph_attribute_set_int(graph_node *node, const char *name, int64_t value) {
    graph_attribute *attribute = attribute_slot(node, name, ATTRIBUTE_INT);
    if (!attribute) return -1;
    attribute->i = value;
    return 0;
}

int graph_attribute_set_ints(graph_node *node, const char *name, int count, const int64_t *values) {
    int64_t *copy = malloc(sizeof(int64_t) * (size_t)(count + 1));
    graph_attribute *attribute = copy ? attribute_slot(node, name, ATTRIBUTE_INTS) : NULL;
    if (!attribute) {
        free(copy);
        return -1;
    }
    memcpy(copy, values, sizeof(int64_t) * (size_t)count);
    free(attribute->ints);
    attribute->ints = copy;
    attribute->count = count;
    return 0;
}

graph_value *graph_input(const graph *g, const graph_node *node, int i) {
    if (i < 0 || i >= node->input_count || node->inputs[i] < 0) return NULL;
    return &g->values[node->inputs[i]];
}

graph_value *graph_output(const graph *g, const graph_node *node, int i) {
    if (i < 0 || i >= node->output_count || node->outputs[i] < 0) return NULL;
    return &g->values[node->outputs[i]];
}

void value_logical_dims(const graph_value *value, int64_t *dims) {
    for (int d = 0; d < ILLUME_MAX_RANK; d++) dims[d] = value->dims[d];
    if (value->channels_last && value->rank == 4) {
        dims[1] = value->dims[3];
        dims[2] = value->dims[1];
        dims[3] = value->dims[2];
    }
}

int shape_extent(int rank, const int64_t *dims, int64_t *extent) {
    if (rank < 0 || rank > ILLUME_MAX_RANK) return -1;
    int64_t product = 1;
    for (int d = 0; d < rank; d++) {
        if (dims[d] <= 0) continue;
        if (product > SHAPE_EXTENT_LIMIT / dims[d]) return -1;
        product *= dims[d];
    }
    *extent = product;
    return 0;
}

int shape_element_count(int rank, const int64_t *dims, int64_t *count) {
    int64_t extent;
    if (shape_extent(rank, dims, &extent)) return -1;
    int empty = 0;
    for (int d = 0; d < rank; d++) {
        if (dims[d] < 0) return -1;
        empty |= dims[d] == 0;
    }
    *count = empty ? 0 : extent;
    return 0;
}

size_t dtype_size(illume_dtype dtype) { return dtype == ILLUME_INT64 ? 8 : 4; }

int value_byte_size(const graph_value *value, size_t *bytes) {
    int64_t count;
    if (shape_element_count(value->rank, value->dims, &count)) return -1;
    size_t element = dtype_size(value->dtype);
    if ((uint64_t)count > SIZE_MAX / element) return -1;
    *bytes = (size_t)count * element;
    return 0;
}

const char *shape_format(int rank, const int64_t *dims, char *buffer, size_t size) {
    size_t used = 0;
    if (size == 0) return buffer;
    buffer[0] = '\0';
    if (rank < 0) {
        snprintf(buffer, size, "[?]");
        return buffer;
    }
    used += (size_t)snprintf(buffer + used, size - used, "[");
    for (int d = 0; d < rank && used < size; d++) {
        if (dims[d] < 0)
            used += (size_t)snprintf(buffer + used, size - used, "%s?", d ? ", " : "");
        else
            used += (size_t)snprintf(buffer + used, size - used, "%s%lld", d ? ", " : "", (long long)dims[d]);
    }
    if (used < size) snprintf(buffer + used, size - used, "]");
    return buffer;
}

size_t illume_tensor_bytes(const illume_tensor *tensor) {
    int64_t count;
    if (!tensor || shape_element_count(tensor->rank, tensor->dims, &count)) return 0;
    size_t element = dtype_size(tensor->dtype);
    if ((uint64_t)count > SIZE_MAX / element) return 0;
    return (size_t)count * element;
}
