#include "cam.h"

#include <math.h>

void cam_map(illume_method method, const float *activation, const float *gradient, int64_t channels,
             int64_t height, int64_t width, float *map) {
    int64_t plane = height * width;
    for (int64_t i = 0; i < plane; i++) map[i] = 0.0f;
    for (int64_t c = 0; c < channels; c++) {
        const float *a = activation + c * plane, *g = gradient + c * plane;
        double weight = 0.0;
        if (method == ILLUME_GRADCAM_PLUS_PLUS) {
            double activation_sum = 0.0;
            for (int64_t i = 0; i < plane; i++) activation_sum += a[i];
            for (int64_t i = 0; i < plane; i++) {
                double g2 = (double)g[i] * g[i], g3 = g2 * g[i];
                double alpha = g[i] != 0.0f ? g2 / (2.0 * g2 + activation_sum * g3 + 1e-6) : 0.0;
                weight += alpha * (g[i] > 0.0f ? g[i] : 0.0f);
            }
        } else {
            for (int64_t i = 0; i < plane; i++) weight += g[i];
            weight /= (double)plane;
        }
        for (int64_t i = 0; i < plane; i++) map[i] += (float)weight * a[i];
    }
    for (int64_t i = 0; i < plane; i++) map[i] = map[i] > 0.0f ? map[i] : 0.0f;
}

static float clampf(float value, float low, float high) { return value < low ? low : (value > high ? high : value); }

void cam_resize(const float *map, int64_t height, int64_t width, float *out, int64_t out_height, int64_t out_width,
                int bilinear) {
    float scale_y = (float)height / (float)out_height, scale_x = (float)width / (float)out_width;
    for (int64_t y = 0; y < out_height; y++) {
        for (int64_t x = 0; x < out_width; x++) {
            if (!bilinear) {
                int64_t sy = (int64_t)floorf((float)y * scale_y), sx = (int64_t)floorf((float)x * scale_x);
                sy = sy < height ? sy : height - 1;
                sx = sx < width ? sx : width - 1;
                out[y * out_width + x] = map[sy * width + sx];
                continue;
            }
            float fy = clampf(((float)y + 0.5f) * scale_y - 0.5f, 0.0f, (float)(height - 1));
            float fx = clampf(((float)x + 0.5f) * scale_x - 0.5f, 0.0f, (float)(width - 1));
            int64_t y0 = (int64_t)fy, x0 = (int64_t)fx;
            int64_t y1 = y0 + 1 < height ? y0 + 1 : y0, x1 = x0 + 1 < width ? x0 + 1 : x0;
            float wy = fy - (float)y0, wx = fx - (float)x0;
            float top = (1 - wx) * map[y0 * width + x0] + wx * map[y0 * width + x1];
            float bottom = (1 - wx) * map[y1 * width + x0] + wx * map[y1 * width + x1];
            out[y * out_width + x] = (1 - wy) * top + wy * bottom;
        }
    }
}
