/* Layer-wise relevance propagation (Bach et al. 2015; Montavon et al. 2019),
 * with Zennit's rules and composites: relevance starts as the target's
 * output, flows back through every node by its rule (explain/lrp_rules.c
 * chooses them, runtime/lrp.c applies them), and arrives at the input as
 * the attribution. Each row's delta is the conservation gap: the relevance
 * at the input summed, minus the target's output. */
#include "explainer.h"

illume_status explain_lrp(illume_explainer *e, const float *inputs, int64_t count, const int64_t *targets,
                          float *attributions, illume_explain_row *rows) {
    ILLUME_TRY(explain_gradients(e, ILLUME_RULE_RELEVANCE, inputs, count, targets, attributions, rows));
    for (int64_t r = 0; r < count; r++) {
        double sum = 0.0;
        for (int64_t i = 0; i < e->row_elements; i++) sum += attributions[r * e->row_elements + i];
        rows[r].delta = (float)(sum - rows[r].score);
    }
    return ILLUME_OK;
}
