/* Integrated gradients (Sundararajan et al. 2017), as Captum's
 * IntegratedGradients: (x - b) times the weighted sum of the gradients at
 * b + alpha (x - b) over the quadrature's points. The rows of all inputs and
 * steps stream through the session in batches; each gradient is added into
 * its input's sum as its batch finishes, so memory does not grow with steps.
 * Each row reports the completeness delta sum(attribution) - (f(x) - f(b)). */
#include <stdlib.h>
#include <string.h>

#include "baseline.h"
#include "quadrature.h"

typedef struct path_pass {
    const float *inputs, *baselines;
    int64_t row_elements;
    int steps;
    const double *alphas, *weights;
    const int64_t *targets;
    float *sums;      /* per input: the weighted sum of gradients */
    float *scores;    /* per input: f(b) at the target, for the baseline pass */
} path_pass;

static illume_status path_source(void *closure, int64_t index, float *row, int64_t *target) {
    path_pass *p = closure;
    int64_t input = index / p->steps;
    float alpha = (float)p->alphas[index % p->steps];
    const float *x = p->inputs + input * p->row_elements, *b = p->baselines + input * p->row_elements;
    for (int64_t i = 0; i < p->row_elements; i++) row[i] = b[i] + alpha * (x[i] - b[i]);
    *target = p->targets[input];
    return ILLUME_OK;
}

static illume_status path_consume(void *closure, int64_t index, int64_t target, const float *output,
                                  const float *gradient, const float *layer_gradient, const float *layer) {
    (void)target;
    (void)output;
    (void)layer_gradient;
    (void)layer;
    path_pass *p = closure;
    int64_t input = index / p->steps;
    float weight = (float)p->weights[index % p->steps];
    float *sum = p->sums + input * p->row_elements;
    for (int64_t i = 0; i < p->row_elements; i++) sum[i] += weight * gradient[i];
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
    memset(attributions, 0, sizeof(float) * (size_t)(count * size));
    path_pass p = {inputs, baselines, size, steps, alphas, weights, chosen, attributions, scores};
    status = explain_targets(e, inputs, count, chosen, rows);
    if (status == ILLUME_OK) status = baseline_rows(e, inputs, count, baselines);
    if (status == ILLUME_OK) {
        explain_pass pass = {.backward = 0, .closure = &p, .source = baseline_source, .consume = baseline_consume};
        status = explainer_run(e, &pass, count);
    }
    if (status == ILLUME_OK) {
        explain_pass pass = {.backward = 1, .rule = ILLUME_RULE_GRADIENT, .closure = &p, .source = path_source,
                             .consume = path_consume};
        status = explainer_run(e, &pass, count * steps);
    }
    if (status == ILLUME_OK) baseline_finish(inputs, baselines, count, size, scores, attributions, rows);
done:
    free(chosen);
    free(baselines);
    free(scores);
    free(alphas);
    free(weights);
    return status;
}
