/* Grad-CAM's and Grad-CAM++'s channel weights and maps on the device
 * (class_activation.cu); the launcher returns the launch's cudaError_t as an
 * int (0 on success). */
#ifndef ILLUME_CUDA_CLASS_ACTIVATION_H
#define ILLUME_CUDA_CLASS_ACTIVATION_H

#include "backend.h"
#include "elementwise.h"

#ifdef __cplusplus
extern "C" {
#endif

int illume_cuda_class_activation(illume_cuda_stream stream, const class_activation_desc *desc,
                                 const float *activation, const float *gradient, float *weights, float *maps);

#ifdef __cplusplus
}
#endif

#endif
