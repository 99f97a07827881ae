/* Properties of the explanation methods on small CNNs built in C:
 * integrated gradients' completeness (|delta| shrinks as the steps grow, and
 * sum(attribution) = f(x) - f(baseline) at many steps, against forward runs
 * of our own); SmoothGrad's reproducibility (one seed, the same bytes from
 * two explainers and from one called twice; another seed, other bytes; the
 * same bytes whatever the batch size the memory budget allows); memory that
 * stays flat as the steps grow (the engine's peak and batch rows); occlusion
 * on a model linear in its input against the analytic drop; and Grad-CAM
 * where the last Conv feeds GlobalAveragePool then Gemm, against
 * ReLU(sum_c w_c A_c) from weights we know. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gradient_check.h"

static const int64_t image_dims[4] = {1, 3, 8, 8};

/* The weights of a two-convolution CNN with a GlobalAveragePool and Gemm head. */
typedef struct cnn {
    illume_tensor w1, b1, w2, b2, w3, b3;
    const char *activation; /* between and after the convolutions */
    int activation_after_second;
} cnn;

static cnn cnn_create(const char *activation, int activation_after_second, uint64_t *seed) {
    const int64_t w1[4] = {4, 3, 3, 3}, b1[1] = {4}, w2[4] = {5, 4, 3, 3}, b2[1] = {5}, w3[2] = {3, 5}, b3[1] = {3};
    cnn net = {tensor_random(4, w1, -0.5f, 0.5f, seed), tensor_random(1, b1, -0.2f, 0.2f, seed),
               tensor_random(4, w2, -0.5f, 0.5f, seed), tensor_random(1, b2, -0.2f, 0.2f, seed),
               tensor_random(2, w3, -2.0f, 2.0f, seed), tensor_random(1, b3, -0.5f, 0.5f, seed),
               activation, activation_after_second};
    return net;
}

static void cnn_release(cnn *net) {
    tensor_release(&net->w1);
    tensor_release(&net->b1);
    tensor_release(&net->w2);
    tensor_release(&net->b2);
    tensor_release(&net->w3);
    tensor_release(&net->b3);
}

/* x -> Conv -> activation -> Conv (-> activation) -> GlobalAveragePool -> Flatten -> Gemm, for any batch
 * size or (fixed_batch) one row only; *layer receives the name of the second Conv's output when asked for. */
static illume_model *cnn_model(illume_context *context, const cnn *net, int fixed_batch, char *layer,
                               size_t layer_size) {
    builder *b = builder_create(13);
    const int64_t pads[4] = {1, 1, 1, 1}, any_batch[4] = {-1, 3, 8, 8};
    int v = builder_input(b, "x", 4, fixed_batch ? image_dims : any_batch);
    int node = builder_node(b, "Conv", 3,
                            (int[]){v, builder_floats(b, "w1", 4, net->w1.dims, net->w1.data),
                                    builder_floats(b, "b1", 1, net->b1.dims, net->b1.data)},
                            1, &v);
    builder_attribute_ints(b, node, "pads", 4, pads);
    builder_node(b, net->activation, 1, &v, 1, &v);
    node = builder_node(b, "Conv", 3,
                        (int[]){v, builder_floats(b, "w2", 4, net->w2.dims, net->w2.data),
                                builder_floats(b, "b2", 1, net->b2.dims, net->b2.data)},
                        1, &v);
    builder_attribute_ints(b, node, "pads", 4, pads);
    if (layer) snprintf(layer, layer_size, "%s", b->graph->values[v].name);
    if (net->activation_after_second) builder_node(b, net->activation, 1, &v, 1, &v);
    builder_node(b, "GlobalAveragePool", 1, &v, 1, &v);
    builder_node(b, "Flatten", 1, &v, 1, &v);
    node = builder_node(b, "Gemm", 3,
                        (int[]){v, builder_floats(b, "w3", 2, net->w3.dims, net->w3.data),
                                builder_floats(b, "b3", 1, net->b3.dims, net->b3.data)},
                        1, &v);
    builder_attribute_int(b, node, "transB", 1);
    builder_output(b, v);
    illume_model *model = NULL;
    if (builder_finish(b, context, &model) != ILLUME_OK) test_fail("CNN: %s", illume_last_error(context));
    return model;
}

/* The model's output for one input, in double. */
static int forward(illume_context *context, const illume_model *model, const illume_tensor *x, double *scores,
                   int64_t count) {
    illume_session_options options = backward_options(1, 1);
    options.backward = 0;
    illume_tensor output[1];
    if (run_model(context, model, &options, 1, x, 1, output, NULL) != ILLUME_OK) {
        test_fail("forward: %s", illume_last_error(context));
        return 0;
    }
    for (int64_t k = 0; k < count; k++) scores[k] = ((float *)output[0].data)[k];
    tensor_release(&output[0]);
    return 1;
}

typedef struct explained {
    illume_status status;
    illume_explain_row row;
    illume_explain_report report;
} explained;

/* Explains x (one row) for target with the options; attributions allocated by the caller. */
static explained explain_once(illume_context *context, const illume_model *model, const illume_explain_options *options,
                              const illume_tensor *x, int64_t target, illume_tensor *attributions) {
    explained result = {0};
    illume_explainer *explainer = NULL;
    illume_tensor row = *x;
    row.dims[0] = 1;
    row.data = NULL;
    result.status = illume_explainer_create(context, model, options, &row, &explainer);
    if (result.status == ILLUME_OK)
        result.status = illume_explain(explainer, x, &target, attributions, &result.row, &result.report);
    illume_explainer_free(explainer);
    return result;
}

static double sum_of(const illume_tensor *t) {
    double sum = 0.0;
    for (int64_t i = 0; i < tensor_count(t); i++) sum += ((float *)t->data)[i];
    return sum;
}

/* Integrated gradients: |delta| shrinks with the steps, and sums to f(x) - f(0) at many. */
static void integrated_gradients(uint64_t *seed) {
    illume_context *context = illume_context_create();
    cnn net = cnn_create("Tanh", 1, seed);
    illume_model *model = cnn_model(context, &net, 0, NULL, 0);
    illume_tensor x = tensor_random(4, image_dims, -1.0f, 1.0f, seed), zero = tensor_zeros(4, image_dims);
    illume_tensor attributions = tensor_zeros(4, image_dims);
    double at_x[3], at_zero[3];
    const int64_t target = 1;
    if (!model || !forward(context, model, &x, at_x, 3) || !forward(context, model, &zero, at_zero, 3)) goto done;
    double difference = at_x[target] - at_zero[target];
    const struct {
        illume_quadrature quadrature;
        const char *name;
        int steps[3];
    } rules[] = {{ILLUME_RIEMANN_TRAPEZOID, "Riemann trapezoid", {4, 16, 64}},
                 {ILLUME_GAUSS_LEGENDRE, "Gauss-Legendre", {2, 4, 64}}};
    for (size_t r = 0; r < sizeof rules / sizeof rules[0]; r++) {
        double previous = INFINITY;
        for (int s = 0; s < 3; s++) {
            illume_explain_options options;
            illume_explain_options_default(&options);
            options.method = ILLUME_INTEGRATED_GRADIENTS;
            options.quadrature = rules[r].quadrature;
            options.steps = rules[r].steps[s];
            options.device = "cpu";
            explained result = explain_once(context, model, &options, &x, target, &attributions);
            char label[128];
            snprintf(label, sizeof label, "integrated gradients, %s, %d steps", rules[r].name, rules[r].steps[s]);
            count_case();
            if (result.status != ILLUME_OK) {
                test_fail("%s: %s", label, illume_last_error(context));
                continue;
            }
            /* The reported delta is sum(attribution) - (f(x) - f(0)), with f from our own runs. */
            double delta = sum_of(&attributions) - difference;
            if (!(fabs(result.row.delta - delta) <= 1e-5 * (1.0 + fabs(difference))))
                test_fail("%s: reported delta %.9g, computed %.9g", label, result.row.delta, delta);
            if (!(fabs(result.row.score - at_x[target]) <= 1e-5 * (1.0 + fabs(at_x[target]))))
                test_fail("%s: score %.9g, f(x) is %.9g", label, result.row.score, at_x[target]);
            if (!(fabs(delta) < 0.5 * previous))
                test_fail("%s: |delta| %.3g is not under half of %.3g at fewer steps", label, fabs(delta), previous);
            previous = fabs(delta);
            /* At many steps the quadrature holds: Gauss-Legendre to rounding, Captum's trapezoid (whose weights
             * sum to 1 - 1/steps) to its first-order error. */
            double allowed = rules[r].quadrature == ILLUME_GAUSS_LEGENDRE ? 1e-4 * fabs(difference) + 1e-5
                                                                          : 2.0 / rules[r].steps[s] * fabs(difference);
            if (s == 2 && !(fabs(delta) <= allowed))
                test_fail("%s: sum of attributions %.9g, f(x) - f(0) = %.9g", label, sum_of(&attributions),
                          difference);
        }
    }
done:
    tensor_release(&x);
    tensor_release(&zero);
    tensor_release(&attributions);
    illume_model_free(model);
    cnn_release(&net);
    illume_context_destroy(context);
}

static int same_bytes(const illume_tensor *a, const illume_tensor *b) {
    return memcmp(a->data, b->data, illume_tensor_bytes(a)) == 0;
}

/* The smallest budget an explainer accepts, found by doubling. */
static size_t smallest_budget(illume_context *context, const illume_model *model, const illume_explain_options *base,
                              const illume_tensor *row) {
    for (size_t budget = 4096; budget < ((size_t)1 << 32); budget *= 2) {
        illume_explain_options options = *base;
        options.max_memory = budget;
        illume_explainer *explainer = NULL;
        if (illume_explainer_create(context, model, &options, row, &explainer) == ILLUME_OK) {
            illume_explainer_free(explainer);
            return budget;
        }
    }
    return 0;
}

/* SmoothGrad repeats bit for bit under one seed, whatever the batch. */
static void smoothgrad(uint64_t *seed) {
    illume_context *context = illume_context_create();
    cnn net = cnn_create("Relu", 0, seed);
    illume_model *model = cnn_model(context, &net, 0, NULL, 0);
    const int64_t two_dims[4] = {2, 3, 8, 8};
    illume_tensor x = tensor_random(4, two_dims, -1.0f, 1.0f, seed), row = x;
    row.dims[0] = 1;
    row.data = NULL;
    illume_tensor first = tensor_zeros(4, two_dims), again = tensor_zeros(4, two_dims);
    illume_tensor other = tensor_zeros(4, two_dims);
    illume_explain_options options;
    illume_explain_options_default(&options);
    options.method = ILLUME_SMOOTHGRAD;
    options.samples = 12;
    options.seed = 7;
    options.device = "cpu";
    options.max_memory = (size_t)1 << 30;
    const int64_t targets[2] = {0, -1};
    illume_explainer *one = NULL, *two = NULL;
    illume_explain_report large = {0}, small = {0};
    if (!model || illume_explainer_create(context, model, &options, &row, &one) != ILLUME_OK ||
        illume_explainer_create(context, model, &options, &row, &two) != ILLUME_OK) {
        count_case();
        test_fail("SmoothGrad explainers: %s", illume_last_error(context));
        goto done;
    }
    count_case();
    if (illume_explain(one, &x, targets, &first, NULL, &large) != ILLUME_OK ||
        illume_explain(two, &x, targets, &again, NULL, NULL) != ILLUME_OK) {
        test_fail("SmoothGrad: %s", illume_last_error(context));
        goto done;
    }
    if (!same_bytes(&first, &again)) test_fail("SmoothGrad: two explainers with one seed differ");
    count_case();
    memset(again.data, 0, illume_tensor_bytes(&again));
    if (illume_explain(one, &x, targets, &again, NULL, NULL) != ILLUME_OK || !same_bytes(&first, &again))
        test_fail("SmoothGrad: one explainer called twice differs (%s)", illume_last_error(context));
    /* Another seed, other noise. */
    count_case();
    illume_explain_options reseeded = options;
    reseeded.seed = 8;
    illume_explainer *third = NULL;
    if (illume_explainer_create(context, model, &reseeded, &row, &third) != ILLUME_OK ||
        illume_explain(third, &x, targets, &other, NULL, NULL) != ILLUME_OK)
        test_fail("SmoothGrad seed 8: %s", illume_last_error(context));
    else if (same_bytes(&first, &other))
        test_fail("SmoothGrad: seeds 7 and 8 give the same attributions");
    illume_explainer_free(third);
    /* The smallest budget runs fewer rows per pass, and changes no byte. */
    count_case();
    illume_explain_options tight = options;
    tight.max_memory = smallest_budget(context, model, &options, &row);
    illume_explainer *narrow = NULL;
    memset(other.data, 0, illume_tensor_bytes(&other));
    if (!tight.max_memory || illume_explainer_create(context, model, &tight, &row, &narrow) != ILLUME_OK ||
        illume_explain(narrow, &x, targets, &other, NULL, &small) != ILLUME_OK) {
        test_fail("SmoothGrad under a small budget: %s", illume_last_error(context));
    } else {
        if (!(small.batch_rows < large.batch_rows))
            test_fail("SmoothGrad: %zu bytes allow %lld rows per pass, 1 GiB %lld", tight.max_memory,
                      (long long)small.batch_rows, (long long)large.batch_rows);
        if (!same_bytes(&first, &other))
            test_fail("SmoothGrad: %lld rows per pass and %lld rows per pass give different attributions",
                      (long long)small.batch_rows, (long long)large.batch_rows);
    }
    illume_explainer_free(narrow);
done:
    illume_explainer_free(one);
    illume_explainer_free(two);
    tensor_release(&x);
    tensor_release(&first);
    tensor_release(&again);
    tensor_release(&other);
    illume_model_free(model);
    cnn_release(&net);
    illume_context_destroy(context);
}

/* The batches of a pass run one deep in flight (explain/explainer.c): the
 * next batch's rows upload and the previous batch's gradients download
 * while a batch computes. On the CPU each of those copies runs at the last
 * moment the backend interface allows (runtime/cpu/transfers.c), so a pass
 * that touched a buffer too early would see another batch's rows here. Many
 * rows, each with its own target, explained in batches of one or two rows
 * and in one batch of them all: the same attributions, targets and scores,
 * for a method of every kind of pass. */
static void batches_in_flight(uint64_t *seed) {
    illume_context *context = illume_context_create();
    cnn net = cnn_create("Relu", 0, seed);
    illume_model *model = cnn_model(context, &net, 0, NULL, 0);
    enum { rows = 9 };
    const int64_t dims[4] = {rows, 3, 8, 8};
    const int64_t targets[rows] = {0, 1, 2, -1, 2, 1, 0, -1, 1};
    illume_tensor x = tensor_random(4, dims, -1.0f, 1.0f, seed), row = x;
    row.dims[0] = 1;
    row.data = NULL;
    const illume_method methods[] = {ILLUME_SALIENCY, ILLUME_GRADXINPUT, ILLUME_GRADCAM, ILLUME_GUIDED_GRADCAM,
                                     ILLUME_LRP, ILLUME_DEEPLIFT, ILLUME_INTEGRATED_GRADIENTS, ILLUME_OCCLUSION};
    for (size_t m = 0; model && m < sizeof methods / sizeof methods[0]; m++) {
        const char *name = illume_method_name(methods[m]);
        illume_explain_options options;
        illume_explain_options_default(&options);
        options.method = methods[m];
        options.device = "cpu";
        options.steps = 4;
        options.window[0] = options.window[1] = 3;
        options.stride[0] = options.stride[1] = 3;
        illume_tensor results[2];
        illume_explain_row reports[2][rows];
        illume_explain_report runs[2] = {{0}};
        int ok = 1;
        for (int narrow = 0; narrow < 2; narrow++) {
            illume_explain_options budgeted = options;
            budgeted.max_memory = narrow ? smallest_budget(context, model, &options, &row) : (size_t)1 << 30;
            illume_explainer *explainer = NULL;
            results[narrow] = (illume_tensor){0};
            count_case();
            if (!budgeted.max_memory ||
                illume_explainer_create(context, model, &budgeted, &row, &explainer) != ILLUME_OK) {
                test_fail("%s: explainer: %s", name, illume_last_error(context));
                ok = 0;
                continue;
            }
            illume_tensor shape;
            illume_explainer_shape(explainer, rows, &shape);
            results[narrow] = tensor_zeros(shape.rank, shape.dims);
            if (illume_explain(explainer, &x, targets, &results[narrow], reports[narrow], &runs[narrow]) !=
                ILLUME_OK) {
                test_fail("%s: %s", name, illume_last_error(context));
                ok = 0;
            }
            illume_explainer_free(explainer);
        }
        count_case();
        if (ok && !(runs[1].passes >= 3 && runs[1].batch_rows < rows))
            test_fail("%s: the small budget ran %lld passes of %lld rows: too few to overlap", name,
                      (long long)runs[1].passes, (long long)runs[1].batch_rows);
        for (int64_t r = 0; ok && r < rows; r++) {
            if (reports[0][r].target != reports[1][r].target ||
                fabs(reports[0][r].score - reports[1][r].score) > 1e-5 * (1.0 + fabs(reports[0][r].score)))
                test_fail("%s: row %lld: target %lld score %g in one batch, target %lld score %g in many", name,
                          (long long)r, (long long)reports[0][r].target, (double)reports[0][r].score,
                          (long long)reports[1][r].target, (double)reports[1][r].score);
            if (targets[r] >= 0 && reports[1][r].target != targets[r])
                test_fail("%s: row %lld explained target %lld, not %lld", name, (long long)r,
                          (long long)reports[1][r].target, (long long)targets[r]);
        }
        if (ok) expect_close(name, &results[1], &results[0], 1e-5);
        tensor_release(&results[0]);
        tensor_release(&results[1]);
    }
    tensor_release(&x);
    illume_model_free(model);
    cnn_release(&net);
    illume_context_destroy(context);
}

/* Memory stays flat: 400 steps of integrated gradients plan what 50 do, per row of a pass. */
static void flat_memory(uint64_t *seed) {
    illume_context *context = illume_context_create();
    cnn net = cnn_create("Relu", 0, seed);
    illume_model *model = cnn_model(context, &net, 0, NULL, 0);
    illume_tensor x = tensor_random(4, image_dims, -1.0f, 1.0f, seed), attributions = tensor_zeros(4, image_dims);
    explained runs[2];
    const int steps[2] = {50, 400};
    for (int i = 0; model && i < 2; i++) {
        illume_explain_options options;
        illume_explain_options_default(&options);
        options.method = ILLUME_INTEGRATED_GRADIENTS;
        options.steps = steps[i];
        options.device = "cpu";
        runs[i] = explain_once(context, model, &options, &x, -1, &attributions);
        count_case();
        if (runs[i].status != ILLUME_OK)
            test_fail("integrated gradients, %d steps: %s", steps[i], illume_last_error(context));
    }
    count_case();
    if (model && runs[0].status == ILLUME_OK && runs[1].status == ILLUME_OK) {
        /* Passes split the rows evenly, so their sizes differ a little: the
         * bytes per row of a pass stay the same, and no pass outgrows the
         * batch limit (32 rows). */
        double ratio = ((double)runs[1].report.peak_bytes / (double)runs[1].report.batch_rows) /
                       ((double)runs[0].report.peak_bytes / (double)runs[0].report.batch_rows);
        if (runs[0].report.batch_rows > 32 || runs[1].report.batch_rows > 32 || !(fabs(ratio - 1.0) <= 0.1))
            test_fail("integrated gradients: 50 steps plan %zu bytes for %lld rows a pass, 400 steps %zu bytes for "
                      "%lld rows",
                      runs[0].report.peak_bytes, (long long)runs[0].report.batch_rows, runs[1].report.peak_bytes,
                      (long long)runs[1].report.batch_rows);
        if (!(runs[1].report.passes > runs[0].report.passes))
            test_fail("integrated gradients: 400 steps ran %lld passes, 50 steps %lld",
                      (long long)runs[1].report.passes, (long long)runs[0].report.passes);
    }
    tensor_release(&x);
    tensor_release(&attributions);
    illume_model_free(model);
    cnn_release(&net);
    illume_context_destroy(context);
}

/* Occlusion on x -> Conv -> Flatten -> Gemm (its batch fixed at 1, as exporters often leave it), linear in
 * x: f_t(x) = <a_t, x> + c_t, so occluding a window W with `fill` drops f_t by the sum over W (all channels)
 * of a_t (x - fill), and each pixel's attribution is the mean drop over the windows that cover it. */
static void occlusion(uint64_t *seed) {
    const int64_t x_dims[4] = {1, 2, 8, 7}, w_dims[4] = {3, 2, 3, 3}, bias_dims[1] = {3};
    const int64_t features = 3 * 8 * 7, gemm_dims[2] = {4, features}, gemm_bias_dims[1] = {4};
    illume_tensor x = tensor_random(4, x_dims, -1.0f, 1.0f, seed), w = tensor_random(4, w_dims, -0.5f, 0.5f, seed);
    illume_tensor bias = tensor_random(1, bias_dims, -0.5f, 0.5f, seed);
    illume_tensor dense = tensor_random(2, gemm_dims, -0.5f, 0.5f, seed);
    illume_tensor dense_bias = tensor_random(1, gemm_bias_dims, -0.5f, 0.5f, seed);
    illume_context *context = illume_context_create();
    builder *b = builder_create(13);
    int v = builder_input(b, "x", 4, x_dims);
    int node = builder_node(b, "Conv", 3,
                            (int[]){v, builder_floats(b, "w", 4, w_dims, w.data),
                                    builder_floats(b, "b", 1, bias_dims, bias.data)},
                            1, &v);
    builder_attribute_ints(b, node, "pads", 4, (int64_t[]){1, 1, 1, 1});
    builder_node(b, "Flatten", 1, &v, 1, &v);
    node = builder_node(b, "Gemm", 3,
                        (int[]){v, builder_floats(b, "dense", 2, gemm_dims, dense.data),
                                builder_floats(b, "dense_bias", 1, gemm_bias_dims, dense_bias.data)},
                        1, &v);
    builder_attribute_int(b, node, "transB", 1);
    builder_output(b, v);
    illume_model *model = NULL;
    if (builder_finish(b, context, &model) != ILLUME_OK) test_fail("linear model: %s", illume_last_error(context));
    const struct {
        int64_t window[2], stride[2];
        float fill;
    } settings[] = {{{3, 3}, {2, 2}, 0.25f}, {{2, 7}, {2, 7}, 0.0f}, {{4, 3}, {1, 2}, -0.5f}};
    for (size_t s = 0; model && s < sizeof settings / sizeof settings[0]; s++)
        for (int64_t target = 0; target < 4; target += 3) {
            /* a_t from the weights: the Gemm row through the convolution's taps. */
            double a[2][8][7] = {{{0}}};
            const float *wd = w.data, *dd = dense.data;
            for (int64_t f = 0; f < 3; f++)
                for (int64_t oy = 0; oy < 8; oy++)
                    for (int64_t ox = 0; ox < 7; ox++) {
                        double weight = dd[target * features + (f * 8 + oy) * 7 + ox];
                        for (int64_t c = 0; c < 2; c++)
                            for (int64_t ky = 0; ky < 3; ky++)
                                for (int64_t kx = 0; kx < 3; kx++) {
                                    int64_t iy = oy + ky - 1, ix = ox + kx - 1;
                                    if (iy >= 0 && iy < 8 && ix >= 0 && ix < 7)
                                        a[c][iy][ix] += weight * wd[((f * 2 + c) * 3 + ky) * 3 + kx];
                                }
                    }
            illume_tensor want = tensor_zeros(4, x_dims), got = tensor_zeros(4, x_dims);
            double sums[8][7] = {{0}};
            int covered[8][7] = {{0}};
            const float *xs = x.data;
            for (int64_t y0 = 0;; y0 += settings[s].stride[0]) {
                int64_t y1 = y0 + settings[s].window[0] < 8 ? y0 + settings[s].window[0] : 8;
                for (int64_t x0 = 0;; x0 += settings[s].stride[1]) {
                    int64_t x1 = x0 + settings[s].window[1] < 7 ? x0 + settings[s].window[1] : 7;
                    double drop = 0.0;
                    for (int64_t c = 0; c < 2; c++)
                        for (int64_t yy = y0; yy < y1; yy++)
                            for (int64_t xx = x0; xx < x1; xx++)
                                drop += a[c][yy][xx] * ((double)xs[(c * 8 + yy) * 7 + xx] - settings[s].fill);
                    for (int64_t yy = y0; yy < y1; yy++)
                        for (int64_t xx = x0; xx < x1; xx++) {
                            sums[yy][xx] += drop;
                            covered[yy][xx]++;
                        }
                    if (x1 == 7) break;
                }
                if (y1 == 8) break;
            }
            for (int64_t c = 0; c < 2; c++)
                for (int64_t yy = 0; yy < 8; yy++)
                    for (int64_t xx = 0; xx < 7; xx++)
                        ((float *)want.data)[(c * 8 + yy) * 7 + xx] = (float)(sums[yy][xx] / covered[yy][xx]);
            illume_explain_options options;
            illume_explain_options_default(&options);
            options.method = ILLUME_OCCLUSION;
            memcpy(options.window, settings[s].window, sizeof options.window);
            memcpy(options.stride, settings[s].stride, sizeof options.stride);
            options.fill = settings[s].fill;
            options.device = "cpu";
            explained result = explain_once(context, model, &options, &x, target, &got);
            char label[160];
            snprintf(label, sizeof label, "occlusion window %lldx%lld stride %lldx%lld fill %g, target %lld",
                     (long long)settings[s].window[0], (long long)settings[s].window[1],
                     (long long)settings[s].stride[0], (long long)settings[s].stride[1], settings[s].fill,
                     (long long)target);
            if (result.status != ILLUME_OK) {
                count_case();
                test_fail("%s: %s", label, illume_last_error(context));
            } else {
                expect_close(label, &got, &want, 1e-4);
            }
            tensor_release(&want);
            tensor_release(&got);
        }
    illume_model_free(model);
    illume_context_destroy(context);
    tensor_release(&x);
    tensor_release(&w);
    tensor_release(&bias);
    tensor_release(&dense);
    tensor_release(&dense_bias);
}

/* Grad-CAM at the last Conv's output A, read by GlobalAveragePool then Gemm: the
 * gradient of score_t at A is w3[t, c] / (H W) everywhere, so the map is
 * ReLU(sum_c w3[t, c] A_c / (H W)), with A from the reference convolutions. */
static void gradcam(uint64_t *seed) {
    illume_context *context = illume_context_create();
    cnn net = cnn_create("Relu", 0, seed);
    char layer[128];
    illume_model *models[2] = {cnn_model(context, &net, 0, layer, sizeof layer), cnn_model(context, &net, 1, NULL, 0)};
    illume_tensor x = tensor_random(4, image_dims, -1.0f, 1.0f, seed);
    window_params params = window_defaults();
    for (int d = 0; d < 4; d++) params.pads[d] = 1;
    illume_tensor hidden = reference_conv(&x, &net.w1, &net.b1, 1, &params, 1);
    illume_tensor activation = reference_conv(&hidden, &net.w2, &net.b2, 1, &params, 0);
    const int64_t map_dims[4] = {1, 1, 8, 8};
    /* The scores, for the top target. */
    double scores[3], best = -INFINITY;
    int64_t top = 0;
    const float *act = activation.data, *w3 = net.w3.data;
    for (int64_t t = 0; t < 3; t++) {
        scores[t] = ((float *)net.b3.data)[t];
        for (int64_t c = 0; c < 5; c++) {
            double mean = 0.0;
            for (int64_t i = 0; i < 64; i++) mean += act[c * 64 + i];
            scores[t] += w3[t * 5 + c] * mean / 64.0;
        }
        if (scores[t] > best) {
            best = scores[t];
            top = t;
        }
    }
    /* The named layer on the model of any batch, the default one on both. */
    for (int variant = 0; models[0] && models[1] && variant < 3; variant++)
        for (int64_t asked = -1; asked < 3; asked++) {
            int explicit_layer = variant == 1, fixed_batch = variant == 2;
            int64_t target = asked < 0 ? top : asked;
            illume_tensor want = tensor_zeros(4, map_dims), got = tensor_zeros(4, map_dims);
            for (int64_t i = 0; i < 64; i++) {
                double sum = 0.0;
                for (int64_t c = 0; c < 5; c++) sum += w3[target * 5 + c] / 64.0 * act[c * 64 + i];
                ((float *)want.data)[i] = (float)fmax(sum, 0.0);
            }
            illume_explain_options options;
            illume_explain_options_default(&options);
            options.method = ILLUME_GRADCAM;
            options.layer = explicit_layer ? layer : NULL;
            options.device = "cpu";
            explained result = explain_once(context, models[fixed_batch], &options, &x, asked, &got);
            char label[128];
            snprintf(label, sizeof label, "Grad-CAM at the %s layer, target %lld%s%s",
                     explicit_layer ? "named" : "default", (long long)target, asked < 0 ? " (the top)" : "",
                     fixed_batch ? ", batch fixed at 1" : "");
            if (result.status != ILLUME_OK) {
                count_case();
                test_fail("%s: %s", label, illume_last_error(context));
            } else {
                expect_close(label, &got, &want, 1e-4);
                count_case();
                if (result.row.target != target || !(fabs(result.row.score - scores[target]) <= 1e-4))
                    test_fail("%s: row reports target %lld score %g, expected %lld and %g", label,
                              (long long)result.row.target, result.row.score, (long long)target, scores[target]);
            }
            tensor_release(&want);
            tensor_release(&got);
        }
    tensor_release(&x);
    tensor_release(&hidden);
    tensor_release(&activation);
    illume_model_free(models[0]);
    illume_model_free(models[1]);
    cnn_release(&net);
    illume_context_destroy(context);
}

/* Grad-CAM's default layer where no GlobalAveragePool ends the features and
 * the model declares no intermediate shapes (VGG's form): x -> Conv -> Relu ->
 * Flatten -> Gemm, whose CAM is ReLU(sum_c mean_i(W[t, c, i]) A_c), at the
 * Relu's output. */
static void gradcam_flatten(uint64_t *seed) {
    illume_context *context = illume_context_create();
    const int64_t w_dims[4] = {4, 3, 3, 3}, b_dims[1] = {4}, gemm_dims[2] = {3, 4 * 64}, gemm_bias_dims[1] = {3};
    illume_tensor w = tensor_random(4, w_dims, -0.5f, 0.5f, seed), bias = tensor_random(1, b_dims, -0.2f, 0.2f, seed);
    illume_tensor gemm = tensor_random(2, gemm_dims, -1.0f, 1.0f, seed);
    illume_tensor gemm_bias = tensor_random(1, gemm_bias_dims, -0.5f, 0.5f, seed);
    builder *b = builder_create(13);
    const int64_t pads[4] = {1, 1, 1, 1}, any_batch[4] = {-1, 3, 8, 8};
    int v = builder_input(b, "x", 4, any_batch);
    int node = builder_node(b, "Conv", 3,
                            (int[]){v, builder_floats(b, "w", 4, w.dims, w.data),
                                    builder_floats(b, "b", 1, bias.dims, bias.data)},
                            1, &v);
    builder_attribute_ints(b, node, "pads", 4, pads);
    builder_node(b, "Relu", 1, &v, 1, &v);
    builder_node(b, "Flatten", 1, &v, 1, &v);
    node = builder_node(b, "Gemm", 3,
                        (int[]){v, builder_floats(b, "gemm", 2, gemm.dims, gemm.data),
                                builder_floats(b, "gemm_bias", 1, gemm_bias.dims, gemm_bias.data)},
                        1, &v);
    builder_attribute_int(b, node, "transB", 1);
    builder_output(b, v);
    illume_model *model = NULL;
    if (builder_finish(b, context, &model) != ILLUME_OK) test_fail("Flatten CNN: %s", illume_last_error(context));
    illume_tensor x = tensor_random(4, image_dims, -1.0f, 1.0f, seed);
    window_params params = window_defaults();
    for (int d = 0; d < 4; d++) params.pads[d] = 1;
    illume_tensor activation = reference_conv(&x, &w, &bias, 1, &params, 1);
    const int64_t map_dims[4] = {1, 1, 8, 8};
    illume_tensor want = tensor_zeros(4, map_dims), got = tensor_zeros(4, map_dims);
    const int64_t target = 2;
    const float *act = activation.data, *weights = gemm.data;
    for (int64_t i = 0; i < 64; i++) {
        double sum = 0.0;
        for (int64_t c = 0; c < 4; c++) {
            double mean = 0.0;
            for (int64_t j = 0; j < 64; j++) mean += weights[target * 256 + c * 64 + j] / 64.0;
            sum += mean * act[c * 64 + i];
        }
        ((float *)want.data)[i] = (float)fmax(sum, 0.0);
    }
    illume_explain_options options;
    illume_explain_options_default(&options);
    options.method = ILLUME_GRADCAM;
    options.device = "cpu";
    explained result = model ? explain_once(context, model, &options, &x, target, &got) : (explained){0};
    count_case();
    if (!model || result.status != ILLUME_OK)
        test_fail("Grad-CAM at the default layer before a Flatten: %s", illume_last_error(context));
    else
        expect_close("Grad-CAM at the default layer before a Flatten", &got, &want, 1e-4);
    tensor_release(&want);
    tensor_release(&got);
    tensor_release(&x);
    tensor_release(&activation);
    tensor_release(&w);
    tensor_release(&bias);
    tensor_release(&gemm);
    tensor_release(&gemm_bias);
    illume_model_free(model);
    illume_context_destroy(context);
}

int main(void) {
    uint64_t seed = 16180;
    integrated_gradients(&seed);
    smoothgrad(&seed);
    flat_memory(&seed);
    batches_in_flight(&seed);
    occlusion(&seed);
    gradcam(&seed);
    gradcam_flatten(&seed);
    return test_report("explain/methods");
}
