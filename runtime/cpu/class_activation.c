/* Class activation maps: each channel's weight summed in order in double,
 * then each pixel's map, as OpenMP loops over kernels/activation_map.h. */
#include "activation_map.h"
#include "cpu_backend.h"

illume_status cpu_class_activation(backend *self, const class_activation_desc *desc, const float *activation,
                                   const float *gradient, float *weights, float *maps) {
    (void)self;
    int64_t rows = desc->rows, channels = desc->channels, plane = desc->plane;
    int plus_plus = desc->plus_plus, last = desc->channels_last;
#pragma omp parallel for schedule(static)
    for (int64_t pair = 0; pair < rows * channels; pair++) {
        int64_t row = pair / channels, channel = pair % channels;
        const float *a = activation + row * channels * plane, *g = gradient + row * channels * plane;
        double activation_sum = 0.0, term_sum = 0.0;
        for (int64_t i = 0; plus_plus && i < plane; i++)
            activation_sum += a[illume_cam_offset(last, channels, plane, channel, i)];
        for (int64_t i = 0; i < plane; i++) {
            float gradient_value = g[illume_cam_offset(last, channels, plane, channel, i)];
            term_sum += illume_cam_term(plus_plus, activation_sum, gradient_value);
        }
        weights[pair] = illume_cam_weight(plus_plus, term_sum, plane);
    }
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < rows * plane; i++) {
        int64_t row = i / plane;
        maps[i] = illume_cam_pixel(weights + row * channels, activation + row * channels * plane, last, channels,
                                   plane, i % plane);
    }
    return ILLUME_OK;
}
