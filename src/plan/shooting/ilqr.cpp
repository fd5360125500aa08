// iLQR: backward pass (pure function) and the planner's iteration
// (derivatives, backward pass with regulariser schedule, line-searched forward pass).
#include "plan/shooting/ilqr.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "core/rng.h"
#include "core/timer.h"
#include "linalg/dense.h"

namespace latco {

void BackwardWorkspace::resize(int Z, int A) {
  Vx.assign(Z, 0);
  Vxx.assign(Z * Z, 0);
  Qx.assign(Z, 0);
  Qu.assign(A, 0);
  Qxx.assign(Z * Z, 0);
  Quu.assign(A * A, 0);
  Qux.assign(A * Z, 0);
  VF.assign(Z * Z, 0);
  VG.assign(Z * A, 0);
  L.assign(A * A, 0);
  FT.assign(Z * Z, 0);
  GT.assign(A * Z, 0);
  QuuK.assign(A * Z, 0);
}

namespace {

// Gains and value update at step t, shared by both versions once Qx, Qu, Qxx, Quu (with mu), Qux
// are in the workspace. Returns false when Q_uu is not positive definite.
bool gains_and_value(int Z, int A, BackwardWorkspace& w, double* kt, double* Kt, double dV[2]) {
  // k = -Q_uu^{-1} Q_u,  K = -Q_uu^{-1} Q_ux   (Cholesky; fails when Q_uu is not positive definite)
  std::copy(w.Quu.begin(), w.Quu.end(), w.L.begin());
  if (!cholesky_ref(A, w.L.data(), A)) return false;
  for (int i = 0; i < A; ++i) kt[i] = -w.Qu[i];
  cholesky_solve_ref(A, w.L.data(), A, kt);
  double b[64];
  for (int j = 0; j < Z; ++j) {
    for (int i = 0; i < A; ++i) b[i] = -w.Qux[i * Z + j];
    cholesky_solve_ref(A, w.L.data(), A, b);
    for (int i = 0; i < A; ++i) Kt[i * Z + j] = b[i];
  }
  // Expected change and the value function at t:
  //   dV += [k^T Q_u, 1/2 k^T Q_uu k]
  //   V_x  = Q_x + K^T Q_uu k + K^T Q_u + Q_ux^T k
  //   V_xx = Q_xx + K^T Q_uu K + K^T Q_ux + Q_ux^T K
  // (kept in full rather than simplified with K = -Q_uu^{-1} Q_ux, so they hold for mu > 0 too).
  double kQuk = 0, Quuk[64];
  for (int i = 0; i < A; ++i) {
    dV[0] += kt[i] * w.Qu[i];
    Quuk[i] = 0;
    for (int j = 0; j < A; ++j) Quuk[i] += w.Quu[i * A + j] * kt[j];
    kQuk += kt[i] * Quuk[i];
  }
  dV[1] += 0.5 * kQuk;
  for (int x = 0; x < Z; ++x) {
    double v = w.Qx[x];
    for (int i = 0; i < A; ++i) v += Kt[i * Z + x] * (Quuk[i] + w.Qu[i]) + w.Qux[i * Z + x] * kt[i];
    w.Vx[x] = v;
  }
  double* QuuK = w.QuuK.data();  // (A, Z)
  for (int i = 0; i < A; ++i)
    for (int y = 0; y < Z; ++y) {
      double s = 0;
      for (int j = 0; j < A; ++j) s += w.Quu[i * A + j] * Kt[j * Z + y];
      QuuK[i * Z + y] = s;
    }
  for (int x = 0; x < Z; ++x)
    for (int y = x; y < Z; ++y) {
      double v = w.Qxx[x * Z + y];
      for (int i = 0; i < A; ++i)
        v += Kt[i * Z + x] * (QuuK[i * Z + y] + w.Qux[i * Z + y]) + w.Qux[i * Z + x] * Kt[i * Z + y];
      w.Vxx[x * Z + y] = w.Vxx[y * Z + x] = v;  // symmetric by construction
    }
  return true;
}

}  // namespace

int ilqr_backward_pass(const LqrExpansion& e, double mu, BackwardWorkspace* ws, double* k, double* K, double dV[2]) {
  const int H = e.H, Z = e.Z, A = e.A;
  LATCO_CHECK(A <= 64) << "ilqr: action size " << A << " above 64 not supported";
  auto& w = *ws;
  dV[0] = dV[1] = 0;
  for (int i = 0; i < Z; ++i) w.Vx[i] = e.lz[H * Z + i];
  for (int i = 0; i < Z * Z; ++i) w.Vxx[i] = e.lzz[static_cast<size_t>(H) * Z * Z + i];
  for (int t = H - 1; t >= 0; --t) {
    const float* F = e.fz + static_cast<size_t>(t) * Z * Z;  // (Z, Z)
    const float* G = e.fa + static_cast<size_t>(t) * Z * A;  // (Z, A)
    for (int i = 0; i < Z; ++i) {
      for (int j = 0; j < Z; ++j) w.FT[j * Z + i] = F[i * Z + j];
      for (int j = 0; j < A; ++j) w.GT[j * Z + i] = G[i * A + j];
    }
    // VF^T = F^T Vxx^T = (Vxx F)^T (Vxx symmetric);  VG^T = G^T Vxx  (stored (A, Z) in VG)
    std::fill(w.VF.begin(), w.VF.end(), 0.0);
    std::fill(w.VG.begin(), w.VG.end(), 0.0);
    dgemm_nt(Z, Z, Z, 1.0, w.FT.data(), Z, w.Vxx.data(), Z, w.VF.data(), Z);
    dgemm_nt(A, Z, Z, 1.0, w.GT.data(), Z, w.Vxx.data(), Z, w.VG.data(), Z);
    // Q_x = l_z + F^T V_x,  Q_u = l_a + G^T V_x
    for (int j = 0; j < Z; ++j) w.Qx[j] = e.lz[t * Z + j];
    for (int j = 0; j < A; ++j) w.Qu[j] = e.la[t * A + j];
    for (int m = 0; m < Z; ++m) {
      const double v = w.Vx[m];
      for (int j = 0; j < Z; ++j) w.Qx[j] += F[m * Z + j] * v;
      for (int j = 0; j < A; ++j) w.Qu[j] += G[m * A + j] * v;
    }
    // Q_xx = l_zz + F^T (VF^T)^T,  Q_ux = G^T (VF^T)^T,  Q_uu = l_aa + G^T (VG^T)^T + mu I
    std::copy(e.lzz + static_cast<size_t>(t) * Z * Z, e.lzz + static_cast<size_t>(t + 1) * Z * Z, w.Qxx.begin());
    std::copy(e.laa + static_cast<size_t>(t) * A * A, e.laa + static_cast<size_t>(t + 1) * A * A, w.Quu.begin());
    std::fill(w.Qux.begin(), w.Qux.end(), 0.0);
    dgemm_nt(Z, Z, Z, 1.0, w.FT.data(), Z, w.VF.data(), Z, w.Qxx.data(), Z);
    dgemm_nt(A, Z, Z, 1.0, w.GT.data(), Z, w.VF.data(), Z, w.Qux.data(), Z);
    dgemm_nt(A, A, Z, 1.0, w.GT.data(), Z, w.VG.data(), Z, w.Quu.data(), A);
    for (int i = 0; i < A; ++i) w.Quu[i * A + i] += mu;
    if (!gains_and_value(Z, A, w, k + t * A, K + static_cast<size_t>(t) * A * Z, dV)) return t;
  }
  return -1;
}

int ilqr_backward_pass_ref(const LqrExpansion& e, double mu, BackwardWorkspace* ws, double* k, double* K,
                           double dV[2]) {
  const int H = e.H, Z = e.Z, A = e.A;
  LATCO_CHECK(A <= 64) << "ilqr: action size " << A << " above 64 not supported";
  auto& w = *ws;
  dV[0] = dV[1] = 0;
  // V at the final state: V_x = l_z(H), V_xx = l_zz(H).
  for (int i = 0; i < Z; ++i) w.Vx[i] = e.lz[H * Z + i];
  for (int i = 0; i < Z * Z; ++i) w.Vxx[i] = e.lzz[static_cast<size_t>(H) * Z * Z + i];

  for (int t = H - 1; t >= 0; --t) {
    const float* F = e.fz + static_cast<size_t>(t) * Z * Z;  // (Z, Z)
    const float* G = e.fa + static_cast<size_t>(t) * Z * A;  // (Z, A)
    const double* lzz = e.lzz + static_cast<size_t>(t) * Z * Z;
    const double* laa = e.laa + static_cast<size_t>(t) * A * A;
    // VF = Vxx F (Z,Z),  VG = Vxx G (Z,A)
    std::fill(w.VF.begin(), w.VF.end(), 0.0);
    std::fill(w.VG.begin(), w.VG.end(), 0.0);
    for (int i = 0; i < Z; ++i)
      for (int m = 0; m < Z; ++m) {
        const double v = w.Vxx[i * Z + m];
        if (v == 0) continue;
        for (int j = 0; j < Z; ++j) w.VF[i * Z + j] += v * F[m * Z + j];
        for (int j = 0; j < A; ++j) w.VG[i * A + j] += v * G[m * A + j];
      }
    // Q_x = l_z + F^T V_x,  Q_u = l_a + G^T V_x
    for (int j = 0; j < Z; ++j) w.Qx[j] = e.lz[t * Z + j];
    for (int j = 0; j < A; ++j) w.Qu[j] = e.la[t * A + j];
    for (int m = 0; m < Z; ++m) {
      const double v = w.Vx[m];
      for (int j = 0; j < Z; ++j) w.Qx[j] += F[m * Z + j] * v;
      for (int j = 0; j < A; ++j) w.Qu[j] += G[m * A + j] * v;
    }
    // Q_xx = l_zz + F^T VF,  Q_uu = l_aa + G^T VG + mu I,  Q_ux = G^T VF
    for (int i = 0; i < Z * Z; ++i) w.Qxx[i] = lzz[i];
    for (int i = 0; i < A * A; ++i) w.Quu[i] = laa[i];
    std::fill(w.Qux.begin(), w.Qux.end(), 0.0);
    for (int m = 0; m < Z; ++m) {
      const float* Fm = F + m * Z;
      const float* Gm = G + m * A;
      for (int i = 0; i < Z; ++i) {
        const double f = Fm[i];
        if (f == 0) continue;
        for (int j = 0; j < Z; ++j) w.Qxx[i * Z + j] += f * w.VF[m * Z + j];
      }
      for (int i = 0; i < A; ++i) {
        const double g = Gm[i];
        for (int j = 0; j < A; ++j) w.Quu[i * A + j] += g * w.VG[m * A + j];
        for (int j = 0; j < Z; ++j) w.Qux[i * Z + j] += g * w.VF[m * Z + j];
      }
    }
    for (int i = 0; i < A; ++i) w.Quu[i * A + i] += mu;
    if (!gains_and_value(Z, A, w, k + t * A, K + static_cast<size_t>(t) * A * Z, dV)) return t;
  }
  return -1;
}

void IlqrSettings::apply_preset(const std::string& name) {
  if (name == "released") {
    *this = IlqrSettings{};
  } else if (name == "ours") {
    iterations = 50, mu_init = 1e-6, init_std = 1.0f;
    cost = "softplus2", schedule = "ours", actions = "clip";
  } else {
    LATCO_FAIL("ilqr_preset: unknown preset '" << name << "' (released, ours)");
  }
  preset = name;
}

void IlqrSettings::load(const Config& cfg) {
  apply_preset(cfg.get_string("ilqr_preset", "released"));
  cfg.apply(*this);
  auto where = [&](const char* key) { return cfg.has(key) ? cfg.where(key) : std::string(key); };
  auto pick = [&](const std::string& v, const char* key, const char* a, const char* b) {
    if (v == a) return true;
    if (v == b) return false;
    LATCO_FAIL(where(key) << ": expected '" << a << "' or '" << b << "', got '" << v << "'");
  };
  reward_cost = pick(cost, "ilqr_cost", "reward", "softplus2");
  released_schedule = pick(schedule, "ilqr_schedule", "released", "ours");
  penalty = pick(actions, "ilqr_actions", "penalty", "clip");
}

Ilqr::Ilqr(const LatentModel& model, int horizon, const IlqrSettings& s)
    : m_(model), H_(horizon), Z_(model.latent_dim()), A_(model.action_dim()), C_(state_residual_dim(model)), s_(s) {
  LATCO_CHECK(A_ <= 64) << "ilqr: action size " << A_ << " above 64 not supported";
  nom_.resize(H_, Z_, A_);
  trial_.resize(H_, Z_, A_);
  c_.resize(H_ * C_);
  dc_.resize(static_cast<size_t>(H_) * C_ * Z_);
  r_s_.resize(H_);
  dr_s_.resize(H_ * Z_);
  lz_.resize(static_cast<size_t>(H_ + 1) * Z_);
  lzz_.resize(static_cast<size_t>(H_ + 1) * Z_ * Z_);
  la_.resize(H_ * A_);
  laa_.resize(static_cast<size_t>(H_) * A_ * A_);
  k_.resize(H_ * A_);
  K_.resize(static_cast<size_t>(H_) * A_ * Z_);
  pen_.resize(H_ * A_);
  if (s_.reward_cost) {
    const size_t n = static_cast<size_t>(H_) * Z_;
    hz_.resize(n * Z_), hg_p_.resize(n * Z_), hg_m_.resize(n * Z_), hr_.resize(n);
  }
  ws_.resize(Z_, A_);
  res_.actions = Tensor({H_, A_});
  res_.latents = Tensor({H_ + 1, Z_});
  res_.iters.reserve(s_.iterations);
}

double Ilqr::trajectory_cost(const Linearization& lin) {
  double cost = 0;
  if (s_.reward_cost) {
    m_.reward(H_, lin.z.data() + Z_, r_s_.data());
    for (int t = 0; t < H_; ++t) cost -= r_s_[t];
  } else {
    state_residuals(m_, H_, lin.z.data() + Z_, c_.data(), nullptr, r_s_.data(), dr_s_.data());
    for (int i = 0; i < H_ * C_; ++i) cost += double(c_[i]) * c_[i];
  }
  const double w = m_.action_cost();
  for (int i = 0; i < H_ * A_; ++i) cost += w * double(lin.a[i]) * lin.a[i];
  return cost;
}

double Ilqr::forward_pass(const float* z0, double alpha) {
  const float am = m_.action_max();
  std::copy(z0, z0 + Z_, trial_.z.begin());
  for (int t = 0; t < H_; ++t) {
    const float* zn = nom_.z.data() + t * Z_;
    const float* zt = trial_.z.data() + t * Z_;
    const double* Kt = K_.data() + static_cast<size_t>(t) * A_ * Z_;
    for (int i = 0; i < A_; ++i) {
      double a = nom_.a[t * A_ + i] + alpha * k_[t * A_ + i];
      for (int j = 0; j < Z_; ++j) a += Kt[i * Z_ + j] * (double(zt[j]) - zn[j]);
      trial_.a[t * A_ + i] = s_.penalty ? static_cast<float>(a) : std::clamp(static_cast<float>(a), -am, am);
    }
    m_.predict(1, zt, trial_.a.data() + t * A_, trial_.z.data() + (t + 1) * Z_);
  }
  return trajectory_cost(trial_);
}

// Rows (t, j) of hz_ are z_{t+1} +- h e_j; l_zz = -(g(+) - g(-)) / 2h, symmetrised.
void Ilqr::reward_hessian() {
  const int Z = Z_, n = H_ * Z_;
  for (int sign = 0; sign < 2; ++sign) {
    for (int t = 0; t < H_; ++t)
      for (int j = 0; j < Z; ++j) {
        float* row = hz_.data() + (static_cast<size_t>(t) * Z + j) * Z;
        std::copy(nom_.z.data() + (t + 1) * Z, nom_.z.data() + (t + 2) * Z, row);
        const float h = 1e-3f * std::max(1.0f, std::fabs(row[j]));
        row[j] += sign == 0 ? h : -h;
      }
    m_.reward_gradient(n, hz_.data(), hr_.data(), (sign == 0 ? hg_p_ : hg_m_).data());
  }
  for (int t = 1; t <= H_; ++t) {
    double* lzz = lzz_.data() + static_cast<size_t>(t) * Z * Z;
    for (int j = 0; j < Z; ++j) {
      const float zj = nom_.z[t * Z + j];
      const double h2 = 2.0 * (double(zj + 1e-3f * std::max(1.0f, std::fabs(zj))) - zj);
      const size_t r = (static_cast<size_t>(t - 1) * Z + j) * Z;
      for (int i = 0; i < Z; ++i) lzz[i * Z + j] = -(double(hg_p_[r + i]) - hg_m_[r + i]) / h2;
    }
    for (int i = 0; i < Z; ++i)
      for (int j = 0; j < i; ++j) lzz[i * Z + j] = lzz[j * Z + i] = 0.5 * (lzz[i * Z + j] + lzz[j * Z + i]);
  }
}

const PlanResult& Ilqr::plan(const float* z0, uint64_t seed) {
  Timer total;
  const int HA = H_ * A_;
  const float am = m_.action_max();
  const double w = m_.action_cost();
  res_.iters.clear();
  res_.timing = {};
  Rng rng = Rng(seed).derive(0);
  for (int i = 0; i < HA; ++i) nom_.a[i] = s_.init_std > 0 ? s_.init_std * rng.normal() : 0.0f;
  if (!s_.penalty) clip_actions(HA, am, nom_.a.data());
  std::fill(pen_.begin(), pen_.end(), 1.0);
  Timer tr;
  rollout_forward(m_, z0, nom_.a.data(), &nom_);
  double cost = trajectory_cost(nom_);
  res_.timing.rollouts += tr.seconds();
  double mu = s_.mu_init;
  double alpha_kept = 1.0;  // released schedule: the step size carried across iterations

  for (int it = 0; it < s_.iterations && mu <= s_.mu_max; ++it) {
    // ----- model derivatives and the Gauss-Newton cost expansion -----
    // l(z) = |c(z)|^2:  l_z = 2 dc^T c,  l_zz = 2 dc^T dc;   l(a) = w |a|^2:  l_a = 2 w a,  l_aa = 2 w I.
    // Released: l(z) = -r(z): l_z = -dr, l_zz = -d^2 r (central differences of dr).
    Timer td;
    m_.predict_jacobians(H_, nom_.z.data(), nom_.a.data(), nullptr, nom_.fz.data(), nom_.fa.data());
    std::fill(lz_.begin(), lz_.begin() + Z_, 0.0);  // z_0 is given: no cost
    std::fill(lzz_.begin(), lzz_.begin() + Z_ * Z_, 0.0);
    if (s_.reward_cost) {
      m_.reward_gradient(H_, nom_.z.data() + Z_, r_s_.data(), dr_s_.data());
      for (int i = 0; i < H_ * Z_; ++i) lz_[Z_ + i] = -double(dr_s_[i]);
      reward_hessian();
    } else {
      state_residuals(m_, H_, nom_.z.data() + Z_, c_.data(), dc_.data(), r_s_.data(), dr_s_.data());
    }
    for (int t = 1; t <= H_ && !s_.reward_cost; ++t) {
      const float* c = c_.data() + (t - 1) * C_;
      const float* dc = dc_.data() + static_cast<size_t>(t - 1) * C_ * Z_;  // (C, Z)
      double* lz = lz_.data() + t * Z_;
      double* lzz = lzz_.data() + static_cast<size_t>(t) * Z_ * Z_;
      std::fill(lz, lz + Z_, 0.0);
      std::fill(lzz, lzz + Z_ * Z_, 0.0);
      for (int q = 0; q < C_; ++q) {
        const float* row = dc + q * Z_;
        for (int i = 0; i < Z_; ++i) {
          lz[i] += 2.0 * row[i] * c[q];
          if (row[i] == 0) continue;
          for (int j = 0; j < Z_; ++j) lzz[i * Z_ + j] += 2.0 * row[i] * row[j];
        }
      }
    }
    std::fill(laa_.begin(), laa_.end(), 0.0);
    for (int t = 0; t < H_; ++t)
      for (int i = 0; i < A_; ++i) {
        const double a = nom_.a[t * A_ + i];
        la_[t * A_ + i] = 2.0 * w * a;
        laa_[(static_cast<size_t>(t) * A_ + i) * A_ + i] = 2.0 * w;
        if (s_.penalty && a * a > double(am) * am) {  // lambda max(0, a^2 - a_max^2)
          la_[t * A_ + i] += 2.0 * pen_[t * A_ + i] * a;
          laa_[(static_cast<size_t>(t) * A_ + i) * A_ + i] += 2.0 * pen_[t * A_ + i];
        }
      }
    res_.timing.derivatives += td.seconds();

    // ----- backward pass, raising mu until Q_uu is positive definite -----
    Timer ts;
    LqrExpansion e{H_, Z_, A_, nom_.fz.data(), nom_.fa.data(), lz_.data(), lzz_.data(), la_.data(), laa_.data()};
    double dV[2];
    while (ilqr_backward_pass(e, mu, &ws_, k_.data(), K_.data(), dV) >= 0 && mu <= s_.mu_max)
      mu = std::max({s_.mu_min, mu * s_.mu_factor, 1e-12});
    res_.timing.solve += ts.seconds();
    if (mu > s_.mu_max) break;

    // ----- forward pass: line search over alpha, accept on actual improvement -----
    Timer tf;
    bool accepted = false;
    double alpha = s_.released_schedule ? alpha_kept : 1.0;
    for (int ls = 0; ls < s_.line_search; ++ls, alpha *= 0.5) {
      const double trial_cost = forward_pass(z0, alpha);
      // Released: accept unless the cost rose (cost <= old).
      if (std::isfinite(trial_cost) && (trial_cost < cost || (s_.released_schedule && trial_cost == cost))) {
        cost = trial_cost;
        std::swap(nom_.z, trial_.z);
        std::swap(nom_.a, trial_.a);
        accepted = true;
        break;
      }
    }
    res_.timing.rollouts += tf.seconds();
    if (s_.released_schedule) {
      // mu is only ever doubled (on Q_uu failures, above); alpha grows x1.5 after success, up to 1.
      alpha_kept = accepted ? std::min(1.0, alpha * 1.5) : alpha;
    } else {
      // Tassa's schedule, simplified: lower mu after success, raise it after a failed line search.
      mu = accepted ? std::max(s_.mu_min, mu / s_.mu_factor) : std::max({s_.mu_min, mu * s_.mu_factor, 1e-12});
    }
    if (s_.penalty) {  // released: lambda += lam_lr * sum_t,i max(0, a^2 - 1), the same for every (t, i)
      const double v = action_violation_released(HA, am, nom_.a.data());
      for (auto& l : pen_) l += s_.act_lr * v;
    }

    IterStats st;
    st.iter = it;
    rollout_forward(m_, z0, nom_.a.data(), &nom_);  // rewards of the current plan (cheap: H steps)
    for (int t = 1; t <= H_; ++t) st.reward += nom_.r[t];
    st.damping = mu;
    st.act_violation = action_violation(HA, am, nom_.a.data());
    st.seconds = total.seconds();
    res_.iters.push_back(st);
  }

  clip_actions(HA, am, nom_.a.data());  // the result is clipped (the released agent's environment clips)
  std::copy(nom_.a.begin(), nom_.a.end(), res_.actions.data());
  Timer tr2;
  res_.predicted_return = rollout_forward(m_, z0, nom_.a.data(), &nom_);
  res_.timing.rollouts += tr2.seconds();
  std::copy(nom_.z.begin(), nom_.z.end(), res_.latents.data());
  res_.timing.total = total.seconds();
  res_.timing.other = res_.timing.total - res_.timing.rollouts - res_.timing.derivatives - res_.timing.solve;
  return res_;
}

std::unique_ptr<Planner> new_ilqr(const LatentModel& m, int H, const Config& c) {
  IlqrSettings s;
  s.load(c);
  return std::make_unique<Ilqr>(m, H, s);
}

}  // namespace latco
