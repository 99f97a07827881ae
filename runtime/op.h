/* What an op is to the engine: its ONNX name and arity, the attributes it
 * knows, how it checks them, infers shapes, folds constants and runs on a
 * backend. One definition per file in runtime/ops/. */
#ifndef ILLUME_OP_H
#define ILLUME_OP_H

#include "backend.h"
#include "context.h"
#include "graph.h"

/* Everything a node's forward needs when it runs. */
typedef struct op_call {
    illume_context *context;
    backend *backend;
    const graph *graph;
    const graph_node *node;
    const float *const *inputs; /* device pointers, NULL for omitted optional inputs */
    float *const *outputs;
    void **state; /* the node's slot for backend primitives and cached weights */
    void *saved;  /* saved_bytes of device memory for the backward pass, or NULL in inference */
} op_call;

/* Everything a node's backward needs: its forward call (whose input and
 * output pointers still hold the forward values the backward reads), the
 * gradients of its outputs, and where to write the gradients of its inputs
 * (each written whole; the session adds contributions of several readers). */
typedef struct op_backward_call {
    const op_call *forward;
    const float *const *output_gradients; /* NULL where no gradient flows back */
    float *const *input_gradients;        /* NULL where none is wanted */
    gradient_rule rule;
    void **state;  /* OP_BACKWARD_STATES slots for the backward's primitives */
    void *scratch; /* backward_scratch_bytes of device memory, when asked for */
} op_backward_call;

#define OP_BACKWARD_STATES 4

/* Which forward values a node's backward reads, as bit masks over its inputs and outputs. */
typedef struct op_reads {
    uint32_t inputs, outputs;
} op_reads;

/* An attribute the op knows, and the opsets that define it: since and until
 * bound them (0 leaves that side open). A node whose opset lies outside is
 * refused at import as invalid, as ONNX Runtime refuses it; attributes that
 * only opsets before 7 define stay listed for that message. */
typedef struct op_attribute {
    const char *name;
    graph_attribute_type type;
    int since, until;
} op_attribute;

/* An input that not every opset of its op defines: its position, its ONNX
 * name (for messages) and the opsets that define it, bounded as above. Inputs
 * without such an entry exist wherever the op does. */
typedef struct op_input {
    int index;
    const char *name;
    int since, until;
} op_input;

/* How a node treats the positions of its data, for the passes that move
 * or split it (the layout pass, the batch split): a convolution; an op
 * with one data input, element by element or window by window (the
 * activations, BatchNormalization, pooling); a broadcasting binary op; Concat;
 * or anything else. */
typedef enum op_kind { KIND_OTHER, KIND_CONVOLUTION, KIND_UNARY, KIND_BINARY, KIND_CONCAT } op_kind;

/* What an op is, for the passes and the methods that reason about a graph
 * instead of running it (in the spirit of Zennit's layer types): an op has
 * every trait that holds for it, and OP_PLAIN when none does, so that a
 * definition without traits is an omission the op table's test finds. */
enum op_trait {
    OP_PLAIN = 1u << 0,
    /* Input 0 times a weight (input 1), plus an optional bias: Conv, Gemm, MatMul. */
    OP_LINEAR = 1u << 1,
    /* A nonlinearity applied to input 0 element by element; other inputs are its parameters. */
    OP_ACTIVATION = 1u << 2,
    /* An activation into [0, 1], which a Mul uses to gate another value (squeeze-excitation, swish). */
    OP_GATE = 1u << 3,
    /* Rescales each position of input 0 by statistics, keeping its shape. */
    OP_NORMALIZATION = 1u << 4,
    /* Each output is a non-negative weighting of input 0's elements: average pools, ReduceMean, ReduceSum. */
    OP_AVERAGING = 1u << 5,
    /* Each output is the largest element of a window of input 0. */
    OP_MAX_POOLING = 1u << 6,
    /* The broadcast sum of its inputs. */
    OP_SUM = 1u << 7,
    /* A broadcasting product or quotient: the output scales with either operand. */
    OP_SCALING = 1u << 8,
    /* Never negative, whatever its inputs. */
    OP_NONNEGATIVE = 1u << 9,
    /* Its float output is non-negative wherever its float inputs are: it moves, selects, pads, pools or averages. */
    OP_KEEPS_SIGN = 1u << 10,
    /* Reads and writes channels on axis 1 (ONNX's NCHW ops). */
    OP_CHANNELS_FIRST = 1u << 11,
    /* Its output holds each position where its data inputs hold it (beyond the element-wise kinds). */
    OP_KEEPS_POSITIONS = 1u << 12,
    /* Output 0 is input 0 in inference: the passes remove it. */
    OP_PASS_THROUGH = 1u << 13,
    /* Input shape_input is a tensor of output dimensions, whose first entry a fixed batch may hold. */
    OP_SHAPED_BY_INPUT = 1u << 14,
    /* With one operand constant, an affine map of the other: Add, Sub, Mul, Div. */
    OP_AFFINE = 1u << 15,
};

typedef struct op_definition {
    const char *name;
    op_kind kind;
    unsigned traits;  /* op_trait bits */
    int shape_input;  /* with OP_SHAPED_BY_INPUT */
    int since; /* the first opset that defines the op; 0 for those older than any opset illume imports */
    int min_inputs, max_inputs; /* over every opset */
    int min_outputs, max_outputs;
    const op_attribute *attributes;    /* ends with a NULL name; anything else is refused */
    const op_input *versioned_inputs; /* ends with a NULL name; NULL when every input exists in every opset */
    /* Refuses attribute values illume does not run; called at import. May be NULL. */
    illume_status (*check)(illume_context *context, const graph *g, const graph_node *node);
    /* Sets the dtypes and shapes of the outputs from those of the inputs. */
    illume_status (*infer)(illume_context *context, graph *g, graph_node *node);
    /* Computes constant outputs on the host when every input is constant; NULL when the op never folds. */
    illume_status (*fold)(illume_context *context, graph *g, graph_node *node);
    /* Runs on a backend; NULL for ops that always fold or are views. */
    illume_status (*forward)(const op_call *call);
    /* The output is input 0's data under a new shape: no work, shared storage. */
    int is_view;
    /* Memory the forward fills for the backward pass (MaxPool's argmax); NULL for none. */
    size_t (*saved_bytes)(const graph *g, const graph_node *node);
    /* Multiply-accumulates x 2 for the node's shapes; NULL counts as 0. */
    int64_t (*flops)(const graph *g, const graph_node *node);
    /* The gradients of the inputs from those of the outputs; NULL for ops
     * without one (a backward pass through them is refused). Views need none:
     * their gradient shares the input's. */
    illume_status (*backward)(const op_backward_call *call);
    /* The forward values the backward reads, which the plan keeps alive. */
    op_reads (*backward_reads)(const graph *g, const graph_node *node);
    /* Extra device memory the backward needs while it runs; NULL for none. */
    size_t (*backward_scratch_bytes)(const graph *g, const graph_node *node);
} op_definition;

/* Checks a node against its op definition: arity, attribute names and types,
 * and the op's own check (runtime/op_validate.c). Returns the status and
 * leaves the message. */
illume_status op_validate_node(illume_context *context, const graph *g, const graph_node *node);

/* Checks that the graph's opset defines the node's op, each input it gives
 * and each attribute it sets that the op knows (ILLUME_ERROR_INVALID_MODEL
 * when not, naming the part and the opsets that define it). */
illume_status op_validate_opset(illume_context *context, const graph *g, const graph_node *node);

/* Whether since..until (0 leaving that side open) includes opset. */
int op_opset_within(int opset, int since, int until);

/* Writes since..until as words for messages: "from opset 18", "until opset
 * 12", "in opsets 11 to 12", "only in opset 10". */
void op_opset_range_text(int since, int until, char *buffer, size_t size);

/* The op named name in the default ONNX domain, or -1. */
int op_find(const char *name);
const op_definition *op_get(int op);
int op_count(void);

/* Whether the node, not deleted, is of the op named name. */
int graph_node_is(const graph_node *node, const char *name);
/* Whether the node, not deleted, is of an op with every trait in traits. */
int op_node_has(const graph_node *node, unsigned traits);
/* The node's kind; KIND_OTHER for deleted and unknown nodes. */
op_kind graph_op_kind(const graph_node *node);

#endif
