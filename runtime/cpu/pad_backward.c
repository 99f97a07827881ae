/* The Pad backward pass: the outputs that read each coordinate of each axis
 * are found once per call, then every input element gathers the output
 * gradient over the product of its coordinates' reaches
 * (kernels/pad_backward.h), deterministic and parallel. */
#include <stdlib.h>

#include "cpu_backend.h"
#include "pad_backward.h"

illume_status cpu_pad_backward(backend *self, const pad_desc *desc, const float *dy, float *dx) {
    int rank = desc->rank;
    illume_pad_geometry geometry = illume_pad_setup(desc);
    int64_t total = geometry.inputs, coordinates = 0, base[ILLUME_MAX_RANK];
    for (int d = rank - 1; d >= 0; d--) {
        base[d] = coordinates;
        coordinates += desc->in_dims[d];
    }
    if (total == 0) return ILLUME_OK;
    illume_pad_reach *reaches = malloc(sizeof *reaches * (size_t)(coordinates + 1));
    if (!reaches)
        return illume_fail(self ? self->context : NULL, ILLUME_ERROR_OUT_OF_MEMORY, "out of memory in Pad backward");
    for (int d = 0; d < rank; d++)
        for (int64_t j = 0; j < desc->in_dims[d]; j++) reaches[base[d] + j] = illume_pad_axis_reach(desc, d, j);
    /* A row along the last axis at a time, so that only rows divide their index into coordinates. */
    int64_t width = rank > 0 ? desc->in_dims[rank - 1] : 1, rows = total / width;
#pragma omp parallel for schedule(static) if (total > 16384)
    for (int64_t r = 0; r < rows; r++) {
        const illume_pad_reach *row[ILLUME_MAX_RANK];
        int64_t rest = r;
        for (int d = rank - 2; d >= 0; d--) {
            row[d] = reaches + base[d] + rest % desc->in_dims[d];
            rest /= desc->in_dims[d];
        }
        for (int64_t w = 0; w < width; w++) {
            if (rank > 0) row[rank - 1] = reaches + base[rank - 1] + w;
            dx[r * width + w] = illume_pad_gather(rank, row, geometry.out_strides, dy);
        }
    }
    free(reaches);
    return ILLUME_OK;
}
