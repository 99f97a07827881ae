/* DeepLIFT's backward rule (explain/deeplift_backward.h): Captum's DeepLift
 * rules, and RevealCancel (docs/methods.md). The batch's first half holds
 * the inputs, its second their baselines, so that every value's reference
 * lies half the value's elements further on, in any layout (the batch
 * dimension is outermost). */
#include "deeplift_backward.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ops/op_support.h"
#include "session.h"
#include "weight_variants.h"

typedef struct deeplift_state {
    int reveal_cancel;
    weight_variants *variants; /* RevealCancel's W+ and W- of the linear nodes */
    float **sides;             /* per linear node: the negative part's multipliers, from the node after */
    int node_count;
} deeplift_state;

/* Max pooling's routed parts (y-sized) and their unpooling (x-sized); at a
 * linear node RevealCancel pairs, the input's change and its grown and
 * fallen shares (x-sized); at the nonlinearity after it, that node's input
 * change and its two signs, the two parts and a term. */
static size_t scratch_bytes(const graph *g, const graph_node *node) {
    int64_t x = node->input_count > 0 && node->inputs[0] >= 0 ? input_elements(g, node, 0) : 0;
    int64_t y = node->output_count > 0 && node->outputs[0] >= 0 ? output_elements(g, node, 0) : 0;
    int64_t floats = x + 2 * y > 3 * x ? x + 2 * y : 3 * x;
    int v = node->input_count > 0 ? node->inputs[0] : -1, producer = v >= 0 ? g->values[v].producer : -1;
    if (producer >= 0 && g->nodes[producer].outputs[0] == v && linear_with_weights(g, &g->nodes[producer])) {
        int64_t reveal = 3 * input_elements(g, &g->nodes[producer], 0) + 3 * x;
        if (reveal > floats) floats = reveal;
    }
    return (size_t)floats * sizeof(float);
}

/* The buffer of count floats node n keeps for the session. */
static float *side_buffer(illume_session *session, deeplift_state *state, int n, int64_t count) {
    backend *device = session_backend(session);
    if (!state->sides[n]) state->sides[n] = device->allocate(device, sizeof(float) * (size_t)count + 1);
    if (!state->sides[n]) illume_fail(session->context, ILLUME_ERROR_OUT_OF_MEMORY, "out of memory for DeepLIFT");
    return state->sides[n];
}

/* out = F(x; W+ or W-) of linear node n, without its bias. */
static illume_status signed_forward(illume_session *session, deeplift_state *state, int n,
                                    const op_backward_call *call, weight_variant variant, const float *x, float *out) {
    return weight_variants_forward(state->variants, session->context, n, call->forward, variant, 0.0f, 0, x, out);
}

/* The activations Captum's DeepLift rescales (its nonlinear modules); the
 * others, HardSigmoid, HardSwish, Clip and PRelu among them, take the
 * gradient there and here, which is what the comparison with Captum pins.
 * A method's choice, so a list here rather than an op trait. */
static int rescales(const graph_node *node) {
    static const char *const names[] = {"Relu", "Elu", "LeakyRelu", "Sigmoid", "Tanh"};
    for (size_t k = 0; k < sizeof names / sizeof names[0]; k++)
        if (!strcmp(op_get(node->op)->name, names[k])) return 1;
    return 0;
}

/* RevealCancel pairs a nonlinearity with the linear node before it: the
 * linear node (Conv, Gemm, MatMul of constant weights) whose output is
 * node n's input and read by node n alone; -1 when there is none. */
static int reveal_producer(const graph *g, int n) {
    const graph_node *node = &g->nodes[n];
    if (node->op < 0 || !rescales(node) || node->input_count < 1 || node->inputs[0] < 0) return -1;
    int v = node->inputs[0], producer = g->values[v].producer, readers = 0;
    if (g->values[v].is_graph_output) return -1;
    for (int k = 0; k < g->node_count; k++)
        for (int i = 0; i < g->nodes[k].input_count; i++) readers += g->nodes[k].inputs[i] == v;
    if (readers != 1 || producer < 0 || !linear_with_weights(g, &g->nodes[producer])) return -1;
    return producer;
}

/* Whether linear node n feeds a nonlinearity RevealCancel pairs it with. */
static int reveals(const graph *g, int n) {
    const graph_node *node = &g->nodes[n];
    if (node->output_count < 1 || node->outputs[0] < 0) return 0;
    for (int k = 0; k < g->node_count; k++)
        if (g->nodes[k].input_count > 0 && g->nodes[k].inputs[0] == node->outputs[0] && reveal_producer(g, k) == n)
            return 1;
    return 0;
}

static int step_of(const illume_session *session, int n) {
    for (int s = 0; s < session->plan.step_count; s++)
        if (session->plan.steps[s].node == n) return s;
    return -1;
}

/* The routed parts of the output's change, unpooled by each half's argmax
 * (the op's own backward), summed over the halves and divided by the input's
 * change; where the input does not change, the gradient stands. */
static illume_status max_pool(const op_backward_call *call, float *parts, float *routed) {
    const op_call *forward = call->forward;
    backend *device = forward->backend;
    int64_t y_half = output_elements(forward->graph, forward->node, 0) / 2;
    int64_t x_half = input_elements(forward->graph, forward->node, 0) / 2;
    ILLUME_TRY(device->deeplift(device, DEEPLIFT_POOL_PARTS, y_half, NULL, forward->outputs[0],
                                call->output_gradients[0], parts));
    const float *output_gradients[1] = {parts};
    float *input_gradients[1] = {routed};
    op_backward_call route = *call;
    route.output_gradients = output_gradients;
    route.input_gradients = input_gradients;
    ILLUME_TRY(op_get(forward->node->op)->backward(&route));
    return device->deeplift(device, DEEPLIFT_POOL_COMBINE, x_half, forward->inputs[0], routed, NULL,
                            call->input_gradients[0]);
}

/* At a nonlinearity after a linear node: the positive and negative parts of its input's
 * change, from the sign-split change of the linear node's input through W+
 * and W-; the multipliers of the parts (times dy) go to the input's gradient
 * (the positive part's) and to a buffer the linear node reads (the
 * negative's). */
static illume_status reveal_nonlinear(illume_session *session, deeplift_state *state, int linear,
                                      const op_backward_call *call, float *scratch) {
    const op_call *forward = call->forward;
    const graph *g = forward->graph;
    backend *device = forward->backend;
    int linear_step = step_of(session, linear);
    if (linear_step < 0) return illume_fail(session->context, ILLUME_ERROR_INTERNAL, "no step runs node %d", linear);
    op_backward_call linear_call = {.forward = &session->calls[linear_step]};
    const graph_node *linear_node = &g->nodes[linear];
    int64_t a_count = input_elements(g, linear_node, 0), x_count = input_elements(g, forward->node, 0);
    float *change = scratch, *up = change + a_count, *down = up + a_count;
    float *positive = down + a_count, *negative = positive + x_count, *term = negative + x_count;
    float *side = side_buffer(session, state, linear, x_count);
    if (!side) return ILLUME_ERROR_OUT_OF_MEMORY;
    ILLUME_TRY(device->deeplift(device, DEEPLIFT_DIFFERENCE, a_count / 2, session->calls[linear_step].inputs[0], NULL,
                                NULL, change));
    unary_desc upward = {UNARY_CLIP, 0.0f, INFINITY, a_count}, downward = {UNARY_CLIP, -INFINITY, 0.0f, a_count};
    ILLUME_TRY(device->unary(device, &upward, change, up));
    ILLUME_TRY(device->unary(device, &downward, change, down));
    /* positive = W+ up + W- down, negative = W- up + W+ down */
    ILLUME_TRY(signed_forward(session, state, linear, &linear_call, VARIANT_POSITIVE, up, positive));
    ILLUME_TRY(signed_forward(session, state, linear, &linear_call, VARIANT_NEGATIVE, down, term));
    ILLUME_TRY(device->relevance_term(device, x_count, 1.0f, term, NULL, positive));
    ILLUME_TRY(signed_forward(session, state, linear, &linear_call, VARIANT_NEGATIVE, up, negative));
    ILLUME_TRY(signed_forward(session, state, linear, &linear_call, VARIANT_POSITIVE, down, term));
    ILLUME_TRY(device->relevance_term(device, x_count, 1.0f, term, NULL, negative));
    unary_desc activation;
    ILLUME_TRY(activation_describe(session->context, g, forward->node, &activation));
    reveal_cancel_desc desc = {x_count / 2, activation.kind, activation.alpha, activation.beta};
    return device->reveal_cancel(device, &desc, forward->inputs[0], positive, negative, call->output_gradients[0],
                                 call->input_gradients[0], side);
}

/* At the linear node n before a revealed nonlinearity: each input's
 * multiplier takes the parts its change's sign contributes to, W+^T p +
 * W-^T q where it grew, W-^T p + W+^T q where it fell, half of each where it
 * stayed (p, q: the positive and negative parts' multipliers). */
static illume_status reveal_linear(illume_session *session, deeplift_state *state, int n,
                                   const op_backward_call *call, float *scratch) {
    const op_call *forward = call->forward;
    backend *device = forward->backend;
    float *out = call->input_gradients[0];
    if (!out) return ILLUME_OK;
    int64_t a_count = input_elements(forward->graph, forward->node, 0);
    int64_t y_count = output_elements(forward->graph, forward->node, 0);
    float *back = scratch, *grew = back + a_count, *fell = grew + a_count;
    const float *positive = call->output_gradients[0], *negative = side_buffer(session, state, n, y_count);
    if (!negative) return ILLUME_ERROR_OUT_OF_MEMORY;
    ILLUME_TRY(device->deeplift(device, DEEPLIFT_DIFFERENCE, a_count / 2, forward->inputs[0], NULL, NULL, back));
    ILLUME_TRY(device->deeplift(device, DEEPLIFT_POSITIVE_SHARE, a_count / 2, back, NULL, NULL, grew));
    ILLUME_TRY(device->deeplift(device, DEEPLIFT_NEGATIVE_SHARE, a_count / 2, back, NULL, NULL, fell));
    ILLUME_TRY(device->fill(device, 0.0f, a_count, out));
    const struct {
        const float *multipliers;
        int positive_weights;
        const float *share;
    } terms[4] = {{positive, 1, grew}, {negative, 0, grew}, {positive, 0, fell}, {negative, 1, fell}};
    for (int k = 0; k < 4; k++) {
        weight_variant variant = terms[k].positive_weights ? VARIANT_POSITIVE : VARIANT_NEGATIVE;
        ILLUME_TRY(weight_variants_backward(state->variants, session->context, n, call, variant, 0.0f,
                                            terms[k].multipliers, back));
        ILLUME_TRY(device->relevance_term(device, a_count, 1.0f, back, terms[k].share, out));
    }
    return ILLUME_OK;
}

static illume_status node_backward(void *state, illume_session *session, int n, const op_backward_call *call) {
    deeplift_state *deeplift = state;
    const op_call *forward = call->forward;
    const graph_node *node = forward->node;
    const op_definition *definition = op_get(node->op);
    float *scratch = backward_rule_scratch(call);
    if (deeplift->reveal_cancel && call->input_gradients[0]) {
        int linear = reveal_producer(forward->graph, n);
        if (linear >= 0) return reveal_nonlinear(session, deeplift, linear, call, scratch);
        if (reveals(forward->graph, n)) return reveal_linear(session, deeplift, n, call, scratch);
    }
    ILLUME_TRY(definition->backward(call));
    float *dx = call->input_gradients[0];
    if (!dx) return ILLUME_OK;
    int64_t x_count = input_elements(forward->graph, node, 0), y_count = output_elements(forward->graph, node, 0);
    backend *device = forward->backend;
    if (rescales(node) && x_count == y_count)
        return device->deeplift(device, DEEPLIFT_RESCALE, x_count / 2, forward->inputs[0], forward->outputs[0],
                                call->output_gradients[0], dx);
    if (strcmp(definition->name, "MaxPool")) return ILLUME_OK;
    return max_pool(call, scratch, scratch + y_count);
}

static void free_state(void *state, illume_session *session) {
    deeplift_state *deeplift = state;
    backend *device = session_backend(session);
    weight_variants_free(deeplift->variants, device);
    for (int n = 0; deeplift->sides && n < deeplift->node_count; n++)
        if (deeplift->sides[n]) device->release(device, deeplift->sides[n]);
    free(deeplift->sides);
    free(deeplift);
}

const backward_rule deeplift_backward_rule = {.node_backward = node_backward, .scratch_bytes = scratch_bytes,
                                              .free_state = free_state};

illume_status deeplift_install(illume_session *session, int reveal_cancel) {
    if (session->rule != &deeplift_backward_rule)
        return illume_fail(session->context, ILLUME_ERROR_INTERNAL, "DeepLIFT needs a session made for its rule");
    int nodes = session->graph->node_count;
    deeplift_state *state = calloc(1, sizeof *state);
    if (state) state->sides = calloc((size_t)nodes + 1, sizeof(float *));
    if (state && state->sides) state->variants = weight_variants_create(nodes);
    if (!state || !state->sides || !state->variants) {
        if (state) free(state->sides);
        free(state);
        return illume_fail(session->context, ILLUME_ERROR_OUT_OF_MEMORY, "out of memory");
    }
    state->reveal_cancel = reveal_cancel;
    state->node_count = nodes;
    session_set_rule_state(session, state);
    return ILLUME_OK;
}
