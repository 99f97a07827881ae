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
#include "philox.h"

typedef struct noise_pass {
    const illume_explain_options *options;
    const float *inputs;
    int64_t row_elements;
    int samples;
    const float *sigmas;
    const int64_t *targets;
    float *sums, *squares;
    float *scratch; /* one row */
} noise_pass;

/* Noise is drawn four elements at a time (one Philox block); a row that
 * starts or ends inside a block uses the part of it that falls in the row. */
static void noisy_copy(const noise_pass *p, int64_t input, int sample, float *row) {
    const float *x = p->inputs + input * p->row_elements;
    float sigma = p->sigmas[input];
    int64_t first = input * p->row_elements, end = first + p->row_elements;
    int64_t first_group = first / 4, end_group = (end + 3) / 4;
#pragma omp parallel for schedule(static)
    for (int64_t group = first_group; group < end_group; group++) {
        float normals[4];
        illume_philox_normals(p->options->seed, (uint64_t)group, (uint32_t)sample, normals);
        for (int64_t lane = 0; lane < 4; lane++) {
            int64_t index = group * 4 + lane;
            if (index >= first && index < end) row[index - first] = x[index - first] + sigma * normals[lane];
        }
    }
}

static illume_status noise_source(void *closure, int64_t index, float *row, int64_t *target) {
    noise_pass *p = closure;
    noisy_copy(p, index / p->samples, (int)(index % p->samples), row);
    *target = p->targets[index / p->samples];
    return ILLUME_OK;
}

static void add_sample(noise_pass *p, int64_t input, const float *attribution) {
    float *sum = p->sums + input * p->row_elements, *square = p->squares + input * p->row_elements;
    for (int64_t i = 0; i < p->row_elements; i++) {
        sum[i] += attribution[i];
        square[i] += attribution[i] * attribution[i];
    }
}

static illume_status noise_consume(void *closure, int64_t index, int64_t target, const float *output,
                                   const float *gradient, const float *layer_gradient, const float *layer) {
    (void)target;
    (void)output;
    (void)layer_gradient;
    (void)layer;
    noise_pass *p = closure;
    int64_t input = index / p->samples;
    float *attribution = p->scratch;
    if (p->options->base == ILLUME_GRADXINPUT) {
        noisy_copy(p, input, (int)(index % p->samples), attribution);
        for (int64_t i = 0; i < p->row_elements; i++) attribution[i] *= gradient[i];
    } else {
        for (int64_t i = 0; i < p->row_elements; i++)
            attribution[i] = p->options->base == ILLUME_SALIENCY && p->options->absolute ? fabsf(gradient[i])
                                                                                          : gradient[i];
    }
    add_sample(p, input, attribution);
    return ILLUME_OK;
}

/* Integrated gradients is itself many passes: it runs whole on each noisy copy. */
static illume_status integrated_samples(illume_explainer *e, noise_pass *p, int64_t count) {
    int64_t size = p->row_elements;
    float *noisy = malloc(sizeof(float) * (size_t)(count * size));
    float *attribution = malloc(sizeof(float) * (size_t)(count * size));
    illume_explain_row *sample_rows = malloc(sizeof(illume_explain_row) * (size_t)count);
    illume_status status = ILLUME_OK;
    if (!noisy || !attribution || !sample_rows)
        status = illume_fail(e->context, ILLUME_ERROR_OUT_OF_MEMORY, "out of memory");
    for (int sample = 0; status == ILLUME_OK && sample < p->samples; sample++) {
        for (int64_t r = 0; r < count; r++) noisy_copy(p, r, sample, noisy + r * size);
        status = explain_integrated_gradients(e, noisy, count, p->targets, attribution, sample_rows);
        for (int64_t r = 0; status == ILLUME_OK && r < count; r++) add_sample(p, r, attribution + r * size);
    }
    free(noisy);
    free(attribution);
    free(sample_rows);
    return status;
}

illume_status explain_smoothgrad(illume_explainer *e, const float *inputs, int64_t count, const int64_t *targets,
                                 float *attributions, illume_explain_row *rows) {
    const illume_explain_options *o = &e->options;
    int64_t size = e->row_elements;
    int64_t *chosen = malloc(sizeof(int64_t) * (size_t)count);
    float *sigmas = malloc(sizeof(float) * (size_t)count);
    float *squares = calloc((size_t)(count * size), sizeof(float));
    float *scratch = malloc(sizeof(float) * (size_t)size);
    illume_status status = ILLUME_OK;
    if (!chosen || !sigmas || !squares || !scratch) {
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
    noise_pass p = {o, inputs, size, o->samples, sigmas, chosen, attributions, squares, scratch};
    if (status == ILLUME_OK && o->base == ILLUME_INTEGRATED_GRADIENTS) {
        status = integrated_samples(e, &p, count);
    } else if (status == ILLUME_OK) {
        illume_rule rule = o->base == ILLUME_GUIDED_BACKPROP ? ILLUME_RULE_GUIDED : ILLUME_RULE_GRADIENT;
        explain_pass pass = {.backward = 1, .rule = rule, .closure = &p, .source = noise_source,
                             .consume = noise_consume};
        status = explainer_run(e, &pass, count * o->samples);
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
    free(scratch);
    return status;
}
