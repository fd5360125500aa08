// tolerance() and its sigmoids, following the DeepMind Control Suite's
// definitions (rewards.py) as listed in TASKS.md.
#include "env/rewards.h"

#include <cmath>

#include "core/error.h"

namespace latco {

double sigmoid_value(double d, double v, Sigmoid kind) {
  switch (kind) {
    case Sigmoid::Gaussian: {
      LATCO_CHECK(v > 0 && v < 1) << "gaussian tolerance needs 0 < value_at_margin < 1, got " << v;
      double s = std::sqrt(-2 * std::log(v));
      return std::exp(-0.5 * (d * s) * (d * s));
    }
    case Sigmoid::Linear: {
      LATCO_CHECK(v >= 0 && v < 1) << "linear tolerance needs 0 <= value_at_margin < 1, got " << v;
      double ds = d * (1 - v);
      return std::fabs(ds) < 1 ? 1 - ds : 0.0;
    }
    case Sigmoid::LongTail: {
      LATCO_CHECK(v > 0 && v < 1) << "long_tail tolerance needs 0 < value_at_margin < 1, got " << v;
      double s = std::sqrt(1 / v - 1);
      return 1 / ((d * s) * (d * s) + 1);
    }
    case Sigmoid::Quadratic: {
      LATCO_CHECK(v >= 0 && v < 1) << "quadratic tolerance needs 0 <= value_at_margin < 1, got " << v;
      double ds = d * std::sqrt(1 - v);
      return std::fabs(ds) < 1 ? 1 - ds * ds : 0.0;
    }
    case Sigmoid::Hyperbolic: {
      LATCO_CHECK(v > 0 && v < 1) << "hyperbolic tolerance needs 0 < value_at_margin < 1, got " << v;
      double s = std::acosh(1 / v);
      return 1 / std::cosh(d * s);
    }
    case Sigmoid::Reciprocal: {
      LATCO_CHECK(v > 0 && v < 1) << "reciprocal tolerance needs 0 < value_at_margin < 1, got " << v;
      double s = 1 / v - 1;
      return 1 / (std::fabs(d) * s + 1);
    }
    case Sigmoid::Cosine: {
      LATCO_CHECK(v >= 0 && v < 1) << "cosine tolerance needs 0 <= value_at_margin < 1, got " << v;
      double ds = d * std::acos(2 * v - 1) / M_PI;
      return std::fabs(ds) < 1 ? (1 + std::cos(M_PI * ds)) / 2 : 0.0;
    }
    case Sigmoid::TanhSquared: {
      LATCO_CHECK(v > 0 && v < 1) << "tanh_squared tolerance needs 0 < value_at_margin < 1, got " << v;
      double s = std::atanh(std::sqrt(1 - v));
      double t = std::tanh(d * s);
      return 1 - t * t;
    }
  }
  LATCO_FAIL("unknown sigmoid");
}

double tolerance(double x, double lo, double hi, double margin, Sigmoid kind, double value_at_margin) {
  LATCO_CHECK(lo <= hi) << "tolerance: lower bound " << lo << " > upper bound " << hi;
  LATCO_CHECK(margin >= 0) << "tolerance: margin " << margin << " < 0";
  bool inside = lo <= x && x <= hi;
  if (margin == 0) return inside ? 1.0 : 0.0;
  if (inside) return 1.0;
  double d = (x < lo ? lo - x : x - hi) / margin;
  return sigmoid_value(d, value_at_margin, kind);
}

}  // namespace latco
