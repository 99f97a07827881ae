/* The per-element math of DeepLIFT's rescale rule (Shrikumar et al. 2017),
 * as Captum's DeepLift computes it. A batch holds the inputs in its first
 * half and their baselines (references) in its second, so an element and its
 * reference lie `half` elements apart. */
#ifndef ILLUME_KERNELS_RESCALE_H
#define ILLUME_KERNELS_RESCALE_H

#include "activation.h"
#include "device.h"

/* Below this input difference the plain derivative stands (Captum's eps). */
#define ILLUME_DEEPLIFT_EPSILON 1e-10f

ILLUME_INLINE int illume_deeplift_differs(float x, float reference) {
    float difference = x - reference;
    return !(difference < ILLUME_DEEPLIFT_EPSILON && difference > -ILLUME_DEEPLIFT_EPSILON);
}

/* A nonlinearity: the gradient times the multiplier (y - y_ref) / (x - x_ref),
 * the same for an element and its reference. */
ILLUME_INLINE float illume_deeplift_rescale(float x, float x_reference, float y, float y_reference, float dy) {
    return dy * (y - y_reference) / (x - x_reference);
}

/* Max pooling, before routing back: the output's change split at the cross
 * maximum of the two outputs, the input half's part and the reference half's. */
ILLUME_INLINE float illume_deeplift_pool_input_part(float y, float y_reference, float dy) {
    float cross = y > y_reference ? y : y_reference;
    return dy * (cross - y_reference);
}

ILLUME_INLINE float illume_deeplift_pool_reference_part(float y, float y_reference, float dy_reference) {
    float cross = y > y_reference ? y : y_reference;
    return dy_reference * (y - cross);
}

/* RevealCancel at y = f(x) with reference input x0: the multipliers of the
 * positive and negative parts (positive, negative) of x's change, each part's
 * change of y averaged over the two orders the parts can come in; where a
 * part is below the threshold, the derivative at x. */
ILLUME_INLINE void illume_reveal_cancel(unary_kind kind, float alpha, float beta, float x, float x0, float positive,
                                        float negative, float *positive_multiplier, float *negative_multiplier) {
    float at_reference = illume_unary(kind, alpha, beta, x0);
    float after_positive = illume_unary(kind, alpha, beta, x0 + positive);
    float after_negative = illume_unary(kind, alpha, beta, x0 + negative);
    float after_both = illume_unary(kind, alpha, beta, x0 + positive + negative);
    float derivative = illume_unary_gradient(kind, alpha, beta, RULE_GRADIENT, x, 1.0f);
    float positive_change = 0.5f * (after_positive - at_reference) + 0.5f * (after_both - after_negative);
    float negative_change = 0.5f * (after_negative - at_reference) + 0.5f * (after_both - after_positive);
    *positive_multiplier = illume_deeplift_differs(positive, 0.0f) ? positive_change / positive : derivative;
    *negative_multiplier = illume_deeplift_differs(negative, 0.0f) ? negative_change / negative : derivative;
}

#endif
