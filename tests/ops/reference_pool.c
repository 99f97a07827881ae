/* MaxPool, AveragePool and their global forms: every output visits its
 * whole window; positions outside the input are skipped, and average
 * pooling divides by the positions inside the input, or with
 * count_include_pad by those inside the padded input. */
#include <math.h>

#include "reference.h"

illume_tensor reference_pool(const illume_tensor *x, reference_pool_kind kind, const window_params *params) {
    int spatial = x->rank - 2;
    int64_t pad_begin[3], pad_end[3], y_dims[ILLUME_MAX_RANK] = {x->dims[0], x->dims[1]};
    for (int d = 0; d < spatial; d++)
        reference_window_axis(params, d, spatial, x->dims[2 + d], params->kernel_shape[d], &pad_begin[d], &pad_end[d],
                              &y_dims[2 + d]);
    illume_tensor y = reference_tensor(x->rank, y_dims);
    int64_t y_count = 1, window_count = 1;
    for (int d = 0; d < x->rank; d++) y_count *= y_dims[d];
    for (int d = 0; d < spatial; d++) window_count *= params->kernel_shape[d];
    const float *xs = x->data;
    float *ys = y.data;
    for (int64_t index = 0; index < y_count; index++) {
        int64_t at[ILLUME_MAX_RANK];
        reference_coordinates(x->rank, y_dims, index, at);
        double sum = 0.0, best = -INFINITY;
        int64_t inside_count = 0, padded_count = 0;
        for (int64_t k = 0; k < window_count; k++) {
            int64_t kernel_at[3], x_at[ILLUME_MAX_RANK] = {at[0], at[1]};
            reference_coordinates(spatial, params->kernel_shape, k, kernel_at);
            int inside = 1, in_padded = 1;
            for (int d = 0; d < spatial; d++) {
                int64_t position = at[2 + d] * params->strides[d] + kernel_at[d] * params->dilations[d] - pad_begin[d];
                x_at[2 + d] = position;
                if (position < 0 || position >= x->dims[2 + d]) inside = 0;
                if (position < -pad_begin[d] || position >= x->dims[2 + d] + pad_end[d]) in_padded = 0;
            }
            padded_count += in_padded;
            if (!inside) continue;
            double value = xs[reference_offset(x->rank, x->dims, x_at)];
            inside_count++;
            sum += value;
            if (value > best || isnan(value)) best = value;
        }
        if (kind == REFERENCE_MAX_POOL) {
            ys[index] = (float)best;
        } else {
            int64_t divisor = params->count_include_pad ? padded_count : inside_count;
            ys[index] = (float)(sum / (double)divisor);
        }
    }
    return y;
}

illume_tensor reference_global_pool(const illume_tensor *x, reference_pool_kind kind) {
    window_params params = window_defaults();
    for (int d = 0; d < x->rank - 2; d++) params.kernel_shape[d] = x->dims[2 + d];
    return reference_pool(x, kind, &params);
}
