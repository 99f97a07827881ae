/* ONNX protobuf bytes to the graph IR. */
#ifndef ILLUME_ONNX_IMPORT_H
#define ILLUME_ONNX_IMPORT_H

#include "model.h"

/* permissive: record unsupported ops, attributes and domains as problems of
 * the model instead of refusing it (illume info); malformed models are
 * refused either way. */
illume_status onnx_import(illume_context *context, const void *bytes, size_t size, const char *base_directory,
                          int permissive, illume_model **model);

/* Reads a whole file; refuses files over limit bytes. */
illume_status read_file(illume_context *context, const char *path, size_t limit, unsigned char **bytes,
                        size_t *size);

#endif
