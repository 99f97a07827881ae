/* The per-element math of layer-wise relevance propagation (LRP), as Zennit
 * 0.5.1 defines it: a denominator z is stabilized by adding epsilon with
 * the sign of z (zero counted as positive), and a rule's relevance ratio
 * R / stabilize(z) may be gated by the sign of the node's plain output. */
#ifndef ILLUME_KERNELS_RELEVANCE_H
#define ILLUME_KERNELS_RELEVANCE_H

#include "device.h"

/* Which outputs a ratio keeps: all, those whose gate value is positive, or
 * those whose gate value is negative (the generalized gamma rule). */
typedef enum illume_relevance_gate {
    ILLUME_GATE_NONE = 0,
    ILLUME_GATE_POSITIVE = 1,
    ILLUME_GATE_NEGATIVE = 2
} illume_relevance_gate;

ILLUME_INLINE float illume_stabilize(float z, float epsilon) { return z >= 0.0f ? z + epsilon : z - epsilon; }

ILLUME_INLINE float illume_relevance_ratio(float relevance, float z, float epsilon, int gate, float gate_value) {
    if (gate == ILLUME_GATE_POSITIVE && !(gate_value > 0.0f)) return 0.0f;
    if (gate == ILLUME_GATE_NEGATIVE && !(gate_value < 0.0f)) return 0.0f;
    return relevance / illume_stabilize(z, epsilon);
}

/* One term of a rule's sum: out + coefficient * a * b (b absent: * 1). */
ILLUME_INLINE float illume_relevance_term(float out, float coefficient, float a, float b) {
    return out + coefficient * a * b;
}

#endif
