/* A model exported without a symbolic batch (PyTorch's export without
 * dynamic axes, a Keras model with a batch in its input signature) states
 * its batch size B in its input and in constants: the shapes of Reshapes
 * that flatten each image, of ConstantOfShapes and Resizes' sizes (the ops
 * that take their output's shape from an input). The engine needs other
 * batches (the rows of an integrated-gradients pass, the images of a run),
 * so a session that asks for N rows rebinds the graph: those constants get
 * N where they hold B for the batch axis, and shape inference at B and at
 * N must agree that nothing else changed.
 * A graph that mixes its images (a Reshape that folds the batch into
 * another axis, a constant of B rows added to the activations) fails the
 * check and runs at B only (the callers then pass B rows at a time). */
#include "rebind_batch.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model.h"
#include "op.h"
#include "passes.h"

/* The batch the inputs fix and the one asked for; 0 when no input fixes one that differs. */
static illume_status batches(illume_context *context, const graph *g, int count, const illume_tensor *shapes,
                             int64_t *fixed, int64_t *wanted) {
    *fixed = *wanted = 0;
    for (int i = 0; i < count && i < g->input_count; i++) {
        const graph_value *input = &g->values[g->inputs[i]];
        const illume_tensor *shape = &shapes[i];
        if (input->rank < 1 || shape->rank != input->rank || input->dims[0] < 0 || shape->dims[0] == input->dims[0])
            continue;
        /* Another dimension that differs is the binding's error to report, not a batch to rebind. */
        int others_fit = 1;
        for (int d = 1; d < input->rank; d++) others_fit &= input->dims[d] < 0 || input->dims[d] == shape->dims[d];
        if (!others_fit) return ILLUME_OK;
        if ((*fixed && *fixed != input->dims[0]) || (*wanted && *wanted != shape->dims[0]))
            return illume_fail(context, ILLUME_ERROR_INVALID_INPUT,
                               "input '%s': the inputs fix different batch sizes, or are given different ones",
                               input->name);
        *fixed = input->dims[0];
        *wanted = shape->dims[0];
    }
    return ILLUME_OK;
}

/* A copy of g with its inputs at shapes, their batch dimension set to
 * `batch`, every shape inferred. */
static illume_status infer_at(illume_context *context, const graph *g, int count, const illume_tensor *shapes,
                              int64_t batch, graph **result) {
    *result = NULL;
    graph *copy = graph_clone(g);
    illume_tensor *at = malloc(sizeof(illume_tensor) * (size_t)(count + 1));
    if (!copy || !at) {
        graph_free(copy);
        free(at);
        return illume_fail(context, ILLUME_ERROR_OUT_OF_MEMORY, "out of memory");
    }
    for (int i = 0; i < count && i < copy->input_count; i++) {
        at[i] = shapes[i];
        if (at[i].rank >= 1) at[i].dims[0] = batch;
        graph_value *input = &copy->values[copy->inputs[i]];
        if (input->rank >= 1) input->dims[0] = -1;
    }
    illume_status status = pass_bind_inputs(context, copy, count, at);
    if (status == ILLUME_OK) status = pass_infer_and_fold(context, copy);
    free(at);
    if (status != ILLUME_OK) {
        graph_free(copy);
        return status;
    }
    *result = copy;
    return ILLUME_OK;
}

/* A value computed from the inputs whose first dimension is the batch. */
static int holds_batch(const graph_value *value, int64_t batch) {
    return !value->constant && value->rank >= 1 && value->dims[0] == batch;
}

/* Whether node n of g (inferred at the fixed batch, as `at`) makes its
 * output's batch axis from a constant shape whose first entry is that batch:
 * it reads a value of the batch, or something that reads its output does. */
static int makes_batch_axis(const graph *at, const graph_node *node, int64_t fixed) {
    const graph_value *y = graph_output(at, node, 0);
    if (!y || y->rank < 1 || y->dims[0] != fixed) return 0;
    for (int i = 0; i < node->input_count; i++) {
        const graph_value *x = graph_input(at, node, i);
        if (x && !x->constant && x->rank >= 1 && (x->dims[0] == fixed || x->dims[0] == 1)) return 1;
    }
    for (int n = 0; n < at->node_count; n++) {
        const graph_node *reader = &at->nodes[n];
        int reads = 0, batch = 0;
        for (int i = 0; i < reader->input_count; i++) {
            if (reader->inputs[i] < 0) continue;
            reads |= reader->inputs[i] == node->outputs[0];
            batch |= holds_batch(&at->values[reader->inputs[i]], fixed);
        }
        if (reads && batch) return 1;
    }
    return 0;
}

/* A copy of the int64 constant v with its first entry `batch`; its index, or -1. */
static int rebound_constant(graph *g, int v, int64_t batch) {
    char name[512];
    snprintf(name, sizeof name, "%.400s:rebound_batch", g->values[v].name);
    int64_t count;
    shape_element_count(g->values[v].rank, g->values[v].dims, &count);
    int64_t *data = malloc(sizeof(int64_t) * (size_t)count);
    int copy = data ? graph_add_value(g, name) : -1;
    if (copy < 0) {
        free(data);
        return -1;
    }
    const graph_value *source = &g->values[v];
    memcpy(data, source->constant, sizeof(int64_t) * (size_t)count);
    data[0] = batch;
    graph_value *value = &g->values[copy];
    value->dtype = ILLUME_INT64;
    value->rank = source->rank;
    memcpy(value->dims, source->dims, sizeof value->dims);
    value->constant = data;
    value->owns_constant = 1;
    return copy;
}

/* The first value whose shape at the wanted batch is not its shape at the
 * fixed one, with the batch axis moved from fixed to wanted; -1 if none. */
static int changed_value(const graph *at_fixed, const graph *at_wanted, int64_t fixed, int64_t wanted) {
    for (int v = 0; v < at_fixed->value_count; v++) {
        const graph_value *a = &at_fixed->values[v], *b = &at_wanted->values[v];
        if (a->constant || b->constant || a->rank < 0) continue;
        if (a->rank != b->rank) return v;
        for (int d = 0; d < a->rank; d++) {
            int64_t expected = d == 0 && holds_batch(a, fixed) ? wanted : a->dims[d];
            if (b->dims[d] != expected) return v;
        }
    }
    return -1;
}

static illume_status refuse(illume_context *context, int64_t fixed, int64_t wanted, const char *why) {
    return illume_fail(context, ILLUME_ERROR_UNSUPPORTED,
                       "the model fixes its batch at %lld and cannot be rebound to %lld: %s; run batches of %lld",
                       (long long)fixed, (long long)wanted, why, (long long)fixed);
}

/* Gives the shape inputs of g that carry the batch (as inferred at the
 * fixed batch in at_fixed, whose nodes are g's) the wanted batch instead. */
static illume_status rewrite_shapes(illume_context *context, graph *g, const graph *at_fixed, int64_t fixed,
                                    int64_t wanted) {
    for (int n = 0; n < g->node_count; n++) {
        graph_node *node = &g->nodes[n];
        if (!op_node_has(node, OP_SHAPED_BY_INPUT)) continue;
        int i = op_get(node->op)->shape_input;
        if (i >= node->input_count || node->inputs[i] < 0) continue;
        const graph_value *shape = &g->values[node->inputs[i]];
        if (!shape->constant || shape->dtype != ILLUME_INT64 || shape->rank != 1 || shape->dims[0] < 1 ||
            ((const int64_t *)shape->constant)[0] != fixed || !makes_batch_axis(at_fixed, &at_fixed->nodes[n], fixed))
            continue;
        int copy = rebound_constant(g, node->inputs[i], wanted);
        if (copy < 0) return illume_fail(context, ILLUME_ERROR_OUT_OF_MEMORY, "out of memory");
        node->inputs[i] = copy;
    }
    return ILLUME_OK;
}

illume_status pass_rebind_batch(illume_context *context, graph *g, int count, const illume_tensor *shapes) {
    int64_t fixed, wanted;
    ILLUME_TRY(batches(context, g, count, shapes, &fixed, &wanted));
    if (!fixed || wanted < 1) return ILLUME_OK;
    /* Rewritten and checked on a copy; then the same rewrite on g. */
    graph *at_fixed = NULL, *trial = graph_clone(g), *at_wanted = NULL;
    if (!trial) return illume_fail(context, ILLUME_ERROR_OUT_OF_MEMORY, "out of memory");
    illume_status status = infer_at(context, g, count, shapes, fixed, &at_fixed);
    if (status == ILLUME_OK) status = rewrite_shapes(context, trial, at_fixed, fixed, wanted);
    if (status == ILLUME_OK && infer_at(context, trial, count, shapes, wanted, &at_wanted) != ILLUME_OK) {
        char why[1024];
        snprintf(why, sizeof why, "%s", illume_last_error(context));
        status = refuse(context, fixed, wanted, why);
    }
    if (status == ILLUME_OK) {
        int v = changed_value(at_fixed, at_wanted, fixed, wanted);
        char why[600];
        if (v >= 0) {
            snprintf(why, sizeof why, "the value '%.500s' would change shape beyond its batch",
                     at_fixed->values[v].name);
            status = refuse(context, fixed, wanted, why);
        }
    }
    if (status == ILLUME_OK) status = rewrite_shapes(context, g, at_fixed, fixed, wanted);
    if (status == ILLUME_OK) {
        for (int i = 0; i < g->input_count; i++) {
            graph_value *input = &g->values[g->inputs[i]];
            if (input->rank >= 1) input->dims[0] = -1;
        }
    }
    graph_free(at_fixed);
    graph_free(at_wanted);
    graph_free(trial);
    return status;
}

illume_status illume_model_batch(illume_context *context, const illume_model *model, const illume_tensor *input_shapes,
                                 illume_batch_info *info) {
    memset(info, 0, sizeof *info);
    if (!model) return illume_fail(context, ILLUME_ERROR_INVALID_INPUT, "no model given");
    const graph *g = model->graph;
    illume_tensor *shapes = calloc((size_t)g->input_count + 1, sizeof(illume_tensor));
    if (!shapes) return illume_fail(context, ILLUME_ERROR_OUT_OF_MEMORY, "out of memory");
    illume_status status = ILLUME_OK;
    for (int i = 0; i < g->input_count && status == ILLUME_OK; i++) {
        const graph_value *input = &g->values[g->inputs[i]];
        if (input->rank >= 1 && input->dims[0] >= 0 && !info->fixed) info->fixed = input->dims[0];
        shapes[i] = input_shapes ? input_shapes[i] : (illume_tensor){.dtype = input->dtype, .rank = input->rank};
        for (int d = 0; !input_shapes && d < input->rank; d++) shapes[i].dims[d] = input->dims[d];
        for (int d = 1; d < shapes[i].rank && status == ILLUME_OK; d++)
            if (shapes[i].dims[d] < 0)
                status = illume_fail(context, ILLUME_ERROR_INVALID_INPUT,
                                     "input '%s' does not declare its whole shape: give the input shapes", input->name);
    }
    if (status == ILLUME_OK && info->fixed) {
        /* Any other batch size tells: the rewrite does not depend on which. */
        for (int i = 0; i < g->input_count; i++)
            if (shapes[i].rank >= 1) shapes[i].dims[0] = info->fixed + 1;
        graph *trial = graph_clone(g);
        if (!trial) status = illume_fail(context, ILLUME_ERROR_OUT_OF_MEMORY, "out of memory");
        illume_status rebinding = trial ? pass_rebind_batch(context, trial, g->input_count, shapes) : status;
        info->rebinds = rebinding == ILLUME_OK;
        if (trial && !info->rebinds) snprintf(info->reason, sizeof info->reason, "%s", illume_last_error(context));
        if (rebinding == ILLUME_ERROR_OUT_OF_MEMORY) status = rebinding;
        graph_free(trial);
    }
    free(shapes);
    return status;
}
