/* Conv and ConvTranspose against the naive reference over groups,
 * depthwise, strides, dilations, asymmetric pads, every auto_pad, 1-D to
 * 3-D, with and without bias, with a Relu fused by the fusion pass, and
 * with weights given as a graph input rather than a constant; chains of
 * convolutions, and residual Adds fused into the Conv before them. */
#include <stdio.h>
#include <string.h>

#include "reference.h"
#include "test_support.h"

typedef struct conv_case {
    const char *name;
    int spatial;
    int64_t batch, channels, features, group;
    int64_t size[3], kernel[3];
    int64_t strides[3], dilations[3], pads[6]; /* zero strides or dilations mean the default of 1 */
    const char *auto_pad;
    int bias, relu, weights_as_input, kernel_shape_attribute;
    /* ConvTranspose only */
    int64_t output_padding[3], output_shape[3];
    int has_output_shape;
} conv_case;

static window_params params_of(const conv_case *c) {
    window_params params = window_defaults();
    for (int d = 0; d < c->spatial; d++) {
        params.strides[d] = c->strides[d] ? c->strides[d] : 1;
        params.dilations[d] = c->dilations[d] ? c->dilations[d] : 1;
        params.pads[d] = c->pads[d];
        params.pads[c->spatial + d] = c->pads[c->spatial + d];
        params.output_padding[d] = c->output_padding[d];
        params.output_shape[d] = c->output_shape[d];
    }
    params.has_output_shape = c->has_output_shape;
    params.auto_pad = c->auto_pad ? c->auto_pad : "NOTSET";
    return params;
}

/* Sets only the attributes a case changes, so that the defaults are exercised too. */
static void set_attributes(builder *b, int node, const conv_case *c, int transpose) {
    int spatial = c->spatial;
    if (c->group != 1) builder_attribute_int(b, node, "group", c->group);
    if (memcmp(c->strides, (int64_t[3]){0, 0, 0}, sizeof c->strides))
        builder_attribute_ints(b, node, "strides", spatial, params_of(c).strides);
    if (memcmp(c->dilations, (int64_t[3]){0, 0, 0}, sizeof c->dilations))
        builder_attribute_ints(b, node, "dilations", spatial, params_of(c).dilations);
    int any_pad = 0;
    for (int d = 0; d < 2 * spatial; d++) any_pad |= c->pads[d] != 0;
    if (any_pad) builder_attribute_ints(b, node, "pads", 2 * spatial, c->pads);
    if (c->auto_pad) builder_attribute_string(b, node, "auto_pad", c->auto_pad);
    if (c->kernel_shape_attribute) builder_attribute_ints(b, node, "kernel_shape", spatial, c->kernel);
    if (!transpose) return;
    int any_output_padding = 0;
    for (int d = 0; d < spatial; d++) any_output_padding |= c->output_padding[d] != 0;
    if (any_output_padding) builder_attribute_ints(b, node, "output_padding", spatial, c->output_padding);
    if (c->has_output_shape) builder_attribute_ints(b, node, "output_shape", spatial, c->output_shape);
}

static void run_case(const conv_case *c, int transpose, uint64_t *seed) {
    int rank = c->spatial + 2;
    int64_t x_dims[ILLUME_MAX_RANK] = {c->batch, c->channels};
    int64_t w_dims[ILLUME_MAX_RANK];
    if (transpose) {
        w_dims[0] = c->channels;
        w_dims[1] = c->features / c->group;
    } else {
        w_dims[0] = c->features;
        w_dims[1] = c->channels / c->group;
    }
    for (int d = 0; d < c->spatial; d++) {
        x_dims[2 + d] = c->size[d];
        w_dims[2 + d] = c->kernel[d];
    }
    int64_t bias_dims[1] = {c->features};
    illume_tensor inputs[2];
    inputs[0] = tensor_random(rank, x_dims, -1.0f, 1.0f, seed);
    inputs[1] = tensor_random(rank, w_dims, -1.0f, 1.0f, seed);
    illume_tensor bias = tensor_random(1, bias_dims, -1.0f, 1.0f, seed);
    window_params params = params_of(c);
    illume_tensor want =
        transpose ? reference_conv_transpose(&inputs[0], &inputs[1], c->bias ? &bias : NULL, c->group, &params)
                  : reference_conv(&inputs[0], &inputs[1], c->bias ? &bias : NULL, c->group, &params, 0);
    if (c->relu)
        for (int64_t i = 0; i < tensor_count(&want); i++)
            if (((float *)want.data)[i] < 0.0f) ((float *)want.data)[i] = 0.0f;
    const char *op = transpose ? "ConvTranspose" : "Conv";
    /* With a Relu, run once fused (one node left) and once unfused (two); each
     * with the channels-last layout pass on and off (node counts checked off,
     * where the pass adds no conversions). */
    for (int run = c->relu ? 0 : 2; run < 4; run++) {
        int fuse = run >= 2, layout = run % 2;
        builder *b = builder_create(17);
        int x = builder_input(b, "x", rank, x_dims);
        int w = c->weights_as_input ? builder_input(b, "w", rank, w_dims)
                                    : builder_floats(b, "w", rank, w_dims, inputs[1].data);
        int node_inputs[3] = {x, w, c->bias ? builder_floats(b, "b", 1, bias_dims, bias.data) : -1};
        int y;
        int node = builder_node(b, op, c->bias ? 3 : 2, node_inputs, 1, &y);
        set_attributes(b, node, c, transpose);
        if (c->relu) builder_node(b, "Relu", 1, &y, 1, &y);
        builder_output(b, y);
        illume_session_options options;
        illume_session_options_default(&options);
        options.device = "cpu";
        options.fuse_activations = fuse;
        options.channels_last = layout;
        illume_session_stats stats = {0};
        char label[256];
        snprintf(label, sizeof label, "%s %s%s%s", op, c->name,
                 c->relu ? (fuse ? " (Relu fused)" : " (Relu apart)") : "", layout ? " (channels last)" : "");
        illume_tensor expected = tensor_copy(&want);
        int ran = expect_run_with(label, b, &options, c->weights_as_input ? 2 : 1, inputs, 1, &expected, 1e-4, &stats);
        int nodes = c->relu && !fuse ? 2 : 1;
        if (ran && !layout && stats.node_count != nodes)
            test_fail("%s: %d nodes left after the passes, expected %d", label, stats.node_count, nodes);
    }
    tensor_release(&want);
    tensor_release(&bias);
    tensor_release(&inputs[0]);
    tensor_release(&inputs[1]);
}

static const conv_case conv_cases[] = {
    {.name = "2-D plain", .spatial = 2, .batch = 1, .channels = 3, .features = 4, .group = 1,
     .size = {7, 7}, .kernel = {3, 3}},
    {.name = "2-D stride 2 pads 1 bias batch 2", .spatial = 2, .batch = 2, .channels = 3, .features = 5, .group = 1,
     .size = {11, 13}, .kernel = {3, 3}, .strides = {2, 2}, .pads = {1, 1, 1, 1}, .bias = 1},
    {.name = "2-D asymmetric pads and strides", .spatial = 2, .batch = 1, .channels = 2, .features = 3, .group = 1,
     .size = {7, 5}, .kernel = {3, 2}, .strides = {2, 1}, .pads = {0, 1, 2, 0}, .bias = 1},
    {.name = "2-D dilations", .spatial = 2, .batch = 1, .channels = 3, .features = 2, .group = 1,
     .size = {9, 11}, .kernel = {3, 3}, .dilations = {2, 3}, .pads = {2, 3, 2, 3}},
    {.name = "2-D dilations, stride and uneven pads", .spatial = 2, .batch = 2, .channels = 2, .features = 3,
     .group = 1, .size = {13, 10}, .kernel = {2, 3}, .dilations = {3, 2}, .strides = {2, 3}, .pads = {1, 0, 0, 2},
     .bias = 1},
    {.name = "2-D groups 3", .spatial = 2, .batch = 1, .channels = 6, .features = 9, .group = 3,
     .size = {5, 7}, .kernel = {3, 3}, .bias = 1},
    {.name = "2-D depthwise stride 2", .spatial = 2, .batch = 2, .channels = 5, .features = 5, .group = 5,
     .size = {8, 9}, .kernel = {3, 3}, .strides = {2, 2}, .pads = {1, 1, 1, 1}, .bias = 1},
    {.name = "2-D depthwise multiplier 2", .spatial = 2, .batch = 1, .channels = 4, .features = 8, .group = 4,
     .size = {6, 5}, .kernel = {3, 3}, .pads = {1, 0, 1, 0}},
    {.name = "2-D auto_pad VALID", .spatial = 2, .batch = 1, .channels = 2, .features = 3, .group = 1,
     .size = {10, 7}, .kernel = {3, 4}, .strides = {3, 2}, .auto_pad = "VALID"},
    {.name = "2-D SAME_UPPER odd padding", .spatial = 2, .batch = 1, .channels = 2, .features = 3, .group = 1,
     .size = {7, 8}, .kernel = {4, 3}, .strides = {2, 2}, .auto_pad = "SAME_UPPER", .bias = 1},
    {.name = "2-D SAME_LOWER odd padding", .spatial = 2, .batch = 1, .channels = 2, .features = 3, .group = 1,
     .size = {7, 8}, .kernel = {4, 3}, .strides = {2, 2}, .auto_pad = "SAME_LOWER", .bias = 1},
    {.name = "2-D SAME_UPPER dilated", .spatial = 2, .batch = 1, .channels = 3, .features = 2, .group = 1,
     .size = {9, 6}, .kernel = {3, 2}, .dilations = {2, 2}, .auto_pad = "SAME_UPPER"},
    {.name = "1-D stride, dilation, pads, bias", .spatial = 1, .batch = 2, .channels = 3, .features = 4, .group = 1,
     .size = {17}, .kernel = {5}, .strides = {3}, .dilations = {2}, .pads = {2, 1}, .bias = 1},
    {.name = "1-D SAME_LOWER", .spatial = 1, .batch = 1, .channels = 2, .features = 2, .group = 1,
     .size = {10}, .kernel = {4}, .strides = {2}, .auto_pad = "SAME_LOWER"},
    {.name = "1-D groups 2", .spatial = 1, .batch = 3, .channels = 4, .features = 6, .group = 2,
     .size = {11}, .kernel = {3}, .pads = {1, 1}},
    {.name = "3-D pads and strides", .spatial = 3, .batch = 1, .channels = 2, .features = 3, .group = 1,
     .size = {5, 6, 7}, .kernel = {2, 3, 3}, .strides = {1, 2, 1}, .pads = {1, 0, 1, 0, 1, 1}, .bias = 1},
    {.name = "3-D depthwise dilated", .spatial = 3, .batch = 2, .channels = 3, .features = 3, .group = 3,
     .size = {5, 5, 6}, .kernel = {2, 2, 3}, .dilations = {2, 1, 2}, .pads = {1, 1, 2, 1, 0, 2}},
    {.name = "3-D SAME_UPPER", .spatial = 3, .batch = 1, .channels = 2, .features = 2, .group = 1,
     .size = {4, 5, 3}, .kernel = {3, 2, 3}, .strides = {2, 2, 1}, .auto_pad = "SAME_UPPER"},
    {.name = "1x1 on 1x1 input, batch 3", .spatial = 2, .batch = 3, .channels = 7, .features = 11, .group = 1,
     .size = {1, 1}, .kernel = {1, 1}, .bias = 1},
    {.name = "kernel as large as the input", .spatial = 2, .batch = 2, .channels = 3, .features = 4, .group = 1,
     .size = {5, 3}, .kernel = {5, 3}, .bias = 1},
    {.name = "size-1 spatial dim", .spatial = 2, .batch = 1, .channels = 2, .features = 3, .group = 1,
     .size = {1, 13}, .kernel = {1, 3}, .pads = {0, 1, 0, 1}},
    {.name = "batch 0", .spatial = 2, .batch = 0, .channels = 3, .features = 2, .group = 1,
     .size = {5, 5}, .kernel = {3, 3}, .pads = {1, 1, 1, 1}, .bias = 1},
    {.name = "kernel_shape attribute", .spatial = 2, .batch = 1, .channels = 2, .features = 2, .group = 1,
     .size = {6, 6}, .kernel = {3, 2}, .kernel_shape_attribute = 1},
    {.name = "weights as a graph input", .spatial = 2, .batch = 2, .channels = 4, .features = 6, .group = 2,
     .size = {7, 6}, .kernel = {3, 3}, .pads = {1, 1, 1, 1}, .bias = 1, .weights_as_input = 1},
    {.name = "16 to 32 channels (blocked layouts)", .spatial = 2, .batch = 2, .channels = 16, .features = 32,
     .group = 1, .size = {14, 14}, .kernel = {3, 3}, .pads = {1, 1, 1, 1}, .bias = 1},
    {.name = "Relu groups 2", .spatial = 2, .batch = 2, .channels = 4, .features = 6, .group = 2,
     .size = {7, 9}, .kernel = {3, 3}, .strides = {2, 1}, .pads = {1, 1, 0, 1}, .bias = 1, .relu = 1},
    {.name = "Relu no bias 1-D", .spatial = 1, .batch = 1, .channels = 3, .features = 5, .group = 1,
     .size = {12}, .kernel = {3}, .relu = 1},
    {.name = "Relu weights as input", .spatial = 2, .batch = 1, .channels = 3, .features = 4, .group = 1,
     .size = {5, 5}, .kernel = {3, 3}, .relu = 1, .weights_as_input = 1, .bias = 1},
};

static const conv_case transpose_cases[] = {
    {.name = "2-D plain", .spatial = 2, .batch = 1, .channels = 3, .features = 2, .group = 1,
     .size = {5, 5}, .kernel = {3, 3}},
    {.name = "2-D strides, pads, output_padding, bias", .spatial = 2, .batch = 2, .channels = 3, .features = 4,
     .group = 1, .size = {5, 6}, .kernel = {3, 3}, .strides = {2, 2}, .pads = {1, 1, 1, 1},
     .output_padding = {1, 1}, .bias = 1},
    {.name = "2-D asymmetric pads, uneven strides", .spatial = 2, .batch = 1, .channels = 2, .features = 3,
     .group = 1, .size = {4, 7}, .kernel = {3, 2}, .strides = {3, 2}, .pads = {0, 1, 2, 0}, .bias = 1},
    {.name = "2-D output_padding without pads", .spatial = 2, .batch = 1, .channels = 2, .features = 2,
     .group = 1, .size = {3, 4}, .kernel = {3, 3}, .strides = {3, 2}, .output_padding = {2, 1}},
    {.name = "2-D output_shape", .spatial = 2, .batch = 1, .channels = 2, .features = 3, .group = 1,
     .size = {4, 5}, .kernel = {3, 3}, .strides = {2, 2}, .output_shape = {8, 10}, .has_output_shape = 1},
    {.name = "2-D output_shape SAME_UPPER", .spatial = 2, .batch = 1, .channels = 2, .features = 3, .group = 1,
     .size = {4, 5}, .kernel = {3, 3}, .strides = {2, 2}, .output_shape = {8, 10}, .has_output_shape = 1,
     .auto_pad = "SAME_UPPER"},
    {.name = "2-D output_shape with output_padding", .spatial = 2, .batch = 2, .channels = 3, .features = 2,
     .group = 1, .size = {3, 4}, .kernel = {3, 3}, .strides = {2, 3}, .output_padding = {1, 2},
     .output_shape = {6, 10}, .has_output_shape = 1, .bias = 1},
    {.name = "2-D output_shape past the full output", .spatial = 2, .batch = 1, .channels = 2, .features = 2,
     .group = 1, .size = {3, 4}, .kernel = {3, 3}, .strides = {2, 2}, .output_shape = {8, 10}, .has_output_shape = 1,
     .bias = 1},
    {.name = "2-D SAME_UPPER", .spatial = 2, .batch = 1, .channels = 2, .features = 2, .group = 1,
     .size = {4, 3}, .kernel = {3, 4}, .strides = {2, 3}, .auto_pad = "SAME_UPPER"},
    {.name = "2-D SAME_LOWER", .spatial = 2, .batch = 1, .channels = 2, .features = 2, .group = 1,
     .size = {4, 3}, .kernel = {3, 4}, .strides = {2, 3}, .auto_pad = "SAME_LOWER", .bias = 1},
    {.name = "2-D VALID", .spatial = 2, .batch = 1, .channels = 2, .features = 3, .group = 1,
     .size = {3, 5}, .kernel = {2, 3}, .strides = {2, 1}, .auto_pad = "VALID"},
    {.name = "2-D groups 2", .spatial = 2, .batch = 2, .channels = 4, .features = 6, .group = 2,
     .size = {5, 4}, .kernel = {3, 3}, .strides = {2, 2}, .pads = {1, 0, 1, 0}, .bias = 1},
    {.name = "2-D depthwise", .spatial = 2, .batch = 1, .channels = 3, .features = 3, .group = 3,
     .size = {4, 4}, .kernel = {2, 2}, .strides = {2, 2}},
    {.name = "2-D dilations", .spatial = 2, .batch = 1, .channels = 2, .features = 3, .group = 1,
     .size = {5, 4}, .kernel = {3, 2}, .dilations = {2, 3}, .strides = {3, 1}, .pads = {1, 2, 0, 1}},
    {.name = "1-D output_padding", .spatial = 1, .batch = 3, .channels = 2, .features = 3, .group = 1,
     .size = {7}, .kernel = {4}, .strides = {3}, .pads = {1, 2}, .output_padding = {2}, .bias = 1},
    {.name = "3-D strides", .spatial = 3, .batch = 1, .channels = 2, .features = 2, .group = 1,
     .size = {3, 4, 2}, .kernel = {2, 3, 2}, .strides = {2, 1, 3}, .pads = {0, 1, 0, 1, 0, 1}, .bias = 1},
    {.name = "1x1 on 1x1 input", .spatial = 2, .batch = 2, .channels = 5, .features = 7, .group = 1,
     .size = {1, 1}, .kernel = {1, 1}, .bias = 1},
    {.name = "weights as a graph input", .spatial = 2, .batch = 1, .channels = 3, .features = 2, .group = 1,
     .size = {4, 5}, .kernel = {3, 3}, .strides = {2, 2}, .weights_as_input = 1, .bias = 1},
    {.name = "Relu fused", .spatial = 2, .batch = 1, .channels = 2, .features = 4, .group = 2,
     .size = {5, 4}, .kernel = {3, 3}, .strides = {2, 2}, .pads = {1, 1, 1, 1}, .bias = 1, .relu = 1},
};

/* A convolution reading another's output: channels last between them when
 * the layout pass applies, and a free Reshape back when the result is 1x1. */
static void chains(uint64_t *seed) {
    const struct {
        const char *name;
        const char *op;
        int64_t features, group, kernel[2], strides[2], pads[4];
    } seconds[] = {
        {"Conv after Conv", "Conv", 5, 1, {3, 3}, {2, 2}, {1, 1, 1, 1}},
        {"depthwise Conv after Conv", "Conv", 4, 4, {3, 3}, {1, 1}, {1, 0, 1, 0}},
        {"ConvTranspose after Conv", "ConvTranspose", 3, 1, {2, 2}, {2, 2}, {0, 0, 0, 0}},
        {"Conv to 1x1 after Conv", "Conv", 6, 1, {9, 8}, {1, 1}, {0, 0, 0, 0}},
    };
    const int64_t x_dims[4] = {2, 3, 9, 8};
    for (size_t i = 0; i < sizeof seconds / sizeof seconds[0]; i++) {
        int transpose = strcmp(seconds[i].op, "ConvTranspose") == 0;
        illume_tensor x = tensor_random(4, x_dims, -1.0f, 1.0f, seed);
        builder *b = builder_create(17);
        illume_tensor produced;
        int first = add_conv(b, builder_input(b, "x", 4, x_dims), &x, 4, seed, &produced);
        int64_t w_dims[4] = {transpose ? 4 : seconds[i].features, transpose ? seconds[i].features / seconds[i].group
                                                                            : 4 / seconds[i].group,
                             seconds[i].kernel[0], seconds[i].kernel[1]};
        illume_tensor w = tensor_random(4, w_dims, -1.0f, 1.0f, seed);
        window_params params = window_defaults();
        memcpy(params.strides, seconds[i].strides, sizeof seconds[i].strides);
        memcpy(params.pads, seconds[i].pads, sizeof seconds[i].pads);
        illume_tensor want = transpose ? reference_conv_transpose(&produced, &w, NULL, seconds[i].group, &params)
                                       : reference_conv(&produced, &w, NULL, seconds[i].group, &params, 0);
        int inputs[2] = {first, builder_floats(b, "w", 4, w_dims, w.data)};
        int y, node = builder_node(b, seconds[i].op, 2, inputs, 1, &y);
        builder_attribute_ints(b, node, "strides", 2, seconds[i].strides);
        builder_attribute_ints(b, node, "pads", 4, seconds[i].pads);
        if (seconds[i].group != 1) builder_attribute_int(b, node, "group", seconds[i].group);
        builder_output(b, y);
        expect_run_layouts(seconds[i].name, b, 1, &x, 1, &want, 1e-4);
        tensor_release(&produced);
        tensor_release(&w);
        tensor_release(&x);
    }
}

/* An Add of a convolution's output and a tensor of its shape, fused into the
 * Conv by the fusion pass (the Relu after it too), which accumulates in place
 * over the addend when nothing reads the addend later. Each graph runs with
 * fusion and the layout pass on and off. */
typedef enum residual_kind {
    RESIDUAL_INPUT,          /* Relu(Conv(x) + z), z a graph input */
    RESIDUAL_READ_LATER,     /* z' = Relu(z); Conv(x) + z', and Sigmoid(z') after it */
    RESIDUAL_OWN_INPUT,      /* r = Relu(x); Conv(r) + r */
    RESIDUAL_BLOCK,          /* a = Conv(x); Relu(Conv(a) + a) */
    RESIDUAL_BLOCK_OUTPUT,   /* as RESIDUAL_BLOCK, with a a graph output too */
    RESIDUAL_TRANSPOSE,      /* ConvTranspose(x) + z */
    RESIDUAL_BROADCAST,      /* Conv(x) + z with z of shape (1, C, 1, 1): not fused */
    RESIDUAL_KINDS
} residual_kind;

static void residual(residual_kind kind, uint64_t *seed) {
    static const char *const names[] = {"Relu(Conv + input)", "Conv + value read later", "Conv + its own input",
                                        "residual block", "residual block with the shortcut an output",
                                        "ConvTranspose + input", "Conv + broadcast input (not fused)"};
    const int64_t x_dims[4] = {2, 4, 6, 5}, small_dims[4] = {1, 4, 1, 1}, w_dims[4] = {4, 4, 3, 3};
    int64_t t_dims[4] = {4, 4, 2, 2}, big_dims[4] = {2, 4, 12, 10}, bias_dims[1] = {4};
    const int64_t *z_dims = kind == RESIDUAL_TRANSPOSE ? big_dims : kind == RESIDUAL_BROADCAST ? small_dims : x_dims;
    illume_tensor inputs[2] = {tensor_random(4, x_dims, -1.0f, 1.0f, seed),
                               tensor_random(4, z_dims, -1.0f, 1.0f, seed)};
    int transpose = kind == RESIDUAL_TRANSPOSE;
    illume_tensor w = tensor_random(4, transpose ? t_dims : w_dims, -0.5f, 0.5f, seed);
    illume_tensor bias = tensor_random(1, bias_dims, -0.5f, 0.5f, seed);
    window_params params = window_defaults();
    if (transpose) params.strides[0] = params.strides[1] = 2;
    else for (int d = 0; d < 4; d++) params.pads[d] = 1;
    int uses_z = kind != RESIDUAL_OWN_INPUT && kind != RESIDUAL_BLOCK && kind != RESIDUAL_BLOCK_OUTPUT;
    /* The reference, step by step. */
    illume_tensor want[2], shortcut, conv_input;
    int output_count = 1;
    if (kind == RESIDUAL_OWN_INPUT) {
        conv_input = reference_unary(&inputs[0], "Relu", 0, 0);
        shortcut = reference_unary(&inputs[0], "Relu", 0, 0);
    } else if (kind == RESIDUAL_BLOCK || kind == RESIDUAL_BLOCK_OUTPUT) {
        conv_input = reference_conv(&inputs[0], &w, &bias, 1, &params, 0);
        shortcut = reference_conv(&inputs[0], &w, &bias, 1, &params, 0);
    } else {
        conv_input = tensor_copy(&inputs[0]);
        shortcut = kind == RESIDUAL_READ_LATER ? reference_unary(&inputs[1], "Relu", 0, 0) : tensor_copy(&inputs[1]);
    }
    illume_tensor produced = transpose ? reference_conv_transpose(&conv_input, &w, &bias, 1, &params)
                                       : reference_conv(&conv_input, &w, &bias, 1, &params, 0);
    want[0] = reference_binary("Add", &produced, &shortcut);
    if (kind == RESIDUAL_INPUT || kind == RESIDUAL_BLOCK || kind == RESIDUAL_BLOCK_OUTPUT)
        for (int64_t i = 0; i < tensor_count(&want[0]); i++)
            if (((float *)want[0].data)[i] < 0.0f) ((float *)want[0].data)[i] = 0.0f;
    if (kind == RESIDUAL_READ_LATER) {
        want[1] = reference_unary(&shortcut, "Sigmoid", 0, 0);
        output_count = 2;
    }
    if (kind == RESIDUAL_BLOCK_OUTPUT) {
        want[1] = reference_conv(&inputs[0], &w, &bias, 1, &params, 0);
        output_count = 2;
    }
    for (int run = 0; run < 4; run++) {
        builder *b = builder_create(17);
        int x = builder_input(b, "x", 4, x_dims);
        int z = uses_z ? builder_input(b, "z", 4, z_dims) : -1;
        int weights = builder_floats(b, "w", 4, transpose ? t_dims : w_dims, w.data);
        int biases = builder_floats(b, "b", 1, bias_dims, bias.data);
        int addend = z, source = x, extra = -1;
        if (kind == RESIDUAL_READ_LATER) builder_node(b, "Relu", 1, &z, 1, &addend);
        if (kind == RESIDUAL_OWN_INPUT) {
            builder_node(b, "Relu", 1, &x, 1, &source);
            addend = source;
        }
        if (kind == RESIDUAL_BLOCK || kind == RESIDUAL_BLOCK_OUTPUT) {
            int conv_inputs[3] = {x, weights, biases};
            int node = builder_node(b, "Conv", 3, conv_inputs, 1, &source);
            builder_attribute_ints(b, node, "pads", 4, params.pads);
            addend = source;
        }
        int conv_inputs[3] = {source, weights, biases}, conv;
        int node = builder_node(b, transpose ? "ConvTranspose" : "Conv", 3, conv_inputs, 1, &conv);
        if (transpose) builder_attribute_ints(b, node, "strides", 2, params.strides);
        else builder_attribute_ints(b, node, "pads", 4, params.pads);
        int add_inputs[2] = {kind == RESIDUAL_READ_LATER ? addend : conv, kind == RESIDUAL_READ_LATER ? conv : addend};
        int y;
        builder_node(b, "Add", 2, add_inputs, 1, &y);
        if (kind == RESIDUAL_INPUT || kind == RESIDUAL_BLOCK || kind == RESIDUAL_BLOCK_OUTPUT)
            builder_node(b, "Relu", 1, &y, 1, &y);
        if (kind == RESIDUAL_READ_LATER) builder_node(b, "Sigmoid", 1, &addend, 1, &extra);
        if (kind == RESIDUAL_BLOCK_OUTPUT) extra = addend;
        builder_output(b, y);
        if (extra >= 0) builder_output(b, extra);
        illume_session_options options;
        illume_session_options_default(&options);
        options.device = "cpu";
        options.fuse_activations = run / 2;
        options.channels_last = run % 2;
        illume_tensor expected[2];
        for (int o = 0; o < output_count; o++) expected[o] = tensor_copy(&want[o]);
        char label[160];
        snprintf(label, sizeof label, "%s, fusion %s%s", names[kind], run / 2 ? "on" : "off",
                 run % 2 ? " (channels last)" : "");
        expect_run_with(label, b, &options, uses_z ? 2 : 1, inputs, output_count, expected, 1e-5, NULL);
    }
    for (int o = 0; o < output_count; o++) tensor_release(&want[o]);
    tensor_release(&produced);
    tensor_release(&shortcut);
    tensor_release(&conv_input);
    tensor_release(&w);
    tensor_release(&bias);
    tensor_release(&inputs[0]);
    tensor_release(&inputs[1]);
}

int main(void) {
    uint64_t seed = 20241121;
    for (size_t i = 0; i < sizeof conv_cases / sizeof conv_cases[0]; i++) run_case(&conv_cases[i], 0, &seed);
    for (size_t i = 0; i < sizeof transpose_cases / sizeof transpose_cases[0]; i++)
        run_case(&transpose_cases[i], 1, &seed);
    chains(&seed);
    for (int kind = 0; kind < RESIDUAL_KINDS; kind++) residual((residual_kind)kind, &seed);
    return test_report("ops/conv");
}
