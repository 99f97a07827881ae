/* Splitting a forward batch. Once a batch's activations outgrow the caches,
 * every node of the batch reads its input from memory and writes its output
 * back; one image's activations stay in the caches from one node to the
 * next. A network's first layers have large activations and small weights,
 * its last layers the other way round: so the nodes up to a cut, where one
 * value alone carries the computation on, run one image at a time, and the
 * rest on the whole batch, whose weights each node then reads once.
 *
 * The cut is where the bytes a node moves per image (its activations) most
 * outweigh what running it image by image costs: its weights, read again
 * for every image, and a fixed cost per call (small problems run less
 * efficiently, and each call has its overhead). A node's gain is its
 * activation bytes per image, counted only where the batch's (its inputs
 * and outputs) exceed 8 MiB, which the caches would otherwise keep, less
 * twice its weight bytes less 512 KiB; the cut is the step before which the
 * sum of the gains is largest. The factor, the fixed cost and the 8 MiB are
 * measured, not derived: across the torchvision zoo at batch 16 they end the
 * split where running image by image stops paying (docs/performance.md,
 * "Splitting the batch"). Only nodes that compute each image from that
 * image alone may run before the cut. */
#include "split_batch.h"

#include <stdlib.h>
#include <string.h>

#include "op.h"
#include "passes.h"

#define CALL_COST_BYTES (512.0 * 1024.0)
#define CACHED_BYTES (8.0 * 1024.0 * 1024.0)

struct split_batch {
    illume_session *images; /* the first steps, on a batch of one image */
    int cut;                /* the value they hand on (the same index in both graphs) */
    int64_t batch;
};

static int batch_data(const graph_value *value, int64_t batch) {
    return value->dtype == ILLUME_FLOAT32 && value->rank >= 1 && value->dims[0] == batch;
}

/* Whether input i of the node may be data (differ between images): the
 * first of a one-input op, a convolution's data and residual, any of a
 * broadcasting op or Concat. The others must be constants that hold the
 * same for every image. */
static int data_input(const graph_node *node, op_kind kind, int i) {
    switch (kind) {
    case KIND_UNARY: return i == 0;
    case KIND_CONVOLUTION: return i == 0 || (node->fused_add && i == node->input_count - 1);
    case KIND_BINARY:
    case KIND_CONCAT: return 1;
    default: return 0;
    }
}

/* Whether the node computes each image of its outputs from that image of
 * its inputs alone: an op that works image by image, whose data inputs and
 * outputs all hold the batch in their first dimension (so a Concat along
 * the batch, whose output holds more, is not), and whose constant inputs
 * are the same for every image. */
static int per_image(const graph *g, const graph_node *node, int64_t batch) {
    op_kind kind = graph_op_kind(node);
    if (kind == KIND_OTHER) return 0;
    for (int o = 0; o < node->output_count; o++) {
        const graph_value *y = graph_output(g, node, o);
        if (y && !batch_data(y, batch)) return 0;
    }
    const graph_value *y = graph_output(g, node, 0);
    if (!y) return 0;
    for (int i = 0; i < node->input_count; i++) {
        const graph_value *x = graph_input(g, node, i);
        if (!x) continue;
        if (!x->constant) {
            if (!data_input(node, kind, i) || !batch_data(x, batch)) return 0;
        } else if ((kind == KIND_BINARY || kind == KIND_CONCAT) && x->rank >= y->rank && x->dims[0] != 1) {
            return 0;
        }
    }
    return 1;
}

/* What running the node one image at a time saves, in the cut's measure:
 * activation bytes per image (where the batch's outgrow the caches) less
 * twice the weight bytes less a fixed cost. */
static double image_gain(const graph *g, const graph_node *node, int64_t batch) {
    double activations = 0, weights = 0;
    for (int k = 0; k < node->input_count + node->output_count; k++) {
        const graph_value *value = k < node->input_count ? graph_input(g, node, k)
                                                         : graph_output(g, node, k - node->input_count);
        size_t bytes;
        if (!value || value_byte_size(value, &bytes)) continue;
        if (value->constant) weights += (double)bytes;
        else activations += (double)bytes;
    }
    double gain = activations > CACHED_BYTES ? activations / (double)batch : 0;
    return gain - 2.0 * weights - CALL_COST_BYTES;
}

/* Per value: the last step that reads it, node_count for graph outputs, -1 for none. */
static int *last_reads(const graph *g) {
    int *last = malloc(sizeof(int) * ((size_t)g->value_count + 1));
    if (!last) return NULL;
    for (int v = 0; v < g->value_count; v++) last[v] = g->values[v].is_graph_output ? g->node_count : -1;
    for (int n = 0; n < g->node_count; n++)
        for (int i = 0; i < g->nodes[n].input_count; i++) {
            int v = g->nodes[n].inputs[i];
            if (v >= 0 && last[v] < n) last[v] = n;
        }
    return last;
}

static int reads_earlier(const graph_node *node, int i) {
    for (int k = 0; k < i; k++)
        if (node->inputs[k] == node->inputs[i]) return 1;
    return 0;
}

int split_batch_choose(const graph *g) {
    if (g->input_count < 1 || g->values[g->inputs[0]].rank < 1) return 0;
    int64_t batch = g->values[g->inputs[0]].dims[0];
    if (batch < 2) return 0;
    for (int i = 0; i < g->input_count; i++)
        if (!batch_data(&g->values[g->inputs[i]], batch)) return 0;
    for (int v = 0; v < g->value_count; v++)
        if (g->values[v].pinned) return 0;
    int *last = last_reads(g);
    if (!last) return 0;
    /* Data values alive between steps, and how many of them are graph inputs. */
    int alive = 0, inputs_alive = 0;
    for (int i = 0; i < g->input_count; i++)
        if (last[g->inputs[i]] >= 0) alive++, inputs_alive++;
    double gain = 0, best_gain = 0;
    int best = 0;
    for (int n = 0; n < g->node_count && per_image(g, &g->nodes[n], batch); n++) {
        const graph_node *node = &g->nodes[n];
        gain += image_gain(g, node, batch);
        for (int o = 0; o < node->output_count; o++)
            if (node->outputs[o] >= 0 && last[node->outputs[o]] > n) alive++;
        for (int i = 0; i < node->input_count; i++) {
            int v = node->inputs[i];
            if (v < 0 || g->values[v].constant || last[v] != n || reads_earlier(node, i)) continue;
            alive--;
            if (g->values[v].is_graph_input) inputs_alive--;
        }
        if (alive == 1 && inputs_alive == 0 && gain > best_gain) {
            best_gain = gain;
            best = n + 1;
        }
    }
    free(last);
    return best;
}

/* The value made before the plan's first step that later steps read. */
static int find_cut(const graph *g, int first_step) {
    int *last = last_reads(g);
    int cut = -1;
    for (int v = 0; last && v < g->value_count; v++) {
        int producer = g->values[v].producer;
        if (producer >= 0 && producer < first_step && last[v] >= first_step) cut = v;
    }
    free(last);
    return cut;
}

/* The session's graph up to the cut, on a batch of one: its nodes before
 * first_step, the graph inputs, and the cut as its only output. */
static graph *image_graph(const graph *g, int first_step, int cut) {
    graph *part = graph_clone(g);
    if (!part) return NULL;
    for (int n = first_step; n < part->node_count; n++) graph_node_release(&part->nodes[n]);
    part->node_count = first_step;
    for (int o = 1; o < part->output_count; o++) free(part->output_names[o]);
    free(part->output_names[0]);
    part->output_names[0] = NULL;
    part->output_count = 1;
    part->outputs[0] = cut;
    for (int v = 0; v < part->value_count; v++) {
        graph_value *value = &part->values[v];
        value->is_graph_output = v == cut;
        if (value->producer >= first_step) value->producer = -1;
        if (!value->constant && (value->is_graph_input || value->producer >= 0)) value->dims[0] = 1;
    }
    part->output_names[0] = strdup(part->values[cut].name);
    if (!part->output_names[0]) {
        graph_free(part);
        return NULL;
    }
    return part;
}

illume_status split_batch_create(illume_session *session) {
    const graph *g = session->graph;
    int first_step = session->plan.first_step;
    int cut = find_cut(g, first_step);
    if (cut < 0) return illume_fail(session->context, ILLUME_ERROR_INTERNAL, "no value crosses the batch split");
    session->split = calloc(1, sizeof *session->split);
    if (!session->split) return illume_fail(session->context, ILLUME_ERROR_OUT_OF_MEMORY, "out of memory");
    session->split->cut = cut;
    session->split->batch = g->values[cut].dims[0];
    graph *part = image_graph(g, first_step, cut);
    if (!part) return illume_fail(session->context, ILLUME_ERROR_OUT_OF_MEMORY, "out of memory splitting the batch");
    return session_create_part(session, part, &session->split->images);
}

/* Points every call of the session that reads or writes value v at data. */
static void bind_value(illume_session *session, int v, float *data) {
    session->pointers[v] = data;
    for (int s = 0; s < session->plan.step_count; s++) {
        op_call *call = &session->calls[s];
        for (int i = 0; i < call->node->input_count; i++)
            if (call->node->inputs[i] == v) ((const float **)call->inputs)[i] = data;
        for (int o = 0; o < call->node->output_count; o++)
            if (call->node->outputs[o] == v) ((float **)call->outputs)[o] = data;
    }
}

/* Image `image` of value v of the session. */
static float *image_of(const illume_session *session, int v, int64_t image, int64_t batch) {
    size_t bytes;
    value_byte_size(&session->graph->values[v], &bytes);
    return (float *)((char *)session->pointers[v] + bytes / (size_t)batch * (size_t)image);
}

illume_status split_batch_run(illume_session *session) {
    struct split_batch *split = session->split;
    const graph *g = session->graph;
    for (int64_t image = 0; image < split->batch; image++) {
        for (int i = 0; i < g->input_count; i++)
            if (session->pointers[g->inputs[i]])
                bind_value(split->images, g->inputs[i], image_of(session, g->inputs[i], image, split->batch));
        bind_value(split->images, split->cut, image_of(session, split->cut, image, split->batch));
        ILLUME_TRY(session_run_steps(split->images));
    }
    return ILLUME_OK;
}

illume_session *split_batch_images(const illume_session *session) { return session->split->images; }

void split_batch_free(illume_session *session) {
    if (!session->split) return;
    illume_session_free(session->split->images);
    free(session->split);
    session->split = NULL;
}
