#include "input.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "npy.h"

const char *const input_options_help =
    "Image preprocessing (INPUT given as PNG or JPEG files, one batch row each):\n"
    "  --size H,W | S      resize to H x W (S x S); default: the model's input size, else 224\n"
    "  --mean R,G,B | M    subtracted after scaling pixels to [0, 1] (default 0)\n"
    "  --std R,G,B | S     divided by after the mean (default 1)\n"
    "  --imagenet          --mean 0.485,0.456,0.406 --std 0.229,0.224,0.225\n"
    "  --layout nchw|nhwc  tensor layout the model takes (default: nhwc where the model\n"
    "                      shows it, as TensorFlow's and JAX's exports do, else nchw)\n";

void input_options_default(input_options *options) {
    memset(options, 0, sizeof *options);
    for (int c = 0; c < 3; c++) options->std[c] = 1.0f;
    options->channels_last = -1;
}

void input_choose_layout(input_options *options, const illume_model *model) {
    if (options->channels_last < 0) options->channels_last = illume_model_input_channels_last(model, 0);
}

static int three_values(const char *text, float *values) {
    int count;
    if (parse_floats(text, values, 3, &count)) return -1;
    if (count == 1) values[1] = values[2] = values[0];
    else if (count != 3) return -1;
    return 0;
}

int input_parse_option(const char *command, int argc, char **argv, int *i, input_options *options) {
    const char *flag = argv[*i];
    int takes_value = strcmp(flag, "--size") == 0 || strcmp(flag, "--mean") == 0 || strcmp(flag, "--std") == 0 ||
                      strcmp(flag, "--layout") == 0;
    if (strcmp(flag, "--imagenet") == 0) {
        const float mean[3] = {0.485f, 0.456f, 0.406f}, std[3] = {0.229f, 0.224f, 0.225f};
        memcpy(options->mean, mean, sizeof mean);
        memcpy(options->std, std, sizeof std);
        return 1;
    }
    if (!takes_value) return 0;
    if (*i + 1 >= argc) {
        usage_error(command, "%s needs a value", flag);
        return -1;
    }
    const char *value = argv[++*i];
    if (strcmp(flag, "--size") == 0) {
        int64_t dims[2];
        int rank;
        if (parse_shape(value, dims, 2, &rank) || dims[0] < 1 || dims[0] > 65536 || dims[rank - 1] < 1 ||
            dims[rank - 1] > 65536) {
            usage_error(command, "--size expects H,W or S with sizes from 1 to 65536, got '%s'", value);
            return -1;
        }
        options->height = (int)dims[0];
        options->width = (int)dims[rank - 1];
    } else if (strcmp(flag, "--mean") == 0) {
        if (three_values(value, options->mean)) {
            usage_error(command, "--mean expects one or three numbers, got '%s'", value);
            return -1;
        }
    } else if (strcmp(flag, "--std") == 0) {
        if (three_values(value, options->std) || options->std[0] == 0 || options->std[1] == 0 ||
            options->std[2] == 0) {
            usage_error(command, "--std expects one or three non-zero numbers, got '%s'", value);
            return -1;
        }
    } else {
        if (strcmp(value, "nchw") && strcmp(value, "nhwc")) {
            usage_error(command, "--layout expects nchw or nhwc, got '%s'", value);
            return -1;
        }
        options->channels_last = strcmp(value, "nhwc") == 0;
    }
    return 1;
}

static int has_suffix(const char *text, const char *suffix) {
    size_t a = strlen(text), b = strlen(suffix);
    return a >= b && strcmp(text + a - b, suffix) == 0;
}

static illume_status load_images(char **paths, int count, const illume_value_info *model_input,
                                 const input_options *options, illume_tensor *tensor, char *error, size_t size) {
    if (model_input->rank != 4) {
        snprintf(error, size, "input '%s' has rank %d; images need a 4-D input (give a .npy instead)",
                 model_input->name, model_input->rank);
        return ILLUME_ERROR_INVALID_INPUT;
    }
    int channel_axis = options->channels_last ? 3 : 1;
    int height_axis = options->channels_last ? 1 : 2, width_axis = height_axis + 1;
    int64_t channels = model_input->dims[channel_axis];
    if (channels < 0) channels = 3;
    if (channels != 1 && channels != 3) {
        snprintf(error, size, "input '%s' has %lld channels on axis %d; images give 1 or 3 (is --layout right?)",
                 model_input->name, (long long)channels, channel_axis);
        return ILLUME_ERROR_INVALID_INPUT;
    }
    preprocess prep = {.channels = (int)channels, .channels_last = options->channels_last};
    memcpy(prep.mean, options->mean, sizeof prep.mean);
    memcpy(prep.std, options->std, sizeof prep.std);
    prep.height = options->height ? options->height
                  : model_input->dims[height_axis] > 0 ? (int)model_input->dims[height_axis] : 224;
    prep.width = options->width ? options->width
                 : model_input->dims[width_axis] > 0 ? (int)model_input->dims[width_axis] : 224;
    memset(tensor, 0, sizeof *tensor);
    tensor->dtype = ILLUME_FLOAT32;
    tensor->rank = 4;
    tensor->dims[0] = count;
    tensor->dims[channel_axis] = channels;
    tensor->dims[height_axis] = prep.height;
    tensor->dims[width_axis] = prep.width;
    size_t per_image = (size_t)channels * prep.height * prep.width;
    tensor->data = malloc(per_image * (size_t)count * sizeof(float));
    if (!tensor->data) {
        snprintf(error, size, "out of memory for %d images", count);
        return ILLUME_ERROR_OUT_OF_MEMORY;
    }
    /* Images decode side by side; the first that fails (by position, whatever
     * the threads' order) gives the error. */
    int first_failure = count, failure_kind = 0;
#pragma omp parallel for schedule(dynamic)
    for (int i = 0; i < count; i++) {
        image img;
        char message[1024];
        int failure = image_load(paths[i], &img, message, sizeof message);
        if (failure) {
#pragma omp critical(image_failure)
            if (i < first_failure) {
                first_failure = i;
                failure_kind = failure;
                snprintf(error, size, "%s", message);
            }
            continue;
        }
        image_to_tensor(&img, &prep, (float *)tensor->data + per_image * (size_t)i);
        image_free(&img);
    }
    if (first_failure < count) {
        free(tensor->data);
        tensor->data = NULL;
        return failure_kind == IMAGE_UNREADABLE ? ILLUME_ERROR_IO : ILLUME_ERROR_INVALID_INPUT;
    }
    return ILLUME_OK;
}

illume_status input_load(char **paths, int count, const illume_value_info *model_input, const input_options *options,
                         illume_tensor *tensor, char *error, size_t size) {
    if (count == 1 && has_suffix(paths[0], ".npy")) return npy_read(paths[0], tensor, error, size);
    for (int i = 0; i < count; i++) {
        if (has_suffix(paths[i], ".npy")) {
            snprintf(error, size, "give either one .npy file or images, not both");
            return ILLUME_ERROR_INVALID_INPUT;
        }
    }
    return load_images(paths, count, model_input, options, tensor, error, size);
}
