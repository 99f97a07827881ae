/* Baselines: zeros, a constant, a tensor (one row for all inputs, or one per
 * input), or the input blurred by a Gaussian (Sturmfels et al. 2020): each
 * channel convolved with a separable kernel cut at three sigma, the border
 * repeating the edge pixel. */
#include "baseline.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* One pass of a 1-D Gaussian along a row or a column of pixels, source
 * and target elements each `step` apart. */
static void blur_line(const float *source, int64_t source_step, float *target, int64_t target_step, int64_t length,
                      const float *kernel, int radius) {
    for (int64_t i = 0; i < length; i++) {
        float sum = 0.0f;
        for (int k = -radius; k <= radius; k++) {
            int64_t j = i + k;
            j = j < 0 ? 0 : (j >= length ? length - 1 : j);
            sum += kernel[k + radius] * source[j * source_step];
        }
        target[i * target_step] = sum;
    }
}

static illume_status blur(illume_explainer *e, const float *input, float *output) {
    const illume_tensor *row = &e->row;
    if (row->rank < 3)
        return illume_fail(e->context, ILLUME_ERROR_INVALID_INPUT, "a blurred baseline needs an image input (N, C, H, W)");
    const explain_image *image = &e->input_image;
    int64_t height = image->height, width = image->width, planes = image->channels;
    /* A channel's pixels lie one apart stored channels first, a pixel's channels apart stored last. */
    int64_t pixel_step = image->channels_last ? planes : 1;
    float sigma = e->options.blur_sigma;
    int radius = (int)ceilf(3.0f * sigma);
    float *kernel = malloc(sizeof(float) * (size_t)(2 * radius + 1));
    float *scratch = malloc(sizeof(float) * (size_t)(height * width));
    if (!kernel || !scratch) {
        free(kernel);
        free(scratch);
        return illume_fail(e->context, ILLUME_ERROR_OUT_OF_MEMORY, "out of memory");
    }
    float total = 0.0f;
    for (int k = -radius; k <= radius; k++) total += kernel[k + radius] = expf(-0.5f * (float)(k * k) / (sigma * sigma));
    for (int k = 0; k <= 2 * radius; k++) kernel[k] /= total;
    for (int64_t p = 0; p < planes; p++) {
        int64_t first = image->channels_last ? p : p * height * width;
        const float *plane = input + first;
        float *out = output + first;
        for (int64_t y = 0; y < height; y++)
            blur_line(plane + y * width * pixel_step, pixel_step, scratch + y * width, 1, width, kernel, radius);
        for (int64_t x = 0; x < width; x++)
            blur_line(scratch + x, width, out + x * pixel_step, width * pixel_step, height, kernel, radius);
    }
    free(kernel);
    free(scratch);
    return ILLUME_OK;
}

illume_status baseline_rows(illume_explainer *e, const float *inputs, int64_t count, float *baselines) {
    int64_t size = e->row_elements;
    const illume_explain_options *o = &e->options;
    if (e->baseline && e->baseline->dims[0] != 1 && e->baseline->dims[0] != count)
        return illume_fail(e->context, ILLUME_ERROR_INVALID_INPUT,
                           "the baseline has %lld rows for %lld inputs (give one, or one per input)",
                           (long long)e->baseline->dims[0], (long long)count);
    for (int64_t r = 0; r < count; r++) {
        float *target = baselines + r * size;
        switch (o->baseline) {
        case ILLUME_BASELINE_ZEROS: memset(target, 0, sizeof(float) * (size_t)size); break;
        case ILLUME_BASELINE_CONSTANT:
            for (int64_t i = 0; i < size; i++) target[i] = o->baseline_value;
            break;
        case ILLUME_BASELINE_TENSOR: {
            const illume_tensor *given = e->baseline;
            int64_t given_rows = given->dims[0];
            memcpy(target, (const float *)given->data + (given_rows == 1 ? 0 : r) * size, sizeof(float) * (size_t)size);
            break;
        }
        case ILLUME_BASELINE_BLUR: ILLUME_TRY(blur(e, inputs + r * size, target)); break;
        }
    }
    return ILLUME_OK;
}

void baseline_finish(const float *inputs, const float *baselines, int64_t count, int64_t size,
                     const float *baseline_scores, float *attributions, illume_explain_row *rows) {
    for (int64_t r = 0; r < count; r++) {
        double total = 0.0;
        float *attribution = attributions + r * size;
        const float *x = inputs + r * size, *b = baselines + r * size;
        for (int64_t i = 0; i < size; i++) {
            attribution[i] *= x[i] - b[i];
            total += attribution[i];
        }
        rows[r].delta = (float)(total - ((double)rows[r].score - (double)baseline_scores[r]));
    }
}
