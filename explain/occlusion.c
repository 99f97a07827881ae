/* Occlusion (Zeiler and Fergus 2014), as Captum's Occlusion with a window
 * over all channels: windows start every stride along height and width,
 * ceil((size - window) / stride) + 1 of them per axis, the last cut at the
 * border; each holds `fill`. A pixel's attribution is the mean drop of the
 * target output over the windows that cover it. Forward passes only, the
 * occluded copies made on the device and streamed through it in batches. */
#include <stdlib.h>
#include <string.h>

#include "explainer.h"

typedef struct occlusion_pass {
    int64_t row_elements, height, width;
    explain_image image;
    int64_t window[2], stride[2], counts[2];
    float fill;
    const int64_t *targets;
    const float *scores; /* the target output of each unoccluded input */
    float *sums;         /* per input pixel (one plane) */
    float *device_inputs, *device_fill; /* on the session's device */
} occlusion_pass;

/* The window of index `window`: rows [y0, y1), columns [x0, x1). */
static void window_bounds(const occlusion_pass *p, int64_t window, int64_t *y0, int64_t *y1, int64_t *x0,
                          int64_t *x1) {
    int64_t wy = window / p->counts[1], wx = window % p->counts[1];
    *y0 = wy * p->stride[0];
    *x0 = wx * p->stride[1];
    *y1 = *y0 + p->window[0] < p->height ? *y0 + p->window[0] : p->height;
    *x1 = *x0 + p->window[1] < p->width ? *x0 + p->window[1] : p->width;
}

/* The occluded copy, made on the device: the input, then the fill value
 * (one float there) broadcast over the window in every channel. */
static illume_status occlusion_build(void *closure, const explain_device *device, int64_t start, int64_t rows,
                                     int64_t *targets) {
    occlusion_pass *p = closure;
    backend *b = device->backend;
    int64_t windows = p->counts[0] * p->counts[1];
    for (int64_t r = 0; r < rows; r++) {
        int64_t input = (start + r) / windows, y0, y1, x0, x1;
        float *row = device->input + r * p->row_elements;
        ILLUME_TRY(explain_device_copy(b, p->device_inputs + input * p->row_elements, p->row_elements, row));
        window_bounds(p, (start + r) % windows, &y0, &y1, &x0, &x1);
        int64_t channels = p->image.channels;
        copy_desc window = p->image.channels_last
                               ? (copy_desc){.rank = 3,
                                             .dims = {y1 - y0, x1 - x0, channels},
                                             .dst_strides = {p->width * channels, channels, 1},
                                             .dst_offset = (y0 * p->width + x0) * channels}
                               : (copy_desc){.rank = 3,
                                             .dims = {channels, y1 - y0, x1 - x0},
                                             .dst_strides = {p->height * p->width, p->width, 1},
                                             .dst_offset = y0 * p->width + x0};
        ILLUME_TRY(b->copy(b, &window, p->device_fill, row));
        targets[r] = p->targets[input];
    }
    return ILLUME_OK;
}

static illume_status occlusion_consume(void *closure, int64_t index, int64_t target, const float *output,
                                       const float *gradient, const float *layer_gradient, const float *layer) {
    (void)gradient;
    (void)layer_gradient;
    (void)layer;
    occlusion_pass *p = closure;
    int64_t windows = p->counts[0] * p->counts[1], input = index / windows;
    float drop = p->scores[input] - output[target];
    float *sum = p->sums + input * p->height * p->width;
    int64_t y0, y1, x0, x1;
    window_bounds(p, index % windows, &y0, &y1, &x0, &x1);
    for (int64_t y = y0; y < y1; y++)
        for (int64_t x = x0; x < x1; x++) sum[y * p->width + x] += drop;
    return ILLUME_OK;
}

illume_status explain_check_occlusion(illume_context *context, const illume_explain_options *o) {
    if (o->window[0] < 1 || o->window[1] < 1 || o->stride[0] < 1 || o->stride[1] < 1)
        return illume_fail(context, ILLUME_ERROR_INVALID_INPUT, "occlusion window and stride must be positive");
    return ILLUME_OK;
}

illume_status explain_occlusion(illume_explainer *e, const float *inputs, int64_t count, const int64_t *targets,
                                float *attributions, illume_explain_row *rows) {
    const illume_tensor *row = &e->row;
    if (row->rank < 3)
        return illume_fail(e->context, ILLUME_ERROR_INVALID_INPUT, "occlusion needs an image input (N, C, H, W)");
    occlusion_pass p = {.row_elements = e->row_elements, .fill = e->options.fill, .image = e->input_image};
    p.height = p.image.height;
    p.width = p.image.width;
    for (int axis = 0; axis < 2; axis++) {
        int64_t size = axis == 0 ? p.height : p.width;
        p.window[axis] = e->options.window[axis];
        p.stride[axis] = e->options.stride[axis];
        if (p.window[axis] > size)
            return illume_fail(e->context, ILLUME_ERROR_INVALID_INPUT,
                               "the occlusion window (%lld) is larger than the input (%lld)",
                               (long long)p.window[axis], (long long)size);
        if (p.stride[axis] > p.window[axis] && p.window[axis] < size)
            return illume_fail(e->context, ILLUME_ERROR_INVALID_INPUT,
                               "the occlusion stride (%lld) is larger than the window (%lld): pixels would be skipped",
                               (long long)p.stride[axis], (long long)p.window[axis]);
        p.counts[axis] = (size - p.window[axis] + p.stride[axis] - 1) / p.stride[axis] + 1;
    }
    int64_t plane = p.height * p.width, windows = p.counts[0] * p.counts[1];
    int64_t *chosen = malloc(sizeof(int64_t) * (size_t)count);
    float *scores = malloc(sizeof(float) * (size_t)count);
    float *sums = calloc((size_t)(count * plane), sizeof(float));
    int *covered = calloc((size_t)plane, sizeof(int));
    illume_status status = ILLUME_OK;
    if (!chosen || !scores || !sums || !covered) {
        status = illume_fail(e->context, ILLUME_ERROR_OUT_OF_MEMORY, "out of memory");
        goto done;
    }
    memcpy(chosen, targets, sizeof(int64_t) * (size_t)count);
    status = explain_targets(e, inputs, count, chosen, rows);
    for (int64_t r = 0; r < count; r++) scores[r] = rows[r].score;
    p.targets = chosen;
    p.scores = scores;
    p.sums = sums;
    if (status == ILLUME_OK) status = explain_device_rows(e, inputs, count * e->row_elements, &p.device_inputs);
    if (status == ILLUME_OK) status = explain_device_rows(e, &p.fill, 1, &p.device_fill);
    if (status == ILLUME_OK) {
        explain_pass pass = {.backward = 0, .closure = &p, .build = occlusion_build, .consume = occlusion_consume};
        status = explainer_run(e, &pass, count * windows);
    }
    explain_device_free(e, p.device_inputs);
    explain_device_free(e, p.device_fill);
    for (int64_t w = 0; w < windows; w++) {
        int64_t y0, y1, x0, x1;
        window_bounds(&p, w, &y0, &y1, &x0, &x1);
        for (int64_t y = y0; y < y1; y++)
            for (int64_t x = x0; x < x1; x++) covered[y * p.width + x]++;
    }
    for (int64_t r = 0; status == ILLUME_OK && r < count; r++)
        for (int64_t i = 0; i < e->row_elements; i++) {
            int64_t pixel = explain_pixel(&p.image, i);
            attributions[r * e->row_elements + i] = covered[pixel] ? sums[r * plane + pixel] / (float)covered[pixel]
                                                                   : 0.0f;
        }
done:
    free(chosen);
    free(scores);
    free(sums);
    free(covered);
    return status;
}
