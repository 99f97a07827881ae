/* Layer-wise relevance propagation (Bach et al. 2015; Montavon et al. 2019),
 * with Zennit's rules and composites: relevance starts as the target's
 * output, flows back through every node by its rule (explain/lrp_rules.c
 * chooses them, explain/lrp_backward.c applies them), and arrives at the input as
 * the attribution, or is read at a tapped value on the way. Each row's
 * delta is the conservation gap: the relevance summed, minus the target's
 * output. */
#include <string.h>

#include "explainer.h"

typedef struct tap_pass {
    explain_inputs given; /* first: the pass's source reads it */
    illume_explainer *explainer;
    float *relevance;
    int64_t size; /* of one row of the result */
    illume_explain_row *rows;
} tap_pass;

static illume_status tap_consume(void *closure, int64_t index, int64_t target, const float *output,
                                 const float *gradient, const float *layer_gradient, const float *layer) {
    (void)gradient;
    (void)layer;
    tap_pass *p = closure;
    const illume_explainer *e = p->explainer;
    float *out = p->relevance + index * p->size;
    if (!e->options.sum_channels) {
        memcpy(out, layer_gradient, sizeof(float) * (size_t)p->size);
    } else {
        int64_t channels = e->layer_info.dims[1];
        memset(out, 0, sizeof(float) * (size_t)p->size);
        for (int64_t c = 0; c < channels; c++)
            for (int64_t i = 0; i < p->size; i++) out[i] += layer_gradient[c * p->size + i];
    }
    p->rows[index].target = target;
    p->rows[index].score = output[target];
    return ILLUME_OK;
}

illume_status explain_lrp(illume_explainer *e, const float *inputs, int64_t count, const int64_t *targets,
                          float *attributions, illume_explain_row *rows) {
    int64_t size = e->row_elements;
    if (e->layer) {
        size = e->layer_elements / (e->options.sum_channels ? e->layer_info.dims[1] : 1);
        tap_pass p = {{inputs, e->row_elements, targets}, e, attributions, size, rows};
        explain_pass pass = {.backward = 1, .rule = PASS_METHOD, .closure = &p,
                             .source = explain_input_source, .consume = tap_consume};
        ILLUME_TRY(explainer_run(e, &pass, count));
    } else {
        ILLUME_TRY(explain_gradients(e, PASS_METHOD, inputs, count, targets, attributions, rows));
    }
    for (int64_t r = 0; r < count; r++) {
        double sum = 0.0;
        for (int64_t i = 0; i < size; i++) sum += attributions[r * size + i];
        rows[r].delta = (float)(sum - rows[r].score);
    }
    return ILLUME_OK;
}
