/* The pooling backward pass, one input position (all its channels) at a
 * time through the gather of kernels/pool_backward.h: deterministic, and no
 * two threads write one place. The outputs covering each coordinate of each axis are found once
 * per call, so that no element divides. */
#include <stdlib.h>

#include "cpu_backend.h"
#include "pool_backward.h"

illume_status cpu_pool_backward(backend *self, const pool_desc *desc, const float *dy, const int32_t *argmax,
                                float *dx) {
    illume_context *context = self ? self->context : NULL;
    int rank = desc->spatial_rank;
    if (rank < 1 || rank > ILLUME_MAX_SPATIAL)
        return illume_fail(context, ILLUME_ERROR_INTERNAL, "pooling backward over %d spatial dims", rank);
    if (desc->kind == POOL_MAX && !argmax)
        return illume_fail(context, ILLUME_ERROR_INTERNAL, "max pooling backward without the forward's argmax");
    int64_t channels = desc->channels_last ? desc->channels : 1;
    if (channels < 1 || desc->planes % channels != 0)
        return illume_fail(context, ILLUME_ERROR_INTERNAL, "channels-last pooling backward: %lld planes, %lld channels",
                           (long long)desc->planes, (long long)channels);
    int64_t in_plane = 1, out_plane = 1, coordinates = 0, base[ILLUME_MAX_SPATIAL];
    for (int d = 0; d < rank; d++) {
        in_plane *= desc->in_size[d];
        out_plane *= desc->out_size[d];
        base[d] = coordinates;
        coordinates += desc->in_size[d];
    }
    if (in_plane == 0) return ILLUME_OK;
    int64_t *first = malloc(sizeof(int64_t) * (size_t)coordinates), *last = malloc(sizeof(int64_t) * (size_t)coordinates);
    if (!first || !last) {
        free(first);
        free(last);
        return illume_fail(context, ILLUME_ERROR_OUT_OF_MEMORY, "out of memory in pooling backward");
    }
    for (int d = 0; d < rank; d++)
        for (int64_t i = 0; i < desc->in_size[d]; i++)
            last[base[d] + i] = illume_pool_covering(desc, d, i, &first[base[d] + i]);
    /* A row along the last spatial axis at a time. Channels last, element
     * (n, spatial..., c) belongs to plane n x channels + c, whose outputs lie
     * `channels` apart; NCHW is the case of one channel per position. */
    int unused = ILLUME_MAX_SPATIAL - rank;
    int64_t width = desc->in_size[rank - 1], rows_per_plane = in_plane / width;
    int64_t rows = desc->planes / channels * rows_per_plane;
#pragma omp parallel for schedule(static) if (rows * width * channels > 16384)
    for (int64_t r = 0; r < rows; r++) {
        int64_t n = r / rows_per_plane, row = r % rows_per_plane, rest = row;
        int64_t at[ILLUME_MAX_SPATIAL], low[ILLUME_MAX_SPATIAL] = {0, 0, 0}, high[ILLUME_MAX_SPATIAL] = {1, 1, 1};
        for (int d = rank - 2; d >= 0; d--) {
            at[d] = rest % desc->in_size[d];
            rest /= desc->in_size[d];
            low[unused + d] = first[base[d] + at[d]];
            high[unused + d] = last[base[d] + at[d]];
        }
        for (int64_t w = 0; w < width; w++) {
            at[rank - 1] = w;
            low[ILLUME_MAX_SPATIAL - 1] = first[base[rank - 1] + w];
            high[ILLUME_MAX_SPATIAL - 1] = last[base[rank - 1] + w];
            int64_t index = row * width + w, first_output = n * out_plane * channels;
            illume_pool_gather(desc, dy + first_output, argmax ? argmax + first_output : NULL, channels, channels, at,
                               index, low, high, dx + (n * in_plane + index) * channels);
        }
    }
    free(first);
    free(last);
    return ILLUME_OK;
}
