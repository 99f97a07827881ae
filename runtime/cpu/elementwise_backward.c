/* Backward passes of the unary ops and the broadcast binary ops, as OpenMP
 * loops over the derivatives of kernels/activation.h and the gathers of
 * kernels/binary_backward.h. */
#include "activation.h"
#include "binary_backward.h"
#include "cpu_backend.h"

#define PARALLEL_THRESHOLD 32768

illume_status cpu_unary_backward(backend *self, const unary_backward_desc *desc, const float *x, const float *y,
                                 const float *dy, float *dx) {
    illume_context *context = self ? self->context : NULL;
    unary_kind kind = desc->kind;
    int reads = illume_unary_gradient_reads(kind);
    if (!x && (reads == ILLUME_READS_INPUT || (reads == ILLUME_READS_EITHER && !y)))
        return illume_fail(context, ILLUME_ERROR_INTERNAL, "the gradient of unary op %d needs its %s", (int)kind,
                           reads == ILLUME_READS_INPUT ? "input" : "input or output");
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
    illume_axis_group kept, broadcast;
    illume_binary_backward_groups(desc, operand, &kept, &broadcast);
    int64_t total = kept.count * broadcast.count;
#pragma omp parallel for schedule(static) if (total > PARALLEL_THRESHOLD && kept.count > 1)
    for (int64_t e = 0; e < kept.count; e++)
        illume_binary_backward_element(kind, operand, &kept, &broadcast, a, b, dy, dx, e);
    return ILLUME_OK;
}
