#include "explainer.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "model.h"
#include "channel_axis.h"
#include "methods.h"
#include "op.h"
#include "passes.h"
#include "session.h"

/* A pass runs at most this many rows at once: beyond it batches gain little
 * speed and cost memory. */
#define EXPLAIN_BATCH_LIMIT 32

void illume_explain_options_default(illume_explain_options *options) {
    memset(options, 0, sizeof *options);
    options->method = ILLUME_SALIENCY;
    options->steps = 50;
    options->quadrature = ILLUME_GAUSS_LEGENDRE;
    options->baseline = ILLUME_BASELINE_ZEROS;
    options->blur_sigma = 10.0f;
    options->samples = 50;
    options->noise = 0.15f;
    options->base = ILLUME_SALIENCY;
    options->window[0] = options->window[1] = 15;
    options->stride[0] = options->stride[1] = 8;
    options->device = "auto";
    options->composite = "epsilon-plus-flat";
    options->epsilon = 1e-6f;
    options->gamma = 0.25f;
    options->stabilizer = 1e-6f;
    options->low = options->high = NAN;
    options->score = ILLUME_SCORE_LOGIT;
}

static int uses_layer(illume_method method) { return method_definition_of(method)->uses_layer; }

/* Grad-CAM's default layer: the 4-D input of the last GlobalAveragePool, else
 * the 4-D input of the first Flatten or Reshape (the end of the features),
 * which a channels-last model (TensorFlow's, JAX's) holds as (N, H, W, C).
 * g has its shapes inferred: a model need not declare them. */
static const char *default_layer(const graph *g) {
    const char *found = NULL;
    for (int n = 0; n < g->node_count; n++) {
        const graph_node *node = &g->nodes[n];
        const op_definition *definition = op_get(node->op);
        if (definition && strcmp(definition->name, "GlobalAveragePool") == 0) found = g->values[node->inputs[0]].name;
    }
    if (found) return found;
    for (int n = 0; n < g->node_count; n++) {
        const graph_node *node = &g->nodes[n];
        const op_definition *definition = op_get(node->op);
        if (!definition || (strcmp(definition->name, "Flatten") && strcmp(definition->name, "Reshape"))) continue;
        const graph_value *x = &g->values[node->inputs[0]];
        if (x->rank == 4) return x->name;
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

static illume_status make_session(illume_explainer *e, int64_t batch, illume_session **session) {
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
    options.relevance = definition->relevance;
    illume_tensor shape = e->row;
    shape.dims[0] = batch;
    shape.data = NULL;
    ILLUME_TRY(illume_session_create(e->context, e->model, &options, 1, &shape, session));
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
    illume_status status = make_session(e, fixed ? fixed : 1, &one);
    if (status == ILLUME_OK && !fixed) status = make_session(e, 2, &two);
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
        const char *layer = default_layer(inferred);
        e->layer = layer ? strdup(layer) : NULL;
        graph_free(inferred);
        if (!layer)
            return illume_fail(e->context, ILLUME_ERROR_INVALID_INPUT,
                               "the model has no GlobalAveragePool, Flatten or Reshape of a 4-D value to find "
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
    ILLUME_TRY(make_session(e, rows, &probe));
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
    illume_explain_options defaults;
    if (!options) {
        illume_explain_options_default(&defaults);
        options = &defaults;
    }
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

static void free_slots(illume_explainer *e);

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
    free_slots(e);
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

/* The explainer's own backend, for the methods' device rows: the device its sessions run on. */
static illume_status explain_backend(illume_explainer *e) {
    if (e->device) return ILLUME_OK;
    e->device = backend_create(e->context, e->options.device ? e->options.device : "auto");
    return e->device ? ILLUME_OK : ILLUME_ERROR_INVALID_INPUT; /* backend_create said why */
}

static void free_slots(illume_explainer *e) {
    for (int k = 0; k < 2 && e->device; k++) {
        explain_slot *slot = &e->slots[k];
        e->device->release_host(e->device, slot->inputs);
        e->device->release_host(e->device, slot->outputs);
        e->device->release_host(e->device, slot->gradients);
        if (slot->staged_input) e->device->release(e->device, slot->staged_input);
        if (slot->staged_gradient) e->device->release(e->device, slot->staged_gradient);
        free(slot->targets);
        free(slot->layer_gradients);
        free(slot->layer_data);
        free(slot->feature_sums);
        memset(slot, 0, sizeof *slot);
    }
    free(e->seed);
    free(e->feature_seed);
    e->seed = e->feature_seed = NULL;
    e->slot_rows = 0;
}

/* The slots and the seed for batches of `batch` rows, made again only for
 * a larger batch: calls of few inputs keep little memory. */
static illume_status prepare(illume_explainer *e, int64_t batch) {
    if (e->slot_rows >= batch) return ILLUME_OK;
    ILLUME_TRY(explain_backend(e));
    free_slots(e);
    backend *device = e->device;
    size_t rows = (size_t)batch, row_bytes = sizeof(float) * rows * (size_t)e->row_elements;
    size_t layer_bytes = sizeof(float) * rows * (size_t)e->layer_elements;
    e->seed = malloc(sizeof(float) * rows * (size_t)e->output_elements);
    e->feature_seed = e->feature ? malloc(sizeof(float) * rows * (size_t)e->feature_elements) : NULL;
    int ready = e->seed && (!e->feature || e->feature_seed);
    for (int k = 0; k < 2; k++) {
        explain_slot *slot = &e->slots[k];
        slot->inputs = device->allocate_host(device, row_bytes);
        slot->outputs = device->allocate_host(device, sizeof(float) * rows * (size_t)e->output_elements);
        slot->gradients = device->allocate_host(device, row_bytes);
        slot->targets = malloc(sizeof(int64_t) * rows);
        slot->layer_gradients = e->layer ? malloc(layer_bytes) : NULL;
        slot->layer_data = e->layer ? malloc(layer_bytes) : NULL;
        slot->feature_sums = e->feature ? malloc(sizeof(float) * rows * (size_t)e->feature_info.dims[1]) : NULL;
        slot->staged_input = device->allocate(device, row_bytes);
        slot->staged_gradient = device->allocate(device, row_bytes);
        ready = ready && slot->inputs && slot->outputs && slot->gradients && slot->targets && slot->staged_input &&
                slot->staged_gradient && (!e->layer || (slot->layer_gradients && slot->layer_data)) &&
                (!e->feature || slot->feature_sums);
    }
    if (!ready) {
        free_slots(e);
        return illume_fail(e->context, ILLUME_ERROR_OUT_OF_MEMORY, "out of memory for two batches of %lld rows",
                           (long long)batch);
    }
    e->slot_rows = batch;
    return ILLUME_OK;
}

/* Makes the session of `rows` rows current: a cached one, or a new one in
 * place of the least recently used. */
static illume_status use_session(illume_explainer *e, int64_t rows) {
    int slot = -1, oldest = 0;
    for (int k = 0; k < EXPLAIN_SESSIONS; k++) {
        if (e->sessions[k] && e->session_rows[k] == rows) slot = k;
        if (e->session_used[k] < e->session_used[oldest]) oldest = k;
    }
    if (slot < 0) {
        slot = oldest;
        if (e->profile_seconds) session_profile_add(e->sessions[slot], e->profile_seconds, e->profile_calls);
        illume_session_free(e->sessions[slot]);
        e->sessions[slot] = NULL;
        ILLUME_TRY(make_session(e, rows, &e->sessions[slot]));
        e->session_rows[slot] = rows;
    }
    e->session_used[slot] = ++e->clock;
    e->session = e->sessions[slot];
    e->rows = rows;
    illume_session_stats stats;
    illume_session_get_stats(e->session, &stats);
    if (stats.arena_bytes > e->report.peak_bytes) e->report.peak_bytes = stats.arena_bytes;
    if (rows > e->report.batch_rows) e->report.batch_rows = rows;
    return ILLUME_OK;
}

/* Reads a batch of a value (its data, or its gradient) into buffer. */
static illume_status read_batch(illume_explainer *e, const char *name, int gradient, float *buffer) {
    illume_value_info info;
    ILLUME_TRY(illume_session_value(e->session, name, &info));
    illume_tensor tensor = {.dtype = info.dtype, .rank = info.rank, .data = buffer};
    memcpy(tensor.dims, info.dims, sizeof tensor.dims);
    return illume_session_read(e->session, name, gradient, &tensor);
}

/* Starts the backward at the feature map: its activation in the chosen
 * channel, zero in the others (and in padded rows). The row's target becomes
 * the channel, and its output the channels' summed activations. */
static illume_status feature_seed(illume_explainer *e, explain_slot *slot, illume_rule rule) {
    illume_value_info info;
    ILLUME_TRY(illume_session_value(e->session, e->feature, &info));
    illume_tensor seed = {.dtype = ILLUME_FLOAT32, .rank = info.rank, .data = e->feature_seed};
    memcpy(seed.dims, info.dims, sizeof seed.dims);
    ILLUME_TRY(illume_session_read(e->session, e->feature, 0, &seed));
    int64_t channels = info.dims[1], plane = e->feature_elements / channels, rows = slot->rows;
    for (int64_t r = 0; r < info.dims[0]; r++) {
        float *row = e->feature_seed + r * e->feature_elements;
        for (int64_t c = 0; c < channels; c++) {
            double sum = 0.0;
            for (int64_t i = 0; i < plane; i++) {
                float *value = &row[c * plane + i];
                sum += *value;
                if (c != e->options.feature_channel || r >= rows) *value = 0.0f;
            }
            slot->feature_sums[r * channels + c] = (float)sum;
        }
        if (r < rows) slot->targets[r] = e->options.feature_channel;
    }
    return session_queue_backward(e->session, rule, &seed);
}

/* Whether the backward goes back to the input (all but Grad-CAM and Grad-CAM++). */
static int input_gradient(const illume_explainer *e) {
    const method_definition *definition = method_definition_of(e->options.method);
    return !e->layer || (!definition->layer_only && !definition->taps);
}

/* Transfers on the explainer's backend finish before they return: the
 * sessions' backends (their own streams) read and write the same memory. */
illume_status explain_device_rows(illume_explainer *e, const float *host, int64_t elements, float **rows) {
    *rows = NULL;
    ILLUME_TRY(explain_backend(e));
    backend *device = e->device;
    size_t bytes = sizeof(float) * (size_t)(elements > 0 ? elements : 1);
    float *memory = device->allocate(device, bytes);
    if (!memory)
        return illume_fail(e->context, ILLUME_ERROR_OUT_OF_MEMORY, "out of %s memory for %lld rows of data",
                           device->name, (long long)elements);
    illume_status status = host ? device->upload(device, memory, host, bytes)
                                : device->fill(device, 0.0f, elements > 0 ? elements : 1, memory);
    if (status == ILLUME_OK) status = device->synchronize(device);
    if (status != ILLUME_OK) {
        device->release(device, memory);
        return status;
    }
    *rows = memory;
    return ILLUME_OK;
}

illume_status explain_device_read(illume_explainer *e, const float *rows, int64_t elements, float *host) {
    ILLUME_TRY(explain_backend(e));
    ILLUME_TRY(e->device->download(e->device, host, rows, sizeof(float) * (size_t)elements));
    return e->device->synchronize(e->device);
}

void explain_device_free(illume_explainer *e, float *rows) {
    if (rows && e->device) e->device->release(e->device, rows);
}

illume_status explain_device_copy(backend *device, const float *from, int64_t count, float *to) {
    copy_desc desc = {.rank = 1, .dims = {count}, .src_strides = {1}, .dst_strides = {1}};
    return device->copy(device, &desc, from, to);
}

/* The rows of the batch starting at `start`, into slot: a build makes
 * them on the device when the batch computes; a source writes them (and
 * their targets) on the host here, and they upload beside the computation.
 * Rows past the last (the last batch's padding) are zero. The upload may
 * land at once: the slot's staged rows were last read by the copy into the
 * session's input two batches back, which read_outputs has since waited
 * for (the CPU's tests cannot see a copy landing early). */
static illume_status stage(illume_explainer *e, const explain_pass *pass, explain_slot *slot, int64_t start,
                           int64_t count) {
    int64_t batch = e->rows;
    slot->start = start;
    slot->rows = count - start < batch ? count - start : batch;
    for (int64_t r = 0; r < batch; r++) slot->targets[r] = 0;
    if (pass->build) return ILLUME_OK;
    for (int64_t r = 0; r < batch; r++) {
        float *row = slot->inputs + r * e->row_elements;
        if (r < slot->rows) ILLUME_TRY(pass->source(pass->closure, start + r, row, &slot->targets[r]));
        else memset(row, 0, sizeof(float) * (size_t)e->row_elements);
    }
    backend *b = e->session->backend;
    double begun = session_now();
    size_t bytes = sizeof(float) * (size_t)(batch * e->row_elements);
    ILLUME_TRY(b->upload_beside(b, slot->staged_input, slot->inputs, bytes));
    return session_profile_transfer(e->session, begun);
}

/* Puts the slot's rows in the session's input: built there, or copied from
 * where they were staged once their upload is done. */
static illume_status place_rows(illume_explainer *e, const explain_pass *pass, explain_slot *slot,
                                const explain_device *device) {
    backend *b = device->backend;
    int64_t batch = e->rows, elements = batch * e->row_elements;
    if (!device->input)
        return illume_fail(e->context, ILLUME_ERROR_UNSUPPORTED,
                           "the model does not read its input '%s': there is nothing to explain", e->input_name);
    if (pass->build) {
        ILLUME_TRY(pass->build(pass->closure, device, slot->start, slot->rows, slot->targets));
        if (slot->rows < batch)
            ILLUME_TRY(b->fill(b, 0.0f, (batch - slot->rows) * e->row_elements,
                               device->input + slot->rows * e->row_elements));
    } else {
        ILLUME_TRY(b->wait_uploads(b));
        ILLUME_TRY(explain_device_copy(b, slot->staged_input, elements, device->input));
    }
    for (int64_t r = 0; r < slot->rows; r++)
        if (slot->targets[r] >= e->output_elements)
            return illume_fail(e->context, ILLUME_ERROR_INVALID_INPUT, "target %lld is outside the %lld outputs",
                               (long long)slot->targets[r], (long long)e->output_elements);
    return ILLUME_OK;
}

/* Downloads the batch's outputs into the slot and waits for its forward. */
static illume_status read_outputs(illume_explainer *e, explain_slot *slot) {
    int output_count = illume_session_output_count(e->session);
    illume_tensor outputs[8];
    void *extra[8] = {0};
    if (output_count > 8)
        return illume_fail(e->context, ILLUME_ERROR_UNSUPPORTED, "explanations handle models of up to 8 outputs");
    illume_status status = ILLUME_OK;
    for (int o = 0; o < output_count && status == ILLUME_OK; o++) {
        illume_value_info output;
        illume_session_output(e->session, o, &output);
        outputs[o] = (illume_tensor){.dtype = output.dtype, .rank = output.rank};
        memcpy(outputs[o].dims, output.dims, sizeof outputs[o].dims);
        outputs[o].data = o == 0 ? slot->outputs : (extra[o] = malloc(illume_tensor_bytes(&outputs[o]) + 1));
        if (!outputs[o].data) status = illume_fail(e->context, ILLUME_ERROR_OUT_OF_MEMORY, "out of memory");
    }
    if (status == ILLUME_OK) status = session_outputs(e->session, outputs);
    for (int o = 0; o < output_count; o++) free(extra[o]);
    ILLUME_TRY(status);
    if (e->logits) ILLUME_TRY(read_batch(e, e->logits, 0, slot->outputs));
    return ILLUME_OK;
}

/* Queues the batch's backward: from the feature map, or from the output at
 * each row's target (relevance starts as the target's output, a gradient as one). */
static illume_status start_backward(illume_explainer *e, const explain_pass *pass, explain_slot *slot) {
    if (e->feature) return feature_seed(e, slot, pass->rule);
    memset(e->seed, 0, sizeof(float) * (size_t)(e->rows * e->output_elements));
    for (int64_t r = 0; r < slot->rows; r++) {
        int64_t at = r * e->output_elements + slot->targets[r];
        e->seed[at] = pass->rule == ILLUME_RULE_RELEVANCE ? slot->outputs[at] : 1.0f;
    }
    illume_value_info output;
    illume_session_output(e->session, 0, &output);
    illume_tensor seed = {.dtype = ILLUME_FLOAT32, .rank = output.rank, .data = e->seed};
    memcpy(seed.dims, output.dims, sizeof seed.dims);
    return session_queue_backward(e->session, pass->rule, &seed);
}

/* Whether consume gets the input's gradient on the host, and the layer's. */
static int host_gradient(const illume_explainer *e, const explain_pass *pass) {
    return pass->backward && input_gradient(e) && !pass->gather;
}

static int host_layer(const illume_explainer *e, const explain_pass *pass) {
    return e->layer && pass->backward && !pass->gather;
}

/* After the backward: the pass's gather on the device, or the gradients
 * for the host, the input's downloading beside the next batch's forward. */
static illume_status take_gradients(illume_explainer *e, const explain_pass *pass, explain_slot *slot,
                                    explain_device *device) {
    illume_session *session = e->session;
    backend *b = device->backend;
    if (pass->gather) {
        device->gradient = session->gradients ? session->gradients[session->graph->inputs[0]] : NULL;
        if (e->layer) {
            int value = session_find_value(session, e->layer);
            device->layer = session->pointers[value];
            device->layer_gradient = session->gradients[value];
            /* Stored permuted by the layout pass, or channels last in the model itself: never both, since
             * the layout pass permutes only what convolutions make, channels first. */
            int stored = session->graph->values[value].channels_last, logical = e->layer_image.channels_last;
            if (stored && logical)
                return illume_fail(e->context, ILLUME_ERROR_INTERNAL, "layer '%s' is stored permuted twice", e->layer);
            device->layer_channels_last = stored || logical;
        }
        return pass->gather(pass->closure, device, slot->start, slot->rows);
    }
    if (host_gradient(e, pass)) {
        const float *gradient = session->gradients[session->graph->inputs[0]];
        int64_t elements = e->rows * e->row_elements;
        if (!gradient)
            return illume_fail(e->context, ILLUME_ERROR_INVALID_INPUT,
                               "no gradient flows to '%s': it lies on no path from the output", e->input_name);
        ILLUME_TRY(explain_device_copy(b, gradient, elements, slot->staged_gradient));
        double begun = session_now();
        ILLUME_TRY(b->download_after(b, slot->gradients, slot->staged_gradient, sizeof(float) * (size_t)elements));
        ILLUME_TRY(session_profile_transfer(session, begun));
    }
    if (host_layer(e, pass)) {
        ILLUME_TRY(read_batch(e, e->layer, 1, slot->layer_gradients));
        ILLUME_TRY(read_batch(e, e->layer, 0, slot->layer_data));
    }
    return ILLUME_OK;
}

/* Hands a batch's rows to the pass, once its transfers are done. */
static illume_status consume_batch(illume_explainer *e, const explain_pass *pass, explain_slot *slot) {
    int gradient = host_gradient(e, pass), layer = host_layer(e, pass);
    int feature = e->feature && pass->backward;
    for (int64_t r = 0; pass->consume && r < slot->rows; r++)
        ILLUME_TRY(pass->consume(pass->closure, slot->start + r, slot->targets[r],
                                 feature ? slot->feature_sums + r * e->feature_info.dims[1]
                                         : slot->outputs + r * e->output_elements,
                                 gradient ? slot->gradients + r * e->row_elements : NULL,
                                 layer ? slot->layer_gradients + r * e->layer_elements : NULL,
                                 layer ? slot->layer_data + r * e->layer_elements : NULL));
    return ILLUME_OK;
}

/* One batch, with the batch before it (previous, NULL for the first)
 * finishing beside it: while this batch's forward computes, the previous
 * batch's gradients finish downloading and are consumed, and the next
 * batch's rows are made and upload. */
static illume_status compute_batch(illume_explainer *e, const explain_pass *pass, explain_slot *slot,
                                   explain_slot *previous, explain_slot *next, int64_t count) {
    illume_session *session = e->session;
    backend *b = session->backend;
    explain_device device = {.backend = b, .input = session->pointers[session->graph->inputs[0]],
                             .row_elements = e->row_elements};
    ILLUME_TRY(place_rows(e, pass, slot, &device));
    ILLUME_TRY(session_queue_forward(session));
    if (previous) {
        ILLUME_TRY(b->finish_transfers(b));
        ILLUME_TRY(consume_batch(e, pass, previous));
    }
    int64_t following = slot->start + slot->rows;
    if (following < count) ILLUME_TRY(stage(e, pass, next, following, count));
    ILLUME_TRY(read_outputs(e, slot));
    e->report.passes++;
    for (int64_t r = 0; r < slot->rows; r++)
        if (slot->targets[r] < 0)
            slot->targets[r] = explain_top(slot->outputs + r * e->output_elements, e->output_elements);
    if (!pass->backward) return ILLUME_OK;
    ILLUME_TRY(start_backward(e, pass, slot));
    return take_gradients(e, pass, slot, &device);
}

/* The rows run in batches of the pass's session (the last padded), one
 * batch deep in flight: see compute_batch. How many rows a method makes
 * (steps, samples, windows) changes how many batches run, never their
 * size, so memory stays flat however many there are. */
illume_status explainer_run(illume_explainer *e, const explain_pass *pass, int64_t count) {
    if (count < 1) return ILLUME_OK;
    /* As many passes as the batch needs, of equal size: 50 rows run as 25 and
     * 25, not as 32 and 18 padded to 32. */
    int64_t passes = (count + e->batch - 1) / e->batch;
    ILLUME_TRY(use_session(e, e->fixed_rows ? e->fixed_rows : (count + passes - 1) / passes));
    ILLUME_TRY(prepare(e, e->rows));
    backend *b = e->session->backend;
    explain_slot *slot = &e->slots[0], *previous = NULL;
    illume_status status = stage(e, pass, slot, 0, count);
    while (status == ILLUME_OK) {
        explain_slot *next = slot == &e->slots[0] ? &e->slots[1] : &e->slots[0];
        status = compute_batch(e, pass, slot, previous, next, count);
        int64_t following = slot->start + slot->rows;
        previous = slot;
        slot = next;
        if (following >= count) break;
    }
    /* The last batch's transfers and a gather's work are still queued; after
     * a failure, nothing may still move into the buffers. */
    illume_status finished = b->synchronize(b);
    illume_status transferred = b->finish_transfers(b);
    if (status == ILLUME_OK) status = finished != ILLUME_OK ? finished : transferred;
    if (status == ILLUME_OK && previous) status = consume_batch(e, pass, previous);
    return status;
}

illume_status explain_input_source(void *closure, int64_t index, float *row, int64_t *target) {
    const explain_inputs *p = closure;
    memcpy(row, p->inputs + index * p->row_elements, sizeof(float) * (size_t)p->row_elements);
    *target = p->targets[index];
    return ILLUME_OK;
}

typedef struct target_pass {
    explain_inputs given; /* first: the pass's source reads it */
    int64_t *targets;     /* the same targets, resolved in place */
    illume_explain_row *rows;
} target_pass;

static illume_status target_consume(void *closure, int64_t index, int64_t target, const float *output,
                                    const float *gradient, const float *layer_gradient, const float *layer) {
    (void)gradient;
    (void)layer_gradient;
    (void)layer;
    target_pass *p = closure;
    p->targets[index] = target;
    p->rows[index].target = target;
    p->rows[index].score = output[target];
    return ILLUME_OK;
}

illume_status explain_targets(illume_explainer *e, const float *inputs, int64_t count, int64_t *targets,
                              illume_explain_row *rows) {
    target_pass p = {{inputs, e->row_elements, targets}, targets, rows};
    explain_pass pass = {.backward = 0, .closure = &p, .source = explain_input_source, .consume = target_consume};
    return explainer_run(e, &pass, count);
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
