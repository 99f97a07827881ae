/* The reference inputs of integrated gradients (its path starts there) and DeepLIFT. */
#ifndef ILLUME_BASELINE_H
#define ILLUME_BASELINE_H

#include "explainer.h"

/* Writes one baseline row per input row into baselines (count rows); a
 * baseline tensor must hold one row, or one per input. */
illume_status baseline_rows(illume_explainer *e, const float *inputs, int64_t count, float *baselines);

/* Multiplies each row's attributions (multipliers or averaged gradients) by
 * x - b, and sets its delta: sum(attribution) - (f(x) - f(b)), f(x) the
 * row's score and f(b) the baseline's (baseline_scores). */
void baseline_finish(const float *inputs, const float *baselines, int64_t count, int64_t size,
                     const float *baseline_scores, float *attributions, illume_explain_row *rows);

#endif
