/* resize_backward against a naive reference written from the ONNX Resize
 * formulas (each output's gradient scattered in double onto the input
 * elements it interpolates, with the product of the axes' weights; nothing
 * from outputs tf_crop_and_resize extrapolates), and the adjoint of every
 * mode against the forward resize. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "backend_testing.h"

typedef struct resize_case {
    const char *label;
    resize_mode mode;
    resize_coordinates coordinates;
    resize_rounding rounding;
    int rank;
    int64_t in[ILLUME_MAX_RANK], out[ILLUME_MAX_RANK];
    float roi_start[ILLUME_MAX_RANK], roi_end[ILLUME_MAX_RANK]; /* tf_crop_and_resize; all zero means 0 to 1 */
} resize_case;

/* The ONNX coordinate transforms, evaluated in float as the forward does:
 * the rounding of nearest mode and the weights of linear mode follow the
 * float coordinate, and ties (x.5) only survive in float. */
static float original_coordinate(const resize_desc *desc, int axis, int64_t o) {
    float scale = desc->scales[axis], in = (float)desc->in_dims[axis], out = (float)desc->out_dims[axis];
    float x = (float)o;
    switch (desc->coordinates) {
    case RESIZE_HALF_PIXEL: return (x + 0.5f) / scale - 0.5f;
    case RESIZE_HALF_PIXEL_SYMMETRIC: {
        float adjustment = out / (scale * in), center = in / 2.0f;
        return center * (1.0f - adjustment) + (x + 0.5f) / scale - 0.5f;
    }
    case RESIZE_PYTORCH_HALF_PIXEL: return out > 1 ? (x + 0.5f) / scale - 0.5f : 0.0f;
    case RESIZE_ALIGN_CORNERS: return out > 1 ? x * (in - 1) / (out - 1) : 0.0f;
    case RESIZE_ASYMMETRIC: return x / scale;
    case RESIZE_TF_CROP_AND_RESIZE: {
        float start = desc->roi_start[axis], end = desc->roi_end[axis];
        return out > 1 ? start * (in - 1) + x * (end - start) * (in - 1) / (out - 1) : 0.5f * (start + end) * (in - 1);
    }
    }
    return 0.0f;
}

static int64_t nearest(resize_rounding rounding, double x) {
    double below = floor(x);
    switch (rounding) {
    case RESIZE_ROUND_PREFER_FLOOR: return (int64_t)(x - below == 0.5 ? below : floor(x + 0.5));
    case RESIZE_ROUND_PREFER_CEIL: return (int64_t)(x - below == 0.5 ? below + 1 : floor(x + 0.5));
    case RESIZE_FLOOR: return (int64_t)below;
    case RESIZE_CEIL: return (int64_t)ceil(x);
    }
    return 0;
}

/* The (at most two) input coordinates output o of an axis reads, with weights; returns how many. */
static int axis_taps(const resize_desc *desc, int axis, int64_t o, int64_t *index, double *weight) {
    int64_t n = desc->in_dims[axis];
    double x = original_coordinate(desc, axis, o);
    if (desc->coordinates == RESIZE_TF_CROP_AND_RESIZE && (x < 0 || x > (double)(n - 1))) return 0;
    if (desc->mode == RESIZE_NEAREST) {
        int64_t i = nearest(desc->rounding, x);
        index[0] = i < 0 ? 0 : i >= n ? n - 1 : i;
        weight[0] = 1.0;
        return 1;
    }
    double clamped = x < 0 ? 0 : x > (double)(n - 1) ? (double)(n - 1) : x;
    int64_t base = (int64_t)floor(clamped);
    index[0] = base;
    index[1] = base + 1 < n ? base + 1 : base;
    weight[0] = 1.0 - (clamped - (double)base);
    weight[1] = clamped - (double)base;
    return 2;
}

static void run_case(backend *cpu, const resize_case *test, uint64_t *seed) {
    resize_desc desc = {.mode = test->mode, .coordinates = test->coordinates, .rounding = test->rounding,
                        .rank = test->rank, .extrapolation_value = 0.0f};
    int64_t in_count = 1, out_count = 1, in_strides[ILLUME_MAX_RANK];
    int has_roi = 0;
    for (int d = 0; d < test->rank; d++) has_roi = has_roi || test->roi_start[d] != 0.0f || test->roi_end[d] != 0.0f;
    for (int d = test->rank - 1; d >= 0; d--) {
        desc.in_dims[d] = test->in[d];
        desc.out_dims[d] = test->out[d];
        desc.scales[d] = (float)test->out[d] / (float)test->in[d];
        desc.roi_start[d] = has_roi ? test->roi_start[d] : 0.0f;
        desc.roi_end[d] = has_roi ? test->roi_end[d] : 1.0f;
        in_strides[d] = in_count;
        in_count *= test->in[d];
        out_count *= test->out[d];
    }
    float *x = testing_floats(in_count), *y = testing_floats(out_count), *dy = testing_floats(out_count);
    float *dx = testing_floats(in_count);
    double *want = testing_doubles(in_count), *scale = testing_doubles(in_count);
    testing_random(seed, x, in_count, -1.0f, 1.0f);
    testing_random(seed, dy, out_count, -1.0f, 1.0f);
    for (int64_t i = 0; i < in_count; i++) dx[i] = 1234.5f;
    for (int64_t o = 0; o < out_count; o++) {
        int64_t index[ILLUME_MAX_RANK][2], rest = o;
        double weight[ILLUME_MAX_RANK][2];
        int taps[ILLUME_MAX_RANK], corners = 1;
        for (int d = test->rank - 1; d >= 0; d--) {
            taps[d] = axis_taps(&desc, d, rest % test->out[d], index[d], weight[d]);
            rest /= test->out[d];
            corners *= taps[d];
        }
        for (int corner = 0; corner < corners; corner++) {
            int64_t at = 0, pick = corner;
            double w = 1.0;
            for (int d = 0; d < test->rank; d++) {
                int t = (int)(pick % taps[d]);
                pick /= taps[d];
                at += index[d][t] * in_strides[d];
                w *= weight[d][t];
            }
            if (w == 0.0) continue;
            want[at] += w * dy[o];
            scale[at] += fabs(w * dy[o]);
        }
    }
    char label[160];
    snprintf(label, sizeof label, "%s: backward", test->label);
    if (testing_expect_status(label, cpu->resize_backward(cpu, &desc, dy, dx), ILLUME_OK))
        testing_expect(label, dx, want, scale, in_count, 1e-5);
    snprintf(label, sizeof label, "%s: adjoint", test->label);
    if (testing_expect_status(label, cpu->resize(cpu, &desc, x, y), ILLUME_OK))
        testing_expect_adjoint(label, dx, x, in_count, dy, y, out_count, 1e-5);
    free(x);
    free(y);
    free(dy);
    free(dx);
    free(want);
    free(scale);
}

#define NCHW(c, h, w) {1, c, h, w}
#define NO_ROI {0}, {0}

static const resize_case cases[] = {
    {"nearest half_pixel up 2x", RESIZE_NEAREST, RESIZE_HALF_PIXEL, RESIZE_ROUND_PREFER_FLOOR, 4, NCHW(2, 3, 4),
     NCHW(2, 6, 8), NO_ROI},
    {"nearest asymmetric floor up 2.5x", RESIZE_NEAREST, RESIZE_ASYMMETRIC, RESIZE_FLOOR, 4, NCHW(1, 4, 3),
     NCHW(1, 10, 7), NO_ROI},
    {"nearest align_corners prefer ceil", RESIZE_NEAREST, RESIZE_ALIGN_CORNERS, RESIZE_ROUND_PREFER_CEIL, 4,
     NCHW(2, 5, 3), NCHW(2, 9, 5), NO_ROI},
    {"nearest pytorch_half_pixel ceil down", RESIZE_NEAREST, RESIZE_PYTORCH_HALF_PIXEL, RESIZE_CEIL, 4,
     NCHW(1, 9, 7), NCHW(1, 4, 3), NO_ROI},
    {"nearest half_pixel_symmetric", RESIZE_NEAREST, RESIZE_HALF_PIXEL_SYMMETRIC, RESIZE_ROUND_PREFER_FLOOR, 4,
     NCHW(1, 5, 6), NCHW(1, 8, 4), NO_ROI},
    {"nearest channels and batch", RESIZE_NEAREST, RESIZE_ASYMMETRIC, RESIZE_ROUND_PREFER_CEIL, 4, {2, 3, 2, 2},
     {3, 5, 4, 3}, NO_ROI},
    {"nearest tf_crop_and_resize extrapolating", RESIZE_NEAREST, RESIZE_TF_CROP_AND_RESIZE,
     RESIZE_ROUND_PREFER_FLOOR, 4, NCHW(1, 5, 6), NCHW(1, 7, 9), {0, 0, -0.3f, 0.1f}, {1, 1, 1.2f, 0.8f}},
    {"linear half_pixel up 2x", RESIZE_LINEAR, RESIZE_HALF_PIXEL, RESIZE_ROUND_PREFER_FLOOR, 4, NCHW(2, 3, 4),
     NCHW(2, 6, 8), NO_ROI},
    {"linear half_pixel down", RESIZE_LINEAR, RESIZE_HALF_PIXEL, RESIZE_ROUND_PREFER_FLOOR, 4, NCHW(1, 7, 9),
     NCHW(1, 3, 4), NO_ROI},
    {"linear align_corners", RESIZE_LINEAR, RESIZE_ALIGN_CORNERS, RESIZE_ROUND_PREFER_FLOOR, 4, NCHW(2, 4, 5),
     NCHW(2, 7, 3), NO_ROI},
    {"linear asymmetric", RESIZE_LINEAR, RESIZE_ASYMMETRIC, RESIZE_ROUND_PREFER_FLOOR, 4, NCHW(1, 5, 3),
     NCHW(1, 3, 8), NO_ROI},
    {"linear pytorch_half_pixel to one", RESIZE_LINEAR, RESIZE_PYTORCH_HALF_PIXEL, RESIZE_ROUND_PREFER_FLOOR, 4,
     NCHW(1, 6, 5), NCHW(1, 1, 9), NO_ROI},
    {"linear half_pixel_symmetric", RESIZE_LINEAR, RESIZE_HALF_PIXEL_SYMMETRIC, RESIZE_ROUND_PREFER_FLOOR, 4,
     NCHW(2, 5, 6), NCHW(2, 8, 4), NO_ROI},
    {"linear tf_crop_and_resize", RESIZE_LINEAR, RESIZE_TF_CROP_AND_RESIZE, RESIZE_ROUND_PREFER_FLOOR, 4,
     NCHW(1, 6, 7), NCHW(1, 5, 9), {0, 0, 0.2f, 0.1f}, {1, 1, 0.9f, 0.7f}},
    {"linear tf_crop_and_resize reversed, extrapolating", RESIZE_LINEAR, RESIZE_TF_CROP_AND_RESIZE,
     RESIZE_ROUND_PREFER_FLOOR, 4, NCHW(1, 6, 7), NCHW(1, 8, 5), {0, 0, 1.1f, 0.8f}, {1, 1, -0.2f, 0.1f}},
    {"linear 3-D", RESIZE_LINEAR, RESIZE_HALF_PIXEL, RESIZE_ROUND_PREFER_FLOOR, 5, {1, 1, 3, 4, 5}, {1, 1, 5, 3, 7},
     NO_ROI},
    {"linear 1-D", RESIZE_LINEAR, RESIZE_ASYMMETRIC, RESIZE_ROUND_PREFER_FLOOR, 1, {8}, {13}, NO_ROI},
    {"linear channels", RESIZE_LINEAR, RESIZE_ALIGN_CORNERS, RESIZE_ROUND_PREFER_FLOOR, 4, {2, 3, 2, 2},
     {2, 5, 3, 3}, NO_ROI},
    {"linear down large (parallel)", RESIZE_LINEAR, RESIZE_HALF_PIXEL, RESIZE_ROUND_PREFER_FLOOR, 4,
     NCHW(3, 70, 80), NCHW(3, 35, 41), NO_ROI},
    {"nearest up large (parallel)", RESIZE_NEAREST, RESIZE_ASYMMETRIC, RESIZE_ROUND_PREFER_FLOOR, 4,
     NCHW(2, 90, 100), NCHW(2, 180, 200), NO_ROI},
    {"to nothing", RESIZE_LINEAR, RESIZE_HALF_PIXEL, RESIZE_ROUND_PREFER_FLOOR, 4, NCHW(1, 3, 4), NCHW(1, 0, 8),
     NO_ROI},
};

int main(void) {
    backend *cpu = testing_backend_open();
    if (!cpu) return testing_report("backend/resize");
    uint64_t seed = 17;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) run_case(cpu, &cases[i], &seed);
    testing_backend_close(cpu);
    return testing_report("backend/resize");
}
