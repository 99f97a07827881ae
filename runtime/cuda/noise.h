/* SmoothGrad's noisy rows on the device (noise.cu); the launcher returns the
 * launch's cudaError_t as an int (0 on success). */
#ifndef ILLUME_CUDA_NOISE_H
#define ILLUME_CUDA_NOISE_H

#include "backend.h"
#include "elementwise.h"

#ifdef __cplusplus
extern "C" {
#endif

int illume_cuda_noise(illume_cuda_stream stream, const noise_desc *desc, const float *x, float *y);

#ifdef __cplusplus
}
#endif

#endif
