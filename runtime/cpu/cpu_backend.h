/* The CPU backend: oneDNN for convolution, matmul and batch normalization,
 * OpenMP loops over the shared per-element math of kernels/ for the rest. */
#ifndef ILLUME_CPU_BACKEND_H
#define ILLUME_CPU_BACKEND_H

#include <dnnl.h>

#include "backend.h"
#include "context.h"

/* A copy queued beside the computation (backend.h's upload_beside and download_after). */
typedef struct cpu_queued_copy {
    void *destination;
    const void *source;
    size_t bytes;
    int upload;
} cpu_queued_copy;

typedef struct cpu_backend {
    backend base;
    dnnl_engine_t engine;
    dnnl_stream_t stream;
    int threads;
    int winograd; /* backend_options.winograd */
    /* Activations reordered into a primitive's layout for one call, what it
     * reads and what it writes (dnnl_support.h): one primitive runs at a
     * time, so every primitive shares these two, grown to the largest. */
    void *reorder_buffers[2];
    size_t reorder_bytes[2];
    cpu_queued_copy *transfers; /* queued, not yet done (transfers.c) */
    int transfer_count, transfer_capacity;
} cpu_backend;

/* Every state a CPU primitive leaves in a node's slot starts with this. */
typedef struct cpu_state {
    void (*destroy)(struct cpu_state *state);
} cpu_state;

/* The transfer queues (transfers.c): a host has no copy engine, so each
 * copy runs at the last moment the interface allows (an upload at
 * wait_uploads, a download at finish_transfers). A caller that touches a
 * buffer too early then sees the wrong data on the CPU as it would, now and
 * then, on a GPU. What the CPU cannot show is the other side: an upload
 * landing in a buffer that queued computation still reads, since the CPU's
 * computation has run when its call returns. */
illume_status cpu_upload_beside(backend *self, void *device, const void *host, size_t bytes);
illume_status cpu_wait_uploads(backend *self);
illume_status cpu_download_after(backend *self, void *host, const void *device, size_t bytes);
illume_status cpu_finish_transfers(backend *self);

/* Turns a oneDNN failure into a status with a message naming the call. */
illume_status cpu_dnnl_check(illume_context *context, dnnl_status_t status, const char *what);
#define DNNL_TRY(context, call) ILLUME_TRY(cpu_dnnl_check((context), (call), #call))

illume_status cpu_convolution(backend *self, const convolution_desc *desc, void **state, const float *x,
                              const float *weights, const float *bias, float *y);
illume_status cpu_convolution_backward(backend *self, const convolution_desc *desc, void **state, const float *dy,
                                       const float *weights, float *dx);
/* Convolution backward data through a matrix product, for few input
 * channels (convolution_columns.c): whether it applies, and the pass. */
int cpu_columns_apply(const convolution_desc *desc);
illume_status cpu_columns_backward(cpu_backend *cpu, const convolution_desc *desc, void **state, const float *dy,
                                   const float *weights, float *dx);
illume_status cpu_matmul(backend *self, const matmul_desc *desc, void **state, const float *a, const float *b,
                         const float *bias, float *y);
illume_status cpu_batchnorm(backend *self, const batchnorm_desc *desc, void **state, const float *x,
                            const float *scale, const float *shift, const float *mean, const float *variance,
                            float *y);
illume_status cpu_pool(backend *self, const pool_desc *desc, const float *x, float *y, int32_t *argmax);
illume_status cpu_unary(backend *self, const unary_desc *desc, const float *x, float *y);
illume_status cpu_binary(backend *self, const binary_desc *desc, const float *a, const float *b, float *y);
illume_status cpu_softmax(backend *self, const softmax_desc *desc, const float *x, float *y);
illume_status cpu_lrn(backend *self, const lrn_desc *desc, const float *x, float *y);
illume_status cpu_reduce(backend *self, const reduce_desc *desc, const float *x, float *y);
illume_status cpu_copy(backend *self, const copy_desc *desc, const float *x, float *y);
illume_status cpu_pad(backend *self, const pad_desc *desc, const float *x, float *y);
illume_status cpu_resize(backend *self, const resize_desc *desc, const float *x, float *y);
illume_status cpu_fill(backend *self, float value, int64_t count, float *y);

illume_status cpu_pool_backward(backend *self, const pool_desc *desc, const float *dy, const int32_t *argmax,
                                float *dx);
illume_status cpu_unary_backward(backend *self, const unary_backward_desc *desc, const float *x, const float *y,
                                 const float *dy, float *dx);
illume_status cpu_binary_backward(backend *self, const binary_desc *desc, int operand, const float *a,
                                  const float *b, const float *dy, float *dx);
illume_status cpu_softmax_backward(backend *self, const softmax_desc *desc, const float *y, const float *dy,
                                   float *dx);
illume_status cpu_lrn_backward(backend *self, const lrn_desc *desc, const float *x, const float *dy, float *terms,
                               float *dx);
illume_status cpu_pad_backward(backend *self, const pad_desc *desc, const float *dy, float *dx);
illume_status cpu_resize_backward(backend *self, const resize_desc *desc, const float *dy, float *dx);
illume_status cpu_relevance_ratio(backend *self, const relevance_ratio_desc *desc, const float *r, const float *z,
                                  const float *g, float *y);
illume_status cpu_deeplift(backend *self, deeplift_step step, int64_t half, const float *x, const float *y,
                           const float *dy, float *dx);
illume_status cpu_reveal_cancel(backend *self, const reveal_cancel_desc *desc, const float *x, const float *positive,
                                const float *negative, const float *dy, float *positive_gradient,
                                float *negative_gradient);
illume_status cpu_relevance_term(backend *self, int64_t count, float coefficient, const float *a, const float *b,
                                 float *y);
illume_status cpu_noise(backend *self, const noise_desc *desc, const float *x, float *y);
illume_status cpu_class_activation(backend *self, const class_activation_desc *desc, const float *activation,
                                   const float *gradient, float *weights, float *maps);

#endif
