/* Folding Pad nodes away. Exporters write padding as a Pad node where the
 * next op's own padding says less: PyTorch's avg_pool2d with
 * count_include_pad (Inception's branches) becomes Pad then AveragePool,
 * TensorFlow's ZeroPadding2D a Pad before a Conv, and some exports pad by
 * nothing (DenseNet's transitions). A Pad copies the whole tensor; the
 * Conv or the pooling pads as it reads. */
#include <stdlib.h>
#include <string.h>

#include "op.h"
#include "ops/op_support.h"
#include "passes.h"

static int pads_nothing(const pad_desc *desc) {
    for (int d = 0; d < desc->rank; d++)
        if (desc->pad_begin[d] != 0 || desc->out_dims[d] != desc->in_dims[d]) return 0;
    return 1;
}

/* Zeros added around the spatial axes alone (axes 2 on), nothing cropped. */
static int pads_spatial_zeros(const pad_desc *desc) {
    if (desc->mode != PAD_CONSTANT || desc->value != 0.0f || desc->rank < 3) return 0;
    for (int d = 0; d < desc->rank; d++) {
        int64_t end = desc->out_dims[d] - desc->in_dims[d] - desc->pad_begin[d];
        if (desc->pad_begin[d] < 0 || end < 0 || (d < 2 && (desc->pad_begin[d] != 0 || end != 0))) return 0;
    }
    return 1;
}

/* Whether the reader pads as the Pad does when its own pads grow by the
 * Pad's: a Conv, or an AveragePool that counts padding in its divisor (or
 * has none of its own, and will count it) and drops no window at the end. */
static int takes_zero_padding(const graph_node *reader) {
    if (strcmp(graph_attribute_string(reader, "auto_pad", "NOTSET"), "NOTSET") != 0) return 0;
    if (graph_node_is(reader, "Conv")) return 1;
    if (!graph_node_is(reader, "AveragePool") || graph_attribute_int(reader, "ceil_mode", 0) != 0) return 0;
    if (graph_attribute_int(reader, "count_include_pad", 0) != 0) return 1;
    int count;
    const int64_t *pads = graph_attribute_ints(reader, "pads", &count);
    for (int i = 0; pads && i < count; i++)
        if (pads[i] != 0) return 0;
    return 1;
}

/* The reader's pads grown by the Pad's spatial padding. */
static illume_status grow_pads(illume_context *context, graph_node *reader, const pad_desc *desc) {
    int spatial = desc->rank - 2, count;
    const int64_t *own = graph_attribute_ints(reader, "pads", &count);
    if (own && count != 2 * spatial)
        return node_fail(context, reader, ILLUME_ERROR_INVALID_MODEL, "pads has %d values, expected %d", count,
                         2 * spatial);
    int64_t pads[2 * ILLUME_MAX_RANK];
    for (int d = 0; d < spatial; d++) {
        int64_t begin = desc->pad_begin[2 + d], end = desc->out_dims[2 + d] - desc->in_dims[2 + d] - begin;
        pads[d] = (own ? own[d] : 0) + begin;
        pads[spatial + d] = (own ? own[spatial + d] : 0) + end;
    }
    if (graph_attribute_set_ints(reader, "pads", 2 * spatial, pads) ||
        (graph_node_is(reader, "AveragePool") && graph_attribute_set_int(reader, "count_include_pad", 1)))
        return illume_fail(context, ILLUME_ERROR_OUT_OF_MEMORY, "out of memory");
    return ILLUME_OK;
}

/* The node that alone reads value v, or -1. */
static int only_reader(const graph *g, int v, const int *readers) {
    if (readers[v] != 1 || g->values[v].is_graph_output || g->values[v].pinned) return -1;
    for (int n = 0; n < g->node_count; n++)
        for (int i = 0; i < g->nodes[n].input_count; i++)
            if (g->nodes[n].inputs[i] == v && g->nodes[n].op != GRAPH_NODE_DELETED) return n;
    return -1;
}

illume_status pass_fold_pad(illume_context *context, graph *g) {
    int *readers = graph_count_readers(g);
    if (!readers) return illume_fail(context, ILLUME_ERROR_OUT_OF_MEMORY, "out of memory");
    illume_status status = ILLUME_OK;
    for (int n = 0; n < g->node_count && status == ILLUME_OK; n++) {
        graph_node *pad = &g->nodes[n];
        if (!graph_node_is(pad, "Pad") || g->values[pad->outputs[0]].pinned) continue;
        pad_desc desc;
        status = pad_describe(context, g, pad, &desc);
        if (status != ILLUME_OK) break;
        int y = pad->outputs[0], x = pad->inputs[0];
        if (pads_nothing(&desc)) {
            graph_replace_uses(g, y, x);
            pad->op = GRAPH_NODE_DELETED;
            continue;
        }
        int reader = pads_spatial_zeros(&desc) ? only_reader(g, y, readers) : -1;
        if (reader < 0 || g->nodes[reader].inputs[0] != y || !takes_zero_padding(&g->nodes[reader])) continue;
        status = grow_pads(context, &g->nodes[reader], &desc);
        g->nodes[reader].inputs[0] = x;
        pad->op = GRAPH_NODE_DELETED;
    }
    free(readers);
    graph_compact(g);
    return status;
}
