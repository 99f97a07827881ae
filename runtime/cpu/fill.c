/* Fill: every element of y set to one value (gradients seeded with ones,
 * accumulators cleared). */
#include "cpu_backend.h"

illume_status cpu_fill(backend *self, float value, int64_t count, float *y) {
    (void)self;
#pragma omp parallel for simd schedule(static) if (count > 65536)
    for (int64_t i = 0; i < count; i++) y[i] = value;
    return ILLUME_OK;
}
