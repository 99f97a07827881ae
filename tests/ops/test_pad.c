/* Pad in constant, reflect, edge and wrap modes: pads as an attribute
 * (opsets 1 and 2) or an input (opset 11), on chosen axes (opset 18),
 * asymmetric, wider than the axis (wrap, edge), negative (cropping, then
 * padding what is left), on ranks 1 to 4; and Pads that the passes fold
 * into the Conv or AveragePool after them, or drop. */
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

/* A Pad and the op that reads it, which the passes fold into one node
 * (runtime/fold_pad.c) when the reader pads with zeros as it reads. */
typedef enum pad_reader {
    READER_CONV,                 /* zeros around the spatial axes, a Conv with pads of its own: folded */
    READER_AVERAGE,              /* zeros, AveragePool without pads (count_include_pad 0): folded */
    READER_AVERAGE_OWN_PADS,     /* zeros, AveragePool with pads it does not count: kept */
    READER_AVERAGE_CEIL,         /* zeros, AveragePool with ceil_mode: kept */
    READER_MAX,                  /* zeros, MaxPool: kept */
    READER_CONV_NONZERO,         /* 0.5 around the spatial axes, a Conv: kept */
    READER_CONV_CHANNELS,        /* zeros around the channels too, a Conv: kept */
    READER_CONV_PAD_OUTPUT,      /* zeros, a Conv, the Pad's output a graph output too: kept */
    READER_RELU_NOTHING,         /* pads of 0, a Relu: the Pad dropped */
    READER_KINDS
} pad_reader;

static void folded(pad_reader kind, uint64_t *seed) {
    static const char *const names[] = {"Pad, Conv", "Pad, AveragePool", "Pad, AveragePool with pads",
                                        "Pad, AveragePool with ceil_mode", "Pad, MaxPool", "Pad of 0.5, Conv",
                                        "Pad of the channels, Conv", "Pad also an output, Conv",
                                        "Pad of nothing, Relu"};
    const int64_t dims[4] = {2, 3, 7, 6}, bias_dims[1] = {4};
    int64_t pads[8] = {0, 0, 1, 2, 0, 0, 2, 1};
    if (kind == READER_CONV_CHANNELS) pads[1] = pads[5] = 1;
    if (kind == READER_RELU_NOTHING) memset(pads, 0, sizeof pads);
    float value = kind == READER_CONV_NONZERO ? 0.5f : 0.0f;
    int conv = kind == READER_CONV || kind == READER_CONV_NONZERO || kind == READER_CONV_CHANNELS ||
               kind == READER_CONV_PAD_OUTPUT;
    illume_tensor x = tensor_random(4, dims, -1.0f, 1.0f, seed);
    int64_t channels = kind == READER_CONV_CHANNELS ? 5 : 3, weight_dims[4] = {4, channels, 3, 3};
    illume_tensor w = tensor_random(4, weight_dims, -0.5f, 0.5f, seed);
    illume_tensor bias = tensor_random(1, bias_dims, -0.5f, 0.5f, seed);
    illume_tensor padded = reference_pad(&x, pads, "constant", value);
    window_params params = window_defaults();
    params.kernel_shape[0] = params.kernel_shape[1] = 3;
    if (kind == READER_CONV || kind == READER_AVERAGE_OWN_PADS || kind == READER_AVERAGE_CEIL)
        for (int d = 0; d < 4; d++) params.pads[d] = 1;
    if (kind == READER_AVERAGE_CEIL) params.strides[0] = params.strides[1] = 2;
    params.ceil_mode = kind == READER_AVERAGE_CEIL;
    illume_tensor want[2];
    if (conv) want[0] = reference_conv(&padded, &w, &bias, 1, &params, 0);
    else if (kind == READER_RELU_NOTHING) want[0] = reference_unary(&padded, "Relu", 0, 0);
    else want[0] = reference_pool(&padded, kind == READER_MAX ? REFERENCE_MAX_POOL : REFERENCE_AVERAGE_POOL, &params);
    int output_count = kind == READER_CONV_PAD_OUTPUT ? 2 : 1;
    if (output_count == 2) want[1] = tensor_copy(&padded);
    builder *b = builder_create(13);
    int pad_inputs[3] = {builder_input(b, "x", 4, dims), builder_int_list(b, "pads", 8, pads),
                         builder_scalar(b, "value", value)};
    int y, z;
    builder_node(b, "Pad", 3, pad_inputs, 1, &y);
    if (conv) {
        int conv_inputs[3] = {y, builder_floats(b, "w", 4, weight_dims, w.data),
                              builder_floats(b, "b", 1, bias_dims, bias.data)};
        int node = builder_node(b, "Conv", 3, conv_inputs, 1, &z);
        builder_attribute_ints(b, node, "pads", 4, params.pads);
    } else if (kind == READER_RELU_NOTHING) {
        builder_node(b, "Relu", 1, &y, 1, &z);
    } else {
        int node = builder_node(b, kind == READER_MAX ? "MaxPool" : "AveragePool", 1, &y, 1, &z);
        builder_attribute_ints(b, node, "kernel_shape", 2, params.kernel_shape);
        builder_attribute_ints(b, node, "pads", 4, params.pads);
        builder_attribute_ints(b, node, "strides", 2, params.strides);
        if (params.ceil_mode) builder_attribute_int(b, node, "ceil_mode", 1);
    }
    builder_output(b, z);
    if (output_count == 2) builder_output(b, y);
    illume_session_options options;
    illume_session_options_default(&options);
    options.device = "cpu";
    options.channels_last = 0;
    illume_session_stats stats = {0};
    int nodes = kind == READER_CONV || kind == READER_AVERAGE || kind == READER_RELU_NOTHING ? 1 : 2;
    if (expect_run_with(names[kind], b, &options, 1, &x, output_count, want, 1e-5, &stats) &&
        stats.node_count != nodes)
        test_fail("%s: %d nodes left after the passes, expected %d", names[kind], stats.node_count, nodes);
    tensor_release(&padded);
    tensor_release(&x);
    tensor_release(&w);
    tensor_release(&bias);
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
    for (int kind = 0; kind < READER_KINDS; kind++) folded((pad_reader)kind, &seed);
    return test_report("ops/pad");
}
