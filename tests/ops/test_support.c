#include "test_support.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static int cases, failures;

void test_fail(const char *format, ...) {
    va_list arguments;
    va_start(arguments, format);
    fprintf(stderr, "FAIL: ");
    vfprintf(stderr, format, arguments);
    fprintf(stderr, "\n");
    va_end(arguments);
    failures++;
}

static const char *format_shape(int rank, const int64_t *dims, char *buffer, size_t size) {
    size_t used = (size_t)snprintf(buffer, size, "[");
    for (int d = 0; d < rank && used < size; d++)
        used += (size_t)snprintf(buffer + used, size - used, "%s%lld", d ? ", " : "", (long long)dims[d]);
    if (used < size) snprintf(buffer + used, size - used, "]");
    return buffer;
}

static int same_shape(const illume_tensor *got, int rank, const int64_t *dims, const char *label) {
    int same = got->rank == rank;
    for (int d = 0; same && d < rank; d++) same = got->dims[d] == dims[d];
    if (!same) {
        char a[128], b[128];
        test_fail("%s: shape %s, expected %s", label, format_shape(got->rank, got->dims, a, sizeof a),
                  format_shape(rank, dims, b, sizeof b));
    }
    return same;
}

int check_tensor(const char *label, const illume_tensor *got, const illume_tensor *want, double tolerance) {
    if (got->dtype != ILLUME_FLOAT32) {
        test_fail("%s: output is not float32", label);
        return 0;
    }
    if (!same_shape(got, want->rank, want->dims, label)) return 0;
    int64_t count = tensor_count(want), wrong = 0, first = -1;
    const float *g = got->data, *w = want->data;
    for (int64_t i = 0; i < count; i++) {
        int agree = isnan(w[i]) ? isnan(g[i])
                                : g[i] == w[i] || fabs((double)g[i] - (double)w[i]) <= tolerance * (1.0 + fabs(w[i]));
        if (!agree && wrong++ == 0) first = i;
    }
    if (wrong) {
        char shape[128];
        test_fail("%s: %lld of %lld values differ; first at flat index %lld of %s: got %.9g, expected %.9g", label,
                  (long long)wrong, (long long)count, (long long)first,
                  format_shape(want->rank, want->dims, shape, sizeof shape), g[first], w[first]);
        return 0;
    }
    return 1;
}

int check_ints(const char *label, const illume_tensor *got, int rank, const int64_t *dims, const int64_t *want) {
    if (got->dtype != ILLUME_INT64) {
        test_fail("%s: output is not int64", label);
        return 0;
    }
    if (!same_shape(got, rank, dims, label)) return 0;
    int64_t count = tensor_count(got);
    for (int64_t i = 0; i < count; i++)
        if (((const int64_t *)got->data)[i] != want[i]) {
            test_fail("%s: value %lld is %lld, expected %lld", label, (long long)i,
                      (long long)((const int64_t *)got->data)[i], (long long)want[i]);
            return 0;
        }
    return 1;
}

int expect_run_with(const char *label, builder *b, const illume_session_options *options, int input_count,
                     const illume_tensor *inputs, int output_count, illume_tensor *want, double tolerance,
                     illume_session_stats *stats) {
    cases++;
    illume_context *context = illume_context_create();
    illume_model *model = NULL;
    illume_tensor got[16];
    illume_status status = builder_finish(b, context, &model);
    if (status == ILLUME_OK && output_count > 16) status = ILLUME_ERROR_INVALID_INPUT;
    if (status == ILLUME_OK)
        status = run_model(context, model, options, input_count, inputs, output_count, got, stats);
    if (status != ILLUME_OK) {
        test_fail("%s: %s: %s", label, illume_status_name(status), illume_last_error(context));
    } else {
        for (int o = 0; o < output_count; o++) {
            char name[512];
            snprintf(name, sizeof name, "%s (output %d)", label, o);
            check_tensor(output_count > 1 ? name : label, &got[o], &want[o], tolerance);
            tensor_release(&got[o]);
        }
    }
    for (int o = 0; o < output_count; o++) tensor_release(&want[o]);
    illume_model_free(model);
    illume_context_destroy(context);
    return status == ILLUME_OK;
}

void expect_run(const char *label, builder *b, int input_count, const illume_tensor *inputs, int output_count,
                illume_tensor *want, double tolerance) {
    expect_run_with(label, b, NULL, input_count, inputs, output_count, want, tolerance, NULL);
}

void expect_run_layouts(const char *label, builder *b, int input_count, const illume_tensor *inputs,
                        int output_count, illume_tensor *want, double tolerance) {
    illume_context *context = illume_context_create();
    illume_model *model = NULL;
    illume_status status = builder_finish(b, context, &model);
    for (int layout = 1; layout >= 0; layout--) {
        cases++;
        char name[512];
        snprintf(name, sizeof name, "%s (channels %s)", label, layout ? "last" : "first");
        if (status != ILLUME_OK) {
            test_fail("%s: %s: %s", name, illume_status_name(status), illume_last_error(context));
            continue;
        }
        illume_session_options options;
        illume_session_options_default(&options);
        options.device = "cpu";
        options.channels_last = layout;
        illume_tensor got[16];
        illume_status run_status = output_count > 16 ? ILLUME_ERROR_INVALID_INPUT
                                                     : run_model(context, model, &options, input_count, inputs,
                                                                 output_count, got, NULL);
        if (run_status != ILLUME_OK) {
            test_fail("%s: %s: %s", name, illume_status_name(run_status), illume_last_error(context));
            continue;
        }
        for (int o = 0; o < output_count; o++) {
            char output_name[600];
            snprintf(output_name, sizeof output_name, "%s (output %d)", name, o);
            check_tensor(output_count > 1 ? output_name : name, &got[o], &want[o], tolerance);
            tensor_release(&got[o]);
        }
    }
    for (int o = 0; o < output_count; o++) tensor_release(&want[o]);
    illume_model_free(model);
    illume_context_destroy(context);
}

int add_conv(builder *b, int x, const illume_tensor *x_data, int64_t features, uint64_t *seed,
             illume_tensor *produced) {
    int64_t w_dims[4] = {features, x_data->dims[1], 3, 3}, bias_dims[1] = {features};
    illume_tensor w = tensor_random(4, w_dims, -0.5f, 0.5f, seed);
    illume_tensor bias = tensor_random(1, bias_dims, -0.5f, 0.5f, seed);
    window_params params = window_defaults();
    for (int d = 0; d < 4; d++) params.pads[d] = 1;
    *produced = reference_conv(x_data, &w, &bias, 1, &params, 0);
    int inputs[3] = {x, builder_floats(b, "conv_w", 4, w_dims, w.data),
                     builder_floats(b, "conv_b", 1, bias_dims, bias.data)};
    int y, node = builder_node(b, "Conv", 3, inputs, 1, &y);
    builder_attribute_ints(b, node, "pads", 4, params.pads);
    tensor_release(&w);
    tensor_release(&bias);
    return y;
}

void expect_refusal(const char *label, builder *b, int input_count, const illume_tensor *inputs,
                    illume_status expected, const char *mentions) {
    cases++;
    illume_context *context = illume_context_create();
    illume_model *model = NULL;
    illume_status status = builder_finish(b, context, &model);
    if (status == ILLUME_OK) {
        illume_session_options options;
        illume_session_options_default(&options);
        options.device = "cpu";
        illume_session *session = NULL;
        status = illume_session_create(context, model, &options, input_count, inputs, &session);
        illume_session_free(session);
    }
    if (status != expected)
        test_fail("%s: status %s, expected %s (%s)", label, illume_status_name(status), illume_status_name(expected),
                  illume_last_error(context));
    else if (mentions && !strstr(illume_last_error(context), mentions))
        test_fail("%s: message \"%s\" does not mention \"%s\"", label, illume_last_error(context), mentions);
    illume_model_free(model);
    illume_context_destroy(context);
}

void count_case(void) { cases++; }

int test_report(const char *suite) {
    printf("%s: %d cases, %d failures\n", suite, cases, failures);
    return failures ? 1 : 0;
}
