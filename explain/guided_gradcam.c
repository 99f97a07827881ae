/* Guided Grad-CAM (Selvaraju et al. 2017), as Captum's GuidedGradCam: the
 * guided backpropagation map times the Grad-CAM map (with its ReLU) resized
 * to the input by nearest neighbour, each input channel alike. Two backward
 * passes per batch: the gradient to the layer, and the guided one to the
 * input. */
#include <stdlib.h>
#include <string.h>

#include "cam.h"
#include "explainer.h"

typedef struct guided_pass {
    explain_inputs given; /* first: the pass's source reads it */
    illume_explainer *explainer;
    float *attributions;
    float *maps; /* per input: the Grad-CAM map at the input's resolution */
    cam_batch batch;
    illume_explain_row *rows;
} guided_pass;

static illume_status map_gather(void *closure, const explain_device *device, int64_t start, int64_t rows) {
    guided_pass *p = closure;
    return cam_gather(&p->batch, device, start, rows);
}

static illume_status map_consume(void *closure, int64_t index, int64_t target, const float *output,
                                 const float *gradient, const float *layer_gradient, const float *layer) {
    (void)gradient;
    (void)layer_gradient;
    (void)layer;
    guided_pass *p = closure;
    illume_explainer *e = p->explainer;
    const explain_image *image = &e->layer_image;
    int64_t height = e->input_image.height, width = e->input_image.width;
    cam_resize(cam_batch_map(&p->batch, index), image->height, image->width, p->maps + index * height * width, height,
               width, 0);
    p->rows[index].target = target;
    p->rows[index].score = output[target];
    return ILLUME_OK;
}

static illume_status guided_consume(void *closure, int64_t index, int64_t target, const float *output,
                                    const float *gradient, const float *layer_gradient, const float *layer) {
    (void)target;
    (void)output;
    (void)layer_gradient;
    (void)layer;
    guided_pass *p = closure;
    illume_explainer *e = p->explainer;
    int64_t size = e->row_elements;
    int64_t plane = e->input_image.height * e->input_image.width;
    const float *map = p->maps + index * plane;
    float *attribution = p->attributions + index * size;
    for (int64_t i = 0; i < size; i++) attribution[i] = gradient[i] * map[explain_pixel(&e->input_image, i)];
    return ILLUME_OK;
}

illume_status explain_guided_gradcam(illume_explainer *e, const float *inputs, int64_t count, const int64_t *targets,
                                     float *attributions, illume_explain_row *rows) {
    if (e->row.rank < 3)
        return illume_fail(e->context, ILLUME_ERROR_INVALID_INPUT, "guided Grad-CAM needs an image input (N, C, H, W)");
    int64_t plane = e->input_image.height * e->input_image.width;
    int64_t *chosen = malloc(sizeof(int64_t) * (size_t)count);
    float *maps = malloc(sizeof(float) * (size_t)(count * plane));
    guided_pass p = {{inputs, e->row_elements, chosen}, e, attributions, maps, {0}, rows};
    illume_status status = ILLUME_OK;
    if (!chosen || !maps) status = illume_fail(e->context, ILLUME_ERROR_OUT_OF_MEMORY, "out of memory");
    if (status == ILLUME_OK) status = cam_batch_create(e, ILLUME_GRADCAM, &p.batch);
    if (status == ILLUME_OK) {
        memcpy(chosen, targets, sizeof(int64_t) * (size_t)count);
        explain_pass maps_pass = {.backward = 1, .rule = PASS_GRADIENT, .closure = &p,
                                  .source = explain_input_source, .gather = map_gather, .consume = map_consume};
        status = explainer_run(e, &maps_pass, count);
        for (int64_t r = 0; r < count; r++) chosen[r] = rows[r].target;
        explain_pass guided = {.backward = 1, .rule = PASS_GUIDED, .closure = &p,
                               .source = explain_input_source, .consume = guided_consume};
        if (status == ILLUME_OK) status = explainer_run(e, &guided, count);
    }
    cam_batch_free(&p.batch);
    free(chosen);
    free(maps);
    return status;
}
