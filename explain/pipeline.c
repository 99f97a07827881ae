/* The batched, double-buffered pipeline every method's passes run through
 * (explainer_run): rows made on the host or the device, uploaded beside the
 * computation, run forward (and backward) in batches of the session's
 * rows, their results handed back as the next batch computes; and the
 * explainer's own device memory for the methods' rows. */
#include <stdlib.h>
#include <string.h>

#include "explainer.h"
#include "methods.h"
#include "session.h"

/* The explainer's own backend, for the methods' device rows: the device its sessions run on. */
static illume_status explain_backend(illume_explainer *e) {
    if (e->device) return ILLUME_OK;
    e->device = backend_create(e->context, e->options.device ? e->options.device : "auto");
    return e->device ? ILLUME_OK : ILLUME_ERROR_INVALID_INPUT; /* backend_create said why */
}

void explain_free_slots(illume_explainer *e) {
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
    explain_free_slots(e);
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
        explain_free_slots(e);
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
        ILLUME_TRY(explain_make_session(e, rows, &e->sessions[slot]));
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

/* Queues a batch's backward under the pass's rule. */
static illume_status queue_backward(illume_explainer *e, pass_rule rule, const illume_tensor *seed) {
    if (rule == PASS_METHOD) return session_queue_rule_backward(e->session, seed);
    return session_queue_backward(e->session, (illume_rule)rule, seed);
}

/* Starts the backward at the feature map: its activation in the chosen
 * channel, zero in the others (and in padded rows). The row's target becomes
 * the channel, and its output the channels' summed activations. */
static illume_status feature_seed(illume_explainer *e, explain_slot *slot, pass_rule rule) {
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
    return queue_backward(e, rule, &seed);
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
    backend *b = session_backend(e->session);
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
        e->seed[at] = pass->rule == PASS_METHOD && method_definition_of(e->options.method)->seed_output
                          ? slot->outputs[at]
                          : 1.0f;
    }
    illume_value_info output;
    illume_session_output(e->session, 0, &output);
    illume_tensor seed = {.dtype = ILLUME_FLOAT32, .rank = output.rank, .data = e->seed};
    memcpy(seed.dims, output.dims, sizeof seed.dims);
    return queue_backward(e, pass->rule, &seed);
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
    session_place input;
    ILLUME_TRY(session_place_of(session, NULL, &input));
    if (pass->gather) {
        device->gradient = input.gradient;
        if (e->layer) {
            session_place layer;
            ILLUME_TRY(session_place_of(session, e->layer, &layer));
            device->layer = layer.data;
            device->layer_gradient = layer.gradient;
            /* Stored permuted by the layout pass, or channels last in the model itself: never both, since
             * the layout pass permutes only what convolutions make, channels first. */
            if (layer.channels_last && e->layer_image.channels_last)
                return illume_fail(e->context, ILLUME_ERROR_INTERNAL, "layer '%s' is stored permuted twice", e->layer);
            device->layer_channels_last = layer.channels_last || e->layer_image.channels_last;
        }
        return pass->gather(pass->closure, device, slot->start, slot->rows);
    }
    if (host_gradient(e, pass)) {
        const float *gradient = input.gradient;
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
    backend *b = session_backend(session);
    session_place input;
    ILLUME_TRY(session_place_of(session, NULL, &input));
    explain_device device = {.backend = b, .input = input.data, .row_elements = e->row_elements};
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
    backend *b = session_backend(e->session);
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

