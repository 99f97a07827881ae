/* LRP rules in the backward pass. A linear rule is a modified forward and a
 * backward-data of the node's own op, with the weights and inputs the rule
 * asks for: z = F(x', W'), s = R / stabilize(z), c = F^T(s, W'),
 * R_in = x' * c, summed over the rule's terms. The transformed weights (W+,
 * W-, W + gamma W+, ones, W^2) are made once per session, on first use. */
#include "lrp.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ops/op_support.h"
#include "relevance.h"
#include "session.h"

typedef enum weight_variant {
    VARIANT_ORIGINAL,
    VARIANT_POSITIVE,
    VARIANT_NEGATIVE,
    VARIANT_GAMMA_POSITIVE, /* W + gamma W+ */
    VARIANT_GAMMA_NEGATIVE, /* W + gamma W- */
    VARIANT_ONES,
    VARIANT_SQUARE,
    VARIANTS
} weight_variant;

#define LRP_NODE_STATES (1 + OP_BACKWARD_STATES)

/* What a linear node keeps between calls: its weight variants on the device
 * and the backend state of each variant's forward and backward. */
typedef struct lrp_node {
    float *weights[VARIANTS], *bias[VARIANTS]; /* owned, except the originals */
    /* A bias of zeros for terms without one: a backend primitive made with a
     * bias keeps wanting one. NULL when the node has no bias. */
    float *zero_bias;
    float *side; /* DeepLIFT RevealCancel: the negative part's multipliers, from the node after */
    void *states[VARIANTS][LRP_NODE_STATES];
} lrp_node;

struct lrp_state {
    lrp_rule *rules;
    lrp_node *nodes;
};

const char *lrp_kind_name(lrp_kind kind) {
    static const char *const names[] = {"gradient", "pass", "norm", "epsilon", "gamma", "alpha-beta",
                                        "zplus", "zbox", "flat", "wsquare", "gate"};
    return (unsigned)kind < sizeof names / sizeof names[0] ? names[kind] : "unknown";
}

int lrp_is_linear(const graph *g, const graph_node *node) {
    if (node->op < 0) return 0;
    const char *name = op_get(node->op)->name;
    if (strcmp(name, "Conv") && strcmp(name, "ConvTranspose") && strcmp(name, "Gemm") && strcmp(name, "MatMul"))
        return 0;
    if (node->input_count < 2 || node->inputs[0] < 0 || node->inputs[1] < 0) return 0;
    if (g->values[node->inputs[0]].constant || !g->values[node->inputs[1]].constant) return 0;
    if (!strcmp(name, "Gemm") && graph_attribute_int(node, "transA", 0)) return 0;
    return 1;
}

float *lrp_scratch_of(const op_backward_call *call) {
    const graph_node *node = call->forward->node;
    const op_definition *definition = op_get(node->op);
    size_t op_scratch = definition->backward_scratch_bytes ? definition->backward_scratch_bytes(call->forward->graph, node)
                                                           : 0;
    return (float *)((char *)call->scratch + (op_scratch + PLAN_ALIGNMENT - 1) / PLAN_ALIGNMENT * PLAN_ALIGNMENT);
}

size_t lrp_scratch_bytes(const graph *g, const graph_node *node) {
    int64_t x = node->input_count > 0 && node->inputs[0] >= 0 ? input_elements(g, node, 0) : 0;
    int64_t y = node->output_count > 0 && node->outputs[0] >= 0 ? output_elements(g, node, 0) : 0;
    /* Linear rules: x+, x- and a backward result (x-sized), two denominators and two ratios (y-sized);
     * norm a ratio (y-sized), on a max pool also the window sums (y-sized); DeepLIFT's max pool routed
     * parts (y-sized) and their unpooling (x-sized). */
    int64_t floats = lrp_is_linear(g, node) ? 3 * x + 4 * y : x + 2 * y;
    /* DeepLIFT's RevealCancel at a node after a linear one: that one's input change and its two signs
     * (its input's size), the two parts and a term (x-sized). */
    int v = node->input_count > 0 ? node->inputs[0] : -1, producer = v >= 0 ? g->values[v].producer : -1;
    if (producer >= 0 && g->nodes[producer].outputs[0] == v && lrp_is_linear(g, &g->nodes[producer])) {
        int64_t reveal = 3 * input_elements(g, &g->nodes[producer], 0) + 3 * x;
        if (reveal > floats) floats = reveal;
    }
    /* Each count is within SHAPE_EXTENT_LIMIT, so their sum fits int64 but its bytes may not: they saturate,
     * and the planner refuses them. */
    return (uint64_t)floats > SIZE_MAX / sizeof(float) ? SIZE_MAX : (size_t)floats * sizeof(float);
}

/* Gemm scales its product by alpha and its bias by beta, which the weight
 * transformations would not commute with. */
static int plain_gemm(const graph_node *node) {
    if (strcmp(op_get(node->op)->name, "Gemm")) return 1;
    return graph_attribute_float(node, "alpha", 1.0f) == 1.0f && graph_attribute_float(node, "beta", 1.0f) == 1.0f;
}

/* An unfolded BatchNormalization is affine per channel: its epsilon rule is
 * the norm rule with the rule's epsilon (x scale R / stabilize(y)). */
static int affine_batchnorm(const graph_node *node) {
    return node->op >= 0 && !strcmp(op_get(node->op)->name, "BatchNormalization");
}

static illume_status check_rule(illume_context *context, const graph *g, const graph_node *node,
                                const lrp_rule *rule) {
    if (rule->kind == LRP_EPSILON && affine_batchnorm(node)) return ILLUME_OK;
    if (rule->kind >= LRP_EPSILON && rule->kind <= LRP_WSQUARE && !lrp_is_linear(g, node))
        return node_fail(context, node, ILLUME_ERROR_INVALID_INPUT,
                         "the LRP rule %s needs a Conv, ConvTranspose, Gemm or MatMul with constant weights",
                         lrp_kind_name(rule->kind));
    if (rule->kind > LRP_EPSILON && rule->kind <= LRP_WSQUARE && !plain_gemm(node))
        return node_fail(context, node, ILLUME_ERROR_UNSUPPORTED,
                         "the LRP rule %s needs a Gemm with alpha and beta 1", lrp_kind_name(rule->kind));
    if (rule->kind == LRP_GATE &&
        (node->op < 0 || node->input_count != 2 || node->output_count != 1 || rule->operand < 0 ||
         rule->operand > 1 || node->inputs[rule->operand] < 0 ||
         output_elements(g, node, 0) != input_elements(g, node, rule->operand)))
        return node_fail(context, node, ILLUME_ERROR_INVALID_INPUT,
                         "the gate rule needs a node of two inputs whose chosen input has the output's shape");
    if (rule->kind == LRP_PASS && input_elements(g, node, 0) != output_elements(g, node, 0))
        return node_fail(context, node, ILLUME_ERROR_INVALID_INPUT,
                         "the pass rule needs a node whose output has its input's shape");
    if (rule->kind == LRP_NORM && node->output_count != 1)
        return node_fail(context, node, ILLUME_ERROR_INVALID_INPUT, "the norm rule needs a node of one output");
    return ILLUME_OK;
}

illume_status session_set_lrp_rules(illume_session *session, const lrp_rule *rules) {
    const graph *g = session->graph;
    if (!session->has_backward || !session->relevance)
        return illume_fail(session->context, ILLUME_ERROR_INVALID_INPUT,
                           "LRP rules need a session made with a relevance backward pass");
    for (int n = 0; n < g->node_count; n++) ILLUME_TRY(check_rule(session->context, g, &g->nodes[n], &rules[n]));
    session_free_lrp(session);
    struct lrp_state *state = calloc(1, sizeof *state);
    if (state) state->rules = malloc(sizeof(lrp_rule) * (size_t)(g->node_count + 1));
    if (state && state->rules) state->nodes = calloc((size_t)g->node_count + 1, sizeof(lrp_node));
    if (!state || !state->rules || !state->nodes) {
        if (state) free(state->rules);
        free(state);
        return illume_fail(session->context, ILLUME_ERROR_OUT_OF_MEMORY, "out of memory");
    }
    memcpy(state->rules, rules, sizeof(lrp_rule) * (size_t)g->node_count);
    session->lrp = state;
    return ILLUME_OK;
}

void session_free_lrp(illume_session *session) {
    struct lrp_state *state = session->lrp;
    if (!state) return;
    backend *device = session->backend;
    for (int n = 0; n < session->graph->node_count; n++) {
        lrp_node *node = &state->nodes[n];
        if (node->zero_bias) device->release(device, node->zero_bias);
        if (node->side) device->release(device, node->side);
        for (int v = 0; v < VARIANTS; v++) {
            if (v != VARIANT_ORIGINAL) {
                if (node->weights[v]) device->release(device, node->weights[v]);
                if (node->bias[v]) device->release(device, node->bias[v]);
            }
            for (int k = 0; k < LRP_NODE_STATES; k++)
                if (node->states[v][k]) device->release_state(device, node->states[v][k]);
        }
    }
    free(state->nodes);
    free(state->rules);
    free(state);
    session->lrp = NULL;
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
static illume_status transformed(illume_session *session, const graph_value *value, weight_variant variant,
                                 float gamma, float **result) {
    backend *device = session->backend;
    int64_t count;
    shape_element_count(value->rank, value->dims, &count);
    size_t bytes = sizeof(float) * (size_t)count;
    float *host = malloc(bytes + 1);
    float *copy = device->allocate(device, bytes + 1);
    if (!host || !copy) {
        free(host);
        if (copy) device->release(device, copy);
        return illume_fail(session->context, ILLUME_ERROR_OUT_OF_MEMORY, "out of memory for LRP weights");
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

/* What one linear rule works with while it runs. */
typedef struct linear_work {
    illume_session *session;
    const op_backward_call *call;
    const op_definition *definition;
    lrp_node *node;
    const lrp_rule *rule;
    int64_t x_count, y_count;
    int nonnegative; /* x >= 0 wherever it comes from: the terms of x- vanish, and are skipped */
    float *x_positive, *x_negative, *back, *z, *term, *ratio_positive, *ratio_negative;
} linear_work;

/* Whether a value cannot be negative: the output of a Relu, or of a node
 * that only moves, pools or pads (with zeros) values that cannot be. */
static int nonnegative(const graph *g, int v, int depth) {
    if (v < 0 || depth > 64) return 0;
    const graph_value *value = &g->values[v];
    if (value->constant || value->producer < 0) return 0;
    const graph_node *node = &g->nodes[value->producer];
    if (node->op < 0 || node->outputs[0] != v) return 0;
    const char *name = op_get(node->op)->name;
    if (!strcmp(name, "Relu")) return 1;
    if (!strcmp(name, "Pad") && strcmp(graph_attribute_string(node, "mode", "constant"), "constant")) return 0;
    if (!strcmp(name, "Pad") && node->input_count > 2 && node->inputs[2] >= 0) return 0;
    static const char *const keeping[] = {"MaxPool", "AveragePool", "GlobalAveragePool", "GlobalMaxPool",
                                          "Flatten", "Reshape", "Squeeze", "Unsqueeze", "Transpose", "Pad",
                                          "Concat", "Identity", "Dropout"};
    int keeps = 0;
    for (size_t k = 0; k < sizeof keeping / sizeof keeping[0]; k++) keeps |= !strcmp(name, keeping[k]);
    if (!keeps) return 0;
    int data_inputs = !strcmp(name, "Concat") ? node->input_count : 1;
    for (int i = 0; i < data_inputs; i++)
        if (!nonnegative(g, node->inputs[i], depth + 1)) return 0;
    return 1;
}

static illume_status variant_of(linear_work *w, weight_variant variant) {
    lrp_node *node = w->node;
    if (node->weights[variant]) return ILLUME_OK;
    const op_call *forward = w->call->forward;
    const graph_node *graph_node = forward->node;
    if (variant == VARIANT_ORIGINAL) {
        node->weights[variant] = (float *)forward->inputs[1];
        node->bias[variant] = graph_node->input_count > 2 ? (float *)forward->inputs[2] : NULL;
        return ILLUME_OK;
    }
    const graph *g = forward->graph;
    ILLUME_TRY(transformed(w->session, graph_input(g, graph_node, 1), variant, w->rule->gamma,
                           &node->weights[variant]));
    const graph_value *bias = graph_node->input_count > 2 ? graph_input(g, graph_node, 2) : NULL;
    if (bias && bias->constant && variant != VARIANT_ONES)
        ILLUME_TRY(transformed(w->session, bias, variant, w->rule->gamma, &node->bias[variant]));
    return ILLUME_OK;
}

/* The bias a term adds: the variant's, or zeros in the node's bias shape. */
static illume_status bias_of(linear_work *w, weight_variant variant, int with_bias, const float **bias) {
    lrp_node *node = w->node;
    const graph_node *graph_node = w->call->forward->node;
    *bias = NULL;
    if (graph_node->input_count < 3 || graph_node->inputs[2] < 0) return ILLUME_OK;
    if (with_bias && node->bias[variant]) {
        *bias = node->bias[variant];
        return ILLUME_OK;
    }
    if (!node->zero_bias) {
        backend *device = w->call->forward->backend;
        int64_t count = input_elements(w->call->forward->graph, graph_node, 2);
        node->zero_bias = device->allocate(device, sizeof(float) * (size_t)count + 1);
        if (!node->zero_bias)
            return illume_fail(w->session->context, ILLUME_ERROR_OUT_OF_MEMORY, "out of memory for LRP weights");
        ILLUME_TRY(device->fill(device, 0.0f, count, node->zero_bias));
    }
    *bias = node->zero_bias;
    return ILLUME_OK;
}

/* out = F(x; variant), with the variant's bias or none; or out += it. */
static illume_status term_forward(linear_work *w, const float *x, weight_variant variant, int with_bias,
                                  float *out, int add) {
    ILLUME_TRY(variant_of(w, variant));
    const op_call *forward = w->call->forward;
    const float *bias;
    ILLUME_TRY(bias_of(w, variant, with_bias, &bias));
    const float *inputs[3] = {x, w->node->weights[variant], bias};
    float *outputs[1] = {add ? w->term : out};
    op_call call = *forward;
    call.inputs = inputs;
    call.outputs = outputs;
    call.state = &w->node->states[variant][0];
    call.saved = NULL;
    ILLUME_TRY(w->definition->forward(&call));
    if (!add) return ILLUME_OK;
    backend *device = forward->backend;
    return device->relevance_term(device, w->y_count, 1.0f, w->term, NULL, out);
}

/* w->back = F^T(ratio; variant). */
static illume_status variant_backward(linear_work *w, const float *ratio, weight_variant variant) {
    ILLUME_TRY(variant_of(w, variant));
    const op_call *forward = w->call->forward;
    const float *bias;
    ILLUME_TRY(bias_of(w, variant, 1, &bias));
    const float *inputs[3] = {forward->inputs[0], w->node->weights[variant], bias};
    op_call call = *forward;
    call.inputs = inputs;
    call.state = &w->node->states[variant][0];
    const float *output_gradients[1] = {ratio};
    float *input_gradients[3] = {w->back, NULL, NULL};
    op_backward_call backward = {&call, output_gradients, input_gradients, RULE_GRADIENT,
                                 &w->node->states[variant][1], w->call->scratch};
    return w->definition->backward(&backward);
}

/* out += coefficient * a * F^T(ratio; variant) (a NULL: no factor). */
static illume_status term_backward(linear_work *w, const float *ratio, weight_variant variant, float coefficient,
                                   const float *a, float *out) {
    ILLUME_TRY(variant_backward(w, ratio, variant));
    backend *device = w->call->forward->backend;
    return device->relevance_term(device, w->x_count, coefficient, w->back, a, out);
}

/* A linear_work for node n's weight variants alone, outside an LRP rule. */
static linear_work signed_work(illume_session *session, int n, const op_backward_call *call) {
    static const lrp_rule no_rule = {LRP_EPSILON, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0};
    const graph_node *node = call->forward->node;
    linear_work w = {.session = session, .call = call, .definition = op_get(node->op),
                     .node = &session->lrp->nodes[n], .rule = &no_rule,
                     .x_count = input_elements(call->forward->graph, node, 0),
                     .y_count = output_elements(call->forward->graph, node, 0)};
    return w;
}

illume_status lrp_signed_forward(illume_session *session, int n, const op_backward_call *call, int positive,
                                 const float *x, float *out) {
    linear_work w = signed_work(session, n, call);
    return term_forward(&w, x, positive ? VARIANT_POSITIVE : VARIANT_NEGATIVE, 0, out, 0);
}

illume_status lrp_signed_backward(illume_session *session, int n, const op_backward_call *call, int positive,
                                  const float *dy, float *dx) {
    linear_work w = signed_work(session, n, call);
    w.back = dx;
    return variant_backward(&w, dy, positive ? VARIANT_POSITIVE : VARIANT_NEGATIVE);
}

float *lrp_side_buffer(illume_session *session, int n, int64_t count) {
    lrp_node *node = &session->lrp->nodes[n];
    backend *device = session->backend;
    if (!node->side) node->side = device->allocate(device, sizeof(float) * (size_t)count + 1);
    if (!node->side) illume_fail(session->context, ILLUME_ERROR_OUT_OF_MEMORY, "out of memory for DeepLIFT");
    return node->side;
}

static illume_status ratio(linear_work *w, const float *z, int gate, float *out) {
    backend *device = w->call->forward->backend;
    relevance_ratio_desc desc = {w->y_count, w->rule->epsilon, gate};
    return device->relevance_ratio(device, &desc, w->call->output_gradients[0], z, w->call->forward->outputs[0],
                                   out);
}

/* x+ and x-; for an input that cannot be negative, x+ is x itself and x- unused. */
static illume_status split_signs(linear_work *w) {
    backend *device = w->call->forward->backend;
    if (w->nonnegative) {
        w->x_positive = (float *)w->call->forward->inputs[0];
        return ILLUME_OK;
    }
    unary_desc positive = {UNARY_CLIP, 0.0f, INFINITY, w->x_count};
    unary_desc negative = {UNARY_CLIP, -INFINITY, 0.0f, w->x_count};
    ILLUME_TRY(device->unary(device, &positive, w->call->forward->inputs[0], w->x_positive));
    return device->unary(device, &negative, w->call->forward->inputs[0], w->x_negative);
}

/* alpha-beta (z-plus: alpha 1, beta 0). The positive part's denominator is
 * W+ x+ + b+ + W- x-, the negative part's W- x+ + b- + W+ x-. */
static illume_status alpha_beta(linear_work *w, float alpha, float beta, float *out) {
    int mixed = !w->nonnegative;
    ILLUME_TRY(split_signs(w));
    ILLUME_TRY(term_forward(w, w->x_positive, VARIANT_POSITIVE, 1, w->z, 0));
    if (mixed) ILLUME_TRY(term_forward(w, w->x_negative, VARIANT_NEGATIVE, 0, w->z, 1));
    ILLUME_TRY(ratio(w, w->z, ILLUME_GATE_NONE, w->ratio_positive));
    ILLUME_TRY(term_backward(w, w->ratio_positive, VARIANT_POSITIVE, alpha, w->x_positive, out));
    if (mixed) ILLUME_TRY(term_backward(w, w->ratio_positive, VARIANT_NEGATIVE, alpha, w->x_negative, out));
    if (beta == 0.0f) return ILLUME_OK;
    ILLUME_TRY(term_forward(w, w->x_positive, VARIANT_NEGATIVE, 1, w->z, 0));
    if (mixed) ILLUME_TRY(term_forward(w, w->x_negative, VARIANT_POSITIVE, 0, w->z, 1));
    ILLUME_TRY(ratio(w, w->z, ILLUME_GATE_NONE, w->ratio_negative));
    ILLUME_TRY(term_backward(w, w->ratio_negative, VARIANT_NEGATIVE, -beta, w->x_positive, out));
    if (mixed) ILLUME_TRY(term_backward(w, w->ratio_negative, VARIANT_POSITIVE, -beta, w->x_negative, out));
    return ILLUME_OK;
}

/* The generalized gamma rule: outputs that are positive share relevance by
 * (W + gamma W+) x+ + (W + gamma W-) x- (+ b + gamma b+), negative ones by
 * (W + gamma W-) x+ + (W + gamma W+) x- (+ b + gamma b-). */
static illume_status gamma_rule(linear_work *w, float *out) {
    int mixed = !w->nonnegative;
    ILLUME_TRY(split_signs(w));
    ILLUME_TRY(term_forward(w, w->x_positive, VARIANT_GAMMA_POSITIVE, 1, w->z, 0));
    if (mixed) ILLUME_TRY(term_forward(w, w->x_negative, VARIANT_GAMMA_NEGATIVE, 0, w->z, 1));
    ILLUME_TRY(ratio(w, w->z, ILLUME_GATE_POSITIVE, w->ratio_positive));
    ILLUME_TRY(term_forward(w, w->x_positive, VARIANT_GAMMA_NEGATIVE, 1, w->z, 0));
    if (mixed) ILLUME_TRY(term_forward(w, w->x_negative, VARIANT_GAMMA_POSITIVE, 0, w->z, 1));
    ILLUME_TRY(ratio(w, w->z, ILLUME_GATE_NEGATIVE, w->ratio_negative));
    ILLUME_TRY(term_backward(w, w->ratio_positive, VARIANT_GAMMA_POSITIVE, 1.0f, w->x_positive, out));
    ILLUME_TRY(term_backward(w, w->ratio_negative, VARIANT_GAMMA_NEGATIVE, 1.0f, w->x_positive, out));
    if (!mixed) return ILLUME_OK;
    ILLUME_TRY(term_backward(w, w->ratio_positive, VARIANT_GAMMA_NEGATIVE, 1.0f, w->x_negative, out));
    return term_backward(w, w->ratio_negative, VARIANT_GAMMA_POSITIVE, 1.0f, w->x_negative, out);
}

/* z-box: the denominator W x + b - (W+ l + b+) - (W- h + b-), the relevance
 * x c - l c+ - h c- for the backward products c, c+, c- of W, W+, W-. */
static illume_status box_rule(linear_work *w, float *out) {
    backend *device = w->call->forward->backend;
    float *low = w->x_positive, *high = w->x_negative;
    ILLUME_TRY(device->fill(device, w->rule->low, w->x_count, low));
    ILLUME_TRY(device->fill(device, w->rule->high, w->x_count, high));
    ILLUME_TRY(device->fill(device, 0.0f, w->y_count, w->z));
    ILLUME_TRY(device->relevance_term(device, w->y_count, 1.0f, w->call->forward->outputs[0], NULL, w->z));
    ILLUME_TRY(term_forward(w, low, VARIANT_POSITIVE, 1, w->term, 0));
    ILLUME_TRY(device->relevance_term(device, w->y_count, -1.0f, w->term, NULL, w->z));
    ILLUME_TRY(term_forward(w, high, VARIANT_NEGATIVE, 1, w->term, 0));
    ILLUME_TRY(device->relevance_term(device, w->y_count, -1.0f, w->term, NULL, w->z));
    ILLUME_TRY(ratio(w, w->z, ILLUME_GATE_NONE, w->ratio_positive));
    ILLUME_TRY(term_backward(w, w->ratio_positive, VARIANT_ORIGINAL, 1.0f, w->call->forward->inputs[0], out));
    ILLUME_TRY(term_backward(w, w->ratio_positive, VARIANT_POSITIVE, -1.0f, low, out));
    return term_backward(w, w->ratio_positive, VARIANT_NEGATIVE, -1.0f, high, out);
}

/* flat and w-square: the input taken as ones, the weights as ones (no bias)
 * or squared (bias squared too); the relevance is the backward product alone. */
static illume_status uniform_rule(linear_work *w, weight_variant variant, float *out) {
    backend *device = w->call->forward->backend;
    ILLUME_TRY(device->fill(device, 1.0f, w->x_count, w->x_positive));
    ILLUME_TRY(term_forward(w, w->x_positive, variant, variant == VARIANT_SQUARE, w->z, 0));
    ILLUME_TRY(ratio(w, w->z, ILLUME_GATE_NONE, w->ratio_positive));
    return term_backward(w, w->ratio_positive, variant, 1.0f, NULL, out);
}

static float *scratch_floats(float *scratch, int64_t *offset, int64_t count) {
    float *start = scratch + *offset;
    *offset += count;
    return start;
}

static illume_status linear_rule(illume_session *session, int n, const op_backward_call *call,
                                 const lrp_rule *rule, float *lrp_scratch) {
    const graph *g = call->forward->graph;
    const graph_node *graph_node = call->forward->node;
    linear_work w = {.session = session, .call = call, .definition = op_get(graph_node->op),
                     .node = &session->lrp->nodes[n], .rule = rule, .x_count = input_elements(g, graph_node, 0),
                     .y_count = output_elements(g, graph_node, 0),
                     .nonnegative = nonnegative(g, graph_node->inputs[0], 0)};
    int64_t offset = 0;
    w.x_positive = scratch_floats(lrp_scratch, &offset, w.x_count);
    w.x_negative = scratch_floats(lrp_scratch, &offset, w.x_count);
    w.back = scratch_floats(lrp_scratch, &offset, w.x_count);
    w.z = scratch_floats(lrp_scratch, &offset, w.y_count);
    w.term = scratch_floats(lrp_scratch, &offset, w.y_count);
    w.ratio_positive = scratch_floats(lrp_scratch, &offset, w.y_count);
    w.ratio_negative = scratch_floats(lrp_scratch, &offset, w.y_count);
    float *out = call->input_gradients[0];
    if (!out) return ILLUME_OK;
    backend *device = call->forward->backend;
    ILLUME_TRY(device->fill(device, 0.0f, w.x_count, out));
    switch (rule->kind) {
    case LRP_EPSILON:
        ILLUME_TRY(ratio(&w, call->forward->outputs[0], ILLUME_GATE_NONE, w.ratio_positive));
        return term_backward(&w, w.ratio_positive, VARIANT_ORIGINAL, 1.0f, call->forward->inputs[0], out);
    case LRP_ZPLUS: return alpha_beta(&w, 1.0f, 0.0f, out);
    case LRP_ALPHA_BETA: return alpha_beta(&w, rule->alpha, rule->beta, out);
    case LRP_GAMMA: return gamma_rule(&w, out);
    case LRP_ZBOX: return box_rule(&w, out);
    case LRP_FLAT: return uniform_rule(&w, VARIANT_ONES, out);
    case LRP_WSQUARE: return uniform_rule(&w, VARIANT_SQUARE, out);
    default: return illume_fail(session->context, ILLUME_ERROR_INTERNAL, "not a linear LRP rule");
    }
}

/* norm: each input's share x_i * dF/dx_i^T (R / stabilize(y)); for an Add,
 * x_i R / y; for average pooling, x times the pooled ratio spread back. */
static illume_status norm_rule(const op_backward_call *call, const lrp_rule *rule, float *ratio) {
    const op_call *forward = call->forward;
    backend *device = forward->backend;
    relevance_ratio_desc desc = {output_elements(forward->graph, forward->node, 0), rule->epsilon,
                                 ILLUME_GATE_NONE};
    ILLUME_TRY(device->relevance_ratio(device, &desc, call->output_gradients[0], forward->outputs[0], NULL, ratio));
    const float *output_gradients[1] = {ratio};
    op_backward_call plain = *call;
    plain.output_gradients = output_gradients;
    plain.rule = RULE_GRADIENT;
    ILLUME_TRY(op_get(forward->node->op)->backward(&plain));
    for (int i = 0; i < forward->node->input_count; i++) {
        if (!call->input_gradients[i]) continue;
        int64_t count = input_elements(forward->graph, forward->node, i);
        binary_desc multiply = {.kind = BINARY_MUL, .rank = 1, .dims = {count}, .a_strides = {1}, .b_strides = {1}};
        ILLUME_TRY(device->binary(device, &multiply, call->input_gradients[i], forward->inputs[i],
                                  call->input_gradients[i]));
    }
    return ILLUME_OK;
}

/* norm on a MaxPool: proportional instead of winner-takes-all, each input's
 * share x_i R / stabilize(window sum), as the norm rule of an average pool
 * over the same windows (padding counted, so the window size cancels). */
static illume_status proportional_pool(const op_backward_call *call, const lrp_rule *rule, float *scratch) {
    const op_call *forward = call->forward;
    if (!call->input_gradients[0]) return ILLUME_OK;
    backend *device = forward->backend;
    pool_desc desc;
    ILLUME_TRY(pool_describe(forward->context, forward->graph, forward->node, &desc));
    desc.kind = POOL_AVERAGE;
    desc.count_include_pad = 1;
    int64_t y_count = output_elements(forward->graph, forward->node, 0);
    int64_t x_count = input_elements(forward->graph, forward->node, 0);
    float *z = scratch, *ratio = scratch + y_count;
    ILLUME_TRY(device->pool(device, &desc, forward->inputs[0], z, NULL));
    relevance_ratio_desc divide = {y_count, rule->epsilon, ILLUME_GATE_NONE};
    ILLUME_TRY(device->relevance_ratio(device, &divide, call->output_gradients[0], z, NULL, ratio));
    ILLUME_TRY(device->pool_backward(device, &desc, ratio, NULL, call->input_gradients[0]));
    binary_desc multiply = {.kind = BINARY_MUL, .rank = 1, .dims = {x_count}, .a_strides = {1}, .b_strides = {1}};
    return device->binary(device, &multiply, call->input_gradients[0], forward->inputs[0],
                          call->input_gradients[0]);
}

static illume_status copy_relevance(backend *device, int64_t count, const float *from, float *to) {
    copy_desc copy = {.rank = 1, .dims = {count}, .src_strides = {1}, .dst_strides = {1}};
    return device->copy(device, &copy, from, to);
}

illume_status lrp_backward(illume_session *session, int n, const op_backward_call *call) {
    const lrp_rule *rule = &session->lrp->rules[n];
    const op_call *forward = call->forward;
    const graph_node *node = forward->node;
    const op_definition *definition = op_get(node->op);
    backend *device = forward->backend;
    float *lrp_scratch = lrp_scratch_of(call);
    int64_t count = output_elements(forward->graph, node, 0);
    switch (rule->kind) {
    case LRP_PASS:
        if (!call->input_gradients[0]) return ILLUME_OK;
        return copy_relevance(device, count, call->output_gradients[0], call->input_gradients[0]);
    case LRP_GATE:
        for (int i = 0; i < 2; i++) {
            if (!call->input_gradients[i]) continue;
            if (i == rule->operand)
                ILLUME_TRY(copy_relevance(device, count, call->output_gradients[0], call->input_gradients[i]));
            else
                ILLUME_TRY(device->fill(device, 0.0f, input_elements(forward->graph, node, i),
                                        call->input_gradients[i]));
        }
        return ILLUME_OK;
    case LRP_NORM:
        if (!strcmp(definition->name, "MaxPool")) return proportional_pool(call, rule, lrp_scratch);
        return norm_rule(call, rule, lrp_scratch);
    case LRP_EPSILON:
        if (affine_batchnorm(node)) return norm_rule(call, rule, lrp_scratch);
        return linear_rule(session, n, call, rule, lrp_scratch);
    case LRP_GRADIENT: {
        op_backward_call plain = *call;
        plain.rule = RULE_GRADIENT;
        return definition->backward(&plain);
    }
    default: return linear_rule(session, n, call, rule, lrp_scratch);
    }
}
