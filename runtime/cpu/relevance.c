/* LRP's element-wise steps as OpenMP loops over kernels/relevance.h. */
#include "cpu_backend.h"
#include "relevance.h"

#define PARALLEL_THRESHOLD 32768

illume_status cpu_relevance_ratio(backend *self, const relevance_ratio_desc *desc, const float *r, const float *z,
                                  const float *g, float *y) {
    (void)self;
    int64_t count = desc->count;
    float epsilon = desc->epsilon;
    int gate = desc->gate;
#pragma omp parallel for schedule(static) if (count > PARALLEL_THRESHOLD)
    for (int64_t i = 0; i < count; i++) y[i] = illume_relevance_ratio(r[i], z[i], epsilon, gate, gate ? g[i] : 0.0f);
    return ILLUME_OK;
}

illume_status cpu_relevance_term(backend *self, int64_t count, float coefficient, const float *a, const float *b,
                                 float *y) {
    (void)self;
#pragma omp parallel for schedule(static) if (count > PARALLEL_THRESHOLD)
    for (int64_t i = 0; i < count; i++) y[i] = illume_relevance_term(y[i], coefficient, a[i], b ? b[i] : 1.0f);
    return ILLUME_OK;
}
