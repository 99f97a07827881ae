#include "cpu_backend.h"

#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "host_copy.h"

illume_status cpu_dnnl_check(illume_context *context, dnnl_status_t status, const char *what) {
    if (status == dnnl_success) return ILLUME_OK;
    if (status == dnnl_out_of_memory)
        return illume_fail(context, ILLUME_ERROR_OUT_OF_MEMORY, "oneDNN ran out of memory in %s", what);
    return illume_fail(context, ILLUME_ERROR_BACKEND, "oneDNN failed (status %d) in %s", (int)status, what);
}

static void *cpu_allocate(backend *self, size_t bytes) {
    (void)self;
    size_t rounded = (bytes + 63) / 64 * 64;
    return aligned_alloc(64, rounded ? rounded : 64);
}

static void cpu_release(backend *self, void *memory) {
    (void)self;
    free(memory);
}

static illume_status cpu_transfer(backend *self, void *destination, const void *source, size_t bytes) {
    (void)self;
    if (bytes && destination != source) memcpy(destination, source, bytes);
    return ILLUME_OK;
}

static illume_status cpu_synchronize(backend *self) {
    cpu_backend *cpu = (cpu_backend *)self;
    return cpu_dnnl_check(self->context, dnnl_stream_wait(cpu->stream), "dnnl_stream_wait");
}

static void cpu_release_state(backend *self, void *state) {
    (void)self;
    cpu_state *header = state;
    if (header) header->destroy(header);
}

illume_status cpu_copy(backend *self, const copy_desc *desc, const float *x, float *y) {
    (void)self;
    host_copy(desc, x, y, sizeof(float));
    return ILLUME_OK;
}

static void cpu_destroy(backend *self) {
    cpu_backend *cpu = (cpu_backend *)self;
    if (cpu->stream) dnnl_stream_destroy(cpu->stream);
    if (cpu->engine) dnnl_engine_destroy(cpu->engine);
    free(cpu->transfers);
    free(cpu->reorder_buffers[0]);
    free(cpu->reorder_buffers[1]);
    free(cpu);
}

backend *cpu_backend_create(illume_context *context, backend_options options) {
    cpu_backend *cpu = calloc(1, sizeof *cpu);
    if (!cpu) {
        illume_fail(context, ILLUME_ERROR_OUT_OF_MEMORY, "out of memory");
        return NULL;
    }
    backend *self = &cpu->base;
    self->name = "cpu";
    self->context = context;
    self->shares_host_memory = 1;
    self->prefers_channels_last = 1;
    self->splits_batches = 1;
    self->destroy = cpu_destroy;
    self->allocate = cpu_allocate;
    self->release = cpu_release;
    self->allocate_host = cpu_allocate;
    self->release_host = cpu_release;
    self->upload = cpu_transfer;
    self->download = cpu_transfer;
    self->synchronize = cpu_synchronize;
    self->upload_beside = cpu_upload_beside;
    self->wait_uploads = cpu_wait_uploads;
    self->download_after = cpu_download_after;
    self->finish_transfers = cpu_finish_transfers;
    self->release_state = cpu_release_state;
    self->convolution = cpu_convolution;
    self->convolution_backward = cpu_convolution_backward;
    self->pool = cpu_pool;
    self->matmul = cpu_matmul;
    self->batchnorm = cpu_batchnorm;
    self->unary = cpu_unary;
    self->binary = cpu_binary;
    self->softmax = cpu_softmax;
    self->lrn = cpu_lrn;
    self->reduce = cpu_reduce;
    self->copy = cpu_copy;
    self->pad = cpu_pad;
    self->resize = cpu_resize;
    self->fill = cpu_fill;
    self->pool_backward = cpu_pool_backward;
    self->unary_backward = cpu_unary_backward;
    self->binary_backward = cpu_binary_backward;
    self->softmax_backward = cpu_softmax_backward;
    self->lrn_backward = cpu_lrn_backward;
    self->pad_backward = cpu_pad_backward;
    self->resize_backward = cpu_resize_backward;
    self->relevance_ratio = cpu_relevance_ratio;
    self->relevance_term = cpu_relevance_term;
    self->deeplift = cpu_deeplift;
    self->reveal_cancel = cpu_reveal_cancel;
    self->noise = cpu_noise;
    self->class_activation = cpu_class_activation;
    cpu->threads = context && context->threads > 0 ? context->threads : omp_get_num_procs();
    cpu->winograd = options.winograd;
    omp_set_num_threads(cpu->threads);
    if (cpu_dnnl_check(context, dnnl_engine_create(&cpu->engine, dnnl_cpu, 0), "dnnl_engine_create") != ILLUME_OK ||
        cpu_dnnl_check(context, dnnl_stream_create(&cpu->stream, cpu->engine, dnnl_stream_default_flags),
                       "dnnl_stream_create") != ILLUME_OK) {
        cpu_destroy(self);
        return NULL;
    }
    return self;
}
