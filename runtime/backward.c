/* A session's backward pass: node by node in reverse order, each op's
 * backward writes the gradients of its inputs from those of its outputs. A
 * value read by several nodes gets the gradient of its last reader written,
 * and the others' added to it through one accumulator (runtime/plan.c says
 * which is which). Also: reading a session's values and gradients. */
#include <stdlib.h>
#include <string.h>

#include "host_copy.h"
#include "ops/op_support.h"
#include "session.h"

illume_status session_prepare_backward(illume_session *session) {
    session->backward_states = calloc((size_t)session->graph->node_count * OP_BACKWARD_STATES + 1, sizeof(void *));
    if (!session->backward_states) return illume_fail(session->context, ILLUME_ERROR_OUT_OF_MEMORY, "out of memory");
    return ILLUME_OK;
}

void session_free_backward(illume_session *session) {
    if (!session->backward_states) return;
    for (int k = 0; k < session->graph->node_count * OP_BACKWARD_STATES; k++)
        if (session->backward_states[k]) session->backend->release_state(session->backend, session->backward_states[k]);
    free(session->backward_states);
    session->backward_states = NULL;
}

static illume_status add_into(illume_session *session, const graph_value *value, float *target, const float *addend) {
    int64_t count;
    shape_element_count(value->rank, value->dims, &count);
    binary_desc add = {.kind = BINARY_ADD, .rank = 1, .dims = {count}, .a_strides = {1}, .b_strides = {1}};
    return session->backend->binary(session->backend, &add, target, addend, target);
}

typedef enum gradient_mode { MODE_NONE, MODE_WRITE, MODE_ADD } gradient_mode;

/* Whether input i of node n writes its gradient, adds to it, or needs none:
 * the plan's writer writes, at the first input slot that names the buffer. */
static gradient_mode mode_of(const illume_session *session, int n, const graph_node *node, int i) {
    int v = node->inputs[i];
    if (v < 0 || !session->gradients[v]) return MODE_NONE;
    if (session->plan.gradient_writer[v] != n) return MODE_ADD;
    for (int j = 0; j < i; j++)
        if (node->inputs[j] >= 0 && session->gradients[node->inputs[j]] == session->gradients[v]) return MODE_ADD;
    return MODE_WRITE;
}

float *backward_rule_scratch(const op_backward_call *call) {
    const graph_node *node = call->forward->node;
    const op_definition *definition = op_get(node->op);
    size_t op_scratch = definition->backward_scratch_bytes ? definition->backward_scratch_bytes(call->forward->graph, node)
                                                           : 0;
    return (float *)((char *)call->scratch + (op_scratch + PLAN_ALIGNMENT - 1) / PLAN_ALIGNMENT * PLAN_ALIGNMENT);
}

/* The op's backward, or the session's rule's (installed: use_rule). */
static illume_status run_node_backward(illume_session *session, int n, const op_backward_call *call, int use_rule) {
    if (use_rule) return session->rule->node_backward(session->rule_state, session, n, call);
    return op_get(call->forward->node->op)->backward(call);
}

/* One node's backward: the inputs it writes and at most one it adds to in one
 * call, then one call for each further input it adds to. */
static illume_status backward_node(illume_session *session, int step, gradient_rule relu_rule, int use_rule) {
    graph *g = session->graph;
    const op_call *forward = &session->calls[step];
    const graph_node *node = forward->node;
    int n = session->plan.steps[step].node;
    const float *output_gradients[64] = {0};
    float *input_gradients[64] = {0};
    if (node->input_count > 64 || node->output_count > 64)
        return node_fail(session->context, node, ILLUME_ERROR_UNSUPPORTED, "too many inputs for a backward pass");
    for (int o = 0; o < node->output_count; o++)
        output_gradients[o] = node->outputs[o] >= 0 ? session->gradients[node->outputs[o]] : NULL;
    int64_t scratch = session->plan.steps[step].scratch_offset;
    op_backward_call call = {forward, output_gradients, input_gradients, relu_rule,
                             &session->backward_states[n * OP_BACKWARD_STATES],
                             scratch >= 0 ? (char *)session->arena + scratch : NULL};
    int added = -1;
    for (int i = 0; i < node->input_count; i++) {
        gradient_mode mode = mode_of(session, n, node, i);
        if (mode == MODE_WRITE) input_gradients[i] = session->gradients[node->inputs[i]];
        if (mode == MODE_ADD && added < 0) {
            input_gradients[i] = session->accumulator;
            added = i;
        }
    }
    ILLUME_TRY(run_node_backward(session, n, &call, use_rule));
    if (added < 0) return ILLUME_OK;
    ILLUME_TRY(add_into(session, &g->values[node->inputs[added]], session->gradients[node->inputs[added]],
                        session->accumulator));
    for (int i = added + 1; i < node->input_count; i++) {
        if (mode_of(session, n, node, i) != MODE_ADD) continue;
        memset(input_gradients, 0, sizeof input_gradients);
        input_gradients[i] = session->accumulator;
        ILLUME_TRY(run_node_backward(session, n, &call, use_rule));
        ILLUME_TRY(add_into(session, &g->values[node->inputs[i]], session->gradients[node->inputs[i]],
                            session->accumulator));
    }
    return ILLUME_OK;
}

/* The copy between a value's logical (N, C, H, W) order and how it is
 * stored, for values the layout pass keeps channels last. */
static copy_desc storage_copy(const graph_value *value, int to_storage) {
    copy_desc desc = {.rank = value->rank};
    int64_t logical[ILLUME_MAX_RANK], logical_strides[ILLUME_MAX_RANK], stored_strides[ILLUME_MAX_RANK];
    value_logical_dims(value, logical);
    contiguous_strides(value->rank, logical, logical_strides);
    contiguous_strides(value->rank, value->dims, stored_strides);
    for (int d = 0; d < value->rank; d++) desc.dims[d] = logical[d];
    int64_t stored_of_logical[ILLUME_MAX_RANK];
    for (int d = 0; d < value->rank; d++) stored_of_logical[d] = stored_strides[d];
    if (value->channels_last && value->rank == 4) {
        /* Logical axis 1 (C) is stored last; 2 and 3 (H, W) at 1 and 2. */
        stored_of_logical[1] = stored_strides[3];
        stored_of_logical[2] = stored_strides[1];
        stored_of_logical[3] = stored_strides[2];
    }
    for (int d = 0; d < value->rank; d++) {
        desc.src_strides[d] = to_storage ? logical_strides[d] : stored_of_logical[d];
        desc.dst_strides[d] = to_storage ? stored_of_logical[d] : logical_strides[d];
    }
    return desc;
}

static illume_status copy_value(illume_session *session, const graph_value *value, float *device, void *host,
                                int upload) {
    backend *device_backend = session->backend;
    size_t bytes;
    value_byte_size(value, &bytes);
    if (!bytes) return ILLUME_OK;
    if (!value->channels_last) {
        if (upload) return device_backend->upload(device_backend, device, host, bytes);
        return device_backend->download(device_backend, host, device, bytes);
    }
    float *staging = malloc(bytes);
    if (!staging) return illume_fail(session->context, ILLUME_ERROR_OUT_OF_MEMORY, "out of memory");
    illume_status status;
    copy_desc desc = storage_copy(value, upload);
    if (upload) {
        host_copy(&desc, host, staging, sizeof(float));
        status = device_backend->upload(device_backend, device, staging, bytes);
        if (status == ILLUME_OK) status = device_backend->synchronize(device_backend);
    } else {
        status = device_backend->download(device_backend, staging, device, bytes);
        if (status == ILLUME_OK) status = device_backend->synchronize(device_backend);
        if (status == ILLUME_OK) host_copy(&desc, staging, host, sizeof(float));
    }
    free(staging);
    return status;
}

/* A value between host and device, timed as a transfer when profiling. */
static illume_status transfer(illume_session *session, const graph_value *value, float *device, void *host,
                              int upload) {
    double start = session_now();
    ILLUME_TRY(copy_value(session, value, device, host, upload));
    return session_profile_transfer(session, start);
}

static illume_status check_shape(illume_context *context, const graph_value *value, const illume_tensor *tensor,
                                 const char *what) {
    int64_t logical[ILLUME_MAX_RANK];
    value_logical_dims(value, logical);
    int same = tensor->rank == value->rank && tensor->dtype == value->dtype && tensor->data;
    for (int d = 0; same && d < value->rank; d++) same = tensor->dims[d] == logical[d];
    if (same) return ILLUME_OK;
    char expected[256], given[256];
    return illume_fail(context, ILLUME_ERROR_INVALID_INPUT, "%s '%s': expects shape %s, got %s", what, value->name,
                       shape_format(value->rank, logical, expected, sizeof expected),
                       shape_format(tensor->rank, tensor->dims, given, sizeof given));
}

illume_status illume_session_backward(illume_session *session, illume_rule rule, const illume_tensor *seed) {
    if (!session) return ILLUME_ERROR_INVALID_INPUT;
    ILLUME_TRY(session_queue_backward(session, rule, seed));
    illume_status status = session->backend->synchronize(session->backend);
    if (status != ILLUME_OK) session->backward_ran = 0; /* its gradients may be unfinished */
    return status;
}

/* The backward pass under a Relu rule, or the session's installed rule. */
static illume_status queue_backward(illume_session *session, gradient_rule relu_rule, int use_rule,
                                    const illume_tensor *seed) {
    illume_context *context = session->context;
    if (!session->has_backward)
        return illume_fail(context, ILLUME_ERROR_INVALID_INPUT, "the session was made without a backward pass");
    if (!session->ran)
        return illume_fail(context, ILLUME_ERROR_INVALID_INPUT, "run the session before its backward pass");
    const graph_value *from = &session->graph->values[session->from];
    ILLUME_TRY(check_shape(context, from, seed, "seed for"));
    if (session->forward_spent)
        return illume_fail(context, ILLUME_ERROR_INVALID_INPUT,
                           "run the session again before another backward pass: a backward pass reuses the memory "
                           "of the forward values it reads");
    session->forward_spent = 1;
    ILLUME_TRY(transfer(session, from, session->gradients[session->from], seed->data, 1));
    session->backward_ran = 0;
    for (int step = session->plan.step_count - 1; step >= 0; step--) {
        const graph_node *node = session->calls[step].node;
        if (!session->plan.steps[step].backward || op_get(node->op)->is_view) continue;
        if (!session->op_seconds) {
            ILLUME_TRY(backward_node(session, step, relu_rule, use_rule));
            continue;
        }
        double start = session_now();
        ILLUME_TRY(backward_node(session, step, relu_rule, use_rule));
        ILLUME_TRY(session->backend->synchronize(session->backend));
        session->op_seconds[op_count() + node->op] += session_now() - start;
        session->op_calls[op_count() + node->op]++;
    }
    session->backward_ran = 1;
    return ILLUME_OK;
}

illume_status session_queue_backward(illume_session *session, illume_rule rule, const illume_tensor *seed) {
    if (rule != ILLUME_RULE_GRADIENT && rule != ILLUME_RULE_GUIDED && rule != ILLUME_RULE_DECONV)
        return illume_fail(session->context, ILLUME_ERROR_INVALID_INPUT, "unknown backward rule %d", (int)rule);
    if (session->rule)
        return illume_fail(session->context, ILLUME_ERROR_INVALID_INPUT,
                           "the session was made for a backward rule of its own (an explanation method's)");
    return queue_backward(session, (gradient_rule)rule, 0, seed);
}

illume_status session_queue_rule_backward(illume_session *session, const illume_tensor *seed) {
    if (!session->rule || !session->rule_state)
        return illume_fail(session->context, ILLUME_ERROR_INTERNAL, "the session's backward rule has no state set");
    return queue_backward(session, RULE_GRADIENT, 1, seed);
}

/* Values a caller may read: their bytes are not reused before the run ends. */
static int readable(const illume_session *session, int v, int gradient) {
    const graph *g = session->graph;
    if (gradient) {
        if (!session->has_backward || !session->gradients[v]) return 0;
        for (int k = 0; k < session->to_count; k++)
            if (session->to[k] == v) return 1;
        return g->values[v].pinned;
    }
    return g->values[v].is_graph_input || g->values[v].is_graph_output || g->values[v].pinned ||
           g->values[v].constant;
}

illume_status illume_session_value(const illume_session *session, const char *name, illume_value_info *info) {
    if (!session || !name) return ILLUME_ERROR_INVALID_INPUT;
    int v = session_find_value(session, name);
    if (v < 0)
        return illume_fail(session->context, ILLUME_ERROR_INVALID_INPUT, "the session has no value named '%s'", name);
    const graph_value *value = &session->graph->values[v];
    memset(info, 0, sizeof *info);
    info->name = value->name;
    info->dtype = value->dtype;
    info->rank = value->rank;
    value_logical_dims(value, info->dims);
    for (int d = value->rank; d < ILLUME_MAX_RANK; d++) info->dims[d] = -1;
    return ILLUME_OK;
}

illume_status illume_session_read(illume_session *session, const char *name, int gradient, illume_tensor *out) {
    if (!session || !name || !out) return ILLUME_ERROR_INVALID_INPUT;
    illume_context *context = session->context;
    int v = session_find_value(session, name);
    if (v < 0) return illume_fail(context, ILLUME_ERROR_INVALID_INPUT, "the session has no value named '%s'", name);
    const graph_value *value = &session->graph->values[v];
    if (gradient && session->has_backward && !session->gradients[v])
        return illume_fail(context, ILLUME_ERROR_INVALID_INPUT,
                           "no gradient flows to '%s': it lies on no path from backward_to to backward_from", name);
    if (!readable(session, v, gradient))
        return illume_fail(context, ILLUME_ERROR_INVALID_INPUT,
                           "the %s of '%s' is not kept: name it in the session's keep list", gradient ? "gradient" : "data",
                           name);
    if (gradient ? !session->backward_ran : (!session->ran && !value->constant))
        return illume_fail(context, ILLUME_ERROR_INVALID_INPUT, "'%s' has no %s yet: run the session%s first", name,
                           gradient ? "gradient" : "data", gradient ? " and its backward pass" : "");
    ILLUME_TRY(check_shape(context, value, out, "reading"));
    if (!gradient && value->constant) {
        size_t bytes;
        value_byte_size(value, &bytes);
        memcpy(out->data, value->constant, bytes);
        return ILLUME_OK;
    }
    ILLUME_TRY(transfer(session, value, gradient ? session->gradients[v] : session->pointers[v], out->data, 0));
    return session->backend->synchronize(session->backend);
}
