/* libFuzzer target for the image path of illume run and explain: a PNG or
 * JPEG file decoded by libpng or libjpeg (cli/image.c), resized and
 * normalized into a model's input (cli/input.c). The first three bytes choose
 * how, the rest is the file:
 *   byte 0, bits: 1 one channel (else three), 2 channels last, 4 ImageNet's
 *           mean and deviation, 8 the size given as --size would (else the
 *           model's), 16 a model whose height and width are symbolic (224),
 *           32 a model of four channels (refused)
 *   byte 1, 2: the height and width, 1 to 256
 * Any file gives a tensor of the expected shape with finite values, or a
 * status with a message. Built by -DILLUME_FUZZ=ON with clang;
 * replay_regressions.c replays saved inputs through the same function in
 * every build. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_scratch.h"
#include "input.h"

#define OPTION_BYTES 3

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < OPTION_BYTES) return 0;
    int flags = data[0], height = 1 + data[1], width = 1 + data[2];
    char path[4096], error[1024] = "";
    fuzz_scratch_write("input.image", data + OPTION_BYTES, size - OPTION_BYTES, path, sizeof path);

    input_options options;
    input_options_default(&options);
    options.channels_last = (flags & 2) != 0;
    if (flags & 4) {
        const float mean[3] = {0.485f, 0.456f, 0.406f}, deviation[3] = {0.229f, 0.224f, 0.225f};
        memcpy(options.mean, mean, sizeof mean);
        memcpy(options.std, deviation, sizeof deviation);
    }
    if (flags & 8) {
        options.height = height;
        options.width = width;
    }
    int64_t channels = flags & 32 ? 4 : flags & 1 ? 1 : 3;
    int64_t model_height = flags & 16 ? -1 : height, model_width = flags & 16 ? -1 : width;
    illume_value_info model_input = {.name = "input", .dtype = ILLUME_FLOAT32, .rank = 4};
    int64_t nchw[4] = {-1, channels, model_height, model_width}, nhwc[4] = {-1, model_height, model_width, channels};
    memcpy(model_input.dims, options.channels_last ? nhwc : nchw, sizeof nchw);

    char *paths[1] = {path};
    illume_tensor tensor;
    illume_status status = input_load(paths, 1, &model_input, &options, &tensor, error, sizeof error);
    if (status != ILLUME_OK) {
        fuzz_require(status == ILLUME_ERROR_INVALID_INPUT || status == ILLUME_ERROR_IO ||
                         status == ILLUME_ERROR_OUT_OF_MEMORY,
                     "fuzz_image", "input_load returned an unexpected status", error);
        fuzz_require(error[0] != '\0', "fuzz_image", "input_load failed without a message", NULL);
        return 0;
    }
    fuzz_require(channels != 4, "fuzz_image", "a model of four channels took an image", NULL);
    int64_t expected_height = options.height ? options.height : model_height > 0 ? model_height : 224;
    int64_t expected_width = options.width ? options.width : model_width > 0 ? model_width : 224;
    int64_t expected[4] = {1, channels, expected_height, expected_width};
    if (options.channels_last) {
        expected[1] = expected_height;
        expected[2] = expected_width;
        expected[3] = channels;
    }
    fuzz_require(tensor.dtype == ILLUME_FLOAT32 && tensor.rank == 4 &&
                     memcmp(tensor.dims, expected, sizeof expected) == 0,
                 "fuzz_image", "the tensor has another shape than the model's input", NULL);
    const float *values = tensor.data;
    for (int64_t i = 0; i < channels * expected_height * expected_width; i++)
        fuzz_require(isfinite(values[i]), "fuzz_image", "a pixel became a value that is not finite", NULL);
    free(tensor.data);
    return 0;
}
