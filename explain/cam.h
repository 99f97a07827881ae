/* Class activation maps from a layer's data and gradient, and their
 * resampling to the input's size; shared by Grad-CAM, Grad-CAM++ and guided
 * Grad-CAM. */
#ifndef ILLUME_CAM_H
#define ILLUME_CAM_H

#include <stdint.h>

#include "illume.h"

/* Grad-CAM (Selvaraju et al. 2017), as Captum's LayerGradCam with
 * relu_attributions: channel weights the spatial mean of the gradient,
 * map ReLU(sum_c w_c A_c). Grad-CAM++ (Chattopadhay et al. 2018), as
 * pytorch-grad-cam: w_c = sum_ij alpha_ij ReLU(g_ij) with
 * alpha = g^2 / (2 g^2 + sum_ij(A) g^3 + 1e-6) (0 where g is 0). */
void cam_map(illume_method method, const float *activation, const float *gradient, int64_t channels,
             int64_t height, int64_t width, float *map);

/* Resamples a map: bilinear with half-pixel centres (PyTorch's
 * interpolate, align_corners False) or nearest (PyTorch's legacy nearest,
 * source floor(i * in / out)). */
void cam_resize(const float *map, int64_t height, int64_t width, float *out, int64_t out_height, int64_t out_width,
                int bilinear);

#endif
