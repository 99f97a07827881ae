/* Per-element math of the broadcast binary ops, shared by the CPU backend
 * and the CUDA kernels. */
#ifndef ILLUME_KERNELS_BINARY_H
#define ILLUME_KERNELS_BINARY_H

#include <math.h>

#include "backend.h"
#include "device.h"

ILLUME_INLINE float illume_binary(binary_kind kind, float a, float b) {
    switch (kind) {
    case BINARY_ADD: return a + b;
    case BINARY_SUB: return a - b;
    case BINARY_MUL: return a * b;
    case BINARY_DIV: return a / b;
    case BINARY_PRELU: return a >= 0.0f ? a : a * b;
    case BINARY_POW: return powf(a, b);
    /* NaN wins, as in ONNX Runtime and PyTorch (fmaxf would drop it). */
    case BINARY_MAX: return a != a || a > b ? a : b;
    case BINARY_MIN: return a != a || a < b ? a : b;
    }
    return a;
}

/* d(a op b) / d(operand) at (a, b), operand 0 for a and 1 for b: the
 * derivatives PyTorch's autograd uses (PRelu at a = 0 takes the slope's side;
 * Max and Min split a tie's gradient in halves; Pow's exponent takes
 * a^b ln a, and its base at 0 the limit b 0^(b-1)). */
ILLUME_INLINE float illume_binary_partial(binary_kind kind, int operand, float a, float b) {
    switch (kind) {
    case BINARY_ADD: return 1.0f;
    case BINARY_SUB: return operand == 0 ? 1.0f : -1.0f;
    case BINARY_MUL: return operand == 0 ? b : a;
    case BINARY_DIV: return operand == 0 ? 1.0f / b : -(a / b) / b;
    case BINARY_PRELU:
        if (operand == 0) return a > 0.0f ? 1.0f : b;
        return a > 0.0f ? 0.0f : a;
    case BINARY_POW:
        if (operand == 0) return b == 0.0f ? 0.0f : b * powf(a, b - 1.0f);
        return a == 0.0f && b >= 0.0f ? 0.0f : powf(a, b) * logf(a);
    case BINARY_MAX:
        if (a == b) return 0.5f;
        return (operand == 0) == (a > b) ? 1.0f : 0.0f;
    case BINARY_MIN:
        if (a == b) return 0.5f;
        return (operand == 0) == (a < b) ? 1.0f : 0.0f;
    }
    return 1.0f;
}

/* Which operands illume_binary_partial reads: bit 0 for a, bit 1 for b. */
ILLUME_INLINE int illume_binary_partial_reads(binary_kind kind, int operand) {
    switch (kind) {
    case BINARY_ADD:
    case BINARY_SUB: return 0;
    case BINARY_MUL: return operand == 0 ? 2 : 1;
    case BINARY_DIV: return operand == 0 ? 2 : 3;
    case BINARY_PRELU: return operand == 0 ? 3 : 1;
    case BINARY_POW:
    case BINARY_MAX:
    case BINARY_MIN: return 3;
    }
    return 3;
}

#endif
