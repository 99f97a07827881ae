/* The per-element math of DeepLIFT's rescale rule (Shrikumar et al. 2017),
 * as Captum's DeepLift computes it. A batch holds the inputs in its first
 * half and their baselines (references) in its second, so an element and its
 * reference lie `half` elements apart. */
#ifndef ILLUME_KERNELS_RESCALE_H
#define ILLUME_KERNELS_RESCALE_H

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

#endif
