#include "plan.h"

#include <stdlib.h>
#include <string.h>

#include "backward_rule.h"
#include "op.h"

typedef struct block {
    size_t bytes;
    int first, last; /* steps during which the bytes are in use; inputs start at -1 */
    int64_t offset;
    int alias;       /* another block whose bytes this one takes over, or -1 */
} block;

typedef struct planner {
    illume_context *context;
    const graph *g;
    const plan_backward *backward;
    plan *result;
    int steps, end;    /* forward steps; the step after the last (outputs live to it) */
    int *storage;      /* per value: the value whose bytes it uses (itself, or a view's input) */
    int *gradient_storage;
    int *block_of;     /* per storage value: its block, -1 for none */
    int *gradient_block_of;
    char *needs_gradient;
    int *saved_block, *scratch_block;
    block *blocks;
    int block_count;
} planner;

/* Offsets are int64: blocks that need more bytes at once are refused, and
 * sizes past it (a scratch size that saturated) are held at it. */
#define ARENA_LIMIT ((size_t)INT64_MAX)

static size_t align_up(size_t bytes) {
    if (bytes > ARENA_LIMIT - PLAN_ALIGNMENT) return ARENA_LIMIT;
    return (bytes + PLAN_ALIGNMENT - 1) / PLAN_ALIGNMENT * PLAN_ALIGNMENT;
}

static int backward_step(const planner *p, int node) { return 2 * p->steps - 1 - node; }

static int by_size_descending(const void *a, const void *b) {
    const block *x = *(const block *const *)a, *y = *(const block *const *)b;
    if (x->bytes != y->bytes) return x->bytes < y->bytes ? 1 : -1;
    return x->first - y->first;
}

static int by_offset(const void *a, const void *b) {
    const block *x = *(const block *const *)a, *y = *(const block *const *)b;
    return x->offset < y->offset ? -1 : (x->offset > y->offset);
}

/* Greedy placement, largest first, each at the lowest offset that no block
 * alive at the same time occupies. */
static illume_status place(illume_context *context, block *blocks, int count, size_t *arena_bytes) {
    block **order = malloc(sizeof(block *) * ((size_t)count + 1));
    block **placed = malloc(sizeof(block *) * ((size_t)count + 1));
    block **overlapping = malloc(sizeof(block *) * ((size_t)count + 1));
    if (!order || !placed || !overlapping) {
        free(order);
        free(placed);
        free(overlapping);
        return illume_fail(context, ILLUME_ERROR_OUT_OF_MEMORY, "out of memory while planning");
    }
    int ordered = 0;
    for (int i = 0; i < count; i++)
        if (blocks[i].alias < 0) order[ordered++] = &blocks[i];
    qsort(order, (size_t)ordered, sizeof(block *), by_size_descending);
    int placed_count = 0;
    size_t total = 0;
    for (int i = 0; i < ordered; i++) {
        block *current = order[i];
        int overlap_count = 0;
        for (int j = 0; j < placed_count; j++)
            if (placed[j]->first <= current->last && current->first <= placed[j]->last)
                overlapping[overlap_count++] = placed[j];
        qsort(overlapping, (size_t)overlap_count, sizeof(block *), by_offset);
        size_t offset = 0;
        for (int j = 0; j < overlap_count; j++) {
            size_t start = (size_t)overlapping[j]->offset;
            if (start >= offset && start - offset >= current->bytes) break;
            size_t end = start + overlapping[j]->bytes;
            if (end > offset) offset = end;
        }
        if (offset > ARENA_LIMIT - current->bytes) {
            free(order);
            free(placed);
            free(overlapping);
            return illume_fail(context, ILLUME_ERROR_OUT_OF_MEMORY,
                               "the values alive at once need more than 2^63 bytes");
        }
        current->offset = (int64_t)offset;
        placed[placed_count++] = current;
        if (offset + current->bytes > total) total = offset + current->bytes;
    }
    for (int i = 0; i < count; i++) {
        int target = i;
        while (blocks[target].alias >= 0) target = blocks[target].alias;
        blocks[i].offset = blocks[target].offset;
    }
    free(order);
    free(placed);
    free(overlapping);
    *arena_bytes = total;
    return ILLUME_OK;
}

static int add_block(planner *p, size_t bytes, int first, int last) {
    block *b = &p->blocks[p->block_count];
    b->bytes = align_up(bytes ? bytes : 1);
    b->first = first;
    b->last = last;
    b->alias = -1;
    size_t *total = &p->result->activation_bytes;
    *total = b->bytes > ARENA_LIMIT - *total ? ARENA_LIMIT : *total + b->bytes;
    return p->block_count++;
}

static void extend(planner *p, int block_index, int step) {
    if (block_index < 0) return;
    block *b = &p->blocks[block_index];
    if (step < b->first) b->first = step;
    if (step > b->last) b->last = step;
}

static int forward_block(const planner *p, int v) { return v < 0 ? -1 : p->block_of[p->storage[v]]; }

static int gradient_block(const planner *p, int v) {
    return v < 0 || !p->needs_gradient[v] ? -1 : p->gradient_block_of[p->gradient_storage[v]];
}

/* Whether value v, made by a step before first_step, is read from
 * first_step on (or is a graph output): then it is there when the plan starts. */
static int read_from_first_step(const planner *p, int v) {
    const graph *g = p->g;
    if (g->values[v].is_graph_output) return 1;
    for (int n = p->result->first_step; n < p->steps; n++)
        for (int i = 0; i < g->nodes[n].input_count; i++)
            if (g->nodes[n].inputs[i] == v) return 1;
    return 0;
}

static illume_status forward_blocks(planner *p) {
    const graph *g = p->g;
    int first_step = p->result->first_step;
    for (int n = first_step; n < p->steps; n++) {
        const graph_node *node = &g->nodes[n];
        if (op_get(node->op)->is_view && node->inputs[0] >= 0 && !g->values[node->inputs[0]].constant)
            p->storage[node->outputs[0]] = p->storage[node->inputs[0]];
    }
    for (int v = 0; v < g->value_count; v++) {
        const graph_value *value = &g->values[v];
        int given = value->is_graph_input || (value->producer >= 0 && value->producer < first_step);
        int used = value->is_graph_input || value->producer >= first_step ||
                   (given && read_from_first_step(p, v));
        if (value->constant || !used || p->storage[v] != v) continue;
        size_t bytes;
        if (value_byte_size(value, &bytes))
            return illume_fail(p->context, ILLUME_ERROR_INVALID_INPUT, "value '%s' is too large", value->name);
        int first = given ? -1 : value->producer;
        p->block_of[v] = add_block(p, bytes, first, first);
    }
    /* Each block lives until its last reader, or to the end for graph outputs. */
    for (int n = first_step; n < p->steps; n++) {
        const graph_node *node = &g->nodes[n];
        for (int i = 0; i < node->input_count; i++) extend(p, forward_block(p, node->inputs[i]), n);
        for (int o = 0; o < node->output_count; o++) extend(p, forward_block(p, node->outputs[o]), n);
    }
    for (int o = 0; o < g->output_count; o++) extend(p, forward_block(p, g->outputs[o]), p->end);
    /* So do the other values illume_session_read may read: the graph inputs
     * and the pinned values (backward_from, backward_to, kept). */
    for (int v = 0; v < g->value_count; v++)
        if (g->values[v].is_graph_input || g->values[v].pinned) extend(p, forward_block(p, v), p->end);
    if (p->backward)
        for (int k = 0; k < p->backward->keep_count; k++) extend(p, forward_block(p, p->backward->keep[k]), p->end);
    return ILLUME_OK;
}

/* A node may write its output over an input that nothing reads after it (a
 * Conv with a fused residual Add accumulates into the addend). */
static void merge_in_place(planner *p) {
    const graph *g = p->g;
    for (int n = p->result->first_step; n < p->steps; n++) {
        const graph_node *node = &g->nodes[n];
        int k = node->inplace_input;
        if (k < 0 || k >= node->input_count || node->inputs[k] < 0 || node->outputs[0] < 0) continue;
        int from = forward_block(p, node->inputs[k]), to = forward_block(p, node->outputs[0]);
        if (from < 0 || to < 0) continue;
        while (p->blocks[from].alias >= 0) from = p->blocks[from].alias;
        if (from == to) continue;
        block *input = &p->blocks[from], *output = &p->blocks[to];
        if (output->alias >= 0 || input->first < 0 || input->last != n || output->first != n ||
            input->bytes < output->bytes)
            continue;
        /* Not when the node also reads those bytes as another input (a Conv adding its own input). */
        int read_otherwise = 0;
        for (int i = 0; i < node->input_count; i++) {
            int other = forward_block(p, node->inputs[i]);
            if (i == k || other < 0) continue;
            while (p->blocks[other].alias >= 0) other = p->blocks[other].alias;
            if (other == from) read_otherwise = 1;
        }
        if (read_otherwise) continue;
        input->last = output->last;
        output->alias = from;
    }
}

/* A gradient flows through value v when v depends on a value the gradient is
 * wanted for, and the value the backward starts from depends on v. */
static illume_status find_gradient_paths(planner *p) {
    const graph *g = p->g;
    const plan_backward *backward = p->backward;
    char *depends = calloc((size_t)g->value_count + 1, 1), *leads = calloc((size_t)g->value_count + 1, 1);
    if (!depends || !leads) {
        free(depends);
        free(leads);
        return illume_fail(p->context, ILLUME_ERROR_OUT_OF_MEMORY, "out of memory while planning");
    }
    for (int k = 0; k < backward->to_count; k++) depends[backward->to[k]] = 1;
    for (int n = 0; n < p->steps; n++) {
        const graph_node *node = &g->nodes[n];
        int any = 0;
        for (int i = 0; i < node->input_count; i++) any |= node->inputs[i] >= 0 && depends[node->inputs[i]];
        for (int o = 0; any && o < node->output_count; o++)
            if (node->outputs[o] >= 0) depends[node->outputs[o]] = 1;
    }
    leads[backward->from] = 1;
    for (int n = p->steps - 1; n >= 0; n--) {
        const graph_node *node = &g->nodes[n];
        int any = 0;
        for (int o = 0; o < node->output_count; o++) any |= node->outputs[o] >= 0 && leads[node->outputs[o]];
        for (int i = 0; any && i < node->input_count; i++)
            if (node->inputs[i] >= 0) leads[node->inputs[i]] = 1;
    }
    for (int v = 0; v < g->value_count; v++)
        p->needs_gradient[v] = depends[v] && leads[v] && !g->values[v].constant &&
                               g->values[v].dtype == ILLUME_FLOAT32;
    free(depends);
    free(leads);
    if (!p->needs_gradient[backward->from])
        return illume_fail(p->context, ILLUME_ERROR_INVALID_INPUT,
                           "no gradient flows from '%s' back to the values asked for",
                           g->values[backward->from].name);
    for (int n = 0; n < p->steps; n++) {
        const graph_node *node = &g->nodes[n];
        int output_needs = 0, input_needs = 0;
        for (int o = 0; o < node->output_count; o++) output_needs |= node->outputs[o] >= 0 && p->needs_gradient[node->outputs[o]];
        for (int i = 0; i < node->input_count; i++) input_needs |= node->inputs[i] >= 0 && p->needs_gradient[node->inputs[i]];
        const op_definition *definition = op_get(node->op);
        p->result->steps[n].backward = output_needs && input_needs;
        if (p->result->steps[n].backward && !definition->backward && !definition->is_view)
            return illume_fail(p->context, ILLUME_ERROR_UNSUPPORTED, "node '%s' (%s): has no backward pass",
                               node->name, definition->name);
    }
    return ILLUME_OK;
}

/* Forward values a backward reads live until that backward; so do the
 * buffers a forward saves for its backward (MaxPool's argmax). */
static void keep_for_backward(planner *p) {
    const graph *g = p->g;
    for (int n = 0; n < p->steps; n++) {
        if (!p->result->steps[n].backward) continue;
        const graph_node *node = &g->nodes[n];
        const op_definition *definition = op_get(node->op);
        int t = backward_step(p, n);
        if (p->backward->rule) {
            for (int i = 0; i < node->input_count; i++)
                if (node->inputs[i] >= 0) extend(p, forward_block(p, node->inputs[i]), t);
            for (int o = 0; o < node->output_count; o++)
                if (node->outputs[o] >= 0) extend(p, forward_block(p, node->outputs[o]), t);
        } else if (definition->backward_reads) {
            op_reads reads = definition->backward_reads(g, node);
            for (int i = 0; i < node->input_count && i < 32; i++)
                if (reads.inputs & (1u << i)) extend(p, forward_block(p, node->inputs[i]), t);
            for (int o = 0; o < node->output_count && o < 32; o++)
                if (reads.outputs & (1u << o)) extend(p, forward_block(p, node->outputs[o]), t);
        }
        size_t bytes = definition->saved_bytes ? definition->saved_bytes(g, node) : 0;
        if (bytes) p->saved_block[n] = add_block(p, bytes, n, t);
        bytes = definition->backward_scratch_bytes ? definition->backward_scratch_bytes(g, node) : 0;
        if (p->backward->rule && p->backward->rule->scratch_bytes) {
            size_t rule_bytes = p->backward->rule->scratch_bytes(g, node);
            bytes = align_up(bytes);
            bytes = rule_bytes > ARENA_LIMIT - bytes ? ARENA_LIMIT : bytes + rule_bytes;
        }
        if (bytes) p->scratch_block[n] = add_block(p, bytes, t, t);
    }
}

/* Gradient blocks: a view's output gradient shares its input's. Each lives
 * from its first contribution (or the seed, written before the backward
 * starts) to the backward of its producer, or to the end for wanted values. */
static illume_status gradient_blocks(planner *p) {
    const graph *g = p->g;
    const plan_backward *backward = p->backward;
    plan *result = p->result;
    for (int n = 0; n < p->steps; n++) {
        const graph_node *node = &g->nodes[n];
        if (result->steps[n].backward && op_get(node->op)->is_view && p->needs_gradient[node->inputs[0]])
            p->gradient_storage[node->outputs[0]] = p->gradient_storage[node->inputs[0]];
    }
    for (int v = 0; v < g->value_count; v++) {
        if (!p->needs_gradient[v] || p->gradient_storage[v] != v) continue;
        size_t bytes;
        value_byte_size(&g->values[v], &bytes);
        p->gradient_block_of[v] = add_block(p, bytes, p->end, p->steps);
    }
    int seed_root = p->gradient_storage[backward->from];
    extend(p, gradient_block(p, backward->from), p->steps);
    /* The first contribution in backward order writes; the others add. */
    int *writer = malloc(sizeof(int) * ((size_t)g->value_count + 1));
    if (!writer) return illume_fail(p->context, ILLUME_ERROR_OUT_OF_MEMORY, "out of memory while planning");
    for (int v = 0; v < g->value_count; v++) writer[v] = -2;
    writer[seed_root] = -1;
    size_t accumulate_bytes = 0;
    for (int n = p->steps - 1; n >= 0; n--) {
        if (!result->steps[n].backward || op_get(g->nodes[n].op)->is_view) continue;
        const graph_node *node = &g->nodes[n];
        int t = backward_step(p, n);
        for (int o = 0; o < node->output_count; o++) extend(p, gradient_block(p, node->outputs[o]), t);
        for (int i = 0; i < node->input_count; i++) {
            int v = node->inputs[i];
            if (v < 0 || !p->needs_gradient[v]) continue;
            int root = p->gradient_storage[v];
            extend(p, gradient_block(p, v), t);
            if (writer[root] == -2) {
                writer[root] = n;
            } else {
                size_t bytes;
                value_byte_size(&g->values[v], &bytes);
                if (bytes > accumulate_bytes) accumulate_bytes = bytes;
            }
        }
    }
    for (int k = 0; k < backward->to_count; k++) extend(p, gradient_block(p, backward->to[k]), p->end);
    for (int k = 0; k < backward->keep_count; k++) extend(p, gradient_block(p, backward->keep[k]), p->end);
    for (int v = 0; v < g->value_count; v++)
        result->gradient_writer[v] = p->needs_gradient[v] ? writer[p->gradient_storage[v]] : -2;
    free(writer);
    result->accumulate_offset = accumulate_bytes ? add_block(p, accumulate_bytes, p->steps, p->end) : -1;
    return ILLUME_OK;
}

static illume_status build(planner *p) {
    const graph *g = p->g;
    plan *result = p->result;
    ILLUME_TRY(forward_blocks(p));
    if (p->backward) {
        ILLUME_TRY(find_gradient_paths(p));
        keep_for_backward(p);
    }
    merge_in_place(p);
    if (p->backward) ILLUME_TRY(gradient_blocks(p));
    int accumulate_block = (int)result->accumulate_offset;
    ILLUME_TRY(place(p->context, p->blocks, p->block_count, &result->arena_bytes));
    for (int v = 0; v < g->value_count; v++) {
        int b = forward_block(p, v);
        result->value_offsets[v] = b >= 0 && !g->values[v].constant ? p->blocks[b].offset : -1;
        b = p->backward ? gradient_block(p, v) : -1;
        result->gradient_offsets[v] = b >= 0 ? p->blocks[b].offset : -1;
    }
    for (int n = 0; n < p->steps; n++) {
        result->steps[n].node = n;
        result->steps[n].saved_offset = p->saved_block[n] >= 0 ? p->blocks[p->saved_block[n]].offset : -1;
        result->steps[n].scratch_offset = p->scratch_block[n] >= 0 ? p->blocks[p->scratch_block[n]].offset : -1;
    }
    result->accumulate_offset = accumulate_block >= 0 ? p->blocks[accumulate_block].offset : -1;
    return ILLUME_OK;
}

illume_status plan_build(illume_context *context, const graph *g, const plan_backward *backward, int first_step,
                         plan *result) {
    memset(result, 0, sizeof *result);
    if (first_step < 0 || first_step > g->node_count || (backward && first_step))
        return illume_fail(context, ILLUME_ERROR_INTERNAL, "a plan cannot start at step %d", first_step);
    result->first_step = first_step;
    int steps = g->node_count, values = g->value_count;
    planner p;
    memset(&p, 0, sizeof p);
    p.context = context;
    p.g = g;
    p.backward = backward;
    p.result = result;
    p.steps = steps;
    p.end = backward ? 2 * steps : steps;
    size_t value_slots = (size_t)values + 1, step_slots = (size_t)steps + 1;
    result->steps = calloc(step_slots, sizeof(plan_step));
    result->value_offsets = malloc(sizeof(int64_t) * value_slots);
    result->gradient_offsets = malloc(sizeof(int64_t) * value_slots);
    result->gradient_writer = malloc(sizeof(int) * value_slots);
    p.storage = malloc(sizeof(int) * value_slots);
    p.gradient_storage = malloc(sizeof(int) * value_slots);
    p.block_of = malloc(sizeof(int) * value_slots);
    p.gradient_block_of = malloc(sizeof(int) * value_slots);
    p.needs_gradient = calloc(value_slots, 1);
    p.saved_block = malloc(sizeof(int) * step_slots);
    p.scratch_block = malloc(sizeof(int) * step_slots);
    /* A forward and a gradient block per value, a saved and a scratch block per step, the accumulator. */
    p.blocks = calloc(2 * value_slots + 2 * step_slots + 1, sizeof(block));
    illume_status status = ILLUME_OK;
    if (!result->steps || !result->value_offsets || !result->gradient_offsets || !result->gradient_writer ||
        !p.storage || !p.gradient_storage || !p.block_of || !p.gradient_block_of || !p.needs_gradient ||
        !p.saved_block || !p.scratch_block || !p.blocks) {
        status = illume_fail(context, ILLUME_ERROR_OUT_OF_MEMORY, "out of memory while planning");
    } else {
        result->step_count = steps;
        result->accumulate_offset = -1;
        for (int v = 0; v < values; v++) {
            p.storage[v] = p.gradient_storage[v] = v;
            p.block_of[v] = p.gradient_block_of[v] = -1;
            result->gradient_writer[v] = -2;
        }
        for (int n = 0; n < steps; n++) p.saved_block[n] = p.scratch_block[n] = -1;
        if (backward && (backward->from < 0 || backward->from >= values))
            status = illume_fail(context, ILLUME_ERROR_INTERNAL, "backward start out of range");
        else
            status = build(&p);
    }
    free(p.storage);
    free(p.gradient_storage);
    free(p.block_of);
    free(p.gradient_block_of);
    free(p.needs_gradient);
    free(p.saved_block);
    free(p.scratch_block);
    free(p.blocks);
    if (status != ILLUME_OK) plan_free(result);
    return status;
}

void plan_free(plan *p) {
    free(p->steps);
    free(p->value_offsets);
    free(p->gradient_offsets);
    free(p->gradient_writer);
    memset(p, 0, sizeof *p);
}
