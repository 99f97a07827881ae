/* A linear node's weights transformed as relevance rules ask (W+, W-,
 * W + gamma W+, ones, W^2), made once per session on the device, and the
 * node's own op run forward and backward-data on them: what LRP's linear
 * rules and DeepLIFT's RevealCancel share (explain/weight_variants.c). */
#ifndef ILLUME_WEIGHT_VARIANTS_H
#define ILLUME_WEIGHT_VARIANTS_H

#include "op.h"

typedef enum weight_variant {
    VARIANT_ORIGINAL,
    VARIANT_POSITIVE,
    VARIANT_NEGATIVE,
    VARIANT_GAMMA_POSITIVE, /* W + gamma W+ */
    VARIANT_GAMMA_NEGATIVE, /* W + gamma W- */
    VARIANT_ONES,
    VARIANT_SQUARE,
    VARIANTS
} weight_variant;

/* Every node's variants of one session's graph. */
typedef struct weight_variants weight_variants;

/* Whether a node is linear in its data input 0 with constant weights
 * (input 1): a Conv, ConvTranspose, Gemm or MatMul the variants apply to. */
int linear_with_weights(const graph *g, const graph_node *node);

weight_variants *weight_variants_create(int node_count);
void weight_variants_free(weight_variants *variants, backend *device);

/* out = F(x; the variant of node n's weights), with the variant's bias or
 * none (a bias of zeros where the node has one: a backend primitive made
 * with a bias keeps wanting one). gamma: the gamma variants' (each node's
 * are made once, with the gamma of their first use). */
illume_status weight_variants_forward(weight_variants *variants, illume_context *context, int n,
                                      const op_call *forward, weight_variant variant, float gamma, int with_bias,
                                      const float *x, float *out);
/* dx = F^T(dy; the variant), the backward-data of node n's op, written whole. */
illume_status weight_variants_backward(weight_variants *variants, illume_context *context, int n,
                                       const op_backward_call *call, weight_variant variant, float gamma,
                                       const float *dy, float *dx);

#endif
