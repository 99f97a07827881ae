/* Guided backpropagation (Springenberg et al. 2015): the gradient where each
 * Relu passes only positive gradient and only where its input was positive,
 * as Captum's GuidedBackprop. */
#include "explainer.h"

illume_status explain_guided_backprop(illume_explainer *e, const float *inputs, int64_t count, const int64_t *targets,
                                      float *attributions, illume_explain_row *rows) {
    return explain_gradients(e, PASS_GUIDED, inputs, count, targets, attributions, rows);
}
