#include "dnnl_support.h"

#include <stdlib.h>
#include <string.h>

illume_status dnnl_plain_desc(illume_context *context, dnnl_memory_desc_t *md, int rank, const int64_t *dims) {
    dnnl_dims_t shape, strides;
    int64_t stride = 1;
    for (int d = rank - 1; d >= 0; d--) {
        shape[d] = dims[d];
        strides[d] = stride;
        stride *= dims[d] > 0 ? dims[d] : 1;
    }
    DNNL_TRY(context, dnnl_memory_desc_init_by_strides(md, rank, shape, dnnl_f32, strides));
    return ILLUME_OK;
}

illume_status dnnl_activation_desc(illume_context *context, dnnl_memory_desc_t *md, int rank, const int64_t *dims,
                                   int channels_last) {
    if (!channels_last) return dnnl_plain_desc(context, md, rank, dims);
    dnnl_dims_t shape, strides;
    int64_t stride = dims[1] > 0 ? dims[1] : 1;
    strides[1] = 1;
    for (int d = rank - 1; d >= 2; d--) {
        strides[d] = stride;
        stride *= dims[d] > 0 ? dims[d] : 1;
    }
    strides[0] = stride;
    for (int d = 0; d < rank; d++) shape[d] = dims[d];
    DNNL_TRY(context, dnnl_memory_desc_init_by_strides(md, rank, shape, dnnl_f32, strides));
    return ILLUME_OK;
}

/* 64-byte aligned storage for `bytes`, with room to spare (oneDNN's kernels may read a vector past the end). */
static void *aligned_buffer(size_t bytes) {
    return aligned_alloc(64, (bytes + 63) / 64 * 64 + 64);
}

/* The shared buffer a role's activations are reordered into: what a
 * primitive updates shares the written activations'. */
static int buffer_of(dnnl_layout_role role) { return role == LAYOUT_READ ? 0 : 1; }

/* Grows the backend's shared buffer for a role to at least `bytes`. Its
 * contents need not survive: each call reorders into it afresh. */
static illume_status reserve_reorder_buffer(cpu_backend *cpu, dnnl_layout_role role, size_t bytes) {
    int buffer = buffer_of(role);
    if (cpu->reorder_bytes[buffer] >= bytes) return ILLUME_OK;
    free(cpu->reorder_buffers[buffer]);
    cpu->reorder_bytes[buffer] = 0;
    cpu->reorder_buffers[buffer] = aligned_buffer(bytes);
    if (!cpu->reorder_buffers[buffer])
        return illume_fail(cpu->base.context, ILLUME_ERROR_OUT_OF_MEMORY, "cannot allocate %zu bytes", bytes);
    cpu->reorder_bytes[buffer] = bytes;
    return ILLUME_OK;
}

static illume_status reorder_create(cpu_backend *cpu, const dnnl_memory_desc_t *from, const dnnl_memory_desc_t *to,
                                   dnnl_primitive_t *reorder) {
    illume_context *context = cpu->base.context;
    dnnl_primitive_desc_t reorder_pd;
    DNNL_TRY(context, dnnl_reorder_primitive_desc_create(&reorder_pd, from, cpu->engine, to, cpu->engine, NULL));
    dnnl_status_t status = dnnl_primitive_create(reorder, reorder_pd);
    dnnl_primitive_desc_destroy(reorder_pd);
    DNNL_TRY(context, status);
    return ILLUME_OK;
}

illume_status dnnl_layout_create(cpu_backend *cpu, dnnl_layout *layout, const dnnl_memory_desc_t *plain_md,
                                 const dnnl_memory_desc_t *chosen_md, dnnl_layout_role role) {
    illume_context *context = cpu->base.context;
    memset(layout, 0, sizeof *layout);
    layout->role = role;
    DNNL_TRY(context, dnnl_memory_create(&layout->plain, plain_md, cpu->engine, DNNL_MEMORY_NONE));
    if (dnnl_memory_desc_equal(plain_md, chosen_md)) {
        layout->chosen = layout->plain;
        return ILLUME_OK;
    }
    size_t bytes = dnnl_memory_desc_get_size(chosen_md);
    if (role == LAYOUT_KEPT) {
        layout->buffer = aligned_buffer(bytes);
        if (!layout->buffer)
            return illume_fail(context, ILLUME_ERROR_OUT_OF_MEMORY, "cannot allocate %zu bytes", bytes);
    } else {
        ILLUME_TRY(reserve_reorder_buffer(cpu, role, bytes));
    }
    DNNL_TRY(context, dnnl_memory_create(&layout->chosen, chosen_md, cpu->engine,
                                         layout->buffer ? layout->buffer : DNNL_MEMORY_NONE));
    int to_chosen = role != LAYOUT_WRITTEN;
    ILLUME_TRY(reorder_create(cpu, to_chosen ? plain_md : chosen_md, to_chosen ? chosen_md : plain_md,
                              &layout->reorder));
    if (role == LAYOUT_UPDATED) ILLUME_TRY(reorder_create(cpu, chosen_md, plain_md, &layout->reorder_back));
    return ILLUME_OK;
}

void dnnl_layout_destroy(dnnl_layout *layout) {
    if (layout->reorder) dnnl_primitive_destroy(layout->reorder);
    if (layout->reorder_back) dnnl_primitive_destroy(layout->reorder_back);
    if (layout->chosen && layout->chosen != layout->plain) dnnl_memory_destroy(layout->chosen);
    if (layout->plain) dnnl_memory_destroy(layout->plain);
    free(layout->buffer);
    memset(layout, 0, sizeof *layout);
}

static illume_status run_reorder(cpu_backend *cpu, dnnl_primitive_t reorder, dnnl_memory_t from, dnnl_memory_t to) {
    dnnl_exec_arg_t arguments[2] = {{DNNL_ARG_FROM, from}, {DNNL_ARG_TO, to}};
    DNNL_TRY(cpu->base.context, dnnl_primitive_execute(reorder, cpu->stream, 2, arguments));
    return ILLUME_OK;
}

illume_status dnnl_layout_enter(cpu_backend *cpu, dnnl_layout *layout, const void *data) {
    DNNL_TRY(cpu->base.context, dnnl_memory_set_data_handle(layout->plain, (void *)data));
    if (!layout->reorder) return ILLUME_OK;
    if (layout->role != LAYOUT_KEPT)
        DNNL_TRY(cpu->base.context,
                 dnnl_memory_set_data_handle(layout->chosen, cpu->reorder_buffers[buffer_of(layout->role)]));
    if (layout->role != LAYOUT_WRITTEN) return run_reorder(cpu, layout->reorder, layout->plain, layout->chosen);
    return ILLUME_OK;
}

illume_status dnnl_layout_leave(cpu_backend *cpu, dnnl_layout *layout) {
    if (layout->reorder && layout->role == LAYOUT_WRITTEN)
        return run_reorder(cpu, layout->reorder, layout->chosen, layout->plain);
    if (layout->reorder_back) return run_reorder(cpu, layout->reorder_back, layout->chosen, layout->plain);
    return ILLUME_OK;
}
