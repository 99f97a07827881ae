/* SmoothGrad (Smilkov et al. 2017), SmoothGrad-squared and VarGrad (Adebayo
 * et al. 2018), as Captum's NoiseTunnel: the base method on noisy copies
 * x + N(0, sigma^2), averaged, averaged squared, or their variance
 * (mean of squares minus square of the mean). sigma is `sigma` when given,
 * else `noise` times each input's max - min. The noise is Philox keyed by
 * `seed`, indexed by (input element, sample): any batch size, any backend,
 * the same noise. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "explainer.h"

typedef struct noise_pass {
    const illume_explain_options *options;
    const float *inputs;
    int64_t row_elements;
    int samples;
    const float *sigmas;
    const int64_t *targets;
    float *sums, *squares; /* host, for the integrated-gradients base */
    /* On the session's device: the inputs, the sums and the sums of squares per input, and a scratch of two rows. */
    float *device_inputs, *device_sums, *device_squares, *scratch;
} noise_pass;

static illume_status noisy_row(const noise_pass *p, backend *device, int64_t index, float *row) {
    int64_t input = index / p->samples, size = p->row_elements;
    noise_desc desc = {p->options->seed, (uint32_t)(index % p->samples), input * size, size, p->sigmas[input]};
    return device->noise(device, &desc, p->device_inputs + input * size, row);
}

static illume_status noise_build(void *closure, const explain_device *device, int64_t start, int64_t rows,
                                 int64_t *targets) {
    noise_pass *p = closure;
    for (int64_t r = 0; r < rows; r++) {
        ILLUME_TRY(noisy_row(p, device->backend, start + r, device->input + r * p->row_elements));
        targets[r] = p->targets[(start + r) / p->samples];
    }
    return ILLUME_OK;
}

/* Adds each row's attribution under the base method (the gradient, its
 * absolute value, or gradient x noisy input) and its square to its input's sums. */
static illume_status noise_gather(void *closure, const explain_device *device, int64_t start, int64_t rows) {
    noise_pass *p = closure;
    backend *b = device->backend;
    int64_t size = p->row_elements;
    illume_method base = p->options->base;
    float *noisy = p->scratch, *attribution = p->scratch + size;
    for (int64_t r = 0; device->gradient && r < rows; r++) {
        int64_t input = (start + r) / p->samples;
        const float *gradient = device->gradient + r * size, *sample = gradient;
        if (base == ILLUME_GRADXINPUT) {
            /* The session's input rows may hold other values by now: the noise is drawn again. */
            ILLUME_TRY(noisy_row(p, b, start + r, noisy));
            ILLUME_TRY(b->fill(b, 0.0f, size, attribution));
            ILLUME_TRY(b->relevance_term(b, size, 1.0f, noisy, gradient, attribution));
            sample = attribution;
        } else if (base == ILLUME_SALIENCY && p->options->absolute) {
            unary_desc absolute = {.kind = UNARY_ABS, .count = size};
            ILLUME_TRY(b->unary(b, &absolute, gradient, attribution));
            sample = attribution;
        }
        ILLUME_TRY(b->relevance_term(b, size, 1.0f, sample, NULL, p->device_sums + input * size));
        ILLUME_TRY(b->relevance_term(b, size, 1.0f, sample, sample, p->device_squares + input * size));
    }
    return ILLUME_OK;
}

static void add_sample(noise_pass *p, int64_t input, const float *attribution) {
    float *sum = p->sums + input * p->row_elements, *square = p->squares + input * p->row_elements;
    for (int64_t i = 0; i < p->row_elements; i++) {
        sum[i] += attribution[i];
        square[i] += attribution[i] * attribution[i];
    }
}

/* Integrated gradients is itself many passes: it runs whole on each noisy
 * copy, made on the device and brought to the host as its input. */
static illume_status integrated_samples(illume_explainer *e, noise_pass *p, int64_t count) {
    int64_t size = p->row_elements;
    float *noisy = malloc(sizeof(float) * (size_t)(count * size));
    float *attribution = malloc(sizeof(float) * (size_t)(count * size));
    illume_explain_row *sample_rows = malloc(sizeof(illume_explain_row) * (size_t)count);
    float *device_noisy = NULL;
    illume_status status = ILLUME_OK;
    if (!noisy || !attribution || !sample_rows)
        status = illume_fail(e->context, ILLUME_ERROR_OUT_OF_MEMORY, "out of memory");
    if (status == ILLUME_OK) status = explain_device_rows(e, p->inputs, count * size, &p->device_inputs);
    if (status == ILLUME_OK) status = explain_device_rows(e, NULL, count * size, &device_noisy);
    for (int sample = 0; status == ILLUME_OK && sample < p->samples; sample++) {
        for (int64_t r = 0; status == ILLUME_OK && r < count; r++)
            status = noisy_row(p, e->device, r * p->samples + sample, device_noisy + r * size);
        if (status == ILLUME_OK) status = explain_device_read(e, device_noisy, count * size, noisy);
        if (status == ILLUME_OK)
            status = explain_integrated_gradients(e, noisy, count, p->targets, attribution, sample_rows);
        for (int64_t r = 0; status == ILLUME_OK && r < count; r++) add_sample(p, r, attribution + r * size);
    }
    explain_device_free(e, p->device_inputs);
    explain_device_free(e, device_noisy);
    free(noisy);
    free(attribution);
    free(sample_rows);
    return status;
}

illume_status explain_check_smoothgrad(illume_context *context, const illume_explain_options *o) {
    if (o->samples < 1 || o->samples > 100000)
        return illume_fail(context, ILLUME_ERROR_INVALID_INPUT, "samples must be from 1 to 100000");
    if (!(o->noise >= 0.0f) || !(o->sigma >= 0.0f))
        return illume_fail(context, ILLUME_ERROR_INVALID_INPUT, "the noise level must not be negative");
    if (o->base != ILLUME_SALIENCY && o->base != ILLUME_GRADXINPUT && o->base != ILLUME_GUIDED_BACKPROP &&
        o->base != ILLUME_INTEGRATED_GRADIENTS)
        return illume_fail(context, ILLUME_ERROR_INVALID_INPUT,
                           "the SmoothGrad family averages saliency, gradxinput, guided-backprop or ig, not %s",
                           illume_method_name(o->base));
    if (o->base == ILLUME_INTEGRATED_GRADIENTS) return explain_check_integrated_gradients(context, o);
    return ILLUME_OK;
}

illume_status explain_smoothgrad(illume_explainer *e, const float *inputs, int64_t count, const int64_t *targets,
                                 float *attributions, illume_explain_row *rows) {
    const illume_explain_options *o = &e->options;
    int64_t size = e->row_elements;
    int64_t *chosen = malloc(sizeof(int64_t) * (size_t)count);
    float *sigmas = malloc(sizeof(float) * (size_t)count);
    float *squares = calloc((size_t)(count * size), sizeof(float));
    illume_status status = ILLUME_OK;
    if (!chosen || !sigmas || !squares) {
        status = illume_fail(e->context, ILLUME_ERROR_OUT_OF_MEMORY, "out of memory");
        goto done;
    }
    memcpy(chosen, targets, sizeof(int64_t) * (size_t)count);
    status = explain_targets(e, inputs, count, chosen, rows);
    for (int64_t r = 0; r < count; r++) {
        const float *x = inputs + r * size;
        float low = x[0], high = x[0];
        for (int64_t i = 1; i < size; i++) {
            if (x[i] < low) low = x[i];
            if (x[i] > high) high = x[i];
        }
        sigmas[r] = o->sigma > 0.0f ? o->sigma : o->noise * (high - low);
    }
    memset(attributions, 0, sizeof(float) * (size_t)(count * size));
    noise_pass p = {o, inputs, size, o->samples, sigmas, chosen, attributions, squares, NULL, NULL, NULL, NULL};
    if (status == ILLUME_OK && o->base == ILLUME_INTEGRATED_GRADIENTS) {
        status = integrated_samples(e, &p, count);
    } else if (status == ILLUME_OK) {
        status = explain_device_rows(e, inputs, count * size, &p.device_inputs);
        if (status == ILLUME_OK) status = explain_device_rows(e, NULL, count * size, &p.device_sums);
        if (status == ILLUME_OK) status = explain_device_rows(e, NULL, count * size, &p.device_squares);
        if (status == ILLUME_OK) status = explain_device_rows(e, NULL, 2 * size, &p.scratch);
        pass_rule rule = o->base == ILLUME_GUIDED_BACKPROP ? PASS_GUIDED : PASS_GRADIENT;
        explain_pass pass = {.backward = 1, .rule = rule, .closure = &p, .build = noise_build,
                             .gather = noise_gather};
        if (status == ILLUME_OK) status = explainer_run(e, &pass, count * o->samples);
        if (status == ILLUME_OK) status = explain_device_read(e, p.device_sums, count * size, attributions);
        if (status == ILLUME_OK) status = explain_device_read(e, p.device_squares, count * size, squares);
        explain_device_free(e, p.device_inputs);
        explain_device_free(e, p.device_sums);
        explain_device_free(e, p.device_squares);
        explain_device_free(e, p.scratch);
    }
    for (int64_t i = 0; status == ILLUME_OK && i < count * size; i++) {
        float mean = attributions[i] / (float)o->samples, mean_square = squares[i] / (float)o->samples;
        attributions[i] = o->method == ILLUME_SMOOTHGRAD           ? mean
                          : o->method == ILLUME_SMOOTHGRAD_SQUARED ? mean_square
                                                                   : mean_square - mean * mean;
    }
done:
    free(chosen);
    free(sigmas);
    free(squares);
    return status;
}
