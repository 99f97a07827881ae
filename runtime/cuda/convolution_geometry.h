/* The convolution cuDNN is asked for (runtime/cuda/convolution.c), apart
 * from cuDNN so that the CPU tests run it: cuDNN pads both sides of an axis
 * alike and knows transposed convolutions only as the backward-data of a
 * plain one, so each convolution_desc becomes a plain convolution of an
 * "image" into a "result" with symmetric pads, and uneven pads become a
 * copy between our tensor and a padded (or cropped) image. */
#ifndef ILLUME_CUDA_CONVOLUTION_GEOMETRY_H
#define ILLUME_CUDA_CONVOLUTION_GEOMETRY_H

#include <stdint.h>

#include "backend.h"

typedef struct cudnn_geometry {
    /* A plain convolution's image is its input, a transposed one's its output. */
    int64_t image_channels, result_channels;
    int64_t image_size[ILLUME_MAX_SPATIAL], result_size[ILLUME_MAX_SPATIAL];
    int64_t padded_size[ILLUME_MAX_SPATIAL];
    int64_t pad[ILLUME_MAX_SPATIAL];   /* the symmetric part, cuDNN's */
    int64_t extra[ILLUME_MAX_SPATIAL]; /* zeros added before the image (negative: cropped) */
    int uneven;
} cudnn_geometry;

void cudnn_geometry_of(const convolution_desc *desc, cudnn_geometry *g);

/* n x c x the spatial sizes, saturating at INT64_MAX: a padded image's sizes
 * grow by pads that no tensor's size bounds. */
int64_t cudnn_geometry_elements(int64_t n, int64_t c, int rank, const int64_t *size);

/* The copy between our image (unpadded) and the padded one: from ours into
 * it when cuDNN reads the image (forward_api: a plain convolution's forward,
 * a transposed one's backward), else out of it into ours. Returns whether
 * the copy writes every element of ours (a crop leaves some out). */
int cudnn_padding_copy(const convolution_desc *desc, const cudnn_geometry *g, int forward_api, copy_desc *copy);

#endif
