/* Which axis of each value holds the channels: the convolutions, pooling
 * and normalizations of ONNX read and write them on axis 1, and a model
 * exported from a framework that keeps them last (TensorFlow, JAX) moves
 * them with Transposes around those ops. The axis flows forward through the
 * ops that keep positions where they are (element-wise ops, Pad, Concat,
 * Resize) and through Transposes by their permutation, and backward from the
 * ops that read channels first, so that a graph input transposed before its
 * first Conv is known to be channels last. */
#include "channel_axis.h"

#include <stdlib.h>
#include <string.h>

#include "op.h"
#include "passes.h"

#define UNKNOWN (-1)
#define CONFLICT (-2)

/* Ops whose output holds each position where their data inputs hold it. */
static int keeps_positions(const graph_node *node) {
    op_kind kind = graph_op_kind(node);
    return kind == KIND_UNARY || kind == KIND_BINARY || kind == KIND_CONCAT || op_node_has(node, OP_KEEPS_POSITIONS);
}

/* Gives value v the axis; returns 1 when that changed what was known. */
static int learn(const graph *g, int *axes, int v, int axis) {
    if (v < 0 || axis == UNKNOWN || axes[v] == CONFLICT || g->values[v].constant) return 0;
    if (axis == CONFLICT || (axes[v] != UNKNOWN && axes[v] != axis)) {
        axes[v] = CONFLICT;
        return 1;
    }
    if (axes[v] == axis) return 0;
    axes[v] = axis;
    return 1;
}

/* The perm of a Transpose over rank axes, or 0 when it has none that fits. */
static int permutation(const graph_node *node, int rank, int64_t *perm) {
    int count;
    const int64_t *given = graph_attribute_ints(node, "perm", &count);
    if (rank < 1 || rank > ILLUME_MAX_RANK) return 0;
    for (int d = 0; d < rank; d++) perm[d] = given ? (d < count ? given[d] : -1) : rank - 1 - d;
    if (given && count != rank) return 0;
    for (int d = 0; d < rank; d++)
        if (perm[d] < 0 || perm[d] >= rank) return 0;
    return 1;
}

/* One sweep over the nodes, forward then backward; returns whether anything changed. */
static int sweep(const graph *g, int *axes) {
    int changed = 0;
    for (int pass = 0; pass < 2; pass++)
        for (int k = 0; k < g->node_count; k++) {
            int n = pass == 0 ? k : g->node_count - 1 - k;
            const graph_node *node = &g->nodes[n];
            if (node->op == GRAPH_NODE_DELETED || node->op < 0 || node->input_count < 1 || node->inputs[0] < 0)
                continue;
            int y = node->outputs[0], x = node->inputs[0];
            if (y < 0) continue;
            int rank = g->values[y].rank;
            if (op_node_has(node, OP_CHANNELS_FIRST)) {
                changed |= learn(g, axes, y, 1);
                changed |= learn(g, axes, x, 1);
            } else if (graph_node_is(node, "Transpose")) {
                int64_t perm[ILLUME_MAX_RANK];
                if (!permutation(node, g->values[x].rank, perm)) continue;
                for (int d = 0; d < g->values[x].rank; d++) {
                    if (axes[x] >= 0 && perm[d] == axes[x]) changed |= learn(g, axes, y, d);
                    if (axes[y] >= 0 && d == axes[y]) changed |= learn(g, axes, x, (int)perm[d]);
                }
            } else if (keeps_positions(node)) {
                /* Parameter inputs (pads, scales, a pad value) are constants or of another rank. */
                for (int i = 0; i < node->input_count; i++) {
                    int v = node->inputs[i];
                    if (v < 0 || g->values[v].constant || g->values[v].rank != rank) continue;
                    changed |= learn(g, axes, y, axes[v]);
                    changed |= learn(g, axes, v, axes[y]);
                }
            }
        }
    return changed;
}

int *graph_channel_axes(const graph *g) {
    int *axes = malloc(sizeof(int) * ((size_t)g->value_count + 1));
    if (!axes) return NULL;
    for (int v = 0; v < g->value_count; v++) axes[v] = UNKNOWN;
    for (int round = 0; round < 2 * g->node_count + 2 && sweep(g, axes); round++) continue;
    for (int v = 0; v < g->value_count; v++)
        if (axes[v] == CONFLICT || g->values[v].rank < 3) axes[v] = UNKNOWN;
    return axes;
}
