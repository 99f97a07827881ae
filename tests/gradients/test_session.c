/* The session machinery of backward passes: a value read by several nodes
 * (contributions add up), Mul(x, x) and other nodes reading one value twice,
 * views of views and several views of one value, fused activations and
 * fused residual Adds (fuse_activations and channels_last on and off must
 * give the same gradients, under every rule, each against finite
 * differences), the guided and deconvnet rules on a Relu against their
 * definitions (alone, fused into a Conv, and between two Gemms),
 * backward_from and backward_to an intermediate value and kept values
 * against the head and tail of the graph, data read back after a run and a
 * backward pass, and misuse: reading before a run or a backward, a second
 * backward pass without a run, a seed of the wrong shape, values not kept or
 * off the gradient's path, sessions without a backward pass, gradients an
 * op does not give. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gradient_check.h"
#include "op.h"

static char *name_of(builder *b, int value) {
    const char *name = b->graph->values[value].name;
    char *copy = malloc(strlen(name) + 1);
    if (copy) memcpy(copy, name, strlen(name) + 1);
    return copy;
}

/* A value read by several nodes, and a node reading one value twice. */
static void shared_values(uint64_t *seed) {
    const int64_t dims[4] = {2, 3, 4, 5};
    illume_tensor x = tensor_random(4, dims, -2.0f, 2.0f, seed);
    gradient_check smooth = smooth_check(1.0 / 32), linear = linear_check();
    /* x read by Sigmoid, Tanh and Add: Sigmoid(x) * Tanh(x) + x. */
    builder *b = builder_create(13);
    int input = builder_input(b, "x", 4, dims), s, t, u, y;
    builder_node(b, "Sigmoid", 1, &input, 1, &s);
    builder_node(b, "Tanh", 1, &input, 1, &t);
    builder_node(b, "Mul", 2, (int[]){s, t}, 1, &u);
    builder_node(b, "Add", 2, (int[]){u, input}, 1, &y);
    builder_output(b, y);
    expect_gradients("x read by Sigmoid, Tanh and Add", b, 1, &x, &smooth);
    /* Binary ops reading one value as both operands. */
    const char *ops[4] = {"Mul", "Add", "Sub", "Div"};
    const double zero = 0.0;
    illume_tensor away = tensor_away_from(4, dims, -2.0f, 2.0f, 1, &zero, 0.5, seed);
    for (int o = 0; o < 4; o++) {
        b = builder_create(13);
        input = builder_input(b, "x", 4, dims);
        builder_node(b, ops[o], 2, (int[]){input, input}, 1, &y);
        builder_output(b, y);
        char label[64];
        snprintf(label, sizeof label, "%s(x, x)", ops[o]);
        expect_gradients(label, b, 1, &away, o == 3 ? &smooth : &linear);
    }
    /* A Conv's output (channels last) read by Sigmoid and twice by Mul; and
     * the graph's output read again by a node after it. */
    illume_tensor produced;
    b = builder_create(13);
    int conv = add_conv(b, builder_input(b, "x", 4, dims), &x, 4, seed, &produced), square, z;
    builder_node(b, "Sigmoid", 1, &conv, 1, &s);
    builder_node(b, "Mul", 2, (int[]){conv, conv}, 1, &square);
    builder_node(b, "Add", 2, (int[]){s, square}, 1, &y);
    builder_node(b, "Tanh", 1, &y, 1, &z);
    builder_output(b, y);
    builder_output(b, z);
    expect_gradients("Conv output read by Sigmoid and Mul(c, c)", b, 1, &x, &smooth);
    tensor_release(&produced);
    tensor_release(&away);
    tensor_release(&x);
}

/* Views of views, and two views of one value read by different nodes. */
static void views(uint64_t *seed) {
    const int64_t dims[4] = {2, 3, 4, 5};
    illume_tensor x = tensor_random(4, dims, -2.0f, 2.0f, seed);
    gradient_check how = smooth_check(1.0 / 32);
    builder *b = builder_create(13);
    int v = builder_input(b, "x", 4, dims);
    builder_node(b, "Sigmoid", 1, &v, 1, &v);
    builder_node(b, "Reshape", 2, (int[]){v, builder_int_list(b, "shape", 3, (int64_t[]){6, 4, 5})}, 1, &v);
    builder_node(b, "Flatten", 1, &v, 1, &v);
    builder_node(b, "Unsqueeze", 2, (int[]){v, builder_int_list(b, "axes", 1, (int64_t[]){0})}, 1, &v);
    builder_node(b, "Tanh", 1, &v, 1, &v);
    builder_output(b, v);
    expect_gradients("Tanh of Unsqueeze of Flatten of Reshape of Sigmoid", b, 1, &x, &how);
    /* Sigmoid(Reshape(x)) + Tanh(Flatten(x)): two views of the graph input. */
    b = builder_create(13);
    int input = builder_input(b, "x", 4, dims), reshaped, flat, s, t, y;
    builder_node(b, "Reshape", 2, (int[]){input, builder_int_list(b, "shape", 2, (int64_t[]){6, 20})}, 1, &reshaped);
    int node = builder_node(b, "Flatten", 1, &input, 1, &flat);
    builder_attribute_int(b, node, "axis", 2);
    builder_node(b, "Sigmoid", 1, &reshaped, 1, &s);
    builder_node(b, "Tanh", 1, &flat, 1, &t);
    builder_node(b, "Add", 2, (int[]){s, t}, 1, &y);
    builder_output(b, y);
    expect_gradients("Sigmoid(Reshape(x)) + Tanh(Flatten(x))", b, 1, &x, &how);
    /* A view that is itself the graph output, of a value read elsewhere too. */
    b = builder_create(13);
    input = builder_input(b, "x", 4, dims);
    builder_node(b, "Sigmoid", 1, &input, 1, &s);
    builder_node(b, "Reshape", 2, (int[]){s, builder_int_list(b, "shape", 2, (int64_t[]){6, 20})}, 1, &reshaped);
    builder_node(b, "Mul", 2, (int[]){reshaped, reshaped}, 1, &y);
    builder_node(b, "Reshape", 2, (int[]){y, builder_int_list(b, "back", 4, dims)}, 1, &y);
    builder_node(b, "Add", 2, (int[]){y, s}, 1, &y);
    builder_output(b, y);
    expect_gradients("Sigmoid read by a Reshape squared and by Add", b, 1, &x, &how);
    tensor_release(&x);
}

typedef enum residual_kind {
    RESIDUAL_INPUT,        /* Relu(Conv(x) + z), z a graph input */
    RESIDUAL_READ_LATER,   /* z' = Relu(z); Conv(x) + z', and Sigmoid(z') after it */
    RESIDUAL_OWN_INPUT,    /* r = Relu(x); Conv(r) + r */
    RESIDUAL_BLOCK,        /* a = Conv(x); Relu(Conv(a) + a) */
    RESIDUAL_BLOCK_OUTPUT, /* as RESIDUAL_BLOCK, with a a graph output too */
    RESIDUAL_TRANSPOSE,    /* Relu(ConvTranspose(x) + z) */
    RESIDUAL_BROADCAST,    /* Conv(x) + z with z of shape (1, C, 1, 1): not fused */
    RESIDUAL_SIGMOID,      /* Sigmoid(Conv(x) + z): fused from its output */
    RESIDUAL_KINDS
} residual_kind;

static const char *const residual_names[] = {
    "Relu(Conv + input)", "Conv + value read later", "Conv + its own input", "residual block",
    "residual block with the shortcut an output", "Relu(ConvTranspose + input)", "Conv + broadcast input",
    "Sigmoid(Conv + input)"};

typedef struct residual_weights {
    illume_tensor w, bias;
} residual_weights;

/* The graph of a residual kind; with `activation` 0 the final activation is
 * left out, so that a forward run shows how far its input is from the kink. */
static illume_model *residual_model(illume_context *context, residual_kind kind, const residual_weights *weights,
                                    int activation) {
    const int64_t x_dims[4] = {1, 3, 4, 3}, small_dims[4] = {1, 3, 1, 1}, big_dims[4] = {1, 3, 8, 6};
    int transpose = kind == RESIDUAL_TRANSPOSE;
    const int64_t *z_dims = transpose ? big_dims : kind == RESIDUAL_BROADCAST ? small_dims : x_dims;
    int uses_z = kind != RESIDUAL_OWN_INPUT && kind != RESIDUAL_BLOCK && kind != RESIDUAL_BLOCK_OUTPUT;
    builder *b = builder_create(17);
    int x = builder_input(b, "x", 4, x_dims);
    int z = uses_z ? builder_input(b, "z", 4, z_dims) : -1;
    int w = builder_floats(b, "w", 4, weights->w.dims, weights->w.data);
    int bias = builder_floats(b, "b", 1, weights->bias.dims, weights->bias.data);
    int addend = z, source = x, extra = -1;
    const int64_t pads[4] = {1, 1, 1, 1}, strides[2] = {2, 2};
    if (kind == RESIDUAL_READ_LATER) builder_node(b, "Relu", 1, &z, 1, &addend);
    if (kind == RESIDUAL_OWN_INPUT) {
        builder_node(b, "Relu", 1, &x, 1, &source);
        addend = source;
    }
    if (kind == RESIDUAL_BLOCK || kind == RESIDUAL_BLOCK_OUTPUT) {
        int node = builder_node(b, "Conv", 3, (int[]){x, w, bias}, 1, &source);
        builder_attribute_ints(b, node, "pads", 4, pads);
        addend = source;
    }
    int conv, node = builder_node(b, transpose ? "ConvTranspose" : "Conv", 3, (int[]){source, w, bias}, 1, &conv);
    if (transpose) builder_attribute_ints(b, node, "strides", 2, strides);
    else builder_attribute_ints(b, node, "pads", 4, pads);
    int y;
    builder_node(b, "Add", 2, kind == RESIDUAL_READ_LATER ? (int[]){addend, conv} : (int[]){conv, addend}, 1, &y);
    int relu = kind == RESIDUAL_INPUT || kind == RESIDUAL_BLOCK || kind == RESIDUAL_BLOCK_OUTPUT ||
               kind == RESIDUAL_TRANSPOSE;
    if (activation && relu) builder_node(b, "Relu", 1, &y, 1, &y);
    if (activation && kind == RESIDUAL_SIGMOID) builder_node(b, "Sigmoid", 1, &y, 1, &y);
    if (kind == RESIDUAL_READ_LATER) builder_node(b, "Sigmoid", 1, &addend, 1, &extra);
    if (kind == RESIDUAL_BLOCK_OUTPUT) extra = addend;
    builder_output(b, y);
    if (extra >= 0) builder_output(b, extra);
    illume_model *model = NULL;
    if (builder_finish(b, context, &model) != ILLUME_OK)
        test_fail("%s: %s", residual_names[kind], illume_last_error(context));
    return model;
}

/* The largest sum of |w| feeding one output of the convolution. */
static double weight_reach(const illume_tensor *w, int transpose) {
    int64_t taps = w->dims[2] * w->dims[3], reach_count = transpose ? w->dims[1] : w->dims[0];
    double reach = 0.0;
    const float *data = w->data;
    for (int64_t o = 0; o < reach_count; o++) {
        double sum = 0.0;
        for (int64_t i = 0; i < w->dims[transpose ? 0 : 1]; i++)
            for (int64_t t = 0; t < taps; t++) {
                int64_t index = transpose ? (i * w->dims[1] + o) * taps + t : (o * w->dims[1] + i) * taps + t;
                sum += fabs(data[index]);
            }
        reach = fmax(reach, sum);
    }
    return reach;
}

/* Draws inputs until every value a Relu reads keeps further from zero than
 * the finite differences move it; returns 0 when none is found. */
static int draw_residual_inputs(illume_context *context, residual_kind kind, const residual_weights *weights,
                                illume_tensor *inputs, int input_count, double reach, uint64_t *seed) {
    illume_model *screen = residual_model(context, kind, weights, 0);
    int found = 0;
    for (int attempt = 0; screen && attempt < 2000 && !found; attempt++) {
        for (int i = 0; i < input_count; i++) {
            illume_tensor fresh = tensor_random(inputs[i].rank, inputs[i].dims, -1.0f, 1.0f, seed);
            tensor_release(&inputs[i]);
            inputs[i] = fresh;
            /* Relu(x) and Relu(z) of graph inputs: keep their kinks out of reach too. */
            float *values = inputs[i].data;
            for (int64_t j = 0; j < tensor_count(&inputs[i]); j++)
                if (fabsf(values[j]) < 0.05f) values[j] = values[j] < 0.0f ? -0.05f : 0.05f;
        }
        illume_tensor outputs[2];
        illume_session_options options = backward_options(0, 0);
        options.backward = 0;
        if (run_model(context, screen, &options, input_count, inputs, illume_model_output_count(screen), outputs,
                      NULL) != ILLUME_OK)
            break;
        double nearest = INFINITY;
        for (int64_t k = 0; k < tensor_count(&outputs[0]); k++)
            nearest = fmin(nearest, fabs(((float *)outputs[0].data)[k]));
        for (int o = 0; o < illume_model_output_count(screen); o++) tensor_release(&outputs[o]);
        found = nearest > reach;
    }
    illume_model_free(screen);
    return found;
}

static void residual(residual_kind kind, uint64_t *seed) {
    const int64_t w_dims[4] = {3, 3, 3, 3}, t_dims[4] = {3, 3, 2, 2}, bias_dims[1] = {3};
    const int64_t x_dims[4] = {1, 3, 4, 3}, small_dims[4] = {1, 3, 1, 1}, big_dims[4] = {1, 3, 8, 6};
    int transpose = kind == RESIDUAL_TRANSPOSE;
    residual_weights weights = {tensor_random(4, transpose ? t_dims : w_dims, -0.4f, 0.4f, seed),
                                tensor_random(1, bias_dims, -0.5f, 0.5f, seed)};
    int uses_z = kind != RESIDUAL_OWN_INPUT && kind != RESIDUAL_BLOCK && kind != RESIDUAL_BLOCK_OUTPUT;
    const int64_t *z_dims = transpose ? big_dims : kind == RESIDUAL_BROADCAST ? small_dims : x_dims;
    illume_tensor inputs[2] = {tensor_random(4, x_dims, -1.0f, 1.0f, seed),
                               tensor_random(4, z_dims, -1.0f, 1.0f, seed)};
    int input_count = uses_z ? 2 : 1;
    illume_context *context = illume_context_create();
    double step = 1.0 / 1024, r = weight_reach(&weights.w, transpose);
    /* How far one step moves the value the Relu reads, at most. */
    double reach = 1.5 * step * (kind == RESIDUAL_BLOCK || kind == RESIDUAL_BLOCK_OUTPUT ? r * r + r : r + 1.0);
    int relu = kind == RESIDUAL_INPUT || kind == RESIDUAL_BLOCK || kind == RESIDUAL_BLOCK_OUTPUT || transpose;
    if (relu && !draw_residual_inputs(context, kind, &weights, inputs, input_count, reach, seed))
        test_fail("%s: found no inputs whose Relu input keeps %g from zero", residual_names[kind], reach);
    if (kind == RESIDUAL_READ_LATER || kind == RESIDUAL_OWN_INPUT) {
        float *values = inputs[kind == RESIDUAL_OWN_INPUT ? 0 : 1].data;
        for (int64_t j = 0; j < tensor_count(&inputs[kind == RESIDUAL_OWN_INPUT ? 0 : 1]); j++)
            if (fabsf(values[j]) < 0.05f) values[j] = values[j] < 0.0f ? -0.05f : 0.05f;
    }
    illume_model *model = residual_model(context, kind, &weights, 1);
    gradient_check how = kind == RESIDUAL_SIGMOID ? smooth_check(1.0 / 32) : piecewise_check(step);
    /* Each setting against finite differences; and under each rule, all four settings against the first
     * (fusion on, channels last), so that the rules act on a fused Relu as on one apart. */
    illume_tensor first[3][2], seed_tensor = {0};
    int have_first = 0;
    for (int run = 0; model && run < 4; run++) {
        int fuse = run / 2 == 0, layout = run % 2 == 0;
        char label[160];
        snprintf(label, sizeof label, "%s, fusion %s%s", residual_names[kind], fuse ? "on" : "off",
                 layout ? "" : ", channels first");
        how.fuse_activations = fuse;
        how.layouts = layout ? CHANNELS_LAST : CHANNELS_FIRST;
        check_model_gradients(label, context, model, input_count, inputs, &how);
        illume_session_options options = backward_options(fuse, layout);
        if (!have_first) {
            illume_session *probe;
            if (illume_session_create(context, model, &options, input_count, inputs, &probe) != ILLUME_OK) break;
            illume_value_info info;
            illume_session_output(probe, 0, &info);
            seed_tensor = tensor_random(info.rank, info.dims, -1.0f, 1.0f, seed);
            illume_session_free(probe);
        }
        for (int rule = 0; rule < 3; rule++) {
            illume_tensor gradients[2];
            static const char *const rule_names[] = {"gradient", "guided", "deconvnet"};
            count_case();
            if (session_gradients(context, model, &options, input_count, inputs, &seed_tensor, (illume_rule)rule,
                                  gradients) != ILLUME_OK) {
                test_fail("%s, %s rule: %s", label, rule_names[rule], illume_last_error(context));
                for (int i = 0; i < input_count; i++) gradients[i] = tensor_zeros(inputs[i].rank, inputs[i].dims);
            }
            for (int i = 0; i < input_count; i++) {
                if (!have_first) {
                    first[rule][i] = gradients[i];
                    continue;
                }
                char name[400];
                snprintf(name, sizeof name, "%s, %s rule: gradient of input %d against fusion on, channels last",
                         label, rule_names[rule], i);
                expect_close(name, &gradients[i], &first[rule][i], 1e-5);
                tensor_release(&gradients[i]);
            }
        }
        have_first = 1;
    }
    for (int rule = 0; have_first && rule < 3; rule++)
        for (int i = 0; i < input_count; i++) tensor_release(&first[rule][i]);
    tensor_release(&seed_tensor);
    illume_model_free(model);
    illume_context_destroy(context);
    tensor_release(&inputs[0]);
    tensor_release(&inputs[1]);
    tensor_release(&weights.w);
    tensor_release(&weights.bias);
}

/* Builds Relu alone, or Conv then Relu, or Conv alone. */
static illume_model *relu_model(illume_context *context, int conv, int relu, const illume_tensor *w,
                                const int64_t *x_dims) {
    builder *b = builder_create(14);
    int y = builder_input(b, "x", 4, x_dims);
    if (conv) {
        int node = builder_node(b, "Conv", 2, (int[]){y, builder_floats(b, "w", 4, w->dims, w->data)}, 1, &y);
        builder_attribute_ints(b, node, "pads", 4, (int64_t[]){1, 1, 1, 1});
    }
    if (relu) builder_node(b, "Relu", 1, &y, 1, &y);
    builder_output(b, y);
    illume_model *model = NULL;
    if (builder_finish(b, context, &model) != ILLUME_OK) test_fail("relu model: %s", illume_last_error(context));
    return model;
}

static float positive(float value) { return value > 0.0f ? value : 0.0f; }

/* The guided and deconvnet rules against their definitions. */
static void rules(uint64_t *seed) {
    const int64_t x_dims[4] = {2, 3, 4, 5}, w_dims[4] = {4, 3, 3, 3};
    const double zero = 0.0;
    illume_context *context = illume_context_create();
    illume_tensor x = tensor_away_from(4, x_dims, -1.0f, 1.0f, 1, &zero, 0.01, seed);
    illume_tensor w = tensor_random(4, w_dims, -0.5f, 0.5f, seed);
    illume_tensor s = tensor_random(4, x_dims, -1.0f, 1.0f, seed);
    /* Relu alone: gradient (x > 0) s, guided (x > 0) max(s, 0), deconvnet max(s, 0), element for element. */
    illume_model *alone = relu_model(context, 0, 1, NULL, x_dims);
    for (int rule = 0; alone && rule < 3; rule++) {
        illume_session_options options = backward_options(1, 1);
        illume_tensor got[1], want = tensor_copy(&x);
        const float *xs = x.data, *ss = s.data;
        float *expected = want.data;
        for (int64_t i = 0; i < tensor_count(&x); i++)
            expected[i] = rule == ILLUME_RULE_DECONV ? positive(ss[i])
                          : xs[i] > 0.0f             ? (rule == ILLUME_RULE_GUIDED ? positive(ss[i]) : ss[i])
                                                     : 0.0f;
        static const char *const names[] = {"Relu alone, gradient rule", "Relu alone, guided rule",
                                            "Relu alone, deconvnet rule"};
        if (session_gradients(context, alone, &options, 1, &x, &s, (illume_rule)rule, got) != ILLUME_OK) {
            count_case();
            test_fail("%s: %s", names[rule], illume_last_error(context));
        } else {
            expect_close(names[rule], &got[0], &want, 0.0);
            tensor_release(&got[0]);
        }
        tensor_release(&want);
    }
    /* Conv then Relu, fused and apart, in both layouts: the rule applied to the seed, then Conv's gradient. */
    illume_model *with_relu = relu_model(context, 1, 1, &w, x_dims);
    illume_model *conv_alone = relu_model(context, 1, 0, &w, x_dims);
    int64_t y_dims[4] = {2, 4, 4, 5};
    illume_tensor seed_y = tensor_random(4, y_dims, -1.0f, 1.0f, seed), y[1];
    illume_session_options plain = backward_options(0, 0);
    plain.backward = 0;
    if (with_relu && conv_alone && run_model(context, conv_alone, &plain, 1, &x, 1, y, NULL) == ILLUME_OK) {
        for (int rule = ILLUME_RULE_GUIDED; rule <= ILLUME_RULE_DECONV; rule++) {
            illume_tensor ruled = tensor_copy(&seed_y), want[1];
            float *r = ruled.data;
            const float *pre = y[0].data;
            for (int64_t i = 0; i < tensor_count(&ruled); i++)
                r[i] = rule == ILLUME_RULE_DECONV || pre[i] > 0.0f ? positive(r[i]) : 0.0f;
            illume_session_options options = backward_options(0, 0);
            if (session_gradients(context, conv_alone, &options, 1, &x, &ruled, ILLUME_RULE_GRADIENT, want) !=
                ILLUME_OK) {
                test_fail("Conv alone: %s", illume_last_error(context));
                tensor_release(&ruled);
                continue;
            }
            for (int run = 0; run < 4; run++) {
                options = backward_options(run / 2, run % 2);
                char label[160];
                snprintf(label, sizeof label, "Conv then Relu (fusion %s, channels %s), %s rule",
                         run / 2 ? "on" : "off", run % 2 ? "last" : "first",
                         rule == ILLUME_RULE_GUIDED ? "guided" : "deconvnet");
                illume_tensor got[1];
                if (session_gradients(context, with_relu, &options, 1, &x, &seed_y, (illume_rule)rule, got) !=
                    ILLUME_OK) {
                    count_case();
                    test_fail("%s: %s", label, illume_last_error(context));
                    continue;
                }
                expect_close(label, &got[0], &want[0], 1e-5);
                tensor_release(&got[0]);
            }
            tensor_release(&want[0]);
            tensor_release(&ruled);
        }
        tensor_release(&y[0]);
    }
    /* Between two Gemms: dx = W1^T (rule applied to W2^T s at z = W1 x). */
    const int64_t in_dims[2] = {3, 8}, w1_dims[2] = {6, 8}, w2_dims[2] = {4, 6}, out_dims[2] = {3, 4};
    illume_tensor v = tensor_random(2, in_dims, -1.0f, 1.0f, seed), w1 = tensor_random(2, w1_dims, -1.0f, 1.0f, seed);
    illume_tensor w2 = tensor_random(2, w2_dims, -1.0f, 1.0f, seed), s2 = tensor_random(2, out_dims, -1.0f, 1.0f, seed);
    builder *b = builder_create(13);
    int h = builder_input(b, "v", 2, in_dims);
    int node = builder_node(b, "Gemm", 2, (int[]){h, builder_floats(b, "w1", 2, w1_dims, w1.data)}, 1, &h);
    builder_attribute_int(b, node, "transB", 1);
    builder_node(b, "Relu", 1, &h, 1, &h);
    node = builder_node(b, "Gemm", 2, (int[]){h, builder_floats(b, "w2", 2, w2_dims, w2.data)}, 1, &h);
    builder_attribute_int(b, node, "transB", 1);
    builder_output(b, h);
    illume_model *mlp = NULL;
    if (builder_finish(b, context, &mlp) != ILLUME_OK) test_fail("Gemm, Relu, Gemm: %s", illume_last_error(context));
    for (int rule = 0; mlp && rule < 3; rule++) {
        illume_tensor want = tensor_copy(&v), got[1];
        const float *vs = v.data, *a = w1.data, *c = w2.data, *ss = s2.data;
        for (int64_t row = 0; row < 3; row++)
            for (int64_t i = 0; i < 8; i++) {
                double sum = 0.0;
                for (int64_t j = 0; j < 6; j++) {
                    double pre = 0.0, back = 0.0;
                    for (int64_t k = 0; k < 8; k++) pre += (double)a[j * 8 + k] * vs[row * 8 + k];
                    for (int64_t o = 0; o < 4; o++) back += (double)c[o * 6 + j] * ss[row * 4 + o];
                    double passed = rule == ILLUME_RULE_DECONV ? fmax(back, 0.0)
                                    : pre > 0.0 ? (rule == ILLUME_RULE_GUIDED ? fmax(back, 0.0) : back)
                                                : 0.0;
                    sum += passed * a[j * 8 + i];
                }
                ((float *)want.data)[row * 8 + i] = (float)sum;
            }
        static const char *const names[] = {"Gemm, Relu, Gemm: gradient rule", "Gemm, Relu, Gemm: guided rule",
                                            "Gemm, Relu, Gemm: deconvnet rule"};
        illume_session_options options = backward_options(1, 1);
        if (session_gradients(context, mlp, &options, 1, &v, &s2, (illume_rule)rule, got) != ILLUME_OK) {
            count_case();
            test_fail("%s: %s", names[rule], illume_last_error(context));
        } else {
            expect_close(names[rule], &got[0], &want, 1e-5);
            tensor_release(&got[0]);
        }
        tensor_release(&want);
    }
    illume_model_free(mlp);
    illume_model_free(alone);
    illume_model_free(with_relu);
    illume_model_free(conv_alone);
    tensor_release(&seed_y);
    tensor_release(&v);
    tensor_release(&w1);
    tensor_release(&w2);
    tensor_release(&s2);
    tensor_release(&x);
    tensor_release(&w);
    tensor_release(&s);
    illume_context_destroy(context);
}

/* x -> Conv -> a -> Sigmoid -> b -> Conv -> c -> GlobalAveragePool -> Flatten -> Gemm, from stage `start`
 * (0: x, 1: a, 2: b as the graph input); names of a and b returned when start is 0. */
typedef struct pipeline {
    illume_tensor w1, w2, w3;
} pipeline;

static illume_model *pipeline_model(illume_context *context, const pipeline *p, int start, char **a_name,
                                    char **b_name, char **side_name) {
    const int64_t x_dims[4] = {2, 3, 6, 5}, a_dims[4] = {2, 4, 6, 5};
    builder *b = builder_create(13);
    int v = builder_input(b, start == 0 ? "x" : start == 1 ? "a" : "b", 4, start == 0 ? x_dims : a_dims);
    if (start == 0) {
        int node = builder_node(b, "Conv", 2, (int[]){v, builder_floats(b, "w1", 4, p->w1.dims, p->w1.data)}, 1, &v);
        builder_attribute_ints(b, node, "pads", 4, (int64_t[]){1, 1, 1, 1});
        if (a_name) *a_name = name_of(b, v);
        /* A side branch off a, kept but off the gradient's path. */
        int side;
        builder_node(b, "Tanh", 1, &v, 1, &side);
        builder_output(b, side);
        if (side_name) *side_name = name_of(b, side);
    }
    if (start <= 1) {
        builder_node(b, "Sigmoid", 1, &v, 1, &v);
        if (start == 0 && b_name) *b_name = name_of(b, v);
    }
    int node = builder_node(b, "Conv", 2, (int[]){v, builder_floats(b, "w2", 4, p->w2.dims, p->w2.data)}, 1, &v);
    builder_attribute_ints(b, node, "pads", 4, (int64_t[]){1, 1, 1, 1});
    builder_node(b, "GlobalAveragePool", 1, &v, 1, &v);
    builder_node(b, "Flatten", 1, &v, 1, &v);
    node = builder_node(b, "Gemm", 2, (int[]){v, builder_floats(b, "w3", 2, p->w3.dims, p->w3.data)}, 1, &v);
    builder_attribute_int(b, node, "transB", 1);
    /* The Gemm's output first: the backward starts there. */
    if (start == 0) {
        graph *g = b->graph;
        builder_output(b, v);
        char *first = g->output_names[0];
        g->output_names[0] = g->output_names[1];
        g->output_names[1] = first;
        int swap = g->outputs[0];
        g->outputs[0] = g->outputs[1];
        g->outputs[1] = swap;
    } else {
        builder_output(b, v);
    }
    illume_model *model = NULL;
    if (builder_finish(b, context, &model) != ILLUME_OK) test_fail("pipeline: %s", illume_last_error(context));
    return model;
}

/* The head of the pipeline: x -> Conv -> a -> Sigmoid -> b, with outputs b and a. */
static illume_model *head_model(illume_context *context, const pipeline *p) {
    const int64_t x_dims[4] = {2, 3, 6, 5};
    builder *b = builder_create(13);
    int a, s, node = builder_node(b, "Conv", 2, (int[]){builder_input(b, "x", 4, x_dims),
                                                        builder_floats(b, "w1", 4, p->w1.dims, p->w1.data)},
                                  1, &a);
    builder_attribute_ints(b, node, "pads", 4, (int64_t[]){1, 1, 1, 1});
    builder_node(b, "Sigmoid", 1, &a, 1, &s);
    builder_output(b, s);
    builder_output(b, a);
    illume_model *model = NULL;
    if (builder_finish(b, context, &model) != ILLUME_OK) test_fail("head: %s", illume_last_error(context));
    return model;
}

static illume_tensor value_tensor(illume_session *session, const char *name) {
    illume_value_info info;
    illume_tensor tensor = {0};
    if (illume_session_value(session, name, &info) == ILLUME_OK) tensor = tensor_zeros(info.rank, info.dims);
    return tensor;
}

static void expect_status(const char *label, illume_context *context, illume_status got, illume_status want,
                          const char *mentions) {
    count_case();
    if (got != want)
        test_fail("%s: status %s, expected %s (%s)", label, illume_status_name(got), illume_status_name(want),
                  illume_last_error(context));
    else if (mentions && !strstr(illume_last_error(context), mentions))
        test_fail("%s: message \"%s\" does not mention \"%s\"", label, illume_last_error(context), mentions);
}

/* backward_to an intermediate value, kept values, and misuse of the API. */
static void partial_and_kept(uint64_t *seed) {
    const int64_t w1_dims[4] = {4, 3, 3, 3}, w2_dims[4] = {5, 4, 3, 3}, w3_dims[2] = {3, 5}, x_dims[4] = {2, 3, 6, 5};
    pipeline p = {tensor_random(4, w1_dims, -0.5f, 0.5f, seed), tensor_random(4, w2_dims, -0.5f, 0.5f, seed),
                  tensor_random(2, w3_dims, -1.0f, 1.0f, seed)};
    illume_context *context = illume_context_create();
    char *a_name = NULL, *b_name = NULL, *side_name = NULL;
    illume_model *full = pipeline_model(context, &p, 0, &a_name, &b_name, &side_name);
    illume_model *from_a = pipeline_model(context, &p, 1, NULL, NULL, NULL);
    illume_model *from_b = pipeline_model(context, &p, 2, NULL, NULL, NULL), *head = head_model(context, &p);
    illume_tensor x = tensor_random(4, x_dims, -1.0f, 1.0f, seed);
    int64_t out_dims[2] = {2, 3};
    illume_tensor s = tensor_random(2, out_dims, -1.0f, 1.0f, seed), head_outputs[2] = {{0}, {0}};
    illume_session_options forward_only = backward_options(1, 1);
    forward_only.backward = 0;
    if (!full || !from_a || !from_b || !head || !a_name || !b_name || !side_name ||
        run_model(context, head, &forward_only, 1, &x, 2, head_outputs, NULL) != ILLUME_OK)
        goto done;
    for (int layout = 1; layout >= 0; layout--)
        for (int target = 0; target < 2; target++) {
            /* backward_to a (target 0) or b, keeping the other and the side branch. */
            const char *to = target ? b_name : a_name, *other = target ? a_name : b_name;
            const char *keep[2] = {other, side_name};
            illume_session_options options = backward_options(1, layout);
            options.backward_to = to;
            options.keep = keep;
            options.keep_count = 2;
            char label[160];
            snprintf(label, sizeof label, "backward_to %s keeping %s%s", target ? "b" : "a", target ? "a" : "b",
                     layout ? "" : " (channels first)");
            illume_session *session = NULL;
            illume_status status = illume_session_create(context, full, &options, 1, &x, &session);
            expect_status(label, context, status, ILLUME_OK, NULL);
            if (status != ILLUME_OK) continue;
            illume_tensor early = value_tensor(session, to);
            expect_status("reading a value's data before a run", context, illume_session_read(session, to, 0, &early),
                          ILLUME_ERROR_INVALID_INPUT, "run the session");
            expect_status("a backward pass before a run", context,
                          illume_session_backward(session, ILLUME_RULE_GRADIENT, &s), ILLUME_ERROR_INVALID_INPUT,
                          "run the session");
            tensor_release(&early);
            illume_tensor outputs[2] = {tensor_zeros(2, out_dims), tensor_zeros(4, (int64_t[]){2, 4, 6, 5})};
            status = illume_session_run(session, 1, &x, 2, outputs);
            expect_status("run", context, status, ILLUME_OK, NULL);
            illume_tensor to_data = value_tensor(session, to), to_gradient = value_tensor(session, to);
            illume_tensor other_data = value_tensor(session, other), other_gradient = value_tensor(session, other);
            illume_tensor x_gradient = tensor_zeros(4, x_dims);
            expect_status("reading a gradient before the backward pass", context,
                          illume_session_read(session, to, 1, &to_gradient), ILLUME_ERROR_INVALID_INPUT, "backward");
            /* A seed of the wrong shape, rank, type, or without data. */
            illume_tensor wrong = tensor_zeros(2, (int64_t[]){2, 4});
            expect_status("a seed of the wrong shape", context,
                          illume_session_backward(session, ILLUME_RULE_GRADIENT, &wrong), ILLUME_ERROR_INVALID_INPUT,
                          "seed");
            illume_tensor flat = tensor_zeros(1, (int64_t[]){6});
            expect_status("a seed of the wrong rank", context,
                          illume_session_backward(session, ILLUME_RULE_GRADIENT, &flat), ILLUME_ERROR_INVALID_INPUT,
                          "seed");
            illume_tensor typed = s;
            typed.dtype = ILLUME_INT64;
            expect_status("a seed of integers", context, illume_session_backward(session, ILLUME_RULE_GRADIENT, &typed),
                          ILLUME_ERROR_INVALID_INPUT, "seed");
            illume_tensor empty = s;
            empty.data = NULL;
            expect_status("a seed without data", context,
                          illume_session_backward(session, ILLUME_RULE_GRADIENT, &empty), ILLUME_ERROR_INVALID_INPUT,
                          "seed");
            expect_status("an unknown rule", context, illume_session_backward(session, (illume_rule)7, &s),
                          ILLUME_ERROR_INVALID_INPUT, "rule");
            tensor_release(&wrong);
            tensor_release(&flat);
            status = illume_session_backward(session, ILLUME_RULE_GRADIENT, &s);
            expect_status(label, context, status, ILLUME_OK, NULL);
            expect_status("reading the data of backward_to", context, illume_session_read(session, to, 0, &to_data),
                          ILLUME_OK, NULL);
            expect_status("reading the gradient of backward_to", context,
                          illume_session_read(session, to, 1, &to_gradient), ILLUME_OK, NULL);
            expect_status("reading a kept value's data", context, illume_session_read(session, other, 0, &other_data),
                          ILLUME_OK, NULL);
            /* The data read after the backward pass are the forward's. */
            snprintf(label, sizeof label, "data of backward_to %s after the backward pass%s", target ? "b" : "a",
                     layout ? "" : " (channels first)");
            expect_close(label, &to_data, &head_outputs[target ? 0 : 1], 1e-6);
            snprintf(label, sizeof label, "data of kept %s after the backward pass%s", target ? "a" : "b",
                     layout ? "" : " (channels first)");
            expect_close(label, &other_data, &head_outputs[target ? 1 : 0], 1e-6);
            illume_tensor input_data = tensor_zeros(4, x_dims);
            expect_status("reading the input's data after the backward pass", context,
                          illume_session_read(session, "x", 0, &input_data), ILLUME_OK, NULL);
            expect_close("the input's data after the backward pass", &input_data, &x, 0.0);
            tensor_release(&input_data);
            /* The gradient of the input was not asked for. */
            expect_status("reading the gradient of an input not asked for", context,
                          illume_session_read(session, "x", 1, &x_gradient), ILLUME_ERROR_INVALID_INPUT, "x");
            /* A kept value downstream of backward_to has a gradient; upstream it has none. */
            illume_status other_status = illume_session_read(session, other, 1, &other_gradient);
            expect_status(target ? "reading the gradient of a kept value before backward_to"
                                 : "reading the gradient of a kept value after backward_to",
                          context, other_status, target ? ILLUME_ERROR_INVALID_INPUT : ILLUME_OK,
                          target ? "no gradient flows" : NULL);
            /* The side branch: its data kept, its gradient never computed. */
            illume_tensor side = value_tensor(session, side_name);
            expect_status("reading a kept value off the gradient's path", context,
                          illume_session_read(session, side_name, 0, &side), ILLUME_OK, NULL);
            count_case();
            if (memcmp(side.data, outputs[1].data, illume_tensor_bytes(&side)))
                test_fail("%s: the kept side branch differs from the output it is", label);
            expect_status("reading the gradient of a value off the path", context,
                          illume_session_read(session, side_name, 1, &side), ILLUME_ERROR_INVALID_INPUT, side_name);
            tensor_release(&side);
            /* Against the tails of the graph started at the kept data. */
            illume_session_options tail = backward_options(1, layout);
            illume_tensor want[1];
            if (session_gradients(context, target ? from_b : from_a, &tail, 1, &to_data, &s, ILLUME_RULE_GRADIENT,
                                  want) == ILLUME_OK) {
                snprintf(label, sizeof label, "gradient at backward_to %s against the graph's tail%s",
                         target ? "b" : "a", layout ? "" : " (channels first)");
                expect_close(label, &to_gradient, &want[0], 1e-5);
                tensor_release(&want[0]);
            }
            if (!target && other_status == ILLUME_OK &&
                session_gradients(context, from_b, &tail, 1, &other_data, &s, ILLUME_RULE_GRADIENT, want) ==
                    ILLUME_OK) {
                snprintf(label, sizeof label, "gradient of kept b against the graph's tail%s",
                         layout ? "" : " (channels first)");
                expect_close(label, &other_gradient, &want[0], 1e-5);
                tensor_release(&want[0]);
            }
            /* One backward pass per run: a second reads forward values the first has overwritten. */
            expect_status("a second backward pass without a run", context,
                          illume_session_backward(session, ILLUME_RULE_GRADIENT, &s), ILLUME_ERROR_INVALID_INPUT,
                          "run the session again");
            /* A second run clears the gradients until its own backward pass, which then matches the first. */
            illume_session_run(session, 1, &x, 2, outputs);
            expect_status("reading a gradient after a new run", context,
                          illume_session_read(session, to, 1, &to_gradient), ILLUME_ERROR_INVALID_INPUT, "backward");
            illume_tensor again = value_tensor(session, to);
            if (illume_session_backward(session, ILLUME_RULE_GRADIENT, &s) == ILLUME_OK &&
                illume_session_read(session, to, 1, &again) == ILLUME_OK) {
                illume_session_read(session, to, 1, &to_gradient);
                count_case();
                if (memcmp(again.data, to_gradient.data, illume_tensor_bytes(&again)))
                    test_fail("%s: a second run and backward pass give other gradients", label);
            }
            tensor_release(&again);
            tensor_release(&outputs[0]);
            tensor_release(&outputs[1]);
            tensor_release(&to_data);
            tensor_release(&to_gradient);
            tensor_release(&other_data);
            tensor_release(&other_gradient);
            tensor_release(&x_gradient);
            illume_session_free(session);
        }
    /* A value neither an input, an output, backward_to nor kept is not readable. */
    illume_session_options options = backward_options(1, 1);
    illume_session *session = NULL;
    if (illume_session_create(context, full, &options, 1, &x, &session) == ILLUME_OK) {
        illume_tensor outputs[2] = {tensor_zeros(2, out_dims), tensor_zeros(4, (int64_t[]){2, 4, 6, 5})};
        illume_tensor a = value_tensor(session, a_name);
        illume_session_run(session, 1, &x, 2, outputs);
        illume_session_backward(session, ILLUME_RULE_GRADIENT, &s);
        expect_status("reading a value not kept", context, illume_session_read(session, a_name, 0, &a),
                      ILLUME_ERROR_INVALID_INPUT, "keep");
        expect_status("reading the gradient of a value not kept", context, illume_session_read(session, a_name, 1, &a),
                      ILLUME_ERROR_INVALID_INPUT, "keep");
        expect_status("reading a value the model lacks", context, illume_session_read(session, "nowhere", 0, &a),
                      ILLUME_ERROR_INVALID_INPUT, "nowhere");
        tensor_release(&a);
        tensor_release(&outputs[0]);
        tensor_release(&outputs[1]);
        illume_session_free(session);
    }
    /* backward_to or keep naming a value the model lacks, and a backward on a session made without one. */
    options.backward_to = "nowhere";
    expect_status("backward_to a value the model lacks", context,
                  illume_session_create(context, full, &options, 1, &x, &session), ILLUME_ERROR_INVALID_INPUT,
                  "nowhere");
    options = backward_options(1, 1);
    options.backward = 0;
    if (illume_session_create(context, full, &options, 1, &x, &session) == ILLUME_OK) {
        illume_tensor outputs[2] = {tensor_zeros(2, out_dims), tensor_zeros(4, (int64_t[]){2, 4, 6, 5})};
        illume_session_run(session, 1, &x, 2, outputs);
        expect_status("a backward pass on a session made without one", context,
                      illume_session_backward(session, ILLUME_RULE_GRADIENT, &s), ILLUME_ERROR_INVALID_INPUT,
                      "without a backward");
        tensor_release(&outputs[0]);
        tensor_release(&outputs[1]);
        illume_session_free(session);
    }
    /* backward_from an intermediate value: its data and the input's gradient against the head alone. */
    for (int layout = 1; layout >= 0; layout--) {
        illume_session_options options = backward_options(1, layout);
        options.backward_from = b_name;
        illume_session *session = NULL;
        if (illume_session_create(context, full, &options, 1, &x, &session) != ILLUME_OK) {
            count_case();
            test_fail("backward_from b: %s", illume_last_error(context));
            continue;
        }
        illume_tensor outputs[2] = {tensor_zeros(2, out_dims), tensor_zeros(4, (int64_t[]){2, 4, 6, 5})};
        illume_tensor b_seed = tensor_random(4, (int64_t[]){2, 4, 6, 5}, -1.0f, 1.0f, seed);
        illume_tensor b_data = value_tensor(session, b_name), got = tensor_zeros(4, x_dims), want[1];
        expect_status("the seed of the output when backward_from is b", context,
                      illume_session_run(session, 1, &x, 2, outputs) == ILLUME_OK
                          ? illume_session_backward(session, ILLUME_RULE_GRADIENT, &s)
                          : ILLUME_ERROR_INTERNAL,
                      ILLUME_ERROR_INVALID_INPUT, "seed");
        illume_session_run(session, 1, &x, 2, outputs);
        illume_status status = illume_session_backward(session, ILLUME_RULE_GRADIENT, &b_seed);
        if (status == ILLUME_OK) status = illume_session_read(session, b_name, 0, &b_data);
        if (status == ILLUME_OK) status = illume_session_read(session, "x", 1, &got);
        expect_status("backward_from b", context, status, ILLUME_OK, NULL);
        illume_session_options head_options = backward_options(1, layout);
        if (status == ILLUME_OK &&
            session_gradients(context, head, &head_options, 1, &x, &b_seed, ILLUME_RULE_GRADIENT, want) == ILLUME_OK) {
            expect_close(layout ? "backward_from b: the input's gradient against the head's"
                                : "backward_from b: the input's gradient against the head's (channels first)",
                         &got, &want[0], 1e-5);
            expect_close("backward_from b: its data", &b_data, &head_outputs[0], 1e-6);
            tensor_release(&want[0]);
        }
        tensor_release(&outputs[0]);
        tensor_release(&outputs[1]);
        tensor_release(&b_seed);
        tensor_release(&b_data);
        tensor_release(&got);
        illume_session_free(session);
    }
done:
    tensor_release(&head_outputs[0]);
    tensor_release(&head_outputs[1]);
    illume_model_free(head);
    free(a_name);
    free(b_name);
    free(side_name);
    illume_model_free(full);
    illume_model_free(from_a);
    illume_model_free(from_b);
    tensor_release(&x);
    tensor_release(&s);
    tensor_release(&p.w1);
    tensor_release(&p.w2);
    tensor_release(&p.w3);
    illume_context_destroy(context);
}

/* A graph input's data stays readable after a run, in sessions with and
 * without a backward pass, though the chain after it could reuse its memory. */
static void inputs_readable(uint64_t *seed) {
    const int64_t dims[4] = {2, 3, 4, 5};
    illume_tensor x = tensor_random(4, dims, -2.0f, 2.0f, seed);
    builder *b = builder_create(13);
    int v = builder_input(b, "x", 4, dims);
    const char *ops[4] = {"Sigmoid", "Tanh", "Sigmoid", "Tanh"};
    for (int i = 0; i < 4; i++) builder_node(b, ops[i], 1, &v, 1, &v);
    builder_output(b, v);
    illume_context *context = illume_context_create();
    illume_model *model = NULL;
    if (builder_finish(b, context, &model) == ILLUME_OK)
        for (int backward = 0; backward <= 1; backward++) {
            illume_session_options options = backward_options(1, 1);
            options.backward = backward;
            illume_session *session = NULL;
            illume_tensor y = tensor_zeros(4, dims), read = tensor_zeros(4, dims);
            illume_status status = illume_session_create(context, model, &options, 1, &x, &session);
            if (status == ILLUME_OK) status = illume_session_run(session, 1, &x, 1, &y);
            if (status == ILLUME_OK && backward) status = illume_session_backward(session, ILLUME_RULE_GRADIENT, &y);
            if (status == ILLUME_OK) status = illume_session_read(session, "x", 0, &read);
            expect_status(backward ? "reading the input after a backward pass" : "reading the input after a run",
                          context, status, ILLUME_OK, NULL);
            if (status == ILLUME_OK)
                expect_close(backward ? "the input read after a backward pass" : "the input read after a run", &read,
                             &x, 0.0);
            tensor_release(&y);
            tensor_release(&read);
            illume_session_free(session);
        }
    illume_model_free(model);
    illume_context_destroy(context);
    tensor_release(&x);
}

/* Every op that runs has a backward (views share their input's gradient), so
 * no graph is refused for lack of one; gradients an op does not give (with
 * respect to weights or statistics) are refused by name when asked for. */
static void unsupported_gradients(uint64_t *seed) {
    for (int op = 0; op < op_count(); op++) {
        const op_definition *definition = op_get(op);
        count_case();
        if (definition->forward && !definition->backward && !definition->is_view)
            test_fail("op %s runs but has no backward pass", definition->name);
    }
    const int64_t x_dims[4] = {1, 2, 4, 4}, w_dims[4] = {3, 2, 3, 3}, c_dims[1] = {2}, y_dims[4] = {1, 3, 2, 2};
    illume_tensor inputs[5] = {tensor_random(4, x_dims, -1.0f, 1.0f, seed), tensor_random(1, c_dims, 0.5f, 1.0f, seed),
                               tensor_random(1, c_dims, 0.5f, 1.0f, seed), tensor_random(1, c_dims, 0.5f, 1.0f, seed),
                               tensor_random(1, c_dims, 0.5f, 1.0f, seed)};
    illume_tensor weights = tensor_random(4, w_dims, -1.0f, 1.0f, seed);
    illume_context *context = illume_context_create();
    for (int c = 0; c < 2; c++) {
        builder *b = builder_create(13);
        int x = builder_input(b, "x", 4, x_dims), y, count = 5;
        illume_tensor given[5];
        memcpy(given, inputs, sizeof given);
        if (c == 0) {
            builder_node(b, "Conv", 2, (int[]){x, builder_input(b, "w", 4, w_dims)}, 1, &y);
            given[1] = weights;
            count = 2;
        } else {
            builder_node(b, "BatchNormalization", 5,
                         (int[]){x, builder_input(b, "scale", 1, c_dims), builder_input(b, "bias", 1, c_dims),
                                 builder_input(b, "mean", 1, c_dims), builder_input(b, "variance", 1, c_dims)},
                         1, &y);
        }
        builder_output(b, y);
        illume_model *model = NULL;
        illume_status status = builder_finish(b, context, &model);
        illume_tensor gradients[5];
        illume_session_options options = backward_options(1, 1);
        options.fold_batchnorm = 0;
        illume_tensor y_seed = tensor_random(4, c == 0 ? y_dims : x_dims, -1.0f, 1.0f, seed);
        if (status == ILLUME_OK)
            status =
                session_gradients(context, model, &options, count, given, &y_seed, ILLUME_RULE_GRADIENT, gradients);
        const char *label = c == 0 ? "Conv asked for the gradient of its weights"
                                   : "BatchNormalization asked for the gradient of its statistics";
        expect_status(label, context, status, ILLUME_ERROR_UNSUPPORTED, c == 0 ? "weights" : "statistics");
        if (status == ILLUME_OK)
            for (int i = 0; i < count; i++) tensor_release(&gradients[i]);
        tensor_release(&y_seed);
        illume_model_free(model);
    }
    tensor_release(&weights);
    for (int i = 0; i < 5; i++) tensor_release(&inputs[i]);
    illume_context_destroy(context);
}

int main(void) {
    uint64_t seed = 271828;
    shared_values(&seed);
    views(&seed);
    for (int kind = 0; kind < RESIDUAL_KINDS; kind++) residual((residual_kind)kind, &seed);
    rules(&seed);
    partial_and_kept(&seed);
    inputs_readable(&seed);
    unsupported_gradients(&seed);
    return test_report("gradients/session");
}
