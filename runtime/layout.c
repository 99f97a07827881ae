/* The channels-last layout pass. oneDNN's fastest CPU convolutions read and
 * write (N, H, W, C); keeping the activations between convolutions in that
 * order saves two reorders per convolution. Every 4-D output of a Conv is
 * stored channels last; element-wise ops, batch normalization, pooling and
 * Concat keep that order when all their data inputs have it; any other
 * reader, and every graph output, gets a Transpose back to (N, C, H, W) (a
 * free Reshape when H = W = 1). Shapes stored in the graph become the
 * physical ones; graph_value.channels_last tells the ops which values are
 * permuted, and value_logical_dims recovers the logical shape. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "op.h"
#include "ops/op_support.h"
#include "passes.h"

/* Whether the node keeps the channels-last order of its inputs: every data
 * (non-constant) input is a 4-D channels-last value, and so is the output. */
static int keeps_channels_last(const graph *g, const graph_node *node, op_kind kind) {
    if (kind == KIND_OTHER || kind == KIND_CONVOLUTION) return 0;
    const graph_value *y = graph_output(g, node, 0);
    if (y->rank != 4 || node->output_count != 1) return 0;
    /* Before opset 4 Concat's axis defaults to 1, which adapt_node could only remap by adding the attribute. */
    if (kind == KIND_CONCAT && !graph_attribute_find(node, "axis") && g->opset < 4) return 0;
    int data_inputs = 0;
    int inputs = kind == KIND_UNARY ? 1 : node->input_count;
    for (int i = 0; i < inputs; i++) {
        const graph_value *x = graph_input(g, node, i);
        if (x && x->constant && kind == KIND_CONCAT) return 0;
        if (!x || x->constant) continue;
        if (!x->channels_last) return 0;
        data_inputs++;
    }
    return data_inputs > 0;
}

/* Logical axis of a 4-D tensor to its channels-last position. */
static int64_t physical_axis(int64_t axis) {
    static const int64_t map[4] = {0, 3, 1, 2};
    return map[axis];
}

static void permute_dims(graph_value *value) {
    int64_t c = value->dims[1], h = value->dims[2], w = value->dims[3];
    value->dims[1] = h;
    value->dims[2] = w;
    value->dims[3] = c;
}

/* A constant operand of an element-wise op, broadcast against channels-last
 * data: padded to rank 4 with leading ones and permuted the same way. */
static int permuted_constant(graph *g, int v) {
    const graph_value *value = &g->values[v];
    if (value->rank > 4 || value->dtype != ILLUME_FLOAT32) return -1;
    int64_t dims[4] = {1, 1, 1, 1};
    for (int d = 0; d < value->rank; d++) dims[4 - value->rank + d] = value->dims[d];
    int64_t count = dims[0] * dims[1] * dims[2] * dims[3];
    float *data = malloc(sizeof(float) * (size_t)(count ? count : 1));
    if (!data) return -1;
    const float *source = value->constant;
    for (int64_t n = 0; n < dims[0]; n++)
        for (int64_t c = 0; c < dims[1]; c++)
            for (int64_t h = 0; h < dims[2]; h++)
                for (int64_t w = 0; w < dims[3]; w++)
                    data[((n * dims[2] + h) * dims[3] + w) * dims[1] + c] =
                        source[((n * dims[1] + c) * dims[2] + h) * dims[3] + w];
    char name[512];
    snprintf(name, sizeof name, "%.480s:channels_last", value->name);
    int result = graph_add_value(g, name);
    if (result < 0) {
        free(data);
        return -1;
    }
    graph_value *permuted = &g->values[result];
    permuted->dtype = ILLUME_FLOAT32;
    permuted->rank = 4;
    permuted->dims[0] = dims[0];
    permuted->dims[1] = dims[2];
    permuted->dims[2] = dims[3];
    permuted->dims[3] = dims[1];
    permuted->constant = data;
    permuted->owns_constant = 1;
    return result;
}

typedef struct rewriter {
    illume_context *context;
    graph *g;
    graph_node *nodes; /* the new node list */
    int count, capacity;
    char *created;     /* per entry of nodes: made by this pass (else moved from the graph) */
    int *converted;    /* per value: its (N, C, H, W) copy, -1 until made */
} rewriter;

static illume_status out_of_memory(rewriter *r) {
    return illume_fail(r->context, ILLUME_ERROR_OUT_OF_MEMORY, "out of memory in the layout pass");
}

static graph_node *append_node(rewriter *r, int created) {
    if (r->count == r->capacity) {
        int capacity = r->capacity * 2 + 16;
        graph_node *grown = realloc(r->nodes, sizeof(graph_node) * (size_t)capacity);
        char *grown_created = realloc(r->created, (size_t)capacity);
        if (grown) r->nodes = grown;
        if (grown_created) r->created = grown_created;
        if (!grown || !grown_created) return NULL;
        r->capacity = capacity;
    }
    r->created[r->count] = (char)created;
    graph_node *node = &r->nodes[r->count++];
    memset(node, 0, sizeof *node);
    node->inplace_input = -1;
    return node;
}

/* The (N, C, H, W) copy of channels-last value v, made by a Transpose (or a
 * Reshape, which costs nothing, when H = W = 1) placed before its first reader. */
static illume_status convert(rewriter *r, int v, int *result) {
    if (r->converted[v] >= 0) {
        *result = r->converted[v];
        return ILLUME_OK;
    }
    graph *g = r->g;
    char name[512];
    snprintf(name, sizeof name, "%.480s:nchw", g->values[v].name);
    int plain = graph_add_value(g, name);
    if (plain < 0) return out_of_memory(r);
    const graph_value *source = &g->values[v];
    graph_value *target = &g->values[plain];
    target->dtype = ILLUME_FLOAT32;
    target->rank = 4;
    value_logical_dims(source, target->dims);
    int spatial_one = source->dims[1] == 1 && source->dims[2] == 1;
    int shape = -1;
    if (spatial_one) {
        snprintf(name, sizeof name, "%.480s:nchw_shape", g->values[v].name);
        shape = graph_add_value(g, name);
        int64_t *dims = malloc(sizeof(int64_t) * 4);
        if (shape < 0 || !dims) {
            free(dims);
            return out_of_memory(r);
        }
        memcpy(dims, g->values[plain].dims, sizeof(int64_t) * 4);
        graph_value *shape_value = &g->values[shape];
        shape_value->dtype = ILLUME_INT64;
        shape_value->rank = 1;
        shape_value->dims[0] = 4;
        shape_value->constant = dims;
        shape_value->owns_constant = 1;
    }
    graph_node *node = append_node(r, 1);
    if (!node) return out_of_memory(r);
    node->name = strdup(name);
    node->op_type = strdup(spatial_one ? "Reshape" : "Transpose");
    node->op = op_find(node->op_type);
    node->input_count = spatial_one ? 2 : 1;
    node->output_count = 1;
    node->inputs = malloc(sizeof(int) * 2);
    node->outputs = malloc(sizeof(int));
    if (!node->name || !node->op_type || !node->inputs || !node->outputs) return out_of_memory(r);
    node->inputs[0] = v;
    node->inputs[1] = shape;
    node->outputs[0] = plain;
    if (!spatial_one) {
        node->attributes = calloc(1, sizeof(graph_attribute));
        if (!node->attributes) return out_of_memory(r);
        node->attribute_count = 1;
        graph_attribute *perm = &node->attributes[0];
        perm->name = strdup("perm");
        perm->type = ATTRIBUTE_INTS;
        perm->count = 4;
        perm->ints = malloc(sizeof(int64_t) * 4);
        if (!perm->name || !perm->ints) return out_of_memory(r);
        perm->ints[0] = 0;
        perm->ints[1] = 3;
        perm->ints[2] = 1;
        perm->ints[3] = 2;
    }
    r->converted[v] = plain;
    *result = plain;
    return ILLUME_OK;
}

/* Makes a node that keeps channels last read permuted constants and, for
 * Concat, the physical axis. */
static illume_status adapt_node(rewriter *r, graph_node *node, op_kind kind) {
    graph *g = r->g;
    if (kind == KIND_CONCAT) {
        graph_attribute *axis = (graph_attribute *)graph_attribute_find(node, "axis");
        if (axis) axis->i = physical_axis(axis->i < 0 ? axis->i + 4 : axis->i);
        return ILLUME_OK;
    }
    if (kind != KIND_BINARY) return ILLUME_OK;
    for (int i = 0; i < node->input_count; i++) {
        int v = node->inputs[i];
        if (v < 0 || !g->values[v].constant) continue;
        int permuted = permuted_constant(g, v);
        if (permuted < 0) return out_of_memory(r);
        node->inputs[i] = permuted;
    }
    return ILLUME_OK;
}

static illume_status rewrite(rewriter *r) {
    graph *g = r->g;
    int node_count = g->node_count;
    for (int n = 0; n < node_count; n++) {
        graph_node node = g->nodes[n];
        op_kind kind = graph_op_kind(&node);
        int keeps = keeps_channels_last(g, &node, kind);
        if (!keeps) {
            /* Readers that want (N, C, H, W) read converted copies; convolutions read either order. */
            for (int i = 0; i < node.input_count; i++) {
                int v = node.inputs[i];
                int read_as_stored = kind == KIND_CONVOLUTION && (i == 0 || (node.fused_add && i == 3));
                if (v < 0 || !g->values[v].channels_last || read_as_stored) continue;
                ILLUME_TRY(convert(r, v, &node.inputs[i]));
            }
        } else {
            ILLUME_TRY(adapt_node(r, &node, kind));
        }
        graph_value *y = graph_output(g, &node, 0);
        /* A convolution that adds into its output writes in the order its addend is stored. */
        int convolution_last = kind == KIND_CONVOLUTION && y->rank == 4 &&
                               (!node.fused_add || g->values[node.inputs[3]].channels_last);
        if ((keeps || convolution_last) && !y->channels_last) {
            permute_dims(y);
            y->channels_last = 1;
        }
        graph_node *placed = append_node(r, 0);
        if (!placed) return out_of_memory(r);
        *placed = node;
    }
    for (int o = 0; o < g->output_count; o++) {
        int v = g->outputs[o];
        if (!g->values[v].channels_last) continue;
        int plain;
        ILLUME_TRY(convert(r, v, &plain));
        g->outputs[o] = plain;
        g->values[plain].is_graph_output = 1;
        g->values[v].is_graph_output = 0;
    }
    return ILLUME_OK;
}

illume_status pass_channels_last(illume_context *context, graph *g) {
    rewriter r = {context, g, NULL, 0, 0, NULL, NULL};
    /* Every value may gain a converted copy and a shape constant; size the table for that. */
    int limit = g->value_count * 4 + g->node_count * 8 + 16;
    r.converted = malloc(sizeof(int) * (size_t)limit);
    if (!r.converted) return out_of_memory(&r);
    for (int v = 0; v < limit; v++) r.converted[v] = -1;
    illume_status status = rewrite(&r);
    if (status != ILLUME_OK) {
        /* Moved nodes are still owned by the graph's own list; free only what this pass made. */
        for (int n = 0; n < r.count; n++)
            if (r.created[n]) graph_node_release(&r.nodes[n]);
        free(r.nodes);
        free(r.created);
        free(r.converted);
        return status;
    }
    free(g->nodes);
    g->nodes = r.nodes;
    g->node_count = r.count;
    g->node_capacity = r.capacity;
    free(r.created);
    free(r.converted);
    for (int v = 0; v < g->value_count; v++) g->values[v].producer = -1;
    for (int n = 0; n < g->node_count; n++)
        for (int o = 0; o < g->nodes[n].output_count; o++)
            if (g->nodes[n].outputs[o] >= 0) g->values[g->nodes[n].outputs[o]].producer = n;
    return ILLUME_OK;
}
