/* The cases and graph builders that the forward op tests and the backward
 * tests share (op_cases.h). */
#include "op_cases.h"

#include <stdio.h>
#include <string.h>

#include "test_support.h"

void op_model_release(op_model *model) {
    for (int i = 0; i < 3; i++) tensor_release(&model->operands[i]);
}

/* Operand `index` as a constant, or as a graph input the model lists. */
static int data_operand(op_model *model, const char *name, int index, int constant) {
    const illume_tensor *x = &model->operands[index];
    if (constant) return builder_floats(model->graph, name, x->rank, x->dims, x->data);
    model->inputs[model->input_count++] = *x;
    return builder_input(model->graph, name, x->rank, x->dims);
}

/* The values joined by separator, as far as they fit. */
static const char *join(int count, const int64_t *values, const char *separator, char *text, size_t size) {
    size_t used = 0;
    text[0] = '\0';
    for (int i = 0; i < count && used < size; i++)
        used += (size_t)snprintf(text + used, size - used, "%s%lld", i ? separator : "", (long long)values[i]);
    return text;
}

static int any_set(int count, const int64_t *values) {
    for (int i = 0; i < count; i++)
        if (values[i]) return 1;
    return 0;
}

gemm_case gemm_sweep_case(int index, int64_t k) {
    static const struct {
        int rank;
        int64_t dims[2];
    } c_shapes[] = {{-1, {0, 0}}, {0, {0, 0}}, {1, {1, 0}}, {1, {5, 0}}, {2, {1, 5}},
                    {2, {7, 1}},  {2, {7, 5}}, {2, {1, 1}}};
    int trans = index / 8, shape = index % 8;
    gemm_case c = {.m = 7, .k = k, .n = 5, .trans_a = trans & 1, .trans_b = trans >> 1, .alpha = 1.0f,
                   .beta = 1.0f, .c_rank = c_shapes[shape].rank};
    memcpy(c.c_dims, c_shapes[shape].dims, sizeof c.c_dims);
    return c;
}

op_model gemm_model(const gemm_case *c, uint64_t *seed) {
    int64_t a_dims[2] = {c->trans_a ? c->k : c->m, c->trans_a ? c->m : c->k};
    int64_t b_dims[2] = {c->trans_b ? c->n : c->k, c->trans_b ? c->k : c->n};
    /* Drawn and added one statement each: the order of initializers is unspecified. */
    op_model model = {.graph = builder_create(13)};
    model.operands[0] = tensor_random(2, a_dims, -1.0f, 1.0f, seed);
    model.operands[1] = tensor_random(2, b_dims, -1.0f, 1.0f, seed);
    model.operands[2] = tensor_random(c->c_rank > 0 ? c->c_rank : 0, c->c_dims, -1.0f, 1.0f, seed);
    int node_inputs[3];
    node_inputs[0] = data_operand(&model, "a", 0, 0);
    node_inputs[1] = data_operand(&model, "b", 1, !c->b_as_input);
    node_inputs[2] = c->c_rank >= 0 ? data_operand(&model, "c", 2, !c->c_as_input) : -1;
    builder *b = model.graph;
    int y, node = builder_node(b, "Gemm", c->c_rank >= 0 ? 3 : 2, node_inputs, 1, &y);
    if (c->trans_a) builder_attribute_int(b, node, "transA", 1);
    if (c->trans_b) builder_attribute_int(b, node, "transB", 1);
    if (c->set_alpha_beta) {
        builder_attribute_float(b, node, "alpha", c->alpha);
        builder_attribute_float(b, node, "beta", c->beta);
    }
    builder_output(b, y);
    char c_shape[64] = "none";
    if (c->c_rank == 0) snprintf(c_shape, sizeof c_shape, "scalar");
    if (c->c_rank == 1) snprintf(c_shape, sizeof c_shape, "[%lld]", (long long)c->c_dims[0]);
    if (c->c_rank == 2)
        snprintf(c_shape, sizeof c_shape, "[%lld, %lld]", (long long)c->c_dims[0], (long long)c->c_dims[1]);
    snprintf(model.label, sizeof model.label,
             "Gemm M=%lld K=%lld N=%lld transA=%d transB=%d alpha=%g beta=%g C=%s%s%s", (long long)c->m,
             (long long)c->k, (long long)c->n, c->trans_a, c->trans_b, c->alpha, c->beta, c_shape,
             c->b_as_input ? " B input" : "", c->c_as_input ? " C input" : "");
    return model;
}

const matmul_case shared_matmul_cases[] = {
    {1, {11}, 1, {11}},
    {3, {3, 7, 4}, 2, {4, 5}},
    {2, {7, 4}, 3, {3, 4, 5}},
    {3, {3, 7, 4}, 3, {3, 4, 5}},
    {4, {2, 1, 3, 4}, 3, {5, 4, 6}},
    {4, {2, 3, 1, 4}, 4, {1, 3, 4, 2}},
    {1, {4}, 3, {2, 4, 3}},
    {4, {2, 1, 3, 4}, 1, {4}},
    {3, {1, 1, 1}, 3, {5, 1, 1}},
    {5, {2, 1, 2, 3, 2}, 4, {4, 1, 2, 5}},
    {2, {1, 64}, 2, {64, 17}},
};
const size_t shared_matmul_case_count = sizeof shared_matmul_cases / sizeof shared_matmul_cases[0];

op_model matmul_model(const matmul_case *c, int b_as_input, uint64_t *seed) {
    op_model model = {.graph = builder_create(13)};
    model.operands[0] = tensor_random(c->a_rank, c->a_dims, -1.0f, 1.0f, seed);
    model.operands[1] = tensor_random(c->b_rank, c->b_dims, -1.0f, 1.0f, seed);
    int node_inputs[2], y;
    node_inputs[0] = data_operand(&model, "a", 0, 0);
    node_inputs[1] = data_operand(&model, "b", 1, !b_as_input);
    builder_node(model.graph, "MatMul", 2, node_inputs, 1, &y);
    builder_output(model.graph, y);
    char a_text[96], b_text[96];
    snprintf(model.label, sizeof model.label, "MatMul [%s] by [%s]%s",
             join(c->a_rank, c->a_dims, "x", a_text, sizeof a_text),
             join(c->b_rank, c->b_dims, "x", b_text, sizeof b_text), b_as_input ? " (B input)" : "");
    return model;
}

const conv_case shared_conv_cases[] = {
    {.name = "2-D plain", .spatial = 2, .batch = 1, .channels = 3, .features = 4, .group = 1,
     .size = {7, 7}, .kernel = {3, 3}},
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
    {.name = "1-D groups 2", .spatial = 1, .batch = 3, .channels = 4, .features = 6, .group = 2,
     .size = {11}, .kernel = {3}, .pads = {1, 1}},
    {.name = "3-D pads and strides", .spatial = 3, .batch = 1, .channels = 2, .features = 3, .group = 1,
     .size = {5, 6, 7}, .kernel = {2, 3, 3}, .strides = {1, 2, 1}, .pads = {1, 0, 1, 0, 1, 1}, .bias = 1},
    {.name = "3-D depthwise dilated", .spatial = 3, .batch = 2, .channels = 3, .features = 3, .group = 3,
     .size = {5, 5, 6}, .kernel = {2, 2, 3}, .dilations = {2, 1, 2}, .pads = {1, 1, 2, 1, 0, 2}},
    {.name = "1x1 on 1x1 input, batch 3", .spatial = 2, .batch = 3, .channels = 7, .features = 11, .group = 1,
     .size = {1, 1}, .kernel = {1, 1}, .bias = 1},
    {.name = "kernel as large as the input", .spatial = 2, .batch = 2, .channels = 3, .features = 4, .group = 1,
     .size = {5, 3}, .kernel = {5, 3}, .bias = 1},
    {.name = "Relu no bias 1-D", .spatial = 1, .batch = 1, .channels = 3, .features = 5, .group = 1,
     .size = {12}, .kernel = {3}, .relu = 1},
};
const size_t shared_conv_case_count = sizeof shared_conv_cases / sizeof shared_conv_cases[0];

const conv_case shared_conv_transpose_cases[] = {
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
};
const size_t shared_conv_transpose_case_count =
    sizeof shared_conv_transpose_cases / sizeof shared_conv_transpose_cases[0];

window_params conv_window(const conv_case *c) {
    window_params window = window_defaults();
    for (int d = 0; d < c->spatial; d++) {
        window.strides[d] = c->strides[d] ? c->strides[d] : 1;
        window.dilations[d] = c->dilations[d] ? c->dilations[d] : 1;
        window.pads[d] = c->pads[d];
        window.pads[c->spatial + d] = c->pads[c->spatial + d];
        window.output_padding[d] = c->output_padding[d];
        window.output_shape[d] = c->output_shape[d];
    }
    window.has_output_shape = c->has_output_shape;
    window.auto_pad = c->auto_pad ? c->auto_pad : "NOTSET";
    return window;
}

void conv_shapes(const conv_case *c, int transpose, int64_t *x_dims, int64_t *w_dims) {
    x_dims[0] = c->batch;
    x_dims[1] = c->channels;
    w_dims[0] = transpose ? c->channels : c->features;
    w_dims[1] = transpose ? c->features / c->group : c->channels / c->group;
    for (int d = 0; d < c->spatial; d++) {
        x_dims[2 + d] = c->size[d];
        w_dims[2 + d] = c->kernel[d];
    }
}

static void conv_attributes(builder *b, int node, const conv_case *c, int transpose, attribute_form form) {
    int spatial = c->spatial, every = form == ATTRIBUTES_ALL;
    window_params window = conv_window(c);
    if (every || c->group != 1) builder_attribute_int(b, node, "group", c->group);
    if (every || any_set(spatial, c->strides)) builder_attribute_ints(b, node, "strides", spatial, window.strides);
    if (every || any_set(spatial, c->dilations))
        builder_attribute_ints(b, node, "dilations", spatial, window.dilations);
    if (c->auto_pad) builder_attribute_string(b, node, "auto_pad", c->auto_pad);
    else if (every || any_set(2 * spatial, c->pads)) builder_attribute_ints(b, node, "pads", 2 * spatial, c->pads);
    if (every || c->kernel_shape_attribute) builder_attribute_ints(b, node, "kernel_shape", spatial, c->kernel);
    if (!transpose) return;
    if (every || any_set(spatial, c->output_padding))
        builder_attribute_ints(b, node, "output_padding", spatial, c->output_padding);
    if (c->has_output_shape) builder_attribute_ints(b, node, "output_shape", spatial, c->output_shape);
}

builder *conv_model(const conv_case *c, int transpose, const illume_tensor *w, const illume_tensor *bias,
                    attribute_form form) {
    int rank = c->spatial + 2;
    int64_t x_dims[ILLUME_MAX_RANK], w_dims[ILLUME_MAX_RANK], bias_dims[1] = {c->features};
    conv_shapes(c, transpose, x_dims, w_dims);
    builder *b = builder_create(17);
    int x = builder_input(b, "x", rank, x_dims);
    int weights = c->weights_as_input ? builder_input(b, "w", rank, w_dims)
                                      : builder_floats(b, "w", rank, w_dims, w->data);
    int node_inputs[3] = {x, weights, c->bias ? builder_floats(b, "b", 1, bias_dims, bias->data) : -1};
    int y, node = builder_node(b, transpose ? "ConvTranspose" : "Conv", c->bias ? 3 : 2, node_inputs, 1, &y);
    conv_attributes(b, node, c, transpose, form);
    if (c->relu) builder_node(b, "Relu", 1, &y, 1, &y);
    builder_output(b, y);
    return b;
}

void conv_label(const conv_case *c, int transpose, int fused, char *label, size_t size) {
    snprintf(label, size, "%s %s%s", transpose ? "ConvTranspose" : "Conv", c->name,
             c->relu ? (fused ? " (Relu fused)" : " (Relu apart)") : "");
}

const conv_chain_case shared_conv_chain_cases[] = {
    {"Conv after Conv", 0, 5, 1, {3, 3}, {2, 2}, {1, 1, 1, 1}},
    {"depthwise Conv after Conv", 0, 4, 4, {3, 3}, {1, 1}, {1, 0, 1, 0}},
    {"ConvTranspose after Conv", 1, 3, 1, {2, 2}, {2, 2}, {0, 0, 0, 0}},
    {"Conv to 1x1 after Conv", 0, 6, 1, {0, 0}, {1, 1}, {0, 0, 0, 0}},
};
const size_t shared_conv_chain_case_count = sizeof shared_conv_chain_cases / sizeof shared_conv_chain_cases[0];

builder *conv_chain_model(const conv_chain_case *c, const illume_tensor *x, float bound, uint64_t *seed,
                          illume_tensor *produced, illume_tensor *w) {
    const int64_t channels = 4;
    builder *b = builder_create(17);
    int first = add_conv(b, builder_input(b, "x", 4, x->dims), x, channels, seed, produced);
    int64_t w_dims[4] = {c->transpose ? channels : c->features,
                         c->transpose ? c->features / c->group : channels / c->group};
    for (int d = 0; d < 2; d++) w_dims[2 + d] = c->kernel[d] ? c->kernel[d] : x->dims[2 + d];
    *w = tensor_random(4, w_dims, -bound, bound, seed);
    int inputs[2] = {first, builder_floats(b, "w", 4, w_dims, w->data)};
    int y, node = builder_node(b, c->transpose ? "ConvTranspose" : "Conv", 2, inputs, 1, &y);
    builder_attribute_ints(b, node, "strides", 2, c->strides);
    builder_attribute_ints(b, node, "pads", 4, c->pads);
    if (c->group != 1) builder_attribute_int(b, node, "group", c->group);
    builder_output(b, y);
    return b;
}

const pool_case shared_pool_cases[] = {
    {.name = "2-D k3 s2 pads 1, batch 2", .spatial = 2, .batch = 2, .channels = 3, .size = {9, 11},
     .kernel = {3, 3}, .strides = {2, 2}, .pads = {1, 1, 1, 1}, .after_conv = 1},
    {.name = "2-D no pads", .spatial = 2, .batch = 1, .channels = 2, .size = {7, 7}, .kernel = {2, 2},
     .strides = {2, 2}},
    {.name = "2-D ceil_mode", .spatial = 2, .batch = 1, .channels = 2, .size = {7, 8}, .kernel = {3, 3},
     .strides = {2, 2}, .ceil_mode = 1, .after_conv = 1},
    {.name = "2-D ceil_mode drops the window starting in the end padding", .spatial = 2, .batch = 1,
     .channels = 1, .size = {5, 5}, .kernel = {2, 2}, .strides = {2, 2}, .pads = {1, 1, 1, 1}, .ceil_mode = 1},
    {.name = "2-D ceil_mode with pads and count_include_pad", .spatial = 2, .batch = 2, .channels = 1,
     .size = {6, 7}, .kernel = {3, 3}, .strides = {2, 2}, .pads = {1, 0, 1, 1}, .ceil_mode = 1,
     .count_include_pad = 1, .after_conv = 1},
    {.name = "2-D asymmetric pads", .spatial = 2, .batch = 1, .channels = 3, .size = {6, 5}, .kernel = {3, 2},
     .pads = {2, 0, 0, 1}, .after_conv = 1},
    {.name = "2-D asymmetric pads count_include_pad", .spatial = 2, .batch = 1, .channels = 3, .size = {6, 5},
     .kernel = {3, 2}, .pads = {2, 0, 0, 1}, .count_include_pad = 1, .after_conv = 1},
    {.name = "2-D dilations", .spatial = 2, .batch = 1, .channels = 2, .size = {11, 9}, .kernel = {3, 2},
     .dilations = {2, 3}, .pads = {1, 2, 1, 2}},
    {.name = "2-D dilations, strides, ceil_mode", .spatial = 2, .batch = 1, .channels = 2, .size = {10, 9},
     .kernel = {2, 3}, .dilations = {3, 2}, .strides = {2, 3}, .pads = {1, 1, 0, 1}, .ceil_mode = 1,
     .after_conv = 1},
    {.name = "2-D strides wider than the kernel", .spatial = 2, .batch = 1, .channels = 2, .size = {13, 11},
     .kernel = {2, 3}, .strides = {4, 5}},
    {.name = "2-D SAME_UPPER", .spatial = 2, .batch = 1, .channels = 2, .size = {7, 8}, .kernel = {3, 4},
     .strides = {2, 3}, .auto_pad = "SAME_UPPER"},
    {.name = "2-D SAME_LOWER", .spatial = 2, .batch = 1, .channels = 2, .size = {7, 8}, .kernel = {3, 4},
     .strides = {2, 3}, .auto_pad = "SAME_LOWER", .after_conv = 1},
    {.name = "2-D SAME_UPPER count_include_pad", .spatial = 2, .batch = 1, .channels = 2, .size = {5, 6},
     .kernel = {2, 3}, .auto_pad = "SAME_UPPER", .count_include_pad = 1},
    {.name = "2-D VALID", .spatial = 2, .batch = 1, .channels = 2, .size = {8, 7}, .kernel = {3, 2},
     .strides = {2, 2}, .auto_pad = "VALID", .after_conv = 1},
    {.name = "2-D window as large as the input", .spatial = 2, .batch = 2, .channels = 2, .size = {5, 7},
     .kernel = {5, 7}, .after_conv = 1},
    {.name = "1-D", .spatial = 1, .batch = 2, .channels = 3, .size = {13}, .kernel = {3}, .strides = {2},
     .pads = {1, 0}},
    {.name = "1-D ceil_mode dilated", .spatial = 1, .batch = 1, .channels = 2, .size = {11}, .kernel = {2},
     .strides = {3}, .dilations = {2}, .pads = {0, 1}, .ceil_mode = 1},
    {.name = "1-D count_include_pad", .spatial = 1, .batch = 1, .channels = 2, .size = {7}, .kernel = {4},
     .strides = {2}, .pads = {2, 1}, .count_include_pad = 1},
    {.name = "3-D", .spatial = 3, .batch = 1, .channels = 2, .size = {5, 6, 7}, .kernel = {2, 3, 2},
     .strides = {2, 2, 1}, .pads = {1, 0, 1, 0, 1, 0}},
    {.name = "3-D ceil_mode count_include_pad", .spatial = 3, .batch = 2, .channels = 1, .size = {4, 5, 3},
     .kernel = {2, 2, 2}, .strides = {2, 2, 2}, .pads = {0, 1, 1, 1, 0, 0}, .ceil_mode = 1,
     .count_include_pad = 1},
    {.name = "3-D dilated SAME_LOWER", .spatial = 3, .batch = 1, .channels = 1, .size = {5, 4, 6},
     .kernel = {2, 2, 3}, .dilations = {2, 1, 2}, .auto_pad = "SAME_LOWER"},
};
const size_t shared_pool_case_count = sizeof shared_pool_cases / sizeof shared_pool_cases[0];

window_params pool_window(const pool_case *c) {
    window_params window = window_defaults();
    for (int d = 0; d < c->spatial; d++) {
        window.kernel_shape[d] = c->kernel[d];
        window.strides[d] = c->strides[d] ? c->strides[d] : 1;
        window.dilations[d] = c->dilations[d] ? c->dilations[d] : 1;
    }
    memcpy(window.pads, c->pads, sizeof window.pads);
    window.auto_pad = c->auto_pad ? c->auto_pad : "NOTSET";
    window.ceil_mode = c->ceil_mode;
    window.count_include_pad = c->count_include_pad;
    return window;
}

void pool_shape(const pool_case *c, int64_t *x_dims) {
    x_dims[0] = c->batch;
    x_dims[1] = c->channels;
    for (int d = 0; d < c->spatial; d++) x_dims[2 + d] = c->size[d];
}

const char *pool_op(int max, int global) {
    if (global) return max ? "GlobalMaxPool" : "GlobalAveragePool";
    return max ? "MaxPool" : "AveragePool";
}

int pool_node(builder *b, int x, const pool_case *c, int max, attribute_form form) {
    int spatial = c->spatial, every = form == ATTRIBUTES_ALL, y;
    window_params window = pool_window(c);
    int node = builder_node(b, pool_op(max, 0), 1, &x, 1, &y);
    builder_attribute_ints(b, node, "kernel_shape", spatial, c->kernel);
    if (every || any_set(spatial, c->strides)) builder_attribute_ints(b, node, "strides", spatial, window.strides);
    if (every || any_set(spatial, c->dilations))
        builder_attribute_ints(b, node, "dilations", spatial, window.dilations);
    if (c->auto_pad) builder_attribute_string(b, node, "auto_pad", c->auto_pad);
    else if (every || any_set(2 * spatial, c->pads)) builder_attribute_ints(b, node, "pads", 2 * spatial, c->pads);
    if (every || c->ceil_mode) builder_attribute_int(b, node, "ceil_mode", c->ceil_mode);
    if (!max && (every || c->count_include_pad))
        builder_attribute_int(b, node, "count_include_pad", c->count_include_pad);
    /* The row-major order of the Indices output, which illume refuses; 0 is all it takes. */
    if (max && every) builder_attribute_int(b, node, "storage_order", 0);
    return y;
}

void pool_label(int max, int global, const char *name, int after_conv, char *label, size_t size) {
    snprintf(label, size, "%s %s%s", pool_op(max, global), name, after_conv ? " after Conv" : "");
}

op_model classifier_head_model(uint64_t *seed) {
    const int64_t x_dims[4] = {2, 3, 5, 4}, w_dims[2] = {3, 6};
    op_model model = {.graph = builder_create(13)};
    model.operands[0] = tensor_random(4, x_dims, -1.0f, 1.0f, seed);
    model.operands[1] = tensor_random(2, w_dims, -1.0f, 1.0f, seed);
    builder *b = model.graph;
    int conv = add_conv(b, data_operand(&model, "x", 0, 0), &model.operands[0], 6, seed, &model.operands[2]);
    int pooled, flat, y;
    builder_node(b, "GlobalAveragePool", 1, &conv, 1, &pooled);
    builder_node(b, "Flatten", 1, &pooled, 1, &flat);
    int inputs[2] = {flat, builder_floats(b, "w", 2, w_dims, model.operands[1].data)};
    int node = builder_node(b, "Gemm", 2, inputs, 1, &y);
    builder_attribute_int(b, node, "transB", 1);
    builder_output(b, y);
    snprintf(model.label, sizeof model.label, "GlobalAveragePool, Flatten, Gemm after Conv");
    return model;
}

const global_pool_case shared_global_pool_cases[] = {
    {"2-D batch 2", 4, {2, 3, 7, 5}}, {"1x1 input", 4, {1, 5, 1, 1}},  {"1-D", 3, {3, 2, 13}},
    {"3-D", 5, {1, 2, 3, 4, 5}},     {"size-1 row", 4, {2, 1, 1, 17}},
};
const size_t shared_global_pool_case_count = sizeof shared_global_pool_cases / sizeof shared_global_pool_cases[0];

/* Odd and even windows (ONNX's leans forward for even sizes), a window of
 * one channel and one wider than all the channels, ranks 3 to 5, the
 * defaults; an alpha large enough that the neighbours weigh. */
const lrn_case shared_lrn_cases[] = {
    {"size 3", 4, {2, 6, 4, 5}, 3, 1, 1, 1, 0.8f, 0.75f, 1.0f},
    {"size 4 (even)", 4, {2, 7, 3, 4}, 4, 1, 1, 1, 1.5f, 0.6f, 2.0f},
    {"size 2 (even)", 3, {3, 5, 6}, 2, 1, 1, 1, 1.0f, 1.2f, 0.5f},
    {"size 5, 1-D", 3, {2, 9, 7}, 5, 1, 0, 0, 2.0f, 0.0f, 0.0f},
    {"size 1", 4, {1, 4, 3, 3}, 1, 1, 1, 0, 0.5f, 1.0f, 0.0f},
    {"size 8 over 5 channels", 4, {2, 5, 2, 3}, 8, 1, 1, 1, 3.0f, 0.75f, 1.0f},
    {"size 6, 3-D", 5, {1, 6, 2, 3, 4}, 6, 1, 1, 1, 1.2f, 0.5f, 1.5f},
    {"one channel", 4, {2, 1, 3, 3}, 3, 1, 1, 1, 0.9f, 0.75f, 1.0f},
    {"defaults, size 5", 4, {2, 8, 3, 3}, 5, 0, 0, 0, 0.0f, 0.0f, 0.0f},
};
const size_t shared_lrn_case_count = sizeof shared_lrn_cases / sizeof shared_lrn_cases[0];

void lrn_parameters(const lrn_case *c, double *alpha, double *beta, double *bias) {
    *alpha = c->set_alpha ? c->alpha : 1e-4;
    *beta = c->set_beta ? c->beta : 0.75;
    *bias = c->set_bias ? c->bias : 1.0;
}

int lrn_node(builder *b, int x, const lrn_case *c) {
    int y, node = builder_node(b, "LRN", 1, &x, 1, &y);
    builder_attribute_int(b, node, "size", c->size);
    if (c->set_alpha) builder_attribute_float(b, node, "alpha", c->alpha);
    if (c->set_beta) builder_attribute_float(b, node, "beta", c->beta);
    if (c->set_bias) builder_attribute_float(b, node, "bias", c->bias);
    return y;
}

const slice_case shared_slice_cases[] = {
    {"plain", 2, {1, 2}, {4, 6}, {0}, {0}, 0, 0},
    {"every axis", 4, {0, 1, 0, 2}, {5, 6, 2, 5}, {0}, {0}, 0, 0},
    {"negative starts and ends", 2, {-4, -6}, {-1, -2}, {0}, {0}, 0, 0},
    {"clamped", 2, {-1000, 2}, {1000, 1000}, {0, 1}, {0}, 1, 0},
    {"axes subset, unordered, negative", 2, {1, 0}, {3, 2}, {-1, 1}, {0}, 1, 0},
    {"steps 2 and 3", 2, {0, 1}, {5, 7}, {0, 1}, {2, 3}, 1, 1},
    {"reverse an axis", 1, {-1}, {INT64_MIN}, {1}, {-1}, 1, 1},
    {"negative step -2 with clamping", 2, {100, 5}, {-100, 0}, {0, 3}, {-2, -2}, 1, 1},
    {"negative step from the middle", 1, {4}, {1}, {1}, {-3}, 1, 1},
    {"empty result", 1, {4}, {2}, {1}, {1}, 1, 1},
    {"step larger than the axis", 1, {1}, {7}, {1}, {100}, 1, 1},
};
const size_t shared_slice_case_count = sizeof shared_slice_cases / sizeof shared_slice_cases[0];

op_model slice_model(const slice_case *c, int constant, uint64_t *seed) {
    const int64_t dims[4] = {5, 7, 3, 6};
    op_model model = {.operands = {tensor_random(4, dims, -1.0f, 1.0f, seed)}, .graph = builder_create(13)};
    builder *b = model.graph;
    int node_inputs[5] = {data_operand(&model, "x", 0, constant), builder_int_list(b, "starts", c->count, c->starts),
                          builder_int_list(b, "ends", c->count, c->ends),
                          c->has_axes ? builder_int_list(b, "axes", c->count, c->axes) : -1,
                          c->has_steps ? builder_int_list(b, "steps", c->count, c->steps) : -1};
    int y;
    builder_node(b, "Slice", c->has_steps ? 5 : c->has_axes ? 4 : 3, node_inputs, 1, &y);
    builder_output(b, y);
    snprintf(model.label, sizeof model.label, "Slice %s", c->name);
    return model;
}

const transpose_case shared_transpose_cases[] = {
    {2, {13, 1}, 1, {1, 0}},
    {1, {9}, 1, {0}},
    {5, {2, 1, 3, 2, 4}, 1, {4, 0, 3, 1, 2}},
};
const size_t shared_transpose_case_count = sizeof shared_transpose_cases / sizeof shared_transpose_cases[0];

op_model transpose_model(const transpose_case *c, int constant, uint64_t *seed) {
    op_model model = {.operands = {tensor_random(c->rank, c->dims, -1.0f, 1.0f, seed)}, .graph = builder_create(13)};
    int y, x = data_operand(&model, "x", 0, constant);
    int node = builder_node(model.graph, "Transpose", 1, &x, 1, &y);
    if (c->has_perm) builder_attribute_ints(model.graph, node, "perm", c->rank, c->perm);
    builder_output(model.graph, y);
    char dims[96], perm[96] = "reversed";
    if (c->has_perm) join(c->rank, c->perm, ", ", perm, sizeof perm);
    snprintf(model.label, sizeof model.label, "Transpose [%s] perm %s", join(c->rank, c->dims, "x", dims, sizeof dims),
             perm);
    return model;
}

const gather_case shared_gather_cases[] = {
    {0, 1, {3}, {4, 0, 2}}, {1, 1, {4}, {-1, 0, -4, 2}}, {-1, 2, {2, 3}, {0, 2, 1, 1, -1, -3}},
    {0, 0, {0}, {-2}},      {1, 2, {3, 1}, {3, 3, 0}},
};
const size_t shared_gather_case_count = sizeof shared_gather_cases / sizeof shared_gather_cases[0];

op_model gather_model(const gather_case *c, int constant, attribute_form form, uint64_t *seed) {
    const int64_t dims[3] = {5, 4, 3};
    op_model model = {.operands = {tensor_random(3, dims, -1.0f, 1.0f, seed)}, .graph = builder_create(13)};
    builder *b = model.graph;
    int node_inputs[2] = {data_operand(&model, "x", 0, constant),
                          builder_ints(b, "indices", c->index_rank, c->index_dims, c->indices)};
    int y, node = builder_node(b, "Gather", 2, node_inputs, 1, &y);
    if (form == ATTRIBUTES_ALL || c->axis != 0) builder_attribute_int(b, node, "axis", c->axis);
    builder_output(b, y);
    char index_dims[64];
    snprintf(model.label, sizeof model.label, "Gather axis %lld, indices [%s]", (long long)c->axis,
             join(c->index_rank, c->index_dims, "x", index_dims, sizeof index_dims));
    return model;
}

const split_case shared_split_cases[] = {
    {SPLIT_ATTRIBUTE, 3, {3, 11, 4}, 1, 3, {2, 3, 6}},
    {SPLIT_INPUT, 3, {3, 11, 4}, -2, 3, {5, 0, 6}},
    {SPLIT_INPUT, 3, {3, 11, 4}, 2, 2, {1, 3}},
    {SPLIT_NUM_OUTPUTS, 2, {7, 2}, 0, 3, {3, 3, 1}},
    {SPLIT_NUM_OUTPUTS, 1, {8}, 0, 4, {2, 2, 2, 2}},
    {SPLIT_EVEN, 3, {3, 11, 4}, -1, 2, {2, 2}},
};
const size_t shared_split_case_count = sizeof shared_split_cases / sizeof shared_split_cases[0];

op_model split_model(const split_case *c, int constant, uint64_t *seed) {
    static const char *const forms[] = {"split attribute", "split input", "num_outputs", "even"};
    op_model model = {.operands = {tensor_random(c->rank, c->dims, -1.0f, 1.0f, seed)},
                      .graph = builder_create(c->form == SPLIT_ATTRIBUTE ? 11 : c->form == SPLIT_INPUT ? 13 : 18)};
    builder *b = model.graph;
    int node_inputs[2] = {data_operand(&model, "x", 0, constant), -1}, outputs[4];
    if (c->form == SPLIT_INPUT) node_inputs[1] = builder_int_list(b, "split", c->count, c->sizes);
    int node = builder_node(b, "Split", c->form == SPLIT_INPUT ? 2 : 1, node_inputs, c->count, outputs);
    if (c->axis != 0) builder_attribute_int(b, node, "axis", c->axis);
    if (c->form == SPLIT_ATTRIBUTE) builder_attribute_ints(b, node, "split", c->count, c->sizes);
    if (c->form == SPLIT_NUM_OUTPUTS) builder_attribute_int(b, node, "num_outputs", c->count);
    for (int o = 0; o < c->count; o++) builder_output(b, outputs[o]);
    snprintf(model.label, sizeof model.label, "Split %s axis %lld into %d", forms[c->form], (long long)c->axis,
             c->count);
    return model;
}
