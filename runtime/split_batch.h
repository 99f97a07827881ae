/* Splitting a forward batch (runtime/split_batch.c): the first nodes of a
 * forward-only session run one image at a time, the rest on the batch. */
#ifndef ILLUME_SPLIT_BATCH_H
#define ILLUME_SPLIT_BATCH_H

#include "graph.h"
#include "session.h"

/* The step before which the graph's nodes should run one image at a time,
 * or 0 where the whole batch should run together. */
int split_batch_choose(const graph *g);
/* Makes the session's first plan.first_step steps ready to run one image at
 * a time: their graph on a batch of one, as a part of the session. */
illume_status split_batch_create(illume_session *session);
/* Runs those steps on every image of the inputs in place, leaving the value
 * they hand on where the session's plan has it. */
illume_status split_batch_run(illume_session *session);
/* The part of the session that runs one image at a time. */
illume_session *split_batch_images(const illume_session *session);
void split_batch_free(illume_session *session);

#endif
