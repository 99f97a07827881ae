/* The element-wise activations against their ONNX definitions, on odd
 * shapes, a scalar, an empty tensor and one large enough for the parallel
 * path, with values that stress the formulas (signed zeros, tiny and huge
 * magnitudes); Clip with attribute bounds (opset 6) and input bounds
 * (opset 13, each optional), crossed bounds giving the upper one everywhere;
 * each also on a Conv's output, which the layout pass keeps channels last. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "reference.h"
#include "test_support.h"

static const float special[] = {0.0f, -0.0f, 1e-8f, -1e-8f, 3.0f, -3.0f, 2.9f, -2.9f, 50.0f, -50.0f, 100.0f, -100.0f,
                                 88.5f, -88.5f, 1e30f, -1e30f};

static illume_tensor test_input(int rank, const int64_t *dims, uint64_t *seed) {
    illume_tensor x = tensor_random(rank, dims, -6.0f, 6.0f, seed);
    int64_t count = tensor_count(&x);
    for (int64_t i = 0; i < count && i < (int64_t)(sizeof special / sizeof special[0]); i++)
        ((float *)x.data)[i] = special[i];
    return x;
}

typedef struct activation {
    const char *op;
    int set_alpha, set_beta;
    float alpha, beta; /* the values the reference uses: the attributes or the spec's defaults */
} activation;

static const activation activations[] = {
    {"Relu", 0, 0, 0, 0},
    {"LeakyRelu", 0, 0, 0.01f, 0},
    {"LeakyRelu", 1, 0, 0.37f, 0},
    {"Sigmoid", 0, 0, 0, 0},
    {"Tanh", 0, 0, 0, 0},
    {"HardSigmoid", 0, 0, 0.2f, 0.5f},
    {"HardSigmoid", 1, 1, 0.3f, 0.4f},
    {"HardSwish", 0, 0, 0, 0},
    {"Elu", 0, 0, 1.0f, 0},
    {"Elu", 1, 0, 0.6f, 0},
    {"Erf", 0, 0, 0, 0},
    {"Abs", 0, 0, 0, 0},
    {"Exp", 0, 0, 0, 0},
    {"Log", 0, 0, 0, 0},
    {"Neg", 0, 0, 0, 0},
    {"Reciprocal", 0, 0, 0, 0},
    {"Sign", 0, 0, 0, 0},
    {"Sqrt", 0, 0, 0, 0},
};

static void run_activation(const activation *a, int rank, const int64_t *dims, uint64_t *seed) {
    illume_tensor x = test_input(rank, dims, seed);
    illume_tensor want = reference_unary(&x, a->op, a->alpha, a->beta);
    builder *b = builder_create(14);
    int y, input = builder_input(b, "x", rank, dims);
    int node = builder_node(b, a->op, 1, &input, 1, &y);
    if (a->set_alpha) builder_attribute_float(b, node, "alpha", a->alpha);
    if (a->set_beta) builder_attribute_float(b, node, "beta", a->beta);
    builder_output(b, y);
    char label[128];
    snprintf(label, sizeof label, "%s alpha=%g beta=%g rank %d, %lld values", a->op, a->alpha, a->beta, rank,
             (long long)tensor_count(&x));
    expect_run(label, b, 1, &x, 1, &want, 1e-6);
    tensor_release(&x);
}

/* Clip with bounds from attributes (opset 6) or constant inputs (opset 13); NAN means absent. */
static void run_clip(int opset, float low, float high, const int64_t *dims, uint64_t *seed) {
    illume_tensor x = test_input(3, dims, seed);
    illume_tensor want = reference_unary(&x, "Clip", isnan(low) ? -INFINITY : low, isnan(high) ? INFINITY : high);
    builder *b = builder_create(opset);
    int inputs[3] = {builder_input(b, "x", 3, dims), -1, -1};
    int count = 1;
    if (opset >= 11) {
        if (!isnan(low)) inputs[1] = builder_scalar(b, "min", low);
        if (!isnan(high)) inputs[2] = builder_scalar(b, "max", high);
        count = !isnan(high) ? 3 : !isnan(low) ? 2 : 1;
    }
    int y, node = builder_node(b, "Clip", count, inputs, 1, &y);
    if (opset < 11) {
        if (!isnan(low)) builder_attribute_float(b, node, "min", low);
        if (!isnan(high)) builder_attribute_float(b, node, "max", high);
    }
    builder_output(b, y);
    char label[128];
    snprintf(label, sizeof label, "Clip opset %d min=%g max=%g", opset, low, high);
    expect_run(label, b, 1, &x, 1, &want, 0.0);
    tensor_release(&x);
}

static void refuse_runtime_clip_bound(void) {
    int64_t dims[2] = {2, 3};
    builder *b = builder_create(13);
    int inputs[2] = {builder_input(b, "x", 2, dims), builder_input(b, "low", 0, NULL)};
    int y;
    builder_node(b, "Clip", 2, inputs, 1, &y);
    builder_output(b, y);
    illume_tensor shapes[2] = {{ILLUME_FLOAT32, 2, {2, 3}, NULL}, {ILLUME_FLOAT32, 0, {0}, NULL}};
    expect_refusal("Clip with a bound that depends on the input", b, 2, shapes, ILLUME_ERROR_UNSUPPORTED,
                   "must be known");
}

/* Each activation on a convolution's output, which the layout pass keeps
 * channels last; Clip twice, the second time with crossed bounds, which
 * oneDNN's clip fused into the convolution would refuse. */
static void after_conv(uint64_t *seed) {
    const int64_t x_dims[4] = {2, 3, 7, 5};
    const size_t count = sizeof activations / sizeof activations[0];
    const float clip_bounds[2][2] = {{-0.25f, 0.5f}, {0.5f, -0.25f}};
    for (size_t i = 0; i < count + 2; i++) {
        int clip = i >= count;
        const activation *a = clip ? NULL : &activations[i];
        /* Their slope near zero magnifies the convolution's rounding past any tolerance; the layout pass treats
         * them as every unary op, which the others cover. */
        if (a && (!strcmp(a->op, "Log") || !strcmp(a->op, "Reciprocal") || !strcmp(a->op, "Sqrt"))) continue;
        float low = clip ? clip_bounds[i - count][0] : 0.0f, high = clip ? clip_bounds[i - count][1] : 0.0f;
        illume_tensor x = tensor_random(4, x_dims, -2.0f, 2.0f, seed);
        builder *b = builder_create(14);
        illume_tensor produced;
        int inputs[3] = {add_conv(b, builder_input(b, "x", 4, x_dims), &x, 6, seed, &produced), -1, -1};
        if (clip) {
            inputs[1] = builder_scalar(b, "min", low);
            inputs[2] = builder_scalar(b, "max", high);
        }
        int y, node = builder_node(b, clip ? "Clip" : a->op, clip ? 3 : 1, inputs, 1, &y);
        if (!clip && a->set_alpha) builder_attribute_float(b, node, "alpha", a->alpha);
        if (!clip && a->set_beta) builder_attribute_float(b, node, "beta", a->beta);
        builder_output(b, y);
        illume_tensor want = clip ? reference_unary(&produced, "Clip", low, high)
                                  : reference_unary(&produced, a->op, a->alpha, a->beta);
        char label[96];
        snprintf(label, sizeof label, "%s after Conv", clip ? (low < high ? "Clip" : "Clip, crossed bounds") : a->op);
        expect_run_layouts(label, b, 1, &x, 1, &want, 1e-5);
        tensor_release(&produced);
        tensor_release(&x);
    }
}

int main(void) {
    uint64_t seed = 3;
    const int64_t odd[3] = {3, 7, 11}, large[4] = {2, 3, 77, 73}, empty[2] = {0, 5};
    for (size_t i = 0; i < sizeof activations / sizeof activations[0]; i++) {
        run_activation(&activations[i], 3, odd, &seed);
        run_activation(&activations[i], 4, large, &seed);
        run_activation(&activations[i], 0, NULL, &seed);
        run_activation(&activations[i], 2, empty, &seed);
    }
    const float none = NAN;
    run_clip(6, -0.5f, 0.75f, odd, &seed);
    run_clip(6, none, 2.0f, odd, &seed);
    run_clip(6, -1.0f, none, odd, &seed);
    run_clip(13, -0.5f, 0.75f, odd, &seed);
    run_clip(13, none, 2.0f, odd, &seed);
    run_clip(13, -1.0f, none, odd, &seed);
    run_clip(13, none, none, odd, &seed);
    run_clip(13, 1.5f, 1.5f, odd, &seed);
    run_clip(6, 2.0f, -1.0f, odd, &seed);
    run_clip(13, 2.0f, -1.0f, odd, &seed);
    refuse_runtime_clip_bound();
    after_conv(&seed);
    return test_report("ops/activations");
}
