/* A backward rule: what a session's backward pass runs at every node in
 * place of the op's gradient. The runtime knows ops, plans and sessions;
 * rules that belong to explanation methods (LRP's, DeepLIFT's) live in
 * explain/ and are installed on a session made for them
 * (session_create_with_rule). A session with a rule fuses nothing, keeps
 * every forward value for its backward pass, and gives each node the
 * rule's scratch memory after its op's own. Every value, rather than those
 * a rule says it reads: LRP's and DeepLIFT's rule at a node comes from a
 * rule map or a baseline given after the plan is made
 * (session_set_rule_state), so any of them may be read. */
#ifndef ILLUME_BACKWARD_RULE_H
#define ILLUME_BACKWARD_RULE_H

#include "op.h"

typedef struct illume_session illume_session;

typedef struct backward_rule {
    /* Node n's backward in place of its op's: the same call, whose scratch
     * holds the rule's (backward_rule_scratch) after the op's. */
    illume_status (*node_backward)(void *state, illume_session *session, int n, const op_backward_call *call);
    /* Device memory the rule needs at a node beyond its op's own; NULL for none. */
    size_t (*scratch_bytes)(const graph *g, const graph_node *node);
    /* Frees the state the rule was given (session_set_rule_state); NULL when it has nothing to free. */
    void (*free_state)(void *state, illume_session *session);
} backward_rule;

/* Where the rule's scratch starts in a call: after the op's own, at the
 * plan's alignment. */
float *backward_rule_scratch(const op_backward_call *call);

#endif
