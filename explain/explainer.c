#include "explainer.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api_version.h"
#include "model.h"
#include "channel_axis.h"
#include "methods.h"
#include "op.h"
#include "passes.h"
#include "session.h"

/* A pass runs at most this many rows at once: beyond it batches gain little
 * speed and cost memory. */
#define EXPLAIN_BATCH_LIMIT 32

void illume_explain_options_init(illume_explain_options *options, size_t size) {
    illume_explain_options defaults = {.size = size,
                                       .method = ILLUME_SALIENCY,
                                       .steps = 50,
                                       .quadrature = ILLUME_GAUSS_LEGENDRE,
                                       .baseline = ILLUME_BASELINE_ZEROS,
                                       .blur_sigma = 10.0f,
                                       .samples = 50,
                                       .noise = 0.15f,
                                       .base = ILLUME_SALIENCY,
                                       .window = {15, 15},
                                       .stride = {8, 8},
                                       .device = "auto",
                                       .composite = "epsilon-plus-flat",
                                       .epsilon = 1e-6f,
                                       .gamma = 0.25f,
                                       .stabilizer = 1e-6f,
                                       .low = NAN,
                                       .high = NAN,
                                       .score = ILLUME_SCORE_LOGIT};
    /* As illume_session_options_init: only the fields of the caller's struct. */
    memcpy(options, &defaults, size < sizeof defaults ? size : sizeof defaults);
}

static int uses_layer(illume_method method) { return method_definition_of(method)->uses_layer; }

/* Whether node averages a 4-D value over its whole image, channel by
 * channel: a global average pool however the exporter writes it
 * (GlobalAveragePool; ReduceMean or ReduceSum over the spatial axes, as JAX
 * and TensorFlow write it; an AveragePool whose window is the image). Its
 * output holds the batch and the channels alone: (N, C), or the input's
 * rank with C on the channel axis and every other axis but the batch of 1. */
static int global_average(const graph *g, const graph_node *node, const int *channel_axes) {
    if (!op_node_has(node, OP_AVERAGING)) return 0;
    const graph_value *x = graph_input(g, node, 0), *y = graph_output(g, node, 0);
    if (!x || !y || x->rank != 4) return 0;
    int axis = channel_axes[node->inputs[0]];
    if (axis != 1 && axis != 3) return 0;
    if (y->rank == 2) return y->dims[1] == x->dims[axis];
    if (y->rank != 4) return 0;
    for (int d = 1; d < 4; d++)
        if (y->dims[d] != (d == axis ? x->dims[axis] : 1)) return 0;
    return 1;
}

/* Grad-CAM's default layer: the 4-D input of the last global average pool,
 * else the 4-D input of the first view that drops its image axes (a
 * Flatten, Reshape or Squeeze: the end of the features), which a
 * channels-last model (TensorFlow's, JAX's) holds as (N, H, W, C). g has
 * its shapes inferred: a model need not declare them. */
static const char *default_layer(const graph *g, const int *channel_axes) {
    const char *found = NULL;
    for (int n = 0; n < g->node_count; n++) {
        const graph_node *node = &g->nodes[n];
        if (global_average(g, node, channel_axes)) found = g->values[node->inputs[0]].name;
    }
    if (found) return found;
    for (int n = 0; n < g->node_count; n++) {
        const graph_node *node = &g->nodes[n];
        const op_definition *definition = op_get(node->op);
        const graph_value *x = graph_input(g, node, 0), *y = graph_output(g, node, 0);
        if (definition && definition->is_view && x && y && x->rank == 4 && y->rank < 4) return x->name;
    }
    return NULL;
}

/* A quarter of the memory the system has available, or 1 GiB when it does not say. */
static size_t default_budget(void) {
    FILE *file = fopen("/proc/meminfo", "r");
    size_t available = 0;
    if (file) {
        char line[256];
        while (fgets(line, sizeof line, file)) {
            unsigned long long kib;
            if (sscanf(line, "MemAvailable: %llu kB", &kib) == 1) available = (size_t)kib * 1024;
        }
        fclose(file);
    }
    return available ? available / 4 : (size_t)1 << 30;
}

illume_status explain_make_session(illume_explainer *e, int64_t batch, illume_session **session) {
    illume_session_options options;
    illume_session_options_default(&options);
    options.device = e->options.device;
    options.fast = e->options.fast, options.autotune = e->options.autotune;
    options.backward = e->backward;
    /* Forward-only passes too (occlusion, the predicted class) keep the direct
     * sum, whose rounding the comparisons with Captum and Zennit were made with. */
    options.winograd = 0;
    options.profile = e->options.profile;
    /* What stays readable: the layer and the feature map the backward reads,
     * and the logits the scores are read from, in any session. */
    const char *keep[3];
    int kept = 0;
    if (e->backward && e->layer) keep[kept++] = e->layer;
    if (e->backward && e->feature) keep[kept++] = e->feature;
    if (e->logits) keep[kept++] = e->logits;
    options.keep = keep;
    options.keep_count = kept;
    if (e->backward) options.backward_from = e->feature ? e->feature : e->logits;
    /* Grad-CAM needs the gradient at the layer only; guided Grad-CAM also at the input. */
    const method_definition *definition = method_definition_of(e->options.method);
    if (e->backward && e->layer && (definition->layer_only || definition->taps)) options.backward_to = e->layer;

    illume_tensor shape = e->row;
    shape.dims[0] = batch;
    shape.data = NULL;
    ILLUME_TRY(session_create_with_rule(e->context, e->model, &options, definition->rule, 1, &shape, session));
    if (!definition->prepare_session) return ILLUME_OK;
    illume_status status = definition->prepare_session(e, *session);
    if (status != ILLUME_OK) {
        illume_session_free(*session);
        *session = NULL;
    }
    return status;
}

/* The rows per pass: what the budget holds, from the growth of the planned
 * arena between one and two rows, capped; for a model that runs only the
 * batch it fixes (illume_model_batch), that batch. */
static illume_status size_batch(illume_explainer *e) {
    size_t budget = e->options.max_memory ? e->options.max_memory : default_budget();
    illume_session *one = NULL, *two = NULL;
    int64_t fixed = e->fixed_rows;
    illume_status status = explain_make_session(e, fixed ? fixed : 1, &one);
    if (status == ILLUME_OK && !fixed) status = explain_make_session(e, 2, &two);
    if (status == ILLUME_OK) {
        illume_session_stats first, second = {0};
        illume_session_get_stats(one, &first);
        if (two) illume_session_get_stats(two, &second);
        else second.arena_bytes = 2 * first.arena_bytes; /* all of the one session's arena counts as per row */
        size_t per_row = second.arena_bytes > first.arena_bytes ? second.arena_bytes - first.arena_bytes : 1;
        size_t fixed_bytes = first.arena_bytes > per_row ? first.arena_bytes - per_row : 0;
        /* Two slots of host rows, outputs, gradients and layers, of staged rows and gradients; the seed. */
        per_row += sizeof(float) * (size_t)(8 * e->row_elements + e->output_elements * 3 + e->layer_elements * 4);
        int64_t batch = budget > fixed_bytes ? (int64_t)((budget - fixed_bytes) / per_row) : 0;
        /* DeepLIFT runs an input and its baseline in one pass. */
        int64_t least = method_definition_of(e->options.method)->paired_rows ? 2 : 1;
        if (least > 1 && fixed)
            status = illume_fail(e->context, ILLUME_ERROR_UNSUPPORTED,
                                 "DeepLIFT runs each input with its baseline in one batch of two rows: the model runs "
                                 "only batches of %lld (%s)",
                                 (long long)fixed, e->batch_reason);
        else if (batch < (fixed ? 1 : least))
            status = illume_fail(e->context, ILLUME_ERROR_OUT_OF_MEMORY,
                                 "%s needs %zu bytes, over the memory budget of %zu bytes",
                                 least > 1 ? "an input with its baseline" : "one row", fixed_bytes + least * per_row,
                                 budget);
        e->batch = fixed ? fixed : batch > EXPLAIN_BATCH_LIMIT ? EXPLAIN_BATCH_LIMIT : batch;
    }
    illume_session_free(one);
    illume_session_free(two);
    return status;
}

static illume_status check_options(illume_context *context, const illume_explain_options *o) {
    const method_definition *method = method_definition_of(o->method);
    if (!method) return illume_fail(context, ILLUME_ERROR_INVALID_INPUT, "unknown method %d", (int)o->method);
    if (method->check) ILLUME_TRY(method->check(context, o));
    if (o->feature && !method->features) {
        char names[256] = "";
        for (int m = 0; m < ILLUME_METHOD_COUNT; m++)
            if (method_definition_of((illume_method)m)->features)
                snprintf(names + strlen(names), sizeof names - strlen(names), "%s%s", names[0] ? ", " : "",
                         illume_method_name((illume_method)m));
        return illume_fail(context, ILLUME_ERROR_INVALID_INPUT, "a feature map is explained by %s, not %s", names,
                           method->name);
    }
    if (o->baseline == ILLUME_BASELINE_TENSOR && !o->baseline_tensor)
        return illume_fail(context, ILLUME_ERROR_INVALID_INPUT, "a baseline tensor was asked for but not given");
    /* Bounded so that the kernel's radius, 3 sigma, is an int and its taps stay countable. */
    if (o->baseline == ILLUME_BASELINE_BLUR && !(o->blur_sigma > 0.0f && o->blur_sigma <= 10000.0f))
        return illume_fail(context, ILLUME_ERROR_INVALID_INPUT, "the blur sigma must be above 0 and at most 10000");
    return ILLUME_OK;
}

/* The score: a model whose first output is a Softmax or LogSoftmax is
 * explained at its input, the logit (options.score, the default), or at
 * its output. LRP's relevance is defined from the logit alone. */
static illume_status find_logits(illume_explainer *e) {
    const graph *g = e->model->graph;
    const graph_node *last = NULL;
    for (int n = 0; n < g->node_count; n++) {
        const graph_node *node = &g->nodes[n];
        if (node->output_count >= 1 && node->outputs[0] == g->outputs[0] && node->input_count >= 1 &&
            (graph_node_is(node, "Softmax") || graph_node_is(node, "LogSoftmax")))
            last = node;
    }
    e->score_name = !last ? "output" : e->options.score == ILLUME_SCORE_LOGIT ? "logit"
                    : graph_node_is(last, "Softmax") ? "probability" : "log-probability";
    if (e->options.score == ILLUME_SCORE_PROBABILITY && !last)
        return illume_fail(e->context, ILLUME_ERROR_INVALID_INPUT,
                           "the score 'probability' needs a model whose first output '%s' is a Softmax's; this "
                           "model's outputs are explained as they are", g->output_names[0]);
    if (e->options.score == ILLUME_SCORE_PROBABILITY && method_definition_of(e->options.method)->logit_only)
        return illume_fail(e->context, ILLUME_ERROR_INVALID_INPUT,
                           "%s explains the logit, the Softmax's input: it is not defined for a probability",
                           method_definition_of(e->options.method)->name);
    if (!last || e->options.score != ILLUME_SCORE_LOGIT) return ILLUME_OK;
    e->logits = strdup(g->values[last->inputs[0]].name);
    return e->logits ? ILLUME_OK : illume_fail(e->context, ILLUME_ERROR_OUT_OF_MEMORY, "out of memory");
}

/* The model's graph with every shape inferred for one pass: of one row, or
 * of the rows a model that fixes its batch runs. */
static illume_status infer_shapes(const illume_explainer *e, graph **inferred) {
    illume_tensor shape = e->row;
    if (e->fixed_rows) shape.dims[0] = e->fixed_rows;
    return session_infer_shapes(e->context, e->model, 1, &shape, inferred);
}

/* An image of `dims` (rank 3 or more) whose channels lie on axis
 * channel_axis: axis 1, or the last of rank 4. */
static explain_image image_of(int rank, const int64_t *dims, int channel_axis) {
    explain_image image = {.channels_last = rank == 4 && channel_axis == 3};
    image.height = dims[image.channels_last ? 1 : rank - 2];
    image.width = dims[image.channels_last ? 2 : rank - 1];
    image.channels = image.channels_last ? dims[3] : 1;
    for (int d = 1; !image.channels_last && d < rank - 2; d++) image.channels *= dims[d];
    return image;
}

/* Which axes of the input and the layer hold the channels. An input is
 * channels first unless the graph shows it last; the Grad-CAM family needs
 * its layer's channel axis known, rather than guessed. */
static illume_status find_channel_axes(illume_explainer *e) {
    if (e->options.upsample && uses_layer(e->options.method) && e->row.rank < 3)
        return illume_fail(e->context, ILLUME_ERROR_INVALID_INPUT,
                           "--upsample resizes the map to the input's height and width: the input is not an image");
    if (e->row.rank < 3 && !(e->layer && uses_layer(e->options.method))) return ILLUME_OK;
    graph *inferred;
    ILLUME_TRY(infer_shapes(e, &inferred));
    int *axes = graph_channel_axes(inferred);
    illume_status status = axes ? ILLUME_OK : illume_fail(e->context, ILLUME_ERROR_OUT_OF_MEMORY, "out of memory");
    if (status == ILLUME_OK && e->row.rank >= 3)
        e->input_image = image_of(e->row.rank, e->row.dims, axes[inferred->inputs[0]]);
    if (status == ILLUME_OK && e->layer && uses_layer(e->options.method)) {
        int v = -1;
        for (int k = 0; k < inferred->value_count && v < 0; k++)
            if (!strcmp(inferred->values[k].name, e->layer)) v = k;
        int rank = v >= 0 ? inferred->values[v].rank : -1, axis = v >= 0 ? axes[v] : -1;
        if (v < 0)
            status = illume_fail(e->context, ILLUME_ERROR_INVALID_INPUT, "the model has no value named '%s'", e->layer);
        else if (rank != 4)
            status = illume_fail(e->context, ILLUME_ERROR_INVALID_INPUT,
                                 "layer '%s' must be a 4-D value of one row per input (its rank is %d)", e->layer,
                                 rank);
        else if (axis != 1 && axis != 3)
            status = illume_fail(e->context, ILLUME_ERROR_INVALID_INPUT,
                                 "cannot tell which axis of layer '%s' holds its channels (no convolution or pooling "
                                 "reaches it through element-wise ops and Transposes): name another layer with --layer",
                                 e->layer);
        else
            e->layer_image = image_of(4, inferred->values[v].dims, axis);
    }
    free(axes);
    graph_free(inferred);
    return status;
}

static illume_status describe_model(illume_explainer *e) {
    const graph *g = e->model->graph;
    if (g->input_count != 1)
        return illume_fail(e->context, ILLUME_ERROR_UNSUPPORTED, "explanations need a model with one input, not %d",
                           g->input_count);
    e->input_name = strdup(g->values[g->inputs[0]].name);
    e->output_name = strdup(g->output_names[0]);
    if (!e->input_name || !e->output_name) return illume_fail(e->context, ILLUME_ERROR_OUT_OF_MEMORY, "out of memory");
    if ((uses_layer(e->options.method) || method_definition_of(e->options.method)->taps) && e->options.layer) {
        e->layer = strdup(e->options.layer);
        if (!e->layer) return illume_fail(e->context, ILLUME_ERROR_OUT_OF_MEMORY, "out of memory");
    } else if (uses_layer(e->options.method)) {
        graph *inferred;
        ILLUME_TRY(infer_shapes(e, &inferred));
        int *axes = graph_channel_axes(inferred);
        if (!axes) {
            graph_free(inferred);
            return illume_fail(e->context, ILLUME_ERROR_OUT_OF_MEMORY, "out of memory");
        }
        const char *layer = default_layer(inferred, axes);
        e->layer = layer ? strdup(layer) : NULL;
        free(axes);
        graph_free(inferred);
        if (!layer)
            return illume_fail(e->context, ILLUME_ERROR_INVALID_INPUT,
                               "the model has no global average pool, Flatten, Reshape or Squeeze of a 4-D value to find "
                               "Grad-CAM's layer: name one (--layer)");
        if (!e->layer) return illume_fail(e->context, ILLUME_ERROR_OUT_OF_MEMORY, "out of memory");
    }
    ILLUME_TRY(find_channel_axes(e));
    e->backward = method_definition_of(e->options.method)->backward;
    ILLUME_TRY(find_logits(e));
    if (e->options.feature) {
        e->feature = strdup(e->options.feature);
        if (!e->feature) return illume_fail(e->context, ILLUME_ERROR_OUT_OF_MEMORY, "out of memory");
    }
    /* A one-row session (of the fixed rows, for a model that runs only those) tells the shapes of the output
     * and the layer. */
    illume_session *probe = NULL;
    int64_t rows = e->fixed_rows ? e->fixed_rows : 1;
    ILLUME_TRY(explain_make_session(e, rows, &probe));
    illume_value_info output;
    illume_session_output(probe, 0, &output);
    illume_status status = ILLUME_OK;
    if (output.rank < 1 || output.dims[0] != rows || output.dtype != ILLUME_FLOAT32)
        status = illume_fail(e->context, ILLUME_ERROR_UNSUPPORTED,
                             "the first output '%s' has no batch dimension to explain row by row", output.name);
    e->output_elements = 1;
    for (int d = 1; d < output.rank; d++) e->output_elements *= output.dims[d];
    if (status == ILLUME_OK && e->feature) {
        status = illume_session_value(probe, e->feature, &e->feature_info);
        if (status == ILLUME_OK && (e->feature_info.rank < 2 || e->feature_info.dims[0] != rows))
            status = illume_fail(e->context, ILLUME_ERROR_INVALID_INPUT,
                                 "feature map '%s' must have a batch and a channel dimension", e->feature);
        if (status == ILLUME_OK &&
            (e->options.feature_channel < 0 || e->options.feature_channel >= e->feature_info.dims[1]))
            status = illume_fail(e->context, ILLUME_ERROR_INVALID_INPUT,
                                 "channel %lld is outside the %lld channels of '%s'",
                                 (long long)e->options.feature_channel, (long long)e->feature_info.dims[1],
                                 e->feature);
        e->feature_elements = 1;
        for (int d = 1; d < e->feature_info.rank; d++) e->feature_elements *= e->feature_info.dims[d];
    }
    if (status == ILLUME_OK && e->layer) {
        status = illume_session_value(probe, e->layer, &e->layer_info);
        int tap = method_definition_of(e->options.method)->taps;
        if (status == ILLUME_OK && !tap && (e->layer_info.rank != 4 || e->layer_info.dims[0] != rows))
            status = illume_fail(e->context, ILLUME_ERROR_INVALID_INPUT,
                                 "layer '%s' must be a 4-D (N, C, H, W) or (N, H, W, C) value of one row per input",
                                 e->layer);
        if (status == ILLUME_OK && tap && (e->layer_info.rank < 2 || e->layer_info.dims[0] != rows))
            status = illume_fail(e->context, ILLUME_ERROR_INVALID_INPUT,
                                 "tapped value '%s' must have a batch and a channel dimension", e->layer);
        e->layer_elements = 1;
        for (int d = 1; d < e->layer_info.rank; d++) e->layer_elements *= e->layer_info.dims[d];
    }
    illume_session_free(probe);
    return status;
}

/* A model that fixes its batch and cannot be rebound to others runs that many rows a pass. */
static illume_status find_fixed_rows(illume_explainer *e) {
    if (illume_model_input_count(e->model) != 1) return ILLUME_OK; /* describe_model says why */
    illume_batch_info info;
    ILLUME_TRY(illume_model_batch(e->context, e->model, &e->row, &info));
    if (info.fixed && !info.rebinds) {
        e->fixed_rows = info.fixed;
        snprintf(e->batch_reason, sizeof e->batch_reason, "%s", info.reason);
    }
    return ILLUME_OK;
}

static illume_status copy_baseline(illume_explainer *e, const illume_tensor *given) {
    int same = given->rank == e->row.rank && given->dtype == ILLUME_FLOAT32 && given->data && given->dims[0] >= 1;
    for (int d = 1; same && d < given->rank; d++) same = given->dims[d] == e->row.dims[d];
    if (!same)
        return illume_fail(e->context, ILLUME_ERROR_INVALID_INPUT,
                           "the baseline must be float32 rows shaped like the input (one row, or one per input)");
    size_t bytes = illume_tensor_bytes(given);
    e->baseline = malloc(sizeof *e->baseline);
    void *data = malloc(bytes ? bytes : 1);
    if (!e->baseline || !data) {
        free(data);
        return illume_fail(e->context, ILLUME_ERROR_OUT_OF_MEMORY, "out of memory");
    }
    *e->baseline = *given;
    memcpy(data, given->data, bytes);
    e->baseline->data = data;
    return ILLUME_OK;
}

illume_status illume_explainer_create(illume_context *context, const illume_model *model,
                                      const illume_explain_options *options, const illume_tensor *row,
                                      illume_explainer **result) {
    *result = NULL;
    if (!model || !row) return illume_fail(context, ILLUME_ERROR_INVALID_INPUT, "no model or input shape given");
    illume_explain_options accepted;
    illume_explain_options_default(&accepted);
    if (options) ILLUME_TRY(options_accept(context, "illume_explain_options", options, &accepted, sizeof accepted));
    options = &accepted;
    ILLUME_TRY(check_options(context, options));
    if (row->rank < 1 || row->dims[0] != 1 || row->dtype != ILLUME_FLOAT32)
        return illume_fail(context, ILLUME_ERROR_INVALID_INPUT, "the row shape must be float32 with batch dimension 1");
    illume_explainer *e = calloc(1, sizeof *e);
    if (!e) return illume_fail(context, ILLUME_ERROR_OUT_OF_MEMORY, "out of memory");
    e->context = context;
    e->model = model;
    e->options = *options;
    e->row = *row;
    e->row.data = NULL;
    e->row_elements = (int64_t)(illume_tensor_bytes(row) / sizeof(float));
    illume_status status = ILLUME_OK;
    if (options->profile) {
        e->profile_seconds = calloc((size_t)session_profile_keys(), sizeof(double));
        e->profile_calls = calloc((size_t)session_profile_keys(), sizeof(int64_t));
        if (!e->profile_seconds || !e->profile_calls)
            status = illume_fail(context, ILLUME_ERROR_OUT_OF_MEMORY, "out of memory");
    }
    if (status == ILLUME_OK) status = find_fixed_rows(e);
    if (status == ILLUME_OK) status = describe_model(e);
    if (status == ILLUME_OK) status = size_batch(e);
    if (status != ILLUME_OK) {
        illume_explainer_free(e);
        return status;
    }
    e->options.layer = NULL; /* the caller's strings may go; e->layer and e->feature hold copies */
    e->options.feature = NULL;
    e->options.baseline_tensor = NULL;
    e->composite = options->composite ? strdup(options->composite) : NULL;
    e->rules = options->rules ? strdup(options->rules) : NULL;
    e->options.composite = e->composite;
    e->options.rules = e->rules;
    if ((options->composite && !e->composite) || (options->rules && !e->rules))
        status = illume_fail(context, ILLUME_ERROR_OUT_OF_MEMORY, "out of memory");
    if (status == ILLUME_OK && options->baseline == ILLUME_BASELINE_TENSOR)
        status = copy_baseline(e, options->baseline_tensor);
    if (status != ILLUME_OK) {
        illume_explainer_free(e);
        return status;
    }
    *result = e;
    return ILLUME_OK;
}

int illume_explainer_profile(const illume_explainer *e, int index, illume_profile_entry *entry) {
    if (!e || !e->profile_seconds) return 0;
    size_t keys = (size_t)session_profile_keys();
    double *seconds = malloc(sizeof(double) * keys);
    int64_t *calls = malloc(sizeof(int64_t) * keys);
    int count = 0;
    if (seconds && calls) {
        memcpy(seconds, e->profile_seconds, sizeof(double) * keys);
        memcpy(calls, e->profile_calls, sizeof(int64_t) * keys);
        for (int k = 0; k < EXPLAIN_SESSIONS; k++) session_profile_add(e->sessions[k], seconds, calls);
        count = session_profile_entry(seconds, calls, index, entry);
    }
    free(seconds);
    free(calls);
    return count;
}

void illume_explainer_free(illume_explainer *e) {
    if (!e) return;
    for (int k = 0; k < EXPLAIN_SESSIONS; k++) illume_session_free(e->sessions[k]);
    if (e->baseline) free(e->baseline->data);
    free(e->baseline);
    free(e->input_name);
    free(e->output_name);
    free(e->layer);
    free(e->feature);
    free(e->profile_seconds);
    free(e->profile_calls);
    explain_free_slots(e);
    explain_free_rules(e);
    if (e->device) e->device->destroy(e->device);
    free(e->logits);
    free(e->composite);
    free(e->rules);
    free(e);
}

illume_status illume_explainer_shape(const illume_explainer *e, int64_t rows, illume_tensor *shape) {
    memset(shape, 0, sizeof *shape);
    shape->dtype = ILLUME_FLOAT32;
    if (e->layer && method_definition_of(e->options.method)->taps) {
        /* The relevance at the tapped value, summed over channels on request. */
        shape->rank = e->layer_info.rank;
        memcpy(shape->dims, e->layer_info.dims, sizeof shape->dims);
        shape->dims[0] = rows;
        if (e->options.sum_channels) shape->dims[1] = 1;
        return ILLUME_OK;
    }
    if (e->layer && method_definition_of(e->options.method)->layer_only) {
        /* One map per row, at the layer's resolution or upsampled to the input's. */
        shape->rank = 4;
        shape->dims[0] = rows;
        shape->dims[1] = 1;
        shape->dims[2] = e->options.upsample ? e->input_image.height : e->layer_image.height;
        shape->dims[3] = e->options.upsample ? e->input_image.width : e->layer_image.width;
        return ILLUME_OK;
    }
    *shape = e->row;
    shape->data = NULL;
    shape->dims[0] = rows;
    return ILLUME_OK;
}

const char *illume_explainer_score(const illume_explainer *e) { return e ? e->score_name : ""; }

int64_t explain_top(const float *output, int64_t count) {
    int64_t best = 0;
    for (int64_t k = 1; k < count; k++)
        if (output[k] > output[best]) best = k;
    return best;
}

static double now_seconds(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

illume_status illume_explain(illume_explainer *e, const illume_tensor *inputs, const int64_t *targets,
                             illume_tensor *attributions, illume_explain_row *rows, illume_explain_report *report) {
    if (!e || !inputs || !attributions) return ILLUME_ERROR_INVALID_INPUT;
    int64_t count = inputs->rank >= 1 ? inputs->dims[0] : 0;
    int same = inputs->rank == e->row.rank && inputs->dtype == ILLUME_FLOAT32 && inputs->data;
    for (int d = 1; same && d < inputs->rank; d++) same = inputs->dims[d] == e->row.dims[d];
    if (!same || count < 1)
        return illume_fail(e->context, ILLUME_ERROR_INVALID_INPUT,
                           "the inputs must be float32 rows shaped like the explainer's row");
    illume_tensor expected;
    illume_explainer_shape(e, count, &expected);
    int match = attributions->rank == expected.rank && attributions->data;
    for (int d = 0; match && d < expected.rank; d++) match = attributions->dims[d] == expected.dims[d];
    if (!match)
        return illume_fail(e->context, ILLUME_ERROR_INVALID_INPUT,
                           "the attributions tensor does not have the shape illume_explainer_shape gives");
    illume_explain_row *row_report = rows ? rows : calloc((size_t)count, sizeof *row_report);
    int64_t *chosen = malloc(sizeof(int64_t) * (size_t)count);
    if (!row_report || !chosen) {
        if (!rows) free(row_report);
        free(chosen);
        return illume_fail(e->context, ILLUME_ERROR_OUT_OF_MEMORY, "out of memory");
    }
    for (int64_t r = 0; r < count; r++) {
        chosen[r] = targets ? targets[r] : -1;
        row_report[r] = (illume_explain_row){chosen[r], NAN, NAN};
    }
    memset(&e->report, 0, sizeof e->report);
    double start = now_seconds();
    illume_status status = method_definition_of(e->options.method)->run(e, inputs->data, count, chosen,
                                                                        attributions->data, row_report);
    e->report.seconds = now_seconds() - start;
    if (report) *report = e->report;
    if (!rows) free(row_report);
    free(chosen);
    return status;
}
