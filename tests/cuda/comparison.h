/* What the CPU-side comparisons of the CUDA tests share (test_methods.c,
 * test_convolution_geometry.c, test_matmul_plan.c). */
#ifndef ILLUME_TESTS_CUDA_COMPARISON_H
#define ILLUME_TESTS_CUDA_COMPARISON_H

#include <math.h>
#include <stdint.h>

/* The largest |got - want| over the largest |want| (over 1 when want is all
 * zeros); infinity where a difference is not a number. */
static inline double relative_difference(const float *got, const float *want, int64_t count) {
    double worst = 0.0, largest = 0.0;
    for (int64_t i = 0; i < count; i++) {
        double difference = fabs((double)got[i] - want[i]);
        if (!(difference <= worst)) worst = isnan(difference) ? INFINITY : difference;
        if (fabs(want[i]) > largest) largest = fabs(want[i]);
    }
    return worst / (largest > 0.0 ? largest : 1.0);
}

/* Values in [-1, 1) from a linear congruential stream. */
static inline void random_fill(float *values, int64_t count, uint64_t *state) {
    for (int64_t i = 0; i < count; i++) {
        *state = *state * 6364136223846793005ull + 1442695040888963407ull;
        values[i] = (float)((*state >> 40) & 0xFFFFFF) / 8388608.0f - 1.0f;
    }
}

#endif
