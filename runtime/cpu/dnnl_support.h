/* Small pieces every oneDNN-backed primitive of the CPU backend uses:
 * plain memory descriptors, memories bound to pointers per call, reorders
 * between the layout the caller keeps and the one a primitive prefers. */
#ifndef ILLUME_DNNL_SUPPORT_H
#define ILLUME_DNNL_SUPPORT_H

#include "cpu_backend.h"

/* A dense row-major float32 descriptor of rank dims. */
illume_status dnnl_plain_desc(illume_context *context, dnnl_memory_desc_t *md, int rank, const int64_t *dims);
/* An activation of logical dims (N, C, spatial...), stored as given or channels last. */
illume_status dnnl_activation_desc(illume_context *context, dnnl_memory_desc_t *md, int rank, const int64_t *dims,
                                   int channels_last);

/* What a layout's data is to its primitive: an activation it reads or
 * writes (reordered at every call, in the backend's shared reorder buffers),
 * constant weights (reordered once into a buffer of the layout's own, which
 * keeps them for later calls), or an activation it reads and writes back
 * (an accumulating convolution's output: reordered in before the call and
 * out after, in the written activations' buffer). */
typedef enum dnnl_layout_role { LAYOUT_READ, LAYOUT_WRITTEN, LAYOUT_KEPT, LAYOUT_UPDATED } dnnl_layout_role;

/* A layout a primitive chose, with a reorder to or from the caller's plain one when they differ. */
typedef struct dnnl_layout {
    dnnl_memory_t plain;      /* the caller's data; handle set per call */
    dnnl_memory_t chosen;     /* the primitive's layout: the plain memory itself when they are equal */
    dnnl_primitive_t reorder; /* NULL when the layouts are equal */
    dnnl_primitive_t reorder_back; /* LAYOUT_UPDATED: chosen to plain, after the call */
    void *buffer;             /* storage of chosen when it differs and is kept */
    dnnl_layout_role role;
} dnnl_layout;

/* The reorder runs plain to chosen for what the primitive reads or keeps, chosen to plain for what it writes,
 * both ways for what it updates. */
illume_status dnnl_layout_create(cpu_backend *cpu, dnnl_layout *layout, const dnnl_memory_desc_t *plain_md,
                                 const dnnl_memory_desc_t *chosen_md, dnnl_layout_role role);
void dnnl_layout_destroy(dnnl_layout *layout);
/* Binds the caller's pointer; what the primitive reads or keeps is reordered into the chosen layout. */
illume_status dnnl_layout_enter(cpu_backend *cpu, dnnl_layout *layout, const void *data);
/* What the primitive wrote is reordered from the chosen layout into the pointer bound by enter. */
illume_status dnnl_layout_leave(cpu_backend *cpu, dnnl_layout *layout);

#endif
