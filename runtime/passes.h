/* The passes that turn an imported graph into one a session runs: bind the
 * input shapes, infer every shape and fold what is constant, drop what does
 * no work, fold BatchNormalization into Conv/Gemm, fuse Relu into Conv. */
#ifndef ILLUME_PASSES_H
#define ILLUME_PASSES_H

#include "context.h"
#include "graph.h"

/* Gives the graph inputs the shapes of the tensors (one per input, in order). */
illume_status pass_bind_inputs(illume_context *context, graph *g, int count, const illume_tensor *shapes);
/* Infers the shape of every value in order, folding nodes whose inputs are all constant. */
illume_status pass_infer_and_fold(illume_context *context, graph *g);
/* Removes folded nodes, Identity, Dropout and nodes nothing reads. */
illume_status pass_simplify(illume_context *context, graph *g);
/* Drops Pads that pad nothing and folds a Pad of zeros around the spatial
 * axes into the pads of the Conv or AveragePool that alone reads it
 * (runtime/fold_pad.c). */
illume_status pass_fold_pad(illume_context *context, graph *g);
/* Folds a per-channel affine map (a BatchNormalization, or a Mul, Div, Add
 * or Sub by a constant that varies along the channels alone) into the Conv,
 * ConvTranspose, Gemm or MatMul before it, where that node has no other
 * reader and its weights are constant (runtime/fold_affine.c). */
illume_status pass_fold_affine(illume_context *context, graph *g);
/* Stores activations channels last between the ops that keep that order
 * (runtime/layout.c). */
illume_status pass_channels_last(illume_context *context, graph *g);
/* Lets a Conv add a same-shaped tensor into its output (a residual Add that
 * alone reads the Conv's output), in place when nothing reads the addend later. */
illume_status pass_fuse_add(illume_context *context, graph *g);
/* Lets a Conv apply the activation (Relu, Clip, Sigmoid, ...) that alone reads
 * its output, or, forward only, a SiLU (Mul of the output and its Sigmoid);
 * forward only, a BatchNormalization the Relu that alone reads its output.
 * for_backward: only activations whose derivative the output determines
 * (the backward of a fused node sees only its output). */
illume_status pass_fuse_activation(illume_context *context, graph *g, int for_backward);


/* Replaces every read of value `from` (node inputs and graph outputs) by `to`. */
void graph_replace_uses(graph *g, int from, int to);
/* Counts the readers of each value (graph outputs count as readers). */
int *graph_count_readers(const graph *g);
/* Node `producer` takes over the work of `follower`, which reads its only
 * output: it now produces the follower's output value (keeping that name),
 * its own output is gone, and the follower is marked deleted. */
void graph_absorb(graph *g, int producer, graph_node *follower);
/* Drops the nodes marked deleted (op == GRAPH_NODE_DELETED), keeping order. */
void graph_compact(graph *g);

#define GRAPH_NODE_DELETED (-3)

#endif
