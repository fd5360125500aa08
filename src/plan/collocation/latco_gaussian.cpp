// Gaussian LatCo: the moment-matching residuals of Algorithm 3 as a
// CollocationProblem, and the `latco_gaussian` planner on CollocationLM.
#include "plan/collocation/latco_gaussian.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "core/error.h"
#include "core/rng.h"
#include "core/streams.h"
#include "core/timer.h"
#include "plan/collocation/latco_device.h"

namespace latco {

void GaussianLatcoSettings::load(const Config& cfg) {
  lm.load(cfg);
  cfg.apply(*this);
  auto where = [&](const char* key) { return cfg.has(key) ? cfg.where(key) : std::string(key); };
  bool released;
  if (preset == "released") released = true;
  else if (preset == "ours") released = false;
  else LATCO_FAIL(where("latco_gaussian_preset") << ": expected 'released' or 'ours', got '" << preset << "'");
  auto pick = [&](const std::string& v, const char* key, const char* a, const char* b, bool dflt) {
    if (v.empty()) return dflt;  // the preset's
    if (v == a) return true;
    if (v == b) return false;
    LATCO_FAIL(where(key) << ": expected '" << a << "' or '" << b << "', got '" << v << "'");
  };
  opt.reward_samples = reward_samples > 0 ? reward_samples : (released ? 1 : samples);
  opt.std_grad = !pick(std_grad, "latco_gaussian_std_grad", "stop", "through", released);
  opt.resample = pick(resample, "latco_gaussian_resample", "iteration", "plan", released);
  opt.dual_mean = pick(lambda_on, "latco_gaussian_lambda_on", "mean", "mean_std", released);
  LATCO_CHECK(reward_samples != 0) << where("latco_gaussian_reward_samples") << ": must be positive (or -1)";
}

GaussianCollocationProblem::GaussianCollocationProblem(const LatentModel& m, int H, int K, int samples,
                                                       GaussianProblemOptions opt)
    : m_(m), H_(H), K_(K), S_(samples), R_(opt.reward_samples > 0 ? opt.reward_samples : samples),
      Z_(m.latent_dim()), A_(m.action_dim()), opt_(opt) {
  LATCO_CHECK(m.stochastic()) << "Gaussian LatCo needs a stochastic model (predict_std)";
  const size_t rows = size_t(K) * H, per = size_t(S_) * Z_;
  eps_.assign(rows * per, 0.0f);
  xi_ = eps_;
  eps_r_.assign(rows * R_ * Z_, 0.0f);
  // Rows per chunk so that the per-sample Jacobians stay under ~64 MB.
  const size_t bytes_per_row = size_t(S_) * (2 * size_t(Z_) * Z_ + 2 * size_t(Z_) * A_ + 8 * Z_) * sizeof(float);
  chunk_ = int(std::max<size_t>(1, std::min<size_t>(rows, (64u << 20) / bytes_per_row)));
  const size_t cs = size_t(chunk_) * std::max(S_, R_);
  zs_.assign(cs * Z_, 0.0f), as_.assign(cs * A_, 0.0f), mu_.assign(cs * Z_, 0.0f), sd_ = mu_, zn_ = mu_;
  dmu_dz_.assign(cs * Z_ * Z_, 0.0f), dsd_dz_ = dmu_dz_;
  dmu_da_.assign(cs * Z_ * A_, 0.0f), dsd_da_ = dmu_da_;
  r_.assign(cs, 0.0f), dr_.assign(cs * Z_, 0.0f);
}

void GaussianCollocationProblem::set_noise(uint64_t seed) {
  seed_ = seed;
  iteration_ = 0;
  draw_noise();
}

// Iteration i's noise of row n from Rng(seed).derive(i).derive(3n + j): same seed, same draws.
void GaussianCollocationProblem::draw_noise() {
  const size_t per = size_t(S_) * Z_, per_r = size_t(R_) * Z_;
  const Rng base = iteration_ == 0 ? Rng(seed_) : Rng(seed_).derive(streams::kGaussianIteration | uint64_t(iteration_));
  for (size_t n = 0; n < size_t(K_) * H_; ++n) {
    Rng e = base.derive(3 * n), x = base.derive(3 * n + 1), r = base.derive(3 * n + 2);
    for (size_t i = 0; i < per; ++i) {
      eps_[n * per + i] = e.normal();
      xi_[n * per + i] = x.normal();
    }
    for (size_t i = 0; i < per_r; ++i) eps_r_[n * per_r + i] = r.normal();
  }
}

bool GaussianCollocationProblem::next_iteration() {
  if (!opt_.resample) return false;
  ++iteration_;
  draw_noise();
  return true;
}

// The released code's dual violation: the mean prediction from the plan's mean, |mu(m_t, a_t) - m_{t+1}|^2.
bool GaussianCollocationProblem::dual_violation(int N, const float* y, const float* a, const float* yn,
                                                double* v) const {
  if (!opt_.dual_mean) return false;
  const int Z = Z_, Y = 2 * Z_, step = chunk_ * std::max(S_, R_);
  for (int n0 = 0; n0 < N; n0 += step) {
    const int rows = std::min(step, N - n0);
    for (int r = 0; r < rows; ++r) std::memcpy(&zs_[size_t(r) * Z], y + size_t(n0 + r) * Y, sizeof(float) * Z);
    m_.predict(rows, zs_.data(), a + size_t(n0) * A_, mu_.data());
    for (int r = 0; r < rows; ++r) {
      double e2 = 0;
      for (int i = 0; i < Z; ++i) {
        const double e = double(yn[size_t(n0 + r) * Y + i]) - mu_[size_t(r) * Z + i];
        e2 += e * e;
      }
      v[n0 + r] = e2;
    }
  }
  return true;
}

void GaussianCollocationProblem::dynamics(int N, const float* y, const float* a, float* f, float* Fy,
                                          float* Fa) const {
  const int Z = Z_, A = A_, S = S_, Y = 2 * Z;
  for (int n0 = 0; n0 < N; n0 += chunk_) {
    const int rows = std::min(chunk_, N - n0), cnt = rows * S;
    // ----- samples z^j = m + s eps^j of q(z_t), pushed through the model -----
    for (int r = 0; r < rows; ++r) {
      const int n = n0 + r;
      const float* m = y + size_t(n) * Y;
      const float* s = m + Z;
      for (int j = 0; j < S; ++j) {
        const float* e = &eps_[(size_t(n) * S + j) * Z];
        float* z = &zs_[(size_t(r) * S + j) * Z];
        for (int i = 0; i < Z; ++i) z[i] = m[i] + s[i] * e[i];
        std::memcpy(&as_[(size_t(r) * S + j) * A], a + size_t(n) * A, sizeof(float) * A);
      }
    }
    if (Fy) {
      m_.predict_jacobians(cnt, zs_.data(), as_.data(), mu_.data(), dmu_dz_.data(), dmu_da_.data());
      m_.predict_std(cnt, zs_.data(), as_.data(), sd_.data(), dsd_dz_.data(), dsd_da_.data());
    } else {
      m_.predict(cnt, zs_.data(), as_.data(), mu_.data());
      m_.predict_std(cnt, zs_.data(), as_.data(), sd_.data(), nullptr, nullptr);
    }
    for (int r = 0; r < rows; ++r) {
      const int n = n0 + r;
      // z'^j = mu^j + std^j xi^j;  M = mean_j z'^j;  Sd = sqrt(mean_j (z'^j - M)^2)   (Algorithm 3, lines 5-7)
      float* M = f + size_t(n) * Y;
      float* Sd = M + Z;
      for (int i = 0; i < Z; ++i) M[i] = 0;
      for (int j = 0; j < S; ++j) {
        const size_t q = (size_t(r) * S + j) * Z;
        const float* x = &xi_[(size_t(n) * S + j) * Z];
        for (int i = 0; i < Z; ++i) {
          zn_[q + i] = mu_[q + i] + sd_[q + i] * x[i];
          M[i] += zn_[q + i];
        }
      }
      for (int i = 0; i < Z; ++i) M[i] /= S;
      for (int i = 0; i < Z; ++i) {
        double v = 0;
        for (int j = 0; j < S; ++j) {
          const double d = zn_[(size_t(r) * S + j) * Z + i] - M[i];
          v += d * d;
        }
        Sd[i] = float(std::sqrt(v / S));
      }
      if (!Fy) continue;
      // ----- Jacobians: dz'^j/dm = dmu/dz + diag(xi) dstd/dz (dz^j/dm = I); the same for a -----
      float* J = Fy + size_t(n) * Y * Y;  // (2Z, 2Z)
      float* Ja = Fa + size_t(n) * Y * A;  // (2Z, A)
      std::fill(J, J + size_t(Y) * Y, 0.0f);
      std::fill(Ja, Ja + size_t(Y) * A, 0.0f);
      for (int j = 0; j < S; ++j) {
        const size_t q = size_t(r) * S + j;
        const float* x = &xi_[(size_t(n) * S + j) * Z];
        for (int i = 0; i < Z; ++i) {
          // dM_i/d. += row_i / S;  dSd_i/d. += (z'_i - M_i) row_i / (S Sd_i)
          const float wm = 1.0f / S;
          const float ws = opt_.std_grad && Sd[i] > 1e-12f ? (zn_[q * Z + i] - M[i]) / (S * Sd[i]) : 0.0f;
          const float* gz = &dmu_dz_[(q * Z + i) * Z];
          const float* hz = &dsd_dz_[(q * Z + i) * Z];
          const float* ga = &dmu_da_[(q * Z + i) * A];
          const float* ha = &dsd_da_[(q * Z + i) * A];
          for (int k = 0; k < Z; ++k) {
            const float d = gz[k] + x[i] * hz[k];
            J[size_t(i) * Y + k] += wm * d;
            J[size_t(Z + i) * Y + k] += ws * d;
          }
          for (int k = 0; k < A; ++k) {
            const float d = ga[k] + x[i] * ha[k];
            Ja[size_t(i) * A + k] += wm * d;
            Ja[size_t(Z + i) * A + k] += ws * d;
          }
        }
      }
    }
  }
}

void GaussianCollocationProblem::costs(int N, const float* y, float* c, float* Jc, float* r) const {
  const int Z = Z_, S = R_, Y = 2 * Z;
  const double inv_sqrt = 1.0 / std::sqrt(double(S));
  for (int n0 = 0; n0 < N; n0 += chunk_) {
    const int rows = std::min(chunk_, N - n0), cnt = rows * S;
    for (int q = 0; q < rows; ++q) {  // samples of q(z_{t+1}) for the reward (Algorithm 3, lines 3-4)
      const int n = n0 + q;
      const float* m = y + size_t(n) * Y;
      const float* s = m + Z;
      for (int j = 0; j < S; ++j) {
        const float* e = &eps_r_[(size_t(n) * S + j) * Z];
        float* z = &zs_[(size_t(q) * S + j) * Z];
        for (int i = 0; i < Z; ++i) z[i] = m[i] + s[i] * e[i];
      }
    }
    if (Jc) m_.reward_gradient(cnt, zs_.data(), r_.data(), dr_.data());
    else m_.reward(cnt, zs_.data(), r_.data());
    for (int q = 0; q < rows; ++q) {
      const int n = n0 + q;
      double mean = 0;
      for (int j = 0; j < S; ++j) {
        const size_t p = size_t(q) * S + j;
        const double rr = r_[p];
        mean += rr;
        c[size_t(n) * S + j] = float(softplus_neg(rr) * inv_sqrt);
        if (Jc) {
          float* row = Jc + (size_t(n) * S + j) * Y;
          const double gr = softplus_neg_grad(rr) * inv_sqrt;
          for (int i = 0; i < Z; ++i) row[i] = float(gr * dr_[p * Z + i]);
          for (int i = 0; i < Z; ++i) row[Z + i] = 0.0f;  // no gradient to s from its own step's reward
        }
      }
      r[n] = float(mean / S);
    }
  }
}

double expected_return(const LatentModel& m, const float* z0, const float* actions, int H, int samples, Rng rng) {
  const int Z = m.latent_dim(), A = m.action_dim();
  const float am = m.action_max(), w = m.action_cost();
  std::vector<float> z(size_t(samples) * Z), mu(z.size()), sd(z.size()), a(size_t(samples) * A), r(samples);
  for (int s = 0; s < samples; ++s) std::memcpy(&z[size_t(s) * Z], z0, sizeof(float) * Z);
  double J = 0;
  for (int t = 0; t < H; ++t) {
    double a2 = 0;
    for (int i = 0; i < A; ++i) {
      const float v = std::clamp(actions[t * A + i], -am, am);
      a2 += double(v) * v;
      for (int s = 0; s < samples; ++s) a[size_t(s) * A + i] = v;
    }
    m.predict(samples, z.data(), a.data(), mu.data());
    m.predict_std(samples, z.data(), a.data(), sd.data(), nullptr, nullptr);
    for (size_t i = 0; i < z.size(); ++i) z[i] = mu[i] + sd[i] * rng.normal();
    m.reward(samples, z.data(), r.data());
    double mean = 0;
    for (float v : r) mean += v;
    J += mean / samples - w * a2;
  }
  return J;
}

// ===================== planner =====================

GaussianLatcoPlanner::GaussianLatcoPlanner(const LatentModel& model, int horizon, const GaussianLatcoSettings& s)
    : model_(model), s_(s), H_(horizon), Z_(model.latent_dim()), A_(model.action_dim()),
      problem_(model, horizon, s.lm.restarts, s.samples, s.opt) {
  lm_ = std::make_unique<CollocationLM>(problem_, H_, s_.lm.restarts, s_.lm);
  if (!s_.lm.dense_solve && latent_model_on_device(model)) lm_->use_device();  // Eq. (9) on the GPU
  std_.assign(size_t(H_ + 1) * Z_, 0.0f);
  result_.actions = Tensor::zeros({H_, A_});
  result_.latents = Tensor::zeros({H_ + 1, Z_});
}

const PlanResult& GaussianLatcoPlanner::plan(const float* z0, uint64_t seed) {
  Timer total;
  const int K = s_.lm.restarts, Y = 2 * Z_;
  const double d0 = lm_->t_derivatives, r0 = lm_->t_rollouts, a0 = lm_->t_assembly, s0 = lm_->t_solve;
  problem_.set_noise(Rng(seed).derive(streams::kGaussianNoise).next_u64());
  const float sd = float(s_.lm.init_std);
  for (int k = 0; k < K; ++k) {
    Rng rng = Rng(seed).derive(k);
    float* y = lm_->states(k);  // (H+1, 2Z): [m_t, s_t]
    float* a = lm_->actions(k);
    for (int i = 0; i < Z_; ++i) y[i] = z0[i], y[Z_ + i] = 0.0f;  // q(z_0) = delta(z_0)
    for (int t = 1; t <= H_; ++t)
      for (int i = 0; i < Z_; ++i) {
        y[t * Y + i] = sd * rng.normal();
        y[t * Y + Z_ + i] = float(s_.std_init);
      }
    for (int i = 0; i < H_ * A_; ++i) a[i] = sd * rng.normal();
  }
  lm_->begin();
  std::vector<std::vector<IterStats>> iters(K);
  auto record = [&](int it) {
    for (int k = 0; k < K; ++k) {
      IterStats st = lm_->stats(k);
      st.iter = it;
      st.seconds = total.seconds();
      iters[k].push_back(st);
    }
  };
  record(0);
  for (int it = 1; it <= s_.lm.iterations; ++it) {
    lm_->step();
    record(it);
  }
  // ----- winner by expected return under the stochastic model (not the mean rollout) -----
  Timer tr;
  int best = 0;
  double best_J = -1e300;
  for (int k = 0; k < K; ++k) {
    const double J = expected_return(model_, z0, lm_->actions(k), H_, s_.eval_samples, Rng(seed).derive(streams::kGaussianEvalReturn));
    if (J > best_J) best_J = J, best = k;
  }
  const float am = model_.action_max();
  const float* a = lm_->actions(best);
  for (int i = 0; i < H_ * A_; ++i) result_.actions[i] = std::clamp(a[i], -am, am);
  const float* y = lm_->states(best);
  for (int t = 0; t <= H_; ++t)
    for (int i = 0; i < Z_; ++i) {
      result_.latents[t * Z_ + i] = y[t * Y + i];
      std_[t * Z_ + i] = y[t * Y + Z_ + i];
    }
  result_.predicted_return = best_J;
  result_.iters = iters[best];
  TimingBreakdown& tb = result_.timing;
  tb.derivatives = lm_->t_derivatives - d0;
  tb.rollouts = lm_->t_rollouts - r0 + tr.seconds();
  tb.solve = (lm_->t_assembly - a0) + (lm_->t_solve - s0);
  tb.total = total.seconds();
  tb.other = std::max(0.0, tb.total - tb.derivatives - tb.rollouts - tb.solve);
  return result_;
}

std::unique_ptr<Planner> new_latco_gaussian(const LatentModel& m, int H, const Config& cfg) {
  GaussianLatcoSettings s;
  s.load(cfg);
  return std::make_unique<GaussianLatcoPlanner>(m, H, s);
}

}  // namespace latco
