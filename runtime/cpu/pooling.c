/* Max and average pooling over every plane, one output at a time, through
 * the shared math of kernels/pool.h. */
#include "cpu_backend.h"
#include "pool.h"

illume_status cpu_pool(backend *self, const pool_desc *desc, const float *x, float *y, int32_t *argmax) {
    (void)self;
    int64_t in_plane = 1, out_plane = 1;
    for (int d = 0; d < desc->spatial_rank; d++) {
        in_plane *= desc->in_size[d];
        out_plane *= desc->out_size[d];
    }
    int64_t total = desc->planes * out_plane;
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < total; i++) {
        int64_t plane = i / out_plane, out = i % out_plane;
        y[i] = illume_pool_at(desc, x + plane * in_plane, out, argmax ? &argmax[i] : NULL);
    }
    return ILLUME_OK;
}
