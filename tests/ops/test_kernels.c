/* The per-element math shared by the CPU backend and the CUDA kernels (the
 * headers in kernels/), tested directly: pool.h's illume_pool_at against the
 * CPU backend's vectorized 2-D paths (channels first and channels last),
 * which must agree bit for bit, argmax included, ties and NaNs too;
 * resize.h's coordinate and rounding math against the spec's formulas;
 * pad.h's source coordinates against naive definitions. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "pad.h"
#include "pool.h"
#include "reference.h"
#include "resize.h"
#include "test_support.h"

/* A random 2-D pooling geometry; windows may lie wholly in the padding. */
static pool_desc random_pool(uint64_t *seed, int64_t planes) {
    pool_desc desc;
    memset(&desc, 0, sizeof desc);
    window_params params = window_defaults();
    desc.kind = random_uniform(seed) < 0.5 ? POOL_MAX : POOL_AVERAGE;
    desc.spatial_rank = 2;
    desc.planes = planes;
    desc.count_include_pad = random_uniform(seed) < 0.5;
    params.ceil_mode = random_uniform(seed) < 0.5;
    for (int d = 0; d < 2; d++) {
        desc.in_size[d] = 1 + (int64_t)(random_uniform(seed) * 12);
        params.kernel_shape[d] = 1 + (int64_t)(random_uniform(seed) * 4);
        params.strides[d] = 1 + (int64_t)(random_uniform(seed) * 3);
        params.dilations[d] = 1 + (int64_t)(random_uniform(seed) * 3);
        params.pads[d] = (int64_t)(random_uniform(seed) * 4);
        params.pads[2 + d] = (int64_t)(random_uniform(seed) * 4);
    }
    for (int d = 0; d < 2; d++) {
        int64_t extent = (params.kernel_shape[d] - 1) * params.dilations[d] + 1;
        /* Keep the padded input at least as large as the window. */
        if (desc.in_size[d] + params.pads[d] + params.pads[2 + d] < extent) params.pads[2 + d] += extent;
        reference_window_axis(&params, d, 2, desc.in_size[d], params.kernel_shape[d], &desc.pad_begin[d],
                              &desc.pad_end[d], &desc.out_size[d]);
        desc.kernel[d] = params.kernel_shape[d];
        desc.stride[d] = params.strides[d];
        desc.dilation[d] = params.dilations[d];
    }
    return desc;
}

static void pool_agreement(backend *cpu, uint64_t *seed) {
    for (int trial = 0; trial < 300; trial++) {
        int64_t batch = 1 + (int64_t)(random_uniform(seed) * 2), channels = 1 + (int64_t)(random_uniform(seed) * 5);
        pool_desc desc = random_pool(seed, batch * channels);
        int64_t in_plane = desc.in_size[0] * desc.in_size[1], out_plane = desc.out_size[0] * desc.out_size[1];
        int64_t in_count = desc.planes * in_plane, out_count = desc.planes * out_plane;
        float *x = malloc(sizeof(float) * (size_t)in_count);
        float *x_last = malloc(sizeof(float) * (size_t)in_count);
        float *expected = malloc(sizeof(float) * (size_t)(out_count + 1));
        float *got = malloc(sizeof(float) * (size_t)(out_count + 1));
        int32_t *expected_index = malloc(sizeof(int32_t) * (size_t)(out_count + 1));
        int32_t *got_index = malloc(sizeof(int32_t) * (size_t)(out_count + 1));
        /* Few distinct values, so that ties are common, and the odd NaN. */
        for (int64_t i = 0; i < in_count; i++) {
            double u = random_uniform(seed);
            x[i] = u < 0.03 ? NAN : (float)(int)(random_uniform(seed) * 5) - 2.0f;
        }
        for (int64_t p = 0; p < desc.planes; p++)
            for (int64_t k = 0; k < out_plane; k++)
                expected[p * out_plane + k] =
                    illume_pool_at_index(&desc, x + p * in_plane, k, &expected_index[p * out_plane + k]);
        /* Channels first: the row path. */
        illume_status status = cpu->pool(cpu, &desc, x, got, desc.kind == POOL_MAX ? got_index : NULL);
        count_case();
        if (status != ILLUME_OK) test_fail("pool trial %d: %s", trial, illume_last_error(cpu->context));
        else if (memcmp(got, expected, sizeof(float) * (size_t)out_count) != 0)
            test_fail("pool trial %d (%s): the 2-D row path differs from illume_pool_at", trial,
                      desc.kind == POOL_MAX ? "max" : "average");
        else if (desc.kind == POOL_MAX && memcmp(got_index, expected_index, sizeof(int32_t) * (size_t)out_count))
            test_fail("pool trial %d: the 2-D row path's argmax differs from illume_pool_at's", trial);
        /* Channels last: (N, H, W, C) in and out. */
        for (int64_t n = 0; n < batch; n++)
            for (int64_t c = 0; c < channels; c++)
                for (int64_t i = 0; i < in_plane; i++)
                    x_last[(n * in_plane + i) * channels + c] = x[(n * channels + c) * in_plane + i];
        pool_desc last = desc;
        last.channels_last = 1;
        last.channels = channels;
        status = cpu->pool(cpu, &last, x_last, got, desc.kind == POOL_MAX ? got_index : NULL);
        count_case();
        if (status != ILLUME_OK) {
            test_fail("pool trial %d channels last: %s", trial, illume_last_error(cpu->context));
        } else {
            for (int64_t n = 0; n < batch; n++)
                for (int64_t c = 0; c < channels; c++)
                    for (int64_t k = 0; k < out_plane; k++) {
                        int64_t at = (n * out_plane + k) * channels + c, plane = (n * channels + c) * out_plane + k;
                        if (memcmp(&got[at], &expected[plane], sizeof(float)) != 0 ||
                            (desc.kind == POOL_MAX && got_index[at] != expected_index[plane])) {
                            test_fail("pool trial %d (%s) channels last: output %lld of plane %lld is %g (argmax "
                                      "%d), illume_pool_at gives %g (argmax %d)",
                                      trial, desc.kind == POOL_MAX ? "max" : "average", (long long)k,
                                      (long long)(n * channels + c), got[at], got_index[at], expected[plane],
                                      expected_index[plane]);
                            n = batch;
                            c = channels;
                            break;
                        }
                    }
        }
        /* Channels-last max pooling without an argmax (inference) keeps only the values. */
        if (desc.kind == POOL_MAX) {
            status = cpu->pool(cpu, &last, x_last, got, NULL);
            count_case();
            for (int64_t n = 0; status == ILLUME_OK && n < batch; n++)
                for (int64_t c = 0; c < channels; c++)
                    for (int64_t k = 0; k < out_plane; k++) {
                        int64_t at = (n * out_plane + k) * channels + c, plane = (n * channels + c) * out_plane + k;
                        if (memcmp(&got[at], &expected[plane], sizeof(float)) != 0) {
                            test_fail("pool trial %d channels last, no argmax: output %lld of plane %lld is %g, "
                                      "illume_pool_at gives %g",
                                      trial, (long long)k, (long long)(n * channels + c), got[at], expected[plane]);
                            n = batch;
                            c = channels;
                            break;
                        }
                    }
            if (status != ILLUME_OK) test_fail("pool trial %d channels last, no argmax: %s", trial,
                                               illume_last_error(cpu->context));
        }
        free(x);
        free(x_last);
        free(expected);
        free(got);
        free(expected_index);
        free(got_index);
    }
}

/* illume_pool_at itself on a hand-worked case: the first of equal maxima wins, a NaN wins. */
static void pool_semantics(void) {
    const float plane[6] = {1, 3, 3, 2, NAN, 0};
    pool_desc desc;
    memset(&desc, 0, sizeof desc);
    desc.kind = POOL_MAX;
    desc.spatial_rank = 2;
    desc.planes = 1;
    desc.in_size[0] = 2;
    desc.in_size[1] = 3;
    desc.out_size[0] = 1;
    desc.out_size[1] = 2;
    desc.kernel[0] = 1;
    desc.kernel[1] = 2;
    desc.stride[0] = desc.stride[1] = desc.dilation[0] = desc.dilation[1] = 1;
    int64_t at[2] = {0, 1};
    int32_t index;
    float value = illume_pool_at(&desc, plane, at, &index);
    count_case();
    if (value != 3.0f || index != 1) test_fail("pool ties: got %g at %d, expected 3 at 1", value, index);
    desc.kernel[0] = 2;
    value = illume_pool_at(&desc, plane, at, &index);
    count_case();
    if (!isnan(value) || index != 4) test_fail("pool NaN: got %g at %d, expected NaN at 4", value, index);
}

static float spec_source(resize_coordinates mode, float x, float scale, float in, float out, float start, float end) {
    switch (mode) {
    case RESIZE_HALF_PIXEL: return (x + 0.5f) / scale - 0.5f;
    case RESIZE_HALF_PIXEL_SYMMETRIC: {
        float adjustment = out / (scale * in), offset = in / 2.0f * (1.0f - adjustment);
        return offset + (x + 0.5f) / scale - 0.5f;
    }
    case RESIZE_PYTORCH_HALF_PIXEL: return out > 1.0f ? (x + 0.5f) / scale - 0.5f : 0.0f;
    case RESIZE_ALIGN_CORNERS: return out > 1.0f ? x * (in - 1.0f) / (out - 1.0f) : 0.0f;
    case RESIZE_ASYMMETRIC: return x / scale;
    case RESIZE_TF_CROP_AND_RESIZE:
        return out > 1.0f ? start * (in - 1.0f) + x * (end - start) * (in - 1.0f) / (out - 1.0f)
                          : 0.5f * (start + end) * (in - 1.0f);
    }
    return NAN;
}

static void resize_math(void) {
    const int64_t sizes[][2] = {{4, 8}, {8, 4}, {5, 13}, {7, 1}, {1, 5}, {6, 9}, {9, 6}};
    for (int mode = RESIZE_HALF_PIXEL; mode <= RESIZE_HALF_PIXEL_SYMMETRIC; mode++)
        for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
            resize_desc desc;
            memset(&desc, 0, sizeof desc);
            desc.coordinates = (resize_coordinates)mode;
            desc.rank = 2;
            desc.in_dims[0] = desc.out_dims[0] = 1;
            desc.in_dims[1] = sizes[s][0];
            desc.out_dims[1] = sizes[s][1];
            desc.scales[0] = 1.0f;
            desc.scales[1] = (float)sizes[s][1] / (float)sizes[s][0];
            desc.roi_start[1] = 0.2f;
            desc.roi_end[1] = 0.7f;
            for (int64_t x = 0; x < sizes[s][1]; x++) {
                float got = illume_resize_source(&desc, 1, x);
                float want = spec_source(desc.coordinates, (float)x, desc.scales[1], (float)sizes[s][0],
                                         (float)sizes[s][1], 0.2f, 0.7f);
                count_case();
                if (!(fabsf(got - want) <= 1e-5f * (1.0f + fabsf(want)))) {
                    test_fail("illume_resize_source mode %d, %lld to %lld, output %lld: %.9g, the spec gives %.9g",
                              mode,
                              (long long)sizes[s][0], (long long)sizes[s][1], (long long)x, got, want);
                    break;
                }
            }
        }
    /* Nearest rounding: halves go down or up by mode; floor and ceil as named; negatives too. */
    const float values[] = {-1.5f, -0.5f, -0.4f, 0.0f, 0.49999997f, 0.5f, 0.50000006f, 1.5f, 2.5f, 3.7f, 4.0f};
    const int64_t prefer_floor[] = {-2, -1, 0, 0, 0, 0, 1, 1, 2, 4, 4};
    const int64_t prefer_ceil[] = {-1, 0, 0, 0, 0, 1, 1, 2, 3, 4, 4};
    const int64_t floors[] = {-2, -1, -1, 0, 0, 0, 0, 1, 2, 3, 4};
    const int64_t ceils[] = {-1, 0, 0, 0, 1, 1, 1, 2, 3, 4, 4};
    const int64_t *expected[4] = {prefer_floor, prefer_ceil, floors, ceils};
    for (int rounding = 0; rounding < 4; rounding++)
        for (size_t i = 0; i < sizeof values / sizeof values[0]; i++) {
            int64_t got = illume_resize_nearest((resize_rounding)rounding, values[i]);
            count_case();
            if (got != expected[rounding][i])
                test_fail("illume_resize_nearest rounding %d of %.9g: %lld, expected %lld", rounding, values[i],
                          (long long)got, (long long)expected[rounding][i]);
        }
}

/* numpy's pad modes by their definitions: reflect bounces off the end
 * elements, wrap repeats the axis, edge repeats the end element. */
static int64_t naive_pad_source(pad_mode mode, int64_t i, int64_t n) {
    if (i >= 0 && i < n) return i;
    switch (mode) {
    case PAD_CONSTANT: return -1;
    case PAD_EDGE: return i < 0 ? 0 : n - 1;
    case PAD_WRAP:
        while (i < 0) i += n;
        while (i >= n) i -= n;
        return i;
    case PAD_REFLECT:
        if (n == 1) return 0;
        while (i < 0 || i >= n) i = i < 0 ? -i : 2 * (n - 1) - i;
        return i;
    }
    return -2;
}

static void pad_math(void) {
    for (int mode = PAD_CONSTANT; mode <= PAD_WRAP; mode++)
        for (int64_t n = 1; n <= 6; n++)
            for (int64_t i = -3 * n; i < 4 * n; i++) {
                int64_t got = illume_pad_source((pad_mode)mode, i, n), want = naive_pad_source((pad_mode)mode, i, n);
                count_case();
                if (got != want) {
                    test_fail("illume_pad_source mode %d, coordinate %lld of %lld: %lld, expected %lld", mode,
                              (long long)i, (long long)n, (long long)got, (long long)want);
                    return;
                }
            }
}

int main(void) {
    uint64_t seed = 31;
    illume_context *context = illume_context_create();
    backend *cpu = cpu_backend_create(context, (backend_options){0});
    if (!cpu) {
        test_fail("no CPU backend: %s", illume_last_error(context));
    } else {
        pool_agreement(cpu, &seed);
        cpu->destroy(cpu);
    }
    illume_context_destroy(context);
    pool_semantics();
    resize_math();
    pad_math();
    return test_report("ops/kernels");
}
