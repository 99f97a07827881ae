/* Saliency (Simonyan et al. 2014): the gradient of the target output with
 * respect to the input, signed; its magnitude with `absolute` (Captum's
 * Saliency defaults to the magnitude). */
#include <math.h>

#include "explainer.h"

illume_status explain_saliency(illume_explainer *e, const float *inputs, int64_t count, const int64_t *targets,
                               float *attributions, illume_explain_row *rows) {
    ILLUME_TRY(explain_gradients(e, PASS_GRADIENT, inputs, count, targets, attributions, rows));
    if (e->options.absolute)
        for (int64_t i = 0; i < count * e->row_elements; i++) attributions[i] = fabsf(attributions[i]);
    return ILLUME_OK;
}
