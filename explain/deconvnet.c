/* Deconvnet (Zeiler and Fergus 2014): the gradient where each Relu applies
 * the ReLU to the gradient and ignores its forward input, as Captum's
 * Deconvolution. */
#include "explainer.h"

illume_status explain_deconvnet(illume_explainer *e, const float *inputs, int64_t count, const int64_t *targets,
                                float *attributions, illume_explain_row *rows) {
    return explain_gradients(e, PASS_DECONV, inputs, count, targets, attributions, rows);
}
