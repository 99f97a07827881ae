/* DeepLIFT in the backward pass: with the rule ILLUME_RULE_DEEPLIFT, on a
 * session planned with options.relevance and run on a batch of inputs then
 * their baselines (the same number of each), the Relu, Elu, LeakyRelu,
 * Sigmoid, Tanh and Softplus nodes apply the rescale rule and MaxPool nodes
 * Captum's max-pool rule; every other node its gradient. RevealCancel
 * (ILLUME_RULE_DEEPLIFT_REVEAL_CANCEL) replaces the rescale rule where it
 * can. */
#ifndef ILLUME_DEEPLIFT_H
#define ILLUME_DEEPLIFT_H

#include "op.h"

typedef struct illume_session illume_session;

/* Node n's DeepLIFT backward in place of its op's; with reveal_cancel, the
 * RevealCancel rule where a nonlinearity follows a linear node it alone
 * reads (the session needs LRP state for the weight variants: any rules). */
illume_status deeplift_backward(illume_session *session, int n, const op_backward_call *call, int reveal_cancel);

#endif
