// Plain Jacobians of the prior step and the reward head (see rssm_jacobians_ref.h). Every
// derivative is carried as a matrix over the inputs v = [z, a] (Z + A columns): dX[i][j] = dX_i / dv_j.
#include "model/rssm_jacobians_ref.h"

#include <cmath>

namespace latco {
namespace {

using Mat = std::vector<std::vector<double>>;  // rows x (Z + A)

double elu(double x) { return x > 0 ? x : std::expm1(x); }
double elu_grad(double x) { return x > 0 ? 1.0 : std::exp(x); }
double sigmoid(double x) { return 1.0 / (1.0 + std::exp(-x)); }
double softplus(double x) { return x > 0 ? x + std::log1p(std::exp(-x)) : std::log1p(std::exp(x)); }

// pre = x W + b for one sample.  x: (in), W: (in, out) row-major.
std::vector<double> affine(const std::vector<double>& x, const Tensor& W, const Tensor& b, int out) {
  std::vector<double> y(out);
  for (int j = 0; j < out; ++j) {
    double acc = b[j];
    for (size_t k = 0; k < x.size(); ++k) acc += x[k] * W[int64_t(k) * out + j];
    y[j] = acc;
  }
  return y;
}

// d(x W)/dv = W^T dx: row j of the result is sum_k W[k][j] * dx[k].
Mat affine_grad(const Mat& dx, const Tensor& W, int out) {
  const size_t n = dx.empty() ? 0 : dx[0].size();
  Mat dy(out, std::vector<double>(n, 0.0));
  for (int j = 0; j < out; ++j)
    for (size_t k = 0; k < dx.size(); ++k) {
      const double wkj = W[int64_t(k) * out + j];
      for (size_t c = 0; c < n; ++c) dy[j][c] += wkj * dx[k][c];
    }
  return dy;
}

}  // namespace

RssmStepJacobians rssm_step_jacobians_ref(const TransitionWeights& w, const std::vector<double>& z,
                                          const std::vector<double>& a) {
  const int S = w.sz.stoch, D = w.sz.deter, Hd = w.sz.hidden, A = int(a.size()), Z = S + D, V = Z + A;
  // Inputs and their derivatives d/dv of themselves: s = v[0:S], h = v[S:Z], a = v[Z:Z+A].
  std::vector<double> sa(z.begin(), z.begin() + S), h(z.begin() + S, z.end());
  sa.insert(sa.end(), a.begin(), a.end());
  Mat dsa(S + A, std::vector<double>(V, 0.0)), dh(D, std::vector<double>(V, 0.0));
  for (int k = 0; k < S; ++k) dsa[k][k] = 1;
  for (int k = 0; k < A; ++k) dsa[S + k][Z + k] = 1;
  for (int d = 0; d < D; ++d) dh[d][S + d] = 1;

  // x = ELU([s, a] W_in + b_in)
  std::vector<double> px = affine(sa, w.W_in, w.b_in, Hd), x(Hd);
  Mat dx = affine_grad(dsa, w.W_in, Hd);
  for (int j = 0; j < Hd; ++j) {
    x[j] = elu(px[j]);
    for (double& v : dx[j]) v *= elu_grad(px[j]);
  }

  // GRU: h' = (1 - u) n + u h, gates [r, u, n] from g_x = x W_x + b_x and g_h = h W_h + b_h
  std::vector<double> hn(D);
  Mat dhn(D, std::vector<double>(V, 0.0));
  if (D > 0) {
    std::vector<double> gx = affine(x, w.W_x, w.b_x, 3 * D), gh = affine(h, w.W_h, w.b_h, 3 * D);
    Mat dgx = affine_grad(dx, w.W_x, 3 * D), dgh = affine_grad(dh, w.W_h, 3 * D);
    for (int d = 0; d < D; ++d) {
      const int ir = d, iu = D + d, in = 2 * D + d;
      const double r = sigmoid(gx[ir] + gh[ir]);               // reset gate
      const double u = sigmoid(gx[iu] + gh[iu]);               // update gate
      const double n = std::tanh(gx[in] + r * gh[in]);         // candidate
      hn[d] = (1 - u) * n + u * h[d];
      for (int c = 0; c < V; ++c) {
        const double dr = r * (1 - r) * (dgx[ir][c] + dgh[ir][c]);
        const double du = u * (1 - u) * (dgx[iu][c] + dgh[iu][c]);
        const double dn = (1 - n * n) * (dgx[in][c] + dr * gh[in] + r * dgh[in][c]);
        dhn[d][c] = -du * n + (1 - u) * dn + du * h[d] + u * dh[d][c];
      }
    }
  }

  // y = ELU(h' W_p + b_p)   (without the deterministic path, the SSM: y = sigmoid(x W_p + b_p))
  const std::vector<double>& yin = D > 0 ? hn : x;
  const Mat& dyin = D > 0 ? dhn : dx;
  std::vector<double> py = affine(yin, w.W_p, w.b_p, Hd), y(Hd);
  Mat dy = affine_grad(dyin, w.W_p, Hd);
  for (int j = 0; j < Hd; ++j) {
    y[j] = D > 0 ? elu(py[j]) : sigmoid(py[j]);
    const double g = D > 0 ? elu_grad(py[j]) : y[j] * (1 - y[j]);
    for (double& v : dy[j]) v *= g;
  }

  // m = y W_m + b_m;  sd = softplus(y W_s + b_s) + min_std, whose derivative is sigmoid(.)
  std::vector<double> m = affine(y, w.W_m, w.b_m, S), ps = affine(y, w.W_s, w.b_s, S);
  Mat dm = affine_grad(dy, w.W_m, S), dps = affine_grad(dy, w.W_s, S);

  // mu = [m, h'], sd = [sd_s, 0]: split the columns into z (Z) and a (A).
  RssmStepJacobians J;
  J.mu.assign(Z, 0.0);
  J.sd.assign(Z, 0.0);
  J.dmu_dz.assign(size_t(Z) * Z, 0.0);
  J.dmu_da.assign(size_t(Z) * A, 0.0);
  J.dsd_dz.assign(size_t(Z) * Z, 0.0);
  J.dsd_da.assign(size_t(Z) * A, 0.0);
  auto put = [&](std::vector<double>& dz, std::vector<double>& da, int row, const std::vector<double>& g, double s) {
    for (int c = 0; c < Z; ++c) dz[size_t(row) * Z + c] = s * g[c];
    for (int c = 0; c < A; ++c) da[size_t(row) * A + c] = s * g[Z + c];
  };
  for (int k = 0; k < S; ++k) {
    J.mu[k] = m[k];
    J.sd[k] = softplus(ps[k]) + w.sz.min_std;
    put(J.dmu_dz, J.dmu_da, k, dm[k], 1.0);
    put(J.dsd_dz, J.dsd_da, k, dps[k], sigmoid(ps[k]));
  }
  for (int d = 0; d < D; ++d) {
    J.mu[S + d] = hn[d];
    put(J.dmu_dz, J.dmu_da, S + d, dhn[d], 1.0);
  }
  return J;
}

double rssm_reward_gradient_ref(const TransitionWeights& w, const std::vector<double>& z, std::vector<double>* dr_dz) {
  // r(z) = ELU(ELU(z R1 + c1) R2 + c2) R3 + c3, differentiated backwards (one output).
  const int Hr = w.sz.reward_hidden, Z = int(z.size());
  std::vector<double> p1 = affine(z, w.R1, w.c1, Hr), h1(Hr);
  for (int j = 0; j < Hr; ++j) h1[j] = elu(p1[j]);
  std::vector<double> p2 = affine(h1, w.R2, w.c2, Hr), h2(Hr);
  for (int j = 0; j < Hr; ++j) h2[j] = elu(p2[j]);
  const double r = affine(h2, w.R3, w.c3, 1)[0];
  std::vector<double> g2(Hr), g1(Hr, 0.0);
  for (int j = 0; j < Hr; ++j) g2[j] = w.R3[j] * elu_grad(p2[j]);                 // dr/dp2
  for (int k = 0; k < Hr; ++k) {
    for (int j = 0; j < Hr; ++j) g1[k] += w.R2[int64_t(k) * Hr + j] * g2[j];
    g1[k] *= elu_grad(p1[k]);                                                      // dr/dp1
  }
  dr_dz->assign(Z, 0.0);
  for (int i = 0; i < Z; ++i)
    for (int k = 0; k < Hr; ++k) (*dr_dz)[i] += w.R1[int64_t(i) * Hr + k] * g1[k];  // dr/dz = R1 dr/dp1
  return r;
}

}  // namespace latco
