/* The Pad backward pass: each input element gathers the output gradient of
 * every output that read it (kernels/pad_backward.h), so the loop is
 * deterministic and parallel. */
#include "cpu_backend.h"
#include "pad_backward.h"

illume_status cpu_pad_backward(backend *self, const pad_desc *desc, const float *dy, float *dx) {
    (void)self;
    int rank = desc->rank;
    int64_t total = 1;
    for (int d = 0; d < rank; d++) total *= desc->in_dims[d];
#pragma omp parallel for schedule(static) if (total > 16384)
    for (int64_t i = 0; i < total; i++) {
        int64_t coordinates[ILLUME_MAX_RANK], rest = i;
        for (int d = rank - 1; d >= 0; d--) {
            coordinates[d] = rest % desc->in_dims[d];
            rest /= desc->in_dims[d];
        }
        dx[i] = illume_pad_backward_at(desc, dy, coordinates);
    }
    return ILLUME_OK;
}
