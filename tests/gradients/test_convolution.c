/* Backward passes of Conv and ConvTranspose against finite differences, over
 * the attribute combinations of the forward tests: groups and depthwise,
 * strides, dilations, asymmetric pads, every auto_pad, output_padding and
 * output_shape, 1-D to 3-D, with and without bias; a Relu fused into the
 * convolution (inputs chosen so that no output sits within reach of the
 * kink); chains of two convolutions. Each with the channels-last layout
 * pass on and off. */
#include <math.h>

#include "gradient_check.h"
#include "op_cases.h"

/* Redraws x until no output of the convolution lies within margin of zero,
 * so that a Relu after it has no kink within the finite differences' reach. */
static void keep_outputs_from_zero(const conv_case *c, illume_tensor *x, const illume_tensor *w,
                                   const illume_tensor *bias, int transpose, double margin, uint64_t *seed) {
    window_params params = conv_window(c);
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
    int64_t x_dims[ILLUME_MAX_RANK], w_dims[ILLUME_MAX_RANK], bias_dims[1] = {c->features};
    conv_shapes(c, transpose, x_dims, w_dims);
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
    for (int fuse = 1; fuse >= (c->relu ? 0 : 1); fuse--) {
        /* Every attribute written, defaults included; the forward tests read the defaults. */
        builder *b = conv_model(c, transpose, &w, &bias, ATTRIBUTES_ALL);
        char label[256];
        conv_label(c, transpose, fuse, label, sizeof label);
        how.fuse_activations = fuse;
        expect_gradients(label, b, 1, &x, &how);
    }
    tensor_release(&x);
    tensor_release(&w);
    tensor_release(&bias);
}

static void run_cases(const conv_case *cases, size_t count, int transpose, uint64_t *seed) {
    for (size_t i = 0; i < count; i++) run_case(&cases[i], transpose, seed);
}

/* Beyond the shared cases: those the forward tests leave out, among them
 * smaller inputs than theirs where the differences would take long, and
 * Relus small enough that inputs keeping every output away from the kink
 * are found. */
static const conv_case conv_cases[] = {
    {.name = "2-D stride 2 pads 1 bias batch 2", .spatial = 2, .batch = 2, .channels = 3, .features = 5,
     .group = 1, .size = {9, 11}, .kernel = {3, 3}, .strides = {2, 2}, .pads = {1, 1, 1, 1}, .bias = 1},
    {.name = "2-D strides wider than the kernel", .spatial = 2, .batch = 1, .channels = 2, .features = 2,
     .group = 1, .size = {9, 10}, .kernel = {2, 2}, .strides = {3, 4}},
    {.name = "16 to 32 channels (blocked layouts)", .spatial = 2, .batch = 2, .channels = 16, .features = 32,
     .group = 1, .size = {10, 10}, .kernel = {3, 3}, .pads = {1, 1, 1, 1}, .bias = 1},
    {.name = "Relu groups 2", .spatial = 2, .batch = 1, .channels = 4, .features = 6, .group = 2,
     .size = {4, 5}, .kernel = {3, 3}, .strides = {2, 1}, .pads = {1, 1, 0, 1}, .bias = 1, .relu = 1},
};

static const conv_case relu_transpose = {.name = "Relu fused", .spatial = 2, .batch = 1, .channels = 2,
                                         .features = 4, .group = 2, .size = {3, 3}, .kernel = {3, 3},
                                         .strides = {2, 2}, .pads = {1, 1, 1, 1}, .bias = 1, .relu = 1};

static void chains(uint64_t *seed) {
    const int64_t x_dims[4] = {2, 3, 7, 6};
    for (size_t i = 0; i < shared_conv_chain_case_count; i++) {
        illume_tensor x = tensor_random(4, x_dims, -1.0f, 1.0f, seed), produced, w;
        builder *b = conv_chain_model(&shared_conv_chain_cases[i], &x, 0.5f, seed, &produced, &w);
        gradient_check how = linear_check();
        expect_gradients(shared_conv_chain_cases[i].name, b, 1, &x, &how);
        tensor_release(&produced);
        tensor_release(&w);
        tensor_release(&x);
    }
}

int main(void) {
    gradient_skip_without_device();
    uint64_t seed = 1121;
    run_cases(shared_conv_cases, shared_conv_case_count, 0, &seed);
    run_cases(conv_cases, sizeof conv_cases / sizeof conv_cases[0], 0, &seed);
    run_cases(shared_conv_transpose_cases, shared_conv_transpose_case_count, 1, &seed);
    run_case(&relu_transpose, 1, &seed);
    chains(&seed);
    return test_report("gradients/convolution");
}
