/* Builds small graphs in code with the internal graph API and runs them
 * through the public session API on the CPU backend, so that every op test
 * goes through validation, shape inference, folding, planning and the
 * backend, as an imported model would. */
#ifndef ILLUME_TESTS_GRAPH_BUILDER_H
#define ILLUME_TESTS_GRAPH_BUILDER_H

#include <stdint.h>

#include "graph.h"
#include "illume.h"

typedef struct builder {
    graph *graph;
    int failed; /* an allocation failed; builder_finish refuses the graph */
} builder;

/* An empty graph of the given opset of the default domain. */
builder *builder_create(int opset);
/* Frees a builder whose graph was not handed to builder_finish. */
void builder_free(builder *b);

/* A float32 graph input of the given shape; returns its value index. */
int builder_input(builder *b, const char *name, int rank, const int64_t *dims);
/* Constants (copied); returns their value index. */
int builder_floats(builder *b, const char *name, int rank, const int64_t *dims, const float *data);
int builder_ints(builder *b, const char *name, int rank, const int64_t *dims, const int64_t *data);
/* A 1-D int64 constant holding count values. */
int builder_int_list(builder *b, const char *name, int count, const int64_t *values);
/* A 0-D float constant. */
int builder_scalar(builder *b, const char *name, float value);

/* Appends a node of the named ONNX op. inputs may hold -1 for omitted
 * optional inputs; outputs receives output_count new values (NULL when the
 * caller does not need them; it may be the inputs array). Returns the node index. */
int builder_node(builder *b, const char *op_type, int input_count, const int *inputs, int output_count, int *outputs);
/* As builder_node, but the outputs are the given existing values (-1 omits one). */
int builder_node_to(builder *b, const char *op_type, int input_count, const int *inputs, int output_count,
                    const int *outputs);

void builder_attribute_int(builder *b, int node, const char *name, int64_t value);
void builder_attribute_float(builder *b, int node, const char *name, float value);
void builder_attribute_string(builder *b, int node, const char *name, const char *value);
void builder_attribute_ints(builder *b, int node, const char *name, int count, const int64_t *values);
void builder_attribute_floats(builder *b, int node, const char *name, int count, const float *values);
/* A tensor attribute holding the constant value `value` (from builder_floats or builder_ints). */
void builder_attribute_tensor(builder *b, int node, const char *name, int value);

/* Marks a value as a graph output, in call order. */
void builder_output(builder *b, int value);

/* Hands the graph to model_from_graph (which validates every node) and frees
 * the builder. Returns the status; the message is in the context. */
illume_status builder_finish(builder *b, illume_context *context, illume_model **model);

/* Makes a session with options (NULL: defaults) for the shapes of inputs,
 * runs it once and returns freshly allocated outputs (free with
 * tensor_release). outputs must hold output_count tensors. */
illume_status run_model(illume_context *context, const illume_model *model, const illume_session_options *options,
                        int input_count, const illume_tensor *inputs, int output_count, illume_tensor *outputs,
                        illume_session_stats *stats);

/* A float32 tensor of the given shape, zero-filled; data is NULL only on allocation failure. */
illume_tensor tensor_zeros(int rank, const int64_t *dims);
/* A float32 tensor of uniform values in [low, high) from a deterministic generator. */
illume_tensor tensor_random(int rank, const int64_t *dims, float low, float high, uint64_t *seed);
/* A float32 copy of a float32 tensor. */
illume_tensor tensor_copy(const illume_tensor *tensor);
int64_t tensor_count(const illume_tensor *tensor);
void tensor_release(illume_tensor *tensor);

/* Uniform in [0, 1) from a 64-bit linear congruential generator. */
double random_uniform(uint64_t *seed);

#endif
