/* Resize, nearest or n-linear, one output element at a time through the
 * math of kernels/resize.h. */
#include "cpu_backend.h"
#include "resize.h"

illume_status cpu_resize(backend *self, const resize_desc *desc, const float *x, float *y) {
    (void)self;
    int64_t total = 1;
    for (int d = 0; d < desc->rank; d++) total *= desc->out_dims[d];
#pragma omp parallel for schedule(static) if (total > 16384)
    for (int64_t i = 0; i < total; i++) y[i] = illume_resize_output(desc, x, i);
    return ILLUME_OK;
}
