/* Per-element math of the broadcast binary ops' backward pass, shared by the
 * CPU backend and the CUDA kernels: the gradient of one element of an
 * operand, summed in double over the axes it was broadcast along, so that
 * each thread writes only its own element. */
#ifndef ILLUME_KERNELS_BINARY_BACKWARD_H
#define ILLUME_KERNELS_BINARY_BACKWARD_H

#include <stdint.h>

#include "backend.h"
#include "binary.h"
#include "device.h"

/* The axes of y in two groups: those the operand has (walked once per
 * operand element) and those it is broadcast along (summed over). Strides are
 * per axis for y (dense), a and b; neighbouring axes that every tensor walks
 * contiguously merge, so that the loops run over as few axes as possible. */
typedef struct illume_axis_group {
    int rank;
    int64_t dims[ILLUME_MAX_RANK], y[ILLUME_MAX_RANK], a[ILLUME_MAX_RANK], b[ILLUME_MAX_RANK];
    int64_t count;
} illume_axis_group;

ILLUME_INLINE void illume_axis_group_append(illume_axis_group *group, int64_t dim, int64_t y, int64_t a, int64_t b) {
    int last = group->rank - 1;
    group->count *= dim;
    if (last >= 0 && group->y[last] == y * dim && group->a[last] == a * dim && group->b[last] == b * dim) {
        group->dims[last] *= dim;
        group->y[last] = y;
        group->a[last] = a;
        group->b[last] = b;
        return;
    }
    group->dims[group->rank] = dim;
    group->y[group->rank] = y;
    group->a[group->rank] = a;
    group->b[group->rank] = b;
    group->rank++;
}

/* Splits y's axes for the gradient of operand 0 (a) or 1 (b). */
ILLUME_INLINE void illume_binary_backward_groups(const binary_desc *desc, int operand, illume_axis_group *kept,
                                                 illume_axis_group *broadcast) {
    const int64_t *own = operand == 0 ? desc->a_strides : desc->b_strides;
    int64_t y_stride = 1, y_strides[ILLUME_MAX_RANK];
    kept->rank = broadcast->rank = 0;
    kept->count = broadcast->count = 1;
    for (int d = desc->rank - 1; d >= 0; d--) {
        y_strides[d] = y_stride;
        y_stride *= desc->dims[d];
    }
    for (int d = 0; d < desc->rank; d++) {
        if (desc->dims[d] == 1) continue;
        illume_axis_group_append(own[d] != 0 ? kept : broadcast, desc->dims[d], y_strides[d], desc->a_strides[d],
                                 desc->b_strides[d]);
    }
}

/* The gradient of the operand's element e (in the kept axes' order), into
 * dx at its place: the sum over the broadcast positions of dy times the
 * partial (a and b read only where the kind's partial needs them). */
ILLUME_INLINE void illume_binary_backward_element(binary_kind kind, int operand, const illume_axis_group *kept,
                                                  const illume_axis_group *broadcast, const float *a,
                                                  const float *b, const float *dy, float *dx, int64_t e) {
    int reads = illume_binary_partial_reads(kind, operand);
    const int64_t *kept_own = operand == 0 ? kept->a : kept->b;
    int64_t rest = e, at_y = 0, at_a = 0, at_b = 0, at_dx = 0;
    for (int k = kept->rank - 1; k >= 0; k--) {
        int64_t coordinate = rest % kept->dims[k];
        rest /= kept->dims[k];
        at_y += coordinate * kept->y[k];
        at_a += coordinate * kept->a[k];
        at_b += coordinate * kept->b[k];
        at_dx += coordinate * kept_own[k];
    }
    /* Walk the broadcast positions like an odometer, adding each axis's strides. */
    int64_t coordinates[ILLUME_MAX_RANK] = {0};
    double sum = 0.0;
    for (int64_t r = 0; r < broadcast->count; r++) {
        float value_a = (reads & 1) ? a[at_a] : 0.0f, value_b = (reads & 2) ? b[at_b] : 0.0f;
        sum += (double)(dy[at_y] * illume_binary_partial(kind, operand, value_a, value_b));
        for (int k = broadcast->rank - 1; k >= 0; k--) {
            at_y += broadcast->y[k];
            at_a += broadcast->a[k];
            at_b += broadcast->b[k];
            if (++coordinates[k] < broadcast->dims[k]) break;
            coordinates[k] = 0;
            at_y -= broadcast->y[k] * broadcast->dims[k];
            at_a -= broadcast->a[k] * broadcast->dims[k];
            at_b -= broadcast->b[k] * broadcast->dims[k];
        }
    }
    dx[at_dx] = (float)sum;
}

#endif
