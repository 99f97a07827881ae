/* Per-element math of the broadcast binary ops, shared by the CPU backend
 * and the CUDA kernels. */
#ifndef ILLUME_KERNELS_BINARY_H
#define ILLUME_KERNELS_BINARY_H

#include "backend.h"
#include "device.h"

ILLUME_INLINE float illume_binary(binary_kind kind, float a, float b) {
    switch (kind) {
    case BINARY_ADD: return a + b;
    case BINARY_SUB: return a - b;
    case BINARY_MUL: return a * b;
    case BINARY_DIV: return a / b;
    case BINARY_PRELU: return a >= 0.0f ? a : a * b;
    }
    return a;
}

#endif
