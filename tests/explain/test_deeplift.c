/* DeepLIFT through the public explainer API, methods deeplift (the rescale
 * rule) and deeplift-revealcancel, against a float64 reference written here
 * from the rules: the network runs on the input and on its baseline, and
 * multipliers flow back from the target like gradients, except at the
 * nonlinearities (rescale: delta-out over delta-in) and, under RevealCancel,
 * at a nonlinearity fed by a Conv or Gemm that it alone reads, where the
 * pair splits the change of its input by sign (the positive and negative
 * parts of the linear node's output change, each given its multiplier from
 * the average of the activation's change with and without the other part).
 *
 * Cases: Conv-f-Conv(stride 2)-f-GlobalAveragePool-Flatten-Gemm with f Relu,
 * Tanh and Sigmoid, against a zero and a constant baseline, both methods,
 * attributions, scores and summation-to-delta; a Relu after an Add of two
 * Conv outputs, and a Relu whose Conv input is also read by an Add, where
 * RevealCancel must fall back to rescale (the two methods agree, and agree
 * with the reference); that RevealCancel's maps differ from rescale's where
 * it applies; and the method's name. Three input rows at once, each with its
 * own target. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gradient_check.h"
#include "linear_reference.h"

#define ROWS 3               /* input rows per explanation, each with its own target */
#define DEEPLIFT_EPS 1e-10   /* below this change a multiplier is the derivative */
#define TOLERANCE 1e-4       /* of the largest |reference| */
#define SAME_TOLERANCE 1e-5  /* revealcancel against rescale where it must not apply */
#define DIFFERENT_AT_LEAST 1e-3

/* A linear node in float64 (linear_reference.h): a Conv (3x3 kernel, pads
 * 1, a square input) or a Gemm (transB 1); the weights whole and split by
 * sign. */
typedef struct dl_linear {
    layer geometry;
    illume_tensor w_tensor, b_tensor;
    double *w, *w_pos, *w_neg, *b;
} dl_linear;

static int dl_linear_fill(dl_linear *l, float low, float high, uint64_t *seed) {
    const layer *g = &l->geometry;
    const int64_t conv_dims[4] = {g->features, g->channels, 3, 3}, gemm_dims[2] = {g->out, g->in};
    const int64_t bias_dims[1] = {g->biases};
    l->w_tensor = g->conv ? tensor_random(4, conv_dims, low, high, seed) : tensor_random(2, gemm_dims, low, high, seed);
    l->b_tensor = tensor_zeros(1, bias_dims);
    l->w = calloc((size_t)(3 * g->weights + g->biases), sizeof(double));
    if (!l->w_tensor.data || !l->b_tensor.data || !g->taps || !l->w) return 0;
    l->w_pos = l->w + g->weights;
    l->w_neg = l->w_pos + g->weights;
    l->b = l->w_neg + g->weights;
    for (int64_t k = 0; k < g->biases; k++) {
        float value = (k % 2 ? -0.12f : 0.1f) * (float)(1 + k % 3);
        ((float *)l->b_tensor.data)[k] = value;
        l->b[k] = value;
    }
    for (int64_t k = 0; k < g->weights; k++) {
        l->w[k] = ((const float *)l->w_tensor.data)[k];
        l->w_pos[k] = fmax(l->w[k], 0.0);
        l->w_neg[k] = fmin(l->w[k], 0.0);
    }
    return 1;
}

/* A Conv channels -> features of a size x size input, 3x3, pads 1; weights in [-0.5, 0.5). */
static dl_linear dl_conv(int64_t channels, int64_t size, int64_t features, int64_t stride, uint64_t *seed, int *ok) {
    dl_linear l = {.geometry = conv_layer(channels, size, features, stride, 0)};
    *ok &= dl_linear_fill(&l, -0.5f, 0.5f, seed);
    return l;
}

/* A Gemm in -> out with transB 1; weights in [-2, 2). */
static dl_linear dl_gemm(int64_t in, int64_t out, uint64_t *seed, int *ok) {
    dl_linear l = {.geometry = gemm_layer(in, out, 1, 0)};
    *ok &= dl_linear_fill(&l, -2.0f, 2.0f, seed);
    return l;
}

static void dl_linear_release(dl_linear *l) {
    layer_release(&l->geometry);
    free(l->w);
    tensor_release(&l->w_tensor);
    tensor_release(&l->b_tensor);
    l->w = NULL;
}

/* y = L(x) with weights w, plus the bias when bias is set. */
static void dl_forward(const dl_linear *l, const double *w, int bias, const double *x, double *y) {
    layer_forward(&l->geometry, x, w, bias ? l->b : NULL, y);
}

/* g = L^T(s) with weights w: the backward-data of the node. */
static void dl_backward(const dl_linear *l, const double *w, const double *s, double *g) {
    layer_backward(&l->geometry, s, w, g);
}

/* Appends the node of l to v (Conv: pads 1, its strides; Gemm: transB); returns its output. */
static int dl_node(builder *b, int v, const dl_linear *l, const char *name) {
    char w_name[64], b_name[64];
    snprintf(w_name, sizeof w_name, "%s_w", name);
    snprintf(b_name, sizeof b_name, "%s_b", name);
    int w = builder_floats(b, w_name, l->w_tensor.rank, l->w_tensor.dims, l->w_tensor.data);
    int bias = builder_floats(b, b_name, 1, l->b_tensor.dims, l->b_tensor.data);
    int node = builder_node(b, l->geometry.conv ? "Conv" : "Gemm", 3, (int[]){v, w, bias}, 1, &v);
    if (l->geometry.conv) {
        const int64_t pads[4] = {1, 1, 1, 1}, strides[2] = {l->geometry.stride, l->geometry.stride};
        builder_attribute_ints(b, node, "pads", 4, pads);
        builder_attribute_ints(b, node, "strides", 2, strides);
    } else {
        builder_attribute_int(b, node, "transB", 1);
    }
    return v;
}

typedef enum dl_activation { DL_RELU, DL_TANH, DL_SIGMOID, DL_ACTIVATIONS } dl_activation;
static const char *const activation_ops[DL_ACTIVATIONS] = {"Relu", "Tanh", "Sigmoid"};

static double activate(dl_activation a, double v) {
    switch (a) {
    case DL_RELU: return v > 0.0 ? v : 0.0;
    case DL_TANH: return tanh(v);
    default: return 1.0 / (1.0 + exp(-v));
    }
}

/* f'(v); Relu's is 0 at 0. */
static double slope(dl_activation a, double v) {
    switch (a) {
    case DL_RELU: return v > 0.0 ? 1.0 : 0.0;
    case DL_TANH: return 1.0 - tanh(v) * tanh(v);
    default: {
        double s = 1.0 / (1.0 + exp(-v));
        return s * (1.0 - s);
    }
    }
}

/* The rescale multiplier of y = f(v): dy / dv, or f'(v on x) where dv is below DEEPLIFT_EPS. */
static double rescale(dl_activation a, double on_x, double on_baseline) {
    double d = on_x - on_baseline;
    return fabs(d) >= DEEPLIFT_EPS ? (activate(a, on_x) - activate(a, on_baseline)) / d : slope(a, on_x);
}

/* The multiplier of L's input from m, the multiplier of f(h) where h = L(a):
 * a and h on the input (ax, hx) and on the baseline (ab, hb). Rescale at f
 * then the chain rule through L, or (reveal) RevealCancel at the pair.
 * Returns 0 when out of memory. */
static int through(const dl_linear *l, dl_activation a, int reveal, const double *ax, const double *ab,
                   const double *hx, const double *hb, const double *m, double *m_in) {
    int64_t in = l->geometry.in, out = l->geometry.out;
    double *buffer = calloc((size_t)(7 * in + 5 * out), sizeof(double));
    if (!buffer) return 0;
    double *da_pos = buffer, *da_neg = da_pos + in, *g1 = da_neg + in, *g2 = g1 + in, *g3 = g2 + in, *g4 = g3 + in;
    double *scratch = g4 + in, *up = scratch + in, *down = up + out, *p = down + out, *n = p + out, *t = n + out;
    if (!reveal) {
        for (int64_t j = 0; j < out; j++) p[j] = m[j] * rescale(a, hx[j], hb[j]);
        dl_backward(l, l->w, p, m_in);
        free(buffer);
        return 1;
    }
    for (int64_t i = 0; i < in; i++) {
        double d = ax[i] - ab[i];
        da_pos[i] = fmax(d, 0.0);
        da_neg[i] = fmin(d, 0.0);
    }
    /* The parts of dh: up = W+ da+ + W- da-, down = W- da+ + W+ da-. */
    dl_forward(l, l->w_pos, 0, da_pos, up);
    dl_forward(l, l->w_neg, 0, da_neg, t);
    for (int64_t j = 0; j < out; j++) up[j] += t[j];
    dl_forward(l, l->w_neg, 0, da_pos, down);
    dl_forward(l, l->w_pos, 0, da_neg, t);
    for (int64_t j = 0; j < out; j++) down[j] += t[j];
    for (int64_t j = 0; j < out; j++) {
        double x0 = hb[j], u = up[j], v = down[j], f0 = activate(a, x0);
        double dy_up = 0.5 * (activate(a, x0 + u) - f0) + 0.5 * (activate(a, x0 + v + u) - activate(a, x0 + v));
        double dy_down = 0.5 * (activate(a, x0 + v) - f0) + 0.5 * (activate(a, x0 + u + v) - activate(a, x0 + u));
        double m_up = fabs(u) >= DEEPLIFT_EPS ? dy_up / u : slope(a, hx[j]);
        double m_down = fabs(v) >= DEEPLIFT_EPS ? dy_down / v : slope(a, hx[j]);
        p[j] = m[j] * m_up;
        n[j] = m[j] * m_down;
    }
    dl_backward(l, l->w_pos, p, g1);
    dl_backward(l, l->w_neg, n, g2);
    dl_backward(l, l->w_neg, p, g3);
    dl_backward(l, l->w_pos, n, g4);
    for (int64_t i = 0; i < in; i++) {
        double d = ax[i] - ab[i];
        m_in[i] = d > 0.0 ? g1[i] + g2[i] : d < 0.0 ? g3[i] + g4[i] : 0.5 * (g1[i] + g2[i] + g3[i] + g4[i]);
    }
    free(buffer);
    return 1;
}

/* Averages each channel's plane. */
static void pool(int64_t channels, int64_t plane, const double *v, double *pooled) {
    for (int64_t c = 0; c < channels; c++) {
        pooled[c] = 0.0;
        for (int64_t i = 0; i < plane; i++) pooled[c] += v[c * plane + i] / (double)plane;
    }
}

/* The multiplier of each element of a pooled map: its channel's over the plane. */
static void unpool(int64_t channels, int64_t plane, const double *m_pooled, double *m) {
    for (int64_t c = 0; c < channels; c++)
        for (int64_t i = 0; i < plane; i++) m[c * plane + i] = m_pooled[c] / (double)plane;
}

/* The networks tested. CHAIN: x (3, 6, 6) -> Conv 3->4 -> f -> Conv 4->5
 * stride 2 -> f -> GlobalAveragePool -> Flatten -> Gemm 5->3 (RevealCancel
 * applies at both f). ADD: Conv 3->4 (first) + Conv 3->4 (second) -> Relu ->
 * GlobalAveragePool -> Flatten -> Gemm 4->3 (the Relu reads an Add). SHARED:
 * h = Conv 3->4 (first), Add(Relu(h), h) -> GlobalAveragePool -> Flatten ->
 * Gemm 4->3 (the Relu's input has another reader). */
typedef enum dl_structure { CHAIN, ADD, SHARED } dl_structure;

typedef struct dl_net {
    dl_structure structure;
    dl_activation activation;
    dl_linear first, second, dense;
} dl_net;

#define INPUT_SIZE 108 /* 3 x 6 x 6 */

static dl_net net_create(dl_structure structure, dl_activation activation, uint64_t *seed, int *ok) {
    dl_net net = {.structure = structure, .activation = activation};
    net.first = dl_conv(3, 6, 4, 1, seed, ok);
    if (structure == CHAIN) net.second = dl_conv(4, 6, 5, 2, seed, ok);
    if (structure == ADD) net.second = dl_conv(3, 6, 4, 1, seed, ok);
    net.dense = dl_gemm(structure == CHAIN ? 5 : 4, 3, seed, ok);
    return net;
}

static void net_release(dl_net *net) {
    dl_linear_release(&net->first);
    if (net->structure != SHARED) dl_linear_release(&net->second);
    dl_linear_release(&net->dense);
}

static illume_model *net_model(illume_context *context, const dl_net *net) {
    builder *b = builder_create(13);
    const int64_t any[4] = {-1, 3, 6, 6};
    int input = builder_input(b, "x", 4, any), v = dl_node(b, input, &net->first, "first");
    const char *op = activation_ops[net->activation];
    if (net->structure == CHAIN) {
        builder_node(b, op, 1, &v, 1, &v);
        v = dl_node(b, v, &net->second, "second");
        builder_node(b, op, 1, &v, 1, &v);
    } else if (net->structure == ADD) {
        int other = dl_node(b, input, &net->second, "second");
        builder_node(b, "Add", 2, (int[]){v, other}, 1, &v);
        builder_node(b, op, 1, &v, 1, &v);
    } else {
        int h = v;
        builder_node(b, op, 1, &h, 1, &v);
        builder_node(b, "Add", 2, (int[]){v, h}, 1, &v);
    }
    builder_node(b, "GlobalAveragePool", 1, &v, 1, &v);
    builder_node(b, "Flatten", 1, &v, 1, &v);
    v = dl_node(b, v, &net->dense, "dense");
    builder_output(b, v);
    illume_model *model = NULL;
    if (builder_finish(b, context, &model) != ILLUME_OK) test_fail("model: %s", illume_last_error(context));
    return model;
}

/* The values of one network run: h the first node's output (the Add's in
 * ADD), a = f(h), for CHAIN h2 and a2 the second Conv's and f's, s the map
 * pooled, and the outputs y. */
typedef struct dl_run {
    double h[144], a[144], h2[45], a2[45], s[144], pooled[5], y[3];
} dl_run;

static void net_forward(const dl_net *net, const double *x, dl_run *r) {
    const dl_linear *first = &net->first;
    dl_forward(first, first->w, 1, x, r->h);
    if (net->structure == ADD) {
        double other[144];
        dl_forward(&net->second, net->second.w, 1, x, other);
        for (int64_t i = 0; i < first->geometry.out; i++) r->h[i] += other[i];
    }
    for (int64_t i = 0; i < first->geometry.out; i++) r->a[i] = activate(net->activation, r->h[i]);
    if (net->structure == CHAIN) {
        dl_forward(&net->second, net->second.w, 1, r->a, r->h2);
        for (int64_t i = 0; i < net->second.geometry.out; i++) r->a2[i] = activate(net->activation, r->h2[i]);
        pool(5, net->second.geometry.plane, r->a2, r->pooled);
    } else {
        for (int64_t i = 0; i < first->geometry.out; i++) r->s[i] = r->a[i] + (net->structure == SHARED ? r->h[i] : 0.0);
        pool(4, first->geometry.plane, r->s, r->pooled);
    }
    dl_forward(&net->dense, net->dense.w, 1, r->pooled, r->y);
}

/* The attribution of x against the baseline b for output target, by the
 * rules (reveal: RevealCancel where it applies); *fx and *fb the target's
 * output on both. Returns 0 when out of memory. */
static int net_reference(const dl_net *net, int reveal, const double *x, const double *b, int64_t target,
                         double *attribution, double *fx, double *fb) {
    dl_run on_x, on_b;
    net_forward(net, x, &on_x);
    net_forward(net, b, &on_b);
    *fx = on_x.y[target];
    *fb = on_b.y[target];
    double m_y[3] = {0.0, 0.0, 0.0}, m_pooled[5], m_a[144], m_h[144], m_a2[45], m_x[INPUT_SIZE];
    m_y[target] = 1.0;
    dl_backward(&net->dense, net->dense.w, m_y, m_pooled); /* the Gemm and the Flatten */
    const dl_linear *first = &net->first;
    dl_activation f = net->activation;
    if (net->structure == CHAIN) {
        unpool(5, net->second.geometry.plane, m_pooled, m_a2);
        if (!through(&net->second, f, reveal, on_x.a, on_b.a, on_x.h2, on_b.h2, m_a2, m_a)) return 0;
        if (!through(first, f, reveal, x, b, on_x.h, on_b.h, m_a, m_x)) return 0;
    } else {
        /* Rescale at the Relu whatever the method; the chain rule through the Add and the Convs. */
        unpool(4, first->geometry.plane, m_pooled, m_a);
        for (int64_t i = 0; i < first->geometry.out; i++)
            m_h[i] = m_a[i] * rescale(f, on_x.h[i], on_b.h[i]) + (net->structure == SHARED ? m_a[i] : 0.0);
        dl_backward(first, first->w, m_h, m_x);
        if (net->structure == ADD) {
            double m_other[INPUT_SIZE];
            dl_backward(&net->second, net->second.w, m_h, m_other);
            for (int64_t i = 0; i < INPUT_SIZE; i++) m_x[i] += m_other[i];
        }
    }
    for (int64_t i = 0; i < INPUT_SIZE; i++) attribution[i] = (x[i] - b[i]) * m_x[i];
    return 1;
}

typedef struct dl_method {
    illume_method method;
    const char *name;
    int reveal;
} dl_method;

static const dl_method methods[2] = {{ILLUME_DEEPLIFT, "deeplift", 0},
                                     {ILLUME_DEEPLIFT_REVEAL_CANCEL, "deeplift-revealcancel", 1}};

typedef struct dl_baseline {
    illume_baseline kind;
    float value;
    const char *name;
} dl_baseline;

static const dl_baseline baselines[2] = {{ILLUME_BASELINE_ZEROS, 0.0f, "zero baseline"},
                                         {ILLUME_BASELINE_CONSTANT, 0.3f, "constant 0.3 baseline"}};

/* Explains the rows of x for their targets. */
static illume_status explain(illume_context *context, const illume_model *model, const dl_method *method,
                             const dl_baseline *baseline, const illume_tensor *x, const int64_t *targets,
                             illume_tensor *attributions, illume_explain_row *rows) {
    illume_explain_options options;
    illume_explain_options_default(&options);
    options.method = method->method;
    options.device = "cpu";
    options.baseline = baseline->kind;
    options.baseline_value = baseline->value;
    illume_explainer *explainer = NULL;
    illume_tensor row = *x;
    row.dims[0] = 1;
    row.data = NULL;
    illume_status status = illume_explainer_create(context, model, &options, &row, &explainer);
    if (status == ILLUME_OK) status = illume_explain(explainer, x, targets, attributions, rows, NULL);
    illume_explainer_free(explainer);
    return status;
}

static double largest(const double *v, int64_t count) {
    double m = 0.0;
    for (int64_t i = 0; i < count; i++) m = fmax(m, fabs(v[i]));
    return m;
}

/* got (floats) against want within tolerance x the largest |want|; a reference of zeros fails too. */
static void expect_map(const char *label, const float *got, const double *want, int64_t count, double tolerance) {
    count_case();
    double scale = largest(want, count), error = -1.0;
    int64_t worst = 0;
    for (int64_t i = 0; i < count; i++) {
        double e = fabs((double)got[i] - want[i]);
        if (!(e <= error)) {
            error = e;
            worst = i;
        }
    }
    if (!(scale > 0.0))
        test_fail("%s: the reference is all zero (the case checks nothing)", label);
    else if (!(error <= tolerance * scale))
        test_fail("%s: element %lld (channel %lld, y %lld, x %lld) is %.9g, the reference %.9g (error %.3g, "
                  "%.3g of the largest |reference| %.4g)",
                  label, (long long)worst, (long long)(worst / 36), (long long)(worst / 6 % 6), (long long)(worst % 6),
                  got[worst], want[worst], error, error / scale, scale);
}

/* Explains x (ROWS rows) under the method and baseline and checks every row
 * against the reference: attributions, target, score and delta. Keeps the
 * attributions in kept (ROWS x INPUT_SIZE floats) when given. */
static void check_rows(const char *what, illume_context *context, const illume_model *model, const dl_net *net,
                       const dl_method *method, const dl_baseline *baseline, const illume_tensor *x,
                       const double *xd, float *kept) {
    const int64_t targets[ROWS] = {-1, 0, 2};
    illume_tensor attributions = tensor_zeros(x->rank, x->dims);
    illume_explain_row rows[ROWS];
    double b[INPUT_SIZE], want[INPUT_SIZE];
    for (int64_t i = 0; i < INPUT_SIZE; i++) b[i] = baseline->value;
    char label[256];
    snprintf(label, sizeof label, "%s, %s, %s", what, method->name, baseline->name);
    if (!attributions.data || !model) {
        count_case();
        test_fail("%s: setup failed", label);
        tensor_release(&attributions);
        return;
    }
    if (explain(context, model, method, baseline, x, targets, &attributions, rows) != ILLUME_OK) {
        count_case();
        test_fail("%s: %s", label, illume_last_error(context));
        tensor_release(&attributions);
        return;
    }
    const float *got = attributions.data;
    if (kept) memcpy(kept, got, sizeof(float) * ROWS * INPUT_SIZE);
    for (int64_t row = 0; row < ROWS; row++) {
        const double *xr = xd + row * INPUT_SIZE;
        int64_t target = targets[row];
        if (target < 0) { /* the top output on x */
            dl_run run;
            net_forward(net, xr, &run);
            target = run.y[1] > run.y[0] ? 1 : 0;
            if (run.y[2] > run.y[target]) target = 2;
        }
        double fx, fb;
        char row_label[400];
        snprintf(row_label, sizeof row_label, "%s, row %lld target %lld", label, (long long)row, (long long)target);
        count_case();
        if (!net_reference(net, method->reveal, xr, b, target, want, &fx, &fb)) {
            test_fail("%s: out of memory", row_label);
            continue;
        }
        double sum = 0.0;
        for (int64_t i = 0; i < INPUT_SIZE; i++) sum += want[i];
        if (!(fabs(sum - (fx - fb)) <= 1e-9 * (1.0 + fabs(fx) + fabs(fb))))
            test_fail("%s: the reference does not sum to the change (%.12g, f(x) - f(b) = %.12g): a bug of the test",
                      row_label, sum, fx - fb);
        expect_map(row_label, got + row * INPUT_SIZE, want, INPUT_SIZE, TOLERANCE);
        count_case();
        if (rows[row].target != target || !(fabs(rows[row].score - fx) <= TOLERANCE * (1.0 + fabs(fx))))
            test_fail("%s: the row reports target %lld score %.9g, expected target %lld and f(x) %.9g", row_label,
                      (long long)rows[row].target, rows[row].score, (long long)target, fx);
        count_case();
        double engine_sum = 0.0;
        for (int64_t i = 0; i < INPUT_SIZE; i++) engine_sum += got[row * INPUT_SIZE + i];
        if (!(fabs(rows[row].delta) <= TOLERANCE * fmax(fmax(fabs(fx), fabs(fb)), 1e-3)))
            test_fail("%s: delta %.9g (sum of attributions %.9g, f(x) %.9g, f(b) %.9g, f(x) - f(b) %.9g)", row_label,
                      rows[row].delta, engine_sum, fx, fb, fx - fb);
    }
    tensor_release(&attributions);
}

/* The largest difference between two sets of maps over the largest |value| of the first. */
static double relative_difference(const float *a, const float *b, int64_t count) {
    double scale = 0.0, difference = 0.0;
    for (int64_t i = 0; i < count; i++) {
        scale = fmax(scale, fabs(a[i]));
        difference = fmax(difference, fabs((double)a[i] - b[i]));
    }
    return scale > 0.0 ? difference / scale : INFINITY;
}

static double *doubles_of(const illume_tensor *t) {
    int64_t count = tensor_count(t);
    double *d = malloc(sizeof(double) * (size_t)count);
    for (int64_t i = 0; d && i < count; i++) d[i] = ((const float *)t->data)[i];
    return d;
}

/* 1, 2 and 4. The chain with Relu, Tanh and Sigmoid, both baselines, both
 * methods against the reference; and RevealCancel's maps not rescale's. */
static void chains(uint64_t *seed) {
    illume_context *context = illume_context_create();
    for (int f = 0; f < DL_ACTIVATIONS; f++) {
        int ok = 1;
        dl_net net = net_create(CHAIN, (dl_activation)f, seed, &ok);
        illume_model *model = ok ? net_model(context, &net) : NULL;
        const int64_t x_dims[4] = {ROWS, 3, 6, 6};
        illume_tensor x = tensor_random(4, x_dims, -1.0f, 1.0f, seed);
        double *xd = x.data ? doubles_of(&x) : NULL;
        float *maps = malloc(sizeof(float) * 2 * ROWS * INPUT_SIZE);
        char what[128];
        snprintf(what, sizeof what, "Conv-%s-Conv-%s-GlobalAveragePool-Flatten-Gemm", activation_ops[f],
                 activation_ops[f]);
        if (!ok || !model || !xd || !maps) {
            count_case();
            test_fail("%s: setup failed", what);
        } else {
            for (int k = 0; k < 2; k++) {
                for (int m = 0; m < 2; m++)
                    check_rows(what, context, model, &net, &methods[m], &baselines[k], &x, xd,
                               maps + m * ROWS * INPUT_SIZE);
                /* The engine's two maps differ (reference: how much they should). */
                double b[INPUT_SIZE], rescaled[INPUT_SIZE], revealed[INPUT_SIZE], fx, fb, expected = 0.0;
                for (int64_t i = 0; i < INPUT_SIZE; i++) b[i] = baselines[k].value;
                for (int64_t row = 0; row < ROWS; row++) {
                    int64_t target = row == 2 ? 2 : row == 1 ? 0 : 1; /* any target shows the difference */
                    if (net_reference(&net, 0, xd + row * INPUT_SIZE, b, target, rescaled, &fx, &fb) &&
                        net_reference(&net, 1, xd + row * INPUT_SIZE, b, target, revealed, &fx, &fb)) {
                        double scale = largest(rescaled, INPUT_SIZE), difference = 0.0;
                        for (int64_t i = 0; i < INPUT_SIZE; i++)
                            difference = fmax(difference, fabs(rescaled[i] - revealed[i]));
                        expected = fmax(expected, difference / scale);
                    }
                }
                double difference = relative_difference(maps, maps + ROWS * INPUT_SIZE, ROWS * INPUT_SIZE);
                count_case();
                if (!(difference > DIFFERENT_AT_LEAST))
                    test_fail("%s, %s: deeplift-revealcancel's maps differ from deeplift's by %.3g of the largest "
                              "|attribution| (the reference: %.3g), not above %g: RevealCancel not applied",
                              what, baselines[k].name, difference, expected, DIFFERENT_AT_LEAST);
            }
        }
        free(maps);
        free(xd);
        tensor_release(&x);
        illume_model_free(model);
        net_release(&net);
    }
    illume_context_destroy(context);
}

/* 3. Relus RevealCancel must not take (after an Add; reading a Conv output
 * that an Add reads too): the two methods agree, and agree with rescale's reference. */
static void fallbacks(uint64_t *seed) {
    static const char *const names[2] = {"Add(Conv, Conv)-Relu-GlobalAveragePool-Flatten-Gemm",
                                         "h = Conv, Add(Relu(h), h)-GlobalAveragePool-Flatten-Gemm"};
    illume_context *context = illume_context_create();
    for (int s = 0; s < 2; s++) {
        int ok = 1;
        dl_net net = net_create(s == 0 ? ADD : SHARED, DL_RELU, seed, &ok);
        illume_model *model = ok ? net_model(context, &net) : NULL;
        const int64_t x_dims[4] = {ROWS, 3, 6, 6};
        illume_tensor x = tensor_random(4, x_dims, -1.0f, 1.0f, seed);
        double *xd = x.data ? doubles_of(&x) : NULL;
        float *maps = malloc(sizeof(float) * 2 * ROWS * INPUT_SIZE);
        if (!ok || !model || !xd || !maps) {
            count_case();
            test_fail("%s: setup failed", names[s]);
        } else {
            for (int k = 0; k < 2; k++) {
                for (int m = 0; m < 2; m++)
                    check_rows(names[s], context, model, &net, &methods[m], &baselines[k], &x, xd,
                               maps + m * ROWS * INPUT_SIZE);
                double difference = relative_difference(maps, maps + ROWS * INPUT_SIZE, ROWS * INPUT_SIZE);
                count_case();
                if (!(difference <= SAME_TOLERANCE))
                    test_fail("%s, %s: deeplift-revealcancel's maps differ from deeplift's by %.3g of the largest "
                              "|attribution|: RevealCancel taken at a Relu that must use rescale",
                              names[s], baselines[k].name, difference);
            }
        }
        free(maps);
        free(xd);
        tensor_release(&x);
        illume_model_free(model);
        net_release(&net);
    }
    illume_context_destroy(context);
}

/* The method's name, both ways. */
static void names(void) {
    for (int m = 0; m < 2; m++) {
        illume_method parsed = ILLUME_METHOD_COUNT;
        const char *name = illume_method_name(methods[m].method);
        count_case();
        if (!name || strcmp(name, methods[m].name) ||
            illume_method_from_name(methods[m].name, &parsed) != ILLUME_OK || parsed != methods[m].method)
            test_fail("method %s: illume_method_name gives '%s', illume_method_from_name %d (expected %d)",
                      methods[m].name, name ? name : "(null)", (int)parsed, (int)methods[m].method);
    }
}

int main(void) {
    uint64_t seed = 31415;
    names();
    chains(&seed);
    fallbacks(&seed);
    return test_report("explain/deeplift");
}
