/* Integrated gradients (Sundararajan et al. 2017), as Captum's
 * IntegratedGradients: (x - b) times the weighted sum of the gradients at
 * b + alpha (x - b) over the quadrature's points. The rows of all inputs and
 * steps stream through the session in batches, made on its device from b and
 * x - b; each gradient is added into its input's sum there as its batch
 * finishes, so memory does not grow with steps and rows never cross to the
 * host.
 * Each row reports the completeness delta sum(attribution) - (f(x) - f(b)). */
#include <stdlib.h>
#include <string.h>

#include "baseline.h"
#include "quadrature.h"

typedef struct path_pass {
    const float *baselines;
    int64_t row_elements;
    int steps;
    const double *alphas, *weights;
    const int64_t *targets;
    float *scores;    /* per input: f(b) at the target, for the baseline pass */
    /* On the session's device: per input, its baseline, x - b, and the weighted sum of gradients. */
    float *device_baselines, *differences, *sums;
} path_pass;

/* Row b + alpha (x - b), made on the device from b and x - b. */
static illume_status path_build(void *closure, const explain_device *device, int64_t start, int64_t rows,
                                int64_t *targets) {
    path_pass *p = closure;
    backend *b = device->backend;
    int64_t size = p->row_elements;
    for (int64_t r = 0; r < rows; r++) {
        int64_t input = (start + r) / p->steps;
        float alpha = (float)p->alphas[(start + r) % p->steps], *row = device->input + r * size;
        ILLUME_TRY(explain_device_copy(b, p->device_baselines + input * size, size, row));
        ILLUME_TRY(b->relevance_term(b, size, alpha, p->differences + input * size, NULL, row));
        targets[r] = p->targets[input];
    }
    return ILLUME_OK;
}

static illume_status path_gather(void *closure, const explain_device *device, int64_t start, int64_t rows) {
    path_pass *p = closure;
    backend *b = device->backend;
    int64_t size = p->row_elements;
    for (int64_t r = 0; device->gradient && r < rows; r++) {
        int64_t input = (start + r) / p->steps;
        float weight = (float)p->weights[(start + r) % p->steps];
        ILLUME_TRY(b->relevance_term(b, size, weight, device->gradient + r * size, NULL, p->sums + input * size));
    }
    return ILLUME_OK;
}

static illume_status baseline_source(void *closure, int64_t index, float *row, int64_t *target) {
    path_pass *p = closure;
    memcpy(row, p->baselines + index * p->row_elements, sizeof(float) * (size_t)p->row_elements);
    *target = p->targets[index];
    return ILLUME_OK;
}

static illume_status baseline_consume(void *closure, int64_t index, int64_t target, const float *output,
                                      const float *gradient, const float *layer_gradient, const float *layer) {
    (void)gradient;
    (void)layer_gradient;
    (void)layer;
    path_pass *p = closure;
    p->scores[index] = output[target];
    return ILLUME_OK;
}

illume_status explain_check_integrated_gradients(illume_context *context, const illume_explain_options *o) {
    if (o->steps < 1 || o->steps > 100000 || (o->steps < 2 && o->quadrature != ILLUME_GAUSS_LEGENDRE))
        return illume_fail(context, ILLUME_ERROR_INVALID_INPUT, "steps must be from 1 (2 for Riemann sums) to 100000");
    return ILLUME_OK;
}

illume_status explain_integrated_gradients(illume_explainer *e, const float *inputs, int64_t count,
                                           const int64_t *targets, float *attributions, illume_explain_row *rows) {
    int steps = e->options.steps;
    int64_t size = e->row_elements;
    int64_t *chosen = malloc(sizeof(int64_t) * (size_t)count);
    float *baselines = malloc(sizeof(float) * (size_t)(count * size));
    float *scores = malloc(sizeof(float) * (size_t)count);
    double *alphas = malloc(sizeof(double) * (size_t)steps), *weights = malloc(sizeof(double) * (size_t)steps);
    illume_status status = ILLUME_OK;
    if (!chosen || !baselines || !scores || !alphas || !weights) {
        status = illume_fail(e->context, ILLUME_ERROR_OUT_OF_MEMORY, "out of memory");
        goto done;
    }
    memcpy(chosen, targets, sizeof(int64_t) * (size_t)count);
    quadrature_points(e->options.quadrature, steps, alphas, weights);
    path_pass p = {baselines, size, steps, alphas, weights, chosen, scores, NULL, NULL, NULL};
    status = explain_targets(e, inputs, count, chosen, rows);
    if (status == ILLUME_OK) status = baseline_rows(e, inputs, count, baselines);
    if (status == ILLUME_OK) {
        explain_pass pass = {.backward = 0, .closure = &p, .source = baseline_source, .consume = baseline_consume};
        status = explainer_run(e, &pass, count);
    }
    /* x - b, in the attributions until the sums come back. */
    for (int64_t i = 0; status == ILLUME_OK && i < count * size; i++) attributions[i] = inputs[i] - baselines[i];
    if (status == ILLUME_OK) status = explain_device_rows(e, baselines, count * size, &p.device_baselines);
    if (status == ILLUME_OK) status = explain_device_rows(e, attributions, count * size, &p.differences);
    if (status == ILLUME_OK) status = explain_device_rows(e, NULL, count * size, &p.sums);
    if (status == ILLUME_OK) {
        explain_pass pass = {.backward = 1, .rule = PASS_GRADIENT, .closure = &p, .build = path_build,
                             .gather = path_gather};
        status = explainer_run(e, &pass, count * steps);
    }
    if (status == ILLUME_OK) status = explain_device_read(e, p.sums, count * size, attributions);
    if (status == ILLUME_OK) baseline_finish(inputs, baselines, count, size, scores, attributions, rows);
    explain_device_free(e, p.device_baselines);
    explain_device_free(e, p.differences);
    explain_device_free(e, p.sums);
done:
    free(chosen);
    free(baselines);
    free(scores);
    free(alphas);
    free(weights);
    return status;
}
