/* A session: a model bound to concrete input shapes, simplified, planned and
 * placed on one backend. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "session.h"

#include "api_version.h"
#include "model.h"
#include "ops/op_support.h"
#include "passes.h"
#include "rebind_batch.h"
#include "split_batch.h"

static illume_status prepare_calls(illume_session *session);

void illume_session_options_init(illume_session_options *options, size_t size) {
    illume_session_options defaults = {.size = size, .device = "auto", .fold_batchnorm = 1, .fuse_activations = 1,
                                       .channels_last = 1, .split_batch = 1, .winograd = 1};
    /* A program built against an older illume.h has a smaller struct: only
     * its fields are written. A larger one keeps its extra fields as they
     * are: its size has the library refuse it. */
    memcpy(options, &defaults, size < sizeof defaults ? size : sizeof defaults);
}

/* Refuses graphs that would need integer data at run time. */
static illume_status check_runtime_types(illume_context *context, const graph *g) {
    for (int n = 0; n < g->node_count; n++) {
        const graph_node *node = &g->nodes[n];
        for (int i = 0; i < node->input_count; i++) {
            const graph_value *input = graph_input(g, node, i);
            if (input && !input->constant && input->dtype != ILLUME_FLOAT32)
                return node_fail(context, node, ILLUME_ERROR_UNSUPPORTED,
                                 "input '%s' is integer data that depends on the model's input; illume computes "
                                 "integers only when they are known when the session is made",
                                 input->name);
        }
    }
    return ILLUME_OK;
}

static int find_value(const graph *g, const char *name) {
    for (int v = 0; v < g->value_count; v++)
        if (strcmp(g->values[v].name, name) == 0) return v;
    return -1;
}

int session_find_value(const illume_session *session, const char *name) {
    return name ? find_value(session->graph, name) : -1;
}

illume_status session_place_of(const illume_session *session, const char *name, session_place *place) {
    const graph *g = session->graph;
    int v = name ? find_value(g, name) : (g->input_count > 0 ? g->inputs[0] : -1);
    if (v < 0)
        return illume_fail(session->context, ILLUME_ERROR_INVALID_INPUT, "the model has no value named '%s'",
                           name ? name : "(input 0)");
    *place = (session_place){.data = session->pointers[v], .gradient = session->gradients ? session->gradients[v] : NULL,
                             .channels_last = g->values[v].channels_last};
    return ILLUME_OK;
}

backend *session_backend(const illume_session *session) { return session->backend; }

void session_set_rule_state(illume_session *session, void *state) {
    if (session->rule && session->rule->free_state && session->rule_state)
        session->rule->free_state(session->rule_state, session);
    session->rule_state = state;
}

/* Marks the values a backward pass starts from, goes to or keeps, so that no
 * pass fuses them away. */
static illume_status pin_values(illume_context *context, graph *g, const illume_session_options *options) {
    const char *names[3] = {options->backward_from, options->backward_to, NULL};
    for (int k = 0; k < 2 + options->keep_count; k++) {
        const char *name = k < 2 ? names[k] : options->keep[k - 2];
        if (!name) continue;
        int v = find_value(g, name);
        if (v < 0) return illume_fail(context, ILLUME_ERROR_INVALID_INPUT, "the model has no value named '%s'", name);
        g->values[v].pinned = 1;
    }
    return ILLUME_OK;
}

static illume_status prepare_graph(illume_context *context, const illume_model *model,
                                   const illume_session_options *options, const backward_rule *rule, int input_count,
                                   const illume_tensor *input_shapes, graph **result) {
    *result = NULL;
    if (model->problems.count > 0)
        return illume_fail(context, ILLUME_ERROR_UNSUPPORTED, "%s", model->problems.items[0].message);
    graph *g = graph_clone(model->graph);
    if (!g) return illume_fail(context, ILLUME_ERROR_OUT_OF_MEMORY, "out of memory copying the graph");
    illume_status status = pin_values(context, g, options);
    if (status == ILLUME_OK) status = pass_rebind_batch(context, g, input_count, input_shapes);
    if (status == ILLUME_OK) status = pass_bind_inputs(context, g, input_count, input_shapes);
    if (status == ILLUME_OK) status = pass_infer_and_fold(context, g);
    if (status == ILLUME_OK) status = pass_simplify(context, g);
    if (status == ILLUME_OK) status = pass_fold_pad(context, g);
    if (status == ILLUME_OK && options->fold_batchnorm) status = pass_fold_affine(context, g);
    /* A backward rule gives each node its own backward: nothing may run inside another node. */
    int fuse = options->fuse_activations && !rule;
    if (status == ILLUME_OK && fuse) status = pass_fuse_add(context, g);
    if (status == ILLUME_OK && fuse)
        status = pass_fuse_activation(context, g, options->backward);
    if (status == ILLUME_OK) status = check_runtime_types(context, g);
    if (status != ILLUME_OK) {
        graph_free(g);
        return status;
    }
    *result = g;
    return ILLUME_OK;
}

illume_status session_infer_shapes(illume_context *context, const illume_model *model, int input_count,
                                   const illume_tensor *input_shapes, graph **result) {
    illume_session_options options;
    illume_session_options_default(&options);
    options.fold_batchnorm = 0;
    options.fuse_activations = 0;
    return prepare_graph(context, model, &options, NULL, input_count, input_shapes, result);
}

int illume_model_value_count(const illume_model *model) {
    int count = 0;
    for (int n = 0; model && n < model->graph->node_count; n++) count += model->graph->nodes[n].output_count;
    return count;
}

illume_status illume_model_values(illume_context *context, const illume_model *model, int input_count,
                                  const illume_tensor *input_shapes, illume_value_info *values) {
    graph *g;
    ILLUME_TRY(session_infer_shapes(context, model, input_count, input_shapes, &g));
    const graph *original = model->graph;
    int k = 0;
    for (int n = 0; n < original->node_count; n++) {
        const graph_node *node = &original->nodes[n];
        for (int o = 0; o < node->output_count; o++, k++) {
            illume_value_info *info = &values[k];
            memset(info, 0, sizeof *info);
            info->rank = -1;
            for (int d = 0; d < ILLUME_MAX_RANK; d++) info->dims[d] = -1;
            if (node->outputs[o] < 0) continue;
            info->name = original->values[node->outputs[o]].name;
            int v = find_value(g, info->name);
            if (v < 0) continue;
            info->dtype = g->values[v].dtype;
            info->rank = g->values[v].rank;
            for (int d = 0; d < info->rank; d++) info->dims[d] = g->values[v].dims[d];
        }
    }
    graph_free(g);
    return ILLUME_OK;
}

illume_status illume_model_flops(illume_context *context, const illume_model *model, int input_count,
                                 const illume_tensor *input_shapes, int64_t *flops) {
    graph *g;
    ILLUME_TRY(session_infer_shapes(context, model, input_count, input_shapes, &g));
    int64_t total = 0;
    for (int n = 0; n < g->node_count; n++) {
        const op_definition *definition = op_get(g->nodes[n].op);
        int64_t node_flops = definition->flops ? definition->flops(g, &g->nodes[n]) : 0;
        total = node_flops > INT64_MAX - total ? INT64_MAX : total + node_flops;
    }
    graph_free(g);
    if (total == INT64_MAX)
        return illume_fail(context, ILLUME_ERROR_INVALID_INPUT, "the FLOP count for these input shapes overflows int64");
    *flops = total;
    return ILLUME_OK;
}

static illume_status place_values(illume_session *session) {
    graph *g = session->graph;
    backend *device = session->backend;
    session->pointers = calloc((size_t)g->value_count + 1, sizeof(float *));
    session->uploaded = calloc((size_t)g->value_count + 1, sizeof(void *));
    session->states = calloc((size_t)g->node_count + 1, sizeof(void *));
    if (!session->pointers || !session->uploaded || !session->states)
        return illume_fail(session->context, ILLUME_ERROR_OUT_OF_MEMORY, "out of memory");
    if (session->plan.arena_bytes) {
        session->arena = device->allocate(device, session->plan.arena_bytes);
        if (!session->arena)
            return illume_fail(session->context, ILLUME_ERROR_OUT_OF_MEMORY, "cannot allocate the %zu-byte arena on %s",
                               session->plan.arena_bytes, device->name);
    }
    if (session->has_backward) {
        session->gradients = calloc((size_t)g->value_count + 1, sizeof(float *));
        if (!session->gradients) return illume_fail(session->context, ILLUME_ERROR_OUT_OF_MEMORY, "out of memory");
        for (int v = 0; v < g->value_count; v++)
            if (session->plan.gradient_offsets[v] >= 0)
                session->gradients[v] = (float *)((char *)session->arena + session->plan.gradient_offsets[v]);
        if (session->plan.accumulate_offset >= 0)
            session->accumulator = (float *)((char *)session->arena + session->plan.accumulate_offset);
    }
    for (int v = 0; v < g->value_count; v++) {
        graph_value *value = &g->values[v];
        if (session->plan.value_offsets[v] >= 0) {
            session->pointers[v] = (float *)((char *)session->arena + session->plan.value_offsets[v]);
            continue;
        }
        if (!value->constant) continue;
        size_t bytes;
        value_byte_size(value, &bytes);
        session->constant_bytes += bytes;
        if (device->shares_host_memory) {
            session->pointers[v] = value->constant;
            continue;
        }
        session->uploaded[v] = device->allocate(device, bytes ? bytes : 1);
        if (!session->uploaded[v])
            return illume_fail(session->context, ILLUME_ERROR_OUT_OF_MEMORY, "cannot allocate constant '%s' on %s",
                               value->name, device->name);
        ILLUME_TRY(device->upload(device, session->uploaded[v], value->constant, bytes));
        session->pointers[v] = session->uploaded[v];
    }
    return ILLUME_OK;
}

/* Plans the forward and a backward from backward_from (default: the first
 * output) to backward_to (default: every float graph input). */
static illume_status plan_with_backward(illume_session *session, const illume_session_options *options) {
    graph *g = session->graph;
    illume_context *context = session->context;
    session->has_backward = 1;
    session->from = options->backward_from ? find_value(g, options->backward_from) : g->outputs[0];
    session->to = malloc(sizeof(int) * (size_t)(g->input_count + 1));
    int *keep = malloc(sizeof(int) * (size_t)(options->keep_count + 1));
    if (!session->to || !keep) {
        free(keep);
        return illume_fail(context, ILLUME_ERROR_OUT_OF_MEMORY, "out of memory");
    }
    if (options->backward_to) {
        session->to[session->to_count++] = find_value(g, options->backward_to);
    } else {
        for (int i = 0; i < g->input_count; i++)
            if (g->values[g->inputs[i]].dtype == ILLUME_FLOAT32) session->to[session->to_count++] = g->inputs[i];
    }
    for (int k = 0; k < options->keep_count; k++) keep[k] = find_value(g, options->keep[k]);
    plan_backward request = {session->from, session->to, session->to_count, keep, options->keep_count,
                             session->rule};
    illume_status status = plan_build(context, g, &request, 0, &session->plan);
    free(keep);
    return status;
}

illume_status illume_session_create(illume_context *context, const illume_model *model,
                                    const illume_session_options *options, int input_count,
                                    const illume_tensor *input_shapes, illume_session **result) {
    *result = NULL;
    illume_session_options accepted;
    illume_session_options_default(&accepted);
    if (options) ILLUME_TRY(options_accept(context, "illume_session_options", options, &accepted, sizeof accepted));
    return session_create_with_rule(context, model, &accepted, NULL, input_count, input_shapes, result);
}

illume_status session_create_with_rule(illume_context *context, const illume_model *model,
                                       const illume_session_options *options, const backward_rule *rule,
                                       int input_count, const illume_tensor *input_shapes, illume_session **result) {
    *result = NULL;
    if (!model) return illume_fail(context, ILLUME_ERROR_INVALID_INPUT, "no model given");
    illume_session *session = calloc(1, sizeof *session);
    if (!session) return illume_fail(context, ILLUME_ERROR_OUT_OF_MEMORY, "out of memory");
    session->context = context;
    session->rule = rule;
    illume_status status = ILLUME_OK;
    if (rule && !options->backward)
        status = illume_fail(context, ILLUME_ERROR_INTERNAL, "a backward rule needs a session with a backward pass");
    backend_options speed = {.fast = options->fast, .autotune = options->autotune,
                             .winograd = options->winograd && !options->backward};
    if (status == ILLUME_OK) {
        session->backend = backend_create_with_options(context, options->device ? options->device : "auto", speed);
        if (!session->backend) status = ILLUME_ERROR_INVALID_INPUT;
    }
    if (status == ILLUME_OK)
        status = prepare_graph(context, model, options, rule, input_count, input_shapes, &session->graph);
    if (status == ILLUME_OK && options->channels_last && session->backend->prefers_channels_last)
        status = pass_channels_last(context, session->graph);
    if (status == ILLUME_OK && options->backward) {
        status = plan_with_backward(session, options);
    } else if (status == ILLUME_OK) {
        int split = options->split_batch && session->backend->splits_batches && options->keep_count == 0;
        status = plan_build(context, session->graph, NULL, split ? split_batch_choose(session->graph) : 0,
                            &session->plan);
    }
    if (status == ILLUME_OK && options->profile) {
        session->op_seconds = calloc((size_t)session_profile_keys(), sizeof(double));
        session->op_calls = calloc((size_t)session_profile_keys(), sizeof(int64_t));
        if (!session->op_seconds || !session->op_calls)
            status = illume_fail(context, ILLUME_ERROR_OUT_OF_MEMORY, "out of memory");
    }
    if (status == ILLUME_OK) status = place_values(session);
    if (status == ILLUME_OK) status = prepare_calls(session);
    /* After the profile, which the part that runs image by image adds to. */
    if (status == ILLUME_OK && session->plan.first_step) status = split_batch_create(session);
    if (status == ILLUME_OK && session->has_backward) status = session_prepare_backward(session);
    if (status != ILLUME_OK) {
        illume_session_free(session);
        return status;
    }
    *result = session;
    return ILLUME_OK;
}

illume_status session_create_part(illume_session *parent, graph *g, illume_session **result) {
    *result = NULL;
    illume_session *session = calloc(1, sizeof *session);
    if (!session) {
        graph_free(g);
        return illume_fail(parent->context, ILLUME_ERROR_OUT_OF_MEMORY, "out of memory");
    }
    session->context = parent->context;
    session->backend = parent->backend;
    session->parent = parent;
    session->graph = g;
    session->op_seconds = parent->op_seconds;
    session->op_calls = parent->op_calls;
    illume_status status = plan_build(session->context, g, NULL, 0, &session->plan);
    if (status == ILLUME_OK) status = place_values(session);
    if (status == ILLUME_OK) status = prepare_calls(session);
    if (status != ILLUME_OK) {
        illume_session_free(session);
        return status;
    }
    *result = session;
    return ILLUME_OK;
}

void illume_session_free(illume_session *session) {
    if (!session) return;
    split_batch_free(session);
    backend *device = session->backend;
    if (device) {
        if (session->rule && session->rule->free_state && session->rule_state)
            session->rule->free_state(session->rule_state, session);
        session_free_backward(session);
        for (int n = 0; session->states && n < session->graph->node_count; n++)
            if (session->states[n]) device->release_state(device, session->states[n]);
        for (int v = 0; session->uploaded && v < session->graph->value_count; v++)
            if (session->uploaded[v]) device->release(device, session->uploaded[v]);
        if (session->arena) device->release(device, session->arena);
        if (!session->parent) device->destroy(device);
    }
    free(session->pointers);
    free(session->uploaded);
    free(session->states);
    free(session->calls);
    free(session->call_pointers);
    if (!session->parent) {
        free(session->op_seconds);
        free(session->op_calls);
    }
    free(session->to);
    free(session->gradients);
    plan_free(&session->plan);
    graph_free(session->graph);
    free(session);
}

int illume_session_output_count(const illume_session *session) { return session ? session->graph->output_count : 0; }

illume_status illume_session_output(const illume_session *session, int index, illume_value_info *info) {
    if (!session || index < 0 || index >= session->graph->output_count) return ILLUME_ERROR_INVALID_INPUT;
    const graph_value *value = &session->graph->values[session->graph->outputs[index]];
    memset(info, 0, sizeof *info);
    info->name = session->graph->output_names[index];
    info->dtype = value->dtype;
    info->rank = value->rank;
    for (int d = 0; d < ILLUME_MAX_RANK; d++) info->dims[d] = d < value->rank ? value->dims[d] : -1;
    return ILLUME_OK;
}

static illume_status check_tensor(illume_context *context, const graph_value *value, const illume_tensor *tensor,
                                  const char *role, const char *name) {
    int same = tensor->rank == value->rank && tensor->dtype == value->dtype;
    for (int d = 0; same && d < value->rank; d++) same = tensor->dims[d] == value->dims[d];
    if (!same) {
        char expected[256], given[256];
        return illume_fail(context, ILLUME_ERROR_INVALID_INPUT, "%s '%s': the session expects shape %s, got %s", role,
                           name, shape_format(value->rank, value->dims, expected, sizeof expected),
                           shape_format(tensor->rank, tensor->dims, given, sizeof given));
    }
    if (!tensor->data && illume_tensor_bytes(tensor))
        return illume_fail(context, ILLUME_ERROR_INVALID_INPUT, "%s '%s' has no data", role, name);
    return ILLUME_OK;
}

double session_now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* A node whose outputs hold no elements has nothing to compute, and its
 * kernels would still multiply the other dimensions, which may overflow. */
static int outputs_empty(const graph *g, const graph_node *node) {
    for (int o = 0; o < node->output_count; o++) {
        const graph_value *value = graph_output(g, node, o);
        int64_t count;
        if (value && (shape_element_count(value->rank, value->dims, &count) || count > 0)) return 0;
    }
    return 1;
}

illume_status session_run_steps(illume_session *session) {
    for (int s = session->plan.first_step; s < session->plan.step_count; s++) {
        const op_call *call = &session->calls[s];
        const op_definition *definition = op_get(call->node->op);
        if (!definition->forward || outputs_empty(session->graph, call->node)) continue;
        if (!session->op_seconds) {
            ILLUME_TRY(definition->forward(call));
            continue;
        }
        double start = session_now();
        ILLUME_TRY(definition->forward(call));
        ILLUME_TRY(session->backend->synchronize(session->backend));
        session->op_seconds[call->node->op] += session_now() - start;
        session->op_calls[call->node->op]++;
    }
    return ILLUME_OK;
}

int session_profile_keys(void) { return 2 * op_count() + 1; }

illume_status session_profile_transfer(illume_session *session, double start) {
    if (!session->op_seconds) return ILLUME_OK;
    ILLUME_TRY(session->backend->synchronize(session->backend));
    ILLUME_TRY(session->backend->finish_transfers(session->backend));
    int key = 2 * op_count();
    session->op_seconds[key] += session_now() - start;
    session->op_calls[key]++;
    return ILLUME_OK;
}

void session_profile_add(const illume_session *session, double *seconds, int64_t *calls) {
    for (int key = 0; session && session->op_seconds && key < session_profile_keys(); key++) {
        seconds[key] += session->op_seconds[key];
        calls[key] += session->op_calls[key];
    }
}

int session_profile_entry(const double *seconds, const int64_t *calls, int index, illume_profile_entry *entry) {
    int count = 0;
    for (int key = 0; seconds && key < session_profile_keys(); key++) {
        if (!calls[key]) continue;
        if (count++ != index) continue;
        entry->op_type = key == 2 * op_count() ? ILLUME_PROFILE_TRANSFERS : op_get(key % op_count())->name;
        entry->backward = key >= op_count() && key < 2 * op_count();
        entry->seconds = seconds[key];
        entry->calls = calls[key];
    }
    return count;
}

int illume_session_profile(const illume_session *session, int index, illume_profile_entry *entry) {
    return session ? session_profile_entry(session->op_seconds, session->op_calls, index, entry) : 0;
}

/* Input slots of a node's call: every input its op may take, so that an
 * optional input the model leaves out reads as NULL rather than past the end.
 * Variadic ops (Concat) read only the inputs they have. */
static int input_slots(const graph_node *node) {
    int max_inputs = op_get(node->op)->max_inputs;
    if (max_inputs > 8) max_inputs = 0;
    return node->input_count > max_inputs ? node->input_count : max_inputs;
}

/* The arguments of every step, fixed once the arena is placed. */
static illume_status prepare_calls(illume_session *session) {
    graph *g = session->graph;
    size_t pointer_count = 0;
    for (int n = 0; n < g->node_count; n++)
        pointer_count += (size_t)(input_slots(&g->nodes[n]) + g->nodes[n].output_count);
    session->calls = calloc((size_t)session->plan.step_count + 1, sizeof(op_call));
    session->call_pointers = calloc(pointer_count + 1, sizeof(float *));
    if (!session->calls || !session->call_pointers)
        return illume_fail(session->context, ILLUME_ERROR_OUT_OF_MEMORY, "out of memory");
    float **next = session->call_pointers;
    for (int s = 0; s < session->plan.step_count; s++) {
        int n = session->plan.steps[s].node;
        const graph_node *node = &g->nodes[n];
        float **inputs = next, **outputs = next + input_slots(node);
        next += input_slots(node) + node->output_count;
        for (int i = 0; i < node->input_count; i++)
            inputs[i] = node->inputs[i] >= 0 ? session->pointers[node->inputs[i]] : NULL;
        for (int o = 0; o < node->output_count; o++)
            outputs[o] = node->outputs[o] >= 0 ? session->pointers[node->outputs[o]] : NULL;
        int64_t saved = session->plan.steps[s].saved_offset;
        session->calls[s] = (op_call){session->context, session->backend, g, node, (const float *const *)inputs,
                                      outputs, &session->states[n],
                                      saved >= 0 ? (char *)session->arena + saved : NULL};
    }
    return ILLUME_OK;
}

illume_status illume_session_run(illume_session *session, int input_count, const illume_tensor *inputs,
                                 int output_count, illume_tensor *outputs) {
    if (!session) return ILLUME_ERROR_INVALID_INPUT;
    illume_context *context = session->context;
    graph *g = session->graph;
    backend *device = session->backend;
    if (input_count != g->input_count || output_count != g->output_count)
        return illume_fail(context, ILLUME_ERROR_INVALID_INPUT, "the model has %d inputs and %d outputs; got %d and %d",
                           g->input_count, g->output_count, input_count, output_count);
    double start = session_now();
    for (int i = 0; i < input_count; i++) {
        const graph_value *value = &g->values[g->inputs[i]];
        ILLUME_TRY(check_tensor(context, value, &inputs[i], "input", value->name));
        if (!session->pointers[g->inputs[i]]) continue; /* an input nothing reads */
        ILLUME_TRY(device->upload(device, session->pointers[g->inputs[i]], inputs[i].data,
                                  illume_tensor_bytes(&inputs[i])));
    }
    ILLUME_TRY(session_profile_transfer(session, start));
    for (int o = 0; o < output_count; o++)
        ILLUME_TRY(check_tensor(context, &g->values[g->outputs[o]], &outputs[o], "output", g->output_names[o]));
    return session_forward(session, outputs);
}

illume_status session_forward(illume_session *session, illume_tensor *outputs) {
    ILLUME_TRY(session_queue_forward(session));
    return session_outputs(session, outputs);
}

illume_status session_queue_forward(illume_session *session) {
    session->ran = 0;
    session->backward_ran = 0;
    session->forward_spent = 0;
    if (session->split) ILLUME_TRY(split_batch_run(session));
    ILLUME_TRY(session_run_steps(session));
    session->ran = 1;
    return ILLUME_OK;
}

illume_status session_outputs(illume_session *session, illume_tensor *outputs) {
    graph *g = session->graph;
    backend *device = session->backend;
    int output_count = g->output_count;
    double start = session_now();
    for (int o = 0; o < output_count; o++) {
        const graph_value *value = &g->values[g->outputs[o]];
        size_t bytes = illume_tensor_bytes(&outputs[o]);
        if (!bytes) continue;
        if (value->constant && !session->uploaded[g->outputs[o]])
            memcpy(outputs[o].data, value->constant, bytes);
        else
            ILLUME_TRY(device->download(device, outputs[o].data, session->pointers[g->outputs[o]], bytes));
    }
    ILLUME_TRY(session_profile_transfer(session, start));
    return device->synchronize(device);
}

void illume_session_get_stats(const illume_session *session, illume_session_stats *stats) {
    memset(stats, 0, sizeof *stats);
    if (!session) return;
    stats->arena_bytes = session->plan.arena_bytes;
    stats->activation_bytes = session->plan.activation_bytes;
    stats->constant_bytes = session->constant_bytes;
    stats->node_count = session->graph->node_count;
    stats->image_node_count = session->plan.first_step;
    stats->winograd_count = session->backend->winograd_convolutions;
    if (session->split) {
        illume_session_stats images;
        illume_session_get_stats(split_batch_images(session), &images);
        stats->arena_bytes += images.arena_bytes;
        stats->activation_bytes += images.activation_bytes;
    }
}
