/* An imported model: the graph, plus the unsupported features a permissive
 * load (illume info) found instead of refusing. */
#ifndef ILLUME_MODEL_H
#define ILLUME_MODEL_H

#include "context.h"
#include "graph.h"
#include "onnx_import.h"

struct illume_model {
    graph *graph;
    import_problems problems;
};

/* Wraps a graph (taken over) as a model, validating its nodes; for graphs built in code. */
illume_status model_from_graph(illume_context *context, graph *g, illume_model **model);

#endif
