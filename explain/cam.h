/* Class activation maps from a layer's data and gradient, and their
 * resampling to the input's size; shared by Grad-CAM, Grad-CAM++ and guided
 * Grad-CAM. */
#ifndef ILLUME_CAM_H
#define ILLUME_CAM_H

#include <stdint.h>

#include "explainer.h"
#include "illume.h"

/* Grad-CAM (Selvaraju et al. 2017), as Captum's LayerGradCam with
 * relu_attributions, and Grad-CAM++ (Chattopadhay et al. 2018), as
 * pytorch-grad-cam, at the explainer's layer: the maps of a batch are made
 * on the session's device by the backend (kernels/activation_map.h has the
 * math) and come to the host at the layer's resolution. A method's gather
 * calls cam_gather with its cam_batch; its consume then reads row `index`'s
 * map with cam_batch_map. */
typedef struct cam_batch {
    illume_explainer *explainer;
    int plus_plus;
    int64_t channels, plane;
    float *weights, *maps; /* on the device: batch x channels, batch x plane */
    float *host_maps;      /* batch x plane */
    int64_t start;         /* the index of the batch's first row */
} cam_batch;

illume_status cam_batch_create(illume_explainer *e, illume_method method, cam_batch *batch);
void cam_batch_free(cam_batch *batch);
illume_status cam_gather(cam_batch *batch, const explain_device *device, int64_t start, int64_t rows);
const float *cam_batch_map(const cam_batch *batch, int64_t index);

/* Resamples a map: bilinear with half-pixel centres (PyTorch's
 * interpolate, align_corners False) or nearest (PyTorch's legacy nearest,
 * source floor(i * in / out)). */
void cam_resize(const float *map, int64_t height, int64_t width, float *out, int64_t out_height, int64_t out_width,
                int bilinear);

#endif
