/* Folds a per-channel affine map y = factor[m] x + shift[m] into the Conv,
 * ConvTranspose, Gemm or MatMul that alone feeds it: the weights of each
 * output channel m are multiplied by factor[m] and the bias becomes
 * factor[m] bias[m] + shift[m]. Exact up to float rounding.
 *
 * The maps folded: an inference BatchNormalization (factor = scale /
 * sqrt(var + eps), shift = B - mean factor), and a Mul, Div, Add or Sub of
 * the linear node's output by a constant that varies along its channels
 * alone, which is how TensorFlow exporters leave a BatchNorm they did not
 * merge (tf2onnx's depthwise convolutions: a Mul and an Add) and how Keras's
 * Dense arrives (a MatMul and an Add of its bias). LRP needs the fold: it
 * treats the folded node as one linear layer, as Zennit's canonizers do,
 * where the Mul by itself would scale relevance at every layer. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "op.h"
#include "ops/op_support.h"
#include "passes.h"

/* A new constant value holding data (taken over); returns its index or -1. */
static int add_constant(graph *g, const char *base, const char *suffix, int rank, const int64_t *dims, float *data) {
    char name[512];
    snprintf(name, sizeof name, "%.400s%s", base, suffix);
    int v = graph_add_value(g, name);
    if (v < 0) {
        free(data);
        return -1;
    }
    graph_value *value = &g->values[v];
    value->dtype = ILLUME_FLOAT32;
    value->rank = rank;
    memcpy(value->dims, dims, sizeof(int64_t) * (size_t)rank);
    value->constant = data;
    value->owns_constant = 1;
    return v;
}

static float *copy_floats(const graph_value *value, int64_t *count) {
    shape_element_count(value->rank, value->dims, count);
    float *data = malloc(sizeof(float) * (size_t)(*count ? *count : 1));
    if (data) memcpy(data, value->constant, sizeof(float) * (size_t)*count);
    return data;
}

/* Scales the weights of output channel m by factor[m]; the layout depends on the op. */
static void scale_weights(const graph_node *producer, const graph_value *w, float *data, const float *factor) {
    int64_t count;
    shape_element_count(w->rank, w->dims, &count);
    if (count == 0) return; /* the divisions below would divide by an empty dimension */
    if (graph_node_is(producer, "Conv")) {
        int64_t per_channel = count / w->dims[0];
        for (int64_t i = 0; i < count; i++) data[i] *= factor[i / per_channel];
    } else if (graph_node_is(producer, "ConvTranspose")) {
        int64_t groups = graph_attribute_int(producer, "group", 1);
        int64_t in_per_group = w->dims[0] / groups, out_per_group = w->dims[1];
        int64_t spatial = count / (w->dims[0] * w->dims[1]);
        for (int64_t i = 0; i < count; i++) {
            int64_t c = i / (out_per_group * spatial), j = (i / spatial) % out_per_group;
            data[i] *= factor[(c / in_per_group) * out_per_group + j];
        }
    } else {
        /* Gemm (W is (K, M), or (M, K) transposed) and MatMul (W is (K, M)). */
        int transposed = graph_node_is(producer, "Gemm") && graph_attribute_int(producer, "transB", 0) != 0;
        for (int64_t i = 0; i < count; i++) data[i] *= factor[transposed ? i / w->dims[1] : i % w->dims[1]];
    }
}

/* The axis of the linear node's output that holds its output channels. */
static int channel_axis(const graph *g, const graph_node *producer) {
    const graph_value *y = graph_output(g, producer, 0);
    return graph_node_is(producer, "Conv") || graph_node_is(producer, "ConvTranspose") ? 1 : y->rank - 1;
}

/* The linear node that alone feeds input `side` of node and can take in a
 * per-channel map after it, or -1: constant weights (and bias), no fused
 * activation, an output nothing else reads or asks for. A MatMul takes in
 * only a scale unless it can become a Gemm (both operands of rank 2). */
static int foldable_producer(const graph *g, const graph_node *node, int side, const int *readers, int with_shift) {
    const graph_value *x = graph_input(g, node, side);
    if (!x || x->producer < 0 || readers[node->inputs[side]] != 1 || x->is_graph_output || x->pinned) return -1;
    const graph_node *producer = &g->nodes[x->producer];
    int matmul = graph_node_is(producer, "MatMul");
    if (!op_node_has(producer, OP_LINEAR)) return -1;
    if (producer->outputs[0] != node->inputs[side] || producer->fused_activation.kind) return -1;
    const graph_value *input = graph_input(g, producer, 0), *weights = graph_input(g, producer, 1);
    if (!weights || !weights->constant || weights->dtype != ILLUME_FLOAT32 || input->constant) return -1;
    if (matmul && (weights->rank != 2 || (with_shift && input->rank != 2))) return -1;
    const graph_value *bias = graph_input(g, producer, 2);
    if (bias && (!bias->constant || bias->dtype != ILLUME_FLOAT32)) return -1;
    if (graph_node_is(producer, "Gemm") && bias) {
        int64_t count, channels = x->dims[1];
        shape_element_count(bias->rank, bias->dims, &count);
        if (count != channels || bias->rank < 1 || bias->dims[bias->rank - 1] != channels) return -1;
    }
    return x->producer;
}

/* Whether constant c, broadcast against y, varies along y's channel axis
 * alone and leaves y's shape as it is. */
static int per_channel(const graph_value *c, const graph_value *y, int axis) {
    if (!c || !c->constant || c->dtype != ILLUME_FLOAT32 || c->rank > y->rank) return 0;
    for (int d = 0; d < c->rank; d++) {
        int aligned = y->rank - c->rank + d;
        if (c->dims[d] != 1 && !(aligned == axis && c->dims[d] == y->dims[axis])) return 0;
    }
    return 1;
}

/* Constant c as one value per channel (it holds one, or one per channel). */
static void per_channel_values(const graph_value *c, int64_t channels, float *values) {
    int64_t count;
    shape_element_count(c->rank, c->dims, &count);
    const float *data = c->constant;
    for (int64_t m = 0; m < channels; m++) values[m] = data[count == channels ? m : 0];
}

/* Where a foldable map was found: the linear node, and the map per channel. */
typedef struct affine_map {
    int producer;
    int64_t channels;
    float *factor, *shift; /* channels each, owned */
} affine_map;

static illume_status allocate_map(illume_context *context, affine_map *map, int64_t channels) {
    map->channels = channels;
    map->factor = malloc(sizeof(float) * (size_t)(channels ? channels : 1));
    map->shift = malloc(sizeof(float) * (size_t)(channels ? channels : 1));
    if (!map->factor || !map->shift) return illume_fail(context, ILLUME_ERROR_OUT_OF_MEMORY, "out of memory");
    for (int64_t m = 0; m < channels; m++) {
        map->factor[m] = 1.0f;
        map->shift[m] = 0.0f;
    }
    return ILLUME_OK;
}

/* A BatchNormalization of constant parameters after a linear node. */
static illume_status batchnorm_map(illume_context *context, const graph *g, const graph_node *bn, const int *readers,
                                   affine_map *map, int *found) {
    *found = 0;
    for (int i = 1; i < 5; i++)
        if (!graph_input(g, bn, i)->constant) return ILLUME_OK;
    map->producer = foldable_producer(g, bn, 0, readers, 1);
    if (map->producer < 0 || channel_axis(g, &g->nodes[map->producer]) != 1) return ILLUME_OK;
    int64_t channels = graph_input(g, bn, 1)->dims[0];
    ILLUME_TRY(allocate_map(context, map, channels));
    float epsilon = graph_attribute_float(bn, "epsilon", 1e-5f);
    const float *scale = graph_input(g, bn, 1)->constant, *shift = graph_input(g, bn, 2)->constant;
    const float *mean = graph_input(g, bn, 3)->constant, *variance = graph_input(g, bn, 4)->constant;
    for (int64_t m = 0; m < channels; m++) {
        map->factor[m] = scale[m] / sqrtf(variance[m] + epsilon);
        map->shift[m] = shift[m] - mean[m] * map->factor[m];
    }
    *found = 1;
    return ILLUME_OK;
}

/* A Mul or Div (y / c), Add or Sub (y - c) of a linear node's output y by a per-channel constant c. */
static illume_status arithmetic_map(illume_context *context, const graph *g, const graph_node *node,
                                    const int *readers, affine_map *map, int *found) {
    *found = 0;
    int scales = graph_node_is(node, "Mul") || graph_node_is(node, "Div");
    int commutes = graph_node_is(node, "Mul") || graph_node_is(node, "Add");
    if (!scales && !graph_node_is(node, "Add") && !graph_node_is(node, "Sub")) return ILLUME_OK;
    if (node->input_count != 2) return ILLUME_OK;
    for (int side = 0; side < (commutes ? 2 : 1); side++) {
        map->producer = foldable_producer(g, node, side, readers, !scales);
        if (map->producer < 0) continue;
        const graph_value *y = graph_input(g, node, side), *c = graph_input(g, node, 1 - side);
        int axis = channel_axis(g, &g->nodes[map->producer]);
        if (!per_channel(c, y, axis)) continue;
        ILLUME_TRY(allocate_map(context, map, y->dims[axis]));
        float *values = scales ? map->factor : map->shift;
        per_channel_values(c, map->channels, values);
        for (int64_t m = 0; m < map->channels; m++) {
            if (graph_node_is(node, "Div")) values[m] = 1.0f / values[m];
            if (graph_node_is(node, "Sub")) values[m] = -values[m];
        }
        for (int64_t m = 0; m < map->channels; m++)
            if (!isfinite(map->factor[m]) || !isfinite(map->shift[m])) return ILLUME_OK;
        *found = 1;
        return ILLUME_OK;
    }
    return ILLUME_OK;
}

/* A MatMul given a bias becomes the Gemm it then is (its operands are 2-D). */
static illume_status become_gemm(illume_context *context, graph_node *producer) {
    char *name = strdup("Gemm");
    if (!name) return illume_fail(context, ILLUME_ERROR_OUT_OF_MEMORY, "out of memory");
    free(producer->op_type);
    producer->op_type = name;
    producer->op = op_find("Gemm");
    return ILLUME_OK;
}

static illume_status fold_one(illume_context *context, graph *g, int node_index, const affine_map *map) {
    graph_node *producer = &g->nodes[map->producer];
    const graph_value *w = graph_input(g, producer, 1), *old_bias = graph_input(g, producer, 2);
    int64_t weight_count;
    float *weights = copy_floats(w, &weight_count);
    float *bias = malloc(sizeof(float) * (size_t)(map->channels ? map->channels : 1));
    if (!weights || !bias) {
        free(weights);
        free(bias);
        return illume_fail(context, ILLUME_ERROR_OUT_OF_MEMORY, "out of memory folding a per-channel affine map");
    }
    float gemm_beta = graph_node_is(producer, "Gemm") ? graph_attribute_float(producer, "beta", 1.0f) : 1.0f;
    int has_shift = 0;
    for (int64_t m = 0; m < map->channels; m++) {
        float b = old_bias ? gemm_beta * ((const float *)old_bias->constant)[m] : 0.0f;
        bias[m] = b * map->factor[m] + map->shift[m];
        has_shift |= map->shift[m] != 0.0f;
    }
    scale_weights(producer, w, weights, map->factor);
    int64_t w_dims[ILLUME_MAX_RANK], channels = map->channels;
    int w_rank = w->rank, without_bias = !old_bias && !has_shift;
    memcpy(w_dims, w->dims, sizeof w_dims);
    char base[400];
    snprintf(base, sizeof base, "%s", w->name);
    int new_weights = add_constant(g, base, ":folded", w_rank, w_dims, weights);
    int new_bias = -1;
    if (without_bias) free(bias);
    else new_bias = add_constant(g, base, ":folded_bias", 1, &channels, bias);
    if (new_weights < 0 || (!without_bias && new_bias < 0))
        return illume_fail(context, ILLUME_ERROR_OUT_OF_MEMORY, "out of memory folding a per-channel affine map");
    producer = &g->nodes[map->producer];
    if (!without_bias && producer->input_count < 3) {
        int *inputs = realloc(producer->inputs, sizeof(int) * 3);
        if (!inputs) return illume_fail(context, ILLUME_ERROR_OUT_OF_MEMORY, "out of memory");
        producer->inputs = inputs;
        producer->input_count = 3;
        if (graph_node_is(producer, "MatMul")) ILLUME_TRY(become_gemm(context, producer));
    }
    producer->inputs[1] = new_weights;
    if (!without_bias) producer->inputs[2] = new_bias;
    graph_attribute *beta = (graph_attribute *)graph_attribute_find(producer, "beta");
    if (beta) beta->f = 1.0f;
    graph_absorb(g, map->producer, &g->nodes[node_index]);
    return ILLUME_OK;
}

illume_status pass_fold_affine(illume_context *context, graph *g) {
    int *readers = graph_count_readers(g);
    if (!readers) return illume_fail(context, ILLUME_ERROR_OUT_OF_MEMORY, "out of memory");
    illume_status status = ILLUME_OK;
    for (int n = 0; n < g->node_count && status == ILLUME_OK; n++) {
        const graph_node *node = &g->nodes[n];
        if (node->op == GRAPH_NODE_DELETED) continue;
        affine_map map = {.producer = -1};
        int found = 0;
        if (graph_node_is(node, "BatchNormalization")) status = batchnorm_map(context, g, node, readers, &map, &found);
        else status = arithmetic_map(context, g, node, readers, &map, &found);
        if (status == ILLUME_OK && found) status = fold_one(context, g, n, &map);
        free(map.factor);
        free(map.shift);
    }
    free(readers);
    graph_compact(g);
    return status;
}
