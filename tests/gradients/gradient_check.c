#include "gradient_check.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_TENSORS 8
/* Input coordinates differenced one by one, and output coordinates whose
 * Jacobian row is read by a backward pass, at most: beyond these an evenly
 * spread sample of them. */
#define COLUMN_LIMIT 256
#define ROW_LIMIT 128
#define DIRECTIONS 3
/* How many float32 rounding units of its magnitude a forward value may be off by. */
#define ROUNDING 16.0

gradient_check linear_check(void) {
    gradient_check how = {.step = 0.5, .smooth = 0, .tolerance = 1e-4, .layouts = CHANNELS_LAST | CHANNELS_FIRST,
                          .fuse_activations = 1, .fold_batchnorm = 1};
    return how;
}

gradient_check piecewise_check(double step) {
    gradient_check how = linear_check();
    how.step = step;
    how.tolerance = 1e-3;
    return how;
}

gradient_check smooth_check(double step) {
    gradient_check how = piecewise_check(step);
    how.smooth = 1;
    return how;
}

const char *gradient_device(void) {
    const char *device = getenv("ILLUME_TEST_DEVICE");
    return device ? device : "cpu";
}

void gradient_skip_without_device(void) {
    if (strncmp(gradient_device(), "cuda", 4) != 0 || (illume_has_cuda() && illume_cuda_devices() > 0)) return;
    printf("SKIP no CUDA device\n");
    exit(77);
}

illume_session_options backward_options(int fuse_activations, int channels_last) {
    illume_session_options options;
    illume_session_options_default(&options);
    options.device = gradient_device();
    options.backward = 1;
    options.fuse_activations = fuse_activations;
    options.channels_last = channels_last;
    return options;
}

/* A session with a backward pass and the buffers to run it at points near x. */
typedef struct probe {
    illume_context *context;
    illume_session *session;
    int input_count, output_count, from;
    illume_tensor origin[MAX_TENSORS]; /* x, rounded */
    illume_tensor inputs[MAX_TENSORS]; /* where the next run happens */
    illume_tensor outputs[MAX_TENSORS];
    const char *names[MAX_TENSORS];
    int64_t input_elements[MAX_TENSORS];
    int64_t n, m; /* elements of all inputs; of the seeded output */
    /* The largest |x|: outputs computed from terms this large (a difference
     * that cancels them, a sum of products) err by its rounding, not theirs. */
    double input_scale;
    const char *label;
    char layout[32];
} probe;

static void probe_close(probe *p) {
    illume_session_free(p->session);
    for (int i = 0; i < MAX_TENSORS; i++) {
        tensor_release(&p->origin[i]);
        tensor_release(&p->inputs[i]);
        tensor_release(&p->outputs[i]);
    }
}

static float round_to_grid(float value) { return (float)(nearbyint((double)value * 4096.0) / 4096.0); }

static int probe_open(probe *p, const char *label, illume_context *context, const illume_model *model,
                      const illume_session_options *base, int input_count, const illume_tensor *inputs, int from) {
    memset(p, 0, sizeof *p);
    p->label = label;
    snprintf(p->layout, sizeof p->layout, "%s", base->channels_last ? "" : " (channels first)");
    p->context = context;
    p->input_count = input_count;
    p->from = from;
    if (input_count > MAX_TENSORS || illume_model_input_count(model) != input_count) {
        test_fail("%s: %d inputs given for a model of %d", p->label, input_count, illume_model_input_count(model));
        return 0;
    }
    for (int i = 0; i < input_count; i++) {
        illume_value_info info;
        illume_model_input(model, i, &info);
        p->names[i] = info.name;
        p->origin[i] = tensor_copy(&inputs[i]);
        p->inputs[i] = tensor_copy(&inputs[i]);
        p->input_elements[i] = tensor_count(&inputs[i]);
        float *x = p->origin[i].data;
        for (int64_t j = 0; j < p->input_elements[i]; j++) {
            x[j] = round_to_grid(x[j]);
            p->input_scale = fmax(p->input_scale, fabs(x[j]));
        }
        memcpy(p->inputs[i].data, x, sizeof(float) * (size_t)p->input_elements[i]);
        p->n += p->input_elements[i];
    }
    illume_session_options options = *base;
    options.backward = 1;
    illume_value_info seeded;
    if (illume_model_output(model, from, &seeded) != ILLUME_OK) {
        test_fail("%s: the model has no output %d", p->label, from);
        return 0;
    }
    options.backward_from = seeded.name;
    illume_status status = illume_session_create(context, model, &options, input_count, inputs, &p->session);
    if (status != ILLUME_OK) {
        test_fail("%s%s: session: %s: %s", p->label, p->layout, illume_status_name(status),
                  illume_last_error(context));
        return 0;
    }
    p->output_count = illume_session_output_count(p->session);
    if (p->output_count > MAX_TENSORS) {
        test_fail("%s: too many outputs", p->label);
        return 0;
    }
    for (int o = 0; o < p->output_count; o++) {
        illume_value_info info;
        illume_session_output(p->session, o, &info);
        p->outputs[o] = tensor_zeros(info.rank, info.dims);
    }
    p->m = tensor_count(&p->outputs[from]);
    return 1;
}

static int probe_run(probe *p) {
    illume_status status = illume_session_run(p->session, p->input_count, p->inputs, p->output_count, p->outputs);
    if (status != ILLUME_OK) {
        test_fail("%s%s: run: %s: %s", p->label, p->layout, illume_status_name(status), illume_last_error(p->context));
        return 0;
    }
    return 1;
}

/* Input i and element j of flat coordinate `flat` across all inputs. */
static float *input_element(probe *p, illume_tensor *tensors, int64_t flat) {
    for (int i = 0; i < p->input_count; i++) {
        if (flat < p->input_elements[i]) return (float *)tensors[i].data + flat;
        flat -= p->input_elements[i];
    }
    return NULL;
}

/* x + t d (d over all inputs, flat), or x + t e_unit when direction is NULL. */
static void move_to(probe *p, const float *direction, int64_t unit, double t) {
    for (int i = 0; i < p->input_count; i++)
        memcpy(p->inputs[i].data, p->origin[i].data, sizeof(float) * (size_t)p->input_elements[i]);
    if (!direction) {
        float *x = input_element(p, p->inputs, unit);
        *x = (float)((double)*x + t);
        return;
    }
    for (int64_t j = 0; j < p->n; j++) {
        float *x = input_element(p, p->inputs, j);
        *x = (float)((double)*x + t * direction[j]);
    }
}

/* The derivative of f along a direction (or unit coordinate) by central
 * differences, per output element, and the rounding noise of each. */
static int differentiate(probe *p, const gradient_check *how, const float *direction, int64_t unit,
                         double *derivative, double *noise) {
    double *plus = malloc(sizeof(double) * (size_t)(p->m + 1));
    int steps = how->smooth ? 2 : 1, ok = plus != NULL;
    for (int s = 0; ok && s < steps; s++) {
        double h = exp2(nearbyint(log2(how->step))) / (double)(1 << s);
        move_to(p, direction, unit, h);
        ok = probe_run(p);
        const float *y = p->outputs[p->from].data;
        for (int64_t k = 0; ok && k < p->m; k++) plus[k] = y[k];
        move_to(p, direction, unit, -h);
        ok = ok && probe_run(p);
        for (int64_t k = 0; ok && k < p->m; k++) {
            double difference = (plus[k] - y[k]) / (2.0 * h);
            /* Outputs equal at both points moved by less than one unit of rounding. */
            double rounding = (plus[k] == y[k] ? 1.0 : ROUNDING) * FLT_EPSILON *
                              (fmax(fabs(plus[k]), fabs((double)y[k])) + p->input_scale) / h;
            if (!how->smooth) {
                derivative[k] = difference;
                noise[k] = rounding;
            } else if (s == 0) {
                derivative[k] = -difference / 3.0;
                noise[k] = rounding / 3.0;
            } else {
                derivative[k] += 4.0 * difference / 3.0;
                noise[k] += 4.0 * rounding / 3.0;
            }
        }
    }
    move_to(p, NULL, 0, 0.0);
    free(plus);
    return ok;
}

/* The gradient of every input after a run at x and a backward pass with seed, flat. */
static int backward_at_origin(probe *p, const illume_tensor *seed, double *gradient) {
    move_to(p, NULL, 0, 0.0);
    if (!probe_run(p)) return 0;
    illume_status status = illume_session_backward(p->session, ILLUME_RULE_GRADIENT, seed);
    if (status != ILLUME_OK) {
        test_fail("%s%s: backward: %s: %s", p->label, p->layout, illume_status_name(status),
                  illume_last_error(p->context));
        return 0;
    }
    int64_t offset = 0;
    for (int i = 0; i < p->input_count; i++) {
        illume_tensor read = tensor_zeros(p->origin[i].rank, p->origin[i].dims);
        status = illume_session_read(p->session, p->names[i], 1, &read);
        if (status != ILLUME_OK) {
            test_fail("%s%s: reading the gradient of '%s': %s", p->label, p->layout, p->names[i],
                      illume_last_error(p->context));
            tensor_release(&read);
            return 0;
        }
        const float *g = read.data;
        for (int64_t j = 0; j < p->input_elements[i]; j++) {
            if (!isfinite(g[j])) {
                test_fail("%s%s: gradient of '%s' element %lld is %g", p->label, p->layout, p->names[i],
                          (long long)j, g[j]);
                tensor_release(&read);
                return 0;
            }
            gradient[offset + j] = g[j];
        }
        offset += p->input_elements[i];
        tensor_release(&read);
    }
    return 1;
}

/* Records the worst of a family of comparisons and reports it once. */
typedef struct verdict {
    const char *what;
    int64_t failures, worst_index, worst_other;
    double worst_ratio, got, want, allowed;
} verdict;

static void compare(verdict *v, int64_t index, int64_t other, double got, double want, double allowed) {
    double error = fabs(got - want);
    if (error <= allowed) return;
    v->failures++;
    double ratio = allowed > 0.0 ? error / allowed : INFINITY;
    if (ratio > v->worst_ratio || v->failures == 1) {
        v->worst_ratio = ratio;
        v->worst_index = index;
        v->worst_other = other;
        v->got = got;
        v->want = want;
        v->allowed = allowed;
    }
}

static void report(const probe *p, const verdict *v) {
    count_case();
    if (!v->failures) return;
    test_fail("%s%s: %s: %lld disagree; worst at %lld/%lld: backward %.9g, finite differences %.9g (allowed %.3g)",
              p->label, p->layout, v->what, (long long)v->failures, (long long)v->worst_index,
              (long long)v->worst_other, v->got, v->want, v->allowed);
}

/* Evenly spread coordinates of [0, count), at most limit of them. */
static int64_t sample(int64_t count, int64_t limit, int64_t i) {
    return count <= limit ? i : i * count / limit;
}

static void check_with_layout(const char *label, illume_context *context, const illume_model *model,
                              int input_count, const illume_tensor *inputs, const gradient_check *how,
                              int channels_last) {
    probe p;
    illume_session_options options = backward_options(how->fuse_activations, channels_last);
    options.fold_batchnorm = how->fold_batchnorm;
    int ok = probe_open(&p, label, context, model, &options, input_count, inputs, how->output);
    if (!ok) {
        probe_close(&p);
        return;
    }
    int64_t n = p.n, m = p.m;
    uint64_t random = 0x9E3779B97F4A7C15ULL ^ (uint64_t)(n * 131 + m);
    int64_t columns = n < COLUMN_LIMIT ? n : COLUMN_LIMIT, rows = m < ROW_LIMIT ? m : ROW_LIMIT;
    illume_tensor seed = tensor_zeros(p.outputs[p.from].rank, p.outputs[p.from].dims);
    double *gradient = malloc(sizeof(double) * (size_t)(n + 1));
    double *derivative = malloc(sizeof(double) * (size_t)(m + 1)), *noise = malloc(sizeof(double) * (size_t)(m + 1));
    double *jacobian_rows = malloc(sizeof(double) * (size_t)(rows * n + 1));
    float *direction = malloc(sizeof(float) * (size_t)(n + 1));
    float *unit = seed.data;
    ok = gradient && derivative && noise && jacobian_rows && direction && seed.data;
    if (!ok) test_fail("%s: out of memory", label);
    for (int64_t k = 0; k < m; k++) unit[k] = (float)(2.0 * random_uniform(&random) - 1.0);
    ok = ok && backward_at_origin(&p, &seed, gradient);
    double gradient_scale = 0.0;
    for (int64_t j = 0; ok && j < n; j++) gradient_scale = fmax(gradient_scale, fabs(gradient[j]));

    /* Rows of the Jacobian: backward passes seeded with unit vectors. */
    float *seed_values = malloc(sizeof(float) * (size_t)(m + 1));
    ok = ok && seed_values;
    if (ok) memcpy(seed_values, seed.data, sizeof(float) * (size_t)m);
    for (int64_t r = 0; ok && r < rows; r++) {
        memset(seed.data, 0, sizeof(float) * (size_t)m);
        unit[sample(m, ROW_LIMIT, r)] = 1.0f;
        ok = backward_at_origin(&p, &seed, jacobian_rows + r * n);
    }
    double row_scale = 0.0;
    for (int64_t e = 0; ok && e < rows * n; e++) row_scale = fmax(row_scale, fabs(jacobian_rows[e]));

    /* Columns: the vector-Jacobian product element by element, and the Jacobian's entries. */
    verdict vjp = {.what = "gradient element by element"}, entries = {.what = "Jacobian entries"};
    for (int64_t c = 0; ok && c < columns; c++) {
        int64_t j = sample(n, COLUMN_LIMIT, c);
        ok = differentiate(&p, how, NULL, j, derivative, noise);
        double product = 0.0, product_noise = 0.0;
        for (int64_t k = 0; ok && k < m; k++) {
            product += seed_values[k] * derivative[k];
            product_noise += fabs(seed_values[k]) * noise[k];
        }
        if (ok) compare(&vjp, j, 0, gradient[j], product, how->tolerance * gradient_scale + product_noise);
        for (int64_t r = 0; ok && r < rows; r++) {
            int64_t k = sample(m, ROW_LIMIT, r);
            compare(&entries, k, j, jacobian_rows[r * n + j], derivative[k],
                    how->tolerance * row_scale + noise[k]);
        }
    }

    /* Random directions: <s, J d> as a whole, and J d element by element. */
    verdict directional = {.what = "<seed, J d> in random directions"};
    verdict jvp = {.what = "J d element by element"};
    for (int t = 0; ok && t < DIRECTIONS; t++) {
        for (int64_t j = 0; j < n; j++) direction[j] = (float)(floor(random_uniform(&random) * 513.0) - 256.0) / 256.0f;
        ok = differentiate(&p, how, direction, 0, derivative, noise);
        double analytic = 0.0, magnitude = 0.0, numeric = 0.0, numeric_noise = 0.0;
        for (int64_t j = 0; ok && j < n; j++) {
            analytic += gradient[j] * direction[j];
            magnitude += fabs(gradient[j] * direction[j]);
        }
        for (int64_t k = 0; ok && k < m; k++) {
            numeric += seed_values[k] * derivative[k];
            numeric_noise += fabs(seed_values[k]) * noise[k];
        }
        if (ok) compare(&directional, t, 0, analytic, numeric, how->tolerance * magnitude + numeric_noise);
        for (int64_t r = 0; ok && r < rows; r++) {
            int64_t k = sample(m, ROW_LIMIT, r);
            double product = 0.0, scale = 0.0;
            for (int64_t j = 0; j < n; j++) {
                product += jacobian_rows[r * n + j] * direction[j];
                scale += fabs(jacobian_rows[r * n + j] * direction[j]);
            }
            compare(&jvp, k, t, product, derivative[k], how->tolerance * scale + noise[k]);
        }
    }
    if (ok) {
        report(&p, &vjp);
        report(&p, &entries);
        report(&p, &directional);
        report(&p, &jvp);
    }
    free(seed_values);
    free(gradient);
    free(derivative);
    free(noise);
    free(jacobian_rows);
    free(direction);
    tensor_release(&seed);
    probe_close(&p);
}

void check_model_gradients(const char *label, illume_context *context, const illume_model *model,
                           int input_count, const illume_tensor *inputs, const gradient_check *how) {
    if (how->layouts & CHANNELS_LAST) check_with_layout(label, context, model, input_count, inputs, how, 1);
    if (how->layouts & CHANNELS_FIRST) check_with_layout(label, context, model, input_count, inputs, how, 0);
}

void expect_gradients(const char *label, builder *b, int input_count, const illume_tensor *inputs,
                      const gradient_check *how) {
    illume_context *context = illume_context_create();
    illume_model *model = NULL;
    illume_status status = builder_finish(b, context, &model);
    if (status != ILLUME_OK) {
        count_case();
        test_fail("%s: model: %s: %s", label, illume_status_name(status), illume_last_error(context));
    } else {
        check_model_gradients(label, context, model, input_count, inputs, how);
    }
    illume_model_free(model);
    illume_context_destroy(context);
}

illume_status session_gradients(illume_context *context, const illume_model *model,
                                const illume_session_options *options, int input_count, const illume_tensor *inputs,
                                const illume_tensor *seed, illume_rule rule, illume_tensor *gradients) {
    for (int i = 0; i < input_count; i++) memset(&gradients[i], 0, sizeof gradients[i]);
    illume_session_options with_backward = *options;
    with_backward.backward = 1;
    illume_session *session = NULL;
    illume_status status = illume_session_create(context, model, &with_backward, input_count, inputs, &session);
    int output_count = status == ILLUME_OK ? illume_session_output_count(session) : 0;
    illume_tensor outputs[MAX_TENSORS];
    memset(outputs, 0, sizeof outputs);
    if (output_count > MAX_TENSORS) status = ILLUME_ERROR_INVALID_INPUT;
    for (int o = 0; status == ILLUME_OK && o < output_count; o++) {
        illume_value_info info;
        illume_session_output(session, o, &info);
        outputs[o] = tensor_zeros(info.rank, info.dims);
    }
    if (status == ILLUME_OK) status = illume_session_run(session, input_count, inputs, output_count, outputs);
    if (status == ILLUME_OK) status = illume_session_backward(session, rule, seed);
    for (int i = 0; status == ILLUME_OK && i < input_count; i++) {
        illume_value_info info;
        illume_model_input(model, i, &info);
        gradients[i] = tensor_zeros(inputs[i].rank, inputs[i].dims);
        status = illume_session_read(session, info.name, 1, &gradients[i]);
    }
    for (int o = 0; o < output_count && o < MAX_TENSORS; o++) tensor_release(&outputs[o]);
    illume_session_free(session);
    if (status != ILLUME_OK)
        for (int i = 0; i < input_count; i++) tensor_release(&gradients[i]);
    return status;
}

illume_tensor tensor_away_from(int rank, const int64_t *dims, float low, float high, int kink_count,
                               const double *kinks, double margin, uint64_t *seed) {
    illume_tensor tensor = tensor_random(rank, dims, low, high, seed);
    float *x = tensor.data;
    for (int64_t i = 0; x && i < tensor_count(&tensor); i++)
        for (int k = 0; k < kink_count; k++)
            if (fabs(x[i] - kinks[k]) < margin) x[i] = (float)(kinks[k] + (x[i] < kinks[k] ? -margin : margin));
    return tensor;
}

illume_tensor tensor_distinct(int rank, const int64_t *dims, float low, float high, uint64_t *seed) {
    illume_tensor tensor = tensor_zeros(rank, dims);
    float *x = tensor.data;
    int64_t count = tensor_count(&tensor);
    for (int64_t i = 0; x && i < count; i++) x[i] = low + (high - low) * ((float)i + 0.5f) / (float)count;
    for (int64_t i = count - 1; x && i > 0; i--) {
        int64_t j = (int64_t)(random_uniform(seed) * (double)(i + 1));
        float swap = x[i];
        x[i] = x[j];
        x[j] = swap;
    }
    return tensor;
}

int add_channel_permutation(builder *b, int x, int64_t channels) {
    int64_t dims[4] = {channels, channels, 1, 1};
    float *weights = calloc((size_t)(channels * channels), sizeof(float));
    if (!weights) {
        b->failed = 1;
        return -1;
    }
    for (int64_t c = 0; c < channels; c++) weights[c * channels + (c + 1) % channels] = 1.0f;
    int inputs[2] = {x, builder_floats(b, "permutation", 4, dims, weights)}, y;
    builder_node(b, "Conv", 2, inputs, 1, &y);
    free(weights);
    return y;
}

int expect_close(const char *label, const illume_tensor *got, const illume_tensor *want, double tolerance) {
    count_case();
    int same = got->rank == want->rank;
    for (int d = 0; same && d < got->rank; d++) same = got->dims[d] == want->dims[d];
    if (!same) {
        test_fail("%s: shapes differ", label);
        return 0;
    }
    int64_t count = tensor_count(want), worst = -1;
    const float *g = got->data, *w = want->data;
    double scale = 0.0, error = 0.0;
    for (int64_t i = 0; i < count; i++) scale = fmax(scale, fabs(w[i]));
    for (int64_t i = 0; i < count; i++)
        if (!(fabs((double)g[i] - w[i]) <= error)) {
            error = fabs((double)g[i] - w[i]);
            worst = i;
        }
    if (worst >= 0 && !(error <= tolerance * scale)) {
        test_fail("%s: element %lld is %.9g, expected %.9g (largest expected magnitude %.3g)", label,
                  (long long)worst, g[worst], w[worst], scale);
        return 0;
    }
    return 1;
}
