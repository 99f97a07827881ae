/* Backward passes of the unary ops and the broadcast binary ops, as OpenMP
 * loops over the derivatives of kernels/activation.h and kernels/binary.h. */
#include "activation.h"
#include "binary.h"
#include "cpu_backend.h"

#define PARALLEL_THRESHOLD 32768

illume_status cpu_unary_backward(backend *self, const unary_backward_desc *desc, const float *x, const float *y,
                                 const float *dy, float *dx) {
    illume_context *context = self ? self->context : NULL;
    unary_kind kind = desc->kind;
    int needs_value = kind != UNARY_COPY && kind != UNARY_LINEAR;
    if (!x && (kind == UNARY_HARD_SWISH || (needs_value && !y)))
        return illume_fail(context, ILLUME_ERROR_INTERNAL, "the gradient of unary op %d needs its %s", (int)kind,
                           kind == UNARY_HARD_SWISH ? "input" : "input or output");
    int64_t count = desc->count;
    float alpha = desc->alpha, beta = desc->beta;
    gradient_rule rule = desc->rule;
    if (kind == UNARY_RELU) {
        /* The common case, in loops the compiler vectorizes (illume_relu_gradient
         * per rule, the guided test without a branch): the mask of the input, or
         * of the output, which is positive exactly where the input is. */
        const float *mask = x ? x : y;
        if (rule == RULE_GRADIENT) {
#pragma omp parallel for simd schedule(static) if (count > PARALLEL_THRESHOLD)
            for (int64_t i = 0; i < count; i++) dx[i] = mask[i] > 0.0f ? dy[i] : 0.0f;
        } else if (rule == RULE_GUIDED) {
#pragma omp parallel for simd schedule(static) if (count > PARALLEL_THRESHOLD)
            for (int64_t i = 0; i < count; i++) dx[i] = ((mask[i] > 0.0f) & (dy[i] > 0.0f)) ? dy[i] : 0.0f;
        } else {
#pragma omp parallel for simd schedule(static) if (count > PARALLEL_THRESHOLD)
            for (int64_t i = 0; i < count; i++) dx[i] = dy[i] > 0.0f ? dy[i] : 0.0f;
        }
        return ILLUME_OK;
    }
    if (x) {
#pragma omp parallel for schedule(static) if (count > PARALLEL_THRESHOLD)
        for (int64_t i = 0; i < count; i++) dx[i] = illume_unary_gradient(kind, alpha, beta, rule, x[i], dy[i]);
    } else {
#pragma omp parallel for schedule(static) if (count > PARALLEL_THRESHOLD)
        for (int64_t i = 0; i < count; i++)
            dx[i] = illume_unary_gradient_from_output(kind, alpha, beta, rule, y ? y[i] : 0.0f, dy[i]);
    }
    return ILLUME_OK;
}

/* The axes of y in two groups: those the operand has (walked once per
 * operand element) and those it is broadcast along (summed over). Strides are
 * per axis for y (dense), a and b; neighbouring axes that every tensor walks
 * contiguously merge, so that the loops run over as few axes as possible. */
typedef struct axis_group {
    int rank;
    int64_t dims[ILLUME_MAX_RANK], y[ILLUME_MAX_RANK], a[ILLUME_MAX_RANK], b[ILLUME_MAX_RANK];
    int64_t count;
} axis_group;

static void group_append(axis_group *group, int64_t dim, int64_t y, int64_t a, int64_t b) {
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

illume_status cpu_binary_backward(backend *self, const binary_desc *desc, int operand, const float *a,
                                  const float *b, const float *dy, float *dx) {
    illume_context *context = self ? self->context : NULL;
    if (operand != 0 && operand != 1)
        return illume_fail(context, ILLUME_ERROR_INTERNAL, "binary backward of operand %d", operand);
    binary_kind kind = desc->kind;
    int reads = illume_binary_partial_reads(kind, operand);
    if (((reads & 1) && !a) || ((reads & 2) && !b))
        return illume_fail(context, ILLUME_ERROR_INTERNAL, "the gradient of binary op %d for operand %d needs %s",
                           (int)kind, operand, (reads & 1) && !a ? "a" : "b");
    const int64_t *own = operand == 0 ? desc->a_strides : desc->b_strides;
    axis_group kept = {.count = 1}, broadcast = {.count = 1};
    int64_t y_stride = 1, y_strides[ILLUME_MAX_RANK];
    for (int d = desc->rank - 1; d >= 0; d--) {
        y_strides[d] = y_stride;
        y_stride *= desc->dims[d];
    }
    for (int d = 0; d < desc->rank; d++) {
        if (desc->dims[d] == 1) continue;
        axis_group *group = own[d] != 0 ? &kept : &broadcast;
        group_append(group, desc->dims[d], y_strides[d], desc->a_strides[d], desc->b_strides[d]);
    }
    const int64_t *kept_own = operand == 0 ? kept.a : kept.b;
    int64_t total = kept.count * broadcast.count;
#pragma omp parallel for schedule(static) if (total > PARALLEL_THRESHOLD && kept.count > 1)
    for (int64_t e = 0; e < kept.count; e++) {
        int64_t rest = e, at_y = 0, at_a = 0, at_b = 0, at_dx = 0;
        for (int k = kept.rank - 1; k >= 0; k--) {
            int64_t coordinate = rest % kept.dims[k];
            rest /= kept.dims[k];
            at_y += coordinate * kept.y[k];
            at_a += coordinate * kept.a[k];
            at_b += coordinate * kept.b[k];
            at_dx += coordinate * kept_own[k];
        }
        /* Walk the broadcast positions like an odometer, adding each axis's strides. */
        int64_t coordinates[ILLUME_MAX_RANK] = {0};
        double sum = 0.0;
        for (int64_t r = 0; r < broadcast.count; r++) {
            float value_a = (reads & 1) ? a[at_a] : 0.0f, value_b = (reads & 2) ? b[at_b] : 0.0f;
            sum += (double)(dy[at_y] * illume_binary_partial(kind, operand, value_a, value_b));
            for (int k = broadcast.rank - 1; k >= 0; k--) {
                at_y += broadcast.y[k];
                at_a += broadcast.a[k];
                at_b += broadcast.b[k];
                if (++coordinates[k] < broadcast.dims[k]) break;
                coordinates[k] = 0;
                at_y -= broadcast.y[k] * broadcast.dims[k];
                at_a -= broadcast.a[k] * broadcast.dims[k];
                at_b -= broadcast.b[k] * broadcast.dims[k];
            }
        }
        dx[at_dx] = (float)sum;
    }
    return ILLUME_OK;
}
