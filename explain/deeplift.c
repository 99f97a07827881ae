/* DeepLIFT with the rescale rule (Shrikumar et al. 2017), as Captum's
 * DeepLift: each input and its baseline run through the model in one batch
 * (inputs first, baselines after), the backward multiplies at every
 * nonlinearity by (y - y_ref) / (x - x_ref) and routes max pooling by
 * Captum's rule (explain/deeplift_backward.c), and the attribution is (x - b) times
 * the multiplier at the input. Each row reports the summation-to-delta
 * sum(attribution) - (f(x) - f(b)), as integrated gradients does. */
#include <stdlib.h>
#include <string.h>

#include "baseline.h"
#include "deeplift_backward.h"

typedef struct pair_pass {
    const float *inputs, *baselines;
    int64_t row_elements;
    int64_t first, pairs; /* the inputs this pass holds: first .. first + pairs - 1 */
    const int64_t *targets;
    float *multipliers;
    float *baseline_scores;
} pair_pass;

static illume_status pair_source(void *closure, int64_t index, float *row, int64_t *target) {
    pair_pass *p = closure;
    int reference = index >= p->pairs;
    int64_t input = p->first + (reference ? index - p->pairs : index);
    const float *from = (reference ? p->baselines : p->inputs) + input * p->row_elements;
    memcpy(row, from, sizeof(float) * (size_t)p->row_elements);
    *target = p->targets[input];
    return ILLUME_OK;
}

static illume_status pair_consume(void *closure, int64_t index, int64_t target, const float *output,
                                  const float *gradient, const float *layer_gradient, const float *layer) {
    (void)layer_gradient;
    (void)layer;
    pair_pass *p = closure;
    if (index >= p->pairs) {
        p->baseline_scores[p->first + index - p->pairs] = output[target];
        return ILLUME_OK;
    }
    memcpy(p->multipliers + (p->first + index) * p->row_elements, gradient,
           sizeof(float) * (size_t)p->row_elements);
    return ILLUME_OK;
}

illume_status explain_deeplift(illume_explainer *e, const float *inputs, int64_t count, const int64_t *targets,
                               float *attributions, illume_explain_row *rows) {
    int64_t size = e->row_elements;
    int64_t *chosen = malloc(sizeof(int64_t) * (size_t)count);
    float *baselines = malloc(sizeof(float) * (size_t)(count * size));
    float *scores = malloc(sizeof(float) * (size_t)count);
    illume_status status = ILLUME_OK;
    if (!chosen || !baselines || !scores) {
        status = illume_fail(e->context, ILLUME_ERROR_OUT_OF_MEMORY, "out of memory");
        goto done;
    }
    memcpy(chosen, targets, sizeof(int64_t) * (size_t)count);
    status = explain_targets(e, inputs, count, chosen, rows);
    if (status == ILLUME_OK) status = baseline_rows(e, inputs, count, baselines);
    /* Each pass holds whole pairs, so that every input meets its baseline in one batch. */
    for (int64_t first = 0; status == ILLUME_OK && first < count; first += e->batch / 2) {
        int64_t pairs = count - first < e->batch / 2 ? count - first : e->batch / 2;
        pair_pass p = {inputs, baselines, size, first, pairs, chosen, attributions, scores};
        explain_pass pass = {.backward = 1, .rule = PASS_METHOD, .closure = &p, .source = pair_source,
                             .consume = pair_consume};
        status = explainer_run(e, &pass, 2 * pairs);
    }
    if (status == ILLUME_OK) baseline_finish(inputs, baselines, count, size, scores, attributions, rows);
done:
    free(chosen);
    free(baselines);
    free(scores);
    return status;
}

illume_status explain_deeplift_rescale(illume_explainer *e, illume_session *session) {
    (void)e;
    return deeplift_install(session, 0);
}

illume_status explain_deeplift_reveal_cancel(illume_explainer *e, illume_session *session) {
    (void)e;
    return deeplift_install(session, 1);
}
