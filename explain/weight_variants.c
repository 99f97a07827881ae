#include "weight_variants.h"

#include <stdlib.h>
#include <string.h>

#include "ops/op_support.h"

#define NODE_STATES (1 + OP_BACKWARD_STATES)

/* What a linear node keeps between calls: its weight variants on the
 * device and the backend state of each variant's forward and backward. */
typedef struct node_variants {
    float *weights[VARIANTS], *bias[VARIANTS]; /* owned, except the originals */
    float *zero_bias; /* NULL when the node has no bias */
    void *states[VARIANTS][NODE_STATES];
} node_variants;

struct weight_variants {
    int node_count;
    node_variants *nodes;
};

int linear_with_weights(const graph *g, const graph_node *node) {
    if (!op_node_has(node, OP_LINEAR)) return 0;
    if (node->input_count < 2 || node->inputs[0] < 0 || node->inputs[1] < 0) return 0;
    if (g->values[node->inputs[0]].constant || !g->values[node->inputs[1]].constant) return 0;
    if (graph_node_is(node, "Gemm") && graph_attribute_int(node, "transA", 0)) return 0;
    return 1;
}

weight_variants *weight_variants_create(int node_count) {
    weight_variants *variants = calloc(1, sizeof *variants);
    if (variants) variants->nodes = calloc((size_t)node_count + 1, sizeof(node_variants));
    if (variants && !variants->nodes) {
        free(variants);
        return NULL;
    }
    if (variants) variants->node_count = node_count;
    return variants;
}

void weight_variants_free(weight_variants *variants, backend *device) {
    if (!variants) return;
    for (int n = 0; n < variants->node_count; n++) {
        node_variants *node = &variants->nodes[n];
        if (node->zero_bias) device->release(device, node->zero_bias);
        for (int v = 0; v < VARIANTS; v++) {
            if (v != VARIANT_ORIGINAL) {
                if (node->weights[v]) device->release(device, node->weights[v]);
                if (node->bias[v]) device->release(device, node->bias[v]);
            }
            for (int k = 0; k < NODE_STATES; k++)
                if (node->states[v][k]) device->release_state(device, node->states[v][k]);
        }
    }
    free(variants->nodes);
    free(variants);
}

static float transform(weight_variant variant, float value, float gamma) {
    switch (variant) {
    case VARIANT_POSITIVE: return value > 0.0f ? value : 0.0f;
    case VARIANT_NEGATIVE: return value < 0.0f ? value : 0.0f;
    case VARIANT_GAMMA_POSITIVE: return value + gamma * (value > 0.0f ? value : 0.0f);
    case VARIANT_GAMMA_NEGATIVE: return value + gamma * (value < 0.0f ? value : 0.0f);
    case VARIANT_ONES: return 1.0f;
    case VARIANT_SQUARE: return value * value;
    default: return value;
    }
}

/* The transformed copy of a constant on the device. */
static illume_status transformed(illume_context *context, backend *device, const graph_value *value,
                                 weight_variant variant, float gamma, float **result) {
    int64_t count;
    shape_element_count(value->rank, value->dims, &count);
    size_t bytes = sizeof(float) * (size_t)count;
    float *host = malloc(bytes + 1);
    float *copy = device->allocate(device, bytes + 1);
    if (!host || !copy) {
        free(host);
        if (copy) device->release(device, copy);
        return illume_fail(context, ILLUME_ERROR_OUT_OF_MEMORY, "out of memory for transformed weights");
    }
    const float *original = value->constant;
    for (int64_t i = 0; i < count; i++) host[i] = transform(variant, original[i], gamma);
    illume_status status = device->upload(device, copy, host, bytes);
    if (status == ILLUME_OK) status = device->synchronize(device);
    free(host);
    if (status != ILLUME_OK) {
        device->release(device, copy);
        return status;
    }
    *result = copy;
    return ILLUME_OK;
}

/* Node n's variant, made on first use. */
static illume_status variant_of(node_variants *node, illume_context *context, const op_call *forward,
                                weight_variant variant, float gamma) {
    if (node->weights[variant]) return ILLUME_OK;
    const graph_node *graph_node = forward->node;
    if (variant == VARIANT_ORIGINAL) {
        node->weights[variant] = (float *)forward->inputs[1];
        node->bias[variant] = graph_node->input_count > 2 ? (float *)forward->inputs[2] : NULL;
        return ILLUME_OK;
    }
    const graph *g = forward->graph;
    ILLUME_TRY(transformed(context, forward->backend, graph_input(g, graph_node, 1), variant, gamma,
                           &node->weights[variant]));
    const graph_value *bias = graph_node->input_count > 2 ? graph_input(g, graph_node, 2) : NULL;
    if (bias && bias->constant && variant != VARIANT_ONES)
        ILLUME_TRY(transformed(context, forward->backend, bias, variant, gamma, &node->bias[variant]));
    return ILLUME_OK;
}

/* The bias a term adds: the variant's, or zeros in the node's bias shape. */
static illume_status bias_of(node_variants *node, illume_context *context, const op_call *forward,
                             weight_variant variant, int with_bias, const float **bias) {
    const graph_node *graph_node = forward->node;
    *bias = NULL;
    if (graph_node->input_count < 3 || graph_node->inputs[2] < 0) return ILLUME_OK;
    if (with_bias && node->bias[variant]) {
        *bias = node->bias[variant];
        return ILLUME_OK;
    }
    if (!node->zero_bias) {
        backend *device = forward->backend;
        int64_t count = input_elements(forward->graph, graph_node, 2);
        node->zero_bias = device->allocate(device, sizeof(float) * (size_t)count + 1);
        if (!node->zero_bias) return illume_fail(context, ILLUME_ERROR_OUT_OF_MEMORY, "out of memory for weights");
        ILLUME_TRY(device->fill(device, 0.0f, count, node->zero_bias));
    }
    *bias = node->zero_bias;
    return ILLUME_OK;
}

illume_status weight_variants_forward(weight_variants *variants, illume_context *context, int n,
                                      const op_call *forward, weight_variant variant, float gamma, int with_bias,
                                      const float *x, float *out) {
    node_variants *node = &variants->nodes[n];
    ILLUME_TRY(variant_of(node, context, forward, variant, gamma));
    const float *bias;
    ILLUME_TRY(bias_of(node, context, forward, variant, with_bias, &bias));
    const float *inputs[3] = {x, node->weights[variant], bias};
    float *outputs[1] = {out};
    op_call call = *forward;
    call.inputs = inputs;
    call.outputs = outputs;
    call.state = &node->states[variant][0];
    call.saved = NULL;
    return op_get(forward->node->op)->forward(&call);
}

illume_status weight_variants_backward(weight_variants *variants, illume_context *context, int n,
                                       const op_backward_call *call, weight_variant variant, float gamma,
                                       const float *dy, float *dx) {
    node_variants *node = &variants->nodes[n];
    const op_call *forward = call->forward;
    ILLUME_TRY(variant_of(node, context, forward, variant, gamma));
    const float *bias;
    ILLUME_TRY(bias_of(node, context, forward, variant, 1, &bias));
    const float *inputs[3] = {forward->inputs[0], node->weights[variant], bias};
    op_call variant_call = *forward;
    variant_call.inputs = inputs;
    variant_call.state = &node->states[variant][0];
    const float *output_gradients[1] = {dy};
    float *input_gradients[3] = {dx, NULL, NULL};
    op_backward_call backward = {&variant_call, output_gradients, input_gradients, RULE_GRADIENT,
                                 &node->states[variant][1], call->scratch};
    return op_get(forward->node->op)->backward(&backward);
}
