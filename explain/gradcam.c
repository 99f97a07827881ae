/* Grad-CAM and Grad-CAM++ at a layer (explain/cam.c has the maps): one
 * backward per input from the target to the layer, then the map at the
 * layer's resolution, or upsampled bilinearly to the input's. */
#include <stdlib.h>
#include <string.h>

#include "cam.h"
#include "explainer.h"

typedef struct cam_pass {
    illume_explainer *explainer;
    const float *inputs;
    const int64_t *targets;
    float *maps;
    float *layer_map; /* one map at the layer's resolution */
    illume_explain_row *rows;
} cam_pass;

static illume_status cam_source(void *closure, int64_t index, float *row, int64_t *target) {
    cam_pass *p = closure;
    int64_t size = p->explainer->row_elements;
    memcpy(row, p->inputs + index * size, sizeof(float) * (size_t)size);
    *target = p->targets[index];
    return ILLUME_OK;
}

static illume_status cam_consume(void *closure, int64_t index, int64_t target, const float *output,
                                 const float *gradient, const float *layer_gradient, const float *layer) {
    (void)gradient;
    cam_pass *p = closure;
    illume_explainer *e = p->explainer;
    const int64_t *dims = e->layer_info.dims;
    illume_tensor shape;
    illume_explainer_shape(e, 1, &shape);
    int64_t map_size = shape.dims[2] * shape.dims[3];
    float *map = p->maps + index * map_size;
    if (e->options.upsample) {
        cam_map(e->options.method, layer, layer_gradient, dims[1], dims[2], dims[3], p->layer_map);
        cam_resize(p->layer_map, dims[2], dims[3], map, shape.dims[2], shape.dims[3], 1);
    } else {
        cam_map(e->options.method, layer, layer_gradient, dims[1], dims[2], dims[3], map);
    }
    p->rows[index].target = target;
    p->rows[index].score = output[target];
    return ILLUME_OK;
}

illume_status explain_gradcam(illume_explainer *e, const float *inputs, int64_t count, const int64_t *targets,
                              float *attributions, illume_explain_row *rows) {
    float *layer_map = malloc(sizeof(float) * (size_t)(e->layer_info.dims[2] * e->layer_info.dims[3]));
    if (!layer_map) return illume_fail(e->context, ILLUME_ERROR_OUT_OF_MEMORY, "out of memory");
    cam_pass p = {e, inputs, targets, attributions, layer_map, rows};
    explain_pass pass = {.backward = 1, .rule = ILLUME_RULE_GRADIENT, .closure = &p, .source = cam_source,
                         .consume = cam_consume};
    illume_status status = explainer_run(e, &pass, count);
    free(layer_map);
    return status;
}
