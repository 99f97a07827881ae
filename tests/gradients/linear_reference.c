/* Linear nodes in float64, as taps (linear_reference.h). */
#include "linear_reference.h"

#include <stdlib.h>

static void layer_taps(layer *l) {
    l->taps = malloc(sizeof(tap) * (size_t)(l->in * l->out > 0 ? l->in * l->out : 1));
    l->tap_count = 0;
    if (!l->taps) return;
    if (!l->conv) {
        for (int64_t i = 0; i < l->in; i++)
            for (int64_t j = 0; j < l->out; j++)
                l->taps[l->tap_count++] = (tap){i, l->trans_b ? j * l->in + i : i * l->out + j, j};
        return;
    }
    if (l->transpose) {
        /* y[f, iy s + ky - p, ix s + kx - p] += x[c, iy, ix] w[c, f, ky, kx] */
        for (int64_t c = 0; c < l->channels; c++)
            for (int64_t iy = 0; iy < l->size; iy++)
                for (int64_t ix = 0; ix < l->size; ix++)
                    for (int64_t f = 0; f < l->features; f++)
                        for (int64_t ky = 0; ky < 3; ky++)
                            for (int64_t kx = 0; kx < 3; kx++) {
                                int64_t oy = iy * l->stride + ky - l->pad, ox = ix * l->stride + kx - l->pad;
                                if (oy < 0 || oy >= l->out_size || ox < 0 || ox >= l->out_size) continue;
                                l->taps[l->tap_count++] = (tap){(c * l->size + iy) * l->size + ix,
                                                                ((c * l->features + f) * 3 + ky) * 3 + kx,
                                                                (f * l->out_size + oy) * l->out_size + ox};
                            }
        return;
    }
    for (int64_t f = 0; f < l->features; f++)
        for (int64_t oy = 0; oy < l->out_size; oy++)
            for (int64_t ox = 0; ox < l->out_size; ox++)
                for (int64_t c = 0; c < l->channels; c++)
                    for (int64_t ky = 0; ky < 3; ky++)
                        for (int64_t kx = 0; kx < 3; kx++) {
                            int64_t iy = oy * l->stride + ky - l->pad, ix = ox * l->stride + kx - l->pad;
                            if (iy < 0 || iy >= l->size || ix < 0 || ix >= l->size) continue;
                            l->taps[l->tap_count++] =
                                (tap){(c * l->size + iy) * l->size + ix, ((f * l->channels + c) * 3 + ky) * 3 + kx,
                                      (f * l->out_size + oy) * l->out_size + ox};
                        }
}

layer conv_layer(int64_t channels, int64_t size, int64_t features, int64_t stride, int transpose) {
    layer l = {.conv = 1, .transpose = transpose, .channels = channels, .size = size, .features = features,
               .stride = stride, .pad = 1};
    l.out_size = transpose ? (size - 1) * stride - 2 + 3 : (size + 2 - 3) / stride + 1;
    l.in = channels * size * size;
    l.plane = l.out_size * l.out_size;
    l.out = features * l.plane;
    l.weights = features * channels * 9;
    l.biases = features;
    layer_taps(&l);
    return l;
}

layer gemm_layer(int64_t in, int64_t out, int trans_b, int matmul) {
    layer l = {.trans_b = trans_b, .matmul = matmul, .in = in, .out = out, .weights = in * out, .biases = out,
               .plane = 1};
    layer_taps(&l);
    return l;
}

void layer_release(layer *l) {
    free(l->taps);
    l->taps = NULL;
}

void layer_forward(const layer *l, const double *x, const double *w, const double *b, double *y) {
    for (int64_t o = 0; o < l->out; o++) y[o] = b ? b[o / l->plane] : 0.0;
    for (int64_t t = 0; t < l->tap_count; t++) y[l->taps[t].y] += x[l->taps[t].x] * w[l->taps[t].w];
}

void layer_backward(const layer *l, const double *s, const double *w, double *g) {
    for (int64_t i = 0; i < l->in; i++) g[i] = 0.0;
    for (int64_t t = 0; t < l->tap_count; t++) g[l->taps[t].x] += s[l->taps[t].y] * w[l->taps[t].w];
}
