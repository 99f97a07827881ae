/* Models that take their input channels last, as TensorFlow and JAX export
 * them (a Transpose to (N, C, H, W) before the first Conv, and one back to
 * (N, H, W, C) before a Flatten), explained like their channels-first
 * twins: the same Conv, Relu and Gemm, the Gemm's rows reordered to read
 * (C, H, W) where the channels-last model flattens (H, W, C). Grad-CAM's
 * default layer (the Flatten's input, channels last) gives the twin's map;
 * guided Grad-CAM, occlusion and integrated gradients from a blurred
 * baseline give the twin's attributions transposed; the score of the final
 * Softmax is the logit; illume_model_input_channels_last tells the
 * channels-last input from its twin's. A global average pool written as a
 * ReduceMean or ReduceSum over the spatial axes (channels first or last)
 * is Grad-CAM's default layer as a GlobalAveragePool is. And a Flatten whose input's channel axis no op
 * tells (the input flattened as it is) is refused as Grad-CAM's layer
 * rather than guessed. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gradient_check.h"

enum { ROWS = 2, C = 3, H = 7, W = 6, F = 4, K = 5 };

typedef struct weights {
    illume_tensor conv_w, conv_b, dense_first, dense_last, dense_b;
} weights;

/* The Gemm (F*H*W -> K, as (in, out)) reading (F, H, W) and, reordered, (H, W, F). */
static weights weights_create(uint64_t *seed) {
    const int64_t conv_dims[4] = {F, C, 3, 3}, bias_dims[1] = {F}, dense_dims[2] = {F * H * W, K};
    const int64_t dense_bias_dims[1] = {K};
    weights w = {tensor_random(4, conv_dims, -0.5f, 0.5f, seed), tensor_random(1, bias_dims, -0.1f, 0.1f, seed),
                 tensor_random(2, dense_dims, -0.2f, 0.2f, seed), tensor_zeros(2, dense_dims),
                 tensor_random(1, dense_bias_dims, -0.1f, 0.1f, seed)};
    const float *first = w.dense_first.data;
    float *last = w.dense_last.data;
    for (int f = 0; f < F; f++)
        for (int y = 0; y < H; y++)
            for (int x = 0; x < W; x++)
                for (int k = 0; k < K; k++)
                    last[((y * W + x) * F + f) * K + k] = first[((f * H + y) * W + x) * K + k];
    return w;
}

static void weights_release(weights *w) {
    tensor_release(&w->conv_w);
    tensor_release(&w->conv_b);
    tensor_release(&w->dense_first);
    tensor_release(&w->dense_last);
    tensor_release(&w->dense_b);
}

/* x -> Conv 3x3 pads 1 -> Relu -> Flatten -> Gemm -> Softmax, channels first
 * or last; with `untold`, the channels-last input is flattened as it is
 * (no op tells its channel axis) after a Relu. */
static illume_model *model_create(illume_context *context, const weights *w, int channels_last, int untold) {
    builder *b = builder_create(13);
    const int64_t first[4] = {-1, C, H, W}, last[4] = {-1, H, W, C}, pads[4] = {1, 1, 1, 1};
    const int64_t to_first[4] = {0, 3, 1, 2}, to_last[4] = {0, 2, 3, 1};
    int v = builder_input(b, "x", 4, channels_last ? last : first);
    if (untold) {
        builder_node(b, "Relu", 1, &v, 1, &v);
    } else {
        if (channels_last) builder_attribute_ints(b, builder_node(b, "Transpose", 1, &v, 1, &v), "perm", 4, to_first);
        int conv = builder_node(b, "Conv", 3,
                                (int[]){v, builder_floats(b, "w", 4, w->conv_w.dims, w->conv_w.data),
                                        builder_floats(b, "b", 1, w->conv_b.dims, w->conv_b.data)},
                                1, &v);
        builder_attribute_ints(b, conv, "pads", 4, pads);
        if (channels_last) builder_attribute_ints(b, builder_node(b, "Transpose", 1, &v, 1, &v), "perm", 4, to_last);
        builder_node(b, "Relu", 1, &v, 1, &v);
    }
    builder_node(b, "Flatten", 1, &v, 1, &v);
    const illume_tensor *dense = channels_last ? &w->dense_last : &w->dense_first;
    illume_tensor untold_dense = {0};
    if (untold) {
        const int64_t dims[2] = {C * H * W, K};
        uint64_t seed = 99;
        untold_dense = tensor_random(2, dims, -0.2f, 0.2f, &seed);
        dense = &untold_dense;
    }
    builder_node(b, "Gemm", 3,
                 (int[]){v, builder_floats(b, "dense", 2, dense->dims, dense->data),
                         builder_floats(b, "dense_b", 1, w->dense_b.dims, w->dense_b.data)},
                 1, &v);
    builder_node(b, "Softmax", 1, &v, 1, &v);
    builder_output(b, v);
    tensor_release(&untold_dense);
    illume_model *model = NULL;
    if (builder_finish(b, context, &model) != ILLUME_OK) test_fail("model: %s", illume_last_error(context));
    return model;
}

/* (N, H, W, C) data as (N, C, H, W). */
static illume_tensor to_channels_first(const illume_tensor *t) {
    const int64_t dims[4] = {t->dims[0], t->dims[3], t->dims[1], t->dims[2]};
    illume_tensor out = tensor_zeros(4, dims);
    const float *in = t->data;
    float *o = out.data;
    int64_t n = t->dims[0], h = t->dims[1], wd = t->dims[2], c = t->dims[3];
    for (int64_t r = 0; r < n; r++)
        for (int64_t y = 0; y < h; y++)
            for (int64_t x = 0; x < wd; x++)
                for (int64_t k = 0; k < c; k++)
                    o[((r * c + k) * h + y) * wd + x] = in[((r * h + y) * wd + x) * c + k];
    return out;
}

/* Explains x's rows for targets (NULL: each row's top output). */
static illume_status explain_targets(illume_context *context, const illume_model *model,
                                     const illume_explain_options *o, const illume_tensor *x, const int64_t *targets,
                                     illume_tensor *attributions, illume_explain_row *rows) {
    illume_explainer *explainer = NULL;
    illume_tensor row = *x;
    row.dims[0] = 1;
    row.data = NULL;
    illume_status status = illume_explainer_create(context, model, o, &row, &explainer);
    if (status == ILLUME_OK) {
        illume_tensor shape;
        illume_explainer_shape(explainer, x->dims[0], &shape);
        *attributions = tensor_zeros(shape.rank, shape.dims);
        status = illume_explain(explainer, x, targets, attributions, rows, NULL);
    }
    illume_explainer_free(explainer);
    return status;
}

static illume_status explain(illume_context *context, const illume_model *model, const illume_explain_options *o,
                             const illume_tensor *x, illume_tensor *attributions, illume_explain_row *rows) {
    return explain_targets(context, model, o, x, NULL, attributions, rows);
}

/* got against want within tolerance x the largest |want|; want must not be all zero. */
static void expect_twin(const char *label, const illume_tensor *got, const illume_tensor *want, double tolerance) {
    count_case();
    int64_t count = tensor_count(want);
    if (got->rank != want->rank || tensor_count(got) != count) {
        test_fail("%s: %lld elements, the twin's %lld", label, (long long)tensor_count(got), (long long)count);
        return;
    }
    double scale = 0.0, error = 0.0;
    for (int64_t i = 0; i < count; i++) {
        scale = fmax(scale, fabs(((const float *)want->data)[i]));
        error = fmax(error, fabs((double)((const float *)got->data)[i] - ((const float *)want->data)[i]));
    }
    if (!(scale > 0.0)) test_fail("%s: the twin's attributions are all zero (the case checks nothing)", label);
    else if (!(error <= tolerance * scale))
        test_fail("%s: differs from the channels-first twin by %.3g (largest %.3g)", label, error, scale);
}

/* x (N, C, H, W) -> Conv -> Relu [-> Transpose to channels last] -> the pool -> Gemm (F -> K): the pool a
 * GlobalAveragePool and Flatten, or a ReduceMean or ReduceSum over the spatial axes. */
static illume_model *pooled_model(illume_context *context, const weights *w, const char *pool, int channels_last) {
    builder *b = builder_create(18);
    const int64_t dims[4] = {-1, C, H, W}, pads[4] = {1, 1, 1, 1}, to_last[4] = {0, 2, 3, 1};
    const int64_t dense_dims[2] = {F, K};
    int v = builder_input(b, "x", 4, dims);
    int conv = builder_node(b, "Conv", 3,
                            (int[]){v, builder_floats(b, "w", 4, w->conv_w.dims, w->conv_w.data),
                                    builder_floats(b, "b", 1, w->conv_b.dims, w->conv_b.data)},
                            1, &v);
    builder_attribute_ints(b, conv, "pads", 4, pads);
    builder_node(b, "Relu", 1, &v, 1, &v);
    if (channels_last) builder_attribute_ints(b, builder_node(b, "Transpose", 1, &v, 1, &v), "perm", 4, to_last);
    if (!strcmp(pool, "GlobalAveragePool")) {
        builder_node(b, "GlobalAveragePool", 1, &v, 1, &v);
        builder_node(b, "Flatten", 1, &v, 1, &v);
    } else {
        const int64_t spatial[2] = {channels_last ? 1 : 2, channels_last ? 2 : 3};
        int node = builder_node(b, pool, 2, (int[]){v, builder_int_list(b, "axes", 2, spatial)}, 1, &v);
        builder_attribute_int(b, node, "keepdims", 0);
    }
    builder_node(b, "Gemm", 3,
                 (int[]){v, builder_floats(b, "dense", 2, dense_dims, w->dense_first.data),
                         builder_floats(b, "dense_b", 1, w->dense_b.dims, w->dense_b.data)},
                 1, &v);
    builder_output(b, v);
    illume_model *model = NULL;
    if (builder_finish(b, context, &model) != ILLUME_OK) test_fail("%s model: %s", pool, illume_last_error(context));
    return model;
}

/* Grad-CAM's default layer where the pool is a reduction: the map a ReduceSum
 * gives is the GlobalAveragePool's times H W (its gradient is), a
 * ReduceMean's the same; the targets are fixed, since a sum's larger
 * logits may rank the classes otherwise. */
static void reductions(illume_context *context, const weights *w, uint64_t *seed) {
    const int64_t x_dims[4] = {ROWS, C, H, W};
    illume_tensor x = tensor_random(4, x_dims, -1.0f, 1.0f, seed);
    illume_model *reference = pooled_model(context, w, "GlobalAveragePool", 0);
    illume_explain_options o;
    illume_explain_options_default(&o);
    o.method = ILLUME_GRADCAM;
    o.device = "cpu";
    illume_tensor want = {0};
    illume_explain_row rows[ROWS];
    const int64_t targets[ROWS] = {1, 3};
    if (!reference || explain_targets(context, reference, &o, &x, targets, &want, rows) != ILLUME_OK) {
        test_fail("Grad-CAM with a GlobalAveragePool: %s", illume_last_error(context));
        illume_model_free(reference);
        tensor_release(&x);
        return;
    }
    static const char *const pools[2] = {"ReduceMean", "ReduceSum"};
    for (int p = 0; p < 2; p++)
        for (int last = 0; last <= 1; last++) {
            illume_model *model = pooled_model(context, w, pools[p], last);
            illume_tensor got = {0};
            char label[96];
            snprintf(label, sizeof label, "Grad-CAM at the input of a %s over the spatial axes, channels %s",
                     pools[p], last ? "last" : "first");
            count_case();
            if (!model || explain_targets(context, model, &o, &x, targets, &got, rows) != ILLUME_OK) {
                test_fail("%s: %s", label, illume_last_error(context));
            } else {
                float scale = p == 1 ? (float)(H * W) : 1.0f;
                for (int64_t i = 0; i < tensor_count(&got); i++) ((float *)got.data)[i] /= scale;
                expect_twin(label, &got, &want, 1e-4);
            }
            tensor_release(&got);
            illume_model_free(model);
        }
    tensor_release(&want);
    illume_model_free(reference);
    tensor_release(&x);
}

int main(void) {
    uint64_t seed = 4242;
    illume_context *context = illume_context_create();
    weights w = weights_create(&seed);
    illume_model *first = model_create(context, &w, 0, 0), *last = model_create(context, &w, 1, 0);
    count_case();
    if (first && last && (illume_model_input_channels_last(last, 0) != 1 || illume_model_input_channels_last(first, 0) != 0))
        test_fail("illume_model_input_channels_last says %d for the channels-last model and %d for its twin",
                  illume_model_input_channels_last(last, 0), illume_model_input_channels_last(first, 0));
    const int64_t x_dims[4] = {ROWS, H, W, C};
    illume_tensor x_last = tensor_random(4, x_dims, -1.0f, 1.0f, &seed), x_first = to_channels_first(&x_last);
    struct {
        const char *name;
        illume_method method;
        int map; /* a map of the layer's (or the input's) height and width, not the input's shape */
    } cases[] = {{"gradcam", ILLUME_GRADCAM, 1},          {"gradcam++", ILLUME_GRADCAM_PLUS_PLUS, 1},
                 {"guided-gradcam", ILLUME_GUIDED_GRADCAM, 0}, {"occlusion", ILLUME_OCCLUSION, 0},
                 {"ig (blurred baseline)", ILLUME_INTEGRATED_GRADIENTS, 0}, {"saliency", ILLUME_SALIENCY, 0}};
    for (size_t k = 0; first && last && k < sizeof cases / sizeof cases[0]; k++) {
        illume_explain_options o;
        illume_explain_options_default(&o);
        o.method = cases[k].method;
        o.device = "cpu";
        o.window[0] = o.window[1] = 3;
        o.stride[0] = o.stride[1] = 2;
        o.baseline = ILLUME_BASELINE_BLUR;
        o.blur_sigma = 1.5f;
        o.steps = 8;
        illume_tensor got = {0}, want = {0};
        illume_explain_row got_rows[ROWS], want_rows[ROWS];
        char label[128];
        snprintf(label, sizeof label, "%s of the channels-last model", cases[k].name);
        count_case();
        if (explain(context, last, &o, &x_last, &got, got_rows) != ILLUME_OK ||
            explain(context, first, &o, &x_first, &want, want_rows) != ILLUME_OK) {
            test_fail("%s: %s", label, illume_last_error(context));
        } else {
            illume_tensor compared = cases[k].map ? got : to_channels_first(&got);
            expect_twin(label, &compared, &want, 1e-4);
            if (!cases[k].map) tensor_release(&compared);
            count_case();
            for (int r = 0; r < ROWS; r++)
                if (got_rows[r].target != want_rows[r].target || !(fabs(got_rows[r].score - want_rows[r].score) <= 1e-5))
                    test_fail("%s: row %d target %lld score %.9g, the twin's %lld and %.9g", label, r,
                              (long long)got_rows[r].target, got_rows[r].score, (long long)want_rows[r].target,
                              want_rows[r].score);
        }
        tensor_release(&got);
        tensor_release(&want);
    }
    reductions(context, &w, &seed);
    /* No op tells the channel axis of the Flatten's input: refused, not guessed. */
    illume_model *untold = model_create(context, &w, 1, 1);
    illume_explain_options o;
    illume_explain_options_default(&o);
    o.method = ILLUME_GRADCAM;
    o.device = "cpu";
    illume_tensor got = {0};
    illume_explain_row rows[ROWS];
    count_case();
    if (!untold || explain(context, untold, &o, &x_last, &got, rows) == ILLUME_OK ||
        !strstr(illume_last_error(context), "cannot tell which axis"))
        test_fail("Grad-CAM at a layer of unknown channel axis was not refused (%s)", illume_last_error(context));
    tensor_release(&got);
    illume_model_free(untold);
    illume_model_free(first);
    illume_model_free(last);
    tensor_release(&x_last);
    tensor_release(&x_first);
    weights_release(&w);
    illume_context_destroy(context);
    return test_report("explain/layouts");
}
