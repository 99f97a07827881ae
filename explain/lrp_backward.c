/* Layer-wise relevance propagation's backward rule (runtime/backward_rule.h):
 * on a session made with lrp_backward_rule, what flows back is relevance,
 * and each node passes it on by the LRP rule lrp_install set for it
 * (explain/lrp_rules.c chooses them). The rules are Zennit 0.5.1's, term
 * for term: see docs/methods.md. A linear rule is a modified forward and a
 * backward-data of the node's own op, with the weights and inputs the rule
 * asks for: z = F(x', W'), s = R / stabilize(z), c = F^T(s, W'),
 * R_in = x' * c, summed over the rule's terms; the transformed weights are
 * explain/weight_variants.c's. */
#include "lrp_backward.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ops/op_support.h"
#include "relevance.h"
#include "session.h"
#include "weight_variants.h"

typedef struct lrp_state {
    lrp_rule *rules;
    weight_variants *variants;
} lrp_state;

const char *lrp_kind_name(lrp_kind kind) {
    static const char *const names[] = {"gradient", "pass", "norm", "epsilon", "gamma", "alpha-beta",
                                        "zplus", "zbox", "flat", "wsquare", "gate"};
    return (unsigned)kind < sizeof names / sizeof names[0] ? names[kind] : "unknown";
}

/* Linear rules: x+, x- and a backward result (x-sized), two denominators and
 * two ratios (y-sized); norm a ratio (y-sized), on a max pool also the window
 * sums (y-sized). */
static size_t scratch_bytes(const graph *g, const graph_node *node) {
    int64_t x = node->input_count > 0 && node->inputs[0] >= 0 ? input_elements(g, node, 0) : 0;
    int64_t y = node->output_count > 0 && node->outputs[0] >= 0 ? output_elements(g, node, 0) : 0;
    int64_t floats = linear_with_weights(g, node) ? 3 * x + 4 * y : x + 2 * y;
    return (size_t)floats * sizeof(float);
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
    if (rule->kind >= LRP_EPSILON && rule->kind <= LRP_WSQUARE && !linear_with_weights(g, node))
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

illume_status lrp_install(illume_session *session, const lrp_rule *rules) {
    const graph *g = session->graph;
    if (session->rule != &lrp_backward_rule)
        return illume_fail(session->context, ILLUME_ERROR_INTERNAL, "LRP rules need a session made for them");
    for (int n = 0; n < g->node_count; n++) ILLUME_TRY(check_rule(session->context, g, &g->nodes[n], &rules[n]));
    lrp_state *state = calloc(1, sizeof *state);
    if (state) state->rules = malloc(sizeof(lrp_rule) * (size_t)(g->node_count + 1));
    if (state && state->rules) state->variants = weight_variants_create(g->node_count);
    if (!state || !state->rules || !state->variants) {
        if (state) free(state->rules);
        free(state);
        return illume_fail(session->context, ILLUME_ERROR_OUT_OF_MEMORY, "out of memory");
    }
    memcpy(state->rules, rules, sizeof(lrp_rule) * (size_t)g->node_count);
    session_set_rule_state(session, state);
    return ILLUME_OK;
}

static void free_state(void *state, illume_session *session) {
    lrp_state *lrp = state;
    weight_variants_free(lrp->variants, session_backend(session));
    free(lrp->rules);
    free(lrp);
}

/* What one linear rule works with while it runs. */
typedef struct linear_work {
    illume_session *session;
    int n;
    const op_backward_call *call;
    weight_variants *variants;
    const lrp_rule *rule;
    int64_t x_count, y_count;
    int nonnegative; /* x >= 0 wherever it comes from: the terms of x- vanish, and are skipped */
    float *x_positive, *x_negative, *back, *z, *term, *ratio_positive, *ratio_negative;
} linear_work;

/* Whether a float constant has no negative element. */
static int nonnegative_constant(const graph_value *value) {
    int64_t count;
    if (shape_element_count(value->rank, value->dims, &count)) return 0;
    const float *data = value->constant;
    for (int64_t i = 0; i < count; i++)
        if (!(data[i] >= 0.0f)) return 0;
    return 1;
}

/* Whether a value cannot be negative: the output of an op that is never
 * negative (a Relu), or of one that keeps the sign (moves, pools, pads)
 * of float inputs that cannot be; inputs of other types (shapes, indices)
 * are not values it moves. */
static int nonnegative(const graph *g, int v, int depth) {
    if (v < 0 || depth > 64) return 0;
    const graph_value *value = &g->values[v];
    if (value->constant) return value->dtype == ILLUME_FLOAT32 && nonnegative_constant(value);
    if (value->producer < 0) return 0;
    const graph_node *node = &g->nodes[value->producer];
    if (op_node_has(node, OP_NONNEGATIVE)) return 1;
    if (!op_node_has(node, OP_KEEPS_SIGN)) return 0;
    for (int i = 0; i < node->input_count; i++) {
        int input = node->inputs[i];
        if (input >= 0 && g->values[input].dtype == ILLUME_FLOAT32 && !nonnegative(g, input, depth + 1)) return 0;
    }
    return 1;
}

/* out = F(x; variant), with the variant's bias or none; or out += it. */
static illume_status term_forward(linear_work *w, const float *x, weight_variant variant, int with_bias,
                                  float *out, int add) {
    ILLUME_TRY(weight_variants_forward(w->variants, w->session->context, w->n, w->call->forward, variant,
                                       w->rule->gamma, with_bias, x, add ? w->term : out));
    if (!add) return ILLUME_OK;
    backend *device = w->call->forward->backend;
    return device->relevance_term(device, w->y_count, 1.0f, w->term, NULL, out);
}

/* out += coefficient * a * F^T(ratio; variant) (a NULL: no factor). */
static illume_status term_backward(linear_work *w, const float *ratio, weight_variant variant, float coefficient,
                                   const float *a, float *out) {
    ILLUME_TRY(weight_variants_backward(w->variants, w->session->context, w->n, w->call, variant, w->rule->gamma,
                                        ratio, w->back));
    backend *device = w->call->forward->backend;
    return device->relevance_term(device, w->x_count, coefficient, w->back, a, out);
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

static illume_status linear_rule(illume_session *session, lrp_state *state, int n, const op_backward_call *call,
                                 const lrp_rule *rule, float *lrp_scratch) {
    const graph *g = call->forward->graph;
    const graph_node *graph_node = call->forward->node;
    linear_work w = {.session = session, .n = n, .call = call, .variants = state->variants, .rule = rule,
                     .x_count = input_elements(g, graph_node, 0),
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

static illume_status node_backward(void *state, illume_session *session, int n, const op_backward_call *call) {
    lrp_state *lrp = state;
    const lrp_rule *rule = &lrp->rules[n];
    const op_call *forward = call->forward;
    const graph_node *node = forward->node;
    const op_definition *definition = op_get(node->op);
    backend *device = forward->backend;
    float *lrp_scratch = backward_rule_scratch(call);
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
        return linear_rule(session, lrp, n, call, rule, lrp_scratch);
    case LRP_GRADIENT: {
        op_backward_call plain = *call;
        plain.rule = RULE_GRADIENT;
        return definition->backward(&plain);
    }
    default: return linear_rule(session, lrp, n, call, rule, lrp_scratch);
    }
}

const backward_rule lrp_backward_rule = {.node_backward = node_backward, .scratch_bytes = scratch_bytes,
                                         .free_state = free_state};
