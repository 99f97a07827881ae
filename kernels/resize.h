/* Per-element math of Resize: where an output coordinate falls in the input,
 * how nearest mode rounds it, which inputs it reads with what weights, and
 * so each output element. Shared by the CPU backend and CUDA. */
#ifndef ILLUME_KERNELS_RESIZE_H
#define ILLUME_KERNELS_RESIZE_H

#include <math.h>
#include <stdint.h>

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

/* The input coordinates output coordinate `out` of `axis` reads, as the
 * forward computes them: *low with weight 1 - *weight, *high with *weight
 * (nearest mode: *low only, weight 0). Returns 0 where tf_crop_and_resize
 * extrapolates, which reads nothing. */
ILLUME_INLINE int illume_resize_taps(const resize_desc *desc, int axis, int64_t out, int64_t *low, int64_t *high,
                                     float *weight) {
    int64_t n = desc->in_dims[axis];
    float source = illume_resize_source(desc, axis, out);
    /* Written so that NaN extrapolates too: a roi of NaN, or of infinities times an axis of one, gives one. */
    if (desc->coordinates == RESIZE_TF_CROP_AND_RESIZE && !(source >= 0.0f && source <= (float)(n - 1))) return 0;
    if (desc->mode == RESIZE_NEAREST) {
        int64_t index = illume_resize_nearest(desc->rounding, source);
        *low = *high = index < 0 ? 0 : (index >= n ? n - 1 : index);
        *weight = 0.0f;
    } else {
        float clamped = source < 0.0f ? 0.0f : (source > (float)(n - 1) ? (float)(n - 1) : source);
        int64_t base = (int64_t)floorf(clamped);
        *low = base;
        *high = base + 1 < n ? base + 1 : base;
        *weight = clamped - (float)base;
    }
    return 1;
}

/* Output element i: its taps' inputs weighted by the product of the axes'
 * weights, or the extrapolation value where tf_crop_and_resize reads
 * nothing. */
ILLUME_INLINE float illume_resize_output(const resize_desc *desc, const float *x, int64_t i) {
    int rank = desc->rank;
    int64_t rest = i, low[ILLUME_MAX_RANK], high[ILLUME_MAX_RANK], in_strides[ILLUME_MAX_RANK], stride = 1;
    float weight[ILLUME_MAX_RANK];
    for (int d = rank - 1; d >= 0; d--) {
        int64_t out = rest % desc->out_dims[d];
        rest /= desc->out_dims[d];
        if (!illume_resize_taps(desc, d, out, &low[d], &high[d], &weight[d])) return desc->extrapolation_value;
        in_strides[d] = stride;
        stride *= desc->in_dims[d];
    }
    float sum = 0.0f;
    for (int corner = 0; corner < (1 << rank); corner++) {
        float w = 1.0f;
        int64_t offset = 0;
        for (int d = 0; d < rank && w != 0.0f; d++) {
            int upper = (corner >> d) & 1;
            w *= upper ? weight[d] : 1.0f - weight[d];
            offset += (upper ? high[d] : low[d]) * in_strides[d];
        }
        if (w != 0.0f) sum += w * x[offset];
    }
    return sum;
}

#endif
