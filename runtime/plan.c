#include "plan.h"

#include <stdlib.h>
#include <string.h>

#include "op.h"

typedef struct block {
    size_t bytes;
    int first, last; /* steps during which the bytes are in use; inputs start at -1 */
    int64_t offset;
    int alias;       /* another block whose bytes this one takes over, or -1 */
} block;

static size_t align_up(size_t bytes) { return (bytes + PLAN_ALIGNMENT - 1) / PLAN_ALIGNMENT * PLAN_ALIGNMENT; }

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

illume_status plan_build(illume_context *context, const graph *g, int with_saved, plan *result) {
    memset(result, 0, sizeof *result);
    int steps = g->node_count, values = g->value_count;
    result->steps = calloc((size_t)steps + 1, sizeof(plan_step));
    result->value_offsets = malloc(sizeof(int64_t) * ((size_t)values + 1));
    int *storage = malloc(sizeof(int) * ((size_t)values + 1)); /* the value whose bytes each value uses */
    block *blocks = calloc((size_t)values + (size_t)steps + 1, sizeof(block));
    int *block_of = malloc(sizeof(int) * ((size_t)values + 1));
    int *saved_block = malloc(sizeof(int) * ((size_t)steps + 1));
    illume_status status = ILLUME_OK;
    if (!result->steps || !result->value_offsets || !storage || !blocks || !block_of || !saved_block) {
        status = illume_fail(context, ILLUME_ERROR_OUT_OF_MEMORY, "out of memory while planning");
        goto done;
    }
    result->step_count = steps;
    for (int v = 0; v < values; v++) {
        storage[v] = v;
        block_of[v] = -1;
        result->value_offsets[v] = -1;
    }
    for (int n = 0; n < steps; n++) {
        const graph_node *node = &g->nodes[n];
        if (op_get(node->op)->is_view && node->inputs[0] >= 0 && !g->values[node->inputs[0]].constant)
            storage[node->outputs[0]] = storage[node->inputs[0]];
    }
    int block_count = 0;
    for (int v = 0; v < values; v++) {
        const graph_value *value = &g->values[v];
        int used = value->is_graph_input || value->producer >= 0;
        if (value->constant || !used || storage[v] != v) continue;
        size_t bytes;
        if (value_byte_size(value, &bytes)) {
            status = illume_fail(context, ILLUME_ERROR_INVALID_INPUT, "value '%s' is too large", value->name);
            goto done;
        }
        block *b = &blocks[block_count];
        b->bytes = align_up(bytes ? bytes : 1);
        b->first = value->is_graph_input ? -1 : value->producer;
        b->last = b->first;
        b->alias = -1;
        block_of[v] = block_count++;
        result->activation_bytes += b->bytes;
    }
    /* Each block lives until its last reader, or to the end for graph outputs. */
    for (int n = 0; n < steps; n++) {
        const graph_node *node = &g->nodes[n];
        for (int i = 0; i < node->input_count; i++) {
            int v = node->inputs[i];
            if (v < 0 || block_of[storage[v]] < 0) continue;
            block *b = &blocks[block_of[storage[v]]];
            if (n > b->last) b->last = n;
        }
        for (int o = 0; o < node->output_count; o++) {
            int v = node->outputs[o];
            if (v < 0 || block_of[storage[v]] < 0) continue;
            block *b = &blocks[block_of[storage[v]]];
            if (n > b->last) b->last = n;
        }
    }
    for (int o = 0; o < g->output_count; o++) {
        int v = g->outputs[o];
        if (block_of[storage[v]] >= 0) blocks[block_of[storage[v]]].last = steps;
    }
    /* A node may write its output over an input that nothing reads after it
     * (a Conv with a fused residual Add accumulates into the addend). */
    for (int n = 0; n < steps; n++) {
        const graph_node *node = &g->nodes[n];
        int k = node->inplace_input;
        if (k < 0 || k >= node->input_count || node->inputs[k] < 0 || node->outputs[0] < 0) continue;
        int from = block_of[storage[node->inputs[k]]], to = block_of[storage[node->outputs[0]]];
        if (from < 0 || to < 0) continue;
        while (blocks[from].alias >= 0) from = blocks[from].alias;
        if (from == to) continue;
        block *input = &blocks[from], *output = &blocks[to];
        if (output->alias >= 0 || input->first < 0 || input->last != n || output->first != n ||
            input->bytes < output->bytes)
            continue;
        /* Not when the node also reads those bytes as another input (a Conv adding its own input). */
        int read_otherwise = 0;
        for (int i = 0; i < node->input_count; i++) {
            if (i == k || node->inputs[i] < 0 || block_of[storage[node->inputs[i]]] < 0) continue;
            int other = block_of[storage[node->inputs[i]]];
            while (blocks[other].alias >= 0) other = blocks[other].alias;
            if (other == from) read_otherwise = 1;
        }
        if (read_otherwise) continue;
        input->last = output->last;
        output->alias = from;
    }
    for (int n = 0; n < steps; n++) {
        const op_definition *definition = op_get(g->nodes[n].op);
        result->steps[n].node = n;
        saved_block[n] = -1;
        size_t bytes = definition->saved_bytes ? definition->saved_bytes(g, &g->nodes[n]) : 0;
        if (!bytes || !with_saved) continue;
        block *b = &blocks[block_count];
        b->bytes = align_up(bytes);
        b->first = n;
        b->last = steps;
        b->alias = -1;
        result->activation_bytes += b->bytes;
        saved_block[n] = block_count++;
    }
    status = place(context, blocks, block_count, &result->arena_bytes);
    if (status != ILLUME_OK) goto done;
    for (int v = 0; v < values; v++)
        if (block_of[storage[v]] >= 0 && !g->values[v].constant)
            result->value_offsets[v] = blocks[block_of[storage[v]]].offset;
    for (int n = 0; n < steps; n++)
        result->steps[n].saved_offset = saved_block[n] >= 0 ? blocks[saved_block[n]].offset : -1;
done:
    free(saved_block);
    free(storage);
    free(blocks);
    free(block_of);
    if (status != ILLUME_OK) plan_free(result);
    return status;
}

void plan_free(plan *p) {
    free(p->steps);
    free(p->value_offsets);
    memset(p, 0, sizeof *p);
}
