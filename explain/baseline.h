/* The reference inputs integrated gradients starts its path from. */
#ifndef ILLUME_BASELINE_H
#define ILLUME_BASELINE_H

#include "explainer.h"

/* Writes one baseline row per input row into baselines (count rows). */
illume_status baseline_rows(illume_explainer *e, const float *inputs, int64_t count, float *baselines);

#endif
