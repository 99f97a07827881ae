/* Which axis holds the channels of each value (runtime/channel_axis.c). */
#ifndef ILLUME_CHANNEL_AXIS_H
#define ILLUME_CHANNEL_AXIS_H

#include "graph.h"

/* Per value of g: the axis that holds its channels, or -1 where the graph
 * does not tell (no channel-reading op reaches it, ranks below 3, or two
 * paths that disagree). Malloc'd; NULL when out of memory. */
int *graph_channel_axes(const graph *g);

#endif
