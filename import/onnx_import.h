/* ONNX protobuf bytes to the graph IR. */
#ifndef ILLUME_ONNX_IMPORT_H
#define ILLUME_ONNX_IMPORT_H

#include "context.h"
#include "graph.h"
#include "op.h"

/* The default-domain opsets illume imports: from 7 (before it, Add, Mul and
 * the like broadcast by attributes illume does not read) to 28, the newest
 * onnx 1.23.2 defines. */
#define ONNX_MIN_OPSET 7
#define ONNX_MAX_OPSET 28

/* The attributes a Constant node may hold, with the opsets that define them;
 * sparse_value and the string forms are refused as unsupported. */
extern const op_attribute onnx_constant_attributes[];

/* What a permissive import recorded instead of refusing: per problem, the
 * node (or -1 for the model as a whole) and the message that names it. */
typedef struct import_problem {
    int node;
    char *message;
} import_problem;

typedef struct import_problems {
    import_problem *items;
    int count;
} import_problems;

void import_problems_free(import_problems *problems);

/* Decodes the ONNX bytes into *graph (NULL on failure). permissive: record
 * unsupported ops, attributes and domains, and inputs and attributes the
 * model's opset does not define, in *problems instead of refusing the model
 * (illume info); malformed models are refused either way, and a strict
 * import leaves *problems empty. */
illume_status onnx_import(illume_context *context, const void *bytes, size_t size, const char *base_directory,
                          int permissive, graph **graph, import_problems *problems);

/* Reads a whole file; refuses files over limit bytes. */
illume_status read_file(illume_context *context, const char *path, size_t limit, unsigned char **bytes,
                        size_t *size);

#endif
