/* BatchNormalization on its own (ranks 2 to 5) and after Conv,
 * ConvTranspose and Gemm, where the session folds it into the producer's
 * weights: with fold_batchnorm on and off, and the channels-last layout pass
 * on and off, the results must all match the reference composition, and the
 * node count shows whether it was folded. A Relu after it fuses into it in
 * sessions without a backward pass. */
#include <stdio.h>
#include <string.h>

#include "reference.h"
#include "test_support.h"

typedef struct statistics {
    illume_tensor scale, bias, mean, variance;
} statistics;

static statistics random_statistics(int64_t channels, uint64_t *seed) {
    int64_t dims[1] = {channels};
    statistics s = {tensor_random(1, dims, 0.5f, 1.5f, seed), tensor_random(1, dims, -1.0f, 1.0f, seed),
                    tensor_random(1, dims, -1.0f, 1.0f, seed), tensor_random(1, dims, 0.1f, 2.0f, seed)};
    return s;
}

static void release_statistics(statistics *s) {
    tensor_release(&s->scale);
    tensor_release(&s->bias);
    tensor_release(&s->mean);
    tensor_release(&s->variance);
}

/* Appends BatchNormalization(x) with the statistics as constants; returns its output. */
static int add_batchnorm(builder *b, int x, const statistics *s, float epsilon, int set_epsilon) {
    int64_t dims[1] = {s->scale.dims[0]};
    int inputs[5] = {x, builder_floats(b, "scale", 1, dims, s->scale.data),
                     builder_floats(b, "bias", 1, dims, s->bias.data),
                     builder_floats(b, "mean", 1, dims, s->mean.data),
                     builder_floats(b, "variance", 1, dims, s->variance.data)};
    int y, node = builder_node(b, "BatchNormalization", 5, inputs, 1, &y);
    if (set_epsilon) builder_attribute_float(b, node, "epsilon", epsilon);
    return y;
}

static void standalone(int rank, const int64_t *dims, float epsilon, int set_epsilon, uint64_t *seed) {
    illume_tensor x = tensor_random(rank, dims, -3.0f, 3.0f, seed);
    statistics s = random_statistics(dims[1], seed);
    illume_tensor want = reference_batchnorm(&x, &s.scale, &s.bias, &s.mean, &s.variance, epsilon);
    builder *b = builder_create(15);
    int y = add_batchnorm(b, builder_input(b, "x", rank, dims), &s, epsilon, set_epsilon);
    builder_output(b, y);
    char label[128];
    snprintf(label, sizeof label, "BatchNormalization rank %d, %lld channels, epsilon %g", rank, (long long)dims[1],
             epsilon);
    expect_run(label, b, 1, &x, 1, &want, 1e-5);
    release_statistics(&s);
    tensor_release(&x);
}

/* BatchNormalization, then a Relu (or a LeakyRelu, which stays apart): one
 * node in a forward-only session, two where a backward pass is planned, the
 * same values either way. */
static void activated(int leaky, uint64_t *seed) {
    const int64_t dims[4] = {2, 5, 6, 7};
    illume_tensor x = tensor_random(4, dims, -3.0f, 3.0f, seed);
    statistics s = random_statistics(dims[1], seed);
    illume_tensor normalized = reference_batchnorm(&x, &s.scale, &s.bias, &s.mean, &s.variance, 1e-5f);
    illume_tensor want = reference_unary(&normalized, leaky ? "LeakyRelu" : "Relu", 0.1f, 0.0f);
    for (int run = 0; run < 4; run++) {
        int backward = run / 2, layout = run % 2;
        builder *b = builder_create(15);
        int y = add_batchnorm(b, builder_input(b, "x", 4, dims), &s, 1e-5f, 0), activation;
        int node = builder_node(b, leaky ? "LeakyRelu" : "Relu", 1, &y, 1, &activation);
        if (leaky) builder_attribute_float(b, node, "alpha", 0.1f);
        builder_output(b, activation);
        illume_session_options options;
        illume_session_options_default(&options);
        options.device = "cpu";
        options.backward = backward;
        options.channels_last = layout;
        illume_session_stats stats = {0};
        char label[160];
        snprintf(label, sizeof label, "BatchNormalization, %s%s%s", leaky ? "LeakyRelu" : "Relu",
                 backward ? ", a backward session" : "", layout ? " (channels last)" : "");
        illume_tensor expected = tensor_copy(&want);
        int nodes = leaky || backward ? 2 : 1;
        if (expect_run_with(label, b, &options, 1, &x, 1, &expected, 1e-5, &stats) && !layout &&
            stats.node_count != nodes)
            test_fail("%s: %d nodes left after the passes, expected %d", label, stats.node_count, nodes);
    }
    tensor_release(&want);
    tensor_release(&normalized);
    release_statistics(&s);
    tensor_release(&x);
}

typedef enum producer_kind { PRODUCER_CONV, PRODUCER_CONV_TRANSPOSE, PRODUCER_GEMM } producer_kind;

typedef struct fold_case {
    const char *name;
    producer_kind kind;
    int64_t group;
    int bias, trans_b, weights_as_input, relu, c_full;
    float alpha, beta;
    int foldable;
} fold_case;

static void folded(const fold_case *c, uint64_t *seed) {
    int64_t x_dims[4] = {2, 4, 6, 5}, w_dims[4], bias_dims[1];
    int x_rank = 4;
    int64_t channels;
    window_params params = window_defaults();
    params.pads[0] = params.pads[1] = params.pads[2] = params.pads[3] = 1;
    params.strides[0] = 2;
    if (c->kind == PRODUCER_CONV) {
        channels = 6;
        int64_t dims[4] = {channels, x_dims[1] / c->group, 3, 3};
        memcpy(w_dims, dims, sizeof w_dims);
    } else if (c->kind == PRODUCER_CONV_TRANSPOSE) {
        channels = 6;
        int64_t dims[4] = {x_dims[1], channels / c->group, 3, 3};
        memcpy(w_dims, dims, sizeof w_dims);
    } else {
        x_rank = 2;
        x_dims[0] = 5;
        x_dims[1] = 7;
        channels = 3;
        w_dims[0] = c->trans_b ? channels : x_dims[1];
        w_dims[1] = c->trans_b ? x_dims[1] : channels;
    }
    bias_dims[0] = channels;
    int64_t c_full_dims[2] = {x_dims[0], channels};
    illume_tensor inputs[2];
    inputs[0] = tensor_random(x_rank, x_dims, -1.0f, 1.0f, seed);
    inputs[1] = tensor_random(x_rank == 4 ? 4 : 2, w_dims, -1.0f, 1.0f, seed);
    illume_tensor bias = c->c_full ? tensor_random(2, c_full_dims, -1.0f, 1.0f, seed)
                                   : tensor_random(1, bias_dims, -1.0f, 1.0f, seed);
    statistics s = random_statistics(channels, seed);
    illume_tensor produced;
    const illume_tensor *bias_used = c->bias ? &bias : NULL;
    if (c->kind == PRODUCER_CONV)
        produced = reference_conv(&inputs[0], &inputs[1], bias_used, c->group, &params, 0);
    else if (c->kind == PRODUCER_CONV_TRANSPOSE)
        produced = reference_conv_transpose(&inputs[0], &inputs[1], bias_used, c->group, &params);
    else
        produced = reference_gemm(&inputs[0], &inputs[1], bias_used, 0, c->trans_b, c->alpha, c->beta);
    illume_tensor normalized = reference_batchnorm(&produced, &s.scale, &s.bias, &s.mean, &s.variance, 1e-5f);
    if (c->relu)
        for (int64_t i = 0; i < tensor_count(&normalized); i++)
            if (((float *)normalized.data)[i] < 0.0f) ((float *)normalized.data)[i] = 0.0f;

    for (int run = 0; run < 4; run++) {
        int fold = run / 2, layout = run % 2;
        builder *b = builder_create(15);
        int node_inputs[3] = {builder_input(b, "x", x_rank, x_dims), -1, -1};
        node_inputs[1] = c->weights_as_input ? builder_input(b, "w", x_rank == 4 ? 4 : 2, w_dims)
                                             : builder_floats(b, "w", x_rank == 4 ? 4 : 2, w_dims, inputs[1].data);
        if (c->bias) node_inputs[2] = builder_floats(b, "b", bias.rank, bias.dims, bias.data);
        const char *op = c->kind == PRODUCER_CONV             ? "Conv"
                         : c->kind == PRODUCER_CONV_TRANSPOSE ? "ConvTranspose"
                                                              : "Gemm";
        int y, node = builder_node(b, op, c->bias ? 3 : 2, node_inputs, 1, &y);
        if (c->kind == PRODUCER_GEMM) {
            if (c->trans_b) builder_attribute_int(b, node, "transB", 1);
            builder_attribute_float(b, node, "alpha", c->alpha);
            builder_attribute_float(b, node, "beta", c->beta);
        } else {
            builder_attribute_ints(b, node, "pads", 4, params.pads);
            builder_attribute_ints(b, node, "strides", 2, params.strides);
            if (c->group != 1) builder_attribute_int(b, node, "group", c->group);
        }
        y = add_batchnorm(b, y, &s, 1e-5f, 0);
        if (c->relu) builder_node(b, "Relu", 1, &y, 1, &y);
        builder_output(b, y);
        illume_session_options options;
        illume_session_options_default(&options);
        options.device = "cpu";
        options.fold_batchnorm = fold;
        options.channels_last = layout;
        illume_session_stats stats = {0};
        illume_tensor want = tensor_copy(&normalized);
        char label[256];
        snprintf(label, sizeof label, "%s then BatchNormalization%s, %s, fold_batchnorm %s%s", op,
                 c->relu ? " then Relu" : "", c->name, fold ? "on" : "off", layout ? " (channels last)" : "");
        int ran = expect_run_with(label, b, &options, c->weights_as_input ? 2 : 1, inputs, 1, &want, 1e-4, &stats);
        /* A Relu fuses into a Conv or ConvTranspose once the BatchNormalization folded into it,
         * else into the BatchNormalization; after a Gemm that took the BatchNormalization it
         * stays. The channels-last pass adds conversions, so the count is checked without it. */
        int fused = fold && c->foldable;
        int nodes = 1 + !fused + (c->relu && fused && c->kind == PRODUCER_GEMM);
        if (ran && !layout && stats.node_count != nodes)
            test_fail("%s: %d nodes after the passes, expected %d", label, stats.node_count, nodes);
    }
    tensor_release(&normalized);
    tensor_release(&produced);
    release_statistics(&s);
    tensor_release(&bias);
    tensor_release(&inputs[0]);
    tensor_release(&inputs[1]);
}

static const fold_case fold_cases[] = {
    {.name = "with bias", .kind = PRODUCER_CONV, .group = 1, .bias = 1, .foldable = 1},
    {.name = "without bias", .kind = PRODUCER_CONV, .group = 1, .foldable = 1},
    {.name = "groups 2", .kind = PRODUCER_CONV, .group = 2, .bias = 1, .foldable = 1},
    {.name = "depthwise-like groups 2, Relu after", .kind = PRODUCER_CONV, .group = 2, .bias = 1, .relu = 1,
     .foldable = 1},
    {.name = "weights as a graph input (not foldable)", .kind = PRODUCER_CONV, .group = 1, .bias = 1,
     .weights_as_input = 1},
    {.name = "with bias", .kind = PRODUCER_CONV_TRANSPOSE, .group = 1, .bias = 1, .foldable = 1},
    {.name = "groups 2 without bias", .kind = PRODUCER_CONV_TRANSPOSE, .group = 2, .foldable = 1},
    {.name = "groups 2, Relu after", .kind = PRODUCER_CONV_TRANSPOSE, .group = 2, .bias = 1, .relu = 1,
     .foldable = 1},
    {.name = "row C", .kind = PRODUCER_GEMM, .bias = 1, .alpha = 1, .beta = 1, .foldable = 1},
    {.name = "transB, row C, alpha 0.5, beta 2", .kind = PRODUCER_GEMM, .bias = 1, .trans_b = 1, .alpha = 0.5f,
     .beta = 2.0f, .foldable = 1},
    {.name = "no C, alpha 1.5", .kind = PRODUCER_GEMM, .alpha = 1.5f, .beta = 1, .foldable = 1},
    {.name = "full C (not foldable)", .kind = PRODUCER_GEMM, .bias = 1, .c_full = 1, .alpha = 1, .beta = 1},
    {.name = "B as a graph input (not foldable)", .kind = PRODUCER_GEMM, .bias = 1, .alpha = 1, .beta = 1,
     .weights_as_input = 1},
    {.name = "Relu after", .kind = PRODUCER_GEMM, .bias = 1, .trans_b = 1, .alpha = 1, .beta = 1, .relu = 1,
     .foldable = 1},
};

int main(void) {
    uint64_t seed = 5;
    const int64_t shapes[][5] = {{2, 3, 5, 7}, {4, 5}, {3, 2, 11}, {1, 2, 3, 4, 5}, {2, 1, 1, 1}};
    const int ranks[] = {4, 2, 3, 5, 4};
    for (int i = 0; i < 5; i++) standalone(ranks[i], shapes[i], 1e-5f, 0, &seed);
    standalone(4, shapes[0], 0.01f, 1, &seed);
    for (int leaky = 0; leaky < 2; leaky++) activated(leaky, &seed);
    for (size_t i = 0; i < sizeof fold_cases / sizeof fold_cases[0]; i++) folded(&fold_cases[i], &seed);
    return test_report("ops/batchnorm");
}
