#include "cam.h"

#include <math.h>
#include <stdlib.h>

illume_status cam_batch_create(illume_explainer *e, illume_method method, cam_batch *batch) {
    const explain_image *layer = &e->layer_image;
    *batch = (cam_batch){.explainer = e, .plus_plus = method == ILLUME_GRADCAM_PLUS_PLUS, .channels = layer->channels,
                         .plane = layer->height * layer->width};
    batch->host_maps = malloc(sizeof(float) * (size_t)(e->batch * batch->plane));
    if (!batch->host_maps) return illume_fail(e->context, ILLUME_ERROR_OUT_OF_MEMORY, "out of memory");
    ILLUME_TRY(explain_device_rows(e, NULL, e->batch * batch->channels, &batch->weights));
    return explain_device_rows(e, NULL, e->batch * batch->plane, &batch->maps);
}

void cam_batch_free(cam_batch *batch) {
    explain_device_free(batch->explainer, batch->weights);
    explain_device_free(batch->explainer, batch->maps);
    free(batch->host_maps);
}

illume_status cam_gather(cam_batch *batch, const explain_device *device, int64_t start, int64_t rows) {
    illume_explainer *e = batch->explainer;
    if (!device->layer || !device->layer_gradient)
        return illume_fail(e->context, ILLUME_ERROR_INVALID_INPUT,
                           "no gradient reaches the layer '%s' from the target", e->layer);
    backend *b = device->backend;
    class_activation_desc desc = {rows, batch->channels, batch->plane, batch->plus_plus, device->layer_channels_last};
    ILLUME_TRY(b->class_activation(b, &desc, device->layer, device->layer_gradient, batch->weights, batch->maps));
    ILLUME_TRY(b->download(b, batch->host_maps, batch->maps, sizeof(float) * (size_t)(rows * batch->plane)));
    batch->start = start;
    return b->synchronize(b);
}

const float *cam_batch_map(const cam_batch *batch, int64_t index) {
    return batch->host_maps + (index - batch->start) * batch->plane;
}

static float clampf(float value, float low, float high) { return value < low ? low : (value > high ? high : value); }

void cam_resize(const float *map, int64_t height, int64_t width, float *out, int64_t out_height, int64_t out_width,
                int bilinear) {
    float scale_y = (float)height / (float)out_height, scale_x = (float)width / (float)out_width;
    for (int64_t y = 0; y < out_height; y++) {
        for (int64_t x = 0; x < out_width; x++) {
            if (!bilinear) {
                int64_t sy = (int64_t)floorf((float)y * scale_y), sx = (int64_t)floorf((float)x * scale_x);
                sy = sy < height ? sy : height - 1;
                sx = sx < width ? sx : width - 1;
                out[y * out_width + x] = map[sy * width + sx];
                continue;
            }
            float fy = clampf(((float)y + 0.5f) * scale_y - 0.5f, 0.0f, (float)(height - 1));
            float fx = clampf(((float)x + 0.5f) * scale_x - 0.5f, 0.0f, (float)(width - 1));
            int64_t y0 = (int64_t)fy, x0 = (int64_t)fx;
            int64_t y1 = y0 + 1 < height ? y0 + 1 : y0, x1 = x0 + 1 < width ? x0 + 1 : x0;
            float wy = fy - (float)y0, wx = fx - (float)x0;
            float top = (1 - wx) * map[y0 * width + x0] + wx * map[y0 * width + x1];
            float bottom = (1 - wx) * map[y1 * width + x0] + wx * map[y1 * width + x1];
            out[y * out_width + x] = (1 - wy) * top + wy * bottom;
        }
    }
}
