/* DeepLIFT in the backward pass: with the rule ILLUME_RULE_DEEPLIFT, on a
 * session planned with options.relevance and run on a batch of inputs then
 * their baselines (the same number of each), the Relu, Elu, LeakyRelu,
 * Sigmoid, Tanh and Softplus nodes apply the rescale rule and MaxPool nodes
 * Captum's max-pool rule; every other node its gradient. */
#ifndef ILLUME_DEEPLIFT_H
#define ILLUME_DEEPLIFT_H

#include "op.h"

illume_status deeplift_backward(const op_backward_call *call);

#endif
