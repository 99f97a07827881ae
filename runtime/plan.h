/* The execution plan: the order of the nodes, and where every intermediate
 * value lives in one arena. Values whose lifetimes do not overlap share bytes;
 * a view (Reshape, Flatten, Squeeze, ...) shares its input's bytes. */
#ifndef ILLUME_PLAN_H
#define ILLUME_PLAN_H

#include <stddef.h>

#include "context.h"
#include "graph.h"

#define PLAN_ALIGNMENT 64

typedef struct plan_step {
    int node;
    int64_t saved_offset; /* where the node saves what its backward reads; -1 for none */
} plan_step;

typedef struct plan {
    plan_step *steps;
    int step_count;
    int64_t *value_offsets; /* per value: offset in the arena, -1 for constants and unused values */
    size_t arena_bytes;
    size_t activation_bytes; /* every intermediate and saved buffer, as if none shared */
} plan;

/* with_saved: give each node that saves data for the backward pass (MaxPool's
 * argmax) a buffer that lives to the end of the run. */
illume_status plan_build(illume_context *context, const graph *g, int with_saved, plan *result);
void plan_free(plan *p);

#endif
