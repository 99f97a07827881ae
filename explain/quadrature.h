/* Where integrated gradients evaluates the path and with what weights. */
#ifndef ILLUME_QUADRATURE_H
#define ILLUME_QUADRATURE_H

#include "illume.h"

/* Fills alphas (points in [0, 1]) and weights for `steps` points, as Captum's
 * approximation methods: Gauss-Legendre nodes and weights mapped to [0, 1];
 * Riemann sums with 1/steps per point at the left, right or middle of each
 * interval, or at both ends for trapezoid, whose end weights Captum halves. */
void quadrature_points(illume_quadrature quadrature, int steps, double *alphas, double *weights);

#endif
