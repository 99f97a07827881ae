/* Layer-wise relevance propagation's backward rule (explain/lrp_backward.c):
 * sessions made with lrp_backward_rule (session_create_with_rule) carry
 * relevance back, each node by the rule lrp_install set for it. */
#ifndef ILLUME_LRP_BACKWARD_H
#define ILLUME_LRP_BACKWARD_H

#include "backward_rule.h"

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

const char *lrp_kind_name(lrp_kind kind);

extern const backward_rule lrp_backward_rule;

/* Sets one rule per node of the session's graph (copied) and checks that each fits its node. */
illume_status lrp_install(illume_session *session, const lrp_rule *rules);

#endif
