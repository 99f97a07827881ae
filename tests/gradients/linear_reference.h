/* Linear nodes in float64 for the reference implementations of the LRP and
 * DeepLIFT tests: a 3x3 Conv or ConvTranspose (pads 1, a square input), a
 * Gemm or a MatMul, as the input, weight and output element of each product
 * (one tap each), so that a node's forward and its backward-data are the
 * same loop read both ways. */
#ifndef ILLUME_TESTS_LINEAR_REFERENCE_H
#define ILLUME_TESTS_LINEAR_REFERENCE_H

#include <stdint.h>

typedef struct tap {
    int64_t x, w, y;
} tap;

typedef struct layer {
    int conv;                         /* Conv or ConvTranspose (else Gemm or MatMul) */
    int transpose;                    /* ConvTranspose: weights (channels, features, 3, 3) */
    int64_t channels, size, features; /* square input, 3x3 kernel */
    int64_t stride, pad, out_size;
    int trans_b; /* Gemm */
    int matmul;  /* MatMul: no bias */
    int64_t in, out, weights, biases, plane;
    tap *taps;
    int64_t tap_count;
} layer;

/* A Conv (or ConvTranspose) channels -> features of a size x size input. */
layer conv_layer(int64_t channels, int64_t size, int64_t features, int64_t stride, int transpose);
/* A Gemm (weights (in, out), or (out, in) with trans_b) or a MatMul (no bias). */
layer gemm_layer(int64_t in, int64_t out, int trans_b, int matmul);
void layer_release(layer *l);
/* y = F(x, w, b) (b NULL: no bias). */
void layer_forward(const layer *l, const double *x, const double *w, const double *b, double *y);
/* g = F^T(s, w): the gradient of <s, F(x, w)> with respect to x. */
void layer_backward(const layer *l, const double *s, const double *w, double *g);

#endif
