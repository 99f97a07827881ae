/* illume run MODEL INPUT...: one forward pass, outputs as .npy, top classes. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "input.h"
#include "labels.h"
#include "npy.h"

static const char *const help_text =
    "usage: illume run MODEL INPUT... [-o OUT.npy] [options]\n"
    "\n"
    "Runs MODEL on INPUT: one .npy tensor (float32, the model's input shape, e.g.\n"
    "NCHW) or PNG/JPEG images, one batch row each. Writes the first output to\n"
    "OUT.npy (further outputs to OUT-1.npy, OUT-2.npy, ...) and prints the top\n"
    "classes of each row of the first output.\n"
    "\n"
    "  -o, --output FILE   where to write the output (default: write nothing)\n"
    "  --top K             classes to print per row (default 5, 0 for none)\n"
    "  --labels FILE       class names, one per line\n"
    "  --threads N         CPU threads (default: all cores)\n"
    "  --device DEVICE     cpu, cuda, cuda:N or auto (default auto, the CPU for now)\n"
    "  --fast              CUDA: allow TF32 math and non-deterministic algorithms\n"
    "  --autotune          CUDA: time cuDNN's convolution algorithms once per layer\n"
    "  --no-fold-batchnorm keep BatchNormalization nodes as they are\n"
    "  --no-winograd       run every convolution by the direct sum; by default the CPU runs\n"
    "                      3x3 ones with enough channels by Winograd's algorithm, whose\n"
    "                      rounding differs (about 1e-6 relative)\n"
    "\n";

static void print_top(const illume_tensor *output, int top, const labels *names, char **inputs, int input_count) {
    if (top <= 0 || output->dtype != ILLUME_FLOAT32 || output->rank < 1 || illume_tensor_bytes(output) == 0) return;
    int64_t rows = output->rank >= 2 ? output->dims[0] : 1;
    int64_t classes = 1;
    for (int d = output->rank >= 2 ? 1 : 0; d < output->rank; d++) classes *= output->dims[d];
    if (classes < 2) return;
    if (top > classes) top = (int)classes;
    const float *data = output->data;
    for (int64_t r = 0; r < rows; r++) {
        const float *row = data + r * classes;
        float largest = -INFINITY;
        for (int64_t c = 0; c < classes; c++)
            if (row[c] > largest) largest = row[c];
        double sum = 0.0;
        for (int64_t c = 0; c < classes; c++) sum += exp((double)(row[c] - largest));
        printf("%s:\n", input_count == rows ? inputs[r] : "row");
        int chosen[64];
        int count = top < 64 ? top : 64;
        for (int k = 0; k < count; k++) {
            int best = -1;
            for (int64_t c = 0; c < classes; c++) {
                int taken = 0;
                for (int j = 0; j < k; j++) taken |= chosen[j] == c;
                if (!taken && (best < 0 || row[c] > row[best])) best = (int)c;
            }
            chosen[k] = best;
            double probability = exp((double)(row[best] - largest)) / sum;
            printf("  %2d. class %-5d %-30s score %10.4f  softmax %.4f\n", k + 1, best,
                   best < names->count ? names->names[best] : "", row[best], probability);
        }
    }
}

/* Runs the session on `input` in passes of the session's batch (each row
 * of a pass from input, the last pass padded with zeros), writing each
 * output's rows in order into outputs (shaped for all of input's rows). */
static illume_status run_in_batches(illume_context *context, illume_session *session, const illume_tensor *input,
                                    int output_count, illume_tensor *outputs, int64_t batch, char *error,
                                    size_t size) {
    if (input->dims[0] == 0) return ILLUME_OK; /* no rows, no passes: the outputs have none either */
    illume_tensor pass_input = *input;
    pass_input.dims[0] = batch;
    size_t input_row = illume_tensor_bytes(input) / (size_t)input->dims[0];
    pass_input.data = calloc((size_t)batch, input_row);
    illume_tensor *pass_outputs = calloc((size_t)output_count, sizeof *pass_outputs);
    illume_status status = pass_input.data && pass_outputs ? ILLUME_OK : ILLUME_ERROR_OUT_OF_MEMORY;
    for (int o = 0; o < output_count && status == ILLUME_OK; o++) {
        pass_outputs[o] = outputs[o];
        pass_outputs[o].dims[0] = batch;
        pass_outputs[o].data = malloc(illume_tensor_bytes(&pass_outputs[o]) + 1);
        if (!pass_outputs[o].data) status = ILLUME_ERROR_OUT_OF_MEMORY;
    }
    for (int64_t first = 0; first < input->dims[0] && status == ILLUME_OK; first += batch) {
        int64_t rows = input->dims[0] - first < batch ? input->dims[0] - first : batch;
        memset(pass_input.data, 0, (size_t)batch * input_row);
        memcpy(pass_input.data, (const char *)input->data + (size_t)first * input_row, (size_t)rows * input_row);
        status = illume_session_run(session, 1, &pass_input, output_count, pass_outputs);
        for (int o = 0; o < output_count && status == ILLUME_OK; o++) {
            size_t output_row = illume_tensor_bytes(&pass_outputs[o]) / (size_t)batch;
            memcpy((char *)outputs[o].data + (size_t)first * output_row, pass_outputs[o].data, (size_t)rows * output_row);
        }
    }
    if (status == ILLUME_ERROR_OUT_OF_MEMORY) snprintf(error, size, "out of memory for a batch of %lld rows", (long long)batch);
    else if (status != ILLUME_OK) snprintf(error, size, "%s", illume_last_error(context));
    for (int o = 0; pass_outputs && o < output_count; o++) free(pass_outputs[o].data);
    free(pass_outputs);
    free(pass_input.data);
    return status;
}

/* Output o's file: -o's path for the first, OUT-o.npy for the others. */
static void output_path(const char *base, int index, char *path, size_t size) {
    if (index == 0) {
        snprintf(path, size, "%s", base);
        return;
    }
    char suffix[16];
    snprintf(suffix, sizeof suffix, "%d", index);
    npy_path_with_suffix(base, suffix, path, size);
}

int command_run(int argc, char **argv) {
    const char *model_path = NULL, *output = NULL, *labels_path = NULL, *device = "auto";
    char **inputs = calloc((size_t)argc + 1, sizeof(char *));
    int input_count = 0;
    long long top = 5, threads = 0;
    int fold_batchnorm = 1, winograd = 1, fast = 0, autotune = 0;
    input_options preprocessing;
    input_options_default(&preprocessing);
    if (!inputs) return report(ILLUME_ERROR_OUT_OF_MEMORY, "out of memory");
    for (int i = 1; i < argc; i++) {
        const char *flag = argv[i];
        int parsed = input_parse_option("run", argc, argv, &i, &preprocessing);
        if (parsed < 0) {
            free(inputs);
            return EXIT_USAGE;
        }
        if (parsed) continue;
        int has_value = i + 1 < argc;
        if (strcmp(flag, "--help") == 0 || strcmp(flag, "-h") == 0) {
            printf("%s%s", help_text, input_options_help);
            free(inputs);
            return 0;
        } else if (strcmp(flag, "-o") == 0 || strcmp(flag, "--output") == 0) {
            if (!has_value) goto missing;
            output = argv[++i];
        } else if (strcmp(flag, "--top") == 0) {
            if (!has_value) goto missing;
            if (parse_int(argv[++i], 0, 1000000, &top)) goto bad;
        } else if (strcmp(flag, "--labels") == 0) {
            if (!has_value) goto missing;
            labels_path = argv[++i];
        } else if (strcmp(flag, "--threads") == 0) {
            if (!has_value) goto missing;
            if (parse_int(argv[++i], 1, 4096, &threads)) goto bad;
        } else if (strcmp(flag, "--device") == 0) {
            if (!has_value) goto missing;
            device = argv[++i];
        } else if (strcmp(flag, "--fast") == 0) {
            fast = 1;
        } else if (strcmp(flag, "--autotune") == 0) {
            autotune = 1;
        } else if (strcmp(flag, "--no-fold-batchnorm") == 0) {
            fold_batchnorm = 0;
        } else if (strcmp(flag, "--no-winograd") == 0) {
            winograd = 0;
        } else if (flag[0] == '-' && flag[1]) {
            free(inputs);
            return usage_error("run", "unknown option '%s'", flag);
        } else if (!model_path) {
            model_path = flag;
        } else {
            inputs[input_count++] = argv[i];
        }
        continue;
    missing:
        free(inputs);
        return usage_error("run", "%s needs a value", flag);
    bad:
        free(inputs);
        return usage_error("run", "bad value '%s' for %s", argv[i], flag);
    }
    if (!model_path || input_count == 0) {
        free(inputs);
        return usage_error("run", "give a MODEL and at least one INPUT");
    }

    int code = 0;
    char error[1024];
    labels names = {0};
    illume_context *context = illume_context_create();
    illume_model *model = NULL;
    illume_session *session = NULL;
    illume_tensor input = {0};
    illume_tensor *outputs = NULL;
    int output_count = 0;
    illume_set_threads(context, (int)threads);
    if (labels_path && labels_load(labels_path, &names)) {
        code = report(ILLUME_ERROR_IO, "cannot read labels '%s'", labels_path);
        goto done;
    }
    illume_status status = illume_model_load(context, model_path, &model);
    if (status != ILLUME_OK) {
        code = report(status, "%s", illume_last_error(context));
        goto done;
    }
    if (illume_model_input_count(model) != 1) {
        code = report(ILLUME_ERROR_UNSUPPORTED, "%s has %d inputs; illume run feeds models with one input",
                      model_path, illume_model_input_count(model));
        goto done;
    }
    illume_value_info input_info;
    illume_model_input(model, 0, &input_info);
    input_choose_layout(&preprocessing, model);
    status = input_load(inputs, input_count, &input_info, &preprocessing, &input, error, sizeof error);
    if (status != ILLUME_OK) {
        code = report(status, "%s", error);
        goto done;
    }
    /* A model that fixes its batch and cannot be rebound runs that many rows at a time. */
    illume_batch_info batch_info;
    status = illume_model_batch(context, model, &input, &batch_info);
    if (status != ILLUME_OK) {
        code = report(status, "%s", illume_last_error(context));
        goto done;
    }
    int64_t rows = input.dims[0];
    int batched = batch_info.fixed && !batch_info.rebinds && rows != batch_info.fixed;
    illume_tensor session_shape = input;
    if (batched) {
        session_shape.dims[0] = batch_info.fixed;
        fprintf(stderr, "illume: %s\nillume: running %lld rows as %lld batches of %lld, the last padded\n",
                batch_info.reason, (long long)rows, (long long)((rows + batch_info.fixed - 1) / batch_info.fixed),
                (long long)batch_info.fixed);
    }
    illume_session_options options;
    illume_session_options_default(&options);
    options.device = device;
    options.fast = fast;
    options.autotune = autotune;
    options.fold_batchnorm = fold_batchnorm;
    options.winograd = winograd;
    status = illume_session_create(context, model, &options, 1, &session_shape, &session);
    if (status != ILLUME_OK) {
        code = report(status, "%s", illume_last_error(context));
        goto done;
    }
    output_count = illume_session_output_count(session);
    outputs = calloc((size_t)output_count, sizeof *outputs);
    if (!outputs) {
        code = report(ILLUME_ERROR_OUT_OF_MEMORY, "out of memory");
        goto done;
    }
    for (int o = 0; o < output_count; o++) {
        illume_value_info info;
        illume_session_output(session, o, &info);
        outputs[o].dtype = info.dtype;
        outputs[o].rank = info.rank;
        memcpy(outputs[o].dims, info.dims, sizeof info.dims);
        if (batched) {
            if (info.rank < 1 || info.dims[0] != batch_info.fixed) {
                code = report(ILLUME_ERROR_UNSUPPORTED, "output '%s' has no batch dimension to gather rows from",
                              info.name);
                goto done;
            }
            outputs[o].dims[0] = rows;
        }
        outputs[o].data = malloc(illume_tensor_bytes(&outputs[o]) + 1);
        if (!outputs[o].data) {
            code = report(ILLUME_ERROR_OUT_OF_MEMORY, "out of memory for output %d", o);
            goto done;
        }
    }
    if (batched) {
        status = run_in_batches(context, session, &input, output_count, outputs, batch_info.fixed, error, sizeof error);
    } else {
        status = illume_session_run(session, 1, &input, output_count, outputs);
        if (status != ILLUME_OK) snprintf(error, sizeof error, "%s", illume_last_error(context));
    }
    if (status != ILLUME_OK) {
        code = report(status, "%s", error);
        goto done;
    }
    print_top(&outputs[0], (int)top, &names, inputs, input_count);
    for (int o = 0; output && o < output_count; o++) {
        char path[4096];
        output_path(output, o, path, sizeof path);
        status = npy_write(path, &outputs[o], error, sizeof error);
        if (status != ILLUME_OK) {
            code = report(status, "%s", error);
            goto done;
        }
        fprintf(stderr, "illume: wrote %s\n", path);
    }
done:
    for (int o = 0; outputs && o < output_count; o++) free(outputs[o].data);
    free(outputs);
    free(input.data);
    illume_session_free(session);
    illume_model_free(model);
    illume_context_destroy(context);
    labels_free(&names);
    free(inputs);
    return code;
}
