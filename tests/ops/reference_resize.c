/* Resize, nearest and n-linear, from the formulas of the ONNX spec. The
 * input coordinate of each output is computed in float32, the tensor type,
 * as the spec's formulas are written; neighbours outside the input repeat
 * the edge. */
#include <math.h>
#include <string.h>

#include "reference.h"

static float source_coordinate(const char *mode, float x, float scale, int64_t in, int64_t out, float roi_start,
                               float roi_end) {
    float length_original = (float)in, length_resized = (float)out;
    if (strcmp(mode, "half_pixel") == 0) return (x + 0.5f) / scale - 0.5f;
    if (strcmp(mode, "half_pixel_symmetric") == 0) {
        float output_width = scale * length_original;
        float adjustment = length_resized / output_width;
        float center = length_original / 2.0f;
        float offset = center * (1.0f - adjustment);
        return offset + (x + 0.5f) / scale - 0.5f;
    }
    if (strcmp(mode, "pytorch_half_pixel") == 0) return length_resized > 1.0f ? (x + 0.5f) / scale - 0.5f : 0.0f;
    if (strcmp(mode, "align_corners") == 0)
        return length_resized > 1.0f ? x * (length_original - 1.0f) / (length_resized - 1.0f) : 0.0f;
    if (strcmp(mode, "asymmetric") == 0) return x / scale;
    /* tf_crop_and_resize */
    if (length_resized > 1.0f)
        return roi_start * (length_original - 1.0f) +
               x * (roi_end - roi_start) * (length_original - 1.0f) / (length_resized - 1.0f);
    return 0.5f * (roi_start + roi_end) * (length_original - 1.0f);
}

static int64_t nearest_index(const char *mode, double x) {
    double below = floor(x), fraction = x - below;
    if (strcmp(mode, "floor") == 0) return (int64_t)below;
    if (strcmp(mode, "ceil") == 0) return (int64_t)ceil(x);
    if (fraction == 0.5) return (int64_t)(strcmp(mode, "round_prefer_ceil") == 0 ? below + 1.0 : below);
    return (int64_t)(fraction < 0.5 ? below : below + 1.0);
}

static int64_t clamp_index(int64_t i, int64_t n) { return i < 0 ? 0 : i >= n ? n - 1 : i; }

illume_tensor reference_resize(const illume_tensor *x, const resize_params *params) {
    int rank = x->rank;
    const char *coordinate_mode = params->coordinate_mode ? params->coordinate_mode : "half_pixel";
    const char *nearest_mode = params->nearest_mode ? params->nearest_mode : "round_prefer_floor";
    int linear = params->mode && strcmp(params->mode, "linear") == 0;
    int crop = strcmp(coordinate_mode, "tf_crop_and_resize") == 0;
    float scales[ILLUME_MAX_RANK], roi_start[ILLUME_MAX_RANK], roi_end[ILLUME_MAX_RANK];
    int64_t dims[ILLUME_MAX_RANK] = {0};
    for (int d = 0; d < rank; d++) {
        roi_start[d] = crop ? params->roi[d] : 0.0f;
        roi_end[d] = crop ? params->roi[rank + d] : 1.0f;
        /* output_dimension = floor(input_dimension * scale) unless sizes are given; scale = output_size /
         * input_size unless scales are given. The spec's prose multiplies by (roi_end - roi_start) as well,
         * but ONNX's own shape inference and reference implementation, and onnxruntime, leave the roi out
         * (tf_crop_and_resize with scales); models carry the shapes inference gives, so this follows them. */
        if (params->sizes) dims[d] = params->sizes[d];
        else dims[d] = (int64_t)floor((double)x->dims[d] * (double)params->scales[d]);
        scales[d] = params->scales ? params->scales[d] : (float)dims[d] / (float)x->dims[d];
    }
    illume_tensor y = reference_tensor(rank, dims);
    int64_t count = 1;
    for (int d = 0; d < rank; d++) count *= dims[d];
    for (int64_t index = 0; index < count; index++) {
        int64_t at[ILLUME_MAX_RANK], low[ILLUME_MAX_RANK], high[ILLUME_MAX_RANK];
        double weight[ILLUME_MAX_RANK];
        int outside = 0;
        reference_coordinates(rank, dims, index, at);
        for (int d = 0; d < rank; d++) {
            int64_t n = x->dims[d];
            float source = source_coordinate(coordinate_mode, (float)at[d], scales[d], n, dims[d], roi_start[d],
                                             roi_end[d]);
            if (crop && (source < 0.0f || source > (float)(n - 1))) outside = 1;
            if (!linear) {
                low[d] = high[d] = clamp_index(nearest_index(nearest_mode, source), n);
                weight[d] = 0.0;
            } else {
                double below = floor((double)source);
                low[d] = clamp_index((int64_t)below, n);
                high[d] = clamp_index((int64_t)below + 1, n);
                weight[d] = (double)source - below;
            }
        }
        if (outside) {
            ((float *)y.data)[index] = params->extrapolation_value;
            continue;
        }
        double sum = 0.0;
        for (int corner = 0; corner < (1 << rank); corner++) {
            double w = 1.0;
            int64_t source[ILLUME_MAX_RANK];
            for (int d = 0; d < rank; d++) {
                int upper = (corner >> d) & 1;
                w *= upper ? weight[d] : 1.0 - weight[d];
                source[d] = upper ? high[d] : low[d];
            }
            if (w != 0.0) sum += w * ((const float *)x->data)[reference_offset(rank, x->dims, source)];
        }
        ((float *)y.data)[index] = (float)sum;
    }
    return y;
}
