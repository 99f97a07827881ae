// The CUDA backend's inference batch normalization: one thread per element
// of (batch, channels, spatial), with the per-element math of
// kernels/batchnorm.h and, for a fused Relu, kernels/activation.h. NCHW
// only (the backend does not ask for channels-last activations).
#include "batchnorm_launchers.h"
#include "activation.h"
#include "batchnorm.h"
#include "cuda_kernel.h"

__global__ void batchnorm_kernel(batchnorm_desc desc, const float *x, const float *scale, const float *shift,
                                 const float *mean, const float *variance, float *y) {
    ILLUME_CUDA_EACH(i, desc.batch * desc.channels * desc.spatial) {
        int64_t c = i / desc.spatial % desc.channels;
        float value = illume_batchnorm(x[i], scale[c], shift[c], mean[c], variance[c], desc.epsilon);
        y[i] = desc.relu ? illume_unary(UNARY_RELU, 0.0f, 0.0f, value) : value;
    }
}

extern "C" int illume_cuda_batchnorm(illume_cuda_stream stream, const batchnorm_desc *desc, const float *x,
                                     const float *scale, const float *shift, const float *mean,
                                     const float *variance, float *y) {
    int64_t count = desc->batch * desc->channels * desc->spatial;
    if (count < 1) return 0;
    ILLUME_LAUNCH(batchnorm_kernel, illume_cuda_blocks(count), ILLUME_CUDA_THREADS, stream, *desc, x, scale, shift,
                  mean, variance, y);
    return illume_cuda_launched();
}
