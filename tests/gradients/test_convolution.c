/* Backward passes of Conv and ConvTranspose against finite differences, over
 * the attribute combinations of the forward tests: groups and depthwise,
 * strides, dilations, asymmetric pads, every auto_pad, output_padding and
 * output_shape, 1-D to 3-D, with and without bias; a Relu fused into the
 * convolution (inputs chosen so that no output sits within reach of the
 * kink); chains of two convolutions. Each with the channels-last layout
 * pass on and off. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "gradient_check.h"

typedef struct conv_case {
    const char *name;
    int spatial;
    int64_t batch, channels, features, group;
    int64_t size[3], kernel[3];
    int64_t strides[3], dilations[3], pads[6]; /* zero strides or dilations mean 1 */
    const char *auto_pad;
    int bias, relu;
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

static void set_attributes(builder *b, int node, const conv_case *c, int transpose) {
    int spatial = c->spatial;
    window_params params = params_of(c);
    if (c->group != 1) builder_attribute_int(b, node, "group", c->group);
    builder_attribute_ints(b, node, "strides", spatial, params.strides);
    builder_attribute_ints(b, node, "dilations", spatial, params.dilations);
    if (c->auto_pad) builder_attribute_string(b, node, "auto_pad", c->auto_pad);
    else builder_attribute_ints(b, node, "pads", 2 * spatial, c->pads);
    if (!transpose) return;
    builder_attribute_ints(b, node, "output_padding", spatial, c->output_padding);
    if (c->has_output_shape) builder_attribute_ints(b, node, "output_shape", spatial, c->output_shape);
}

/* Redraws x until no output of the convolution lies within margin of zero,
 * so that a Relu after it has no kink within the finite differences' reach. */
static void keep_outputs_from_zero(const conv_case *c, illume_tensor *x, const illume_tensor *w,
                                   const illume_tensor *bias, int transpose, double margin, uint64_t *seed) {
    window_params params = params_of(c);
    for (int attempt = 0; attempt < 1000; attempt++) {
        illume_tensor y = transpose ? reference_conv_transpose(x, w, bias, c->group, &params)
                                    : reference_conv(x, w, bias, c->group, &params, 0);
        double nearest = INFINITY;
        for (int64_t i = 0; i < tensor_count(&y); i++) nearest = fmin(nearest, fabs(((float *)y.data)[i]));
        tensor_release(&y);
        if (nearest > margin) return;
        illume_tensor redrawn = tensor_random(x->rank, x->dims, -1.0f, 1.0f, seed);
        tensor_release(x);
        *x = redrawn;
    }
    test_fail("%s: found no input whose outputs keep %g from zero", c->name, margin);
}

static void run_case(const conv_case *c, int transpose, uint64_t *seed) {
    int rank = c->spatial + 2;
    int64_t x_dims[ILLUME_MAX_RANK] = {c->batch, c->channels}, w_dims[ILLUME_MAX_RANK];
    w_dims[0] = transpose ? c->channels : c->features;
    w_dims[1] = transpose ? c->features / c->group : c->channels / c->group;
    for (int d = 0; d < c->spatial; d++) {
        x_dims[2 + d] = c->size[d];
        w_dims[2 + d] = c->kernel[d];
    }
    int64_t bias_dims[1] = {c->features};
    illume_tensor x = tensor_random(rank, x_dims, -1.0f, 1.0f, seed);
    illume_tensor w = tensor_random(rank, w_dims, -0.5f, 0.5f, seed);
    illume_tensor bias = tensor_random(1, bias_dims, -0.5f, 0.5f, seed);
    gradient_check how = linear_check();
    if (c->relu) {
        how = piecewise_check(1.0 / 256);
        /* A step moves an output by at most step x the sum of the |w| that feed it. */
        double reach = 0.0;
        int64_t taps = tensor_count(&w) / (w_dims[0] * w_dims[1]), per_group = c->features / c->group;
        const float *weights = w.data;
        for (int64_t f = 0; f < c->features; f++) {
            double sum = 0.0;
            for (int64_t i = 0; i < w_dims[1] * taps && !transpose; i++) sum += fabs(weights[f * w_dims[1] * taps + i]);
            for (int64_t in = 0; in < c->channels && transpose; in++) {
                if (in / (c->channels / c->group) != f / per_group) continue;
                for (int64_t t = 0; t < taps; t++) sum += fabs(weights[(in * per_group + f % per_group) * taps + t]);
            }
            reach = fmax(reach, sum);
        }
        keep_outputs_from_zero(c, &x, &w, c->bias ? &bias : NULL, transpose, 1.5 * reach * how.step, seed);
    }
    const char *op = transpose ? "ConvTranspose" : "Conv";
    for (int fuse = 1; fuse >= (c->relu ? 0 : 1); fuse--) {
        builder *b = builder_create(17);
        int inputs[3] = {builder_input(b, "x", rank, x_dims), builder_floats(b, "w", rank, w_dims, w.data),
                         c->bias ? builder_floats(b, "b", 1, bias_dims, bias.data) : -1};
        int y, node = builder_node(b, op, c->bias ? 3 : 2, inputs, 1, &y);
        set_attributes(b, node, c, transpose);
        if (c->relu) builder_node(b, "Relu", 1, &y, 1, &y);
        builder_output(b, y);
        char label[256];
        snprintf(label, sizeof label, "%s %s%s", op, c->name,
                 c->relu ? (fuse ? " (Relu fused)" : " (Relu apart)") : "");
        how.fuse_activations = fuse;
        expect_gradients(label, b, 1, &x, &how);
    }
    tensor_release(&x);
    tensor_release(&w);
    tensor_release(&bias);
}

static const conv_case conv_cases[] = {
    {.name = "2-D plain", .spatial = 2, .batch = 1, .channels = 3, .features = 4, .group = 1, .size = {7, 7},
     .kernel = {3, 3}},
    {.name = "2-D stride 2 pads 1 bias batch 2", .spatial = 2, .batch = 2, .channels = 3, .features = 5, .group = 1,
     .size = {9, 11}, .kernel = {3, 3}, .strides = {2, 2}, .pads = {1, 1, 1, 1}, .bias = 1},
    {.name = "2-D asymmetric pads and strides", .spatial = 2, .batch = 1, .channels = 2, .features = 3, .group = 1,
     .size = {7, 5}, .kernel = {3, 2}, .strides = {2, 1}, .pads = {0, 1, 2, 0}, .bias = 1},
    {.name = "2-D dilations", .spatial = 2, .batch = 1, .channels = 3, .features = 2, .group = 1, .size = {9, 11},
     .kernel = {3, 3}, .dilations = {2, 3}, .pads = {2, 3, 2, 3}},
    {.name = "2-D dilations, stride and uneven pads", .spatial = 2, .batch = 2, .channels = 2, .features = 3,
     .group = 1, .size = {13, 10}, .kernel = {2, 3}, .dilations = {3, 2}, .strides = {2, 3}, .pads = {1, 0, 0, 2},
     .bias = 1},
    {.name = "2-D strides wider than the kernel", .spatial = 2, .batch = 1, .channels = 2, .features = 2,
     .group = 1, .size = {9, 10}, .kernel = {2, 2}, .strides = {3, 4}},
    {.name = "2-D groups 3", .spatial = 2, .batch = 1, .channels = 6, .features = 9, .group = 3, .size = {5, 7},
     .kernel = {3, 3}, .bias = 1},
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
    {.name = "1-D groups 2", .spatial = 1, .batch = 3, .channels = 4, .features = 6, .group = 2, .size = {11},
     .kernel = {3}, .pads = {1, 1}},
    {.name = "3-D pads and strides", .spatial = 3, .batch = 1, .channels = 2, .features = 3, .group = 1,
     .size = {5, 6, 7}, .kernel = {2, 3, 3}, .strides = {1, 2, 1}, .pads = {1, 0, 1, 0, 1, 1}, .bias = 1},
    {.name = "3-D depthwise dilated", .spatial = 3, .batch = 2, .channels = 3, .features = 3, .group = 3,
     .size = {5, 5, 6}, .kernel = {2, 2, 3}, .dilations = {2, 1, 2}, .pads = {1, 1, 2, 1, 0, 2}},
    {.name = "1x1 on 1x1 input, batch 3", .spatial = 2, .batch = 3, .channels = 7, .features = 11, .group = 1,
     .size = {1, 1}, .kernel = {1, 1}, .bias = 1},
    {.name = "kernel as large as the input", .spatial = 2, .batch = 2, .channels = 3, .features = 4, .group = 1,
     .size = {5, 3}, .kernel = {5, 3}, .bias = 1},
    {.name = "16 to 32 channels (blocked layouts)", .spatial = 2, .batch = 2, .channels = 16, .features = 32,
     .group = 1, .size = {10, 10}, .kernel = {3, 3}, .pads = {1, 1, 1, 1}, .bias = 1},
    {.name = "Relu groups 2", .spatial = 2, .batch = 1, .channels = 4, .features = 6, .group = 2, .size = {4, 5},
     .kernel = {3, 3}, .strides = {2, 1}, .pads = {1, 1, 0, 1}, .bias = 1, .relu = 1},
    {.name = "Relu no bias 1-D", .spatial = 1, .batch = 1, .channels = 3, .features = 5, .group = 1, .size = {12},
     .kernel = {3}, .relu = 1},
};

static const conv_case transpose_cases[] = {
    {.name = "2-D plain", .spatial = 2, .batch = 1, .channels = 3, .features = 2, .group = 1, .size = {5, 5},
     .kernel = {3, 3}},
    {.name = "2-D strides, pads, output_padding, bias", .spatial = 2, .batch = 2, .channels = 3, .features = 4,
     .group = 1, .size = {5, 6}, .kernel = {3, 3}, .strides = {2, 2}, .pads = {1, 1, 1, 1},
     .output_padding = {1, 1}, .bias = 1},
    {.name = "2-D asymmetric pads, uneven strides", .spatial = 2, .batch = 1, .channels = 2, .features = 3,
     .group = 1, .size = {4, 7}, .kernel = {3, 2}, .strides = {3, 2}, .pads = {0, 1, 2, 0}, .bias = 1},
    {.name = "2-D output_padding without pads", .spatial = 2, .batch = 1, .channels = 2, .features = 2, .group = 1,
     .size = {3, 4}, .kernel = {3, 3}, .strides = {3, 2}, .output_padding = {2, 1}},
    {.name = "2-D output_shape", .spatial = 2, .batch = 1, .channels = 2, .features = 3, .group = 1,
     .size = {4, 5}, .kernel = {3, 3}, .strides = {2, 2}, .output_shape = {8, 10}, .has_output_shape = 1},
    {.name = "2-D output_shape SAME_UPPER", .spatial = 2, .batch = 1, .channels = 2, .features = 3, .group = 1,
     .size = {4, 5}, .kernel = {3, 3}, .strides = {2, 2}, .output_shape = {8, 10}, .has_output_shape = 1,
     .auto_pad = "SAME_UPPER"},
    {.name = "2-D SAME_LOWER", .spatial = 2, .batch = 1, .channels = 2, .features = 2, .group = 1, .size = {4, 3},
     .kernel = {3, 4}, .strides = {2, 3}, .auto_pad = "SAME_LOWER", .bias = 1},
    {.name = "2-D VALID", .spatial = 2, .batch = 1, .channels = 2, .features = 3, .group = 1, .size = {3, 5},
     .kernel = {2, 3}, .strides = {2, 1}, .auto_pad = "VALID"},
    {.name = "2-D groups 2", .spatial = 2, .batch = 2, .channels = 4, .features = 6, .group = 2, .size = {5, 4},
     .kernel = {3, 3}, .strides = {2, 2}, .pads = {1, 0, 1, 0}, .bias = 1},
    {.name = "2-D depthwise", .spatial = 2, .batch = 1, .channels = 3, .features = 3, .group = 3, .size = {4, 4},
     .kernel = {2, 2}, .strides = {2, 2}},
    {.name = "2-D dilations", .spatial = 2, .batch = 1, .channels = 2, .features = 3, .group = 1, .size = {5, 4},
     .kernel = {3, 2}, .dilations = {2, 3}, .strides = {3, 1}, .pads = {1, 2, 0, 1}},
    {.name = "1-D output_padding", .spatial = 1, .batch = 3, .channels = 2, .features = 3, .group = 1,
     .size = {7}, .kernel = {4}, .strides = {3}, .pads = {1, 2}, .output_padding = {2}, .bias = 1},
    {.name = "3-D strides", .spatial = 3, .batch = 1, .channels = 2, .features = 2, .group = 1,
     .size = {3, 4, 2}, .kernel = {2, 3, 2}, .strides = {2, 1, 3}, .pads = {0, 1, 0, 1, 0, 1}, .bias = 1},
    {.name = "Relu fused", .spatial = 2, .batch = 1, .channels = 2, .features = 4, .group = 2, .size = {3, 3},
     .kernel = {3, 3}, .strides = {2, 2}, .pads = {1, 1, 1, 1}, .bias = 1, .relu = 1},
};

/* A convolution reading another's output (channels last between them when the layout pass applies). */
static void chains(uint64_t *seed) {
    const struct {
        const char *name, *op;
        int64_t features, group, kernel[2], strides[2], pads[4];
    } seconds[] = {
        {"Conv after Conv", "Conv", 5, 1, {3, 3}, {2, 2}, {1, 1, 1, 1}},
        {"depthwise Conv after Conv", "Conv", 4, 4, {3, 3}, {1, 1}, {1, 0, 1, 0}},
        {"ConvTranspose after Conv", "ConvTranspose", 3, 1, {2, 2}, {2, 2}, {0, 0, 0, 0}},
        {"Conv to 1x1 after Conv", "Conv", 6, 1, {7, 6}, {1, 1}, {0, 0, 0, 0}},
    };
    const int64_t x_dims[4] = {2, 3, 7, 6};
    for (size_t i = 0; i < sizeof seconds / sizeof seconds[0]; i++) {
        int transpose = strcmp(seconds[i].op, "ConvTranspose") == 0;
        illume_tensor x = tensor_random(4, x_dims, -1.0f, 1.0f, seed), produced;
        builder *b = builder_create(17);
        int first = add_conv(b, builder_input(b, "x", 4, x_dims), &x, 4, seed, &produced);
        int64_t w_dims[4] = {transpose ? 4 : seconds[i].features,
                             transpose ? seconds[i].features / seconds[i].group : 4 / seconds[i].group,
                             seconds[i].kernel[0], seconds[i].kernel[1]};
        illume_tensor w = tensor_random(4, w_dims, -0.5f, 0.5f, seed);
        int inputs[2] = {first, builder_floats(b, "w", 4, w_dims, w.data)};
        int y, node = builder_node(b, seconds[i].op, 2, inputs, 1, &y);
        builder_attribute_ints(b, node, "strides", 2, seconds[i].strides);
        builder_attribute_ints(b, node, "pads", 4, seconds[i].pads);
        if (seconds[i].group != 1) builder_attribute_int(b, node, "group", seconds[i].group);
        builder_output(b, y);
        gradient_check how = linear_check();
        expect_gradients(seconds[i].name, b, 1, &x, &how);
        tensor_release(&produced);
        tensor_release(&w);
        tensor_release(&x);
    }
}

int main(void) {
    gradient_skip_without_device();
    uint64_t seed = 1121;
    for (size_t i = 0; i < sizeof conv_cases / sizeof conv_cases[0]; i++) run_case(&conv_cases[i], 0, &seed);
    for (size_t i = 0; i < sizeof transpose_cases / sizeof transpose_cases[0]; i++)
        run_case(&transpose_cases[i], 1, &seed);
    chains(&seed);
    return test_report("gradients/convolution");
}
