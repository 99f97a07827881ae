#include "passes.h"

#include <stdlib.h>
#include <string.h>

#include "op.h"
#include "ops/op_support.h"

illume_status pass_bind_inputs(illume_context *context, graph *g, int count, const illume_tensor *shapes) {
    if (count != g->input_count)
        return illume_fail(context, ILLUME_ERROR_INVALID_INPUT, "the model has %d inputs, %d were given",
                           g->input_count, count);
    for (int i = 0; i < count; i++) {
        graph_value *value = &g->values[g->inputs[i]];
        const illume_tensor *shape = &shapes[i];
        char expected[256], given[256];
        shape_format(value->rank, value->dims, expected, sizeof expected);
        shape_format(shape->rank, shape->dims, given, sizeof given);
        if (shape->rank < 0 || shape->rank > ILLUME_MAX_RANK)
            return illume_fail(context, ILLUME_ERROR_INVALID_INPUT, "input '%s': rank %d is not supported",
                               value->name, shape->rank);
        if (shape->dtype != value->dtype)
            return illume_fail(context, ILLUME_ERROR_INVALID_INPUT, "input '%s': expects %s data", value->name,
                               value->dtype == ILLUME_FLOAT32 ? "float32" : "int64");
        if (value->rank >= 0 && value->rank != shape->rank)
            return illume_fail(context, ILLUME_ERROR_INVALID_INPUT, "input '%s': expects shape %s, got %s",
                               value->name, expected, given);
        /* The batch dimension last: a model that fixes it is rebound first (runtime/rebind_batch.c). */
        for (int k = 1; k <= shape->rank; k++) {
            int d = k % shape->rank;
            if (shape->dims[d] < 0)
                return illume_fail(context, ILLUME_ERROR_INVALID_INPUT, "input '%s': negative dimension in %s",
                                   value->name, given);
            if (value->rank >= 0 && value->dims[d] >= 0 && value->dims[d] != shape->dims[d])
                return illume_fail(context, ILLUME_ERROR_INVALID_INPUT,
                                   "input '%s': expects shape %s, got %s (dimension %d differs)", value->name,
                                   expected, given, d);
        }
        value->rank = shape->rank;
        for (int d = 0; d < ILLUME_MAX_RANK; d++) value->dims[d] = d < shape->rank ? shape->dims[d] : 0;
        size_t bytes;
        if (value_byte_size(value, &bytes))
            return illume_fail(context, ILLUME_ERROR_INVALID_INPUT,
                               "input '%s': shape %s is too large: its dimensions, zeros left out, multiply past "
                               "2^60 - 1", value->name, given);
    }
    return ILLUME_OK;
}

static int all_inputs_constant(const graph *g, const graph_node *node) {
    for (int i = 0; i < node->input_count; i++)
        if (node->inputs[i] >= 0 && !g->values[node->inputs[i]].constant) return 0;
    return 1;
}

illume_status pass_infer_and_fold(illume_context *context, graph *g) {
    for (int n = 0; n < g->node_count; n++) {
        graph_node *node = &g->nodes[n];
        const op_definition *definition = op_get(node->op);
        if (!definition)
            return illume_fail(context, ILLUME_ERROR_UNSUPPORTED, "node '%s' (%s): op is not supported", node->name,
                               node->op_type ? node->op_type : "?");
        for (int i = 0; i < node->input_count; i++) {
            const graph_value *input = graph_input(g, node, i);
            if (input && input->rank < 0)
                return node_fail(context, node, ILLUME_ERROR_INVALID_MODEL, "the shape of input '%s' is unknown",
                                 input->name);
        }
        ILLUME_TRY(definition->infer(context, g, node));
        int folded = 1;
        for (int o = 0; o < node->output_count; o++)
            if (node->outputs[o] >= 0 && !g->values[node->outputs[o]].constant) folded = 0;
        if (!folded && definition->fold && all_inputs_constant(g, node))
            ILLUME_TRY(definition->fold(context, g, node));
    }
    return ILLUME_OK;
}

int *graph_count_readers(const graph *g) {
    int *readers = calloc((size_t)g->value_count + 1, sizeof(int));
    if (!readers) return NULL;
    for (int n = 0; n < g->node_count; n++) {
        if (g->nodes[n].op == GRAPH_NODE_DELETED) continue;
        for (int i = 0; i < g->nodes[n].input_count; i++)
            if (g->nodes[n].inputs[i] >= 0) readers[g->nodes[n].inputs[i]]++;
    }
    for (int o = 0; o < g->output_count; o++) readers[g->outputs[o]]++;
    return readers;
}

void graph_replace_uses(graph *g, int from, int to) {
    for (int n = 0; n < g->node_count; n++)
        for (int i = 0; i < g->nodes[n].input_count; i++)
            if (g->nodes[n].inputs[i] == from) g->nodes[n].inputs[i] = to;
    for (int o = 0; o < g->output_count; o++)
        if (g->outputs[o] == from) {
            g->outputs[o] = to;
            g->values[to].is_graph_output = 1;
        }
}

void graph_compact(graph *g) {
    int kept = 0;
    int *new_index = malloc(sizeof(int) * ((size_t)g->node_count + 1));
    for (int n = 0; n < g->node_count; n++) {
        if (g->nodes[n].op == GRAPH_NODE_DELETED) {
            graph_node_release(&g->nodes[n]);
            if (new_index) new_index[n] = -1;
            continue;
        }
        if (new_index) new_index[n] = kept;
        if (kept != n) g->nodes[kept] = g->nodes[n];
        kept++;
    }
    g->node_count = kept;
    for (int v = 0; v < g->value_count; v++) {
        int producer = g->values[v].producer;
        if (producer >= 0) g->values[v].producer = new_index ? new_index[producer] : -1;
    }
    free(new_index);
}

void graph_absorb(graph *g, int producer, graph_node *follower) {
    graph_node *node = &g->nodes[producer];
    g->values[node->outputs[0]].producer = -1;
    node->outputs[0] = follower->outputs[0];
    g->values[follower->outputs[0]].producer = producer;
    follower->op = GRAPH_NODE_DELETED;
}

illume_status pass_simplify(illume_context *context, graph *g) {
    for (int n = 0; n < g->node_count; n++) {
        graph_node *node = &g->nodes[n];
        int folded = 1;
        for (int o = 0; o < node->output_count; o++)
            if (node->outputs[o] >= 0 && !g->values[node->outputs[o]].constant) folded = 0;
        if (folded) {
            node->op = GRAPH_NODE_DELETED;
        } else if (op_node_has(node, OP_PASS_THROUGH) && !g->values[node->outputs[0]].pinned) {
            graph_replace_uses(g, node->outputs[0], node->inputs[0]);
            node->op = GRAPH_NODE_DELETED;
        }
    }
    /* Backwards, so that removing a reader can make its producers unread too. */
    int *readers = graph_count_readers(g);
    if (!readers) return illume_fail(context, ILLUME_ERROR_OUT_OF_MEMORY, "out of memory");
    for (int n = g->node_count - 1; n >= 0; n--) {
        graph_node *node = &g->nodes[n];
        if (node->op == GRAPH_NODE_DELETED) continue;
        int read = 0;
        for (int o = 0; o < node->output_count; o++)
            if (node->outputs[o] >= 0 && readers[node->outputs[o]] > 0) read = 1;
        if (read) continue;
        node->op = GRAPH_NODE_DELETED;
        for (int i = 0; i < node->input_count; i++)
            if (node->inputs[i] >= 0) readers[node->inputs[i]]--;
    }
    free(readers);
    graph_compact(g);
    return ILLUME_OK;
}

static int same_shape(const graph_value *a, const graph_value *b) {
    if (a->rank != b->rank) return 0;
    for (int d = 0; d < a->rank; d++)
        if (a->dims[d] != b->dims[d]) return 0;
    return 1;
}

/* The Conv whose output is input `side` of an Add and that can take the Add in:
 * nothing else reads its output, and the other operand exists before it runs. */
static int fusable_conv(const graph *g, const graph_node *add, int side, const int *readers) {
    const graph_value *x = graph_input(g, add, side), *other = graph_input(g, add, 1 - side);
    if (!x || !other || x->producer < 0 || readers[add->inputs[side]] != 1 || x->is_graph_output || x->pinned)
        return -1;
    const graph_node *producer = &g->nodes[x->producer];
    if (graph_op_kind(producer) != KIND_CONVOLUTION || producer->fused_activation.kind ||
        producer->fused_add)
        return -1;
    if (!same_shape(x, other) || other->constant || other->dtype != ILLUME_FLOAT32) return -1;
    if (other->producer >= x->producer) return -1;
    return x->producer;
}

illume_status pass_fuse_add(illume_context *context, graph *g) {
    int *readers = graph_count_readers(g);
    if (!readers) return illume_fail(context, ILLUME_ERROR_OUT_OF_MEMORY, "out of memory");
    illume_status status = ILLUME_OK;
    for (int n = 0; n < g->node_count && status == ILLUME_OK; n++) {
        graph_node *add = &g->nodes[n];
        if (!graph_node_is(add, "Add")) continue;
        int side = 1, conv = fusable_conv(g, add, 1, readers);
        if (conv < 0) conv = fusable_conv(g, add, side = 0, readers);
        if (conv < 0) continue;
        graph_node *producer = &g->nodes[conv];
        int *inputs = realloc(producer->inputs, sizeof(int) * 4);
        if (!inputs) {
            status = illume_fail(context, ILLUME_ERROR_OUT_OF_MEMORY, "out of memory");
            break;
        }
        producer->inputs = inputs;
        for (int i = producer->input_count; i < 3; i++) producer->inputs[i] = -1;
        producer->inputs[3] = add->inputs[1 - side];
        producer->input_count = 4;
        producer->fused_add = 1;
        producer->inplace_input = 3;
        graph_absorb(g, conv, add);
    }
    free(readers);
    graph_compact(g);
    return status;
}

/* A value only the passes' fused node will read: no graph output, not pinned. */
static int private_value(const graph_value *value) { return !value->is_graph_output && !value->pinned; }

/* The activation y * gate(y) is, for a gate node reading y: swish for a
 * Sigmoid, hard swish for HardSigmoid(y / 6 + 1/2) (how PyTorch exports
 * Hardswish before opset 14); UNARY_COPY for any other gate. */
static unary_kind gated_activation(illume_context *context, const graph *g, const graph_node *gate) {
    if (graph_node_is(gate, "Sigmoid")) return UNARY_SWISH;
    unary_desc hard;
    if (!graph_node_is(gate, "HardSigmoid") || activation_describe(context, g, gate, &hard) != ILLUME_OK) return UNARY_COPY;
    return hard.alpha == 1.0f / 6.0f && hard.beta == 0.5f ? UNARY_HARD_SWISH : UNARY_COPY;
}

/* The Conv that can take in Mul(y, gate(y)) of its output y (SiLU, or
 * hard swish), where nothing else reads y or the gate's output; -1 if none.
 * Sets *gate_node to the gate and *kind to the activation. */
static int gated_conv(illume_context *context, const graph *g, const graph_node *mul, const int *readers,
                      int *gate_node, unary_kind *kind) {
    for (int side = 0; side < 2; side++) {
        const graph_value *gate = graph_input(g, mul, side), *y = graph_input(g, mul, 1 - side);
        if (!gate || !y || gate->producer < 0 || y->producer < 0) continue;
        const graph_node *node = &g->nodes[gate->producer];
        if (node->inputs[0] != mul->inputs[1 - side]) continue;
        *kind = gated_activation(context, g, node);
        if (*kind == UNARY_COPY) continue;
        if (readers[mul->inputs[side]] != 1 || readers[mul->inputs[1 - side]] != 2 || !private_value(gate) ||
            !private_value(y))
            continue;
        const graph_node *producer = &g->nodes[y->producer];
        if (graph_op_kind(producer) != KIND_CONVOLUTION || producer->fused_activation.kind) continue;
        *gate_node = gate->producer;
        return y->producer;
    }
    return -1;
}

/* Conv, gate, Mul (SiLU in EfficientNet, hard swish in MobileNetV3) as one
 * Conv with that activation: the gate and the Mul would each pass over the
 * activations once more. */
static void fuse_gated_activations(illume_context *context, graph *g, const int *readers) {
    for (int n = 0; n < g->node_count; n++) {
        graph_node *mul = &g->nodes[n];
        int gate;
        unary_kind kind;
        if (!graph_node_is(mul, "Mul") || mul->input_count != 2) continue;
        int conv = gated_conv(context, g, mul, readers, &gate, &kind);
        if (conv < 0) continue;
        g->nodes[conv].fused_activation = (graph_activation){(int)kind, 0.0f, 0.0f};
        g->values[g->nodes[gate].outputs[0]].producer = -1;
        g->nodes[gate].op = GRAPH_NODE_DELETED;
        graph_absorb(g, conv, mul);
    }
}

/* Whether an activation's derivative follows from its output alone. */
static int derivable_from_output(const unary_desc *activation) {
    if (activation->kind == UNARY_HARD_SWISH) return 0;
    if (activation->kind == UNARY_LEAKY_RELU && !(activation->alpha > 0.0f)) return 0;
    if (activation->kind == UNARY_ELU && !(activation->alpha > 0.0f)) return 0;
    if (activation->kind == UNARY_CLIP && !(activation->alpha < activation->beta)) return 0;
    return 1;
}

illume_status pass_fuse_activation(illume_context *context, graph *g, int for_backward) {
    int *readers = graph_count_readers(g);
    if (!readers) return illume_fail(context, ILLUME_ERROR_OUT_OF_MEMORY, "out of memory");
    illume_status status = ILLUME_OK;
    if (!for_backward) fuse_gated_activations(context, g, readers);
    for (int n = 0; n < g->node_count && status == ILLUME_OK; n++) {
        graph_node *node = &g->nodes[n];
        unary_desc activation;
        if (!op_node_has(node, OP_ACTIVATION) || graph_op_kind(node) != KIND_UNARY) continue;
        const graph_value *x = graph_input(g, node, 0);
        if (x->producer < 0 || readers[node->inputs[0]] != 1 || x->is_graph_output || x->pinned) continue;
        int producer_index = x->producer;
        graph_node *producer = &g->nodes[producer_index];
        int batchnorm = graph_node_is(producer, "BatchNormalization");
        if (!(graph_op_kind(producer) == KIND_CONVOLUTION || (batchnorm && !for_backward)) ||
            producer->fused_activation.kind)
            continue;
        status = activation_describe(context, g, node, &activation);
        if (status != ILLUME_OK) break;
        if (for_backward && !derivable_from_output(&activation)) continue;
        /* oneDNN's batch normalization fuses a plain Relu only. */
        if (batchnorm && activation.kind != UNARY_RELU) continue;
        /* After a fused Add the activation runs on the sum, as the model has it. */
        producer->fused_activation = (graph_activation){(int)activation.kind, activation.alpha, activation.beta};
        graph_absorb(g, producer_index, node);
    }
    free(readers);
    graph_compact(g);
    return status;
}
