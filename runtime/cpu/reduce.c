/* Mean, sum and max over any set of axes: one output at a time, through
 * kernels/reduce.h. */
#include "cpu_backend.h"
#include "reduce.h"

illume_status cpu_reduce(backend *self, const reduce_desc *desc, const float *x, float *y) {
    (void)self;
    illume_reduce_geometry geometry = illume_reduce_split(desc);
#pragma omp parallel for schedule(static) if (geometry.outputs > 16)
    for (int64_t o = 0; o < geometry.outputs; o++) y[o] = illume_reduce_output(desc->kind, &geometry, x, o);
    return ILLUME_OK;
}
