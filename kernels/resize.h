/* Per-element math of Resize: where an output coordinate falls in the input,
 * and how nearest mode rounds it. Shared by the CPU backend and CUDA. */
#ifndef ILLUME_KERNELS_RESIZE_H
#define ILLUME_KERNELS_RESIZE_H

#include <math.h>

#include "backend.h"
#include "device.h"

/* The input coordinate of output position `out` along `axis`. */
ILLUME_INLINE float illume_resize_source(const resize_desc *desc, int axis, int64_t out) {
    float scale = desc->scales[axis];
    float in_length = (float)desc->in_dims[axis], out_length = (float)desc->out_dims[axis];
    float x = (float)out;
    switch (desc->coordinates) {
    case RESIZE_HALF_PIXEL: return (x + 0.5f) / scale - 0.5f;
    case RESIZE_HALF_PIXEL_SYMMETRIC: {
        float adjustment = out_length / (scale * in_length);
        float center = in_length / 2.0f;
        float offset = center * (1.0f - adjustment);
        return offset + (x + 0.5f) / scale - 0.5f;
    }
    case RESIZE_PYTORCH_HALF_PIXEL: return out_length > 1.0f ? (x + 0.5f) / scale - 0.5f : 0.0f;
    case RESIZE_ALIGN_CORNERS: return out_length > 1.0f ? x * (in_length - 1.0f) / (out_length - 1.0f) : 0.0f;
    case RESIZE_ASYMMETRIC: return x / scale;
    case RESIZE_TF_CROP_AND_RESIZE: {
        float start = desc->roi_start[axis], end = desc->roi_end[axis];
        if (out_length > 1.0f) return start * (in_length - 1.0f) + x * (end - start) * (in_length - 1.0f) / (out_length - 1.0f);
        return 0.5f * (start + end) * (in_length - 1.0f);
    }
    }
    return x / scale;
}

ILLUME_INLINE int64_t illume_resize_nearest(resize_rounding rounding, float x) {
    switch (rounding) {
    case RESIZE_ROUND_PREFER_FLOOR: return x == floorf(x) + 0.5f ? (int64_t)floorf(x) : (int64_t)roundf(x);
    case RESIZE_ROUND_PREFER_CEIL: return x == floorf(x) + 0.5f ? (int64_t)ceilf(x) : (int64_t)roundf(x);
    case RESIZE_FLOOR: return (int64_t)floorf(x);
    case RESIZE_CEIL: return (int64_t)ceilf(x);
    }
    return (int64_t)floorf(x);
}

#endif
