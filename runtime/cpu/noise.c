/* SmoothGrad's noisy rows: each OpenMP iteration draws one Philox block,
 * the four normals of elements 4 g .. 4 g + 3, and writes those of them that
 * fall inside the row (a row may start or end inside a block). */
#include "cpu_backend.h"
#include "philox.h"

illume_status cpu_noise(backend *self, const noise_desc *desc, const float *x, float *y) {
    (void)self;
    int64_t first = desc->first, end = first + desc->count;
    int64_t first_group = first / 4, end_group = (end + 3) / 4;
#pragma omp parallel for schedule(static)
    for (int64_t group = first_group; group < end_group; group++) {
        float normals[4];
        illume_philox_normals(desc->seed, (uint64_t)group, desc->sample, normals);
        for (int64_t lane = 0; lane < 4; lane++) {
            int64_t index = group * 4 + lane;
            if (index >= first && index < end) y[index - first] = x[index - first] + desc->sigma * normals[lane];
        }
    }
    return ILLUME_OK;
}
