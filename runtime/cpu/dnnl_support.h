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

/* A layout a primitive chose, with a reorder to or from the caller's plain one when they differ. */
typedef struct dnnl_layout {
    dnnl_memory_t plain;    /* the caller's data; handle set per call */
    dnnl_memory_t chosen;   /* the primitive's layout: the plain memory itself when they are equal */
    dnnl_primitive_t reorder; /* NULL when the layouts are equal */
    void *buffer;           /* storage of chosen when it differs */
    int to_chosen;          /* an input: reorder on enter; else an output: reorder on leave */
} dnnl_layout;

/* to_chosen: the reorder runs plain to chosen (inputs), else chosen to plain (outputs). */
illume_status dnnl_layout_create(cpu_backend *cpu, dnnl_layout *layout, const dnnl_memory_desc_t *plain_md,
                                 const dnnl_memory_desc_t *chosen_md, int to_chosen);
void dnnl_layout_destroy(dnnl_layout *layout);
/* Binds the caller's pointer; an input is reordered into the chosen layout. */
illume_status dnnl_layout_enter(cpu_backend *cpu, dnnl_layout *layout, const void *data);
/* An output is reordered from the chosen layout into the pointer bound by enter. */
illume_status dnnl_layout_leave(cpu_backend *cpu, dnnl_layout *layout);

#endif
