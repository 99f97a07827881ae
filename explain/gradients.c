/* The gradient of each input row's target output with respect to the input,
 * under a Relu rule: the machinery of saliency, gradient x input, guided
 * backpropagation and deconvnet. */
#include <string.h>

#include "explainer.h"

typedef struct gradient_pass {
    const float *inputs;
    int64_t row_elements;
    const int64_t *targets;
    float *gradients;
    illume_explain_row *rows;
} gradient_pass;

static illume_status source(void *closure, int64_t index, float *row, int64_t *target) {
    gradient_pass *p = closure;
    memcpy(row, p->inputs + index * p->row_elements, sizeof(float) * (size_t)p->row_elements);
    *target = p->targets[index];
    return ILLUME_OK;
}

static illume_status consume(void *closure, int64_t index, int64_t target, const float *output,
                             const float *gradient, const float *layer_gradient, const float *layer) {
    (void)layer_gradient;
    (void)layer;
    gradient_pass *p = closure;
    memcpy(p->gradients + index * p->row_elements, gradient, sizeof(float) * (size_t)p->row_elements);
    p->rows[index].target = target;
    p->rows[index].score = output[target];
    return ILLUME_OK;
}

illume_status explain_gradients(illume_explainer *e, illume_rule rule, const float *inputs, int64_t count,
                                const int64_t *targets, float *gradients, illume_explain_row *rows) {
    gradient_pass p = {inputs, e->row_elements, targets, gradients, rows};
    explain_pass pass = {.backward = 1, .rule = rule, .closure = &p, .source = source, .consume = consume};
    return explainer_run(e, &pass, count);
}
