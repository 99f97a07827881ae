/* Strided copies on the host for any element size: the CPU backend's copy
 * and the constant folder of the data-movement ops share it. */
#ifndef ILLUME_HOST_COPY_H
#define ILLUME_HOST_COPY_H

#include <stddef.h>

#include "backend.h"

/* With desc->accumulate the elements are float32 (gradients) and add to the destination. */
void host_copy(const copy_desc *desc, const void *source, void *destination, size_t element_size);

#endif
