/* The pooling backward pass, one input element at a time through the gather
 * of kernels/pool_backward.h: deterministic, and no two threads write one
 * place. */
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
    int64_t in_plane = 1, out_plane = 1;
    for (int d = 0; d < rank; d++) {
        in_plane *= desc->in_size[d];
        out_plane *= desc->out_size[d];
    }
    int64_t total = desc->planes * in_plane;
    /* Channels last, element (n, spatial..., c) belongs to plane n x channels + c,
     * whose outputs lie `channels` apart; NCHW is the case of one channel per "pixel". */
#pragma omp parallel for schedule(static) if (total > 16384)
    for (int64_t i = 0; i < total; i++) {
        int64_t c = i % channels, pixel = i / channels;
        int64_t n = pixel / in_plane, index = pixel % in_plane;
        int64_t at[ILLUME_MAX_SPATIAL], rest = index;
        for (int d = rank - 1; d >= 0; d--) {
            at[d] = rest % desc->in_size[d];
            rest /= desc->in_size[d];
        }
        int64_t first_output = n * out_plane * channels + c;
        dx[i] = illume_pool_backward_at(desc, dy + first_output, argmax ? argmax + first_output : NULL, channels, at,
                                        index);
    }
    return ILLUME_OK;
}
