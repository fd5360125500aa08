// dm_control's tolerance(): 1 inside [lo, hi]; outside, a sigmoid of the
// distance to the nearest bound in units of `margin`, equal to value_at_margin
// at distance 1. Not here: vectorised inputs (call it per element).
#pragma once

namespace latco {

enum class Sigmoid { Gaussian, Linear, LongTail, Quadratic, Hyperbolic, Reciprocal, Cosine, TanhSquared };

// The sigmoid alone: f(d) with f(0) = 1 and f(1) = value_at_margin, d >= 0.
double sigmoid_value(double d, double value_at_margin, Sigmoid kind);

// margin 0: 1 inside the bounds, 0 outside. value_at_margin in (0, 1) for the
// sigmoids that need it (Linear, Quadratic and Cosine also accept 0).
double tolerance(double x, double lo, double hi, double margin = 0, Sigmoid kind = Sigmoid::Gaussian,
                 double value_at_margin = 0.1);

}  // namespace latco
