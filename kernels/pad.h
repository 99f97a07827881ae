/* Per-element math of Pad: which input coordinate an output coordinate reads.
 * Shared by the CPU backend and the CUDA kernels. */
#ifndef ILLUME_KERNELS_PAD_H
#define ILLUME_KERNELS_PAD_H

#include <stdint.h>

#include "backend.h"
#include "device.h"

/* The input coordinate for coordinate i (already shifted by the begin pad) of
 * an axis of length n, or -1 where constant mode writes the pad value. */
ILLUME_INLINE int64_t illume_pad_source(pad_mode mode, int64_t i, int64_t n) {
    if (i >= 0 && i < n) return i;
    switch (mode) {
    case PAD_CONSTANT: return -1;
    case PAD_EDGE: return i < 0 ? 0 : n - 1;
    case PAD_REFLECT: {
        if (n == 1) return 0;
        int64_t period = 2 * (n - 1);
        int64_t r = i % period;
        if (r < 0) r += period;
        return r < n ? r : period - r;
    }
    case PAD_WRAP: {
        int64_t r = i % n;
        return r < 0 ? r + n : r;
    }
    }
    return -1;
}

/* Axis d of a Pad: negative pads crop `crop` coordinates at its start (and
 * maybe some at its end), `kept` remain, and the mode pads those: output
 * coordinate c reads kept coordinate illume_pad_source(mode, c - shift, kept). */
typedef struct illume_pad_axis {
    int64_t crop, kept, shift;
} illume_pad_axis;

ILLUME_INLINE illume_pad_axis illume_pad_axis_of(const pad_desc *desc, int d) {
    int64_t begin = desc->pad_begin[d], end = desc->out_dims[d] - desc->in_dims[d] - begin;
    illume_pad_axis axis;
    axis.crop = begin < 0 ? -begin : 0;
    axis.kept = desc->in_dims[d] - axis.crop - (end < 0 ? -end : 0);
    axis.shift = begin > 0 ? begin : 0;
    return axis;
}

/* What a Pad and its backward compute once per call: each axis's crop and
 * shift, x's and y's strides and sizes. */
typedef struct illume_pad_geometry {
    illume_pad_axis axes[ILLUME_MAX_RANK];
    int64_t in_strides[ILLUME_MAX_RANK], out_strides[ILLUME_MAX_RANK];
    int64_t inputs, outputs;
} illume_pad_geometry;

ILLUME_INLINE illume_pad_geometry illume_pad_setup(const pad_desc *desc) {
    illume_pad_geometry geometry;
    geometry.inputs = geometry.outputs = 1;
    for (int d = desc->rank - 1; d >= 0; d--) {
        geometry.in_strides[d] = geometry.inputs;
        geometry.out_strides[d] = geometry.outputs;
        geometry.inputs *= desc->in_dims[d];
        geometry.outputs *= desc->out_dims[d];
        geometry.axes[d] = illume_pad_axis_of(desc, d);
    }
    return geometry;
}

/* Output element i: the input element it reads, or the pad value. */
ILLUME_INLINE float illume_pad_output(const pad_desc *desc, const illume_pad_geometry *geometry, const float *x,
                                      int64_t i) {
    int64_t rest = i, offset = 0;
    for (int d = desc->rank - 1; d >= 0; d--) {
        const illume_pad_axis *axis = &geometry->axes[d];
        int64_t source = illume_pad_source(desc->mode, rest % desc->out_dims[d] - axis->shift, axis->kept);
        rest /= desc->out_dims[d];
        if (source < 0) return desc->value;
        offset += (axis->crop + source) * geometry->in_strides[d];
    }
    return x[offset];
}

#endif
