#include "quadrature.h"

#include <math.h>

/* Legendre nodes by Newton's method from the Chebyshev guesses, weights
 * 2 / ((1 - x^2) P_n'(x)^2); mapped from [-1, 1] to [0, 1]. */
static void gauss_legendre(int n, double *alphas, double *weights) {
    for (int i = 0; i < n; i++) {
        double x = cos(M_PI * (i + 0.75) / (n + 0.5)), derivative = 1.0;
        for (int iteration = 0; iteration < 100; iteration++) {
            double p0 = 1.0, p1 = x;
            for (int k = 2; k <= n; k++) {
                double p2 = ((2.0 * k - 1.0) * x * p1 - (k - 1.0) * p0) / k;
                p0 = p1;
                p1 = p2;
            }
            derivative = n * (x * p1 - p0) / (x * x - 1.0);
            double step = p1 / derivative;
            x -= step;
            if (fabs(step) < 1e-16) break;
        }
        /* Nodes come out from +1 down; Captum lists them from 0 up. */
        alphas[n - 1 - i] = 0.5 * (x + 1.0);
        weights[n - 1 - i] = 1.0 / ((1.0 - x * x) * derivative * derivative);
    }
}

/* torch.linspace(start, end, n), as Captum calls it. */
static double linspace(double start, double end, int n, int k) {
    return n == 1 ? start : start + (end - start) * k / (n - 1);
}

void quadrature_points(illume_quadrature quadrature, int steps, double *alphas, double *weights) {
    int n = steps;
    if (quadrature == ILLUME_GAUSS_LEGENDRE) {
        gauss_legendre(n, alphas, weights);
        return;
    }
    for (int k = 0; k < n; k++) {
        weights[k] = 1.0 / n;
        switch (quadrature) {
        case ILLUME_RIEMANN_LEFT: alphas[k] = linspace(0.0, 1.0 - 1.0 / n, n, k); break;
        case ILLUME_RIEMANN_RIGHT: alphas[k] = linspace(1.0 / n, 1.0, n, k); break;
        case ILLUME_RIEMANN_MIDDLE: alphas[k] = linspace(1.0 / (2.0 * n), 1.0 - 1.0 / (2.0 * n), n, k); break;
        default: alphas[k] = linspace(0.0, 1.0, n, k); break;
        }
    }
    if (quadrature == ILLUME_RIEMANN_TRAPEZOID) {
        weights[0] /= 2.0;
        weights[n - 1] /= 2.0;
    }
}
