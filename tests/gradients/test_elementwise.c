/* Backward passes of the element-wise and per-axis ops against finite
 * differences: every activation (with its attributes; on a graph input, and
 * on a convolution's output where the fusion and layout passes apply, with
 * fusion on and off), each also against the derivative of the double
 * reference and unchanged by the guided and deconvnet rules; Add, Sub, Mul,
 * Div and PRelu with broadcasting, gradients to both operands; Softmax and
 * LogSoftmax on every axis under both opset semantics; LRN with odd and
 * even windows, alone and after a Conv (channels last between them where
 * the layout pass applies); BatchNormalization
 * unfolded (alone, and after a Conv with fold_batchnorm off and on);
 * ReduceMean and ReduceSum over axis sets, keepdims and noop_with_empty_axes. Inputs keep
 * away from kinks by more than the step. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "gradient_check.h"
#include "op_cases.h"

typedef struct activation_case {
    const char *op;
    int opset;
    int set_alpha, set_beta;
    float alpha, beta;  /* the attributes; for Clip the bounds */
    int clip_form;      /* 0 none; 1 min and max attributes; 2 min and max inputs; 3 min input only */
    double low, high;   /* input range */
    int kink_count;
    double kinks[2];
    int smooth;
} activation_case;

static const activation_case activations[] = {
    {"Relu", 14, 0, 0, 0, 0, 0, -2, 2, 1, {0}, 0},
    {"LeakyRelu", 16, 0, 0, 0.01f, 0, 0, -2, 2, 1, {0}, 0},
    {"LeakyRelu", 16, 1, 0, 0.3f, 0, 0, -2, 2, 1, {0}, 0},
    {"LeakyRelu", 16, 1, 0, -0.5f, 0, 0, -2, 2, 1, {0}, 0},
    {"Sigmoid", 13, 0, 0, 0, 0, 0, -4, 4, 0, {0}, 1},
    {"Tanh", 13, 0, 0, 0, 0, 0, -3, 3, 0, {0}, 1},
    {"HardSigmoid", 6, 0, 0, 0.2f, 0.5f, 0, -4, 4, 2, {-2.5, 2.5}, 0},
    {"HardSigmoid", 6, 1, 1, 0.5f, 0.6f, 0, -3, 3, 2, {-1.2, 0.8}, 0},
    {"HardSwish", 14, 0, 0, 0, 0, 0, -5, 5, 2, {-3, 3}, 1},
    {"Elu", 6, 0, 0, 1.0f, 0, 0, -3, 2, 1, {0}, 1},
    {"Elu", 6, 1, 0, 0.5f, 0, 0, -3, 2, 1, {0}, 1},
    {"Erf", 13, 0, 0, 0, 0, 0, -3, 3, 0, {0}, 1},
    {"Abs", 13, 0, 0, 0, 0, 0, -2, 2, 1, {0}, 0},
    {"Exp", 13, 0, 0, 0, 0, 0, -2, 2, 0, {0}, 1},
    {"Log", 13, 0, 0, 0, 0, 0, 0.2, 3, 0, {0}, 1},
    {"Neg", 13, 0, 0, 0, 0, 0, -2, 2, 0, {0}, 1},
    {"Reciprocal", 13, 0, 0, 0, 0, 0, 0.3, 3, 0, {0}, 1},
    {"Sign", 13, 0, 0, 0, 0, 0, -2, 2, 1, {0}, 0},
    {"Sqrt", 13, 0, 0, 0, 0, 0, 0.2, 3, 0, {0}, 1},
    {"Clip", 6, 0, 0, -0.5f, 0.7f, 1, -2, 2, 2, {-0.5, 0.7}, 0},
    {"Clip", 13, 0, 0, -1.0f, 0.5f, 2, -2, 2, 2, {-1.0, 0.5}, 0},
    {"Clip", 13, 0, 0, 0.2f, INFINITY, 3, -2, 2, 1, {0.2}, 0},
    {"Clip", 13, 0, 0, -INFINITY, INFINITY, 0, -2, 2, 0, {0}, 0},
};

/* The activation's attributes as the reference takes them. */
static void reference_parameters(const activation_case *c, double *alpha, double *beta) {
    *alpha = c->alpha;
    *beta = c->beta;
    if (strcmp(c->op, "LeakyRelu") == 0 && !c->set_alpha) *alpha = 0.01;
    if (strcmp(c->op, "HardSigmoid") == 0) {
        *alpha = c->set_alpha ? c->alpha : 0.2;
        *beta = c->set_beta ? c->beta : 0.5;
    }
    if (strcmp(c->op, "Elu") == 0 && !c->set_alpha) *alpha = 1.0;
}

static int add_activation(builder *b, int x, const activation_case *c) {
    int inputs[3] = {x, -1, -1}, count = 1;
    if (c->clip_form == 2 || c->clip_form == 3) {
        inputs[1] = builder_scalar(b, "min", c->alpha);
        count = 2;
    }
    if (c->clip_form == 2) {
        inputs[2] = builder_scalar(b, "max", c->beta);
        count = 3;
    }
    int y, node = builder_node(b, c->op, count, inputs, 1, &y);
    if (c->set_alpha) builder_attribute_float(b, node, "alpha", c->alpha);
    if (c->set_beta) builder_attribute_float(b, node, "beta", c->beta);
    if (c->clip_form == 1) {
        builder_attribute_float(b, node, "min", c->alpha);
        builder_attribute_float(b, node, "max", c->beta);
    }
    return y;
}

static gradient_check check_for(const activation_case *c) {
    return c->smooth ? smooth_check(1.0 / 32) : piecewise_check(1.0 / 32);
}

/* The gradient against s f'(x), f' from central differences of the double reference. */
static void against_reference(const char *label, const activation_case *c, const illume_tensor *x, uint64_t *seed) {
    builder *b = builder_create(c->opset);
    builder_output(b, add_activation(b, builder_input(b, "x", x->rank, x->dims), c));
    illume_context *context = illume_context_create();
    illume_model *model = NULL;
    illume_status status = builder_finish(b, context, &model);
    illume_tensor s = tensor_random(x->rank, x->dims, -1.0f, 1.0f, seed), got[1], want = tensor_copy(x);
    illume_session_options options = backward_options(1, 1);
    if (status == ILLUME_OK) status = session_gradients(context, model, &options, 1, x, &s, ILLUME_RULE_GRADIENT, got);
    if (status != ILLUME_OK) {
        count_case();
        test_fail("%s: %s", label, illume_last_error(context));
    } else {
        double alpha, beta, h = 1e-6;
        reference_parameters(c, &alpha, &beta);
        const float *xs = x->data, *ss = s.data;
        float *w = want.data;
        for (int64_t i = 0; i < tensor_count(x); i++) {
            double slope = (reference_activation(c->op, xs[i] + h, alpha, beta) -
                            reference_activation(c->op, xs[i] - h, alpha, beta)) / (2.0 * h);
            w[i] = (float)(ss[i] * slope);
        }
        char name[320];
        snprintf(name, sizeof name, "%s against the double reference", label);
        expect_close(name, &got[0], &want, 1e-5);
        /* Only Relu has a guided and a deconvnet rule. */
        for (int rule = ILLUME_RULE_GUIDED; strcmp(c->op, "Relu") != 0 && rule <= ILLUME_RULE_DECONV; rule++) {
            illume_tensor ruled[1];
            snprintf(name, sizeof name, "%s under the %s rule", label,
                     rule == ILLUME_RULE_GUIDED ? "guided" : "deconvnet");
            count_case();
            if (session_gradients(context, model, &options, 1, x, &s, (illume_rule)rule, ruled) != ILLUME_OK) {
                test_fail("%s: %s", name, illume_last_error(context));
                continue;
            }
            if (memcmp(ruled[0].data, got[0].data, sizeof(float) * (size_t)tensor_count(x)))
                test_fail("%s: differs from the gradient", name);
            tensor_release(&ruled[0]);
        }
        tensor_release(&got[0]);
    }
    tensor_release(&s);
    tensor_release(&want);
    illume_model_free(model);
    illume_context_destroy(context);
}

static void activation_tests(uint64_t *seed) {
    const int64_t dims[4] = {2, 3, 4, 5};
    for (size_t i = 0; i < sizeof activations / sizeof activations[0]; i++) {
        const activation_case *c = &activations[i];
        char label[160];
        snprintf(label, sizeof label, "%s opset %d alpha %g beta %g%s", c->op, c->opset, c->alpha, c->beta,
                 c->clip_form == 2 ? " (bounds as inputs)" : c->clip_form == 3 ? " (min input only)" : "");
        illume_tensor x = tensor_away_from(4, dims, (float)c->low, (float)c->high, c->kink_count, c->kinks, 0.1, seed);
        gradient_check how = check_for(c);
        builder *b = builder_create(c->opset);
        builder_output(b, add_activation(b, builder_input(b, "x", 4, dims), c));
        expect_gradients(label, b, 1, &x, &how);
        against_reference(label, c, &x, seed);
        /* On a convolution's output: fused into it where the fusion pass may, or apart. */
        for (int fuse = 1; fuse >= 0; fuse--) {
            char after[200];
            snprintf(after, sizeof after, "%s after Conv (fusion %s)", label, fuse ? "on" : "off");
            b = builder_create(c->opset);
            builder_output(b, add_activation(b, add_channel_permutation(b, builder_input(b, "x", 4, dims), 3), c));
            how.fuse_activations = fuse;
            expect_gradients(after, b, 1, &x, &how);
        }
        tensor_release(&x);
    }
}

static const char *const arithmetic_ops[] = {"Add", "Sub", "Mul", "Div"};

/* operands: 0 both graph inputs, 1 b constant, 2 a constant. */
static void run_binary(const char *op, int a_rank, const int64_t *a_dims, int b_rank, const int64_t *b_dims,
                       int operands, uint64_t *seed) {
    illume_tensor a = tensor_random(a_rank, a_dims, -2.0f, 2.0f, seed);
    illume_tensor divisor = tensor_random(b_rank, b_dims, 0.5f, 2.0f, seed);
    for (int64_t i = 0; i < tensor_count(&divisor); i += 2) ((float *)divisor.data)[i] *= -1.0f;
    builder *b = builder_create(14);
    illume_tensor inputs[2];
    int count = 0, node_inputs[2];
    if (operands == 2) {
        node_inputs[0] = builder_floats(b, "a", a_rank, a_dims, a.data);
    } else {
        node_inputs[0] = builder_input(b, "a", a_rank, a_dims);
        inputs[count++] = a;
    }
    if (operands == 1) {
        node_inputs[1] = builder_floats(b, "b", b_rank, b_dims, divisor.data);
    } else {
        node_inputs[1] = builder_input(b, "b", b_rank, b_dims);
        inputs[count++] = divisor;
    }
    int y;
    builder_node(b, op, 2, node_inputs, 1, &y);
    builder_output(b, y);
    char label[256], a_text[64] = "[", b_text[64] = "[";
    for (int d = 0; d < a_rank; d++)
        snprintf(a_text + strlen(a_text), sizeof a_text - strlen(a_text), "%s%lld", d ? "," : "", (long long)a_dims[d]);
    for (int d = 0; d < b_rank; d++)
        snprintf(b_text + strlen(b_text), sizeof b_text - strlen(b_text), "%s%lld", d ? "," : "", (long long)b_dims[d]);
    static const char *const how_given[] = {"both inputs", "b constant", "a constant"};
    snprintf(label, sizeof label, "%s %s] %s] (%s)", op, a_text, b_text, how_given[operands]);
    gradient_check how = strcmp(op, "Div") == 0 ? smooth_check(1.0 / 64) : linear_check();
    how.layouts = CHANNELS_LAST;
    expect_gradients(label, b, count, inputs, &how);
    tensor_release(&a);
    tensor_release(&divisor);
}

/* Pow with a positive base (its exponent's partial is a^b ln a), Max and Min away from ties (their derivative
 * jumps there): each operand a graph input, and the exponent or the other operand broadcast. */
static void power_and_extremes(uint64_t *seed) {
    const int64_t dims[3] = {3, 4, 5}, row[1] = {5};
    static const char *const ops[] = {"Pow", "Max", "Min"};
    for (int o = 0; o < 3; o++)
        for (int broadcast = 0; broadcast <= 1; broadcast++) {
            const int64_t *b_dims = broadcast ? row : dims;
            int b_rank = broadcast ? 1 : 3;
            illume_tensor inputs[2] = {tensor_random(3, dims, -2.0f, 2.0f, seed),
                                       tensor_random(b_rank, b_dims, -2.0f, 2.0f, seed)};
            float *a = inputs[0].data, *other = inputs[1].data;
            int64_t count = tensor_count(&inputs[0]), b_count = tensor_count(&inputs[1]);
            if (o == 0) {
                for (int64_t i = 0; i < count; i++) a[i] = fabsf(a[i]) + 0.5f;
            } else {
                /* Every pair at least 0.25 apart: a finite difference never crosses a tie. */
                for (int64_t i = 0; i < count; i++) {
                    float gap = a[i] - other[i % b_count];
                    if (fabsf(gap) < 0.25f) a[i] += gap < 0.0f ? -0.25f : 0.25f;
                }
            }
            builder *b = builder_create(14);
            int node_inputs[2] = {builder_input(b, "a", 3, dims), builder_input(b, "b", b_rank, b_dims)}, y;
            builder_node(b, ops[o], 2, node_inputs, 1, &y);
            builder_output(b, y);
            char label[96];
            snprintf(label, sizeof label, "%s, the second operand %s", ops[o], broadcast ? "broadcast" : "full");
            gradient_check how = smooth_check(1.0 / 64);
            expect_gradients(label, b, 2, inputs, &how);
            tensor_release(&inputs[0]);
            tensor_release(&inputs[1]);
        }
}

static void arithmetic_tests(uint64_t *seed) {
    const struct {
        int a_rank;
        int64_t a_dims[5];
        int b_rank;
        int64_t b_dims[5];
    } pairs[] = {
        {3, {3, 4, 5}, 3, {3, 4, 5}},       {0, {0}, 2, {3, 4}},          {4, {2, 3, 4, 5}, 1, {5}},
        {4, {2, 3, 4, 5}, 3, {3, 1, 1}},    {4, {2, 1, 4, 1}, 3, {3, 1, 5}}, {1, {1}, 2, {2, 3}},
        {2, {4, 1}, 2, {1, 5}},             {4, {2, 3, 1, 5}, 4, {1, 3, 4, 1}},
        {5, {2, 1, 3, 1, 2}, 5, {1, 4, 1, 3, 1}}, {2, {3, 4}, 0, {0}},
    };
    for (size_t p = 0; p < sizeof pairs / sizeof pairs[0]; p++)
        for (int o = 0; o < 4; o++)
            for (int operands = 0; operands < 3; operands++) {
                if (operands && (p + (size_t)o) % 3) continue; /* constants on a third of the pairs */
                run_binary(arithmetic_ops[o], pairs[p].a_rank, pairs[p].a_dims, pairs[p].b_rank, pairs[p].b_dims,
                           operands, seed);
            }
    /* PRelu: the slope broadcast to x, as a graph input or a constant. */
    const int64_t x_dims[4] = {2, 3, 4, 5};
    const struct {
        int rank;
        int64_t dims[4];
    } slopes[] = {{0, {0}}, {1, {1}}, {1, {5}}, {2, {4, 5}}, {3, {3, 1, 1}}, {4, {1, 3, 1, 1}}, {4, {2, 3, 4, 5}}};
    const double zero = 0.0;
    for (size_t s = 0; s < sizeof slopes / sizeof slopes[0]; s++)
        for (int slope_input = 0; slope_input <= 1; slope_input++) {
            illume_tensor inputs[2] = {tensor_away_from(4, x_dims, -2.0f, 2.0f, 1, &zero, 0.1, seed),
                                       tensor_random(slopes[s].rank, slopes[s].dims, -0.5f, 0.5f, seed)};
            builder *b = builder_create(16);
            int node_inputs[2] = {builder_input(b, "x", 4, x_dims),
                                  slope_input ? builder_input(b, "slope", slopes[s].rank, slopes[s].dims)
                                              : builder_floats(b, "slope", slopes[s].rank, slopes[s].dims,
                                                               inputs[1].data)};
            int y;
            builder_node(b, "PRelu", 2, node_inputs, 1, &y);
            builder_output(b, y);
            char label[128];
            snprintf(label, sizeof label, "PRelu slope rank %d (%lld elements)%s", slopes[s].rank,
                     (long long)tensor_count(&inputs[1]), slope_input ? " as an input" : "");
            gradient_check how = piecewise_check(1.0 / 32);
            how.layouts = CHANNELS_LAST;
            expect_gradients(label, b, slope_input ? 2 : 1, inputs, &how);
            tensor_release(&inputs[0]);
            tensor_release(&inputs[1]);
        }
    /* On a convolution's output (channels last): constants of broadcast shapes on either side, a graph input. */
    const struct {
        int rank;
        int64_t dims[4];
    } constants[] = {{0, {0}}, {1, {5}}, {3, {3, 1, 1}}, {4, {1, 3, 4, 1}}, {4, {2, 3, 4, 5}}};
    for (size_t i = 0; i < sizeof constants / sizeof constants[0]; i++)
        for (int o = 0; o < 5; o++) {
            const char *op = o < 4 ? arithmetic_ops[o] : "PRelu";
            illume_tensor x = tensor_away_from(4, x_dims, -2.0f, 2.0f, 1, &zero, 0.1, seed);
            illume_tensor constant = tensor_random(constants[i].rank, constants[i].dims, 0.5f, 2.0f, seed);
            builder *b = builder_create(14);
            int conv = add_channel_permutation(b, builder_input(b, "x", 4, x_dims), 3);
            int c = builder_floats(b, "c", constants[i].rank, constants[i].dims, constant.data);
            int first = o == 1 && i % 2; /* the constant first, for Sub */
            int inputs[2] = {first ? c : conv, first ? conv : c}, y;
            builder_node(b, op, 2, inputs, 1, &y);
            builder_output(b, y);
            char label[128];
            snprintf(label, sizeof label, "%s of a Conv output and a rank-%d constant%s", op, constants[i].rank,
                     first ? " (constant first)" : "");
            gradient_check how = o == 4 ? piecewise_check(1.0 / 32) : linear_check();
            expect_gradients(label, b, 1, &x, &how);
            tensor_release(&constant);
            tensor_release(&x);
        }
    for (int o = 0; o < 4; o++) {
        const int64_t small_dims[4] = {2, 3, 1, 1};
        illume_tensor inputs[2] = {tensor_random(4, x_dims, -1.0f, 1.0f, seed),
                                   tensor_random(4, small_dims, 0.5f, 2.0f, seed)};
        builder *b = builder_create(14);
        int conv = add_channel_permutation(b, builder_input(b, "x", 4, x_dims), 3);
        int node_inputs[2] = {conv, builder_input(b, "z", 4, small_dims)}, y;
        builder_node(b, arithmetic_ops[o], 2, node_inputs, 1, &y);
        builder_output(b, y);
        char label[96];
        snprintf(label, sizeof label, "%s of a Conv output and a broadcast graph input", arithmetic_ops[o]);
        gradient_check how = o == 3 ? smooth_check(1.0 / 64) : linear_check();
        expect_gradients(label, b, 2, inputs, &how);
        tensor_release(&inputs[0]);
        tensor_release(&inputs[1]);
    }
}

static void softmax_case(const char *op, int opset, int rank, const int64_t *dims, int set_axis, int64_t axis,
                         uint64_t *seed) {
    illume_tensor x = tensor_random(rank, dims, -3.0f, 3.0f, seed);
    if (tensor_count(&x) > 2) ((float *)x.data)[1] = 12.0f;
    builder *b = builder_create(opset);
    int y, input = builder_input(b, "x", rank, dims);
    int node = builder_node(b, op, 1, &input, 1, &y);
    if (set_axis) builder_attribute_int(b, node, "axis", axis);
    builder_output(b, y);
    char label[128];
    snprintf(label, sizeof label, "%s opset %d rank %d axis %lld%s", op, opset, rank, (long long)axis,
             set_axis ? "" : " (default)");
    gradient_check how = smooth_check(1.0 / 32);
    how.layouts = CHANNELS_LAST;
    expect_gradients(label, b, 1, &x, &how);
    tensor_release(&x);
}

static void softmax_tests(uint64_t *seed) {
    const char *ops[2] = {"Softmax", "LogSoftmax"};
    const int64_t four[4] = {2, 3, 4, 5}, two[2] = {3, 11}, one[1] = {13}, unit[3] = {4, 1, 3};
    for (int o = 0; o < 2; o++)
        for (int legacy = 0; legacy <= 1; legacy++) {
            int opset = legacy ? 11 : 13;
            softmax_case(ops[o], opset, 4, four, 0, legacy ? 1 : -1, seed);
            for (int64_t axis = -4; axis < 4; axis++)
                if (!legacy || axis % 2) softmax_case(ops[o], opset, 4, four, 1, axis, seed);
            softmax_case(ops[o], opset, 2, two, 1, 0, seed);
            softmax_case(ops[o], opset, 1, one, 1, 0, seed);
            softmax_case(ops[o], opset, 3, unit, 1, 1, seed);
        }
}

/* The exact gradient, the cross-channel terms included: every shared case
 * alone, and two after a Conv of 6 channels. */
static void lrn_tests(uint64_t *seed) {
    for (size_t i = 0; i < shared_lrn_case_count; i++) {
        const lrn_case *c = &shared_lrn_cases[i];
        illume_tensor x = tensor_random(c->rank, c->dims, -2.0f, 2.0f, seed);
        builder *b = builder_create(13);
        builder_output(b, lrn_node(b, builder_input(b, "x", c->rank, c->dims), c));
        char label[128];
        snprintf(label, sizeof label, "LRN %s", c->name);
        gradient_check how = smooth_check(1.0 / 32);
        how.layouts = CHANNELS_LAST;
        expect_gradients(label, b, 1, &x, &how);
        tensor_release(&x);
    }
    const int64_t x_dims[4] = {2, 3, 4, 5};
    for (size_t i = 0; i < 2; i++) {
        illume_tensor x = tensor_random(4, x_dims, -1.0f, 1.0f, seed), produced;
        builder *b = builder_create(13);
        int conv = add_conv(b, builder_input(b, "x", 4, x_dims), &x, 6, seed, &produced);
        builder_output(b, lrn_node(b, conv, &shared_lrn_cases[i]));
        char label[128];
        snprintf(label, sizeof label, "Conv then LRN %s", shared_lrn_cases[i].name);
        gradient_check how = smooth_check(1.0 / 32);
        expect_gradients(label, b, 1, &x, &how);
        tensor_release(&produced);
        tensor_release(&x);
    }
}

static int add_batchnorm(builder *b, int x, int64_t channels, float epsilon, uint64_t *seed) {
    int64_t dims[1] = {channels};
    illume_tensor parts[4] = {tensor_random(1, dims, 0.5f, 1.5f, seed), tensor_random(1, dims, -1.0f, 1.0f, seed),
                              tensor_random(1, dims, -1.0f, 1.0f, seed), tensor_random(1, dims, 0.1f, 2.0f, seed)};
    int inputs[5] = {x, builder_floats(b, "scale", 1, dims, parts[0].data),
                     builder_floats(b, "bias", 1, dims, parts[1].data),
                     builder_floats(b, "mean", 1, dims, parts[2].data),
                     builder_floats(b, "variance", 1, dims, parts[3].data)};
    int y, node = builder_node(b, "BatchNormalization", 5, inputs, 1, &y);
    builder_attribute_float(b, node, "epsilon", epsilon);
    for (int i = 0; i < 4; i++) tensor_release(&parts[i]);
    return y;
}

static void batchnorm_tests(uint64_t *seed) {
    const int64_t shapes[][5] = {{2, 3, 5, 7}, {4, 5}, {3, 2, 11}, {1, 2, 3, 4, 5}, {2, 1, 1, 1}};
    const int ranks[] = {4, 2, 3, 5, 4};
    for (int i = 0; i < 5; i++) {
        illume_tensor x = tensor_random(ranks[i], shapes[i], -3.0f, 3.0f, seed);
        builder *b = builder_create(15);
        builder_output(b, add_batchnorm(b, builder_input(b, "x", ranks[i], shapes[i]), shapes[i][1],
                                        i == 0 ? 0.01f : 1e-5f, seed));
        char label[96];
        snprintf(label, sizeof label, "BatchNormalization rank %d", ranks[i]);
        gradient_check how = linear_check();
        how.layouts = CHANNELS_LAST;
        expect_gradients(label, b, 1, &x, &how);
        tensor_release(&x);
    }
    /* After a convolution: unfolded (channels last between them) and folded into its weights. */
    const int64_t x_dims[4] = {2, 3, 5, 4};
    for (int fold = 0; fold <= 1; fold++) {
        illume_tensor x = tensor_random(4, x_dims, -1.0f, 1.0f, seed), produced;
        builder *b = builder_create(15);
        int conv = add_conv(b, builder_input(b, "x", 4, x_dims), &x, 4, seed, &produced);
        builder_output(b, add_batchnorm(b, conv, 4, 1e-5f, seed));
        gradient_check how = linear_check();
        how.fold_batchnorm = fold;
        expect_gradients(fold ? "Conv then BatchNormalization, folded" : "Conv then BatchNormalization, unfolded", b,
                         1, &x, &how);
        tensor_release(&produced);
        tensor_release(&x);
    }
}

/* count < 0: no axes given. */
static void reduce_case(const char *op, int opset, int rank, const int64_t *dims, int count, const int64_t *axes,
                        int keepdims, int noop, uint64_t *seed) {
    int since = strcmp(op, "ReduceSum") == 0 ? 13 : 18; /* the axes input's first opset */
    illume_tensor x = tensor_random(rank, dims, -3.0f, 3.0f, seed);
    builder *b = builder_create(opset);
    int inputs[2] = {builder_input(b, "x", rank, dims), -1};
    if (opset >= since && count >= 0) inputs[1] = builder_int_list(b, "axes", count, axes);
    int y, node = builder_node(b, op, inputs[1] >= 0 ? 2 : 1, inputs, 1, &y);
    if (opset < since && count >= 0) builder_attribute_ints(b, node, "axes", count, axes);
    builder_attribute_int(b, node, "keepdims", keepdims);
    if (noop) builder_attribute_int(b, node, "noop_with_empty_axes", 1);
    builder_output(b, y);
    char label[160], axes_text[64] = "none";
    if (count >= 0) {
        size_t used = (size_t)snprintf(axes_text, sizeof axes_text, "[");
        for (int i = 0; i < count; i++)
            used += (size_t)snprintf(axes_text + used, sizeof axes_text - used, "%s%lld", i ? "," : "",
                                     (long long)axes[i]);
        snprintf(axes_text + used, sizeof axes_text - used, "]");
    }
    snprintf(label, sizeof label, "%s opset %d axes %s keepdims %d noop_with_empty_axes %d", op, opset, axes_text,
             keepdims, noop);
    gradient_check how = linear_check();
    how.layouts = CHANNELS_LAST;
    expect_gradients(label, b, 1, &x, &how);
    tensor_release(&x);
}

static void reduce_tests(uint64_t *seed) {
    const int64_t four[4] = {3, 5, 4, 2}, one[1] = {11};
    const struct {
        int count;
        int64_t axes[4];
    } axis_sets[] = {{1, {1}}, {2, {0, 2}}, {1, {-1}}, {2, {-3, 3}}, {3, {0, 1, 3}}, {4, {0, 1, 2, 3}}, {-1, {0}}};
    static const char *const ops[2] = {"ReduceMean", "ReduceSum"};
    for (int o = 0; o < 2; o++) {
        int since = o ? 13 : 18;
        for (int legacy = 0; legacy <= 1; legacy++)
            for (size_t s = 0; s < sizeof axis_sets / sizeof axis_sets[0]; s++)
                reduce_case(ops[o], legacy ? since - 1 : since, 4, four, axis_sets[s].count, axis_sets[s].axes,
                            (int)(s + (size_t)legacy) % 2, 0, seed);
        reduce_case(ops[o], 13, 1, one, 1, (int64_t[]){0}, 0, 0, seed);
        reduce_case(ops[o], since, 4, four, -1, NULL, 1, 1, seed);
        reduce_case(ops[o], since, 4, four, 0, NULL, 0, 0, seed);
    }
}

int main(void) {
    gradient_skip_without_device();
    uint64_t seed = 31;
    activation_tests(&seed);
    arithmetic_tests(&seed);
    power_and_extremes(&seed);
    softmax_tests(&seed);
    lrn_tests(&seed);
    batchnorm_tests(&seed);
    reduce_tests(&seed);
    return test_report("gradients/elementwise");
}
