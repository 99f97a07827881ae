/* Pad in constant, reflect, edge and wrap modes: pads as an attribute
 * (opsets 1 and 2) or an input (opset 11), on chosen axes (opset 18),
 * asymmetric, wider than the axis (wrap, edge), negative (cropping, then
 * padding what is left), on ranks 1 to 4. */
#include <stdio.h>
#include <string.h>

#include "reference.h"
#include "test_support.h"

typedef struct pad_case {
    const char *name;
    int rank;
    int64_t dims[4];
    int64_t pads[8];
} pad_case;

static const pad_case cases[] = {
    {"1-D", 1, {7}, {2, 3}},
    {"2-D asymmetric", 2, {5, 6}, {1, 0, 3, 2}},
    {"3-D every side", 3, {2, 4, 3}, {1, 2, 1, 0, 3, 2}},
    {"4-D spatial only", 4, {2, 3, 5, 4}, {0, 0, 2, 1, 0, 0, 1, 3}},
    {"size-1 axes", 3, {1, 5, 1}, {0, 2, 0, 0, 1, 0}},
    {"crop one axis, pad another", 2, {6, 5}, {-2, 2, -1, 1}},
    {"crop and pad the same axis", 2, {6, 5}, {-2, 1, 2, -1}},
    {"crop only", 3, {4, 5, 6}, {-1, 0, -2, 0, -3, -1}},
    {"crop, then pad past what is left", 1, {6}, {-2, 5}},
    {"pad, then crop at the end", 2, {5, 4}, {3, 2, -1, -1}},
    {"no padding", 2, {3, 4}, {0, 0, 0, 0}},
};

static void run_case(const pad_case *c, const char *mode, int opset, uint64_t *seed) {
    /* reflect needs pads below the (cropped) axis length, and at least 2 elements to mirror. */
    if (strcmp(mode, "reflect") == 0)
        for (int d = 0; d < c->rank; d++) {
            int64_t head = c->pads[d], tail = c->pads[c->rank + d];
            int64_t kept = c->dims[d] + (head < 0 ? head : 0) + (tail < 0 ? tail : 0);
            if ((head > 0 || tail > 0) && (head >= kept || tail >= kept)) return;
        }
    illume_tensor x = tensor_random(c->rank, c->dims, -1.0f, 1.0f, seed);
    float value = strcmp(mode, "constant") == 0 ? 0.625f : 0.0f;
    illume_tensor want = reference_pad(&x, c->pads, mode, value);
    builder *b = builder_create(opset);
    int inputs[3] = {builder_input(b, "x", c->rank, c->dims), -1, -1};
    int count = 1;
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
        builder_attribute_ints(b, node, opset < 2 ? "paddings" : "pads", 2 * c->rank, c->pads);
        if (value != 0.0f) builder_attribute_float(b, node, "value", value);
    }
    builder_output(b, y);
    char label[128];
    snprintf(label, sizeof label, "Pad %s opset %d, %s", mode, opset, c->name);
    expect_run(label, b, 1, &x, 1, &want, 0.0);
    tensor_release(&x);
}

/* Opset 18: pads for the listed axes only. */
static void run_axes(const char *mode, uint64_t *seed) {
    const int64_t dims[4] = {2, 3, 4, 5}, axes[2] = {-1, 1}, pads[4] = {2, 1, 1, 2};
    const int64_t full[8] = {0, 1, 0, 2, 0, 2, 0, 1};
    illume_tensor x = tensor_random(4, dims, -1.0f, 1.0f, seed);
    illume_tensor want = reference_pad(&x, full, mode, 0.0f);
    builder *b = builder_create(18);
    int inputs[4] = {builder_input(b, "x", 4, dims), builder_int_list(b, "pads", 4, pads), -1,
                     builder_int_list(b, "axes", 2, axes)};
    int y, node = builder_node(b, "Pad", 4, inputs, 1, &y);
    builder_attribute_string(b, node, "mode", mode);
    builder_output(b, y);
    char label[64];
    snprintf(label, sizeof label, "Pad %s opset 18 axes [-1, 1]", mode);
    expect_run(label, b, 1, &x, 1, &want, 0.0);
    tensor_release(&x);
}

static void wide_pads(uint64_t *seed) {
    /* wrap and edge may pad beyond the axis length; constant pads an empty axis. */
    const int64_t dims[2] = {3, 2}, pads[4] = {7, 5, 4, 9}, empty_dims[2] = {0, 3}, empty_pads[4] = {1, 0, 1, 2};
    const char *modes[2] = {"wrap", "edge"};
    for (int m = 0; m < 2; m++) {
        illume_tensor x = tensor_random(2, dims, -1.0f, 1.0f, seed);
        illume_tensor want = reference_pad(&x, pads, modes[m], 0.0f);
        builder *b = builder_create(19);
        int inputs[2] = {builder_input(b, "x", 2, dims), builder_int_list(b, "pads", 4, pads)};
        int y, node = builder_node(b, "Pad", 2, inputs, 1, &y);
        builder_attribute_string(b, node, "mode", modes[m]);
        builder_output(b, y);
        char label[64];
        snprintf(label, sizeof label, "Pad %s wider than the axis", modes[m]);
        expect_run(label, b, 1, &x, 1, &want, 0.0);
        tensor_release(&x);
    }
    illume_tensor x = tensor_random(2, empty_dims, -1.0f, 1.0f, seed);
    illume_tensor want = reference_pad(&x, empty_pads, "constant", 0.0f);
    builder *b = builder_create(19);
    int inputs[2] = {builder_input(b, "x", 2, empty_dims), builder_int_list(b, "pads", 4, empty_pads)};
    int y;
    builder_node(b, "Pad", 2, inputs, 1, &y);
    builder_output(b, y);
    expect_run("Pad constant on an empty axis", b, 1, &x, 1, &want, 0.0);
    tensor_release(&x);
}

static void refusals(void) {
    const int64_t dims[2] = {3, 4}, pads[4] = {3, 0, 0, 0};
    builder *b = builder_create(19);
    int inputs[2] = {builder_input(b, "x", 2, dims), builder_int_list(b, "pads", 4, pads)};
    int y, node = builder_node(b, "Pad", 2, inputs, 1, &y);
    builder_attribute_string(b, node, "mode", "reflect");
    builder_output(b, y);
    illume_tensor shape = {ILLUME_FLOAT32, 2, {3, 4}, NULL};
    expect_refusal("Pad reflect as wide as the axis", b, 1, &shape, ILLUME_ERROR_UNSUPPORTED, "reflect");
    /* The crop leaves 2 rows, too few to mirror 2 more. */
    const int64_t cropped_pads[4] = {2, 0, -2, 0};
    b = builder_create(19);
    inputs[0] = builder_input(b, "x", 2, dims);
    inputs[1] = builder_int_list(b, "pads", 4, cropped_pads);
    node = builder_node(b, "Pad", 2, inputs, 1, &y);
    builder_attribute_string(b, node, "mode", "reflect");
    builder_output(b, y);
    expect_refusal("Pad reflect as wide as what the crop leaves", b, 1, &shape, ILLUME_ERROR_UNSUPPORTED, "reflect");
    b = builder_create(19);
    inputs[0] = builder_input(b, "x", 2, dims);
    inputs[1] = builder_int_list(b, "pads", 4, pads);
    node = builder_node(b, "Pad", 2, inputs, 1, &y);
    builder_attribute_string(b, node, "mode", "symmetric");
    builder_output(b, y);
    expect_refusal("Pad mode symmetric", b, 1, &shape, ILLUME_ERROR_UNSUPPORTED, "symmetric");
}

int main(void) {
    uint64_t seed = 23;
    const char *modes[4] = {"constant", "reflect", "edge", "wrap"};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        for (int m = 0; m < 4; m++) run_case(&cases[i], modes[m], 19, &seed);
    run_case(&cases[1], "constant", 1, &seed);
    run_case(&cases[2], "reflect", 2, &seed);
    run_case(&cases[3], "edge", 2, &seed);
    run_case(&cases[5], "constant", 11, &seed);
    for (int m = 0; m < 4; m++) run_axes(modes[m], &seed);
    wide_pads(&seed);
    refusals();
    return test_report("ops/pad");
}
