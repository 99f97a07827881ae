/* An imported model: the graph, plus the unsupported features a permissive
 * load (illume info) found instead of refusing. */
#ifndef ILLUME_MODEL_H
#define ILLUME_MODEL_H

#include "context.h"
#include "graph.h"

typedef struct model_problem {
    int node; /* node index, or -1 for the model as a whole */
    char *message;
} model_problem;

struct illume_model {
    graph *graph;
    model_problem *problems;
    int problem_count;
};

/* Wraps a graph (taken over) as a model, validating its nodes; for graphs built in code. */
illume_status model_from_graph(illume_context *context, graph *g, illume_model **model);

/* Records an unsupported feature; returns 0, or -1 when out of memory. */
int model_add_problem(illume_model *model, int node, const char *message);

/* Checks a node against its op definition: arity, attribute names and types,
 * and the op's own check. Returns the status and leaves the message. */
illume_status model_validate_node(illume_context *context, const graph *g, const graph_node *node);

/* Checks that the graph's opset defines the node's op, each input it gives
 * and each attribute it sets that the op knows (ILLUME_ERROR_INVALID_MODEL
 * when not, naming the part and the opsets that define it). */
illume_status model_validate_opset(illume_context *context, const graph *g, const graph_node *node);

#endif
