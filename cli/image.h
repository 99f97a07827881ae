/* Decoding PNG and JPEG images and turning them into model inputs. */
#ifndef ILLUME_CLI_IMAGE_H
#define ILLUME_CLI_IMAGE_H

#include <stddef.h>
#include <stdint.h>

typedef struct image {
    int width, height;
    int channels;          /* 1 (gray) or 3 (RGB) */
    unsigned char *pixels; /* height x width x channels, row-major */
} image;

enum { IMAGE_UNREADABLE = 1, IMAGE_CORRUPT = 2 };

/* Decodes a PNG or JPEG file (by its signature, not its name); 0 on success,
 * otherwise IMAGE_UNREADABLE (cannot open or not a file) or IMAGE_CORRUPT
 * (not a PNG or JPEG, or damaged) with a message in error. */
int image_load(const char *path, image *result, char *error, size_t size);
void image_free(image *img);

typedef struct preprocess {
    int width, height;  /* resize target */
    int channels;       /* 1 or 3 */
    float mean[3], std[3]; /* applied to values scaled to [0, 1] */
    int channels_last;  /* NHWC instead of NCHW */
} preprocess;

/* Writes channels x height x width (or height x width x channels) floats:
 * bilinear resize (half-pixel centres), scale to [0, 1], (x - mean) / std. */
void image_to_tensor(const image *img, const preprocess *options, float *out);

/* Writes an RGB image as an 8-bit PNG; 0 on success. */
int image_save_png(const char *path, int width, int height, const unsigned char *rgb, char *error, size_t size);

/* True when the file starts like a PNG or JPEG. */
int image_is_image(const char *path);

#endif
