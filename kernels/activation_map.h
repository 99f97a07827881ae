/* The math of class activation maps (explain/gradcam.c), shared by the CPU
 * backend and the CUDA kernels. Grad-CAM (Selvaraju et al. 2017, as Captum's
 * LayerGradCam): a channel's weight is the spatial mean of its gradient.
 * Grad-CAM++ (Chattopadhay et al. 2018, as pytorch-grad-cam): the sum over
 * the plane of alpha relu(g), alpha = g^2 / (2 g^2 + sum(A) g^3 + 1e-6)
 * (0 where g is 0). The map is ReLU(sum_c w_c A_c). */
#ifndef ILLUME_KERNELS_ACTIVATION_MAP_H
#define ILLUME_KERNELS_ACTIVATION_MAP_H

#include <stdint.h>

#include "device.h"

/* One element's part of its channel's weight sum; activation_sum (sum(A)
 * over the channel's plane) is read by Grad-CAM++ only. */
ILLUME_INLINE double illume_cam_term(int plus_plus, double activation_sum, float gradient) {
    if (!plus_plus) return gradient;
    double g2 = (double)gradient * gradient, g3 = g2 * gradient;
    double alpha = gradient != 0.0f ? g2 / (2.0 * g2 + activation_sum * g3 + 1e-6) : 0.0;
    return alpha * (gradient > 0.0f ? gradient : 0.0f);
}

ILLUME_INLINE float illume_cam_weight(int plus_plus, double term_sum, int64_t plane) {
    return (float)(plus_plus ? term_sum : term_sum / (double)plane);
}

/* Where element (channel, pixel) of a row lies: planes one after another,
 * or channels last (each pixel's channels together). */
ILLUME_INLINE int64_t illume_cam_offset(int channels_last, int64_t channels, int64_t plane, int64_t channel,
                                        int64_t pixel) {
    return channels_last ? pixel * channels + channel : channel * plane + pixel;
}

/* The map at one pixel of one row: the channels' weighted activations, in channel order, then ReLU. */
ILLUME_INLINE float illume_cam_pixel(const float *weights, const float *activation, int channels_last,
                                     int64_t channels, int64_t plane, int64_t pixel) {
    float sum = 0.0f;
    for (int64_t c = 0; c < channels; c++)
        sum += weights[c] * activation[illume_cam_offset(channels_last, channels, plane, c, pixel)];
    return sum > 0.0f ? sum : 0.0f;
}

#endif
