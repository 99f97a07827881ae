/* Conv and ConvTranspose by their definitions: Conv gathers every output
 * from its window, ConvTranspose scatters every input through the kernel. */
#include <stdlib.h>
#include <string.h>

#include "reference.h"

window_params window_defaults(void) {
    window_params params;
    memset(&params, 0, sizeof params);
    for (int d = 0; d < 3; d++) params.strides[d] = params.dilations[d] = 1;
    params.auto_pad = "NOTSET";
    return params;
}

static int64_t floor_divide(int64_t a, int64_t b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }
static int64_t ceil_divide(int64_t a, int64_t b) { return -floor_divide(-a, b); }

void reference_window_axis(const window_params *params, int axis, int spatial, int64_t in, int64_t kernel,
                           int64_t *pad_begin, int64_t *pad_end, int64_t *out) {
    int64_t stride = params->strides[axis];
    int64_t extent = (kernel - 1) * params->dilations[axis] + 1;
    const char *auto_pad = params->auto_pad ? params->auto_pad : "NOTSET";
    if (strcmp(auto_pad, "VALID") == 0) {
        *pad_begin = *pad_end = 0;
        *out = params->ceil_mode ? ceil_divide(in - extent + 1, stride) : floor_divide(in - extent, stride) + 1;
        return;
    }
    if (strcmp(auto_pad, "SAME_UPPER") == 0 || strcmp(auto_pad, "SAME_LOWER") == 0) {
        *out = params->ceil_mode ? ceil_divide(in, stride) : floor_divide(in - 1, stride) + 1;
        int64_t total = (*out - 1) * stride + extent - in;
        if (total < 0) total = 0;
        *pad_begin = strcmp(auto_pad, "SAME_UPPER") == 0 ? total / 2 : total - total / 2;
        *pad_end = total - *pad_begin;
        return;
    }
    *pad_begin = params->pads[axis];
    *pad_end = params->pads[spatial + axis];
    int64_t span = in + *pad_begin + *pad_end - extent;
    *out = (params->ceil_mode ? ceil_divide(span, stride) : floor_divide(span, stride)) + 1;
    /* "Sliding windows that would start in the right padded region are ignored." */
    if (params->ceil_mode && (*out - 1) * stride >= in + *pad_begin) (*out)--;
}

illume_tensor reference_conv(const illume_tensor *x, const illume_tensor *w, const illume_tensor *bias, int64_t group,
                             const window_params *params, int relu) {
    int spatial = x->rank - 2;
    int64_t batch = x->dims[0], channels = x->dims[1], features = w->dims[0];
    int64_t channels_per_group = channels / group, features_per_group = features / group;
    int64_t pad_begin[3], pad_end[3], y_dims[ILLUME_MAX_RANK] = {batch, features};
    for (int d = 0; d < spatial; d++)
        reference_window_axis(params, d, spatial, x->dims[2 + d], w->dims[2 + d], &pad_begin[d], &pad_end[d],
                              &y_dims[2 + d]);
    illume_tensor y = reference_tensor(x->rank, y_dims);
    const float *xs = x->data, *ws = w->data;
    float *ys = y.data;
    int64_t y_count = 1, kernel_count = 1;
    for (int d = 0; d < x->rank; d++) y_count *= y_dims[d];
    for (int d = 0; d < spatial; d++) kernel_count *= w->dims[2 + d];
    for (int64_t index = 0; index < y_count; index++) {
        int64_t at[ILLUME_MAX_RANK];
        reference_coordinates(x->rank, y_dims, index, at);
        int64_t n = at[0], m = at[1], g = m / features_per_group;
        double sum = bias ? ((const float *)bias->data)[m] : 0.0;
        for (int64_t c = 0; c < channels_per_group; c++) {
            for (int64_t k = 0; k < kernel_count; k++) {
                int64_t kernel_at[3], x_at[ILLUME_MAX_RANK] = {n, g * channels_per_group + c};
                reference_coordinates(spatial, w->dims + 2, k, kernel_at);
                int inside = 1;
                for (int d = 0; d < spatial; d++) {
                    x_at[2 + d] = at[2 + d] * params->strides[d] + kernel_at[d] * params->dilations[d] - pad_begin[d];
                    if (x_at[2 + d] < 0 || x_at[2 + d] >= x->dims[2 + d]) inside = 0;
                }
                if (!inside) continue;
                int64_t w_at[ILLUME_MAX_RANK] = {m, c};
                for (int d = 0; d < spatial; d++) w_at[2 + d] = kernel_at[d];
                sum += (double)xs[reference_offset(x->rank, x->dims, x_at)] *
                       (double)ws[reference_offset(w->rank, w->dims, w_at)];
            }
        }
        if (relu && sum < 0.0) sum = 0.0;
        ys[index] = (float)sum;
    }
    return y;
}

illume_tensor reference_conv_transpose(const illume_tensor *x, const illume_tensor *w, const illume_tensor *bias,
                                       int64_t group, const window_params *params) {
    int spatial = x->rank - 2;
    int64_t batch = x->dims[0], channels = x->dims[1];
    int64_t channels_per_group = channels / group, features_per_group = w->dims[1];
    int64_t features = features_per_group * group;
    int64_t pad_begin[3], y_dims[ILLUME_MAX_RANK] = {batch, features};
    const char *auto_pad = params->auto_pad ? params->auto_pad : "NOTSET";
    for (int d = 0; d < spatial; d++) {
        int64_t in = x->dims[2 + d], extent = (w->dims[2 + d] - 1) * params->dilations[d] + 1;
        int64_t full = params->strides[d] * (in - 1) + params->output_padding[d] + extent;
        if (params->has_output_shape || strncmp(auto_pad, "SAME", 4) == 0) {
            /* output_shape given, or SAME: output_shape = input_shape * strides. */
            int64_t out = params->has_output_shape ? params->output_shape[d] : in * params->strides[d];
            /* The spec's halves, total_padding / 2, round toward minus infinity as in its reference
             * implementation; a negative total (output_shape past the full output) then extends the end. */
            int64_t total = full - out, half = floor_divide(total, 2);
            pad_begin[d] = strcmp(auto_pad, "SAME_UPPER") == 0 ? half : total - half;
            y_dims[2 + d] = out;
        } else if (strcmp(auto_pad, "VALID") == 0) {
            pad_begin[d] = 0;
            y_dims[2 + d] = full;
        } else {
            pad_begin[d] = params->pads[d];
            y_dims[2 + d] = full - params->pads[d] - params->pads[spatial + d];
        }
    }
    illume_tensor y = reference_tensor(x->rank, y_dims);
    int64_t y_count = 1, y_plane = 1, x_count = 1, kernel_count = 1;
    for (int d = 0; d < x->rank; d++) {
        y_count *= y_dims[d];
        x_count *= x->dims[d];
    }
    for (int d = 0; d < spatial; d++) {
        y_plane *= y_dims[2 + d];
        kernel_count *= w->dims[2 + d];
    }
    double *sums = calloc((size_t)(y_count ? y_count : 1), sizeof(double));
    const float *xs = x->data, *ws = w->data;
    for (int64_t index = 0; sums && index < x_count; index++) {
        int64_t at[ILLUME_MAX_RANK];
        reference_coordinates(x->rank, x->dims, index, at);
        int64_t n = at[0], c = at[1], g = c / channels_per_group;
        for (int64_t m = 0; m < features_per_group; m++) {
            for (int64_t k = 0; k < kernel_count; k++) {
                int64_t kernel_at[3], y_at[ILLUME_MAX_RANK] = {n, g * features_per_group + m};
                reference_coordinates(spatial, w->dims + 2, k, kernel_at);
                int inside = 1;
                for (int d = 0; d < spatial; d++) {
                    y_at[2 + d] = at[2 + d] * params->strides[d] + kernel_at[d] * params->dilations[d] - pad_begin[d];
                    if (y_at[2 + d] < 0 || y_at[2 + d] >= y_dims[2 + d]) inside = 0;
                }
                if (!inside) continue;
                int64_t w_at[ILLUME_MAX_RANK] = {c, m};
                for (int d = 0; d < spatial; d++) w_at[2 + d] = kernel_at[d];
                sums[reference_offset(x->rank, y_dims, y_at)] +=
                    (double)xs[index] * (double)ws[reference_offset(w->rank, w->dims, w_at)];
            }
        }
    }
    float *ys = y.data;
    for (int64_t index = 0; sums && index < y_count; index++) {
        int64_t feature = (index / y_plane) % features;
        ys[index] = (float)(sums[index] + (bias ? ((const float *)bias->data)[feature] : 0.0));
    }
    free(sums);
    return y;
}
