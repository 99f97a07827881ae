/* Layer-wise relevance propagation in the backward pass: with the rule
 * ILLUME_RULE_RELEVANCE, what flows back is relevance, and each node passes
 * it on by the LRP rule the caller set for it (session_set_lrp_rules). The
 * rules are Zennit 0.5.1's, term for term: see docs/methods.md. */
#ifndef ILLUME_LRP_H
#define ILLUME_LRP_H

#include "op.h"

typedef struct illume_session illume_session;

typedef enum lrp_kind {
    LRP_GRADIENT = 0, /* the node's own gradient (routing ops, max pooling: winner takes all) */
    LRP_PASS,         /* relevance passes unchanged (element-wise activations) */
    LRP_NORM,         /* proportional to each input's share of the output (Add, average pooling) */
    LRP_EPSILON,      /* linear nodes from here on */
    LRP_GAMMA,
    LRP_ALPHA_BETA,
    LRP_ZPLUS,
    LRP_ZBOX,
    LRP_FLAT,
    LRP_WSQUARE,
    /* All relevance to input `operand` of a binary node: a Mul by a gate,
     * or by a constant the session did not fold */
    LRP_GATE
} lrp_kind;

typedef struct lrp_rule {
    lrp_kind kind;
    float epsilon; /* the epsilon rule's epsilon; every other rule's stabilizer */
    float gamma, alpha, beta, low, high;
    int operand; /* LRP_GATE */
} lrp_rule;

/* Whether a node can take a linear rule: Conv, ConvTranspose, Gemm or MatMul
 * of a data input 0 by constant weights (input 1). */
int lrp_is_linear(const graph *g, const graph_node *node);
/* The scratch a node's relevance (LRP or DeepLIFT) backward needs beyond its op's, in bytes. */
size_t lrp_scratch_bytes(const graph *g, const graph_node *node);
/* Where that scratch starts in a relevance backward's call: after its op's
 * own, at the plan's alignment (runtime/plan.c places the two together). */
float *lrp_scratch_of(const op_backward_call *call);
const char *lrp_kind_name(lrp_kind kind);

/* Sets one rule per node of the session's graph (copied; LRP_GRADIENT for
 * nodes without one) and checks that each fits its node. */
illume_status session_set_lrp_rules(illume_session *session, const lrp_rule *rules);
void session_free_lrp(illume_session *session);
/* For DeepLIFT's RevealCancel, with LRP state set (any rules): node n's
 * linear op without bias and with its weights' positive or negative part,
 * forward (out = F(x; W+ or W-)) and backward-data (dx = F^T(dy; W+ or
 * W-)); and a buffer of count floats kept with node n for the session. */
illume_status lrp_signed_forward(illume_session *session, int n, const op_backward_call *call, int positive,
                                 const float *x, float *out);
illume_status lrp_signed_backward(illume_session *session, int n, const op_backward_call *call, int positive,
                                  const float *dy, float *dx);
float *lrp_side_buffer(illume_session *session, int n, int64_t count);

/* Node n's relevance backward, in place of its op's backward: the same call. */
illume_status lrp_backward(illume_session *session, int n, const op_backward_call *call);

#endif
