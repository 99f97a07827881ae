/* The session's internals, shared by runtime/session.c (making and running
 * it) and runtime/backward.c (its backward pass and reading its values). */
#ifndef ILLUME_SESSION_H
#define ILLUME_SESSION_H

#include "backend.h"
#include "backward_rule.h"
#include "op.h"
#include "plan.h"

struct illume_session {
    illume_context *context;
    graph *graph;
    backend *backend;
    plan plan;
    void *arena;
    float **pointers;   /* per value: where its data lives on the device, NULL if unused */
    void **uploaded;    /* per value: device copies of constants the backend owns */
    void **states;      /* per node: backend state */
    op_call *calls;     /* per step: the arguments of its forward */
    double *op_seconds; /* per op of the op table, then per op's backward, when profiling */
    int64_t *op_calls;
    float **call_pointers;
    size_t constant_bytes;
    int ran;            /* a forward run finished: its values are there to read */

    /* The backward pass, when the session was made with one. */
    int has_backward;
    int from;             /* the value whose gradient the caller seeds */
    int *to;              /* the values whose gradients are wanted */
    int to_count;
    float **gradients;    /* per value: its gradient on the device, NULL where none flows */
    float *accumulator;   /* where a contribution that adds to a gradient goes first */
    void **backward_states; /* OP_BACKWARD_STATES per node */
    int backward_ran;
    int forward_spent;    /* a backward pass began: it reuses the memory of the forward values it read */
    /* A backward rule in place of the ops' (runtime/backward_rule.h), and its state once set; NULL for none. */
    const backward_rule *rule;
    void *rule_state;

    /* The first steps, run one image at a time (runtime/split_batch.c); NULL for none. */
    struct split_batch *split;
    /* Set on such a part of a session: it runs on the parent's backend and
     * adds to the parent's profile. */
    illume_session *parent;
};

/* A session over g, a graph ready to plan (the session takes it), that
 * runs on the parent's backend and adds to its profile. */
illume_status session_create_part(illume_session *parent, graph *g, illume_session **result);
/* Runs the forward steps of the session's plan, from its first step. */
illume_status session_run_steps(illume_session *session);

/* Prepares what the backward steps need once the values are placed. */
illume_status session_prepare_backward(illume_session *session);
void session_free_backward(illume_session *session);
/* A copy of the model's graph with the inputs bound to these shapes and every
 * shape inferred, constants folded, nothing fused (the caller frees it). */
illume_status session_infer_shapes(illume_context *context, const illume_model *model, int input_count,
                                   const illume_tensor *input_shapes, graph **result);
/* A profile is session_profile_keys() times and calls: per op of the op
 * table, then per op's backward, then the transfers between host and
 * device. session_profile_add adds the session's (if it was made with
 * profile) to one; session_profile_entry reads entry index of one and
 * returns the number of entries. */
int session_profile_keys(void);
/* With profile: waits for the device and its transfer queues, then counts
 * the time since start as a transfer. */
illume_status session_profile_transfer(illume_session *session, double start);
void session_profile_add(const illume_session *session, double *seconds, int64_t *calls);
int session_profile_entry(const double *seconds, const int64_t *calls, int index, illume_profile_entry *entry);
/* A monotonic clock in seconds, for the profile. */
double session_now(void);
/* The forward pass of illume_session_run on inputs already in place on the
 * device (session->pointers of the graph's inputs); downloads the outputs,
 * already checked against the graph's, and synchronizes. It is
 * session_queue_forward, which queues the forward on the device (it may not
 * have run when the call returns), then session_outputs, which downloads
 * the outputs and waits. */
illume_status session_forward(illume_session *session, illume_tensor *outputs);
illume_status session_queue_forward(illume_session *session);
illume_status session_outputs(illume_session *session, illume_tensor *outputs);
/* illume_session_backward without waiting for the device at its end. */
illume_status session_queue_backward(illume_session *session, illume_rule rule, const illume_tensor *seed);
/* illume_session_create with a backward rule in place of the ops' own
 * (runtime/backward_rule.h); options.backward must be set. */
illume_status session_create_with_rule(illume_context *context, const illume_model *model,
                                       const illume_session_options *options, const backward_rule *rule,
                                       int input_count, const illume_tensor *input_shapes, illume_session **session);
/* Gives the session's rule its state (taken over; the rule's free_state frees it with the session or the next state). */
void session_set_rule_state(illume_session *session, void *state);
/* Runs the backward pass of the session's rule, seeded as illume_session_backward's, without waiting for the device. */
illume_status session_queue_rule_backward(illume_session *session, const illume_tensor *seed);

/* The index of the value named name in the session's graph, or -1. */
int session_find_value(const illume_session *session, const char *name);

/* Where a value of the session lives on its device: its data, its gradient
 * (NULL where no gradient flows, or before a backward pass is planned), and
 * whether the layout pass stores it channels last. */
typedef struct session_place {
    float *data;
    float *gradient;
    int channels_last;
} session_place;
/* The value named name, or graph input 0 for NULL; fails for a name the
 * graph does not have. */
illume_status session_place_of(const illume_session *session, const char *name, session_place *place);
backend *session_backend(const illume_session *session);

#endif
