/* The CUDA backend: device memory from cudaMalloc, counted (memory.c),
 * page-locked host buffers, one stream per backend; the element-wise ops on
 * the kernels of elementwise.cu, pooling and its gather backward on
 * pooling.cu, softmax and reductions on reduce.cu, batch normalization on
 * batchnorm.cu, LRN and its backward on lrn.cu, Pad and Resize and their
 * gather backward passes on pad.cu and resize.cu, SmoothGrad's noise on
 * noise.cu, Grad-CAM's maps on class_activation.cu, convolutions on cuDNN
 * (convolution.c), matrix products on cuBLAS (matmul.c). What it does not
 * run (channels-last activations, which it never asks for) fails with an
 * error that names it, never runs wrong. "auto" stays on the CPU until the
 * backend has been verified on a GPU (runtime/backend.c). */
#include "cuda_backend.h"

#include <stdlib.h>

#include "activation.h"
#include "context.h"
#include "cuda_private.h"
#include "binary.h"
#include "elementwise.h"
#include "batchnorm_launchers.h"
#include "lrn_launchers.h"
#include "noise.h"
#include "class_activation.h"
#include "pad_launchers.h"
#include "pooling.h"
#include "reduce_launchers.h"
#include "resize_launchers.h"

static cuda_backend *of(backend *self) { return (cuda_backend *)self; }

illume_status cuda_check(backend *self, cudaError_t error, const char *what) {
    if (error == cudaSuccess) return ILLUME_OK;
    /* A failed call also leaves its error as the runtime's last error, where
     * the next kernel launch's check (cudaGetLastError) would find it and
     * report it as its own: a failed cudaMalloc the caller survives would
     * fail the next fill. Reported here, it is cleared; sticky errors stay. */
    cudaGetLastError();
    return illume_fail(self->context, error == cudaErrorMemoryAllocation ? ILLUME_ERROR_OUT_OF_MEMORY
                                                                          : ILLUME_ERROR_BACKEND,
                       "CUDA failed in %s: %s", what, cudaGetErrorString(error));
}

illume_status cudnn_check(backend *self, cudnnStatus_t status, const char *what) {
    if (status == CUDNN_STATUS_SUCCESS) return ILLUME_OK;
    return illume_fail(self->context, status == CUDNN_STATUS_ALLOC_FAILED ? ILLUME_ERROR_OUT_OF_MEMORY
                                                                          : ILLUME_ERROR_BACKEND,
                       "cuDNN failed in %s: %s", what, cudnnGetErrorString(status));
}

illume_status cublas_check(backend *self, cublasStatus_t status, const char *what) {
    if (status == CUBLAS_STATUS_SUCCESS) return ILLUME_OK;
    return illume_fail(self->context, status == CUBLAS_STATUS_ALLOC_FAILED ? ILLUME_ERROR_OUT_OF_MEMORY
                                                                           : ILLUME_ERROR_BACKEND,
                       "cuBLAS failed in %s: %s", what, cublasGetStatusString(status));
}

illume_status cuda_workspace(cuda_backend *cuda, size_t bytes, void **workspace) {
    if (bytes > cuda->workspace_bytes) {
        /* The stream may still read the old one: wait before freeing it. */
        ILLUME_TRY(cuda_check(&cuda->base, cudaStreamSynchronize(cuda->stream), "cudaStreamSynchronize"));
        cuda_memory_free(cuda->workspace);
        cuda->workspace = NULL;
        cuda->workspace_bytes = 0;
        ILLUME_TRY(cuda_memory_allocate(&cuda->base, bytes, &cuda->workspace, "allocating the cuDNN workspace"));
        cuda->workspace_bytes = bytes;
    }
    *workspace = cuda->workspace;
    return ILLUME_OK;
}

/* The library handles are made on first use: a backend that never runs a
 * convolution or a matrix product (the explainer's, which only holds rows)
 * does not pay for them. */
illume_status cuda_cudnn(cuda_backend *cuda) {
    if (cuda->cudnn) return ILLUME_OK;
    backend *self = &cuda->base;
    illume_status status = cudnn_check(self, cudnnCreate(&cuda->cudnn), "cudnnCreate");
    if (status == ILLUME_OK) status = cudnn_check(self, cudnnSetStream(cuda->cudnn, cuda->stream), "cudnnSetStream");
    if (status != ILLUME_OK && cuda->cudnn) {
        cudnnDestroy(cuda->cudnn);
        cuda->cudnn = NULL;
    }
    return status;
}

illume_status cuda_cublas(cuda_backend *cuda) {
    if (cuda->cublas) return ILLUME_OK;
    backend *self = &cuda->base;
    illume_status status = cublas_check(self, cublasCreate(&cuda->cublas), "cublasCreate");
    if (status == ILLUME_OK)
        status = cublas_check(self, cublasSetStream(cuda->cublas, cuda->stream), "cublasSetStream");
    /* Sgemm in default math stays in FP32 FMA; fast lets it round inputs to TF32. */
    if (status == ILLUME_OK)
        status = cublas_check(self,
                              cublasSetMathMode(cuda->cublas, cuda->fast ? CUBLAS_TF32_TENSOR_OP_MATH
                                                                         : CUBLAS_DEFAULT_MATH),
                              "cublasSetMathMode");
    if (status != ILLUME_OK && cuda->cublas) {
        cublasDestroy(cuda->cublas);
        cuda->cublas = NULL;
    }
    return status;
}

static illume_status launched(backend *self, int error, const char *what) {
    return cuda_check(self, (cudaError_t)error, what);
}

static void *cuda_allocate(backend *self, size_t bytes) {
    void *memory = NULL;
    return cuda_memory_allocate(self, bytes, &memory, "cudaMalloc") == ILLUME_OK ? memory : NULL;
}

static void cuda_release(backend *self, void *memory) {
    (void)self;
    cuda_memory_free(memory);
}

/* Portable: page-locked for every device's context, not only the current one's. */
static void *cuda_allocate_host(backend *self, size_t bytes) {
    void *memory = NULL;
    illume_status status = cuda_check(self, cudaHostAlloc(&memory, bytes ? bytes : 1, cudaHostAllocPortable),
                                      "cudaHostAlloc");
    return status == ILLUME_OK ? memory : NULL;
}

static void cuda_release_host(backend *self, void *memory) {
    (void)self;
    if (memory) cudaFreeHost(memory);
}

static illume_status cuda_upload(backend *self, void *device, const void *host, size_t bytes) {
    CUDA_USE_DEVICE(self);
    return cuda_check(self, cudaMemcpyAsync(device, host, bytes, cudaMemcpyHostToDevice, of(self)->stream),
                 "cudaMemcpyAsync to the device");
}

static illume_status cuda_download(backend *self, void *host, const void *device, size_t bytes) {
    CUDA_USE_DEVICE(self);
    return cuda_check(self, cudaMemcpyAsync(host, device, bytes, cudaMemcpyDeviceToHost, of(self)->stream),
                 "cudaMemcpyAsync to the host");
}

static illume_status cuda_synchronize(backend *self) {
    CUDA_USE_DEVICE(self);
    return cuda_check(self, cudaStreamSynchronize(of(self)->stream), "cudaStreamSynchronize");
}

static illume_status cuda_upload_beside(backend *self, void *device, const void *host, size_t bytes) {
    CUDA_USE_DEVICE(self);
    cuda_backend *cuda = of(self);
    ILLUME_TRY(cuda_check(self, cudaMemcpyAsync(device, host, bytes, cudaMemcpyHostToDevice, cuda->upload_stream),
                          "cudaMemcpyAsync to the device, beside the computation"));
    return cuda_check(self, cudaEventRecord(cuda->uploaded, cuda->upload_stream), "cudaEventRecord");
}

/* A stream waits for what the event had recorded when the wait was queued:
 * an upload queued later is not waited for, and before the first upload the
 * wait is empty. */
static illume_status cuda_wait_uploads(backend *self) {
    CUDA_USE_DEVICE(self);
    cuda_backend *cuda = of(self);
    return cuda_check(self, cudaStreamWaitEvent(cuda->stream, cuda->uploaded, 0), "cudaStreamWaitEvent");
}

static illume_status cuda_download_after(backend *self, void *host, const void *device, size_t bytes) {
    CUDA_USE_DEVICE(self);
    cuda_backend *cuda = of(self);
    ILLUME_TRY(cuda_check(self, cudaEventRecord(cuda->computed, cuda->stream), "cudaEventRecord"));
    ILLUME_TRY(cuda_check(self, cudaStreamWaitEvent(cuda->download_stream, cuda->computed, 0),
                          "cudaStreamWaitEvent"));
    return cuda_check(self, cudaMemcpyAsync(host, device, bytes, cudaMemcpyDeviceToHost, cuda->download_stream),
                      "cudaMemcpyAsync to the host, after the computation");
}

/* Both queues are waited for even when one fails: a caller that gives up
 * after an error frees the buffers the other may still be writing. */
static illume_status cuda_finish_transfers(backend *self) {
    CUDA_USE_DEVICE(self);
    cuda_backend *cuda = of(self);
    illume_status uploads =
        cuda_check(self, cudaStreamSynchronize(cuda->upload_stream), "cudaStreamSynchronize (uploads)");
    illume_status downloads =
        cuda_check(self, cudaStreamSynchronize(cuda->download_stream), "cudaStreamSynchronize (downloads)");
    return uploads != ILLUME_OK ? uploads : downloads;
}

static void cuda_release_state(backend *self, void *state) {
    (void)self;
    cuda_state *header = state;
    if (header) header->destroy(header);
}

static illume_status cuda_fill(backend *self, float value, int64_t count, float *y) {
    CUDA_USE_DEVICE(self);
    return launched(self, illume_cuda_fill(of(self)->stream, value, count, y), "the fill kernel");
}

static illume_status cuda_copy(backend *self, const copy_desc *desc, const float *x, float *y) {
    CUDA_USE_DEVICE(self);
    return launched(self, illume_cuda_copy(of(self)->stream, desc, x, y), "the copy kernel");
}

static illume_status cuda_unary(backend *self, const unary_desc *desc, const float *x, float *y) {
    CUDA_USE_DEVICE(self);
    return launched(self, illume_cuda_unary(of(self)->stream, desc, x, y), "the unary kernel");
}

static illume_status cuda_binary(backend *self, const binary_desc *desc, const float *a, const float *b, float *y) {
    CUDA_USE_DEVICE(self);
    return launched(self, illume_cuda_binary(of(self)->stream, desc, a, b, y), "the binary kernel");
}

static illume_status cuda_unary_backward(backend *self, const unary_backward_desc *desc, const float *x,
                                         const float *y, const float *dy, float *dx) {
    CUDA_USE_DEVICE(self);
    int reads = illume_unary_gradient_reads(desc->kind);
    if (!x && (reads == ILLUME_READS_INPUT || (reads == ILLUME_READS_EITHER && !y)))
        return illume_fail(self->context, ILLUME_ERROR_INTERNAL, "the gradient of unary op %d needs its %s",
                           (int)desc->kind, reads == ILLUME_READS_INPUT ? "input" : "input or output");
    return launched(self, illume_cuda_unary_backward(of(self)->stream, desc, x, y, dy, dx),
                    "the unary backward kernel");
}

static illume_status cuda_relevance_ratio(backend *self, const relevance_ratio_desc *desc, const float *r,
                                          const float *z, const float *g, float *y) {
    CUDA_USE_DEVICE(self);
    return launched(self, illume_cuda_relevance_ratio(of(self)->stream, desc, r, z, g, y),
                    "the relevance ratio kernel");
}

static illume_status cuda_relevance_term(backend *self, int64_t count, float coefficient, const float *a,
                                         const float *b, float *y) {
    CUDA_USE_DEVICE(self);
    return launched(self, illume_cuda_relevance_term(of(self)->stream, count, coefficient, a, b, y),
                    "the relevance term kernel");
}

static illume_status cuda_deeplift(backend *self, deeplift_step step, int64_t half, const float *x, const float *y,
                                   const float *dy, float *dx) {
    CUDA_USE_DEVICE(self);
    return launched(self, illume_cuda_deeplift(of(self)->stream, step, half, x, y, dy, dx), "the DeepLIFT kernel");
}

static illume_status cuda_reveal_cancel(backend *self, const reveal_cancel_desc *desc, const float *x,
                                        const float *positive, const float *negative, const float *dy,
                                        float *positive_gradient, float *negative_gradient) {
    CUDA_USE_DEVICE(self);
    return launched(self,
                    illume_cuda_reveal_cancel(of(self)->stream, desc, x, positive, negative, dy, positive_gradient,
                                              negative_gradient),
                    "the RevealCancel kernel");
}

static illume_status cuda_noise(backend *self, const noise_desc *desc, const float *x, float *y) {
    CUDA_USE_DEVICE(self);
    return launched(self, illume_cuda_noise(of(self)->stream, desc, x, y), "the noise kernel");
}

static illume_status cuda_class_activation(backend *self, const class_activation_desc *desc,
                                           const float *activation, const float *gradient, float *weights,
                                           float *maps) {
    CUDA_USE_DEVICE(self);
    return launched(self, illume_cuda_class_activation(of(self)->stream, desc, activation, gradient, weights, maps),
                    "the class activation map kernels");
}

illume_status cuda_missing(backend *self, const char *what) {
    return illume_fail(self->context, ILLUME_ERROR_UNSUPPORTED,
                       "the CUDA backend does not run %s yet: use --device cpu", what);
}

static illume_status cuda_pool(backend *self, const pool_desc *desc, const float *x, float *y, int32_t *argmax) {
    CUDA_USE_DEVICE(self);
    if (desc->channels_last) return cuda_missing(self, "channels-last pooling");
    return launched(self, illume_cuda_pool(of(self)->stream, desc, x, y, argmax), "the pooling kernel");
}

static illume_status cuda_batchnorm(backend *self, const batchnorm_desc *desc, void **state, const float *x,
                                    const float *scale, const float *shift, const float *mean,
                                    const float *variance, float *y) {
    CUDA_USE_DEVICE(self);
    (void)state;
    if (desc->channels_last) return cuda_missing(self, "channels-last batch normalization");
    return launched(self, illume_cuda_batchnorm(of(self)->stream, desc, x, scale, shift, mean, variance, y),
                    "the batch normalization kernel");
}

static illume_status cuda_softmax(backend *self, const softmax_desc *desc, const float *x, float *y) {
    CUDA_USE_DEVICE(self);
    return launched(self, illume_cuda_softmax(of(self)->stream, desc, x, y), "the softmax kernel");
}

static illume_status cuda_lrn(backend *self, const lrn_desc *desc, const float *x, float *y) {
    CUDA_USE_DEVICE(self);
    return launched(self, illume_cuda_lrn(of(self)->stream, desc, x, y), "the LRN kernel");
}

static illume_status cuda_reduce(backend *self, const reduce_desc *desc, const float *x, float *y) {
    CUDA_USE_DEVICE(self);
    return launched(self, illume_cuda_reduce(of(self)->stream, desc, x, y), "the reduction kernel");
}

static illume_status cuda_pad(backend *self, const pad_desc *desc, const float *x, float *y) {
    CUDA_USE_DEVICE(self);
    return launched(self, illume_cuda_pad(of(self)->stream, desc, x, y), "the Pad kernel");
}

static illume_status cuda_resize(backend *self, const resize_desc *desc, const float *x, float *y) {
    CUDA_USE_DEVICE(self);
    return launched(self, illume_cuda_resize(of(self)->stream, desc, x, y), "the Resize kernel");
}

static illume_status cuda_pool_backward(backend *self, const pool_desc *desc, const float *dy, const int32_t *argmax,
                                        float *dx) {
    CUDA_USE_DEVICE(self);
    if (desc->channels_last) return cuda_missing(self, "channels-last pooling");
    if (desc->kind == POOL_MAX && !argmax)
        return illume_fail(self->context, ILLUME_ERROR_INTERNAL, "max pooling backward without the forward's argmax");
    return launched(self, illume_cuda_pool_backward(of(self)->stream, desc, dy, argmax, dx),
                    "the pooling backward kernel");
}

static illume_status cuda_binary_backward(backend *self, const binary_desc *desc, int operand, const float *a,
                                          const float *b, const float *dy, float *dx) {
    CUDA_USE_DEVICE(self);
    if (operand != 0 && operand != 1)
        return illume_fail(self->context, ILLUME_ERROR_INTERNAL, "binary backward of operand %d", operand);
    int reads = illume_binary_partial_reads(desc->kind, operand);
    if (((reads & 1) && !a) || ((reads & 2) && !b))
        return illume_fail(self->context, ILLUME_ERROR_INTERNAL, "the gradient of binary op %d needs both operands",
                           (int)desc->kind);
    return launched(self, illume_cuda_binary_backward(of(self)->stream, desc, operand, a, b, dy, dx),
                    "the binary backward kernel");
}

static illume_status cuda_softmax_backward(backend *self, const softmax_desc *desc, const float *y, const float *dy,
                                           float *dx) {
    CUDA_USE_DEVICE(self);
    return launched(self, illume_cuda_softmax_backward(of(self)->stream, desc, y, dy, dx),
                    "the softmax backward kernel");
}

static illume_status cuda_lrn_backward(backend *self, const lrn_desc *desc, const float *x, const float *dy,
                                       float *terms, float *dx) {
    CUDA_USE_DEVICE(self);
    return launched(self, illume_cuda_lrn_backward(of(self)->stream, desc, x, dy, terms, dx),
                    "the LRN backward kernels");
}

static illume_status cuda_pad_backward(backend *self, const pad_desc *desc, const float *dy, float *dx) {
    CUDA_USE_DEVICE(self);
    return launched(self, illume_cuda_pad_backward(of(self)->stream, desc, dy, dx), "the Pad backward kernel");
}

static illume_status cuda_resize_backward(backend *self, const resize_desc *desc, const float *dy, float *dx) {
    CUDA_USE_DEVICE(self);
    void *scratch;
    ILLUME_TRY(cuda_workspace(of(self), illume_cuda_resize_backward_scratch(desc), &scratch));
    return launched(self, illume_cuda_resize_backward(of(self)->stream, desc, scratch, dy, dx),
                    "the Resize backward kernels");
}

static void cuda_destroy(backend *self) {
    cuda_backend *cuda = of(self);
    cuda_memory_free(cuda->workspace);
    if (cuda->cudnn) cudnnDestroy(cuda->cudnn);
    if (cuda->cublas) cublasDestroy(cuda->cublas);
    if (cuda->stream) cudaStreamDestroy(cuda->stream);
    if (cuda->upload_stream) cudaStreamDestroy(cuda->upload_stream);
    if (cuda->download_stream) cudaStreamDestroy(cuda->download_stream);
    if (cuda->uploaded) cudaEventDestroy(cuda->uploaded);
    if (cuda->computed) cudaEventDestroy(cuda->computed);
    free(cuda);
}

int cuda_device_count(void) {
    int count = 0;
    return cudaGetDeviceCount(&count) == cudaSuccess ? count : 0;
}

backend *cuda_backend_create(illume_context *context, int device, backend_options options) {
    int count = cuda_device_count();
    if (device < 0 || device >= count) {
        illume_fail(context, ILLUME_ERROR_INVALID_INPUT, "CUDA device %d is not there (%d visible)", device, count);
        return NULL;
    }
    cuda_backend *cuda = calloc(1, sizeof *cuda);
    if (!cuda) {
        illume_fail(context, ILLUME_ERROR_OUT_OF_MEMORY, "out of memory");
        return NULL;
    }
    backend *self = &cuda->base;
    self->name = "cuda";
    self->context = context;
    cuda->device = device;
    cuda->fast = options.fast;
    cuda->autotune = options.autotune;
    self->destroy = cuda_destroy;
    self->allocate = cuda_allocate;
    self->release = cuda_release;
    self->allocate_host = cuda_allocate_host;
    self->release_host = cuda_release_host;
    self->upload = cuda_upload;
    self->download = cuda_download;
    self->synchronize = cuda_synchronize;
    self->upload_beside = cuda_upload_beside;
    self->wait_uploads = cuda_wait_uploads;
    self->download_after = cuda_download_after;
    self->finish_transfers = cuda_finish_transfers;
    self->release_state = cuda_release_state;
    self->convolution = cuda_convolution;
    self->convolution_backward = cuda_convolution_backward;
    self->pool = cuda_pool;
    self->matmul = cuda_matmul;
    self->batchnorm = cuda_batchnorm;
    self->unary = cuda_unary;
    self->binary = cuda_binary;
    self->softmax = cuda_softmax;
    self->lrn = cuda_lrn;
    self->reduce = cuda_reduce;
    self->copy = cuda_copy;
    self->pad = cuda_pad;
    self->resize = cuda_resize;
    self->fill = cuda_fill;
    self->pool_backward = cuda_pool_backward;
    self->unary_backward = cuda_unary_backward;
    self->binary_backward = cuda_binary_backward;
    self->softmax_backward = cuda_softmax_backward;
    self->lrn_backward = cuda_lrn_backward;
    self->pad_backward = cuda_pad_backward;
    self->resize_backward = cuda_resize_backward;
    self->relevance_ratio = cuda_relevance_ratio;
    self->relevance_term = cuda_relevance_term;
    self->deeplift = cuda_deeplift;
    self->reveal_cancel = cuda_reveal_cancel;
    self->noise = cuda_noise;
    self->class_activation = cuda_class_activation;
    if (cuda_check(self, cudaSetDevice(device), "cudaSetDevice") != ILLUME_OK ||
        cuda_check(self, cudaStreamCreateWithFlags(&cuda->stream, cudaStreamNonBlocking), "cudaStreamCreate") !=
            ILLUME_OK ||
        cuda_check(self, cudaStreamCreateWithFlags(&cuda->upload_stream, cudaStreamNonBlocking),
                   "cudaStreamCreate (uploads)") != ILLUME_OK ||
        cuda_check(self, cudaStreamCreateWithFlags(&cuda->download_stream, cudaStreamNonBlocking),
                   "cudaStreamCreate (downloads)") != ILLUME_OK ||
        cuda_check(self, cudaEventCreateWithFlags(&cuda->uploaded, cudaEventDisableTiming), "cudaEventCreate") !=
            ILLUME_OK ||
        cuda_check(self, cudaEventCreateWithFlags(&cuda->computed, cudaEventDisableTiming), "cudaEventCreate") !=
            ILLUME_OK) {
        cuda_destroy(self);
        return NULL;
    }
    return self;
}
