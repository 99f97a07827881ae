/* A model exported with a fixed batch size, rebound to the batch a session
 * asks for (runtime/rebind_batch.c). */
#ifndef ILLUME_REBIND_BATCH_H
#define ILLUME_REBIND_BATCH_H

#include "context.h"
#include "graph.h"

/* When the graph's inputs fix their batch dimension at B and shapes (one per
 * input) ask for another, N: rewrites the constants that carry B (the shape
 * inputs of the ops that take their output's shape from an input, trait
 * OP_SHAPED_BY_INPUT: Reshape, ConstantOfShape, Resize's sizes; where their
 * first entry is B and their output's first dimension is the batch), frees the inputs' batch dimension, and checks by shape inference
 * that every value that held B rows now holds N and every other value keeps
 * its shape. Does nothing where no input fixes a batch that differs. Fails
 * with ILLUME_ERROR_UNSUPPORTED, the graph untouched, when the check fails. */
illume_status pass_rebind_batch(illume_context *context, graph *g, int count, const illume_tensor *shapes);

#endif
