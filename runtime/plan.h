/* The execution plan: the order of the nodes, and where every value lives in
 * one arena. Values whose lifetimes do not overlap share bytes; a view
 * (Reshape, Flatten, Squeeze, ...) shares its input's bytes.
 *
 * With a backward pass the timeline continues past the forward: node n's
 * backward runs at step 2S - 1 - n of S nodes. Forward values live on until
 * the last backward that reads them; gradients live from their first
 * contribution to the backward of their producer. */
#ifndef ILLUME_PLAN_H
#define ILLUME_PLAN_H

#include <stddef.h>

#include "context.h"
#include "graph.h"

#define PLAN_ALIGNMENT 64

/* What a backward pass starts from and goes back to. */
typedef struct plan_backward {
    int from;          /* the value whose gradient is the seed */
    const int *to;     /* the values whose gradients are wanted (graph inputs, or a layer) */
    int to_count;
    const int *keep;   /* values whose data and gradient stay readable after the run */
    int keep_count;
    /* A backward rule (runtime/backward_rule.h) in place of the ops': every
     * node's backward reads all its inputs and outputs, and has the rule's
     * scratch; NULL for the ops' own backward. */
    const struct backward_rule *rule;
} plan_backward;

typedef struct plan_step {
    int node;
    int64_t saved_offset;   /* where the node saves what its backward reads; -1 for none */
    int backward;           /* the node's backward runs (a gradient flows through it) */
    int64_t scratch_offset; /* its backward's scratch memory; -1 for none */
} plan_step;

typedef struct plan {
    plan_step *steps;
    int step_count;
    int64_t *value_offsets;    /* per value: offset in the arena, -1 for constants and unused values */
    int64_t *gradient_offsets; /* per value: offset of its gradient, -1 where none flows */
    int *gradient_writer;      /* per value: the node whose backward writes its gradient first (the
                                * others add to it); -1 for the seed, which the caller writes */
    int64_t accumulate_offset; /* where a contribution that adds to a gradient is written first */
    size_t arena_bytes;
    size_t activation_bytes;   /* every block, as if none shared */
    int first_step;            /* the steps before it run elsewhere (runtime/split_batch.c) */
} plan;

/* backward: NULL for a forward-only plan. first_step: 0, or, forward only,
 * the first step this plan runs; the values the steps before it make and
 * later steps read are placed as if given, like graph inputs, and nothing
 * else of theirs is. */
illume_status plan_build(illume_context *context, const graph *g, const plan_backward *backward, int first_step,
                         plan *result);
void plan_free(plan *p);

#endif
