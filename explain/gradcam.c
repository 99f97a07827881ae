/* Grad-CAM and Grad-CAM++ at a layer (explain/cam.c): one backward per
 * input from the target to the layer, then the map, made on the device, at
 * the layer's resolution, or upsampled bilinearly to the input's. */
#include <stdlib.h>
#include <string.h>

#include "cam.h"
#include "explainer.h"

typedef struct cam_pass {
    explain_inputs given; /* first: the pass's source reads it */
    illume_explainer *explainer;
    float *maps;
    cam_batch batch;
    illume_explain_row *rows;
} cam_pass;

static illume_status cam_batch_gather(void *closure, const explain_device *device, int64_t start, int64_t rows) {
    cam_pass *p = closure;
    return cam_gather(&p->batch, device, start, rows);
}

static illume_status cam_consume(void *closure, int64_t index, int64_t target, const float *output,
                                 const float *gradient, const float *layer_gradient, const float *layer) {
    (void)gradient;
    (void)layer_gradient;
    (void)layer;
    cam_pass *p = closure;
    illume_explainer *e = p->explainer;
    const explain_image *image = &e->layer_image;
    illume_tensor shape;
    illume_explainer_shape(e, 1, &shape);
    int64_t map_size = shape.dims[2] * shape.dims[3];
    const float *layer_map = cam_batch_map(&p->batch, index);
    float *map = p->maps + index * map_size;
    if (e->options.upsample)
        cam_resize(layer_map, image->height, image->width, map, shape.dims[2], shape.dims[3], 1);
    else memcpy(map, layer_map, sizeof(float) * (size_t)map_size);
    p->rows[index].target = target;
    p->rows[index].score = output[target];
    return ILLUME_OK;
}

illume_status explain_gradcam(illume_explainer *e, const float *inputs, int64_t count, const int64_t *targets,
                              float *attributions, illume_explain_row *rows) {
    cam_pass p = {{inputs, e->row_elements, targets}, e, attributions, {0}, rows};
    illume_status status = cam_batch_create(e, e->options.method, &p.batch);
    explain_pass pass = {.backward = 1, .rule = PASS_GRADIENT, .closure = &p,
                         .source = explain_input_source, .gather = cam_batch_gather, .consume = cam_consume};
    if (status == ILLUME_OK) status = explainer_run(e, &pass, count);
    cam_batch_free(&p.batch);
    return status;
}
