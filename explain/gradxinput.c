/* Gradient x input (Shrikumar et al. 2016), as Captum's InputXGradient. */
#include "explainer.h"

illume_status explain_gradxinput(illume_explainer *e, const float *inputs, int64_t count, const int64_t *targets,
                                 float *attributions, illume_explain_row *rows) {
    ILLUME_TRY(explain_gradients(e, PASS_GRADIENT, inputs, count, targets, attributions, rows));
    for (int64_t i = 0; i < count * e->row_elements; i++) attributions[i] *= inputs[i];
    return ILLUME_OK;
}
