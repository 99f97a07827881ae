/* Max and average pooling. Two-dimensional pooling, the common case, runs a
 * row at a time so that the compiler vectorizes across output columns (or,
 * channels last, across channels); it visits window positions in the order of
 * kernels/pool.h and so gives the same values and argmax bit for bit. Other
 * ranks run one output at a time through kernels/pool.h. */
#include <math.h>
#include <stdlib.h>

#include "cpu_backend.h"
#include "pool.h"

/* Output columns [*first, *last) whose window column kw falls inside the input. */
static void column_range(const pool_desc *desc, int64_t kw, int64_t *first, int64_t *last) {
    int64_t offset = kw * desc->dilation[1] - desc->pad_begin[1], stride = desc->stride[1];
    int64_t width = desc->in_size[1], out_width = desc->out_size[1];
    /* ow * stride + offset >= 0 and < width */
    int64_t low = offset >= 0 ? 0 : (-offset + stride - 1) / stride;
    int64_t high = width - offset > 0 ? (width - offset + stride - 1) / stride : 0;
    *first = low < out_width ? low : out_width;
    *last = high < out_width ? high : out_width;
    if (*last < *first) *last = *first;
}

static void pool_rows(const pool_desc *desc, const float *x, float *y, int32_t *argmax, float *best,
                      int32_t *index, int64_t plane_begin, int64_t plane_end) {
    int64_t in_h = desc->in_size[0], in_w = desc->in_size[1], out_h = desc->out_size[0], out_w = desc->out_size[1];
    int64_t stride_w = desc->stride[1];
    int is_max = desc->kind == POOL_MAX;
    for (int64_t plane = plane_begin; plane < plane_end; plane++) {
        const float *source = x + plane * in_h * in_w;
        for (int64_t oh = 0; oh < out_h; oh++) {
            int64_t start = oh * desc->stride[0] - desc->pad_begin[0];
            for (int64_t ow = 0; ow < out_w; ow++) {
                best[ow] = is_max ? -INFINITY : 0.0f;
                index[ow] = -1;
            }
            for (int64_t kh = 0; kh < desc->kernel[0]; kh++) {
                int64_t ih = start + kh * desc->dilation[0];
                if (ih < 0 || ih >= in_h) continue;
                const float *row = source + ih * in_w;
                for (int64_t kw = 0; kw < desc->kernel[1]; kw++) {
                    int64_t first, last, offset = kw * desc->dilation[1] - desc->pad_begin[1];
                    column_range(desc, kw, &first, &last);
                    if (is_max) {
                        for (int64_t ow = first; ow < last; ow++) {
                            int32_t position = (int32_t)(ih * in_w + ow * stride_w + offset);
                            float value = row[ow * stride_w + offset];
                            int better = (value > best[ow]) | (value != value) | (index[ow] < 0);
                            best[ow] = better ? value : best[ow];
                            index[ow] = better ? position : index[ow];
                        }
                    } else {
                        for (int64_t ow = first; ow < last; ow++) best[ow] += row[ow * stride_w + offset];
                    }
                }
            }
            float *out = y + (plane * out_h + oh) * out_w;
            if (is_max) {
                for (int64_t ow = 0; ow < out_w; ow++) out[ow] = index[ow] < 0 ? 0.0f : best[ow];
                if (argmax)
                    for (int64_t ow = 0; ow < out_w; ow++) argmax[(plane * out_h + oh) * out_w + ow] = index[ow];
                continue;
            }
            for (int64_t ow = 0; ow < out_w; ow++) {
                int64_t at[ILLUME_MAX_SPATIAL] = {oh, ow, 0};
                float divisor = illume_pool_divisor(desc, at);
                out[ow] = divisor > 0.0f ? best[ow] / divisor : 0.0f;
            }
        }
    }
}

/* Channels-last 2-D pooling: output pixel (n, oh, ow) over all channels at
 * once, the window visited in the same order as kernels/pool.h. */
static void pool_pixels_channels_last(const pool_desc *desc, const float *x, float *y, int32_t *argmax,
                                      float *best, int32_t *index, int64_t row_begin, int64_t row_end) {
    int64_t in_h = desc->in_size[0], in_w = desc->in_size[1], out_h = desc->out_size[0], out_w = desc->out_size[1];
    int64_t channels = desc->channels;
    int is_max = desc->kind == POOL_MAX;
    for (int64_t row = row_begin; row < row_end; row++) {
        int64_t n = row / out_h, oh = row % out_h;
        for (int64_t ow = 0; ow < out_w; ow++) {
            int64_t at[ILLUME_MAX_SPATIAL] = {oh, ow, 0};
            illume_pool_span span = illume_pool_span_at(desc, at);
            int64_t h0 = ILLUME_MAX_SPATIAL - 2, w0 = ILLUME_MAX_SPATIAL - 1;
            for (int64_t c = 0; c < channels; c++) {
                best[c] = 0.0f;
                index[c] = -1;
            }
            for (int64_t kh = span.low[h0]; kh < span.high[h0]; kh++) {
                int64_t ih = span.start[h0] + kh * span.step[h0];
                for (int64_t kw = span.low[w0]; kw < span.high[w0]; kw++) {
                    int64_t iw = span.start[w0] + kw * span.step[w0];
                    const float *pixel = x + ((n * in_h + ih) * in_w + iw) * channels;
                    int32_t position = (int32_t)(ih * in_w + iw);
                    if (is_max && !argmax) {
                        /* Without an argmax to keep, only the values: the window's first
                         * position is the same for every channel. */
                        if (index[0] < 0) {
#pragma omp simd
                            for (int64_t c = 0; c < channels; c++) best[c] = pixel[c];
                        } else {
#pragma omp simd
                            for (int64_t c = 0; c < channels; c++) {
                                float value = pixel[c];
                                best[c] = ((value > best[c]) | (value != value)) ? value : best[c];
                            }
                        }
                        index[0] = position;
                    } else if (is_max) {
                        for (int64_t c = 0; c < channels; c++) {
                            float value = pixel[c];
                            int better = (value > best[c]) | (value != value) | (index[c] < 0);
                            best[c] = better ? value : best[c];
                            index[c] = better ? position : index[c];
                        }
                    } else {
                        for (int64_t c = 0; c < channels; c++) best[c] += pixel[c];
                        index[0] = position;
                    }
                }
            }
            float *out = y + ((n * out_h + oh) * out_w + ow) * channels;
            if (is_max) {
#pragma omp simd
                for (int64_t c = 0; c < channels; c++) out[c] = best[c];
                if (argmax)
                    for (int64_t c = 0; c < channels; c++) argmax[((n * out_h + oh) * out_w + ow) * channels + c] = index[c];
            } else {
                float divisor = illume_pool_divisor(desc, at);
                for (int64_t c = 0; c < channels; c++) out[c] = index[0] >= 0 && divisor > 0.0f ? best[c] / divisor : 0.0f;
            }
        }
    }
}

static void pool_any_rank(const pool_desc *desc, const float *x, float *y, int32_t *argmax, int64_t plane_begin,
                          int64_t plane_end) {
    int64_t in_plane = 1, out_plane = 1;
    for (int d = 0; d < desc->spatial_rank; d++) {
        in_plane *= desc->in_size[d];
        out_plane *= desc->out_size[d];
    }
    for (int64_t plane = plane_begin; plane < plane_end; plane++) {
        /* Walk the outputs of the plane in order, like an odometer, to avoid divisions. */
        int64_t at[ILLUME_MAX_SPATIAL] = {0, 0, 0};
        const float *source = x + plane * in_plane;
        for (int64_t out = plane * out_plane; out < (plane + 1) * out_plane; out++) {
            y[out] = illume_pool_at(desc, source, at, argmax ? &argmax[out] : NULL);
            for (int d = desc->spatial_rank - 1; d >= 0 && ++at[d] == desc->out_size[d]; d--) at[d] = 0;
        }
    }
}

illume_status cpu_pool(backend *self, const pool_desc *desc, const float *x, float *y, int32_t *argmax) {
    illume_status status = ILLUME_OK;
    if (desc->channels_last) {
        if (desc->spatial_rank != 2)
            return illume_fail(self ? self->context : NULL, ILLUME_ERROR_INTERNAL,
                               "channels-last pooling is only planned for 2-D inputs");
        int64_t rows = desc->planes / desc->channels * desc->out_size[0];
#pragma omp parallel
        {
            float *best = malloc(sizeof(float) * (size_t)(desc->channels + 1));
            int32_t *index = malloc(sizeof(int32_t) * (size_t)(desc->channels + 1));
            if (!best || !index) {
#pragma omp critical
                status = illume_fail(self ? self->context : NULL, ILLUME_ERROR_OUT_OF_MEMORY, "out of memory in pooling");
            } else {
#pragma omp for schedule(static)
                for (int64_t row = 0; row < rows; row++)
                    pool_pixels_channels_last(desc, x, y, argmax, best, index, row, row + 1);
            }
            free(best);
            free(index);
        }
        return status;
    }
    int two_dimensional = desc->spatial_rank == 2;
    int64_t out_w = desc->out_size[1];
#pragma omp parallel
    {
        float *best = two_dimensional ? malloc(sizeof(float) * (size_t)(out_w + 1)) : NULL;
        int32_t *index = two_dimensional ? malloc(sizeof(int32_t) * (size_t)(out_w + 1)) : NULL;
        if (two_dimensional && (!best || !index)) {
#pragma omp critical
            status = illume_fail(self ? self->context : NULL, ILLUME_ERROR_OUT_OF_MEMORY, "out of memory in pooling");
        } else {
#pragma omp for schedule(static)
            for (int64_t plane = 0; plane < desc->planes; plane++) {
                if (two_dimensional) pool_rows(desc, x, y, argmax, best, index, plane, plane + 1);
                else pool_any_rank(desc, x, y, argmax, plane, plane + 1);
            }
        }
        free(best);
        free(index);
    }
    return status;
}
