/* Resize, nearest (each nearest_mode, ties included) and n-linear, under
 * every coordinate_transformation_mode, up and down, from scales and from
 * sizes (keep_aspect_ratio_policy and axes at opset 18), with
 * tf_crop_and_resize's roi and extrapolation_value, on ranks 1 to 4. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "reference.h"
#include "test_support.h"

typedef struct resize_case {
    const char *name;
    int opset;
    int rank;
    int64_t dims[4];
    const char *mode, *coordinate_mode, *nearest_mode; /* NULL leaves the attribute out */
    int use_sizes;
    float scales[4];
    int64_t sizes[4];
    float roi[8];
    int set_extrapolation;
    float extrapolation;
} resize_case;

static void run_case(const resize_case *c, uint64_t *seed) {
    illume_tensor x = tensor_random(c->rank, c->dims, -1.0f, 1.0f, seed);
    const char *default_coordinates = c->opset < 11 ? "asymmetric" : "half_pixel";
    resize_params params = {.mode = c->mode ? c->mode : "nearest",
                            .coordinate_mode = c->coordinate_mode ? c->coordinate_mode : default_coordinates,
                            .nearest_mode = c->nearest_mode ? c->nearest_mode
                                                            : c->opset < 11 ? "floor" : "round_prefer_floor",
                            .extrapolation_value = c->extrapolation,
                            .scales = c->use_sizes ? NULL : c->scales,
                            .sizes = c->use_sizes ? c->sizes : NULL,
                            .roi = c->roi};
    illume_tensor want = reference_resize(&x, &params);
    builder *b = builder_create(c->opset);
    int inputs[4] = {builder_input(b, "x", c->rank, c->dims), -1, -1, -1};
    int count;
    int64_t count_dims[1] = {c->rank}, roi_dims[1] = {2 * c->rank};
    if (c->opset < 11) {
        inputs[1] = builder_floats(b, "scales", 1, count_dims, c->scales);
        count = 2;
    } else {
        int crop = c->coordinate_mode && strcmp(c->coordinate_mode, "tf_crop_and_resize") == 0;
        if (crop) inputs[1] = builder_floats(b, "roi", 1, roi_dims, c->roi);
        if (c->use_sizes) {
            inputs[3] = builder_int_list(b, "sizes", c->rank, c->sizes);
            count = 4;
        } else {
            inputs[2] = builder_floats(b, "scales", 1, count_dims, c->scales);
            count = 3;
        }
    }
    int y, node = builder_node(b, "Resize", count, inputs, 1, &y);
    if (c->mode) builder_attribute_string(b, node, "mode", c->mode);
    if (c->coordinate_mode) builder_attribute_string(b, node, "coordinate_transformation_mode", c->coordinate_mode);
    if (c->nearest_mode) builder_attribute_string(b, node, "nearest_mode", c->nearest_mode);
    if (c->set_extrapolation) builder_attribute_float(b, node, "extrapolation_value", c->extrapolation);
    builder_output(b, y);
    char label[256];
    snprintf(label, sizeof label, "Resize %s: %s %s %s", c->name, params.mode, params.coordinate_mode,
             strcmp(params.mode, "nearest") == 0 ? params.nearest_mode : "");
    expect_run(label, b, 1, &x, 1, &want, 1e-5);
    tensor_release(&x);
}

static const char *const coordinate_modes[] = {"half_pixel", "asymmetric", "align_corners", "pytorch_half_pixel",
                                               "half_pixel_symmetric", "tf_crop_and_resize"};
static const char *const nearest_modes[] = {"round_prefer_floor", "round_prefer_ceil", "floor", "ceil"};

static void every_mode(uint64_t *seed) {
    /* Scales whose products are whole sizes, so that every mode agrees on the
     * output size: x2 and x0.5 give exact ties at .5 for nearest. */
    const resize_case shapes[] = {
        {.name = "upsample x2, x3", .rank = 4, .dims = {1, 2, 4, 3}, .scales = {1, 1, 2, 3}},
        {.name = "downsample x0.5", .rank = 4, .dims = {2, 1, 6, 8}, .scales = {1, 1, 0.5f, 0.5f}},
        {.name = "mixed x1.5, x0.75", .rank = 4, .dims = {1, 2, 6, 8}, .scales = {1, 1, 1.5f, 0.75f}},
        {.name = "sizes 7x5 from 4x3", .rank = 4, .dims = {1, 1, 4, 3}, .use_sizes = 1, .sizes = {1, 1, 7, 5}},
        {.name = "sizes 1x1", .rank = 4, .dims = {1, 2, 5, 4}, .use_sizes = 1, .sizes = {1, 2, 1, 1}},
        {.name = "1-D sizes 13 from 5", .rank = 1, .dims = {5}, .use_sizes = 1, .sizes = {13}},
        {.name = "3-D every axis", .rank = 3, .dims = {2, 3, 4}, .scales = {2, 0.5f, 1.5f}},
    };
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
        for (int m = 0; m < 6; m++) {
            resize_case c = shapes[s];
            c.opset = 19;
            c.coordinate_mode = coordinate_modes[m];
            if (strcmp(c.coordinate_mode, "tf_crop_and_resize") == 0) {
                /* A crop that reaches outside the input, to exercise the extrapolation. */
                for (int d = 0; d < c.rank; d++) {
                    c.roi[d] = d == c.rank - 1 ? -0.2f : 0.1f;
                    c.roi[c.rank + d] = d == c.rank - 1 ? 0.9f : 1.1f;
                }
                c.set_extrapolation = 1;
                c.extrapolation = -7.5f;
                if (!c.use_sizes) continue; /* scales with a roi: see crop_with_scales */
            }
            c.mode = "linear";
            run_case(&c, seed);
            c.mode = "nearest";
            for (int n = 0; n < 4; n++) {
                c.nearest_mode = nearest_modes[n];
                run_case(&c, seed);
            }
        }
}

static void defaults_and_opsets(uint64_t *seed) {
    const resize_case cases[] = {
        {.name = "defaults (nearest, half_pixel, round_prefer_floor)", .opset = 13, .rank = 4, .dims = {1, 1, 6, 4},
         .scales = {1, 1, 0.5f, 2}},
        {.name = "opset 10 nearest upsample", .opset = 10, .rank = 4, .dims = {1, 2, 3, 2}, .scales = {1, 1, 2, 3}},
        {.name = "opset 10 linear", .opset = 10, .mode = "linear", .rank = 4, .dims = {1, 1, 3, 4},
         .scales = {1, 1, 2, 0.5f}},
        {.name = "opset 11 linear sizes", .opset = 11, .mode = "linear", .rank = 4, .dims = {2, 1, 3, 5},
         .use_sizes = 1, .sizes = {2, 1, 8, 2}},
        {.name = "scale product not whole (x1.7)", .opset = 19, .mode = "linear", .rank = 2, .dims = {3, 5},
         .scales = {1, 1.7f}},
        {.name = "scale product not whole, nearest asymmetric", .opset = 19, .rank = 2, .dims = {3, 5},
         .coordinate_mode = "asymmetric", .nearest_mode = "floor", .scales = {1.4f, 1.7f}},
        {.name = "batch and channels scaled", .opset = 19, .mode = "linear", .rank = 4, .dims = {2, 3, 2, 2},
         .scales = {2, 0.5f, 1, 1}},
        {.name = "identity scales", .opset = 19, .mode = "linear", .rank = 4, .dims = {1, 3, 5, 7},
         .scales = {1, 1, 1, 1}},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) run_case(&cases[i], seed);
}

/* tf_crop_and_resize with scales: the output size is floor(input x scale), the roi left out as ONNX's
 * shape inference does (see reference_resize.c). */
static void crop_with_scales(uint64_t *seed) {
    resize_case c = {.name = "tf_crop_and_resize with scales", .opset = 19, .mode = "linear",
                     .coordinate_mode = "tf_crop_and_resize", .rank = 4, .dims = {1, 1, 8, 10},
                     .scales = {1, 1, 2, 1.5f}, .roi = {0, 0, 0.25f, 0.2f, 1, 1, 0.75f, 0.8f}};
    run_case(&c, seed);
}

/* Opset 18: scales for the listed axes only. */
static void axes_with_scales(uint64_t *seed) {
    const int64_t dims[4] = {1, 2, 4, 6}, axes[2] = {3, -2}, scale_dims[1] = {2};
    const float scales[2] = {0.5f, 2.0f}, full[4] = {1, 1, 2, 0.5f};
    illume_tensor x = tensor_random(4, dims, -1.0f, 1.0f, seed);
    resize_params params = {.mode = "linear", .coordinate_mode = "half_pixel", .scales = full};
    illume_tensor want = reference_resize(&x, &params);
    builder *b = builder_create(18);
    int inputs[3] = {builder_input(b, "x", 4, dims), -1, builder_floats(b, "scales", 1, scale_dims, scales)};
    int y, node = builder_node(b, "Resize", 3, inputs, 1, &y);
    builder_attribute_string(b, node, "mode", "linear");
    builder_attribute_ints(b, node, "axes", 2, axes);
    builder_output(b, y);
    expect_run("Resize scales on axes [3, -2]", b, 1, &x, 1, &want, 1e-5);
    tensor_release(&x);
}

/* Opset 18: sizes for some axes only, with the aspect ratio kept. */
static void aspect_ratio(uint64_t *seed) {
    const int64_t dims[4] = {1, 2, 6, 9};
    const char *policies[3] = {"stretch", "not_larger", "not_smaller"};
    const int64_t sizes[2] = {4, 4};
    for (int p = 0; p < 3; p++) {
        illume_tensor x = tensor_random(4, dims, -1.0f, 1.0f, seed);
        /* The spec: scale = min or max of sizes[i] / in_size[d]; out_size = round_int(scale * in_size),
         * rounding halves up; the coordinates use that common scale. */
        float scale_h = 4.0f / 6.0f, scale_w = 4.0f / 9.0f;
        float common = p == 1 ? fminf(scale_h, scale_w) : fmaxf(scale_h, scale_w);
        int64_t full_sizes[4] = {1, 2, 4, 4};
        if (p > 0) {
            full_sizes[2] = (int64_t)floorf(common * 6.0f + 0.5f);
            full_sizes[3] = (int64_t)floorf(common * 9.0f + 0.5f);
        }
        float full_scales[4] = {1, 1, common, common};
        resize_params params = {.mode = "linear", .coordinate_mode = "half_pixel", .sizes = full_sizes,
                                .scales = p > 0 ? full_scales : NULL};
        illume_tensor want = reference_resize(&x, &params);
        builder *b = builder_create(18);
        int64_t axes[2] = {2, -1};
        int inputs[4] = {builder_input(b, "x", 4, dims), -1, -1, builder_int_list(b, "sizes", 2, sizes)};
        int y, node = builder_node(b, "Resize", 4, inputs, 1, &y);
        builder_attribute_string(b, node, "mode", "linear");
        builder_attribute_ints(b, node, "axes", 2, axes);
        if (p > 0) builder_attribute_string(b, node, "keep_aspect_ratio_policy", policies[p]);
        builder_output(b, y);
        char label[96];
        snprintf(label, sizeof label, "Resize sizes on axes [2, -1], keep_aspect_ratio_policy %s", policies[p]);
        expect_run(label, b, 1, &x, 1, &want, 1e-5);
        tensor_release(&x);
    }
}

/* tf_crop_and_resize where the roi gives no coordinate: NaN, or infinities times an axis of one (the
 * kernel converted NaN to an index, which is undefined). Every output is the extrapolation value. */
static void crop_without_coordinates(uint64_t *seed) {
    const int64_t dims[4] = {1, 1, 1, 4}, roi_dims[1] = {8}, sizes[4] = {1, 1, 3, 3};
    const float rois[2][8] = {{0, 0, NAN, 0, 1, 1, 1, 1}, {0, 0, -INFINITY, 0, 1, 1, INFINITY, 1}};
    const char *modes[2] = {"nearest", "linear"};
    for (int r = 0; r < 2; r++)
        for (int m = 0; m < 2; m++) {
            illume_tensor x = tensor_random(4, dims, -1.0f, 1.0f, seed), want = tensor_zeros(4, sizes);
            for (int i = 0; i < 9; i++) ((float *)want.data)[i] = -7.5f;
            builder *b = builder_create(19);
            int inputs[4] = {builder_input(b, "x", 4, dims), builder_floats(b, "roi", 1, roi_dims, rois[r]), -1,
                             builder_int_list(b, "sizes", 4, sizes)};
            int y, node = builder_node(b, "Resize", 4, inputs, 1, &y);
            builder_attribute_string(b, node, "mode", modes[m]);
            builder_attribute_string(b, node, "coordinate_transformation_mode", "tf_crop_and_resize");
            builder_attribute_float(b, node, "extrapolation_value", -7.5f);
            builder_output(b, y);
            char label[96];
            snprintf(label, sizeof label, "Resize %s tf_crop_and_resize, roi %s", modes[m],
                     r ? "of infinities on an axis of one" : "NaN");
            expect_run(label, b, 1, &x, 1, &want, 0.0);
            tensor_release(&x);
        }
}

static void refusals(void) {
    const int64_t dims[4] = {1, 1, 2, 2};
    const float scales[4] = {1, 1, 2, 2};
    const int64_t scale_dims[1] = {4};
    builder *b = builder_create(19);
    int inputs[3] = {builder_input(b, "x", 4, dims), -1, builder_floats(b, "scales", 1, scale_dims, scales)};
    int y, node = builder_node(b, "Resize", 3, inputs, 1, &y);
    builder_attribute_string(b, node, "mode", "cubic");
    builder_output(b, y);
    illume_tensor shape = {ILLUME_FLOAT32, 4, {1, 1, 2, 2}, NULL};
    expect_refusal("Resize cubic", b, 1, &shape, ILLUME_ERROR_UNSUPPORTED, "cubic");
    b = builder_create(19);
    inputs[0] = builder_input(b, "x", 4, dims);
    inputs[2] = -1;
    builder_node(b, "Resize", 3, inputs, 1, &y);
    builder_output(b, y);
    expect_refusal("Resize with neither scales nor sizes", b, 1, &shape, ILLUME_ERROR_INVALID_MODEL, "scales");
}

int main(void) {
    uint64_t seed = 29;
    every_mode(&seed);
    defaults_and_opsets(&seed);
    crop_with_scales(&seed);
    axes_with_scales(&seed);
    aspect_ratio(&seed);
    crop_without_coordinates(&seed);
    refusals();
    return test_report("ops/resize");
}
