// Shooting GN: minimise 0.5 |rho(a)|^2 over the actions by
//   a <- a - step * (J^T J + damping I)^{-1} J^T rho,      J = d rho / d a  (HA columns).
#include "plan/shooting/shooting_gn.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "core/rng.h"
#include "core/timer.h"
#include "linalg/dense.h"

namespace latco {

void ShootingGnSettings::load(const Config& cfg) {
  const std::string name = cfg.get_string("gn_preset", "released");
  if (name == "ours") clip = true, act_lr = 0, residuals = "separate";
  else LATCO_CHECK(name == "released") << (cfg.has("gn_preset") ? cfg.where("gn_preset") : std::string("gn_preset"))
                                        << ": unknown preset '" << name << "' (released, ours)";
  cfg.apply(*this);
  if (residuals == "summed") summed = true;
  else if (residuals == "separate") summed = false;
  else LATCO_FAIL(cfg.where("gn_residuals") << ": expected 'summed' or 'separate', got '" << residuals << "'");
  LATCO_CHECK(jacobian == "auto" || jacobian == "forward" || jacobian == "adjoint")
      << cfg.where("gn_jacobian") << ": expected auto, forward or adjoint, got '" << jacobian << "'";
}

ShootingGn::ShootingGn(const LatentModel& model, int horizon, const ShootingGnSettings& s)
    : m_(model), H_(horizon), Z_(model.latent_dim()), A_(model.action_dim()), C_(state_residual_dim(model)), s_(s) {
  const int HA = H_ * A_;
  GnJacobian mode = GnJacobian::Auto;
  if (s_.jacobian == "forward") mode = GnJacobian::Forward;
  else if (s_.jacobian == "adjoint") mode = GnJacobian::Adjoint;
  else LATCO_CHECK(s_.jacobian == "auto") << "gn_jacobian: expected auto, forward or adjoint, got '" << s_.jacobian << "'";
  adjoint_ = mode == GnJacobian::Adjoint || (mode == GnJacobian::Auto && C_ < A_);
  v_.resize(Z_);
  v_next_.resize(Z_);
  lin_.resize(H_, Z_, A_);
  a_.resize(HA);
  nu_.resize(HA);
  c_.resize(H_ * C_);
  dc_.resize(static_cast<size_t>(H_) * C_ * Z_);
  r_s_.resize(H_);
  dr_s_.resize(H_ * Z_);
  S_.resize(static_cast<size_t>(Z_) * HA);
  S_next_.resize(static_cast<size_t>(Z_) * HA);
  Jrow_.resize(static_cast<size_t>(C_) * HA);
  JtJ_.resize(static_cast<size_t>(HA) * HA);
  Jtr_.resize(HA);
  res_.actions = Tensor({H_, A_});
  res_.latents = Tensor({H_ + 1, Z_});
  res_.iters.reserve(s_.iterations);
}

const PlanResult& ShootingGn::plan(const float* z0, uint64_t seed) {
  Timer total;
  const int HA = H_ * A_;
  const float am = m_.action_max(), w = m_.action_cost();
  const double sw = std::sqrt(double(w));
  res_.iters.clear();
  res_.timing = {};
  Rng rng = Rng(seed).derive(0);
  for (int i = 0; i < HA; ++i) a_[i] = s_.init_std * rng.normal();
  if (s_.clip) clip_actions(HA, am, a_.data());
  std::fill(nu_.begin(), nu_.end(), double(s_.act_weight));
  // Released: step t's bound term sum_i sqrt(nu_ti) max(0, |a_ti| - a_m) joins its first residual;
  // adds its value and its a_t block of the row.
  auto bound_term = [&](int t, double* row) {
    double v = 0;
    for (int i = 0; i < A_; ++i) {
      const int k = t * A_ + i;
      const double over = std::max(0.0, std::fabs(double(a_[k])) - am), sn = std::sqrt(nu_[k]);
      v += sn * over;
      if (over > 0) row[k] += sn * (a_[k] > 0 ? 1 : -1);
    }
    return v;
  };

  for (int it = 0; it < s_.iterations; ++it) {
    // ----- rollout -----
    Timer tr;
    rollout_forward(m_, z0, a_.data(), &lin_);
    res_.timing.rollouts += tr.seconds();

    // ----- model derivatives: fz, fa over the H steps; state residuals at z_1..z_H -----
    Timer td;
    m_.predict_jacobians(H_, lin_.z.data(), lin_.a.data(), nullptr, lin_.fz.data(), lin_.fa.data());
    state_residuals(m_, H_, lin_.z.data() + Z_, c_.data(), dc_.data(), r_s_.data(), dr_s_.data());

    // ----- normal equations: J^T J and J^T rho, accumulated one residual row at a time -----
    std::fill(JtJ_.begin(), JtJ_.end(), 0.0);
    std::fill(Jtr_.begin(), Jtr_.end(), 0.0);
    // row: (ncol) d c_q(z_{t+1}) / d a_0..a_t (later actions do not reach z_{t+1}).
    auto accumulate = [&](const double* row, int ncol, double cq) {
      for (int x = 0; x < ncol; ++x) {
        Jtr_[x] += row[x] * cq;
        for (int y = 0; y <= x; ++y) JtJ_[x * HA + y] += row[x] * row[y];
      }
    };
    if (adjoint_) {
      // Backward sweep per row: v = dc_q^T;  row[block s] = fa_s^T v,  v <- fz_s^T v,  s = t .. 0.
      for (int t = 0; t < H_; ++t) {
        const float* dc = dc_.data() + static_cast<size_t>(t) * C_ * Z_;  // (C, Z) at z_{t+1}
        for (int q = 0; q < C_; ++q) {
          double* row = Jrow_.data();
          for (int k = 0; k < Z_; ++k) v_[k] = dc[q * Z_ + k];
          for (int s = t; s >= 0; --s) {
            const float* fz = lin_.fz.data() + static_cast<size_t>(s) * Z_ * Z_;  // (Z, Z)
            const float* fa = lin_.fa.data() + static_cast<size_t>(s) * Z_ * A_;  // (Z, A)
            for (int j = 0; j < A_; ++j) row[s * A_ + j] = 0;
            for (int i = 0; i < Z_; ++i)
              for (int j = 0; j < A_; ++j) row[s * A_ + j] += fa[i * A_ + j] * v_[i];
            if (s == 0) break;
            std::fill(v_next_.begin(), v_next_.end(), 0.0);
            for (int i = 0; i < Z_; ++i) {
              const double vi = v_[i];
              if (vi == 0) continue;
              const float* fr = fz + i * Z_;
              for (int k = 0; k < Z_; ++k) v_next_[k] += fr[k] * vi;
            }
            std::swap(v_, v_next_);
          }
          const double extra = s_.summed && q == 0 ? bound_term(t, row) : 0.0;
          accumulate(row, (t + 1) * A_, c_[t * C_ + q] + extra);
        }
      }
    } else {
      // Forward sensitivities: S_{t+1} = fz_t S_t + [0 .. fa_t (block t) .. 0],  S_0 = 0;
      // d c(z_{t+1})/da = dc S_{t+1}.
      std::fill(S_.begin(), S_.end(), 0.0);
      for (int t = 0; t < H_; ++t) {
        const float* fz = lin_.fz.data() + static_cast<size_t>(t) * Z_ * Z_;  // (Z, Z)
        const float* fa = lin_.fa.data() + static_cast<size_t>(t) * Z_ * A_;  // (Z, A)
        const int ncol = (t + 1) * A_;  // columns a_0..a_t are the only non-zero ones
        for (int i = 0; i < Z_; ++i) {
          double* out = &S_next_[static_cast<size_t>(i) * HA];
          std::fill(out, out + HA, 0.0);
          for (int k = 0; k < Z_; ++k) {
            const double f = fz[i * Z_ + k];
            if (f == 0) continue;
            const double* in = &S_[static_cast<size_t>(k) * HA];
            for (int col = 0; col < t * A_; ++col) out[col] += f * in[col];
          }
          for (int j = 0; j < A_; ++j) out[t * A_ + j] = fa[i * A_ + j];
        }
        std::swap(S_, S_next_);  // S = dz_{t+1} / da
        const float* dc = dc_.data() + static_cast<size_t>(t) * C_ * Z_;  // (C, Z) at z_{t+1}
        for (int q = 0; q < C_; ++q) {
          double* row = &Jrow_[static_cast<size_t>(q) * HA];
          std::fill(row, row + ncol, 0.0);
          for (int k = 0; k < Z_; ++k) {
            const double d = dc[q * Z_ + k];
            if (d == 0) continue;
            const double* sk = &S_[static_cast<size_t>(k) * HA];
            for (int col = 0; col < ncol; ++col) row[col] += d * sk[col];
          }
          const double extra = s_.summed && q == 0 ? bound_term(t, row) : 0.0;
          accumulate(row, ncol, c_[t * C_ + q] + extra);
        }
      }
    }
    // Action cost sqrt(w) a and bound residuals sqrt(nu) max(0, |a| - a_m): diagonal in a.
    double act_viol = 0;
    for (int k = 0; k < HA; ++k) {
      JtJ_[k * HA + k] += sw * sw;
      Jtr_[k] += sw * sw * a_[k];
      const double over = std::max(0.0, std::fabs(double(a_[k])) - am);
      if (over > 0) {
        act_viol += over * over;
        if (s_.summed) continue;  // in the step's summed residual above
        const double snu = std::sqrt(nu_[k]), jd = snu * (a_[k] > 0 ? 1 : -1);
        JtJ_[k * HA + k] += jd * jd;
        Jtr_[k] += jd * snu * over;
      }
    }
    for (int x = 0; x < HA; ++x)
      for (int y = x + 1; y < HA; ++y) JtJ_[x * HA + y] = JtJ_[y * HA + x];
    res_.timing.derivatives += td.seconds();

    IterStats st;
    st.iter = it;
    for (int t = 1; t <= H_; ++t) st.reward += lin_.r[t];
    st.act_violation = act_viol;
    st.damping = s_.damping;
    st.seconds = total.seconds();
    res_.iters.push_back(st);

    // Multipliers from this step's violations (released: lam += lam_lr act_viol, after the step).
    for (int k = 0; k < HA; ++k) nu_[k] += s_.act_lr * std::max(0.0, std::fabs(double(a_[k])) - am);
    // ----- solve (J^T J + damping I) dx = J^T rho (the Eq. (9) step, on actions only); a <- a - step dx -----
    Timer ts;
    for (int k = 0; k < HA; ++k) JtJ_[k * HA + k] += s_.damping;
    LATCO_CHECK(cholesky(HA, JtJ_.data(), HA))
        << "shooting_gn: J^T J + damping I is not positive definite (damping " << s_.damping
        << "); raise gn_damping";
    trsv_lower(HA, JtJ_.data(), HA, Jtr_.data());
    trsv_lower_t(HA, JtJ_.data(), HA, Jtr_.data());
    for (int k = 0; k < HA; ++k) a_[k] -= static_cast<float>(s_.step * Jtr_[k]);
    if (s_.clip) clip_actions(HA, am, a_.data());
    res_.timing.solve += ts.seconds();
  }

  clip_actions(HA, am, a_.data());
  std::copy(a_.begin(), a_.end(), res_.actions.data());
  Timer tr;
  res_.predicted_return = rollout_forward(m_, z0, a_.data(), &lin_);
  res_.timing.rollouts += tr.seconds();
  std::copy(lin_.z.begin(), lin_.z.end(), res_.latents.data());
  res_.timing.total = total.seconds();
  res_.timing.other = res_.timing.total - res_.timing.rollouts - res_.timing.derivatives - res_.timing.solve;
  return res_;
}

std::unique_ptr<Planner> new_shooting_gn(const LatentModel& m, int H, const Config& c) {
  ShootingGnSettings s;
  s.load(c);
  return std::make_unique<ShootingGn>(m, H, s);
}

}  // namespace latco
