#include "explainer.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "model.h"
#include "op.h"
#include "session.h"

/* A pass runs at most this many rows at once: beyond it batches gain little
 * speed and cost memory. */
#define EXPLAIN_BATCH_LIMIT 32

static const char *const method_names[ILLUME_METHOD_COUNT] = {
    "saliency", "gradxinput", "guided-backprop", "deconvnet", "ig", "smoothgrad", "smoothgrad-sq", "vargrad",
    "gradcam", "gradcam++", "guided-gradcam", "occlusion", "lrp", "deeplift", "deeplift-revealcancel"};

const char *illume_method_name(illume_method method) {
    return method >= 0 && method < ILLUME_METHOD_COUNT ? method_names[method] : "unknown";
}

illume_status illume_method_from_name(const char *name, illume_method *method) {
    for (int m = 0; name && m < ILLUME_METHOD_COUNT; m++)
        if (strcmp(name, method_names[m]) == 0) {
            *method = (illume_method)m;
            return ILLUME_OK;
        }
    return ILLUME_ERROR_INVALID_INPUT;
}

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
}

static int uses_layer(illume_method method) {
    return method == ILLUME_GRADCAM || method == ILLUME_GRADCAM_PLUS_PLUS || method == ILLUME_GUIDED_GRADCAM;
}

/* Grad-CAM's default layer: the 4-D input of the last GlobalAveragePool, else
 * the 4-D input of the first Flatten or Reshape (the end of the features).
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
    options.profile = e->options.profile;
    const char *keep[2] = {e->layer, e->logits};
    const char *feature[1] = {e->feature};
    if (e->backward && e->feature) {
        options.backward_from = e->feature;
        options.keep = feature;
        options.keep_count = 1;
    }
    if (e->backward && e->logits) {
        options.backward_from = e->logits;
        options.keep = keep + (e->layer ? 0 : 1);
        options.keep_count = e->layer ? 2 : 1;
    }
    if (e->backward && e->layer) {
        options.keep = keep;
        options.keep_count = e->logits ? 2 : 1;
        /* Grad-CAM needs the gradient at the layer only; guided Grad-CAM also at the input. */
        if (e->options.method != ILLUME_GUIDED_GRADCAM) options.backward_to = e->layer;
    }
    illume_method method = e->options.method;
    options.relevance = method == ILLUME_LRP || method == ILLUME_DEEPLIFT || method == ILLUME_DEEPLIFT_REVEAL_CANCEL;
    illume_tensor shape = e->row;
    shape.dims[0] = batch;
    shape.data = NULL;
    ILLUME_TRY(illume_session_create(e->context, e->model, &options, 1, &shape, session));
    if (method != ILLUME_LRP && method != ILLUME_DEEPLIFT_REVEAL_CANCEL) return ILLUME_OK;
    /* RevealCancel keeps its weight variants in the LRP state: any rules make it. */
    illume_status status = method == ILLUME_LRP ? explain_lrp_rules(e, *session) : explain_no_rules(e, *session);
    if (status != ILLUME_OK) {
        illume_session_free(*session);
        *session = NULL;
    }
    return status;
}

/* The rows per pass: what the budget holds, from the growth of the planned
 * arena between one and two rows, capped. */
static illume_status size_batch(illume_explainer *e) {
    size_t budget = e->options.max_memory ? e->options.max_memory : default_budget();
    illume_session *one = NULL, *two = NULL;
    /* A model whose batch dimension is fixed (at 1, as the row is) runs one row a pass. */
    illume_value_info input;
    int fixed_batch = illume_model_input(e->model, 0, &input) == ILLUME_OK && input.rank >= 1 && input.dims[0] >= 0;
    illume_status status = make_session(e, 1, &one);
    if (status == ILLUME_OK && !fixed_batch) status = make_session(e, 2, &two);
    if (status == ILLUME_OK) {
        illume_session_stats first, second = {0};
        illume_session_get_stats(one, &first);
        if (two) illume_session_get_stats(two, &second);
        else second.arena_bytes = 2 * first.arena_bytes; /* all of the one row's arena is per row */
        size_t per_row = second.arena_bytes > first.arena_bytes ? second.arena_bytes - first.arena_bytes : 1;
        size_t fixed = first.arena_bytes > per_row ? first.arena_bytes - per_row : 0;
        per_row += sizeof(float) * (size_t)(2 * e->row_elements + e->output_elements * 2 + e->layer_elements * 2);
        int64_t batch = budget > fixed ? (int64_t)((budget - fixed) / per_row) : 0;
        /* DeepLIFT runs an input and its baseline in one pass. */
        int64_t least = e->options.method == ILLUME_DEEPLIFT || e->options.method == ILLUME_DEEPLIFT_REVEAL_CANCEL ? 2 : 1;
        if (least > 1 && fixed_batch)
            status = illume_fail(e->context, ILLUME_ERROR_UNSUPPORTED,
                                 "DeepLIFT runs each input with its baseline in one batch of two rows: the model's "
                                 "batch dimension is fixed at %lld", (long long)input.dims[0]);
        else if (batch < least)
            status = illume_fail(e->context, ILLUME_ERROR_OUT_OF_MEMORY,
                                 "%s needs %zu bytes, over the memory budget of %zu bytes",
                                 least > 1 ? "an input with its baseline" : "one row", fixed + least * per_row,
                                 budget);
        int64_t limit = fixed_batch ? 1 : EXPLAIN_BATCH_LIMIT;
        e->batch = batch > limit ? limit : batch;
    }
    illume_session_free(one);
    illume_session_free(two);
    return status;
}

static illume_status check_options(illume_context *context, const illume_explain_options *o) {
    if (o->method < 0 || o->method >= ILLUME_METHOD_COUNT)
        return illume_fail(context, ILLUME_ERROR_INVALID_INPUT, "unknown method %d", (int)o->method);
    if (o->method == ILLUME_INTEGRATED_GRADIENTS && (o->steps < 1 || o->steps > 100000 ||
                                                     (o->steps < 2 && o->quadrature != ILLUME_GAUSS_LEGENDRE)))
        return illume_fail(context, ILLUME_ERROR_INVALID_INPUT, "steps must be from 1 (2 for Riemann sums) to 100000");
    if ((o->method == ILLUME_SMOOTHGRAD || o->method == ILLUME_SMOOTHGRAD_SQUARED || o->method == ILLUME_VARGRAD)) {
        if (o->samples < 1 || o->samples > 100000)
            return illume_fail(context, ILLUME_ERROR_INVALID_INPUT, "samples must be from 1 to 100000");
        if (!(o->noise >= 0.0f) || !(o->sigma >= 0.0f))
            return illume_fail(context, ILLUME_ERROR_INVALID_INPUT, "the noise level must not be negative");
        if (o->base != ILLUME_SALIENCY && o->base != ILLUME_GRADXINPUT && o->base != ILLUME_GUIDED_BACKPROP &&
            o->base != ILLUME_INTEGRATED_GRADIENTS)
            return illume_fail(context, ILLUME_ERROR_INVALID_INPUT,
                               "the SmoothGrad family averages saliency, gradxinput, guided-backprop or ig, not %s",
                               illume_method_name(o->base));
    }
    if (o->method == ILLUME_OCCLUSION &&
        (o->window[0] < 1 || o->window[1] < 1 || o->stride[0] < 1 || o->stride[1] < 1))
        return illume_fail(context, ILLUME_ERROR_INVALID_INPUT, "occlusion window and stride must be positive");
    if (o->feature && o->method != ILLUME_SALIENCY && o->method != ILLUME_GRADXINPUT &&
        o->method != ILLUME_GUIDED_BACKPROP && o->method != ILLUME_DECONVNET)
        return illume_fail(context, ILLUME_ERROR_INVALID_INPUT,
                           "a feature map is explained by saliency, gradxinput, guided-backprop or deconvnet, not %s",
                           illume_method_name(o->method));
    if (o->baseline == ILLUME_BASELINE_TENSOR && !o->baseline_tensor)
        return illume_fail(context, ILLUME_ERROR_INVALID_INPUT, "a baseline tensor was asked for but not given");
    if (o->baseline == ILLUME_BASELINE_BLUR && !(o->blur_sigma > 0.0f))
        return illume_fail(context, ILLUME_ERROR_INVALID_INPUT, "the blur sigma must be positive");
    return ILLUME_OK;
}

static illume_status describe_model(illume_explainer *e) {
    const graph *g = e->model->graph;
    if (g->input_count != 1)
        return illume_fail(e->context, ILLUME_ERROR_UNSUPPORTED, "explanations need a model with one input, not %d",
                           g->input_count);
    e->input_name = strdup(g->values[g->inputs[0]].name);
    e->output_name = strdup(g->output_names[0]);
    if (!e->input_name || !e->output_name) return illume_fail(e->context, ILLUME_ERROR_OUT_OF_MEMORY, "out of memory");
    if ((uses_layer(e->options.method) || e->options.method == ILLUME_LRP) && e->options.layer) {
        e->layer = strdup(e->options.layer);
        if (!e->layer) return illume_fail(e->context, ILLUME_ERROR_OUT_OF_MEMORY, "out of memory");
    } else if (uses_layer(e->options.method)) {
        graph *inferred;
        ILLUME_TRY(session_infer_shapes(e->context, e->model, 1, &e->row, &inferred));
        const char *layer = default_layer(inferred);
        e->layer = layer ? strdup(layer) : NULL;
        graph_free(inferred);
        if (!layer)
            return illume_fail(e->context, ILLUME_ERROR_INVALID_INPUT,
                               "the model has no GlobalAveragePool, Flatten or Reshape of a 4-D value to find "
                               "Grad-CAM's layer: name one (--layer)");
        if (!e->layer) return illume_fail(e->context, ILLUME_ERROR_OUT_OF_MEMORY, "out of memory");
    }
    e->backward = e->options.method != ILLUME_OCCLUSION;
    if (e->options.method == ILLUME_LRP) {
        /* LRP explains a Softmax's input, the logit, not the probability. */
        for (int n = 0; n < g->node_count; n++) {
            const graph_node *node = &g->nodes[n];
            const char *type = node->op >= 0 ? op_get(node->op)->name : "";
            if (node->output_count < 1 || node->outputs[0] != g->outputs[0] || node->input_count < 1) continue;
            if (strcmp(type, "Softmax") && strcmp(type, "LogSoftmax")) continue;
            e->logits = strdup(g->values[node->inputs[0]].name);
            if (!e->logits) return illume_fail(e->context, ILLUME_ERROR_OUT_OF_MEMORY, "out of memory");
        }
    }
    if (e->options.feature) {
        e->feature = strdup(e->options.feature);
        if (!e->feature) return illume_fail(e->context, ILLUME_ERROR_OUT_OF_MEMORY, "out of memory");
    }
    /* A one-row session tells the shapes of the output and the layer. */
    illume_session *probe = NULL;
    ILLUME_TRY(make_session(e, 1, &probe));
    illume_value_info output;
    illume_session_output(probe, 0, &output);
    illume_status status = ILLUME_OK;
    if (output.rank < 1 || output.dims[0] != 1 || output.dtype != ILLUME_FLOAT32)
        status = illume_fail(e->context, ILLUME_ERROR_UNSUPPORTED,
                             "the first output '%s' has no batch dimension to explain row by row", output.name);
    e->output_elements = 1;
    for (int d = 1; d < output.rank; d++) e->output_elements *= output.dims[d];
    if (status == ILLUME_OK && e->feature) {
        status = illume_session_value(probe, e->feature, &e->feature_info);
        if (status == ILLUME_OK && (e->feature_info.rank < 2 || e->feature_info.dims[0] != 1))
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
        int tap = e->options.method == ILLUME_LRP;
        if (status == ILLUME_OK && !tap && (e->layer_info.rank != 4 || e->layer_info.dims[0] != 1))
            status = illume_fail(e->context, ILLUME_ERROR_INVALID_INPUT,
                                 "layer '%s' must be a 4-D (N, C, H, W) value of one row per input", e->layer);
        if (status == ILLUME_OK && tap && (e->layer_info.rank < 2 || e->layer_info.dims[0] != 1))
            status = illume_fail(e->context, ILLUME_ERROR_INVALID_INPUT,
                                 "tapped value '%s' must have a batch and a channel dimension", e->layer);
        e->layer_elements = 1;
        for (int d = 1; d < e->layer_info.rank; d++) e->layer_elements *= e->layer_info.dims[d];
    }
    illume_session_free(probe);
    return status;
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
    free(e->feature_seed);
    free(e->feature_sums);
    free(e->profile_seconds);
    free(e->profile_calls);
    if (e->device) {
        e->device->release_host(e->device, e->inputs);
        e->device->release_host(e->device, e->outputs);
        e->device->release_host(e->device, e->gradients);
    }
    free(e->layer_gradients);
    free(e->layer_data);
    free(e->seed);
    free(e->targets);
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
    if (e->layer && e->options.method == ILLUME_LRP) {
        /* The relevance at the tapped value, summed over channels on request. */
        shape->rank = e->layer_info.rank;
        memcpy(shape->dims, e->layer_info.dims, sizeof shape->dims);
        shape->dims[0] = rows;
        if (e->options.sum_channels) shape->dims[1] = 1;
        return ILLUME_OK;
    }
    if (e->layer && e->options.method != ILLUME_GUIDED_GRADCAM) {
        /* One map per row, at the layer's resolution or upsampled to the input's. */
        shape->rank = 4;
        shape->dims[0] = rows;
        shape->dims[1] = 1;
        shape->dims[2] = e->options.upsample ? e->row.dims[e->row.rank - 2] : e->layer_info.dims[2];
        shape->dims[3] = e->options.upsample ? e->row.dims[e->row.rank - 1] : e->layer_info.dims[3];
        return ILLUME_OK;
    }
    *shape = e->row;
    shape->data = NULL;
    shape->dims[0] = rows;
    return ILLUME_OK;
}

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

/* The host buffers, once, for the largest batch; those every batch moves
 * to or from the device in the host memory it transfers fastest. */
static illume_status prepare(illume_explainer *e) {
    if (e->inputs) return ILLUME_OK;
    ILLUME_TRY(explain_backend(e));
    size_t rows = (size_t)e->batch;
    e->inputs = e->device->allocate_host(e->device, sizeof(float) * rows * (size_t)e->row_elements);
    e->outputs = e->device->allocate_host(e->device, sizeof(float) * rows * (size_t)e->output_elements);
    e->seed = malloc(sizeof(float) * rows * (size_t)e->output_elements);
    e->targets = malloc(sizeof(int64_t) * rows);
    e->gradients = e->device->allocate_host(e->device, sizeof(float) * rows * (size_t)e->row_elements);
    e->layer_gradients = e->layer ? malloc(sizeof(float) * rows * (size_t)e->layer_elements) : NULL;
    e->layer_data = e->layer ? malloc(sizeof(float) * rows * (size_t)e->layer_elements) : NULL;
    e->feature_seed = e->feature ? malloc(sizeof(float) * rows * (size_t)e->feature_elements) : NULL;
    e->feature_sums = e->feature ? malloc(sizeof(float) * rows * (size_t)e->feature_info.dims[1]) : NULL;
    if (e->feature && (!e->feature_seed || !e->feature_sums))
        return illume_fail(e->context, ILLUME_ERROR_OUT_OF_MEMORY, "out of memory for a batch of %lld rows",
                           (long long)e->batch);
    if (!e->inputs || !e->outputs || !e->seed || !e->targets || !e->gradients ||
        (e->layer && (!e->layer_data || !e->layer_gradients)))
        return illume_fail(e->context, ILLUME_ERROR_OUT_OF_MEMORY, "out of memory for a batch of %lld rows",
                           (long long)e->batch);
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

static illume_tensor batch_tensor(const illume_tensor *row, int64_t rows, void *data) {
    illume_tensor tensor = *row;
    tensor.dims[0] = rows;
    tensor.data = data;
    return tensor;
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
static illume_status feature_seed(illume_explainer *e, int64_t rows, illume_rule rule) {
    illume_value_info info;
    ILLUME_TRY(illume_session_value(e->session, e->feature, &info));
    illume_tensor seed = {.dtype = ILLUME_FLOAT32, .rank = info.rank, .data = e->feature_seed};
    memcpy(seed.dims, info.dims, sizeof seed.dims);
    ILLUME_TRY(illume_session_read(e->session, e->feature, 0, &seed));
    int64_t channels = info.dims[1], plane = e->feature_elements / channels;
    for (int64_t r = 0; r < info.dims[0]; r++) {
        float *row = e->feature_seed + r * e->feature_elements;
        for (int64_t c = 0; c < channels; c++) {
            double sum = 0.0;
            for (int64_t i = 0; i < plane; i++) {
                float *value = &row[c * plane + i];
                sum += *value;
                if (c != e->options.feature_channel || r >= rows) *value = 0.0f;
            }
            e->feature_sums[r * channels + c] = (float)sum;
        }
        if (r < rows) e->targets[r] = e->options.feature_channel;
    }
    return illume_session_backward(e->session, rule, &seed);
}

/* Whether the backward goes back to the input (all but Grad-CAM and Grad-CAM++). */
static int input_gradient(const illume_explainer *e) {
    return !e->layer || e->options.method == ILLUME_GUIDED_GRADCAM;
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

/* The batch's input and its gradient on the session's device. */
static illume_status device_batch(illume_explainer *e, explain_device *device) {
    illume_session *session = e->session;
    int input = session->graph->inputs[0];
    *device = (explain_device){.backend = session->backend, .input = session->pointers[input],
                               .row_elements = e->row_elements};
    if (!device->input)
        return illume_fail(e->context, ILLUME_ERROR_UNSUPPORTED,
                           "the model does not read its input '%s': there is nothing to explain", e->input_name);
    return ILLUME_OK;
}

/* Writes the batch's rows: on the device by the pass's build, or on the host
 * by its source; rows past `rows` (the last batch's padding) are zero. */
static illume_status make_rows(illume_explainer *e, const explain_pass *pass, const explain_device *device,
                               int64_t start, int64_t rows) {
    int64_t batch = e->rows;
    for (int64_t r = 0; r < batch; r++) e->targets[r] = 0;
    if (pass->build) {
        ILLUME_TRY(pass->build(pass->closure, device, start, rows, e->targets));
        if (rows < batch)
            ILLUME_TRY(device->backend->fill(device->backend, 0.0f, (batch - rows) * e->row_elements,
                                             device->input + rows * e->row_elements));
    } else {
        for (int64_t r = 0; r < batch; r++) {
            float *row = e->inputs + r * e->row_elements;
            if (r < rows) ILLUME_TRY(pass->source(pass->closure, start + r, row, &e->targets[r]));
            else memset(row, 0, sizeof(float) * (size_t)e->row_elements);
        }
    }
    for (int64_t r = 0; r < rows; r++)
        if (e->targets[r] >= e->output_elements)
            return illume_fail(e->context, ILLUME_ERROR_INVALID_INPUT, "target %lld is outside the %lld outputs",
                               (long long)e->targets[r], (long long)e->output_elements);
    return ILLUME_OK;
}

static illume_status run_batch(illume_explainer *e, const explain_pass *pass, int64_t start, int64_t rows) {
    int64_t batch = e->rows;
    explain_device device = {0};
    if (pass->build || pass->gather) ILLUME_TRY(device_batch(e, &device));
    ILLUME_TRY(make_rows(e, pass, &device, start, rows));
    illume_value_info info;
    illume_session_output(e->session, 0, &info);
    illume_tensor input = batch_tensor(&e->row, batch, e->inputs);
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
        outputs[o].data = o == 0 ? e->outputs : (extra[o] = malloc(illume_tensor_bytes(&outputs[o]) + 1));
        if (!outputs[o].data) status = illume_fail(e->context, ILLUME_ERROR_OUT_OF_MEMORY, "out of memory");
    }
    if (status == ILLUME_OK)
        status = pass->build ? session_forward(e->session, outputs)
                             : illume_session_run(e->session, 1, &input, output_count, outputs);
    for (int o = 0; o < output_count; o++) free(extra[o]);
    ILLUME_TRY(status);
    if (e->logits) ILLUME_TRY(read_batch(e, e->logits, 0, e->outputs));
    e->report.passes++;
    for (int64_t r = 0; r < rows; r++)
        if (e->targets[r] < 0) e->targets[r] = explain_top(e->outputs + r * e->output_elements, e->output_elements);
    if (pass->backward && e->feature) {
        ILLUME_TRY(feature_seed(e, rows, pass->rule));
    } else if (pass->backward) {
        memset(e->seed, 0, sizeof(float) * (size_t)(batch * e->output_elements));
        /* Relevance starts as the target's output; a gradient as one. */
        for (int64_t r = 0; r < rows; r++) {
            int64_t at = r * e->output_elements + e->targets[r];
            e->seed[at] = pass->rule == ILLUME_RULE_RELEVANCE ? e->outputs[at] : 1.0f;
        }
        illume_tensor seed = outputs[0];
        seed.data = e->seed;
        ILLUME_TRY(illume_session_backward(e->session, pass->rule, &seed));
    }
    /* A gather reads the gradients where they lie, in the session, after the backward. */
    int host_gradient = pass->backward && input_gradient(e) && !pass->gather;
    int layer = e->layer && pass->backward && !pass->gather;
    if (pass->backward && pass->gather) {
        illume_session *session = e->session;
        device.gradient = session->gradients ? session->gradients[session->graph->inputs[0]] : NULL;
        if (e->layer) {
            int value = session_find_value(session, e->layer);
            device.layer = session->pointers[value];
            device.layer_gradient = session->gradients[value];
            device.layer_channels_last = session->graph->values[value].channels_last;
        }
        ILLUME_TRY(pass->gather(pass->closure, &device, start, rows));
    }
    if (host_gradient) ILLUME_TRY(read_batch(e, e->input_name, 1, e->gradients));
    if (layer) {
        ILLUME_TRY(read_batch(e, e->layer, 1, e->layer_gradients));
        ILLUME_TRY(read_batch(e, e->layer, 0, e->layer_data));
    }
    int feature = e->feature && pass->backward;
    for (int64_t r = 0; pass->consume && r < rows; r++)
        ILLUME_TRY(pass->consume(pass->closure, start + r, e->targets[r],
                                 feature ? e->feature_sums + r * e->feature_info.dims[1]
                                         : e->outputs + r * e->output_elements,
                                 host_gradient ? e->gradients + r * e->row_elements : NULL,
                                 layer ? e->layer_gradients + r * e->layer_elements : NULL,
                                 layer ? e->layer_data + r * e->layer_elements : NULL));
    return ILLUME_OK;
}

/* The rows run in passes of the full batch (the last padded), or in one pass
 * of them all when they are fewer: how many rows a method makes (steps,
 * samples, windows) changes how many passes run, never their size, so memory
 * stays flat however many there are. */
illume_status explainer_run(illume_explainer *e, const explain_pass *pass, int64_t count) {
    ILLUME_TRY(prepare(e));
    /* As many passes as the batch needs, of equal size: 50 rows run as 25 and
     * 25, not as 32 and 18 padded to 32. */
    if (count < 1) return ILLUME_OK;
    int64_t passes = (count + e->batch - 1) / e->batch;
    ILLUME_TRY(use_session(e, (count + passes - 1) / passes));
    for (int64_t start = 0; start < count; start += e->rows) {
        int64_t rows = count - start < e->rows ? count - start : e->rows;
        ILLUME_TRY(run_batch(e, pass, start, rows));
    }
    /* A gather's work is still queued on the session's device. */
    return e->session->backend->synchronize(e->session->backend);
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
    static const explain_method methods[ILLUME_METHOD_COUNT] = {
        explain_saliency, explain_gradxinput, explain_guided_backprop, explain_deconvnet,
        explain_integrated_gradients, explain_smoothgrad, explain_smoothgrad, explain_smoothgrad,
        explain_gradcam, explain_gradcam, explain_guided_gradcam, explain_occlusion, explain_lrp, explain_deeplift, explain_deeplift};
    memset(&e->report, 0, sizeof e->report);
    double start = now_seconds();
    illume_status status = methods[e->options.method](e, inputs->data, count, chosen, attributions->data, row_report);
    e->report.seconds = now_seconds() - start;
    if (report) *report = e->report;
    if (!rows) free(row_report);
    free(chosen);
    return status;
}
