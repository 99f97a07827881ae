/* Per-element math of local response normalization (ONNX LRN) and its
 * gradient, shared by the CPU backend and the CUDA kernels. Data is
 * (batch, channels, spatial); element i at channel c is divided by
 * scale^beta, scale = bias + alpha / size * (sum of the squares over the
 * channel window of c, at the same batch and spatial position). The window
 * reaches floor((size - 1) / 2) channels before c and ceil((size - 1) / 2)
 * after it, so it leans forward for even sizes. Sums and powers are taken
 * in double, so the two backends agree to float rounding. */
#ifndef ILLUME_KERNELS_LRN_H
#define ILLUME_KERNELS_LRN_H

#include <math.h>
#include <stdint.h>

#include "backend.h"
#include "device.h"

/* The channels [*first, *last] whose squares make channel c's scale. */
ILLUME_INLINE void illume_lrn_window(const lrn_desc *desc, int64_t c, int64_t *first, int64_t *last) {
    int64_t before = (desc->size - 1) / 2, after = desc->size / 2;
    *first = c - before < 0 ? 0 : c - before;
    *last = c + after > desc->channels - 1 ? desc->channels - 1 : c + after;
}

/* The channels [*first, *last] whose windows hold channel c: the window
 * mirrored, which differs from it for even sizes. */
ILLUME_INLINE void illume_lrn_readers(const lrn_desc *desc, int64_t c, int64_t *first, int64_t *last) {
    int64_t before = (desc->size - 1) / 2, after = desc->size / 2;
    *first = c - after < 0 ? 0 : c - after;
    *last = c + before > desc->channels - 1 ? desc->channels - 1 : c + before;
}

/* Element i's channel, and the offset of channel 0 at its batch and spatial
 * position: channel k of that line is k * spatial further on. */
ILLUME_INLINE int64_t illume_lrn_line(const lrn_desc *desc, int64_t i, int64_t *channel) {
    int64_t plane = desc->channels * desc->spatial;
    *channel = i % plane / desc->spatial;
    return i / plane * plane + i % desc->spatial;
}

/* bias + alpha / size * the sum of x^2 over channel c's window of a line. */
ILLUME_INLINE double illume_lrn_scale(const lrn_desc *desc, const float *line, int64_t c) {
    int64_t first, last;
    illume_lrn_window(desc, c, &first, &last);
    double sum = 0.0;
    for (int64_t k = first; k <= last; k++) {
        double value = line[k * desc->spatial];
        sum += value * value;
    }
    return (double)desc->bias + (double)desc->alpha / (double)desc->size * sum;
}

/* y at element i of x. */
ILLUME_INLINE float illume_lrn(const lrn_desc *desc, const float *x, int64_t i) {
    int64_t c, line = illume_lrn_line(desc, i, &c);
    return (float)((double)x[i] * pow(illume_lrn_scale(desc, x + line, c), -(double)desc->beta));
}

/* The backward's first pass at element i: dy x scale^(-beta - 1), the part
 * of y's gradient that every element of i's window receives through i's
 * scale (times -2 alpha beta / size and its own x). */
ILLUME_INLINE float illume_lrn_term(const lrn_desc *desc, const float *x, const float *dy, int64_t i) {
    int64_t c, line = illume_lrn_line(desc, i, &c);
    double scale = illume_lrn_scale(desc, x + line, c);
    return (float)((double)dy[i] * (double)x[i] * pow(scale, -(double)desc->beta - 1.0));
}

/* dx at element i from the first pass's terms: dy scale^-beta through its
 * own scale, less 2 alpha beta / size x times the terms of the channels
 * whose windows hold it. */
ILLUME_INLINE float illume_lrn_gradient(const lrn_desc *desc, const float *x, const float *dy, const float *terms,
                                        int64_t i) {
    int64_t c, line = illume_lrn_line(desc, i, &c), first, last;
    double own = (double)dy[i] * pow(illume_lrn_scale(desc, x + line, c), -(double)desc->beta);
    illume_lrn_readers(desc, c, &first, &last);
    double shared = 0.0;
    for (int64_t k = first; k <= last; k++) shared += terms[line + k * desc->spatial];
    double factor = 2.0 * (double)desc->alpha * (double)desc->beta / (double)desc->size;
    return (float)(own - factor * (double)x[i] * shared);
}

#endif
