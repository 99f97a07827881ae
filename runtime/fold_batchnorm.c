/* Folds an inference BatchNormalization into the Conv, ConvTranspose or Gemm
 * that alone feeds it: with a = scale / sqrt(var + eps), the weights of each
 * output channel m are multiplied by a[m] and the bias becomes
 * (bias[m] - mean[m]) a[m] + shift[m]. Exact up to float rounding. */
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
static void scale_weights(const char *op, const graph_node *producer, const graph_value *w, float *data,
                          const float *factor) {
    int64_t count;
    shape_element_count(w->rank, w->dims, &count);
    if (strcmp(op, "Conv") == 0) {
        int64_t per_channel = count / w->dims[0];
        for (int64_t i = 0; i < count; i++) data[i] *= factor[i / per_channel];
    } else if (strcmp(op, "ConvTranspose") == 0) {
        int64_t groups = graph_attribute_int(producer, "group", 1);
        int64_t in_per_group = w->dims[0] / groups, out_per_group = w->dims[1];
        int64_t spatial = count / (w->dims[0] * w->dims[1]);
        for (int64_t i = 0; i < count; i++) {
            int64_t c = i / (out_per_group * spatial), j = (i / spatial) % out_per_group;
            data[i] *= factor[(c / in_per_group) * out_per_group + j];
        }
    } else {
        int transposed = graph_attribute_int(producer, "transB", 0) != 0;
        for (int64_t i = 0; i < count; i++) data[i] *= factor[transposed ? i / w->dims[1] : i % w->dims[1]];
    }
}

static int foldable(const graph *g, const graph_node *bn, const int *readers, int *producer_index) {
    for (int i = 1; i < 5; i++)
        if (!graph_input(g, bn, i)->constant) return 0;
    const graph_value *x = graph_input(g, bn, 0);
    if (x->producer < 0 || readers[bn->inputs[0]] != 1 || x->is_graph_output || x->pinned) return 0;
    const graph_node *producer = &g->nodes[x->producer];
    const char *op = op_get(producer->op)->name;
    if (strcmp(op, "Conv") && strcmp(op, "ConvTranspose") && strcmp(op, "Gemm")) return 0;
    if (producer->fused_activation.kind || !graph_input(g, producer, 1)->constant) return 0;
    const graph_value *bias = graph_input(g, producer, 2);
    if (bias && !bias->constant) return 0;
    if (strcmp(op, "Gemm") == 0 && bias) {
        int64_t count, n = x->dims[1];
        shape_element_count(bias->rank, bias->dims, &count);
        if (count != n || bias->rank < 1 || bias->dims[bias->rank - 1] != n) return 0;
    }
    *producer_index = x->producer;
    return 1;
}

static illume_status fold_one(illume_context *context, graph *g, int bn_index, int producer_index) {
    graph_node *bn = &g->nodes[bn_index];
    graph_node *producer = &g->nodes[producer_index];
    const char *op = op_get(producer->op)->name;
    int64_t channels = graph_input(g, bn, 1)->dims[0];
    float epsilon = graph_attribute_float(bn, "epsilon", 1e-5f);
    const float *scale = graph_input(g, bn, 1)->constant, *shift = graph_input(g, bn, 2)->constant;
    const float *mean = graph_input(g, bn, 3)->constant, *variance = graph_input(g, bn, 4)->constant;
    float *factor = malloc(sizeof(float) * (size_t)channels);
    float *bias = malloc(sizeof(float) * (size_t)channels);
    int64_t weight_count;
    const graph_value *w = graph_input(g, producer, 1);
    float *weights = copy_floats(w, &weight_count);
    if (!factor || !bias || !weights) {
        free(factor);
        free(bias);
        free(weights);
        return illume_fail(context, ILLUME_ERROR_OUT_OF_MEMORY, "out of memory folding batch normalization");
    }
    const graph_value *old_bias = graph_input(g, producer, 2);
    float gemm_beta = strcmp(op, "Gemm") == 0 ? graph_attribute_float(producer, "beta", 1.0f) : 1.0f;
    for (int64_t m = 0; m < channels; m++) {
        factor[m] = scale[m] / sqrtf(variance[m] + epsilon);
        float b = old_bias ? gemm_beta * ((const float *)old_bias->constant)[m] : 0.0f;
        bias[m] = (b - mean[m]) * factor[m] + shift[m];
    }
    scale_weights(op, producer, w, weights, factor);
    free(factor);
    int64_t w_dims[ILLUME_MAX_RANK];
    int w_rank = w->rank;
    memcpy(w_dims, w->dims, sizeof w_dims);
    char base[400];
    snprintf(base, sizeof base, "%s", graph_input(g, producer, 1)->name);
    int new_weights = add_constant(g, base, ":folded", w_rank, w_dims, weights);
    int new_bias = add_constant(g, base, ":folded_bias", 1, &channels, bias);
    if (new_weights < 0 || new_bias < 0)
        return illume_fail(context, ILLUME_ERROR_OUT_OF_MEMORY, "out of memory folding batch normalization");
    producer = &g->nodes[producer_index];
    bn = &g->nodes[bn_index];
    if (producer->input_count < 3) {
        int *inputs = realloc(producer->inputs, sizeof(int) * 3);
        if (!inputs) return illume_fail(context, ILLUME_ERROR_OUT_OF_MEMORY, "out of memory");
        producer->inputs = inputs;
        producer->input_count = 3;
    }
    producer->inputs[1] = new_weights;
    producer->inputs[2] = new_bias;
    graph_attribute *beta = (graph_attribute *)graph_attribute_find(producer, "beta");
    if (beta) beta->f = 1.0f;
    graph_absorb(g, producer_index, bn);
    return ILLUME_OK;
}

illume_status pass_fold_batchnorm(illume_context *context, graph *g) {
    int batchnorm = op_find("BatchNormalization");
    int *readers = graph_count_readers(g);
    if (!readers) return illume_fail(context, ILLUME_ERROR_OUT_OF_MEMORY, "out of memory");
    illume_status status = ILLUME_OK;
    for (int n = 0; n < g->node_count && status == ILLUME_OK; n++) {
        int producer;
        if (g->nodes[n].op != batchnorm || !foldable(g, &g->nodes[n], readers, &producer)) continue;
        status = fold_one(context, g, n, producer);
    }
    free(readers);
    graph_compact(g);
    return status;
}
