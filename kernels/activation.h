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
    }
    return x;
}

#endif
