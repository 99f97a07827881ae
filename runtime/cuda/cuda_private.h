/* What the CUDA backend's files share: the backend's own fields (device,
 * stream, cuDNN and cuBLAS handles, the one workspace every cuDNN call shares), the
 * header every state it leaves in a node's slot starts with, and its error
 * checks. */
#ifndef ILLUME_CUDA_PRIVATE_H
#define ILLUME_CUDA_PRIVATE_H

#include <cublas_v2.h>
#include <cuda_runtime_api.h>
#include <cudnn.h>

#include "backend.h"

typedef struct cuda_backend {
    backend base;
    int device;
    cudaStream_t stream;
    /* The transfer queues beside the computation (backend.h's upload_beside
     * and download_after): a stream each, and the events that order them
     * with the computation's. */
    cudaStream_t upload_stream, download_stream;
    cudaEvent_t uploaded, computed;
    cudnnHandle_t cudnn;
    cublasHandle_t cublas;
    void *workspace; /* grown to the largest a call has needed */
    size_t workspace_bytes;
    int fast;     /* non-deterministic cuDNN algorithms and TF32 allowed (backend_options) */
    int autotune; /* cuDNN times the convolution algorithms once per node state */
} cuda_backend;

/* Every state a CUDA primitive leaves in a node's slot starts with this. */
typedef struct cuda_state {
    void (*destroy)(struct cuda_state *state);
} cuda_state;

illume_status cuda_check(backend *self, cudaError_t error, const char *what);
illume_status cudnn_check(backend *self, cudnnStatus_t status, const char *what);
illume_status cublas_check(backend *self, cublasStatus_t status, const char *what);
/* The cuDNN and cuBLAS handles, made on first use, on the backend's stream. */
illume_status cuda_cudnn(cuda_backend *cuda);
illume_status cuda_cublas(cuda_backend *cuda);
/* The shared workspace, at least bytes long. */
illume_status cuda_workspace(cuda_backend *cuda, size_t bytes, void **workspace);
/* Makes the backend's device the calling thread's current one: the CUDA
 * runtime launches on the current device, and a thread may drive backends
 * of several devices (or get a backend another thread made). The start of
 * every entry of the table. */
#define CUDA_USE_DEVICE(self) \
    ILLUME_TRY(cuda_check((self), cudaSetDevice(((cuda_backend *)(self))->device), "cudaSetDevice"))

/* Device memory, counted in the process's peak (memory.c); what names the
 * use in the error when cudaMalloc fails. */
illume_status cuda_memory_allocate(backend *self, size_t bytes, void **memory, const char *what);
void cuda_memory_free(void *memory);
/* An op the backend does not run yet: the error that says so. */
illume_status cuda_missing(backend *self, const char *what);

illume_status cuda_convolution(backend *self, const convolution_desc *desc, void **state, const float *x,
                               const float *weights, const float *bias, float *y);
illume_status cuda_matmul(backend *self, const matmul_desc *desc, void **state, const float *a, const float *b,
                          const float *bias, float *y);
illume_status cuda_convolution_backward(backend *self, const convolution_desc *desc, void **state, const float *dy,
                                        const float *weights, float *dx);

#endif
