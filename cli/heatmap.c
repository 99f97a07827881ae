#include "heatmap.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "image.h"

#define PANEL_GAP 4

static unsigned char to_byte(float value) {
    value = value < 0.0f ? 0.0f : (value > 1.0f ? 1.0f : value);
    return (unsigned char)lrintf(value * 255.0f);
}

void heatmap_image(const float *row, int64_t channels, int64_t height, int64_t width, const float *mean,
                   const float *std, unsigned char *rgb) {
    int64_t plane = height * width;
    if (channels == 1 || channels == 3) {
        for (int64_t i = 0; i < plane; i++)
            for (int c = 0; c < 3; c++) {
                int k = channels == 3 ? c : 0;
                rgb[i * 3 + c] = to_byte(row[k * plane + i] * std[k] + mean[k]);
            }
        return;
    }
    /* Not an image: the mean over channels, stretched to gray. */
    float low = INFINITY, high = -INFINITY;
    float *gray = malloc(sizeof(float) * (size_t)plane);
    if (!gray) {
        memset(rgb, 128, (size_t)plane * 3);
        return;
    }
    for (int64_t i = 0; i < plane; i++) {
        float sum = 0.0f;
        for (int64_t c = 0; c < channels; c++) sum += row[c * plane + i];
        gray[i] = sum / (float)channels;
        low = fminf(low, gray[i]);
        high = fmaxf(high, gray[i]);
    }
    for (int64_t i = 0; i < plane; i++)
        rgb[i * 3] = rgb[i * 3 + 1] = rgb[i * 3 + 2] = to_byte(high > low ? (gray[i] - low) / (high - low) : 0.5f);
    free(gray);
}

static int compare_floats(const void *a, const void *b) {
    float x = *(const float *)a, y = *(const float *)b;
    return x < y ? -1 : x > y;
}

/* The map summed over channels and resized (bilinear, half-pixel) to the panel. */
static float *display_values(const heatmap_map *map, int64_t height, int64_t width) {
    int64_t plane = map->height * map->width;
    float *summed = calloc((size_t)plane, sizeof(float));
    float *resized = malloc(sizeof(float) * (size_t)(height * width));
    if (!summed || !resized) {
        free(summed);
        free(resized);
        return NULL;
    }
    for (int64_t c = 0; c < map->channels; c++)
        for (int64_t i = 0; i < plane; i++) summed[i] += map->values[c * plane + i];
    float scale_y = (float)map->height / (float)height, scale_x = (float)map->width / (float)width;
    for (int64_t y = 0; y < height; y++)
        for (int64_t x = 0; x < width; x++) {
            float fy = fminf(fmaxf(((float)y + 0.5f) * scale_y - 0.5f, 0.0f), (float)(map->height - 1));
            float fx = fminf(fmaxf(((float)x + 0.5f) * scale_x - 0.5f, 0.0f), (float)(map->width - 1));
            int64_t y0 = (int64_t)fy, x0 = (int64_t)fx;
            int64_t y1 = y0 + 1 < map->height ? y0 + 1 : y0, x1 = x0 + 1 < map->width ? x0 + 1 : x0;
            float wy = fy - (float)y0, wx = fx - (float)x0;
            float top = (1 - wx) * summed[y0 * map->width + x0] + wx * summed[y0 * map->width + x1];
            float bottom = (1 - wx) * summed[y1 * map->width + x0] + wx * summed[y1 * map->width + x1];
            resized[y * width + x] = (1 - wy) * top + wy * bottom;
        }
    free(summed);
    return resized;
}

/* The value that maps to full colour: the maximum |value|, or a percentile of |value|. */
static float scale_of(const float *values, int64_t count, float percentile) {
    float largest = 0.0f;
    for (int64_t i = 0; i < count; i++) largest = fmaxf(largest, fabsf(values[i]));
    if (percentile <= 0.0f || percentile >= 100.0f) return largest;
    float *magnitudes = malloc(sizeof(float) * (size_t)count);
    if (!magnitudes) return largest;
    for (int64_t i = 0; i < count; i++) magnitudes[i] = fabsf(values[i]);
    qsort(magnitudes, (size_t)count, sizeof(float), compare_floats);
    int64_t index = (int64_t)floorf(percentile / 100.0f * (float)(count - 1));
    float scale = magnitudes[index];
    free(magnitudes);
    return scale > 0.0f ? scale : largest;
}

/* The jet colour map at t in [0, 1]. */
static void jet(float t, float *rgb) {
    rgb[0] = fminf(fmaxf(1.5f - fabsf(4.0f * t - 3.0f), 0.0f), 1.0f);
    rgb[1] = fminf(fmaxf(1.5f - fabsf(4.0f * t - 2.0f), 0.0f), 1.0f);
    rgb[2] = fminf(fmaxf(1.5f - fabsf(4.0f * t - 1.0f), 0.0f), 1.0f);
}

static void render(const heatmap_panel *panel, const heatmap_map *map, const float *values, unsigned char *out,
                   int64_t stride) {
    int64_t count = panel->height * panel->width;
    float scale = scale_of(values, count, panel->percentile);
    for (int64_t y = 0; y < panel->height; y++)
        for (int64_t x = 0; x < panel->width; x++) {
            int64_t i = y * panel->width + x;
            float t = scale > 0.0f ? values[i] / scale : 0.0f;
            t = fminf(fmaxf(t, -1.0f), 1.0f);
            float colour[3];
            unsigned char *pixel = out + y * stride + x * 3;
            if (map->positive) {
                jet(fmaxf(t, 0.0f), colour);
                for (int c = 0; c < 3; c++)
                    pixel[c] = to_byte(0.5f * colour[c] + 0.5f * (float)panel->image[i * 3 + c] / 255.0f);
            } else {
                /* White at zero, red for positive, blue for negative. */
                colour[0] = t < 0.0f ? 1.0f + t : 1.0f;
                colour[1] = 1.0f - fabsf(t);
                colour[2] = t > 0.0f ? 1.0f - t : 1.0f;
                for (int c = 0; c < 3; c++) pixel[c] = to_byte(colour[c]);
            }
        }
}

/* Small inputs are drawn larger, by whole pixels, so that a panel is at least this tall. */
#define PANEL_MINIMUM_HEIGHT 160

/* Enlarges an RGB picture by a whole factor, pixel by pixel. */
static void enlarge(const unsigned char *rgb, int64_t height, int64_t width, int64_t factor, unsigned char *out) {
    for (int64_t y = 0; y < height * factor; y++)
        for (int64_t x = 0; x < width * factor; x++)
            memcpy(out + (y * width * factor + x) * 3, rgb + ((y / factor) * width + x / factor) * 3, 3);
}

static int write_picture(const char *path, const unsigned char *rgb, int64_t height, int64_t width, char *error,
                         size_t size) {
    int64_t factor = height < PANEL_MINIMUM_HEIGHT ? (PANEL_MINIMUM_HEIGHT + height - 1) / height : 1;
    if (factor == 1) return image_save_png(path, (int)width, (int)height, rgb, error, size);
    unsigned char *large = malloc((size_t)(height * width * factor * factor * 3));
    if (!large) {
        snprintf(error, size, "out of memory for a heatmap");
        return -1;
    }
    enlarge(rgb, height, width, factor, large);
    int status = image_save_png(path, (int)(width * factor), (int)(height * factor), large, error, size);
    free(large);
    return status;
}

int heatmap_write(const char *path, const heatmap_panel *panel, const heatmap_map *maps, int count, char *error,
                  size_t size) {
    int64_t width = panel->width * (count + 1) + PANEL_GAP * count, height = panel->height;
    unsigned char *rgb = malloc((size_t)(width * height * 3));
    if (!rgb) {
        snprintf(error, size, "out of memory for a heatmap");
        return -1;
    }
    memset(rgb, 255, (size_t)(width * height * 3));
    int64_t stride = width * 3;
    for (int64_t y = 0; y < height; y++)
        memcpy(rgb + y * stride, panel->image + y * panel->width * 3, (size_t)(panel->width * 3));
    for (int m = 0; m < count; m++) {
        float *values = display_values(&maps[m], panel->height, panel->width);
        if (!values) {
            free(rgb);
            snprintf(error, size, "out of memory for a heatmap");
            return -1;
        }
        render(panel, &maps[m], values, rgb + (panel->width + PANEL_GAP) * (m + 1) * 3, stride);
        free(values);
    }
    int status = write_picture(path, rgb, height, width, error, size);
    free(rgb);
    return status;
}
