/* Per-element math of the unary ops (activations), shared by the CPU backend
 * and the CUDA kernels. */
#ifndef ILLUME_KERNELS_ACTIVATION_H
#define ILLUME_KERNELS_ACTIVATION_H

#include <math.h>

#include "backend.h"
#include "device.h"

ILLUME_INLINE float illume_unary(unary_kind kind, float alpha, float beta, float x) {
    switch (kind) {
    case UNARY_COPY: return x;
    case UNARY_RELU: return x > 0.0f ? x : 0.0f;
    case UNARY_LEAKY_RELU: return x >= 0.0f ? x : alpha * x;
    case UNARY_SIGMOID:
        /* Split by sign so that exp never overflows. */
        if (x >= 0.0f) return 1.0f / (1.0f + expf(-x));
        else {
            float e = expf(x);
            return e / (1.0f + e);
        }
    case UNARY_TANH: return tanhf(x);
    case UNARY_HARD_SIGMOID: return fmaxf(0.0f, fminf(1.0f, alpha * x + beta));
    case UNARY_HARD_SWISH: return x * fmaxf(0.0f, fminf(1.0f, x / 6.0f + 0.5f));
    case UNARY_ELU: return x >= 0.0f ? x : alpha * (expf(x) - 1.0f);
    case UNARY_CLIP: return x < alpha ? alpha : (x > beta ? beta : x);
    case UNARY_LINEAR: return alpha * x + beta;
    case UNARY_ABS: return fabsf(x);
    case UNARY_SWISH: return x * illume_unary(UNARY_SIGMOID, 0.0f, 0.0f, x);
    case UNARY_ERF: return erff(x);
    case UNARY_EXP: return expf(x);
    case UNARY_LOG: return logf(x);
    case UNARY_SQRT: return sqrtf(x);
    case UNARY_RECIPROCAL: return 1.0f / x;
    case UNARY_SIGN: return x > 0.0f ? 1.0f : (x < 0.0f ? -1.0f : (x == 0.0f ? 0.0f : x));
    }
    return x;
}

/* The gradient through a Relu under the rules of gradient_rule. */
ILLUME_INLINE float illume_relu_gradient(gradient_rule rule, int positive, float dy) {
    switch (rule) {
    case RULE_GRADIENT: return positive ? dy : 0.0f;
    case RULE_GUIDED: return positive && dy > 0.0f ? dy : 0.0f;
    case RULE_DECONV: return dy > 0.0f ? dy : 0.0f;
    }
    return dy;
}

/* dx for the unary op at input x, given the output gradient dy: the
 * derivatives PyTorch's autograd uses (a kink gets the derivative of the
 * side that holds at it in PyTorch: 0 for Relu at 0, 1 for LeakyRelu). */
ILLUME_INLINE float illume_unary_gradient(unary_kind kind, float alpha, float beta, gradient_rule rule, float x,
                                          float dy) {
    switch (kind) {
    case UNARY_COPY: return dy;
    case UNARY_RELU: return illume_relu_gradient(rule, x > 0.0f, dy);
    case UNARY_LEAKY_RELU: return x > 0.0f ? dy : alpha * dy;
    case UNARY_SIGMOID: {
        float y = illume_unary(UNARY_SIGMOID, 0.0f, 0.0f, x);
        return dy * y * (1.0f - y);
    }
    case UNARY_TANH: {
        float y = tanhf(x);
        return dy * (1.0f - y * y);
    }
    case UNARY_HARD_SIGMOID: {
        float z = alpha * x + beta;
        return z > 0.0f && z < 1.0f ? alpha * dy : 0.0f;
    }
    case UNARY_HARD_SWISH:
        if (x < -3.0f) return 0.0f;
        if (x <= 3.0f) return dy * (x / 3.0f + 0.5f);
        return dy;
    case UNARY_ELU: return x > 0.0f ? dy : dy * alpha * expf(x);
    case UNARY_CLIP: return x > alpha && x < beta ? dy : 0.0f;
    case UNARY_LINEAR: return alpha * dy;
    case UNARY_ABS: return x > 0.0f ? dy : (x < 0.0f ? -dy : 0.0f);
    case UNARY_SWISH: {
        float y = illume_unary(UNARY_SIGMOID, 0.0f, 0.0f, x);
        return dy * y * (1.0f + x * (1.0f - y));
    }
    case UNARY_ERF: return dy * 1.1283791670955126f * expf(-x * x); /* 2 / sqrt(pi) e^(-x^2) */
    case UNARY_EXP: return dy * expf(x);
    case UNARY_LOG: return dy / x;
    case UNARY_SQRT: return dy / (2.0f * sqrtf(x));
    case UNARY_RECIPROCAL: return -dy / (x * x);
    case UNARY_SIGN: return 0.0f;
    }
    return dy;
}

/* What a unary op's derivative reads: nothing (copy, linear, sign), its
 * input only (hard swish, abs, swish and the math ops: their output does not
 * tell the slope, or only through an inverse this does not take), or either
 * its input or its output (the activations a fused node's backward reads
 * from its output). */
enum { ILLUME_READS_NOTHING, ILLUME_READS_INPUT, ILLUME_READS_EITHER };

ILLUME_INLINE int illume_unary_gradient_reads(unary_kind kind) {
    switch (kind) {
    case UNARY_COPY:
    case UNARY_LINEAR:
    case UNARY_SIGN: return ILLUME_READS_NOTHING;
    case UNARY_HARD_SWISH:
    case UNARY_ABS:
    case UNARY_SWISH:
    case UNARY_ERF:
    case UNARY_EXP:
    case UNARY_LOG:
    case UNARY_SQRT:
    case UNARY_RECIPROCAL: return ILLUME_READS_INPUT;
    case UNARY_RELU:
    case UNARY_LEAKY_RELU:
    case UNARY_SIGMOID:
    case UNARY_TANH:
    case UNARY_HARD_SIGMOID:
    case UNARY_ELU:
    case UNARY_CLIP: return ILLUME_READS_EITHER;
    }
    return ILLUME_READS_INPUT;
}

/* The same from the output y, for activations fused into the op before them
 * (only kinds whose derivative y determines: the fusion pass fuses no
 * other kind into a node whose backward runs). */
ILLUME_INLINE float illume_unary_gradient_from_output(unary_kind kind, float alpha, float beta, gradient_rule rule,
                                                      float y, float dy) {
    (void)beta;
    switch (kind) {
    case UNARY_RELU: return illume_relu_gradient(rule, y > 0.0f, dy);
    case UNARY_LEAKY_RELU: return y > 0.0f ? dy : alpha * dy;
    case UNARY_SIGMOID: return dy * y * (1.0f - y);
    case UNARY_TANH: return dy * (1.0f - y * y);
    case UNARY_HARD_SIGMOID: return y > 0.0f && y < 1.0f ? alpha * dy : 0.0f;
    case UNARY_ELU: return y > 0.0f ? dy : dy * (y + alpha);
    case UNARY_CLIP: return y > alpha && y < beta ? dy : 0.0f;
    case UNARY_LINEAR: return alpha * dy;
    default: return dy;
    }
}

#endif
