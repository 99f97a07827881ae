/* Backward passes of the data-movement ops against finite differences:
 * Concat on every axis (each operand's gradient), Split in every form (each
 * output seeded in turn), Slice with negative starts, clamping, steps and
 * negative steps, Transpose, Gather with repeated and negative indices, Pad
 * in every mode (crops, pads wider than the axis, opset 18 axes), Resize
 * nearest in every nearest_mode and linear under every coordinate
 * transformation, and the views (Flatten, Reshape, Squeeze, Unsqueeze,
 * Identity, Cast), whose gradient shares their input's. All are linear:
 * central differences are exact up to rounding. */
#include <stdio.h>
#include <string.h>

#include "gradient_check.h"
#include "op_cases.h"

static gradient_check plain(void) {
    gradient_check how = linear_check();
    how.layouts = CHANNELS_LAST;
    return how;
}

static void concat_tests(uint64_t *seed) {
    const int64_t extents[3] = {2, 1, 3};
    for (int axis = -4; axis < 4; axis++) {
        illume_tensor parts[3];
        builder *b = builder_create(13);
        int node_inputs[3];
        for (int i = 0; i < 3; i++) {
            int64_t dims[4] = {2, 3, 2, 4};
            dims[axis < 0 ? axis + 4 : axis] = extents[i];
            parts[i] = tensor_random(4, dims, -1.0f, 1.0f, seed);
            char name[8];
            snprintf(name, sizeof name, "x%d", i);
            node_inputs[i] = builder_input(b, name, 4, dims);
        }
        int y, node = builder_node(b, "Concat", 3, node_inputs, 1, &y);
        builder_attribute_int(b, node, "axis", axis);
        builder_output(b, y);
        char label[64];
        snprintf(label, sizeof label, "Concat axis %d of 3", axis);
        gradient_check how = plain();
        expect_gradients(label, b, 3, parts, &how);
        for (int i = 0; i < 3; i++) tensor_release(&parts[i]);
    }
    /* An operand read twice, and an empty operand. */
    const int64_t a_dims[3] = {2, 0, 3}, b_dims[3] = {2, 4, 3};
    illume_tensor parts[2] = {tensor_random(3, a_dims, -1.0f, 1.0f, seed), tensor_random(3, b_dims, -1.0f, 1.0f, seed)};
    builder *b = builder_create(13);
    int x = builder_input(b, "x", 3, b_dims), y;
    int node = builder_node(b, "Concat", 3, (int[]){x, x, x}, 1, &y);
    builder_attribute_int(b, node, "axis", 1);
    builder_output(b, y);
    gradient_check how = plain();
    expect_gradients("Concat of one value three times", b, 1, &parts[1], &how);
    b = builder_create(13);
    node = builder_node(b, "Concat", 2, (int[]){builder_input(b, "a", 3, a_dims), builder_input(b, "b", 3, b_dims)}, 1,
                        &y);
    builder_attribute_int(b, node, "axis", 1);
    builder_output(b, y);
    expect_gradients("Concat with an empty operand", b, 2, parts, &how);
    tensor_release(&parts[0]);
    tensor_release(&parts[1]);
}

/* Each output seeded in turn. */
static void run_split(const split_case *c, uint64_t *seed) {
    for (int seeded = 0; seeded < c->count; seeded++) {
        op_model model = split_model(c, 0, seed);
        char label[256];
        snprintf(label, sizeof label, "%s, output %d seeded", model.label, seeded);
        gradient_check how = plain();
        how.output = seeded;
        expect_gradients(label, model.graph, model.input_count, model.inputs, &how);
        op_model_release(&model);
    }
}

static void split_tests(uint64_t *seed) {
    for (size_t i = 0; i < shared_split_case_count; i++) run_split(&shared_split_cases[i], seed);
}

/* Checks a shared case's model, then releases it. */
static void expect_case_gradients(op_model model) {
    gradient_check how = plain();
    expect_gradients(model.label, model.graph, model.input_count, model.inputs, &how);
    op_model_release(&model);
}

static void slice_tests(uint64_t *seed) {
    for (size_t i = 0; i < shared_slice_case_count; i++)
        expect_case_gradients(slice_model(&shared_slice_cases[i], 0, seed));
    const slice_case two_axes = {"negative steps on two axes", 2, {-2, 4}, {0, -100}, {3, 1}, {-1, -2}, 1, 1};
    expect_case_gradients(slice_model(&two_axes, 0, seed));
}

static void transpose_tests(uint64_t *seed) {
    for (size_t i = 0; i < shared_transpose_case_count; i++)
        expect_case_gradients(transpose_model(&shared_transpose_cases[i], 0, seed));
    const transpose_case cases[] = {
        {4, {2, 3, 5, 4}, 0, {0}},
        {4, {2, 3, 5, 4}, 1, {0, 2, 3, 1}},
        {4, {2, 3, 5, 4}, 1, {3, 1, 0, 2}},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        expect_case_gradients(transpose_model(&cases[i], 0, seed));
}

static void gather_tests(uint64_t *seed) {
    for (size_t i = 0; i < shared_gather_case_count; i++)
        expect_case_gradients(gather_model(&shared_gather_cases[i], 0, ATTRIBUTES_ALL, seed));
    /* Repeated indices, whose gradients add up. */
    const gather_case repeated = {0, 1, {6}, {1, 1, 4, 1, -4, 0}};
    expect_case_gradients(gather_model(&repeated, 0, ATTRIBUTES_ALL, seed));
}

typedef struct pad_case {
    const char *name;
    int rank;
    int64_t dims[4], pads[8];
} pad_case;

static void run_pad(const pad_case *c, const char *mode, int opset, uint64_t *seed) {
    illume_tensor x = tensor_random(c->rank, c->dims, -1.0f, 1.0f, seed);
    float value = strcmp(mode, "constant") == 0 ? 0.625f : 0.0f;
    builder *b = builder_create(opset);
    int inputs[3] = {builder_input(b, "x", c->rank, c->dims), -1, -1}, count = 1;
    if (opset >= 11) {
        inputs[1] = builder_int_list(b, "pads", 2 * c->rank, c->pads);
        count = 2;
        if (value != 0.0f) {
            inputs[2] = builder_scalar(b, "value", value);
            count = 3;
        }
    }
    int y, node = builder_node(b, "Pad", count, inputs, 1, &y);
    if (strcmp(mode, "constant") != 0) builder_attribute_string(b, node, "mode", mode);
    if (opset < 11) {
        builder_attribute_ints(b, node, "pads", 2 * c->rank, c->pads);
        if (value != 0.0f) builder_attribute_float(b, node, "value", value);
    }
    builder_output(b, y);
    char label[128];
    snprintf(label, sizeof label, "Pad %s opset %d, %s", mode, opset, c->name);
    gradient_check how = plain();
    expect_gradients(label, b, 1, &x, &how);
    tensor_release(&x);
}

static void pad_tests(uint64_t *seed) {
    const pad_case cases[] = {
        {"1-D", 1, {7}, {2, 3}},
        {"2-D asymmetric", 2, {5, 6}, {1, 0, 3, 2}},
        {"3-D every side", 3, {3, 4, 3}, {1, 2, 1, 0, 2, 2}},
        {"4-D spatial only", 4, {2, 3, 5, 4}, {0, 0, 2, 1, 0, 0, 1, 3}},
        {"crop one axis, pad another", 2, {6, 5}, {-2, 2, -1, 1}},
        {"crop and pad the same axis", 2, {6, 5}, {-2, 1, 2, -1}},
        {"crop only", 3, {4, 5, 6}, {-1, 0, -2, 0, -3, -1}},
        {"pad, then crop at the end", 2, {5, 4}, {3, 2, -1, -1}},
    };
    const char *modes[4] = {"constant", "reflect", "edge", "wrap"};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        for (int m = 0; m < 4; m++) run_pad(&cases[i], modes[m], 19, seed);
    run_pad(&cases[1], "reflect", 2, seed);
    run_pad(&cases[3], "constant", 2, seed);
    /* wrap and edge wider than the axis: many outputs read one input. */
    const pad_case wide = {"wider than the axis", 2, {3, 2}, {7, 5, 4, 9}};
    run_pad(&wide, "wrap", 19, seed);
    run_pad(&wide, "edge", 19, seed);
    /* Opset 18: pads for the listed axes only. */
    const int64_t dims[4] = {2, 3, 4, 5}, axes[2] = {-1, 1}, pads[4] = {2, 1, 1, 2};
    for (int m = 0; m < 4; m++) {
        illume_tensor x = tensor_random(4, dims, -1.0f, 1.0f, seed);
        builder *b = builder_create(18);
        int inputs[4] = {builder_input(b, "x", 4, dims), builder_int_list(b, "pads", 4, pads), -1,
                         builder_int_list(b, "axes", 2, axes)};
        int y, node = builder_node(b, "Pad", 4, inputs, 1, &y);
        builder_attribute_string(b, node, "mode", modes[m]);
        builder_output(b, y);
        char label[64];
        snprintf(label, sizeof label, "Pad %s opset 18 axes [-1, 1]", modes[m]);
        gradient_check how = plain();
        expect_gradients(label, b, 1, &x, &how);
        tensor_release(&x);
    }
}

typedef struct resize_case {
    const char *name;
    int rank;
    int64_t dims[4];
    int use_sizes;
    float scales[4];
    int64_t sizes[4];
} resize_case;

static void run_resize(const resize_case *c, const char *mode, const char *coordinates, const char *nearest,
                       uint64_t *seed) {
    illume_tensor x = tensor_random(c->rank, c->dims, -1.0f, 1.0f, seed);
    builder *b = builder_create(19);
    int inputs[4] = {builder_input(b, "x", c->rank, c->dims), -1, -1, -1}, count;
    int64_t count_dims[1] = {c->rank}, roi_dims[1] = {2 * c->rank};
    int crop = strcmp(coordinates, "tf_crop_and_resize") == 0;
    if (crop) {
        /* A crop reaching outside the input, where the extrapolation value holds. */
        float roi[8];
        for (int d = 0; d < c->rank; d++) {
            roi[d] = d == c->rank - 1 ? -0.2f : 0.1f;
            roi[c->rank + d] = d == c->rank - 1 ? 0.9f : 1.1f;
        }
        inputs[1] = builder_floats(b, "roi", 1, roi_dims, roi);
    }
    if (c->use_sizes) {
        inputs[3] = builder_int_list(b, "sizes", c->rank, c->sizes);
        count = 4;
    } else {
        inputs[2] = builder_floats(b, "scales", 1, count_dims, c->scales);
        count = 3;
    }
    int y, node = builder_node(b, "Resize", count, inputs, 1, &y);
    builder_attribute_string(b, node, "mode", mode);
    builder_attribute_string(b, node, "coordinate_transformation_mode", coordinates);
    if (nearest) builder_attribute_string(b, node, "nearest_mode", nearest);
    if (crop) builder_attribute_float(b, node, "extrapolation_value", -7.5f);
    builder_output(b, y);
    char label[256];
    snprintf(label, sizeof label, "Resize %s: %s %s %s", c->name, mode, coordinates, nearest ? nearest : "");
    gradient_check how = plain();
    expect_gradients(label, b, 1, &x, &how);
    tensor_release(&x);
}

static void resize_tests(uint64_t *seed) {
    const char *const coordinate_modes[] = {"half_pixel", "asymmetric", "align_corners", "pytorch_half_pixel",
                                            "half_pixel_symmetric", "tf_crop_and_resize"};
    const char *const nearest_modes[] = {"round_prefer_floor", "round_prefer_ceil", "floor", "ceil"};
    const resize_case shapes[] = {
        {.name = "upsample x2, x3", .rank = 4, .dims = {1, 2, 4, 3}, .scales = {1, 1, 2, 3}},
        {.name = "downsample x0.5", .rank = 4, .dims = {2, 1, 6, 8}, .scales = {1, 1, 0.5f, 0.5f}},
        {.name = "mixed x1.5, x0.75", .rank = 4, .dims = {1, 2, 6, 8}, .scales = {1, 1, 1.5f, 0.75f}},
        {.name = "sizes 7x5 from 4x3", .rank = 4, .dims = {1, 1, 4, 3}, .use_sizes = 1, .sizes = {1, 1, 7, 5}},
        {.name = "1-D sizes 13 from 5", .rank = 1, .dims = {5}, .use_sizes = 1, .sizes = {13}},
        {.name = "3-D every axis", .rank = 3, .dims = {2, 3, 4}, .scales = {2, 0.5f, 1.5f}},
    };
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
        for (int m = 0; m < 6; m++) {
            if (m == 5 && !shapes[s].use_sizes) continue; /* a crop's output size comes from sizes */
            run_resize(&shapes[s], "linear", coordinate_modes[m], NULL, seed);
            run_resize(&shapes[s], "nearest", coordinate_modes[m], nearest_modes[(s + (size_t)m) % 4], seed);
        }
    for (int n = 0; n < 4; n++) run_resize(&shapes[2], "nearest", "half_pixel", nearest_modes[n], seed);
}

/* One view after a Sigmoid and before a Tanh, so that the view's gradient is
 * neither a graph input's nor the seed's: it shares both neighbours' buffers. */
static void run_view(const char *label, const char *op, int opset, const int64_t *x_dims, int x_rank,
                     const int64_t *list, int list_length, const char *attribute, int attribute_count,
                     const int64_t *attribute_values, int alone, uint64_t *seed) {
    illume_tensor x = tensor_random(x_rank, x_dims, -2.0f, 2.0f, seed);
    builder *b = builder_create(opset);
    int value = builder_input(b, "x", x_rank, x_dims);
    if (!alone) builder_node(b, "Sigmoid", 1, &value, 1, &value);
    int node_inputs[2] = {value, list ? builder_int_list(b, "list", list_length, list) : -1}, y;
    int node = builder_node(b, op, list ? 2 : 1, node_inputs, 1, &y);
    if (attribute) {
        if (attribute_count < 0) builder_attribute_int(b, node, attribute, attribute_values[0]);
        else builder_attribute_ints(b, node, attribute, attribute_count, attribute_values);
    }
    if (!alone) builder_node(b, "Tanh", 1, &y, 1, &y);
    builder_output(b, y);
    char full[160];
    snprintf(full, sizeof full, "%s%s", label, alone ? " alone" : " between Sigmoid and Tanh");
    gradient_check how = alone ? plain() : smooth_check(1.0 / 32);
    how.layouts = CHANNELS_LAST;
    expect_gradients(full, b, 1, &x, &how);
    tensor_release(&x);
}

static void view_tests(uint64_t *seed) {
    const int64_t dims[4] = {2, 3, 1, 5};
    const int64_t axis_two = 2, float_type = 1, squeeze_axes[1] = {2}, unsqueeze_axes[2] = {0, -1};
    const int64_t shape[3] = {0, -1, 5};
    for (int alone = 0; alone <= 1; alone++) {
        run_view("Flatten axis 2", "Flatten", 13, dims, 4, NULL, 0, "axis", -1, &axis_two, alone, seed);
        run_view("Reshape with 0 and -1", "Reshape", 14, dims, 4, shape, 3, NULL, 0, NULL, alone, seed);
        run_view("Squeeze axes input", "Squeeze", 13, dims, 4, squeeze_axes, 1, NULL, 0, NULL, alone, seed);
        run_view("Unsqueeze axes attribute", "Unsqueeze", 11, dims, 4, NULL, 0, "axes", 2, unsqueeze_axes, alone,
                 seed);
        run_view("Identity", "Identity", 13, dims, 4, NULL, 0, NULL, 0, NULL, alone, seed);
        run_view("Cast to float", "Cast", 13, dims, 4, NULL, 0, "to", -1, &float_type, alone, seed);
    }
}

int main(void) {
    gradient_skip_without_device();
    uint64_t seed = 4242;
    concat_tests(&seed);
    split_tests(&seed);
    slice_tests(&seed);
    transpose_tests(&seed);
    gather_tests(&seed);
    pad_tests(&seed);
    resize_tests(&seed);
    view_tests(&seed);
    return test_report("gradients/movement");
}
