/* The graph IR: values (tensors with dtype, shape, producer, optional
 * constant data) and nodes (op, attributes, inputs, outputs), in topological
 * order once imported. Nothing here knows about protobuf. */
#ifndef ILLUME_GRAPH_H
#define ILLUME_GRAPH_H

#include <stdint.h>

#include "illume.h"

typedef struct graph_value {
    char *name;
    illume_dtype dtype;
    int rank;                      /* -1 while unknown */
    int64_t dims[ILLUME_MAX_RANK]; /* -1 for an unknown dimension */
    char *dim_names[ILLUME_MAX_RANK];
    void *constant;                /* host data when the value is known before running */
    int owns_constant;
    int producer;                  /* node index, -1 for graph inputs and constants */
    int is_graph_input;
    int is_graph_output;
    /* A 4-D value stored channels last: dims hold (N, H, W, C), the logical
     * shape is (N, C, H, W). Set by the layout pass of sessions on backends
     * that prefer it. */
    int channels_last;
    /* A value the caller will read or seed (a backward start, a layer for
     * Grad-CAM): the passes keep it rather than fusing it away. */
    int pinned;
} graph_value;

typedef enum graph_attribute_type {
    ATTRIBUTE_FLOAT,
    ATTRIBUTE_INT,
    ATTRIBUTE_STRING,
    ATTRIBUTE_FLOATS,
    ATTRIBUTE_INTS,
    ATTRIBUTE_STRINGS,
    ATTRIBUTE_TENSOR,
    ATTRIBUTE_OTHER
} graph_attribute_type;

typedef struct graph_attribute {
    char *name;
    graph_attribute_type type;
    float f;
    int64_t i;
    char *s;
    int count;
    float *floats;
    int64_t *ints;
    int tensor; /* for ATTRIBUTE_TENSOR: a constant value of the graph */
} graph_attribute;

/* An element-wise activation folded into the node before it: kind is a
 * unary_kind of runtime/backend.h, 0 (UNARY_COPY) for none. */
typedef struct graph_activation {
    int kind;
    float alpha, beta;
} graph_activation;

typedef struct graph_node {
    char *name;
    char *op_type; /* as the model spells it, kept for ops illume does not know */
    int op;        /* index into the op table, -1 when unknown */
    int input_count;
    int *inputs; /* value indices; -1 for an omitted optional input */
    int output_count;
    int *outputs; /* value indices; -1 for an omitted optional output */
    int attribute_count;
    graph_attribute *attributes;
    /* Set by the fusion pass: an activation that followed this node runs inside it. */
    graph_activation fused_activation;
    int fused_add;  /* set by the fusion pass: an Add of the last input into the output runs inside this node */
    int inplace_input; /* an input the output may overwrite when nothing reads it later; -1 for none */
} graph_node;

typedef struct graph {
    graph_value *values;
    int value_count, value_capacity;
    graph_node *nodes;
    int node_count, node_capacity;
    int *inputs; /* graph inputs that are not constants */
    int input_count;
    int *outputs;
    int output_count;
    char **output_names; /* the names the model gives its outputs, kept through rewrites */
    int opset;
    int64_t ir_version;
    char *producer;
} graph;

graph *graph_create(void);
void graph_free(graph *g);
/* Frees what a node owns and zeroes it. */
void graph_node_release(graph_node *node);

/* Appends a value named name (copied); returns its index or -1 on allocation failure. */
int graph_add_value(graph *g, const char *name);
/* Appends a node; returns its index or -1 on allocation failure. */
int graph_add_node(graph *g, const char *name, int op, int input_count, int output_count);

/* A deep copy whose constants point at the source's data without owning it. */
graph *graph_clone(const graph *source);

const graph_attribute *graph_attribute_find(const graph_node *node, const char *name);
int64_t graph_attribute_int(const graph_node *node, const char *name, int64_t fallback);
float graph_attribute_float(const graph_node *node, const char *name, float fallback);
const char *graph_attribute_string(const graph_node *node, const char *name, const char *fallback);
/* The ints of an attribute and their count; NULL and 0 when absent. */
const int64_t *graph_attribute_ints(const graph_node *node, const char *name, int *count);
const float *graph_attribute_floats(const graph_node *node, const char *name, int *count);
/* Set an attribute (added when absent, its type and value replaced when
 * present); -1 on allocation failure. */
int graph_attribute_set_int(graph_node *node, const char *name, int64_t value);
int graph_attribute_set_ints(graph_node *node, const char *name, int count, const int64_t *values);

/* The node's i-th input value, or NULL when omitted or out of range. */
graph_value *graph_input(const graph *g, const graph_node *node, int i);
graph_value *graph_output(const graph *g, const graph_node *node, int i);

/* The logical (NCHW) dims of a value, whatever its storage order. */
void value_logical_dims(const graph_value *value, int64_t *dims);

/* The largest product of a shape's non-zero dimensions. A tensor without
 * elements still has strides, which multiply its non-zero dimensions; within
 * this bound every stride, element count and byte count (8 bytes an element
 * at most) of a shape fits int64. A shape past it is refused where it enters
 * the graph: at import, where inputs are bound, where an op infers it. */
#define SHAPE_EXTENT_LIMIT (INT64_MAX / 8)

/* The product of a shape's positive dimensions (zeros and unknown ones left
 * out); 0 on success, -1 when it passes SHAPE_EXTENT_LIMIT or the rank is bad. */
int shape_extent(int rank, const int64_t *dims, int64_t *extent);
/* Element count of a shape; returns 0 on success, -1 for an unknown dimension
 * or a shape past SHAPE_EXTENT_LIMIT. */
int shape_element_count(int rank, const int64_t *dims, int64_t *count);
/* Byte size of a value with a known shape; -1 past SHAPE_EXTENT_LIMIT. */
int value_byte_size(const graph_value *value, size_t *bytes);
size_t dtype_size(illume_dtype dtype);
/* Formats a shape as "[1, 3, 224, 224]" into buffer. */
const char *shape_format(int rank, const int64_t *dims, char *buffer, size_t size);

#endif
