/* Attribution maps as pictures: signed maps in blue-white-red symmetric
 * around zero, positive maps as a jet overlay on the image, several methods
 * side by side in one panel. */
#ifndef ILLUME_CLI_HEATMAP_H
#define ILLUME_CLI_HEATMAP_H

#include <stddef.h>
#include <stdint.h>

typedef struct heatmap_map {
    const float *values; /* channels x height x width, summed over channels for display */
    int64_t channels, height, width;
    int positive;        /* a map of magnitudes (Grad-CAM, squares): jet over the image */
} heatmap_map;

typedef struct heatmap_panel {
    const unsigned char *image; /* the input as RGB, height x width x 3 */
    int64_t height, width;
    float percentile; /* scale each map by this percentile of |value| (0: its maximum) */
} heatmap_panel;

/* Writes a PNG: the image, then each map, side by side. 0 on success. */
int heatmap_write(const char *path, const heatmap_panel *panel, const heatmap_map *maps, int count, char *error,
                  size_t size);

/* The input row (channels x height x width, channels 1 or 3, normalized with
 * mean and std) back as 8-bit RGB for display; other layouts show as gray. */
void heatmap_image(const float *row, int64_t channels, int64_t height, int64_t width, const float *mean,
                   const float *std, unsigned char *rgb);

#endif
