/* Baselines: zeros, a constant, a tensor (one row for all inputs, or one per
 * input), or the input blurred by a Gaussian (Sturmfels et al. 2020): each
 * channel convolved with a separable kernel cut at three sigma, the border
 * repeating the edge pixel. */
#include "baseline.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* One pass of a 1-D Gaussian along rows (step 1) or columns (step width). */
static void blur_line(const float *source, float *target, int64_t length, int64_t step, const float *kernel,
                      int radius) {
    for (int64_t i = 0; i < length; i++) {
        float sum = 0.0f;
        for (int k = -radius; k <= radius; k++) {
            int64_t j = i + k;
            j = j < 0 ? 0 : (j >= length ? length - 1 : j);
            sum += kernel[k + radius] * source[j * step];
        }
        target[i * step] = sum;
    }
}

static illume_status blur(illume_explainer *e, const float *input, float *output) {
    const illume_tensor *row = &e->row;
    if (row->rank < 3)
        return illume_fail(e->context, ILLUME_ERROR_INVALID_INPUT, "a blurred baseline needs an image input (N, C, H, W)");
    int64_t height = row->dims[row->rank - 2], width = row->dims[row->rank - 1];
    int64_t planes = e->row_elements / (height * width);
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
        const float *plane = input + p * height * width;
        float *out = output + p * height * width;
        for (int64_t y = 0; y < height; y++) blur_line(plane + y * width, scratch + y * width, width, 1, kernel, radius);
        for (int64_t x = 0; x < width; x++) blur_line(scratch + x, out + x, height, width, kernel, radius);
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
