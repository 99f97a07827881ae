/* Layer-wise relevance propagation through the public explainer API
 * (method lrp), against direct float64 implementations of Zennit 0.5.1's
 * rules written here from their formulas: every linear rule (epsilon,
 * z-plus, alpha-beta, gamma, z-box, flat, w-square) on one Conv (stride 2
 * and 1, pads 1), one Gemm (transB 0 and 1), a ConvTranspose and a MatMul,
 * with default and other parameters, given as rule maps and as options,
 * relevance at one output or (through a GlobalAveragePool) over a whole
 * channel; conservation where the rules conserve (LRP-0 on a Gemm without
 * bias, z-plus on a Conv without bias of a non-negative input, alpha-beta
 * 2,1) and its absence where they do not (alpha-beta 1,1); the norm rule on
 * an Add of two Conv outputs and on average pooling, pass through Relu and
 * an unfolded BatchNormalization, a folded one seen in the Conv's weights,
 * the gate of a squeeze-excite Mul and max pooling's winner-takes-all; a
 * whole composite (epsilon-plus-flat on Conv-Relu-Conv-GlobalAveragePool-
 * Flatten-Gemm) end to end, the rule listing of illume_explainer_rule, a
 * rule map's precedence and the conserves flag; the refusals of bad
 * composites, rules, keys and nodes; relevance passed through an LRN,
 * conserved end to end. Each input row has its own input and
 * target: three rows explained at once. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gradient_check.h"
#include "linear_reference.h"

#define ROWS 3 /* input rows per explanation, each with its own input and target */


typedef enum rule_kind { EPSILON, ALPHA_BETA, GAMMA, ZBOX, FLAT, WSQUARE } rule_kind;

/* A linear rule and the options it is asked for with. */
typedef struct rule_case {
    const char *rule; /* as a rule map writes it; NULL: composite "none" alone */
    rule_kind kind;
    float a, b;       /* epsilon | alpha, beta | gamma | low, high */
    float epsilon, gamma, stabilizer, low, high;
} rule_case;

static double stabilize(double z, double e) { return z >= 0.0 ? z + e : z - e; }

typedef enum part { POSITIVE, NEGATIVE } part;

static void split(const double *v, int64_t n, part which, double *out) {
    for (int64_t i = 0; i < n; i++) out[i] = which == POSITIVE ? fmax(v[i], 0.0) : fmin(v[i], 0.0);
}

/* z = F(x1, w1, b1) + F(x2, w2, 0) (x2 NULL: the first term alone). */
static void denominator(const layer *l, const double *x1, const double *w1, const double *b1, const double *x2,
                        const double *w2, double *z, double *scratch) {
    layer_forward(l, x1, w1, b1, z);
    if (!x2) return;
    layer_forward(l, x2, w2, NULL, scratch);
    for (int64_t o = 0; o < l->out; o++) z[o] += scratch[o];
}

/* s = r / stabilize(z, e), zero where gate (when given) does not have the sign asked for. */
static void ratio(int64_t n, const double *r, const double *z, double e, const double *gate, int sign, double *s) {
    for (int64_t o = 0; o < n; o++) {
        int kept = !gate || (sign > 0 ? gate[o] > 0.0 : gate[o] < 0.0);
        s[o] = kept ? r[o] / stabilize(z[o], e) : 0.0;
    }
}

/* out += c * a * F^T(s, w) (a NULL: 1). */
static void add_back(const layer *l, double c, const double *a, const double *s, const double *w, double *out,
                     double *scratch) {
    layer_backward(l, s, w, scratch);
    for (int64_t i = 0; i < l->in; i++) out[i] += c * (a ? a[i] : 1.0) * scratch[i];
}

/* The relevance at the input of the linear node for r at its output, by the formula of the case's rule. */
static void reference_linear(const layer *l, const rule_case *rc, const double *x, const double *w, const double *b,
                             const double *r, double *r_in) {
    int64_t in = l->in, out = l->out, nw = l->weights, nb = l->biases;
    double *buffer = calloc((size_t)(6 * in + 6 * nw + 6 * nb + 6 * out), sizeof(double));
    if (!buffer) {
        test_fail("out of memory");
        return;
    }
    double *xp = buffer, *xn = xp + in, *low = xn + in, *high = low + in, *ones = high + in, *scratch_in = ones + in;
    double *wp = scratch_in + in, *wn = wp + nw, *wa = wn + nw, *wb = wa + nw, *w_ones = wb + nw, *w_sq = w_ones + nw;
    double *bp = w_sq + nw, *bn = bp + nb, *ba = bn + nb, *bb = ba + nb, *b_sq = bb + nb, *unused = b_sq + nb;
    double *z = unused + nb, *zp = z + out, *zn = zp + out, *s = zn + out, *s2 = s + out, *scratch = s2 + out;
    split(x, in, POSITIVE, xp);
    split(x, in, NEGATIVE, xn);
    split(w, nw, POSITIVE, wp);
    split(w, nw, NEGATIVE, wn);
    split(b, nb, POSITIVE, bp);
    split(b, nb, NEGATIVE, bn);
    for (int64_t i = 0; i < in; i++) r_in[i] = 0.0;
    double stabilizer = rc->stabilizer;
    switch (rc->kind) {
    case EPSILON: /* z = W x + b; R_in = x F^T(R / stab(z, E), W) */
        layer_forward(l, x, w, b, z);
        ratio(out, r, z, rc->a, NULL, 0, s);
        add_back(l, 1.0, x, s, w, r_in, scratch_in);
        break;
    case ALPHA_BETA: { /* alpha (x+ F^T(sp, W+) + x- F^T(sp, W-)) - beta (x+ F^T(sn, W-) + x- F^T(sn, W+)) */
        double alpha = rc->a, beta = rc->b;
        denominator(l, xp, wp, bp, xn, wn, zp, scratch);
        denominator(l, xp, wn, bn, xn, wp, zn, scratch);
        ratio(out, r, zp, stabilizer, NULL, 0, s);
        ratio(out, r, zn, stabilizer, NULL, 0, s2);
        add_back(l, alpha, xp, s, wp, r_in, scratch_in);
        add_back(l, alpha, xn, s, wn, r_in, scratch_in);
        add_back(l, -beta, xp, s2, wn, r_in, scratch_in);
        add_back(l, -beta, xn, s2, wp, r_in, scratch_in);
        break;
    }
    case GAMMA: { /* Wp = W + G W+, Wn = W + G W-, gated by the sign of the plain output */
        double g = rc->a;
        for (int64_t k = 0; k < nw; k++) {
            wa[k] = w[k] + g * wp[k];
            wb[k] = w[k] + g * wn[k];
        }
        for (int64_t k = 0; k < nb; k++) {
            ba[k] = b[k] + g * bp[k];
            bb[k] = b[k] + g * bn[k];
        }
        layer_forward(l, x, w, b, z);
        denominator(l, xp, wa, ba, xn, wb, zp, scratch);
        denominator(l, xp, wb, bb, xn, wa, zn, scratch);
        ratio(out, r, zp, stabilizer, z, 1, s);
        ratio(out, r, zn, stabilizer, z, -1, s2);
        add_back(l, 1.0, xp, s, wa, r_in, scratch_in);
        add_back(l, 1.0, xp, s2, wb, r_in, scratch_in);
        add_back(l, 1.0, xn, s, wb, r_in, scratch_in);
        add_back(l, 1.0, xn, s2, wa, r_in, scratch_in);
        break;
    }
    case ZBOX: /* z = W x + b - F(L, W+, b+) - F(H, W-, b-); R_in = x c - L c+ - H c- */
        for (int64_t i = 0; i < in; i++) {
            low[i] = rc->a;
            high[i] = rc->b;
        }
        layer_forward(l, x, w, b, z);
        layer_forward(l, low, wp, bp, scratch);
        for (int64_t o = 0; o < out; o++) z[o] -= scratch[o];
        layer_forward(l, high, wn, bn, scratch);
        for (int64_t o = 0; o < out; o++) z[o] -= scratch[o];
        ratio(out, r, z, stabilizer, NULL, 0, s);
        add_back(l, 1.0, x, s, w, r_in, scratch_in);
        add_back(l, -1.0, low, s, wp, r_in, scratch_in);
        add_back(l, -1.0, high, s, wn, r_in, scratch_in);
        break;
    case FLAT: /* z = F(ones, ones, no bias); R_in = F^T(R / stab(z), ones) */
    case WSQUARE: /* z = F(ones, W^2, b^2); R_in = F^T(R / stab(z), W^2) */
        for (int64_t i = 0; i < in; i++) ones[i] = 1.0;
        for (int64_t k = 0; k < nw; k++) {
            w_ones[k] = 1.0;
            w_sq[k] = w[k] * w[k];
        }
        for (int64_t k = 0; k < nb; k++) b_sq[k] = b[k] * b[k];
        if (rc->kind == FLAT)
            layer_forward(l, ones, w_ones, NULL, z);
        else
            layer_forward(l, ones, w_sq, b_sq, z);
        ratio(out, r, z, stabilizer, NULL, 0, s);
        add_back(l, 1.0, NULL, s, rc->kind == FLAT ? w_ones : w_sq, r_in, scratch_in);
        break;
    }
    free(buffer);
}

/* Doubles of floats. */
static double *doubles(const float *data, int64_t count) {
    double *result = malloc(sizeof(double) * (size_t)(count > 0 ? count : 1));
    if (!result) return NULL;
    for (int64_t i = 0; i < count; i++) result[i] = data[i];
    return result;
}

static illume_explain_options lrp_options(const char *composite, const char *rules) {
    illume_explain_options options;
    illume_explain_options_default(&options);
    options.method = ILLUME_LRP;
    options.device = "cpu";
    options.composite = composite;
    options.rules = rules;
    return options;
}

/* Explains the rows of x for their targets; keeps the explainer in *kept when asked for (else frees it). */
static illume_status explain_rows(illume_context *context, const illume_model *model,
                                  const illume_explain_options *options, const illume_tensor *x,
                                  const int64_t *targets, illume_tensor *attributions, illume_explain_row *rows,
                                  illume_explainer **kept) {
    illume_explainer *explainer = NULL;
    illume_tensor row = *x;
    row.dims[0] = 1;
    row.data = NULL;
    illume_status status = illume_explainer_create(context, model, options, &row, &explainer);
    if (status == ILLUME_OK) status = illume_explain(explainer, x, targets, attributions, rows, NULL);
    if (kept && status == ILLUME_OK)
        *kept = explainer;
    else
        illume_explainer_free(explainer);
    return status;
}

/* got (one row) against the reference within tolerance x its largest magnitude; a reference of zeros fails too. */
static void expect_relevance(const char *label, const float *got, const double *want, int64_t count,
                             double tolerance) {
    count_case();
    double scale = 0.0, error = -1.0, sum_got = 0.0, sum_want = 0.0;
    int64_t worst = 0;
    for (int64_t i = 0; i < count; i++) {
        scale = fmax(scale, fabs(want[i]));
        sum_got += got[i];
        sum_want += want[i];
        double e = fabs((double)got[i] - want[i]);
        if (!(e <= error)) {
            error = e;
            worst = i;
        }
    }
    if (!(scale > 0.0))
        test_fail("%s: the reference relevance is all zero (the case checks nothing)", label);
    else if (!(error <= tolerance * scale))
        test_fail("%s: element %lld is %.9g, the formula gives %.9g (error %.3g, largest |reference| %.3g; sums "
                  "%.9g and %.9g)",
                  label, (long long)worst, got[worst], want[worst], error, scale, sum_got, sum_want);
}

/* The row's target: preferred when its output is not tiny, else the largest output in magnitude. */
static int64_t pick_target(const double *z, int64_t count, int64_t preferred) {
    int64_t best = 0;
    for (int64_t o = 1; o < count; o++)
        if (fabs(z[o]) > fabs(z[best])) best = o;
    return preferred >= 0 && preferred < count && fabs(z[preferred]) >= 0.25 * fabs(z[best]) ? preferred : best;
}

static void one_hot(int64_t count, int64_t target, double value, double *r) {
    for (int64_t o = 0; o < count; o++) r[o] = o == target ? value : 0.0;
}

/* A model of one linear node (any batch) with the layer's weights and bias,
 * and (pooled) a GlobalAveragePool after it; a Gemm layer with add_bias as
 * a MatMul and an Add of the bias, as Keras's Dense exports, which the
 * session folds into the Gemm. */
static illume_model *linear_model(illume_context *context, const layer *l, const illume_tensor *w,
                                  const illume_tensor *bias, int pooled, int add_bias) {
    builder *b = builder_create(13);
    int v;
    if (l->conv) {
        const int64_t dims[4] = {-1, l->channels, l->size, l->size}, pads[4] = {1, 1, 1, 1};
        const int64_t strides[2] = {l->stride, l->stride};
        v = builder_input(b, "x", 4, dims);
        int node = builder_node(b, l->transpose ? "ConvTranspose" : "Conv", 3,
                                (int[]){v, builder_floats(b, "w", w->rank, w->dims, w->data),
                                        builder_floats(b, "b", 1, bias->dims, bias->data)},
                                1, &v);
        builder_attribute_ints(b, node, "pads", 4, pads);
        builder_attribute_ints(b, node, "strides", 2, strides);
    } else if (l->matmul || add_bias) {
        const int64_t dims[2] = {-1, l->in};
        v = builder_input(b, "x", 2, dims);
        builder_node(b, "MatMul", 2, (int[]){v, builder_floats(b, "w", w->rank, w->dims, w->data)}, 1, &v);
        if (add_bias) builder_node(b, "Add", 2, (int[]){v, builder_floats(b, "b", 1, bias->dims, bias->data)}, 1, &v);
    } else {
        const int64_t dims[2] = {-1, l->in};
        v = builder_input(b, "x", 2, dims);
        int node = builder_node(b, "Gemm", 3,
                                (int[]){v, builder_floats(b, "w", w->rank, w->dims, w->data),
                                        builder_floats(b, "b", 1, bias->dims, bias->data)},
                                1, &v);
        if (l->trans_b) builder_attribute_int(b, node, "transB", 1);
    }
    if (pooled) builder_node(b, "GlobalAveragePool", 1, &v, 1, &v);
    builder_output(b, v);
    illume_model *model = NULL;
    if (builder_finish(b, context, &model) != ILLUME_OK) test_fail("linear model: %s", illume_last_error(context));
    return model;
}

/* The weight tensor of a layer: Conv (F, C, 3, 3), ConvTranspose (C, F, 3, 3); Gemm and MatMul (in,
 * out), or (out, in) with transB. */
static illume_tensor layer_weights(const layer *l, float low, float high, uint64_t *seed) {
    if (l->conv) {
        const int64_t dims[4] = {l->transpose ? l->channels : l->features, l->transpose ? l->features : l->channels,
                                 3, 3};
        return tensor_random(4, dims, low, high, seed);
    }
    const int64_t dims[2] = {l->trans_b ? l->out : l->in, l->trans_b ? l->in : l->out};
    return tensor_random(2, dims, low, high, seed);
}

/* A bias whose values alternate in sign (or zeros; MatMul's are zeros, for the reference). */
static illume_tensor layer_bias(const layer *l, int zero) {
    const int64_t dims[1] = {l->biases};
    illume_tensor bias = tensor_zeros(1, dims);
    for (int64_t k = 0; !zero && !l->matmul && k < l->biases; k++) ((float *)bias.data)[k] = (k % 2 ? -0.1f : 0.15f) * (1 + k % 3);
    return bias;
}

static illume_tensor layer_input(const layer *l, int64_t rows, float low, float high, uint64_t *seed) {
    if (l->conv) {
        const int64_t dims[4] = {rows, l->channels, l->size, l->size};
        return tensor_random(4, dims, low, high, seed);
    }
    const int64_t dims[2] = {rows, l->in};
    return tensor_random(2, dims, low, high, seed);
}

/* 1. Every linear rule on one Conv and one Gemm (and a ConvTranspose and a
 * MatMul) against its formula: relevance at one output; and, with a
 * GlobalAveragePool after the convolutions, at every position of one channel
 * (the norm rule's h R / (stab(mean) H W)), so that overlapping windows add up. */
static void linear_rules(uint64_t *seed) {
    const float d_eps = 1e-6f, d_gamma = 0.25f, d_stab = 1e-6f;
    const rule_case cases[] = {
        {NULL, EPSILON, 0.1f, 0, 0.1f, d_gamma, d_stab, NAN, NAN},
        {"epsilon", EPSILON, 1e-6f, 0, d_eps, d_gamma, d_stab, NAN, NAN},
        {"epsilon", EPSILON, 0.25f, 0, 0.25f, d_gamma, d_stab, NAN, NAN},
        {"epsilon:0.1", EPSILON, 0.1f, 0, d_eps, d_gamma, d_stab, NAN, NAN},
        {"epsilon:0.1", EPSILON, 0.1f, 0, d_eps, d_gamma, 0.05f, NAN, NAN}, /* the stabilizer is not epsilon's */
        {"zplus", ALPHA_BETA, 1, 0, d_eps, d_gamma, d_stab, NAN, NAN},
        {"zplus", ALPHA_BETA, 1, 0, d_eps, d_gamma, 0.05f, NAN, NAN},
        {"alpha-beta:2,1", ALPHA_BETA, 2, 1, d_eps, d_gamma, d_stab, NAN, NAN},
        {"alpha-beta:1,0", ALPHA_BETA, 1, 0, d_eps, d_gamma, d_stab, NAN, NAN},
        {"alpha-beta:1,1", ALPHA_BETA, 1, 1, d_eps, d_gamma, d_stab, NAN, NAN},
        {"alpha-beta:2,1", ALPHA_BETA, 2, 1, d_eps, d_gamma, 0.05f, NAN, NAN},
        {"gamma", GAMMA, 0.25f, 0, d_eps, d_gamma, d_stab, NAN, NAN},
        {"gamma:0.5", GAMMA, 0.5f, 0, d_eps, d_gamma, d_stab, NAN, NAN},
        {"gamma", GAMMA, 0.5f, 0, d_eps, 0.5f, 0.05f, NAN, NAN},
        {"zbox:-1.5,2", ZBOX, -1.5f, 2, d_eps, d_gamma, d_stab, NAN, NAN},
        {"zbox", ZBOX, -1.5f, 2, d_eps, d_gamma, d_stab, -1.5f, 2.0f},
        {"zbox:-1.5,2", ZBOX, -1.5f, 2, d_eps, d_gamma, 0.05f, NAN, NAN},
        {"flat", FLAT, 0, 0, d_eps, d_gamma, d_stab, NAN, NAN},
        {"flat", FLAT, 0, 0, d_eps, d_gamma, 0.05f, NAN, NAN},
        {"wsquare", WSQUARE, 0, 0, d_eps, d_gamma, d_stab, NAN, NAN},
        {"wsquare", WSQUARE, 0, 0, d_eps, d_gamma, 0.05f, NAN, NAN},
    };
    const struct {
        const char *name;
        int conv, transpose;
        int64_t stride;
        int trans_b, matmul, pooled, add_bias;
    } layers[] = {{"Conv stride 2", 1, 0, 2, 0, 0, 0, 0},
                  {"Conv stride 1", 1, 0, 1, 0, 0, 0, 0},
                  {"Gemm", 0, 0, 1, 0, 0, 0, 0},
                  {"Gemm transB", 0, 0, 1, 1, 0, 0, 0},
                  {"ConvTranspose stride 2", 1, 1, 2, 0, 0, 0, 0},
                  {"MatMul", 0, 0, 1, 0, 1, 0, 0},
                  {"MatMul then Add of a bias (a Gemm)", 0, 0, 1, 0, 0, 0, 1},
                  {"Conv stride 2 then GlobalAveragePool", 1, 0, 2, 0, 0, 1, 0},
                  {"Conv stride 1 then GlobalAveragePool", 1, 0, 1, 0, 0, 1, 0},
                  {"ConvTranspose stride 2 then GlobalAveragePool", 1, 1, 2, 0, 0, 1, 0}};
    illume_context *context = illume_context_create();
    for (size_t k = 0; k < sizeof layers / sizeof layers[0]; k++) {
        layer l = layers[k].conv ? conv_layer(3, layers[k].transpose ? 4 : 6, 4, layers[k].stride, layers[k].transpose)
                                 : gemm_layer(7, 5, layers[k].trans_b, layers[k].matmul);
        illume_tensor w = layer_weights(&l, -0.5f, 0.5f, seed), bias = layer_bias(&l, 0);
        illume_tensor x = layer_input(&l, ROWS, -1.0f, 1.0f, seed), attributions = tensor_zeros(x.rank, x.dims);
        int pooled = layers[k].pooled;
        int64_t outputs = pooled ? l.features : l.out; /* of the model, per row */
        illume_model *model = linear_model(context, &l, &w, &bias, pooled, layers[k].add_bias);
        double *wd = doubles(w.data, l.weights), *bd = doubles(bias.data, l.biases);
        double *xd = doubles(x.data, ROWS * l.in), *z = calloc((size_t)(ROWS * l.out), sizeof(double));
        double *r = calloc((size_t)l.out, sizeof(double)), *want = calloc((size_t)l.in, sizeof(double));
        double *y = calloc((size_t)(ROWS * outputs), sizeof(double));
        int64_t targets[ROWS];
        if (!model || !l.taps || !wd || !bd || !xd || !z || !r || !want || !y) {
            test_fail("%s: setup failed", layers[k].name);
            goto next;
        }
        for (int64_t row = 0; row < ROWS; row++) {
            layer_forward(&l, xd + row * l.in, wd, bd, z + row * l.out);
            for (int64_t o = 0; o < outputs; o++) {
                double *out = &y[row * outputs + o];
                *out = pooled ? 0.0 : z[row * l.out + o];
                for (int64_t i = 0; pooled && i < l.plane; i++) *out += z[row * l.out + o * l.plane + i] / (double)l.plane;
            }
            const int64_t preferred[ROWS] = {-1, 0, outputs - 1};
            targets[row] = pick_target(y + row * outputs, outputs, preferred[row]);
        }
        for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
            const rule_case *rc = &cases[c];
            char rules[96], label[256];
            snprintf(rules, sizeof rules, "%s=%s", l.conv ? "conv" : "dense", rc->rule ? rc->rule : "");
            illume_explain_options options = lrp_options("none", rc->rule ? rules : NULL);
            options.epsilon = rc->epsilon;
            options.gamma = rc->gamma;
            options.stabilizer = rc->stabilizer;
            options.low = rc->low;
            options.high = rc->high;
            snprintf(label, sizeof label, "%s, %s (epsilon %g, gamma %g, stabilizer %g, low %g, high %g)",
                     layers[k].name, rc->rule ? rules : "composite none", rc->epsilon, rc->gamma, rc->stabilizer,
                     rc->low, rc->high);
            illume_explain_row rows[ROWS];
            memset(attributions.data, 0, illume_tensor_bytes(&attributions));
            if (explain_rows(context, model, &options, &x, targets, &attributions, rows, NULL) != ILLUME_OK) {
                count_case();
                test_fail("%s: %s", label, illume_last_error(context));
                continue;
            }
            for (int64_t row = 0; row < ROWS; row++) {
                char row_label[300];
                double output = y[row * outputs + targets[row]];
                snprintf(row_label, sizeof row_label, "%s, row %lld target %lld (output %.4g)", label, (long long)row,
                         (long long)targets[row], output);
                if (pooled) {
                    /* norm at the pool: R_z = z (R / stab(mean)) / (H W) over the target's channel */
                    one_hot(l.out, -1, 0.0, r);
                    for (int64_t i = 0; i < l.plane; i++) {
                        int64_t at = targets[row] * l.plane + i;
                        r[at] = z[row * l.out + at] * (output / stabilize(output, rc->stabilizer)) / (double)l.plane;
                    }
                } else {
                    one_hot(l.out, targets[row], output, r);
                }
                reference_linear(&l, rc, xd + row * l.in, wd, bd, r, want);
                expect_relevance(row_label, (const float *)attributions.data + row * l.in, want, l.in, 1e-4);
                count_case();
                double sum = 0.0;
                for (int64_t i = 0; i < l.in; i++) sum += ((const float *)attributions.data)[row * l.in + i];
                if (rows[row].target != targets[row] || !(fabs(rows[row].score - output) <= 1e-5) ||
                    !(fabs(rows[row].delta - (sum - rows[row].score)) <= 1e-5 * (1.0 + fabs(sum))))
                    test_fail("%s: row reports target %lld score %.9g delta %.9g; expected %lld, %.9g and %.9g",
                              row_label, (long long)rows[row].target, rows[row].score, rows[row].delta,
                              (long long)targets[row], output, sum - output);
            }
        }
    next:
        free(wd);
        free(bd);
        free(xd);
        free(y);
        free(z);
        free(r);
        free(want);
        illume_model_free(model);
        tensor_release(&w);
        tensor_release(&bias);
        tensor_release(&x);
        tensor_release(&attributions);
        layer_release(&l);
    }
    illume_context_destroy(context);
}

/* 2. Conservation: sum(R_in) = the target's output where the rule conserves
 * (the row's delta ~ 0), and sum(R_in) ~ 0 for alpha-beta 1,1. */
static void conservation(uint64_t *seed) {
    const struct {
        const char *name;
        int conv;
        const char *rules;
        float epsilon;
        float x_low;
        int conserves; /* else the sum is ~ 0 */
    } cases[] = {
        {"LRP-0 (epsilon 0) on a Gemm without bias", 0, NULL, 0.0f, -1.0f, 1},
        {"LRP-0 (dense=epsilon:0) on a Gemm without bias", 0, "dense=epsilon:0", 1e-6f, -1.0f, 1},
        {"z-plus on a Conv without bias, x >= 0", 1, "conv=zplus", 1e-6f, 0.0f, 1},
        {"alpha-beta 2,1 on a Conv without bias", 1, "conv=alpha-beta:2,1", 1e-6f, -1.0f, 1},
        {"alpha-beta 1,1 on a Conv without bias (sums to zero)", 1, "conv=alpha-beta:1,1", 1e-6f, -1.0f, 0},
    };
    illume_context *context = illume_context_create();
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        layer l = cases[c].conv ? conv_layer(3, 6, 4, 1, 0) : gemm_layer(7, 5, 0, 0);
        illume_tensor w = layer_weights(&l, -0.5f, 0.5f, seed), bias = layer_bias(&l, 1);
        illume_tensor x = layer_input(&l, ROWS, cases[c].x_low, 1.0f, seed), attributions = tensor_zeros(x.rank, x.dims);
        illume_model *model = linear_model(context, &l, &w, &bias, 0, 0);
        illume_explain_options options = lrp_options("none", cases[c].rules);
        options.epsilon = cases[c].epsilon;
        int64_t targets[ROWS];
        double *xd = doubles(x.data, ROWS * l.in), *wd = doubles(w.data, l.weights);
        double *z = calloc((size_t)l.out, sizeof(double));
        for (int64_t row = 0; xd && wd && z && row < ROWS; row++) {
            layer_forward(&l, xd + row * l.in, wd, NULL, z);
            targets[row] = pick_target(z, l.out, row == 0 ? -1 : row == 1 ? 1 : l.out / 2);
        }
        free(xd);
        free(wd);
        free(z);
        illume_explain_row rows[ROWS];
        count_case();
        if (!model || explain_rows(context, model, &options, &x, targets, &attributions, rows, NULL) != ILLUME_OK) {
            test_fail("%s: %s", cases[c].name, illume_last_error(context));
        } else {
            for (int64_t row = 0; row < ROWS; row++) {
                double sum = 0.0, magnitude = 0.0;
                for (int64_t i = 0; i < l.in; i++) {
                    double v = ((const float *)attributions.data)[row * l.in + i];
                    sum += v;
                    magnitude += fabs(v);
                }
                double score = rows[row].score, allowed = 1e-4 * fmax(fabs(score), magnitude);
                count_case();
                if (!(fabs(score) > 1e-3))
                    test_fail("%s, row %lld: the target's output %.3g is too small to test", cases[c].name,
                              (long long)row, score);
                else if (cases[c].conserves && !(fabs(rows[row].delta) <= allowed && fabs(sum - score) <= allowed))
                    test_fail("%s, row %lld target %lld: sum of relevance %.9g, target output %.9g, reported delta "
                              "%.9g",
                              cases[c].name, (long long)row, (long long)rows[row].target, sum, score, rows[row].delta);
                else if (!cases[c].conserves && !(fabs(sum) <= allowed && fabs(rows[row].delta + score) <= allowed))
                    test_fail("%s, row %lld: sum of relevance %.9g (expected ~0), target output %.9g, delta %.9g",
                              cases[c].name, (long long)row, sum, score, rows[row].delta);
            }
        }
        illume_model_free(model);
        tensor_release(&w);
        tensor_release(&bias);
        tensor_release(&x);
        tensor_release(&attributions);
        layer_release(&l);
    }
    illume_context_destroy(context);
}

/* The weights and bias of a Conv 3 -> 4 of a 6x6 input (stride 1, pads 1), in float and double. */
typedef struct conv_weights {
    layer l;
    illume_tensor w, b;
    double *wd, *bd;
} conv_weights;

static conv_weights conv_weights_create(int64_t channels, int64_t features, uint64_t *seed) {
    conv_weights c = {conv_layer(channels, 6, features, 1, 0), {0}, {0}, NULL, NULL};
    c.w = layer_weights(&c.l, -0.5f, 0.5f, seed);
    c.b = layer_bias(&c.l, 0);
    c.wd = doubles(c.w.data, c.l.weights);
    c.bd = doubles(c.b.data, c.l.biases);
    return c;
}

static void conv_weights_release(conv_weights *c) {
    tensor_release(&c->w);
    tensor_release(&c->b);
    free(c->wd);
    free(c->bd);
    layer_release(&c->l);
}

/* Appends the Conv (pads 1) of v; returns its output. */
static int add_conv_node(builder *b, int v, const conv_weights *c, const char *name) {
    char w_name[64], b_name[64];
    snprintf(w_name, sizeof w_name, "%s_w", name);
    snprintf(b_name, sizeof b_name, "%s_b", name);
    const int64_t pads[4] = {1, 1, 1, 1};
    int node = builder_node(b, "Conv", 3,
                            (int[]){v, builder_floats(b, w_name, 4, c->w.dims, c->w.data),
                                    builder_floats(b, b_name, 1, c->b.dims, c->b.data)},
                            1, &v);
    builder_attribute_ints(b, node, "pads", 4, pads);
    return v;
}

/* The epsilon rule at a Conv for relevance r at its output. */
static void conv_epsilon(const conv_weights *c, double epsilon, const double *x, const double *r, double *r_in) {
    const rule_case rc = {"epsilon", EPSILON, (float)epsilon, 0, (float)epsilon, 0.25f, 1e-6f, NAN, NAN};
    reference_linear(&c->l, &rc, x, c->wd, c->bd, r, r_in);
}

typedef enum structure { ADD_RELU, GATE, GATE_SWAPPED, MAX_POOL, AVERAGE_POOL, MAX_POOL_PROPORTIONAL, STRUCTURES } structure;

/* 3. The non-linear rules: norm on an Add of two Conv outputs (then pass
 * through Relu), the gate of x * Sigmoid(GlobalAveragePool(x)), max pooling
 * and norm on average pooling, and norm on max pooling (proportional: each
 * input's share of the window's sum), each after a Conv under epsilon. */
static void nonlinear_rules(uint64_t *seed) {
    static const char *const names[STRUCTURES] = {
        "norm at Add(Conv, Conv), pass at Relu", "gate at Mul(h, Sigmoid(GlobalAveragePool(h)))",
        "gate at Mul(Sigmoid(GlobalAveragePool(h)), h)", "gradient at MaxPool 2x2 stride 2",
        "norm at AveragePool 2x2 stride 2", "norm (proportional) at MaxPool 2x2 stride 2"};
    const float epsilon = 0.1f, stabilizer = 0.05f;
    illume_context *context = illume_context_create();
    for (int kind = 0; kind < STRUCTURES; kind++) {
        conv_weights first = conv_weights_create(3, 4, seed), second = conv_weights_create(3, 4, seed);
        const int64_t x_dims[4] = {ROWS, 3, 6, 6}, any[4] = {-1, 3, 6, 6};
        illume_tensor x = tensor_random(4, x_dims, -1.0f, 1.0f, seed), attributions = tensor_zeros(4, x_dims);
        builder *b = builder_create(13);
        int input = builder_input(b, "x", 4, any);
        int h = add_conv_node(b, input, &first, "first"), out = h;
        const int64_t window[2] = {2, 2};
        if (kind == ADD_RELU) {
            int other = add_conv_node(b, input, &second, "second");
            builder_node(b, "Add", 2, (int[]){h, other}, 1, &out);
            builder_node(b, "Relu", 1, &out, 1, &out);
        } else if (kind == GATE || kind == GATE_SWAPPED) {
            int gate = h;
            builder_node(b, "GlobalAveragePool", 1, &gate, 1, &gate);
            builder_node(b, "Sigmoid", 1, &gate, 1, &gate);
            builder_node(b, "Mul", 2, kind == GATE ? (int[]){h, gate} : (int[]){gate, h}, 1, &out);
        } else {
            int node = builder_node(b, kind == AVERAGE_POOL ? "AveragePool" : "MaxPool", 1, &h, 1, &out);
            builder_attribute_ints(b, node, "kernel_shape", 2, window);
            builder_attribute_ints(b, node, "strides", 2, window);
        }
        builder_output(b, out);
        illume_model *model = NULL;
        if (builder_finish(b, context, &model) != ILLUME_OK) test_fail("%s: %s", names[kind], illume_last_error(context));
        int64_t in = first.l.in, hidden = first.l.out, out_count = kind >= MAX_POOL ? hidden / 4 : hidden;
        double *xd = doubles(x.data, ROWS * in), *ha = calloc((size_t)hidden, sizeof(double));
        double *hb = calloc((size_t)hidden, sizeof(double));
        double *ra = calloc((size_t)hidden, sizeof(double)), *rb = calloc((size_t)hidden, sizeof(double));
        double *want = calloc((size_t)in, sizeof(double)), *part = calloc((size_t)in, sizeof(double));
        double *outputs = calloc((size_t)(ROWS * out_count), sizeof(double));
        int64_t targets[ROWS], winners[ROWS];
        illume_explain_row rows[ROWS];
        if (!model || !xd || !ha || !hb || !ra || !rb || !want || !part || !outputs || !first.wd ||
            !second.wd) {
            test_fail("%s: setup failed", names[kind]);
            goto done;
        }
        /* The outputs in double, and each row's target: the largest output, a
         * small index, a large one (where not tiny); at the Add, a positive
         * sum whose terms differ in sign where one is large enough. */
        for (int64_t row = 0; row < ROWS; row++) {
            const double *xr = xd + row * in;
            double *o = outputs + row * out_count;
            layer_forward(&first.l, xr, first.wd, first.bd, ha);
            layer_forward(&second.l, xr, second.wd, second.bd, hb);
            for (int64_t i = 0; i < out_count; i++) {
                if (kind == ADD_RELU) o[i] = fmax(ha[i] + hb[i], 0.0);
                if (kind == GATE || kind == GATE_SWAPPED) {
                    int64_t channel = i / first.l.plane;
                    double mean = 0.0;
                    for (int64_t j = 0; j < first.l.plane; j++) mean += ha[channel * first.l.plane + j];
                    o[i] = ha[i] / (1.0 + exp(-mean / (double)first.l.plane));
                }
                if (kind >= MAX_POOL) {
                    int64_t channel = i / 9, oy = i % 9 / 3, ox = i % 3;
                    double best = -INFINITY, sum = 0.0;
                    for (int64_t dy = 0; dy < 2; dy++)
                        for (int64_t dx = 0; dx < 2; dx++) {
                            double v = ha[channel * 36 + (2 * oy + dy) * 6 + 2 * ox + dx];
                            sum += v;
                            best = fmax(best, v);
                        }
                    o[i] = kind == AVERAGE_POOL ? sum / 4.0 : best;
                }
            }
            const int64_t preferred[ROWS] = {-1, 2, out_count - 3};
            targets[row] = pick_target(o, out_count, preferred[row]);
            if (kind == ADD_RELU && row > 0) {
                double top = 0.0;
                for (int64_t i = 0; i < out_count; i++) top = fmax(top, o[i]);
                for (int64_t i = row == 1 ? 0 : out_count - 1; i >= 0 && i < out_count; i += row == 1 ? 1 : -1)
                    if (o[i] > 0.3 * top && ha[i] * hb[i] < 0.0) {
                        targets[row] = i;
                        break;
                    }
            }
        }
        illume_explain_options options = lrp_options("none", kind == MAX_POOL_PROPORTIONAL ? "maxpool=norm" : NULL);
        options.epsilon = epsilon;
        options.stabilizer = stabilizer;
        if (explain_rows(context, model, &options, &x, targets, &attributions, rows, NULL) != ILLUME_OK) {
            count_case();
            test_fail("%s: %s", names[kind], illume_last_error(context));
            goto done;
        }
        for (int64_t row = 0; row < ROWS; row++) {
            const double *xr = xd + row * in;
            int64_t t = targets[row];
            double value = outputs[row * out_count + t];
            layer_forward(&first.l, xr, first.wd, first.bd, ha);
            layer_forward(&second.l, xr, second.wd, second.bd, hb);
            for (int64_t i = 0; i < hidden; i++) ra[i] = rb[i] = 0.0;
            winners[row] = -1;
            if (kind == ADD_RELU) {
                /* pass: R at the Add is R at the Relu; norm: R_a = a R / stab(a + b, s), R_b likewise */
                double sum = ha[t] + hb[t];
                ra[t] = ha[t] * value / stabilize(sum, stabilizer);
                rb[t] = hb[t] * value / stabilize(sum, stabilizer);
            } else if (kind == GATE || kind == GATE_SWAPPED) {
                ra[t] = value; /* all to h, none to the gate */
            } else {
                int64_t channel = t / 9, oy = t % 9 / 3, ox = t % 3;
                double pooled = kind == MAX_POOL ? value : stabilize(value, stabilizer), window_sum = 0.0;
                for (int64_t dy = 0; dy < 2; dy++)
                    for (int64_t dx = 0; dx < 2; dx++) window_sum += ha[channel * 36 + (2 * oy + dy) * 6 + 2 * ox + dx];
                for (int64_t dy = 0; dy < 2; dy++)
                    for (int64_t dx = 0; dx < 2; dx++) {
                        int64_t at = channel * 36 + (2 * oy + dy) * 6 + 2 * ox + dx;
                        if (kind == MAX_POOL && ha[at] == value) winners[row] = at;
                        if (kind == AVERAGE_POOL) ra[at] = ha[at] * (value / pooled) / 4.0;
                        if (kind == MAX_POOL_PROPORTIONAL)
                            ra[at] = ha[at] * value / (4.0 * stabilize(window_sum / 4.0, stabilizer));
                    }
                if (kind == MAX_POOL && winners[row] >= 0) ra[winners[row]] = value;
            }
            conv_epsilon(&first, epsilon, xr, ra, want);
            if (kind == ADD_RELU) {
                conv_epsilon(&second, epsilon, xr, rb, part);
                for (int64_t i = 0; i < in; i++) want[i] += part[i];
            }
            char label[300];
            snprintf(label, sizeof label, "%s (Conv epsilon %g, stabilizer %g), row %lld target %lld (output %.4g)",
                     names[kind], epsilon, stabilizer, (long long)row, (long long)t, value);
            count_case();
            if (!(fabs(rows[row].score - value) <= 1e-5 * (1.0 + fabs(value))))
                test_fail("%s: row reports score %.9g", label, rows[row].score);
            expect_relevance(label, (const float *)attributions.data + row * in, want, in, 1e-4);
        }
    done:
        free(xd);
        free(ha);
        free(hb);
        free(ra);
        free(rb);
        free(want);
        free(part);
        free(outputs);
        illume_model_free(model);
        tensor_release(&x);
        tensor_release(&attributions);
        conv_weights_release(&first);
        conv_weights_release(&second);
    }
    illume_context_destroy(context);
}

/* BatchNormalization: unfolded after the input, it passes relevance (the
 * Conv after it sees the normalized input); folded into the Conv before it,
 * the Conv's rule sees the folded weights W s / sqrt(v + e) and bias
 * (b - m) s / sqrt(v + e) + beta (scales of both signs). */
/* How a per-channel affine map meets the Conv in the batchnorm test: before
 * it (relevance passes through the map), or after it, folded into it. */
typedef enum affine_form {
    BATCHNORM_BEFORE,  /* BatchNormalization over the input: pass */
    SCALE_BEFORE,      /* Mul(c, x) over the input, the constant first: pass to input 1 */
    BATCHNORM_AFTER,   /* folded into the Conv */
    MUL_ADD_AFTER,     /* Mul and Add by per-channel constants (tf2onnx's unmerged BatchNorm): folded */
    DIV_SUB_AFTER,     /* Div and Sub by them: folded */
    AFFINE_FORMS
} affine_form;

static void batchnorm(uint64_t *seed) {
    const float scale[4] = {1.5f, -0.7f, 0.8f, -1.2f}, shift[4] = {0.1f, -0.2f, 0.3f, 0.05f};
    const float mean[4] = {0.2f, -0.1f, 0.05f, 0.3f}, variance[4] = {0.5f, 1.3f, 0.8f, 2.0f};
    const double bn_epsilon = 1e-5;
    static const char *const names[AFFINE_FORMS] = {
        "BatchNormalization (pass) then Conv", "Mul by a per-channel constant (pass) then Conv",
        "Conv then BatchNormalization (folded)", "Conv then Mul and Add by per-channel constants (folded)",
        "Conv then Div and Sub by per-channel constants (folded)"};
    illume_context *context = illume_context_create();
    for (int form = 0; form < AFFINE_FORMS; form++) {
        int after = form >= BATCHNORM_AFTER;
        /* Before: a map over the input's 3 channels; after: over the Conv's 4. */
        conv_weights conv = conv_weights_create(3, 4, seed);
        int64_t channels = after ? 4 : 3;
        const int64_t x_dims[4] = {ROWS, 3, 6, 6}, any[4] = {-1, 3, 6, 6}, c_dims[1] = {channels};
        const int64_t broadcast_dims[4] = {1, channels, 1, 1}, column_dims[3] = {channels, 1, 1};
        /* The map per channel, y = factor x + offset, and its constants as the model holds them. */
        double factor[4], offset[4];
        float constant_scale[4], constant_shift[4];
        for (int64_t c = 0; c < channels; c++) {
            factor[c] = form == SCALE_BEFORE ? scale[c] : scale[c] / sqrt((double)variance[c] + bn_epsilon);
            offset[c] = form == SCALE_BEFORE ? 0.0 : shift[c] - mean[c] * factor[c];
            constant_scale[c] = (float)(form == DIV_SUB_AFTER ? 1.0 / factor[c] : factor[c]);
            constant_shift[c] = (float)(form == DIV_SUB_AFTER ? -offset[c] : offset[c]);
        }
        illume_tensor x = tensor_random(4, x_dims, -1.0f, 1.0f, seed), attributions = tensor_zeros(4, x_dims);
        builder *b = builder_create(13);
        int v = builder_input(b, "x", 4, any);
        if (after) v = add_conv_node(b, v, &conv, "conv");
        if (form == BATCHNORM_BEFORE || form == BATCHNORM_AFTER) {
            builder_node(b, "BatchNormalization", 5,
                         (int[]){v, builder_floats(b, "scale", 1, c_dims, scale),
                                 builder_floats(b, "shift", 1, c_dims, shift), builder_floats(b, "mean", 1, c_dims, mean),
                                 builder_floats(b, "variance", 1, c_dims, variance)},
                         1, &v);
        } else if (form == SCALE_BEFORE) {
            builder_node(b, "Mul", 2, (int[]){builder_floats(b, "scale", 4, broadcast_dims, constant_scale), v}, 1, &v);
        } else {
            builder_node(b, form == MUL_ADD_AFTER ? "Mul" : "Div", 2,
                         (int[]){v, builder_floats(b, "scale", 4, broadcast_dims, constant_scale)}, 1, &v);
            builder_node(b, form == MUL_ADD_AFTER ? "Add" : "Sub", 2,
                         (int[]){v, builder_floats(b, "shift", 3, column_dims, constant_shift)}, 1, &v);
        }
        if (!after) v = add_conv_node(b, v, &conv, "conv");
        builder_output(b, v);
        illume_model *model = NULL;
        const char *name = names[form];
        if (builder_finish(b, context, &model) != ILLUME_OK)
            test_fail("%s model: %s", name, illume_last_error(context));
        const layer *l = &conv.l;
        double *xd = doubles(x.data, ROWS * l->in), *u = calloc((size_t)l->in, sizeof(double));
        double *z = calloc((size_t)l->out, sizeof(double)), *r = calloc((size_t)l->out, sizeof(double));
        double *want = calloc((size_t)l->in, sizeof(double)), *w = calloc((size_t)l->weights, sizeof(double));
        double bias[4];
        int64_t targets[ROWS];
        illume_explain_row rows[ROWS];
        illume_explainer *explainer = NULL;
        if (!model || !xd || !u || !z || !r || !want || !w || !conv.wd) {
            test_fail("%s: setup failed", name);
            goto next;
        }
        /* The weights the rule sees. */
        for (int64_t k = 0; k < l->weights; k++) w[k] = conv.wd[k];
        for (int64_t f = 0; f < 4; f++) bias[f] = conv.bd[f];
        if (after)
            for (int64_t f = 0; f < 4; f++) {
                for (int64_t k = 0; k < 27; k++) w[f * 27 + k] *= factor[f];
                bias[f] = bias[f] * factor[f] + offset[f];
            }
        for (int64_t row = 0; row < ROWS; row++) {
            const double *xr = xd + row * l->in;
            for (int64_t i = 0; i < l->in; i++) u[i] = after ? xr[i] : factor[i / 36] * xr[i] + offset[i / 36];
            layer_forward(l, u, w, bias, z);
            /* The largest output of channel 1, 3 and 0 (the negative scales first). */
            int64_t channel = row == 0 ? 1 : row == 1 ? 3 : 0;
            targets[row] = channel * l->plane + pick_target(z + channel * l->plane, l->plane, -1);
        }
        illume_explain_options options = lrp_options("none", "conv=alpha-beta:2,1");
        options.stabilizer = 0.05f;
        if (explain_rows(context, model, &options, &x, targets, &attributions, rows, &explainer) != ILLUME_OK) {
            count_case();
            test_fail("%s: %s", name, illume_last_error(context));
            goto next;
        }
        /* The listing: the Conv alone when folded, else the map with pass. */
        count_case();
        illume_rule_entry entry;
        int listed = illume_explainer_rule(explainer, 0, &entry), found_map = 0, found_conv = 0;
        const char *pass = form == SCALE_BEFORE ? "pass (relevance to input 1)" : "pass";
        for (int n = 0; n < listed; n++) {
            illume_explainer_rule(explainer, n, &entry);
            /* (a Transpose the layout pass adds back to the model's order is no node of the model) */
            if (!strcmp(entry.op_type, "Conv")) found_conv = !strcmp(entry.rule, "alpha-beta:2,1") ? 1 : -1;
            else if (strcmp(entry.op_type, "Transpose")) found_map = !strcmp(entry.rule, pass) ? 1 : -1;
        }
        if (found_conv != 1 || found_map != (after ? 0 : 1))
            test_fail("%s: the listing of %d nodes has the Conv %s and the map %s", name, listed,
                      found_conv == 1 ? "with alpha-beta:2,1" : found_conv ? "with another rule" : "missing",
                      found_map == 1 ? "with pass" : found_map ? "with another rule or nodes" : "folded");
        const rule_case rc = {"alpha-beta:2,1", ALPHA_BETA, 2, 1, 1e-6f, 0.25f, 0.05f, NAN, NAN};
        for (int64_t row = 0; row < ROWS; row++) {
            const double *xr = xd + row * l->in;
            for (int64_t i = 0; i < l->in; i++) u[i] = after ? xr[i] : factor[i / 36] * xr[i] + offset[i / 36];
            layer_forward(l, u, w, bias, z);
            one_hot(l->out, targets[row], z[targets[row]], r);
            reference_linear(l, &rc, u, w, bias, r, want);
            char label[256];
            snprintf(label, sizeof label, "%s, row %lld target %lld (output %.4g)", name, (long long)row,
                     (long long)targets[row], z[targets[row]]);
            count_case();
            if (!(fabs(rows[row].score - z[targets[row]]) <= 1e-4 * (1.0 + fabs(z[targets[row]]))))
                test_fail("%s: row reports score %.9g", label, rows[row].score);
            expect_relevance(label, (const float *)attributions.data + row * l->in, want, l->in, 1e-4);
        }
        /* Unfolded, the BatchNormalization may take epsilon: x s R / stabilize(y, E), s its per-channel scale. */
        if (form == BATCHNORM_BEFORE) {
            illume_explain_options with_epsilon = lrp_options("none", "conv=alpha-beta:2,1;batchnorm=epsilon:0.1");
            with_epsilon.stabilizer = 0.05f;
            if (explain_rows(context, model, &with_epsilon, &x, targets, &attributions, rows, NULL) != ILLUME_OK) {
                count_case();
                test_fail("BatchNormalization with epsilon: %s", illume_last_error(context));
                goto next;
            }
            for (int64_t row = 0; row < ROWS; row++) {
                const double *xr = xd + row * l->in;
                for (int64_t i = 0; i < l->in; i++) u[i] = factor[i / 36] * xr[i] + offset[i / 36];
                layer_forward(l, u, w, bias, z);
                one_hot(l->out, targets[row], z[targets[row]], r);
                reference_linear(l, &rc, u, w, bias, r, want);
                for (int64_t i = 0; i < l->in; i++) want[i] = xr[i] * factor[i / 36] * want[i] / stabilize(u[i], 0.1);
                char label[128];
                snprintf(label, sizeof label, "BatchNormalization epsilon:0.1 then Conv alpha-beta:2,1, row %lld",
                         (long long)row);
                expect_relevance(label, (const float *)attributions.data + row * l->in, want, l->in, 1e-4);
            }
        }
    next:
        illume_explainer_free(explainer);
        free(xd);
        free(u);
        free(z);
        free(r);
        free(want);
        free(w);
        illume_model_free(model);
        tensor_release(&x);
        tensor_release(&attributions);
        conv_weights_release(&conv);
    }
    illume_context_destroy(context);
}

/* The CNN of test 4: x (3, 6, 6) -> Conv 3->4 -> Relu -> Conv 4->5 ->
 * GlobalAveragePool -> Flatten -> Gemm 5->3 (transB). */
typedef struct cnn {
    conv_weights conv1, conv2;
    layer dense;
    illume_tensor w3, b3;
    double *w3d, *b3d;
} cnn;

static cnn cnn_create(uint64_t *seed) {
    cnn net = {conv_weights_create(3, 4, seed), conv_weights_create(4, 5, seed), gemm_layer(5, 3, 1, 0),
               {0}, {0}, NULL, NULL};
    net.w3 = layer_weights(&net.dense, -2.0f, 2.0f, seed);
    net.b3 = layer_bias(&net.dense, 0);
    net.w3d = doubles(net.w3.data, net.dense.weights);
    net.b3d = doubles(net.b3.data, net.dense.biases);
    return net;
}

static void cnn_release(cnn *net) {
    conv_weights_release(&net->conv1);
    conv_weights_release(&net->conv2);
    layer_release(&net->dense);
    tensor_release(&net->w3);
    tensor_release(&net->b3);
    free(net->w3d);
    free(net->b3d);
}

/* The CNN, ending in a Softmax over its logits when softmax is set. */
static illume_model *cnn_model(illume_context *context, const cnn *net, int softmax) {
    builder *b = builder_create(13);
    const int64_t any[4] = {-1, 3, 6, 6};
    int v = builder_input(b, "x", 4, any);
    v = add_conv_node(b, v, &net->conv1, "conv1");
    builder_node(b, "Relu", 1, &v, 1, &v);
    v = add_conv_node(b, v, &net->conv2, "conv2");
    builder_node(b, "GlobalAveragePool", 1, &v, 1, &v);
    builder_node(b, "Flatten", 1, &v, 1, &v);
    int node = builder_node(b, "Gemm", 3,
                            (int[]){v, builder_floats(b, "w3", 2, net->w3.dims, net->w3.data),
                                    builder_floats(b, "b3", 1, net->b3.dims, net->b3.data)},
                            1, &v);
    builder_attribute_int(b, node, "transB", 1);
    if (softmax) builder_node(b, "Softmax", 1, &v, 1, &v);
    builder_output(b, v);
    illume_model *model = NULL;
    if (builder_finish(b, context, &model) != ILLUME_OK) test_fail("CNN: %s", illume_last_error(context));
    return model;
}

/* epsilon-plus-flat on the CNN, by the formulas: Gemm epsilon, GlobalAveragePool
 * norm, Conv 2 z-plus, Relu pass, Conv 1 (the first layer) flat. Returns the output. */
static double cnn_reference(const cnn *net, const double *x, int64_t target, float epsilon, float stabilizer,
                            double *r_in) {
    const layer *l1 = &net->conv1.l, *l2 = &net->conv2.l;
    int64_t plane = l2->plane;
    double *h1 = calloc((size_t)l1->out, sizeof(double)), *a1 = calloc((size_t)l1->out, sizeof(double));
    double *h2 = calloc((size_t)l2->out, sizeof(double)), *r2 = calloc((size_t)l2->out, sizeof(double));
    double *r1 = calloc((size_t)l1->out, sizeof(double));
    double pooled[5], y[3], r_y[3], r_pooled[5];
    double result = NAN;
    if (!h1 || !a1 || !h2 || !r2 || !r1) goto done;
    layer_forward(l1, x, net->conv1.wd, net->conv1.bd, h1);
    for (int64_t i = 0; i < l1->out; i++) a1[i] = fmax(h1[i], 0.0);
    layer_forward(l2, a1, net->conv2.wd, net->conv2.bd, h2);
    for (int64_t c = 0; c < 5; c++) {
        pooled[c] = 0.0;
        for (int64_t i = 0; i < plane; i++) pooled[c] += h2[c * plane + i];
        pooled[c] /= (double)plane;
    }
    layer_forward(&net->dense, pooled, net->w3d, net->b3d, y);
    result = y[target];
    one_hot(3, target, y[target], r_y);
    rule_case dense = {"epsilon", EPSILON, epsilon, 0, epsilon, 0.25f, stabilizer, NAN, NAN};
    reference_linear(&net->dense, &dense, pooled, net->w3d, net->b3d, r_y, r_pooled);
    for (int64_t c = 0; c < 5; c++)
        for (int64_t i = 0; i < plane; i++)
            r2[c * plane + i] = h2[c * plane + i] * r_pooled[c] / stabilize(pooled[c], stabilizer) / (double)plane;
    rule_case zplus = {"zplus", ALPHA_BETA, 1, 0, epsilon, 0.25f, stabilizer, NAN, NAN};
    reference_linear(l2, &zplus, a1, net->conv2.wd, net->conv2.bd, r2, r1);
    rule_case flat = {"flat", FLAT, 0, 0, epsilon, 0.25f, stabilizer, NAN, NAN};
    reference_linear(l1, &flat, x, net->conv1.wd, net->conv1.bd, r1, r_in);
done:
    free(h1);
    free(a1);
    free(h2);
    free(r2);
    free(r1);
    return result;
}

/* The CNN's nodes as the builder names them. The explained graph may hold
 * nodes of the engine's own between them (a Reshape of the layout pass),
 * which route relevance by their gradient. */
static const char *const cnn_nodes[6] = {"Conv_0", "Relu_1", "Conv_2", "GlobalAveragePool_3", "Flatten_4", "Gemm_5"};
static const char *const cnn_ops[6] = {"Conv", "Relu", "Conv", "GlobalAveragePool", "Flatten", "Gemm"};

/* The index of a node in the explainer's listing, or -1. */
static int listed_index(const illume_explainer *explainer, const char *node) {
    illume_rule_entry entry;
    int count = illume_explainer_rule(explainer, 0, &entry);
    for (int n = 0; n < count; n++) {
        illume_explainer_rule(explainer, n, &entry);
        if (entry.node && !strcmp(entry.node, node)) return n;
    }
    return -1;
}

/* Whether the explainer lists the CNN's nodes in order with the expected rules
 * (NULL: not checked) and conserves flags, any other node with "gradient". */
static void expect_rules(const char *label, const illume_explainer *explainer, const char *const *rules,
                         const int *conserves) {
    count_case();
    illume_rule_entry entry;
    int listed = illume_explainer_rule(explainer, 0, &entry);
    char listing[1536] = "";
    for (int n = 0; n < listed; n++) {
        illume_explainer_rule(explainer, n, &entry);
        snprintf(listing + strlen(listing), sizeof listing - strlen(listing), "%s%d %s %s '%s'%s", n ? "; " : "",
                 entry.index, entry.node, entry.op_type, entry.rule, entry.conserves ? "" : " (does not conserve)");
    }
    int next = 0;
    for (int n = 0; n < listed; n++) {
        memset(&entry, 0, sizeof entry);
        illume_explainer_rule(explainer, n, &entry);
        int ours = next < 6 && entry.node && !strcmp(entry.node, cnn_nodes[next]);
        int right = entry.index == n && entry.node && entry.op_type;
        if (right && ours)
            right = !strcmp(entry.op_type, cnn_ops[next]) && (!rules[next] || !strcmp(entry.rule, rules[next])) &&
                    entry.conserves == conserves[next];
        else if (right)
            right = !strcmp(entry.rule, "gradient") && entry.conserves;
        if (!right) {
            test_fail("%s: entry %d is %d %s %s '%s' conserves %d, expected %s%s '%s'%s (%s)", label, n, entry.index,
                      entry.node ? entry.node : "(null)", entry.op_type ? entry.op_type : "(null)", entry.rule,
                      entry.conserves, ours ? cnn_nodes[next] : "a node of the engine's own",
                      ours ? "" : " with rule", ours ? (rules[next] ? rules[next] : "*") : "gradient",
                      ours && !conserves[next] ? ", not conserving" : "", listing);
            return;
        }
        next += ours;
    }
    if (next != 6) {
        test_fail("%s: the listing lacks node %s (%s)", label, cnn_nodes[next], listing);
        return;
    }
    /* Past the end: the count, the entry untouched. */
    memset(&entry, 0x5a, sizeof entry);
    illume_rule_entry untouched = entry;
    if (illume_explainer_rule(explainer, listed, &entry) != listed || memcmp(&entry, &untouched, sizeof entry))
        test_fail("%s: illume_explainer_rule past the end changed the entry or the count", label);
}

/* 4. The rule listing of a composite, a rule map's precedence, the
 * conserves flag, and epsilon-plus-flat end to end. */
static void composites(uint64_t *seed) {
    illume_context *context = illume_context_create();
    cnn net = cnn_create(seed);
    illume_model *model = cnn_model(context, &net, 0);
    const int64_t x_dims[4] = {ROWS, 3, 6, 6};
    illume_tensor x = tensor_random(4, x_dims, -1.0f, 1.0f, seed), attributions = tensor_zeros(4, x_dims);
    double *xd = doubles(x.data, ROWS * 108), *want = calloc(108, sizeof(double));
    illume_explain_row rows[ROWS];
    const int64_t targets[ROWS] = {-1, 0, 2};
    illume_explainer *explainer = NULL;
    int gemm_index = -1;
    if (!model || !xd || !want) {
        test_fail("composites: setup failed");
        goto done;
    }
    /* The default composite, epsilon-plus-flat. */
    illume_explain_options options = lrp_options(NULL, NULL);
    options.composite = "epsilon-plus-flat";
    if (explain_rows(context, model, &options, &x, targets, &attributions, rows, &explainer) != ILLUME_OK) {
        count_case();
        test_fail("epsilon-plus-flat: %s", illume_last_error(context));
    } else {
        static const char *const rules[6] = {"flat", "pass", "zplus", "norm", "gradient", "epsilon:1e-06"};
        static const int conserving[6] = {1, 1, 1, 1, 1, 1};
        expect_rules("epsilon-plus-flat", explainer, rules, conserving);
        gemm_index = listed_index(explainer, "Gemm_5");
        for (int64_t row = 0; row < ROWS; row++) {
            double output = cnn_reference(&net, xd + row * 108, rows[row].target, options.epsilon, options.stabilizer,
                                          want);
            char label[160];
            snprintf(label, sizeof label, "epsilon-plus-flat on Conv-Relu-Conv-GAP-Flatten-Gemm, row %lld target %lld",
                     (long long)row, (long long)rows[row].target);
            count_case();
            if ((targets[row] >= 0 && rows[row].target != targets[row]) ||
                !(fabs(rows[row].score - output) <= 1e-4 * (1.0 + fabs(output))))
                test_fail("%s: row reports target %lld score %.9g, the reference output is %.9g", label,
                          (long long)rows[row].target, rows[row].score, output);
            expect_relevance(label, (const float *)attributions.data + row * 108, want, 108, 1e-4);
        }
    }
    illume_explainer_free(explainer);
    explainer = NULL;
    if (gemm_index < 0) {
        test_fail("the listing has no node Gemm_5");
        goto done;
    }
    /* Over the composite, alpha-beta 1,1 on the convolutions: not conserving. */
    options.rules = "conv=alpha-beta:1,1";
    if (explain_rows(context, model, &options, &x, targets, &attributions, rows, &explainer) != ILLUME_OK) {
        count_case();
        test_fail("epsilon-plus-flat with conv=alpha-beta:1,1: %s", illume_last_error(context));
    } else {
        static const char *const rules[6] = {NULL, "pass", "alpha-beta:1,1", "norm", "gradient", "epsilon:1e-06"};
        static const int conserving[6] = {0, 1, 0, 1, 1, 1};
        illume_rule_entry entry;
        illume_explainer_rule(explainer, 0, &entry);
        int first_conserves = strcmp(entry.rule, "flat") == 0;
        int flags[6];
        memcpy(flags, conserving, sizeof flags);
        flags[0] = first_conserves;
        expect_rules("epsilon-plus-flat with conv=alpha-beta:1,1", explainer, rules, flags);
    }
    illume_explainer_free(explainer);
    explainer = NULL;
    /* Precedence whatever the order: a node name beats an index range, which
     * beats the first layer, which beats a kind; options fill the defaults. */
    const struct {
        const char *composite, *rules;
        float low, high;
        const char *expected[6];
    } maps[] = {
        {"none", "node:Conv_2=wsquare; index:0-0=gamma:0.5; first=flat; conv=zplus; dense=zbox:-1,1", NAN, NAN,
         {"gamma:0.5", "pass", "wsquare", "norm", "gradient", "zbox:-1,1"}},
        {"none", "conv=zplus; first=flat; activation=gradient; avgpool=gradient", NAN, NAN,
         {"flat", "gradient", "zplus", "gradient", "gradient", "epsilon:0.125"}},
        {"epsilon-gamma-box", NULL, -1.0f, 1.5f,
         {"zbox:-1,1.5", "pass", "gamma:0.375", "norm", "gradient", "epsilon:0.125"}},
        {"epsilon-gamma-box", "first=zbox:-2,3", -1.0f, 1.5f,
         {"zbox:-2,3", "pass", "gamma:0.375", "norm", "gradient", "epsilon:0.125"}},
        {"preset-b-flat", " dense = epsilon ; ", NAN, NAN,
         {"flat", "pass", "alpha-beta:2,1", "norm", "gradient", "epsilon:0.125"}},
        {"preset-a", NULL, NAN, NAN, {"alpha-beta:1,0", "pass", "alpha-beta:1,0", "norm", "gradient", "epsilon:0.1"}},
        {"epsilon-alpha2-beta1-flat", "index:%d=alpha-beta:3,2; node:Relu_1=norm", NAN, NAN,
         {"flat", "norm", "alpha-beta:2,1", "norm", "gradient", "alpha-beta:3,2"}},
        {"epsilon-plus", "first=wsquare", NAN, NAN,
         {"wsquare", "pass", "zplus", "norm", "gradient", "epsilon:0.125"}},
    };
    for (size_t m = 0; m < sizeof maps / sizeof maps[0]; m++) {
        /* The rule maps name the Gemm's index in the explained graph. */
        char map[160];
        if (maps[m].rules) snprintf(map, sizeof map, maps[m].rules, gemm_index);
        illume_explain_options mapped = lrp_options(maps[m].composite, maps[m].rules ? map : NULL);
        mapped.epsilon = 0.125f;
        mapped.gamma = 0.375f;
        mapped.low = maps[m].low;
        mapped.high = maps[m].high;
        char label[256];
        snprintf(label, sizeof label, "composite %s, rules '%s'", maps[m].composite, maps[m].rules ? map : "");
        if (explain_rows(context, model, &mapped, &x, targets, &attributions, rows, &explainer) != ILLUME_OK) {
            count_case();
            test_fail("%s: %s", label, illume_last_error(context));
            continue;
        }
        static const int conserving[6] = {1, 1, 1, 1, 1, 1}; /* alpha - beta = 1 conserves */
        expect_rules(label, explainer, maps[m].expected, conserving);
        illume_explainer_free(explainer);
        explainer = NULL;
    }
done:
    free(xd);
    free(want);
    tensor_release(&x);
    tensor_release(&attributions);
    illume_model_free(model);
    cnn_release(&net);
    illume_context_destroy(context);
}

/* 5. Refusals: each bad composite, rule, key or node makes the explainer fail
 * with INVALID_INPUT and a message that names the problem. */
static void refusals(uint64_t *seed) {
    illume_context *context = illume_context_create();
    cnn net = cnn_create(seed);
    illume_model *model = cnn_model(context, &net, 0);
    const int64_t x_dims[4] = {1, 3, 6, 6};
    illume_tensor x = tensor_random(4, x_dims, -1.0f, 1.0f, seed), attributions = tensor_zeros(4, x_dims);
    const struct {
        const char *label, *composite, *rules;
        const char *mentions[2];
    } cases[] = {
        {"unknown composite", "epsilon-plus-flatter", NULL, {"unknown LRP composite", "epsilon-plus-flatter"}},
        {"unknown rule", "none", "conv=epsilom:0.1", {"unknown LRP rule", "epsilom"}},
        {"unknown rule after a good entry", "none", "dense=epsilon; conv=zminus", {"unknown LRP rule", "zminus"}},
        {"bad key", "none", "kernel=zplus", {"rule map key", "kernel"}},
        {"bad index range", "none", "index:3-1=zplus", {"rule map key", "index:3-1"}},
        {"entry without a rule", "none", "conv zplus", {"not KEY=RULE", "conv zplus"}},
        {"node that is not in the model", "none", "node:Conv_9=flat", {"no node", "Conv_9"}},
        {"zbox without bounds", "epsilon-gamma-box", NULL, {"zbox", "bounds"}},
        {"zbox without bounds in a map", "none", "conv=zbox", {"zbox", "bounds"}},
        {"alpha-beta without alpha and beta", "none", "conv=alpha-beta", {"alpha-beta", "alpha and beta"}},
        {"alpha-beta with one number", "none", "conv=alpha-beta:2", {"alpha-beta:2", "two numbers"}},
        {"zplus with a parameter", "none", "conv=zplus:1", {"zplus:1", "no parameters"}},
        {"negative epsilon", "none", "dense=epsilon:-1", {"epsilon:-1", "negative"}},
        {"a linear rule on a Relu", "none", "node:Relu_1=epsilon", {"Relu_1", "needs a Conv"}},
        {"a linear rule on a GlobalAveragePool", "none", "avgpool=zplus", {"GlobalAveragePool", "needs a Conv"}},
    };
    for (size_t c = 0; model && c < sizeof cases / sizeof cases[0]; c++) {
        illume_explain_options options = lrp_options(cases[c].composite, cases[c].rules);
        const int64_t target = 0;
        illume_explainer *explainer = NULL;
        illume_tensor row = x;
        row.data = NULL;
        illume_status status = illume_explainer_create(context, model, &options, &row, &explainer);
        if (status == ILLUME_OK) status = illume_explain(explainer, &x, &target, &attributions, NULL, NULL);
        illume_explainer_free(explainer);
        const char *message = illume_last_error(context);
        count_case();
        if (status != ILLUME_ERROR_INVALID_INPUT)
            test_fail("%s (composite %s, rules '%s'): status %s, expected %s (%s)", cases[c].label,
                      cases[c].composite, cases[c].rules ? cases[c].rules : "", illume_status_name(status),
                      illume_status_name(ILLUME_ERROR_INVALID_INPUT), message);
        else
            for (int k = 0; k < 2; k++)
                if (!message || !strstr(message, cases[c].mentions[k])) {
                    test_fail("%s: the message '%s' does not mention '%s'", cases[c].label, message ? message : "",
                              cases[c].mentions[k]);
                    break;
                }
    }
    /* With its bounds the same composite is accepted. */
    illume_explain_options bounded = lrp_options("epsilon-gamma-box", NULL);
    bounded.low = -1.0f;
    bounded.high = 1.0f;
    const int64_t target = -1;
    illume_explainer *explainer = NULL;
    illume_tensor row = x;
    row.data = NULL;
    count_case();
    if (!model || illume_explainer_create(context, model, &bounded, &row, &explainer) != ILLUME_OK ||
        illume_explain(explainer, &x, &target, &attributions, NULL, NULL) != ILLUME_OK)
        test_fail("epsilon-gamma-box with low -1 and high 1: %s", illume_last_error(context));
    illume_explainer_free(explainer);
    tensor_release(&x);
    tensor_release(&attributions);
    illume_model_free(model);
    cnn_release(&net);
    illume_context_destroy(context);
}

/* A model ending in Softmax is explained at the Softmax's input: the same
 * relevance and scores (the logits) as the model without it. */
static void softmax_end(uint64_t *seed) {
    illume_context *context = illume_context_create();
    cnn net = cnn_create(seed);
    illume_model *plain = cnn_model(context, &net, 0), *softmax = cnn_model(context, &net, 1);
    const int64_t x_dims[4] = {ROWS, 3, 6, 6};
    illume_tensor x = tensor_random(4, x_dims, -1.0f, 1.0f, seed);
    illume_tensor want = tensor_zeros(4, x_dims), got = tensor_zeros(4, x_dims);
    illume_explain_row want_rows[ROWS], got_rows[ROWS];
    const int64_t targets[ROWS] = {-1, 1, 2};
    illume_explain_options options = lrp_options("epsilon-plus-flat", NULL);
    count_case();
    if (!plain || !softmax ||
        explain_rows(context, plain, &options, &x, targets, &want, want_rows, NULL) != ILLUME_OK ||
        explain_rows(context, softmax, &options, &x, targets, &got, got_rows, NULL) != ILLUME_OK) {
        test_fail("softmax end: %s", illume_last_error(context));
    } else {
        double *reference = doubles(want.data, tensor_count(&want));
        for (int64_t row = 0; reference && row < ROWS; row++) {
            char label[96];
            snprintf(label, sizeof label, "LRP through a final Softmax, row %lld", (long long)row);
            expect_relevance(label, (const float *)got.data + row * 108, reference + row * 108, 108, 1e-6);
            count_case();
            if (got_rows[row].target != want_rows[row].target || got_rows[row].score != want_rows[row].score)
                test_fail("%s: target %lld score %.9g, without the Softmax target %lld score %.9g", label,
                          (long long)got_rows[row].target, got_rows[row].score, (long long)want_rows[row].target,
                          want_rows[row].score);
        }
        free(reference);
    }
    tensor_release(&x);
    tensor_release(&want);
    tensor_release(&got);
    illume_model_free(plain);
    illume_model_free(softmax);
    cnn_release(&net);
    illume_context_destroy(context);
}

/* LRN passes relevance: x -> Conv 3->4 -> Relu -> LRN (size 3, alpha 1, so
 * that the neighbours weigh) -> Flatten -> Gemm 144->3, no biases, under
 * LRP-0, conserves it row by row, and the listing names the LRN's rule
 * pass; given its gradient instead, the sum misses the score. */
static void lrn_pass(uint64_t *seed) {
    illume_context *context = illume_context_create();
    layer conv = conv_layer(3, 6, 4, 1, 0), dense = gemm_layer(144, 3, 1, 0);
    illume_tensor w1 = layer_weights(&conv, -0.5f, 0.5f, seed), w2 = layer_weights(&dense, -0.5f, 0.5f, seed);
    const int64_t x_dims[4] = {ROWS, 3, 6, 6}, any[4] = {-1, 3, 6, 6}, pads[4] = {1, 1, 1, 1};
    illume_tensor x = tensor_random(4, x_dims, -1.0f, 1.0f, seed), attributions = tensor_zeros(4, x_dims);
    builder *b = builder_create(13);
    int v = builder_input(b, "x", 4, any);
    int node = builder_node(b, "Conv", 2, (int[]){v, builder_floats(b, "w1", 4, w1.dims, w1.data)}, 1, &v);
    builder_attribute_ints(b, node, "pads", 4, pads);
    builder_node(b, "Relu", 1, &v, 1, &v);
    node = builder_node(b, "LRN", 1, &v, 1, &v);
    builder_attribute_int(b, node, "size", 3);
    builder_attribute_float(b, node, "alpha", 1.0f);
    builder_node(b, "Flatten", 1, &v, 1, &v);
    node = builder_node(b, "Gemm", 2, (int[]){v, builder_floats(b, "w2", 2, w2.dims, w2.data)}, 1, &v);
    builder_attribute_int(b, node, "transB", 1);
    builder_output(b, v);
    illume_model *model = NULL;
    if (builder_finish(b, context, &model) != ILLUME_OK) test_fail("LRN model: %s", illume_last_error(context));
    const int64_t targets[ROWS] = {0, 1, 2};
    for (int given_gradient = 0; model && given_gradient < 2; given_gradient++) {
        const char *name = given_gradient ? "LRN given its gradient" : "LRN passing relevance";
        illume_explain_options options = lrp_options("none", given_gradient ? "node:LRN_2=gradient" : NULL);
        options.epsilon = 0.0f;
        illume_explain_row rows[ROWS];
        illume_explainer *explainer = NULL;
        count_case();
        if (explain_rows(context, model, &options, &x, targets, &attributions, rows, &explainer) != ILLUME_OK) {
            test_fail("%s: %s", name, illume_last_error(context));
            break;
        }
        illume_rule_entry entry;
        int listed = illume_explainer_rule(explainer, 0, &entry), rule_found = 0;
        for (int n = 0; n < listed; n++) {
            illume_explainer_rule(explainer, n, &entry);
            if (!strcmp(entry.op_type, "LRN"))
                rule_found = !strcmp(entry.rule, given_gradient ? "gradient" : "pass") && entry.conserves;
        }
        count_case();
        if (!rule_found) test_fail("%s: the listing does not give the LRN that rule", name);
        illume_explainer_free(explainer);
        for (int64_t row = 0; row < ROWS; row++) {
            double sum = 0.0, magnitude = 0.0;
            for (int64_t i = 0; i < 108; i++) {
                double value = ((const float *)attributions.data)[row * 108 + i];
                sum += value;
                magnitude += fabs(value);
            }
            double score = rows[row].score, allowed = 1e-4 * fmax(fabs(score), magnitude);
            count_case();
            if (!(fabs(score) > 1e-2))
                test_fail("%s, row %lld: the target's output %.3g is too small to test", name, (long long)row, score);
            else if (!given_gradient && !(fabs(sum - score) <= allowed && fabs(rows[row].delta) <= allowed))
                test_fail("%s, row %lld: sum of relevance %.9g, target output %.9g, reported delta %.9g", name,
                          (long long)row, sum, score, rows[row].delta);
            else if (given_gradient && !(fabs(sum - score) > 0.01 * fabs(score)))
                test_fail("%s, row %lld: sum of relevance %.9g is within 1%% of the output %.9g: the case cannot "
                          "tell pass from gradient", name, (long long)row, sum, score);
        }
    }
    illume_model_free(model);
    tensor_release(&x);
    tensor_release(&attributions);
    tensor_release(&w1);
    tensor_release(&w2);
    layer_release(&conv);
    layer_release(&dense);
    illume_context_destroy(context);
}

/* The score of a model ending in Softmax: every method explains the logit
 * by default (saliency equals the plain model's, the rows' scores are the
 * logits, named "logit"), and with ILLUME_SCORE_PROBABILITY the gradient
 * methods explain the probability, whose gradient is p_t (g_t - sum_k p_k
 * g_k) from the plain model's logits z and their gradients g_k; LRP refuses
 * the probability, and a model without a Softmax refuses it too. */
static void scores(uint64_t *seed) {
    illume_context *context = illume_context_create();
    cnn net = cnn_create(seed);
    illume_model *plain = cnn_model(context, &net, 0), *softmax = cnn_model(context, &net, 1);
    const int64_t x_dims[4] = {ROWS, 3, 6, 6}, classes = 3;
    illume_tensor x = tensor_random(4, x_dims, -1.0f, 1.0f, seed);
    illume_tensor got = tensor_zeros(4, x_dims), gradients[3];
    illume_explain_row logit_rows[3][ROWS], got_rows[ROWS];
    for (int64_t k = 0; k < classes; k++) gradients[k] = tensor_zeros(4, x_dims);
    const int64_t targets[ROWS] = {0, 1, 2};
    illume_explain_options options;
    illume_explain_options_default(&options);
    options.device = "cpu";
    count_case();
    /* The plain model's gradient of every logit, and the logits themselves (the rows' scores). */
    for (int64_t k = 0; k < classes; k++) {
        const int64_t every[ROWS] = {k, k, k};
        if (!plain || explain_rows(context, plain, &options, &x, every, &gradients[k], logit_rows[k], NULL) != ILLUME_OK)
            test_fail("scores, the plain model: %s", illume_last_error(context));
    }
    illume_explainer *explainer = NULL;
    if (!softmax || explain_rows(context, softmax, &options, &x, targets, &got, got_rows, &explainer) != ILLUME_OK) {
        test_fail("scores, saliency of the logit: %s", illume_last_error(context));
    } else {
        if (strcmp(illume_explainer_score(explainer), "logit"))
            test_fail("scores: a Softmax model's default score is named '%s', not logit",
                      illume_explainer_score(explainer));
        for (int64_t row = 0; row < ROWS; row++) {
            double *want = doubles((const float *)gradients[targets[row]].data + row * 108, 108);
            char label[96];
            snprintf(label, sizeof label, "saliency of the logit through a final Softmax, row %lld", (long long)row);
            if (want) expect_relevance(label, (const float *)got.data + row * 108, want, 108, 1e-6);
            free(want);
            count_case();
            if (got_rows[row].score != logit_rows[targets[row]][row].score)
                test_fail("%s: score %.9g, the logit is %.9g", label, got_rows[row].score,
                          logit_rows[targets[row]][row].score);
        }
    }
    illume_explainer_free(explainer);
    explainer = NULL;
    options.score = ILLUME_SCORE_PROBABILITY;
    count_case();
    if (explain_rows(context, softmax, &options, &x, targets, &got, got_rows, &explainer) != ILLUME_OK) {
        test_fail("scores, saliency of the probability: %s", illume_last_error(context));
    } else {
        if (strcmp(illume_explainer_score(explainer), "probability"))
            test_fail("scores: the score asked for is named '%s', not probability", illume_explainer_score(explainer));
        for (int64_t row = 0; row < ROWS; row++) {
            double z[3], p[3], largest = -INFINITY, total = 0.0, want[108];
            for (int64_t k = 0; k < classes; k++) largest = fmax(largest, z[k] = logit_rows[k][row].score);
            for (int64_t k = 0; k < classes; k++) total += p[k] = exp(z[k] - largest);
            for (int64_t k = 0; k < classes; k++) p[k] /= total;
            int64_t t = targets[row];
            for (int64_t i = 0; i < 108; i++) {
                double mixed = 0.0;
                for (int64_t k = 0; k < classes; k++) mixed += p[k] * ((const float *)gradients[k].data)[row * 108 + i];
                want[i] = p[t] * (((const float *)gradients[t].data)[row * 108 + i] - mixed);
            }
            char label[96];
            snprintf(label, sizeof label, "saliency of the probability, row %lld", (long long)row);
            expect_relevance(label, (const float *)got.data + row * 108, want, 108, 1e-5);
            count_case();
            if (!(fabs(got_rows[row].score - p[t]) <= 1e-6))
                test_fail("%s: score %.9g, the probability is %.9g", label, got_rows[row].score, p[t]);
        }
    }
    illume_explainer_free(explainer);
    options.method = ILLUME_LRP;
    count_case();
    if (explain_rows(context, softmax, &options, &x, targets, &got, got_rows, NULL) == ILLUME_OK ||
        !strstr(illume_last_error(context), "explains the logit"))
        test_fail("scores: LRP of a probability was not refused as it should be (%s)", illume_last_error(context));
    options.method = ILLUME_SALIENCY;
    count_case();
    if (explain_rows(context, plain, &options, &x, targets, &got, got_rows, NULL) == ILLUME_OK ||
        !strstr(illume_last_error(context), "needs a model whose first output"))
        test_fail("scores: a probability of a model without a Softmax was not refused (%s)",
                  illume_last_error(context));
    tensor_release(&x);
    tensor_release(&got);
    for (int64_t k = 0; k < classes; k++) tensor_release(&gradients[k]);
    illume_model_free(plain);
    illume_model_free(softmax);
    cnn_release(&net);
    illume_context_destroy(context);
}

int main(void) {
    uint64_t seed = 27182;
    linear_rules(&seed);
    conservation(&seed);
    nonlinear_rules(&seed);
    batchnorm(&seed);
    composites(&seed);
    refusals(&seed);
    softmax_end(&seed);
    scores(&seed);
    lrn_pass(&seed);
    return test_report("explain/lrp");
}
