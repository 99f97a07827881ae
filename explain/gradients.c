/* The gradient of each input row's target output with respect to the input,
 * under a Relu rule: the machinery of saliency, gradient x input, guided
 * backpropagation and deconvnet. */
#include <string.h>

#include "explainer.h"

typedef struct gradient_pass {
    explain_inputs given; /* first: the pass's source reads it */
    float *gradients;
    illume_explain_row *rows;
} gradient_pass;

static illume_status consume(void *closure, int64_t index, int64_t target, const float *output,
                             const float *gradient, const float *layer_gradient, const float *layer) {
    (void)layer_gradient;
    (void)layer;
    gradient_pass *p = closure;
    int64_t size = p->given.row_elements;
    memcpy(p->gradients + index * size, gradient, sizeof(float) * (size_t)size);
    p->rows[index].target = target;
    p->rows[index].score = output[target];
    return ILLUME_OK;
}

illume_status explain_gradients(illume_explainer *e, pass_rule rule, const float *inputs, int64_t count,
                                const int64_t *targets, float *gradients, illume_explain_row *rows) {
    gradient_pass p = {{inputs, e->row_elements, targets}, gradients, rows};
    explain_pass pass = {.backward = 1, .rule = rule, .closure = &p, .source = explain_input_source,
                         .consume = consume};
    return explainer_run(e, &pass, count);
}
