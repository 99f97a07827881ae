/* Conv and ConvTranspose against the naive reference over groups,
 * depthwise, strides, dilations, asymmetric pads, every auto_pad, 1-D to
 * 3-D, with and without bias, with a Relu fused by the fusion pass, and
 * with weights given as a graph input rather than a constant; chains of
 * convolutions, residual Adds fused into the Conv before them, SiLU and
 * hard swish (a gate and a Mul) fused as the Conv's activation, and the
 * 3x3 convolutions that forward-only sessions run by Winograd's algorithm. */
#include <dnnl.h>
#include <stdio.h>
#include <string.h>

#include "op_cases.h"
#include "reference.h"
#include "test_support.h"

static void run_case(const conv_case *c, int transpose, uint64_t *seed) {
    int rank = c->spatial + 2;
    int64_t x_dims[ILLUME_MAX_RANK], w_dims[ILLUME_MAX_RANK], bias_dims[1] = {c->features};
    conv_shapes(c, transpose, x_dims, w_dims);
    illume_tensor inputs[2];
    inputs[0] = tensor_random(rank, x_dims, -1.0f, 1.0f, seed);
    inputs[1] = tensor_random(rank, w_dims, -1.0f, 1.0f, seed);
    illume_tensor bias = tensor_random(1, bias_dims, -1.0f, 1.0f, seed);
    window_params params = conv_window(c);
    illume_tensor want =
        transpose ? reference_conv_transpose(&inputs[0], &inputs[1], c->bias ? &bias : NULL, c->group, &params)
                  : reference_conv(&inputs[0], &inputs[1], c->bias ? &bias : NULL, c->group, &params, 0);
    if (c->relu)
        for (int64_t i = 0; i < tensor_count(&want); i++)
            if (((float *)want.data)[i] < 0.0f) ((float *)want.data)[i] = 0.0f;
    /* With a Relu, run once fused (one node left) and once unfused (two); each
     * with the channels-last layout pass on and off (node counts checked off,
     * where the pass adds no conversions). */
    for (int run = c->relu ? 0 : 2; run < 4; run++) {
        int fuse = run >= 2, layout = run % 2;
        /* Only the attributes a case changes, so that the defaults are exercised too. */
        builder *b = conv_model(c, transpose, &inputs[1], &bias, ATTRIBUTES_CHANGED);
        illume_session_options options;
        illume_session_options_default(&options);
        options.device = "cpu";
        options.fuse_activations = fuse;
        options.channels_last = layout;
        illume_session_stats stats = {0};
        char name[224], label[256];
        conv_label(c, transpose, fuse, name, sizeof name);
        snprintf(label, sizeof label, "%s%s", name, layout ? " (channels last)" : "");
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

static void run_cases(const conv_case *cases, size_t count, int transpose, uint64_t *seed) {
    for (size_t i = 0; i < count; i++) run_case(&cases[i], transpose, seed);
}

/* Beyond the shared cases: those the backward tests leave out, larger
 * inputs, batch 0 and weights as an input among them. */
static const conv_case conv_cases[] = {
    {.name = "2-D stride 2 pads 1 bias batch 2", .spatial = 2, .batch = 2, .channels = 3, .features = 5,
     .group = 1, .size = {11, 13}, .kernel = {3, 3}, .strides = {2, 2}, .pads = {1, 1, 1, 1}, .bias = 1},
    {.name = "1-D SAME_LOWER", .spatial = 1, .batch = 1, .channels = 2, .features = 2, .group = 1,
     .size = {10}, .kernel = {4}, .strides = {2}, .auto_pad = "SAME_LOWER"},
    {.name = "3-D SAME_UPPER", .spatial = 3, .batch = 1, .channels = 2, .features = 2, .group = 1,
     .size = {4, 5, 3}, .kernel = {3, 2, 3}, .strides = {2, 2, 1}, .auto_pad = "SAME_UPPER"},
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
    {.name = "Relu weights as input", .spatial = 2, .batch = 1, .channels = 3, .features = 4, .group = 1,
     .size = {5, 5}, .kernel = {3, 3}, .relu = 1, .weights_as_input = 1, .bias = 1},
};

static const conv_case transpose_cases[] = {
    {.name = "2-D output_shape with output_padding", .spatial = 2, .batch = 2, .channels = 3, .features = 2,
     .group = 1, .size = {3, 4}, .kernel = {3, 3}, .strides = {2, 3}, .output_padding = {1, 2},
     .output_shape = {6, 10}, .has_output_shape = 1, .bias = 1},
    {.name = "2-D output_shape past the full output", .spatial = 2, .batch = 1, .channels = 2, .features = 2,
     .group = 1, .size = {3, 4}, .kernel = {3, 3}, .strides = {2, 2}, .output_shape = {8, 10},
     .has_output_shape = 1, .bias = 1},
    {.name = "2-D SAME_UPPER", .spatial = 2, .batch = 1, .channels = 2, .features = 2, .group = 1,
     .size = {4, 3}, .kernel = {3, 4}, .strides = {2, 3}, .auto_pad = "SAME_UPPER"},
    {.name = "1x1 on 1x1 input", .spatial = 2, .batch = 2, .channels = 5, .features = 7, .group = 1,
     .size = {1, 1}, .kernel = {1, 1}, .bias = 1},
    {.name = "weights as a graph input", .spatial = 2, .batch = 1, .channels = 3, .features = 2, .group = 1,
     .size = {4, 5}, .kernel = {3, 3}, .strides = {2, 2}, .weights_as_input = 1, .bias = 1},
    {.name = "Relu fused", .spatial = 2, .batch = 1, .channels = 2, .features = 4, .group = 2,
     .size = {5, 4}, .kernel = {3, 3}, .strides = {2, 2}, .pads = {1, 1, 1, 1}, .bias = 1, .relu = 1},
};

/* The chains of two convolutions, and a free Reshape back when the result
 * is 1x1. */
static void chains(uint64_t *seed) {
    const int64_t x_dims[4] = {2, 3, 9, 8};
    for (size_t i = 0; i < shared_conv_chain_case_count; i++) {
        const conv_chain_case *c = &shared_conv_chain_cases[i];
        illume_tensor x = tensor_random(4, x_dims, -1.0f, 1.0f, seed), produced, w;
        builder *b = conv_chain_model(c, &x, 1.0f, seed, &produced, &w);
        window_params params = window_defaults();
        memcpy(params.strides, c->strides, sizeof c->strides);
        memcpy(params.pads, c->pads, sizeof c->pads);
        illume_tensor want = c->transpose ? reference_conv_transpose(&produced, &w, NULL, c->group, &params)
                                          : reference_conv(&produced, &w, NULL, c->group, &params, 0);
        expect_run_layouts(c->name, b, 1, &x, 1, &want, 1e-4);
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

/* y * gate(y) after a convolution, which the fusion pass runs as the
 * Conv's activation (one node): SiLU, Mul(y, Sigmoid(y)), in either operand
 * order, and hard swish as PyTorch exports it, Mul(y, HardSigmoid(y) with
 * alpha 1/6, beta 1/2). Not fused: a gate whose output has another reader,
 * and a HardSigmoid of other slopes. */
typedef enum gated_kind {
    GATED_SIGMOID_SECOND,
    GATED_SIGMOID_FIRST,
    GATED_SIGMOID_READ_ELSEWHERE,
    GATED_HARD_SIGMOID,
    GATED_OTHER_HARD_SIGMOID,
    GATED_KINDS
} gated_kind;

static void gated(gated_kind kind, uint64_t *seed) {
    static const char *const names[] = {"Conv, Mul(y, Sigmoid(y))", "Conv, Mul(Sigmoid(y), y)",
                                        "Conv, Mul(y, Sigmoid(y)) with the Sigmoid an output (not fused)",
                                        "Conv, Mul(y, HardSigmoid(y)) (hard swish)",
                                        "Conv, Mul(y, HardSigmoid(y)) of slope 0.2 (not fused)"};
    const int64_t x_dims[4] = {2, 3, 7, 6}, w_dims[4] = {5, 3, 3, 3}, bias_dims[1] = {5};
    illume_tensor x = tensor_random(4, x_dims, -1.0f, 1.0f, seed);
    illume_tensor w = tensor_random(4, w_dims, -2.0f, 2.0f, seed), bias = tensor_random(1, bias_dims, -1.0f, 1.0f, seed);
    window_params params = window_defaults();
    for (int d = 0; d < 4; d++) params.pads[d] = 1;
    int hard = kind == GATED_HARD_SIGMOID || kind == GATED_OTHER_HARD_SIGMOID;
    float alpha = kind == GATED_HARD_SIGMOID ? 1.0f / 6.0f : 0.2f;
    illume_tensor produced = reference_conv(&x, &w, &bias, 1, &params, 0);
    illume_tensor want[2] = {{0}, reference_unary(&produced, hard ? "HardSigmoid" : "Sigmoid", alpha, 0.5f)};
    want[0] = reference_binary("Mul", &produced, &want[1]);
    int output_count = kind == GATED_SIGMOID_READ_ELSEWHERE ? 2 : 1;
    int fusable = kind != GATED_SIGMOID_READ_ELSEWHERE && kind != GATED_OTHER_HARD_SIGMOID;
    for (int run = 0; run < 4; run++) {
        int fuse = run / 2, layout = run % 2;
        builder *b = builder_create(13);
        int conv_inputs[3] = {builder_input(b, "x", 4, x_dims), builder_floats(b, "w", 4, w_dims, w.data),
                              builder_floats(b, "b", 1, bias_dims, bias.data)};
        int y, gate, product;
        int node = builder_node(b, "Conv", 3, conv_inputs, 1, &y);
        builder_attribute_ints(b, node, "pads", 4, params.pads);
        node = builder_node(b, hard ? "HardSigmoid" : "Sigmoid", 1, &y, 1, &gate);
        if (hard) builder_attribute_float(b, node, "alpha", alpha);
        int mul_inputs[2] = {kind == GATED_SIGMOID_FIRST ? gate : y, kind == GATED_SIGMOID_FIRST ? y : gate};
        builder_node(b, "Mul", 2, mul_inputs, 1, &product);
        builder_output(b, product);
        if (kind == GATED_SIGMOID_READ_ELSEWHERE) builder_output(b, gate);
        illume_session_options options;
        illume_session_options_default(&options);
        options.device = "cpu";
        options.fuse_activations = fuse;
        options.channels_last = layout;
        illume_tensor expected[2];
        for (int o = 0; o < output_count; o++) expected[o] = tensor_copy(&want[o]);
        illume_session_stats stats = {0};
        char label[192];
        snprintf(label, sizeof label, "%s, fusion %s%s", names[kind], fuse ? "on" : "off",
                 layout ? " (channels last)" : "");
        int nodes = fuse && fusable ? 1 : 3;
        if (expect_run_with(label, b, &options, 1, &x, output_count, expected, 1e-5, &stats) && !layout &&
            stats.node_count != nodes)
            test_fail("%s: %d nodes left after the passes, expected %d", label, stats.node_count, nodes);
    }
    for (int o = 0; o < 2; o++) tensor_release(&want[o]);
    tensor_release(&produced);
    tensor_release(&x);
    tensor_release(&w);
    tensor_release(&bias);
}

/* Whether this oneDNN runs Winograd's algorithm on this CPU, asked directly
 * for a 3x3 convolution of 32 channels on 28x28. */
static int winograd_available(void) {
    dnnl_engine_t engine;
    if (dnnl_engine_create(&engine, dnnl_cpu, 0) != dnnl_success) return 0;
    dnnl_dims_t x_dims = {1, 32, 28, 28}, w_dims = {32, 32, 3, 3}, strides = {1, 1}, dilations = {0, 0},
                pads = {1, 1};
    dnnl_memory_desc_t x, w;
    dnnl_memory_desc_init_by_tag(&x, 4, x_dims, dnnl_f32, dnnl_format_tag_any);
    dnnl_memory_desc_init_by_tag(&w, 4, w_dims, dnnl_f32, dnnl_format_tag_any);
    dnnl_convolution_desc_t operation;
    dnnl_primitive_desc_t pd = NULL;
    int available = dnnl_dilated_convolution_forward_desc_init(&operation, dnnl_forward_inference,
                                                               dnnl_convolution_winograd, &x, &w, NULL, &x, strides,
                                                               dilations, pads, pads) == dnnl_success &&
                    dnnl_primitive_desc_create(&pd, &operation, NULL, engine, NULL) == dnnl_success;
    if (pd) dnnl_primitive_desc_destroy(pd);
    dnnl_engine_destroy(engine);
    return available;
}

/* A Conv (3x3, pads 1, bias) and Relu, in a session that may run it by
 * Winograd's algorithm: whether it did (where oneDNN has the algorithm), and
 * that its output matches the direct reference either way. */
typedef struct winograd_case {
    const char *name;
    int64_t batch, channels, features, size, stride;
    int turned_off, backward, weights_as_input;
    int winograd; /* expected to run by Winograd's algorithm */
} winograd_case;

static const winograd_case winograd_cases[] = {
    {"32 channels, 28x28", 1, 32, 32, 28, 1, 0, 0, 0, 1},
    {"32 channels, 28x28, winograd off", 1, 32, 32, 28, 1, 1, 0, 0, 0},
    {"32 channels, 28x28, a backward session", 1, 32, 32, 28, 1, 0, 1, 0, 0},
    {"32 channels, 14x14 (too few pixels)", 1, 32, 32, 14, 1, 0, 0, 0, 0},
    {"32 channels, 14x14, batch 4", 4, 32, 32, 14, 1, 0, 0, 0, 1},
    {"256 channels, 14x14 (many channel pairs)", 1, 256, 256, 14, 1, 0, 0, 0, 1},
    {"256 channels, 13x13 (many pairs, too few pixels)", 1, 256, 256, 13, 1, 0, 0, 0, 0},
    {"128 to 256 channels, 14x14 (too few pairs)", 1, 128, 256, 14, 1, 0, 0, 0, 0},
    {"16 to 32 channels (too few in)", 1, 16, 32, 28, 1, 0, 0, 0, 0},
    {"32 to 16 channels (too few out)", 1, 32, 16, 28, 1, 0, 0, 0, 0},
    {"stride 2", 1, 32, 32, 56, 2, 0, 0, 0, 0},
    {"weights as a graph input", 1, 32, 32, 28, 1, 0, 0, 1, 0},
};

static void winograd(const winograd_case *c, int available, uint64_t *seed) {
    const int64_t x_dims[4] = {c->batch, c->channels, c->size, c->size};
    const int64_t w_dims[4] = {c->features, c->channels, 3, 3}, bias_dims[1] = {c->features};
    illume_tensor x = tensor_random(4, x_dims, -1.0f, 1.0f, seed);
    illume_tensor w = tensor_random(4, w_dims, -1.0f, 1.0f, seed), bias = tensor_random(1, bias_dims, -1.0f, 1.0f, seed);
    window_params params = window_defaults();
    for (int d = 0; d < 4; d++) params.pads[d] = 1;
    for (int d = 0; d < 2; d++) params.strides[d] = c->stride;
    illume_tensor want = reference_conv(&x, &w, &bias, 1, &params, 1);
    builder *b = builder_create(13);
    int conv_inputs[3] = {builder_input(b, "x", 4, x_dims),
                          c->weights_as_input ? builder_input(b, "w", 4, w_dims)
                                              : builder_floats(b, "w", 4, w_dims, w.data),
                          builder_floats(b, "b", 1, bias_dims, bias.data)};
    int y, activated;
    int node = builder_node(b, "Conv", 3, conv_inputs, 1, &y);
    builder_attribute_ints(b, node, "pads", 4, params.pads);
    builder_attribute_ints(b, node, "strides", 2, params.strides);
    builder_node(b, "Relu", 1, &y, 1, &activated);
    builder_output(b, activated);
    illume_session_options options;
    illume_session_options_default(&options);
    options.device = "cpu";
    options.winograd = !c->turned_off;
    options.backward = c->backward;
    illume_session_stats stats = {0};
    char label[160];
    snprintf(label, sizeof label, "Winograd: %s", c->name);
    int expected = c->winograd && available;
    illume_tensor inputs[2] = {x, w};
    if (expect_run_with(label, b, &options, c->weights_as_input ? 2 : 1, inputs, 1, &want, 1e-4, &stats) &&
        stats.winograd_count != expected)
        test_fail("%s: %d convolutions by Winograd's algorithm, expected %d", label, stats.winograd_count, expected);
    tensor_release(&x);
    tensor_release(&w);
    tensor_release(&bias);
}

int main(void) {
    uint64_t seed = 20241121;
    run_cases(shared_conv_cases, shared_conv_case_count, 0, &seed);
    run_cases(conv_cases, sizeof conv_cases / sizeof conv_cases[0], 0, &seed);
    run_cases(shared_conv_transpose_cases, shared_conv_transpose_case_count, 1, &seed);
    run_cases(transpose_cases, sizeof transpose_cases / sizeof transpose_cases[0], 1, &seed);
    chains(&seed);
    for (int kind = 0; kind < RESIDUAL_KINDS; kind++) residual((residual_kind)kind, &seed);
    for (int kind = 0; kind < GATED_KINDS; kind++) gated((gated_kind)kind, &seed);
    int available = winograd_available();
    if (!available) printf("ops/conv: this oneDNN has no Winograd convolution here; its cases check it stays unused\n");
    for (size_t i = 0; i < sizeof winograd_cases / sizeof winograd_cases[0]; i++)
        winograd(&winograd_cases[i], available, &seed);
    return test_report("ops/conv");
}
