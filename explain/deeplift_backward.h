/* DeepLIFT's backward rule (explain/deeplift_backward.c): on a session made
 * with deeplift_backward_rule and run on a batch of inputs then their
 * baselines (the same number of each), the Relu, Elu, LeakyRelu, Sigmoid and
 * Tanh nodes apply the rescale rule and MaxPool nodes Captum's max-pool
 * rule, every other node its gradient; with RevealCancel, that rule where a
 * nonlinearity follows a linear node it alone reads. */
#ifndef ILLUME_DEEPLIFT_BACKWARD_H
#define ILLUME_DEEPLIFT_BACKWARD_H

#include "backward_rule.h"

extern const backward_rule deeplift_backward_rule;

/* Gives a session made with the rule its state: rescale, or RevealCancel. */
illume_status deeplift_install(illume_session *session, int reveal_cancel);

#endif
