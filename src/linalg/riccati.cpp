// Riccati recursion for the finite-horizon LQR problem of riccati.h, in double
// with plain loops (Z and A are small in every use).
#include "linalg/riccati.h"

#include "core/error.h"
#include "linalg/dense.h"

namespace latco {

LqrSolution lqr_riccati(int Z, int A, int H, const float* F, const float* G, const float* L, double w,
                        const float* z0) {
  LATCO_CHECK(Z > 0 && A > 0 && H > 0) << "lqr_riccati: sizes must be positive";
  std::vector<double> Q(Z * Z, 0.0), S(Z * Z), P(Z * Z), GS(A * Z), R(A * A), SF(Z * Z);
  for (int i = 0; i < Z; ++i)  // Q = L^T L
    for (int j = 0; j < Z; ++j)
      for (int k = 0; k < Z; ++k) Q[i * Z + j] += double(L[k * Z + i]) * L[k * Z + j];
  LqrSolution sol;
  sol.gains.assign(size_t(H) * A * Z, 0.0);
  S = Q;  // S_H = Q + P_H, P_H = 0
  for (int t = H - 1; t >= 0; --t) {
    // GS = G^T S (A x Z), R = w I + G^T S G (A x A), SF = S F (Z x Z)
    for (int i = 0; i < A; ++i)
      for (int j = 0; j < Z; ++j) {
        double s = 0;
        for (int k = 0; k < Z; ++k) s += double(G[k * A + i]) * S[k * Z + j];
        GS[i * Z + j] = s;
      }
    for (int i = 0; i < A; ++i)
      for (int j = 0; j < A; ++j) {
        double s = (i == j) ? w : 0.0;
        for (int k = 0; k < Z; ++k) s += GS[i * Z + k] * G[k * A + j];
        R[i * A + j] = s;
      }
    for (int i = 0; i < Z; ++i)
      for (int j = 0; j < Z; ++j) {
        double s = 0;
        for (int k = 0; k < Z; ++k) s += S[i * Z + k] * F[k * Z + j];
        SF[i * Z + j] = s;
      }
    LATCO_CHECK(cholesky_ref(A, R.data(), A)) << "lqr_riccati: w I + G^T S G is not positive definite at t=" << t;
    // K_t = R^{-1} G^T S F, column by column of (G^T S F).
    double* K = sol.gains.data() + size_t(t) * A * Z;
    std::vector<double> col(A);
    for (int j = 0; j < Z; ++j) {
      for (int i = 0; i < A; ++i) {
        double s = 0;
        for (int k = 0; k < Z; ++k) s += GS[i * Z + k] * F[k * Z + j];
        col[i] = s;
      }
      cholesky_solve_ref(A, R.data(), A, col.data());
      for (int i = 0; i < A; ++i) K[i * Z + j] = col[i];
    }
    // P_t = F^T S (F - G K_t) = F^T (SF - S G K_t)
    std::vector<double> M(SF);  // SF - (S G) K
    for (int i = 0; i < Z; ++i)
      for (int j = 0; j < Z; ++j) {
        double s = 0;
        for (int a = 0; a < A; ++a) s += GS[a * Z + i] * K[a * Z + j];  // (S G)[i][a] = GS[a][i] (S symmetric)
        M[i * Z + j] -= s;
      }
    for (int i = 0; i < Z; ++i)
      for (int j = 0; j < Z; ++j) {
        double s = 0;
        for (int k = 0; k < Z; ++k) s += double(F[k * Z + i]) * M[k * Z + j];
        P[i * Z + j] = s;
      }
    for (int i = 0; i < Z; ++i)  // symmetrise against round-off, S_t = Q + P_t
      for (int j = 0; j < Z; ++j) S[i * Z + j] = Q[i * Z + j] + 0.5 * (P[i * Z + j] + P[j * Z + i]);
  }
  // P now holds P_0.
  sol.cost = 0;
  for (int i = 0; i < Z; ++i)
    for (int j = 0; j < Z; ++j) sol.cost += double(z0[i]) * 0.5 * (P[i * Z + j] + P[j * Z + i]) * z0[j];
  // Forward pass with the gains.
  sol.actions.assign(size_t(H) * A, 0.0);
  sol.latents.assign(size_t(H + 1) * Z, 0.0);
  for (int i = 0; i < Z; ++i) sol.latents[i] = z0[i];
  for (int t = 0; t < H; ++t) {
    const double* z = sol.latents.data() + size_t(t) * Z;
    double* a = sol.actions.data() + size_t(t) * A;
    const double* K = sol.gains.data() + size_t(t) * A * Z;
    for (int i = 0; i < A; ++i) {
      double s = 0;
      for (int j = 0; j < Z; ++j) s += K[i * Z + j] * z[j];
      a[i] = -s;
    }
    double* zn = sol.latents.data() + size_t(t + 1) * Z;
    for (int i = 0; i < Z; ++i) {
      double s = 0;
      for (int j = 0; j < Z; ++j) s += double(F[i * Z + j]) * z[j];
      for (int j = 0; j < A; ++j) s += double(G[i * A + j]) * a[j];
      zn[i] = s;
    }
  }
  return sol;
}

double lqr_cost(int Z, int A, int H, const float* F, const float* G, const float* L, double w, const float* z0,
                const double* actions) {
  std::vector<double> z(z0, z0 + Z), zn(Z);
  double J = 0;
  for (int t = 0; t < H; ++t) {
    const double* a = actions + size_t(t) * A;
    for (int i = 0; i < A; ++i) J += w * a[i] * a[i];
    for (int i = 0; i < Z; ++i) {
      double s = 0;
      for (int j = 0; j < Z; ++j) s += double(F[i * Z + j]) * z[j];
      for (int j = 0; j < A; ++j) s += double(G[i * A + j]) * a[j];
      zn[i] = s;
    }
    z.swap(zn);
    for (int i = 0; i < Z; ++i) {
      double s = 0;
      for (int j = 0; j < Z; ++j) s += double(L[i * Z + j]) * z[j];
      J += s * s;
    }
  }
  return J;
}

}  // namespace latco
