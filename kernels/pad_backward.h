/* Per-element math of the Pad backward pass (its adjoint): the gradient of
 * one input element, gathered from every output that reads it, so that each
 * thread writes only its own element. Pad is separable: along each axis the
 * outputs that read a coordinate do not depend on the other axes, so an
 * input element gathers over the product of its coordinates' reaches.
 * Shared by the CPU backend and the CUDA kernels; the inverse of
 * illume_pad_source in kernels/pad.h. */
#ifndef ILLUME_KERNELS_PAD_BACKWARD_H
#define ILLUME_KERNELS_PAD_BACKWARD_H

#include <stdint.h>

#include "backend.h"
#include "device.h"
#include "pad.h"

/* The coordinates of one output axis (shifted by the begin pad, so in [low,
 * high)) that read one input coordinate: up to two arithmetic progressions. */
typedef struct illume_pad_reach {
    int64_t first[2], step[2], count[2];
} illume_pad_reach;

/* The coordinates c in [low, high) with c = residue modulo period: the first
 * in *first, and how many. */
ILLUME_INLINE int64_t illume_pad_progression(int64_t residue, int64_t period, int64_t low, int64_t high,
                                             int64_t *first) {
    int64_t offset = (residue - low) % period;
    if (offset < 0) offset += period;
    *first = low + offset;
    return *first < high ? (high - 1 - *first) / period + 1 : 0;
}

/* The coordinates c in [low, high) for which illume_pad_source(mode, c, n)
 * is s (0 <= s < n, low <= 0, high >= n). */
ILLUME_INLINE illume_pad_reach illume_pad_reach_of(pad_mode mode, int64_t s, int64_t n, int64_t low, int64_t high) {
    illume_pad_reach reach = {{s, 0}, {1, 1}, {1, 0}};
    switch (mode) {
    case PAD_CONSTANT: break;
    case PAD_EDGE:
        /* The first coordinate takes everything before it, the last everything after. */
        if (s == 0) {
            reach.first[0] = low;
            reach.count[0] = (n == 1 ? high : 1) - low;
        } else if (s == n - 1) {
            reach.count[0] = high - s;
        }
        break;
    case PAD_WRAP:
        reach.step[0] = n;
        reach.count[0] = illume_pad_progression(s, n, low, high, &reach.first[0]);
        break;
    case PAD_REFLECT:
        if (n == 1) {
            reach.first[0] = low;
            reach.count[0] = high - low;
            break;
        }
        /* Period 2 (n - 1): c reads s where c = s or c = -s modulo the period;
         * the ends are their own mirror images. */
        reach.step[0] = reach.step[1] = 2 * (n - 1);
        reach.count[0] = illume_pad_progression(s, reach.step[0], low, high, &reach.first[0]);
        if (s != 0 && s != n - 1)
            reach.count[1] = illume_pad_progression(reach.step[1] - s, reach.step[1], low, high, &reach.first[1]);
        break;
    }
    return reach;
}

/* The k-th coordinate of a reach (k below count[0] + count[1]). */
ILLUME_INLINE int64_t illume_pad_reach_at(const illume_pad_reach *reach, int64_t k) {
    return k < reach->count[0] ? reach->first[0] + k * reach->step[0]
                               : reach->first[1] + (k - reach->count[0]) * reach->step[1];
}

/* The output coordinates along axis d that read input coordinate j, or a
 * reach of no coordinates where a negative pad crops j. Negative pads crop
 * first and the mode pads what they leave, as the forward does. */
ILLUME_INLINE illume_pad_reach illume_pad_axis_reach(const pad_desc *desc, int d, int64_t j) {
    illume_pad_axis axis = illume_pad_axis_of(desc, d);
    int64_t s = j - axis.crop;
    if (s < 0 || s >= axis.kept) {
        illume_pad_reach none = {{0, 0}, {1, 1}, {0, 0}};
        return none;
    }
    illume_pad_reach reach = illume_pad_reach_of(desc->mode, s, axis.kept, -axis.shift, desc->out_dims[d] - axis.shift);
    reach.first[0] += axis.shift;
    reach.first[1] += axis.shift;
    return reach;
}

/* The gradient of one input element from dy (dense, out_strides): the sum
 * over the outputs that read it, reaches[d] naming those along axis d. */
ILLUME_INLINE float illume_pad_gather(int rank, const illume_pad_reach *const *reaches, const int64_t *out_strides,
                                      const float *dy) {
    int64_t term[ILLUME_MAX_RANK], terms[ILLUME_MAX_RANK];
    for (int d = 0; d < rank; d++) {
        term[d] = 0;
        terms[d] = reaches[d]->count[0] + reaches[d]->count[1];
        if (terms[d] == 0) return 0.0f;
    }
    float sum = 0.0f;
    for (;;) {
        int64_t offset = 0;
        for (int d = 0; d < rank; d++) offset += illume_pad_reach_at(reaches[d], term[d]) * out_strides[d];
        sum += dy[offset];
        int d = rank - 1;
        while (d >= 0 && ++term[d] == terms[d]) term[d--] = 0;
        if (d < 0) return sum;
    }
}

#endif
