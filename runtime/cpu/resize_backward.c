/* The Resize backward pass: per axis, the forward's taps turned around into
 * a list of (output coordinate, weight) for every input coordinate, in
 * output order; then every input element gathers over the product of its
 * coordinates' lists (kernels/resize_backward.h), deterministic and parallel. */
#include <stdlib.h>

#include "cpu_backend.h"
#include "resize_backward.h"

illume_status cpu_resize_backward(backend *self, const resize_desc *desc, const float *dy, float *dx) {
    illume_resize_lists layout = illume_resize_lists_layout(desc);
    int64_t inputs = layout.inputs;
    if (inputs == 0) return ILLUME_OK;
    int64_t *starts = malloc(((size_t)layout.starts + 1) * sizeof *starts);
    illume_resize_tap *taps = malloc(((size_t)layout.taps + 1) * sizeof *taps);
    if (!starts || !taps) {
        free(starts);
        free(taps);
        return illume_fail(self ? self->context : NULL, ILLUME_ERROR_OUT_OF_MEMORY, "out of memory in Resize backward");
    }
    for (int d = 0; d < desc->rank; d++) illume_resize_axis_lists(desc, &layout, d, starts, taps);
#pragma omp parallel for schedule(static) if (inputs > 16384)
    for (int64_t i = 0; i < inputs; i++) dx[i] = illume_resize_input_gradient(desc, &layout, starts, taps, dy, i);
    free(starts);
    free(taps);
    return ILLUME_OK;
}
