/* The Resize backward pass: per axis, the forward's taps turned around into
 * a list of (output coordinate, weight) for every input coordinate, in
 * output order; then every input element gathers over the product of its
 * coordinates' lists (kernels/resize_backward.h), deterministic and parallel. */
#include <stdlib.h>

#include "cpu_backend.h"
#include "resize_backward.h"

/* Adds to start[j + 1] the taps of input coordinate j, or with `fill`
 * appends them at start[j] (advancing it) to taps. */
static void walk_taps(const resize_desc *desc, int axis, int64_t *start, illume_resize_tap *taps, int fill) {
    for (int64_t o = 0; o < desc->out_dims[axis]; o++) {
        int64_t low, high;
        float weight;
        if (!illume_resize_taps(desc, axis, o, &low, &high, &weight)) continue;
        /* Zero weights read nothing in the forward either. */
        int64_t reads[2] = {low, high};
        float weights[2] = {1.0f - weight, weight};
        for (int corner = 0; corner < 2; corner++) {
            if (weights[corner] == 0.0f) continue;
            if (fill) taps[start[reads[corner]]++] = (illume_resize_tap){o, weights[corner]};
            else start[reads[corner] + 1]++;
        }
    }
}

illume_status cpu_resize_backward(backend *self, const resize_desc *desc, const float *dy, float *dx) {
    int rank = desc->rank;
    int64_t in_total = 1, out_strides[ILLUME_MAX_RANK], stride = 1;
    int64_t start_base[ILLUME_MAX_RANK], tap_base[ILLUME_MAX_RANK], start_count = 0, tap_count = 0;
    for (int d = rank - 1; d >= 0; d--) {
        out_strides[d] = stride;
        stride *= desc->out_dims[d];
        in_total *= desc->in_dims[d];
        start_base[d] = start_count;
        tap_base[d] = tap_count;
        start_count += desc->in_dims[d] + 1;
        tap_count += 2 * desc->out_dims[d];
    }
    if (in_total == 0) return ILLUME_OK;
    int64_t *starts = calloc((size_t)start_count + 1, sizeof *starts);
    illume_resize_tap *taps = malloc(((size_t)tap_count + 1) * sizeof *taps);
    if (!starts || !taps) {
        free(starts);
        free(taps);
        return illume_fail(self ? self->context : NULL, ILLUME_ERROR_OUT_OF_MEMORY, "out of memory in Resize backward");
    }
    for (int d = 0; d < rank; d++) {
        int64_t *start = starts + start_base[d], n = desc->in_dims[d];
        illume_resize_tap *axis_taps = taps + tap_base[d];
        walk_taps(desc, d, start, axis_taps, 0);
        for (int64_t j = 0; j < n; j++) start[j + 1] += start[j];
        /* Filling advances start[j] to where j's list ends; shift back after. */
        walk_taps(desc, d, start, axis_taps, 1);
        for (int64_t j = n; j > 0; j--) start[j] = start[j - 1];
        start[0] = 0;
    }
#pragma omp parallel for schedule(static) if (in_total > 16384)
    for (int64_t i = 0; i < in_total; i++) {
        const illume_resize_tap *lists[ILLUME_MAX_RANK];
        int64_t counts[ILLUME_MAX_RANK], rest = i;
        for (int d = rank - 1; d >= 0; d--) {
            int64_t j = rest % desc->in_dims[d];
            rest /= desc->in_dims[d];
            const int64_t *start = starts + start_base[d];
            lists[d] = taps + tap_base[d] + start[j];
            counts[d] = start[j + 1] - start[j];
        }
        dx[i] = illume_resize_backward_at(rank, lists, counts, out_strides, dy);
    }
    free(starts);
    free(taps);
    return ILLUME_OK;
}
