// Deterministic LatCo: the Levenberg-Marquardt collocation solver (Eq. 9) with
// the dual update (Eq. 10), its LatentModel adapter, and the `latco` planner
// with the Table 3 ablation presets. Buffers are sized in the constructors;
// step() does not allocate.
#include "plan/collocation/latco.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "core/error.h"
#include "core/rng.h"
#include "core/streams.h"
#include "core/timer.h"
#include "linalg/block_tridiag.h"
#include "linalg/dense.h"
#include "plan/collocation/latco_gaussian.h"  // expected_return: the sampled rollout of latco_winner: sample
#include "plan/collocation/latco_device.h"

namespace latco {

void LatcoSettings::load(const Config& cfg) {
  cfg.apply(*this);
  auto where = [&](const char* key) { return cfg.has(key) ? cfg.where(key) : std::string(key); };
  rule = parse_dual_rule(dual_rule, where("latco_dual_rule"));
  if (damping_schedule == "adaptive") schedule = DampingSchedule::Adaptive;
  else if (damping_schedule == "constant") schedule = DampingSchedule::Constant;
  else LATCO_FAIL(where("latco_damping_schedule") << ": expected 'adaptive' or 'constant', got '"
                                                   << damping_schedule << "'");
  if (solver == "adaptive") solver_kind = LatcoSolver::Adaptive;
  else if (solver == "released") solver_kind = LatcoSolver::Released;
  else LATCO_FAIL(where("latco_solver") << ": expected 'adaptive' or 'released', got '" << solver << "'");
  const bool adaptive = solver_kind == LatcoSolver::Adaptive;
  if (multiplier_floor == "auto") floor_initial = adaptive;
  else if (multiplier_floor == "initial") floor_initial = true;
  else if (multiplier_floor == "none") floor_initial = false;
  else LATCO_FAIL(where("latco_multiplier_floor") << ": expected 'auto', 'initial' or 'none', got '"
                                                   << multiplier_floor << "'");
  if (multiplier_clamp == "auto") clamp = adaptive;
  else if (multiplier_clamp == "on") clamp = true;
  else if (multiplier_clamp == "off") clamp = false;
  else LATCO_FAIL(where("latco_multiplier_clamp") << ": expected 'auto', 'on' or 'off', got '"
                                                   << multiplier_clamp << "'");
  LATCO_CHECK(winner == "mean" || winner == "sample")
      << where("latco_winner") << ": expected 'mean' or 'sample', got '" << winner << "'";
  LATCO_CHECK(lambda_min <= lambda_max) << where("latco_lambda_min") << ": latco_lambda_min " << lambda_min
                                        << " exceeds latco_lambda_max " << lambda_max;
}

// ===================== CollocationLM =====================

CollocationLM::CollocationLM(CollocationProblem& p, int H, int K, const LatcoSettings& s)
    : p_(p), s_(s), H_(H), K_(K), Y_(p.state_dim()), A_(p.action_dim()), C_(p.cost_dim()) {
  LATCO_CHECK(H > 0 && K > 0) << "LatCo needs a positive horizon and restart count";
  n_ = A_ + Y_;
  const size_t KH = size_t(K) * H, nn = size_t(n_) * n_;
  a_.assign(KH * A_, 0.0f);
  a_try_ = a_;
  y_.assign(size_t(K) * (H + 1) * Y_, 0.0f);
  y_try_ = y_;
  yin_.assign(KH * Y_, 0.0f);
  yout_ = yin_;
  f_.assign(KH * Y_, 0.0f);
  f_try_ = f_;
  c_.assign(KH * C_, 0.0f);
  c_try_ = c_;
  r_.assign(KH, 0.0f);
  r_try_ = r_;
  Fy_.assign(KH * Y_ * Y_, 0.0f);
  Fa_.assign(KH * Y_ * A_, 0.0f);
  Jc_.assign(KH * C_ * Y_, 0.0f);
  lambda_.assign(KH, s.lambda0);
  nu_.assign(KH, s.nu0);
  dyn_.assign(KH, 0.0);
  act_.assign(KH, 0.0);
  dual_dyn_.assign(KH, 0.0);
  damping_.assign(K, s.damping);
  growth_.assign(K, 2.0);
  Lf_.assign(H * nn, 0.0);
  Cf_.assign(H * nn, 0.0);
  g_.assign(size_t(H) * n_, 0.0);
  dx_ = g_;
  if (s.dense_solve) {  // the dense solve's stored blocks and matrix
    D_.assign(H * nn, 0.0);
    B_.assign(H * nn, 0.0);
    dense_.assign(size_t(H) * n_ * H * n_, 0.0);
  }
  pred_.assign(K, 0.0);
  cost0_.assign(K, 0.0);
  accept_.assign(K, 0);
}

PlanView CollocationLM::view(int k, bool trial) const {
  PlanView v;
  v.H = H_, v.Y = Y_, v.A = A_, v.C = C_;
  const size_t row = size_t(k) * H_;
  v.a = (trial ? a_try_ : a_).data() + row * A_;
  v.y = (trial ? y_try_ : y_).data() + size_t(k) * (H_ + 1) * Y_;
  v.f = (trial ? f_try_ : f_).data() + row * Y_;
  v.c = (trial ? c_try_ : c_).data() + row * C_;
  v.Fy = Fy_.data() + row * Y_ * Y_;
  v.Fa = Fa_.data() + row * Y_ * A_;
  v.Jc = Jc_.data() + row * C_ * Y_;
  v.lambda = lambda_.data() + row;
  v.nu = nu_.data() + row;
  v.amax = p_.action_max();
  v.w = p_.action_cost();
  return v;
}

// Batched over all K plans and H steps: one dynamics call and one cost call.
void CollocationLM::evaluate(bool trial, bool jacobians) {
  Timer tm;
  const std::vector<float>& y = trial ? y_try_ : y_;
  for (int k = 0; k < K_; ++k) {
    const float* yk = y.data() + size_t(k) * (H_ + 1) * Y_;
    std::memcpy(yin_.data() + size_t(k) * H_ * Y_, yk, sizeof(float) * H_ * Y_);
    std::memcpy(yout_.data() + size_t(k) * H_ * Y_, yk + Y_, sizeof(float) * H_ * Y_);
  }
  const int N = K_ * H_;
  const float* a = (trial ? a_try_ : a_).data();
  if (jacobians) {
    p_.dynamics(N, yin_.data(), a, f_.data(), Fy_.data(), Fa_.data());
    p_.costs(N, yout_.data(), c_.data(), Jc_.data(), r_.data());
    t_derivatives += tm.seconds();
  } else {
    p_.dynamics(N, yin_.data(), a, (trial ? f_try_ : f_).data(), nullptr, nullptr);
    p_.costs(N, yout_.data(), (trial ? c_try_ : c_).data(), nullptr, (trial ? r_try_ : r_).data());
    t_rollouts += tm.seconds();
  }
}

void CollocationLM::begin() {
  std::fill(lambda_.begin(), lambda_.end(), s_.lambda0);
  std::fill(nu_.begin(), nu_.end(), s_.nu0);
  std::fill(damping_.begin(), damping_.end(), s_.damping);
  std::fill(growth_.begin(), growth_.end(), 2.0);
  for (int k = 0; k < K_; ++k) {  // trial buffers keep the pinned y_0 of each plan
    std::memcpy(y_try_.data() + size_t(k) * (H_ + 1) * Y_, states(k), sizeof(float) * Y_);
  }
  evaluate(false, true);
  for (int k = 0; k < K_; ++k) plan_cost(view(k, false), &dyn_[size_t(k) * H_], &act_[size_t(k) * H_]);
}

double CollocationLM::cost(int k) const { return plan_cost(view(k, false)); }

// The released code's residual scale: N = 1 / (mean_t sqrt(lambda_t) + mean_t sqrt(nu_t) + 1).
double CollocationLM::released_scale(int k) const {
  double sl = 0, sn = 0;
  for (int t = 0; t < H_; ++t) sl += std::sqrt(lambda_[size_t(k) * H_ + t]), sn += std::sqrt(nu_[size_t(k) * H_ + t]);
  return 1.0 / (sl / H_ + sn / H_ + 1.0);
}

// Eq. (9): (J^T J + mu I) dx = -J^T rho for plan k: the dense solve from the assembled blocks,
// the block solve assembling them as it factors (its time is all in t_solve).
bool CollocationLM::solve_plan(int k) {
  Timer tm;
  const int N = H_ * n_;
  for (int attempt = 0; attempt < 8; ++attempt) {
    const double mu = damping_[k];
    bool ok;
    if (s_.dense_solve) {
      block_tridiag_to_dense(H_, n_, D_.data(), B_.data(), mu, dense_.data());
      ok = cholesky(N, dense_.data(), N);
      if (ok) {
        for (int i = 0; i < N; ++i) dx_[i] = -g_[i];
        trsv_lower(N, dense_.data(), N, dx_.data());
        trsv_lower_t(N, dense_.data(), N, dx_.data());
      }
    } else {
      // The blocks assembled while the factor runs (each part of block t+1 beside block t's tile),
      // and the forward half of the solve of dx = -g as each block is factored.
      const NormalEquationBlocks blocks(view(k, false), g_.data());
      const ForwardSolve forward{g_.data(), -1.0, dx_.data()};
      ok = block_tridiag_factor(H_, n_, blocks, mu, Lf_.data(), Cf_.data(), A_, &forward);
      if (ok) block_tridiag_solve_backward(H_, n_, Lf_.data(), Cf_.data(), dx_.data());
    }
    if (ok) {
      t_solve += tm.seconds();
      return true;
    }
    ++factor_failures;  // not positive definite in floating point: damp harder
    damping_[k] = std::max(damping_[k] * 10.0, 1e-8);
  }
  t_solve += tm.seconds();
  return false;
}

void CollocationLM::step() {
  const bool released = s_.solver_kind == LatcoSolver::Released;
  if (device_) {  // Eq. (9) for every plan at once on the GPU (plan/latco_device.h)
    for (int k = 0; released && k < K_; ++k) damping_[k] = s_.damping / (2 * std::pow(released_scale(k), 2));
    Timer td;
    factor_failures += device_->solve(view(0, false), damping_.data());
    t_solve += td.seconds();
  }
  // ----- normal equations and LM step (Eq. 9), plan by plan -----
  for (int k = 0; k < K_; ++k) {
    const PlanView v = view(k, false);
    if (released) {  // (2 N^2 J^T J + d I) dx = -2 N^2 J^T rho  <=>  (J^T J + d / (2 N^2) I) dx = -J^T rho
      const double N = released_scale(k);
      damping_[k] = s_.damping / (2 * N * N);
    }
    cost0_[k] = plan_cost(v);
    bool ok;
    if (device_) {
      ok = device_->result(k, g_.data(), dx_.data());
    } else {
      if (s_.dense_solve) {  // the block solve assembles inside solve_plan
        Timer ta;
        assemble_normal_equations(v, D_.data(), B_.data(), g_.data());
        t_assembly += ta.seconds();
      }
      ok = solve_plan(k);
    }
    // Trial point x + dx (y_0 stays pinned). A failed solve proposes no move.
    float* at = a_try_.data() + size_t(k) * H_ * A_;
    float* yt = y_try_.data() + size_t(k) * (H_ + 1) * Y_;
    const float* a = actions(k);
    const float* y = states(k);
    double gdx = 0, dx2 = 0;
    for (int t = 0; t < H_; ++t) {
      const double* d = dx_.data() + size_t(t) * n_;
      const double* gt = g_.data() + size_t(t) * n_;
      for (int i = 0; i < A_; ++i) at[t * A_ + i] = a[t * A_ + i] + (ok ? float(d[i]) : 0.0f);
      for (int i = 0; i < Y_; ++i)
        yt[(t + 1) * Y_ + i] = y[(t + 1) * Y_ + i] + (ok ? float(d[A_ + i]) : 0.0f);
      if (ok)
        for (int i = 0; i < n_; ++i) gdx += gt[i] * d[i], dx2 += d[i] * d[i];
    }
    // Predicted reduction of sum rho^2 by the linear model: -2 g.dx - dx^T J^T J dx = -g.dx + mu |dx|^2.
    pred_[k] = ok ? -gdx + damping_[k] * dx2 : 0.0;
  }
  // ----- residuals at the trial points, all plans in one batch -----
  evaluate(true, false);
  // ----- accept or reject by the gain ratio -----
  Timer tm_rest;
  bool any = false;
  for (int k = 0; k < K_; ++k) {
    const double cost1 = plan_cost(view(k, true));
    bool accept;
    if (released || s_.schedule == DampingSchedule::Constant) {
      // Always step. The released code would also take a non-finite step (and fall back to zero
      // actions at the end); here such a step is skipped.
      accept = std::isfinite(cost1);
    } else {
      // Gain ratio: actual over predicted reduction (Nielsen's damping update).
      const double ratio = pred_[k] > 0 ? (cost0_[k] - cost1) / pred_[k] : -1.0;
      accept = std::isfinite(cost1) && ratio > 0;
      if (!accept && pred_[k] >= 0 && pred_[k] <= 1e-13 * cost0_[k]) {
        // Converged to round-off: nothing left to gain, so do not inflate the damping.
      } else if (accept) {
        const double q = 2 * ratio - 1;
        damping_[k] *= std::max(1.0 / 3.0, 1.0 - q * q * q);
        growth_[k] = 2.0;
      } else {
        damping_[k] *= growth_[k];
        growth_[k] *= 2.0;
      }
      damping_[k] = std::min(std::max(damping_[k], 1e-12), 1e12);
    }
    accept_[k] = accept;
    if (accept) {
      any = true;
      std::memcpy(actions(k), a_try_.data() + size_t(k) * H_ * A_, sizeof(float) * H_ * A_);
      std::memcpy(states(k), y_try_.data() + size_t(k) * (H_ + 1) * Y_, sizeof(float) * (H_ + 1) * Y_);
    }
  }
  const double t_rest0 = tm_rest.seconds();
  // ----- model derivatives at the new points, all plans in one batch -----
  const bool changed = p_.next_iteration();
  if (any || changed) evaluate(false, true);
  Timer tm_dual;
  // The problem's own violation for Eq. (10), if it has one, at the current points (yin_, yout_
  // hold the trial points when nothing was re-evaluated, so gather again).
  for (int k = 0; k < K_; ++k) {
    const float* yk = states(k);
    std::memcpy(yin_.data() + size_t(k) * H_ * Y_, yk, sizeof(float) * H_ * Y_);
    std::memcpy(yout_.data() + size_t(k) * H_ * Y_, yk + Y_, sizeof(float) * H_ * Y_);
  }
  const bool own_dual = p_.dual_violation(K_ * H_, yin_.data(), a_.data(), yout_.data(), dual_dyn_.data());
  // Eq. (10): dual update per step for lambda (dynamics) and nu (action bounds).
  for (int k = 0; k < K_; ++k) {
    double* act = &act_[size_t(k) * H_];
    plan_cost(view(k, false), &dyn_[size_t(k) * H_], act);
    if (s_.fixed_multipliers) continue;
    const double* dyn = own_dual ? &dual_dyn_[size_t(k) * H_] : &dyn_[size_t(k) * H_];
    // Lower and upper bounds after Eq. (10): the floor (ours) and the clamp (ours); none in the released code.
    const double lo = s_.clamp ? s_.lambda_min : 0.0;
    const double hi = s_.clamp ? s_.lambda_max : HUGE_VAL;
    const double lam_lo = s_.floor_initial ? std::max(lo, s_.lambda0) : lo;
    const double nu_lo = s_.floor_initial ? std::max(lo, s_.nu0) : lo;
    const float amax = p_.action_max();
    const float* a = actions(k);
    for (int t = 0; t < H_; ++t) {
      double& lam = lambda_[size_t(k) * H_ + t];
      double& nu = nu_[size_t(k) * H_ + t];
      double va = act[t];
      if (s_.rule == DualRule::Released) {  // the released code's action violation: sum max(0, a^2 - 1)
        va = action_violation_released(A_, amax, &a[t * A_]);
      }
      lam = std::min(std::max(dual_update(lam, dyn[t], s_.eps_dyn, s_.alpha, s_.eta, s_.rule), lam_lo), hi);
      nu = std::min(std::max(dual_update(nu, va, s_.eps_act, s_.alpha, s_.eta, s_.rule), nu_lo), hi);
    }
  }
  t_other += t_rest0 + tm_dual.seconds();
}

IterStats CollocationLM::stats(int k) const {
  IterStats st;
  const size_t row = size_t(k) * H_;
  double lam = 0;
  for (int t = 0; t < H_; ++t) {
    st.reward += r_[row + t];
    st.dyn_violation += dyn_[row + t];
    st.act_violation += act_[row + t];
    lam += lambda_[row + t];
  }
  st.mean_lambda = lam / H_;
  st.damping = damping_[k];
  return st;
}

// ===================== LatentModel adapter =====================

LatentCollocationProblem::LatentCollocationProblem(const LatentModel& m)
    : m_(m), C_(m.cost_residual_dim() > 0 ? m.cost_residual_dim() : 1), model_costs_(m.cost_residual_dim() > 0) {}

void LatentCollocationProblem::dynamics(int N, const float* y, const float* a, float* f, float* Fy,
                                        float* Fa) const {
  if (Fy) m_.predict_jacobians(N, y, a, f, Fy, Fa);
  else m_.predict(N, y, a, f);
}

void LatentCollocationProblem::costs(int N, const float* y, float* c, float* Jc, float* r) const {
  const int Z = m_.latent_dim();
  if (model_costs_) {  // r = -|c|^2 by the LatentModel contract
    m_.cost_residuals(N, y, c, Jc);
    for (int n = 0; n < N; ++n) {
      double s = 0;
      for (int i = 0; i < C_; ++i) s += double(c[n * C_ + i]) * c[n * C_ + i];
      r[n] = float(-s);
    }
    return;
  }
  // Section 4: one residual softplus(-r(z)) per step.
  if (Jc) {
    if (dr_.size() < size_t(N) * Z) dr_.resize(size_t(N) * Z);  // first call only
    m_.reward_gradient(N, y, r, dr_.data());
  } else {
    m_.reward(N, y, r);
  }
  for (int n = 0; n < N; ++n) {
    c[n] = float(softplus_neg(r[n]));
    if (Jc) {
      const double gr = softplus_neg_grad(r[n]);
      for (int j = 0; j < Z; ++j) Jc[size_t(n) * Z + j] = float(gr * dr_[size_t(n) * Z + j]);
    }
  }
}

// ===================== planner =====================

LatcoPlanner::LatcoPlanner(const LatentModel& model, int horizon, const LatcoSettings& s, std::string name)
    : model_(model), name_(std::move(name)), s_(s), H_(horizon), Z_(model.latent_dim()), A_(model.action_dim()),
      problem_(model) {
  lm_ = std::make_unique<CollocationLM>(problem_, H_, s_.restarts, s_);
  if (!s_.dense_solve && latent_model_on_device(model)) lm_->use_device();  // Eq. (9) on the GPU
  prev_a_.assign(size_t(H_) * A_, 0.0f);
  prev_z_.assign(size_t(H_ + 1) * Z_, 0.0f);
  rollout_z_.assign(size_t(H_ + 1) * Z_, 0.0f);
  result_.actions = Tensor::zeros({H_, A_});
  result_.latents = Tensor::zeros({H_ + 1, Z_});
  result_.iters.reserve(s_.iterations + 1);
}

void LatcoPlanner::initialise(const float* z0, uint64_t seed) {
  const float sd = float(s_.init_std);
  for (int k = 0; k < s_.restarts; ++k) {
    Rng rng = Rng(seed).derive(k);  // plan k's initialisation: N(0, init_std) for z_1..z_H and a
    float* a = lm_->actions(k);
    float* z = lm_->states(k);
    std::memcpy(z, z0, sizeof(float) * Z_);
    if (k == 0 && s_.warm_start && has_prev_) {
      std::memcpy(a, prev_a_.data(), sizeof(float) * H_ * A_);
      std::memcpy(z + Z_, prev_z_.data() + Z_, sizeof(float) * H_ * Z_);
      continue;
    }
    for (int i = 0; i < H_ * Z_; ++i) z[Z_ + i] = sd * rng.normal();
    for (int i = 0; i < H_ * A_; ++i) a[i] = sd * rng.normal();
  }
  lm_->begin();
}

const PlanResult& LatcoPlanner::plan(const float* z0, uint64_t seed) {
  Timer total;
  const double d0 = lm_->t_derivatives, r0 = lm_->t_rollouts, a0 = lm_->t_assembly, s0 = lm_->t_solve;
  const int K = s_.restarts;
  // Per-plan diagnostics, kept for the winner.
  std::vector<std::vector<IterStats>> iters(K);
  for (auto& v : iters) v.reserve(s_.iterations + 1);
  initialise(z0, seed);
  auto record = [&](int it) {
    for (int k = 0; k < K; ++k) {
      IterStats st = lm_->stats(k);
      st.iter = it;
      st.seconds = total.seconds();
      iters[k].push_back(st);
    }
  };
  record(0);
  for (int it = 1; it <= s_.iterations; ++it) {
    lm_->step();
    record(it);
  }
  // ----- winner: the best return of the clipped actions rolled through the model -----
  Timer tr;
  int best = 0;
  double best_J = -1e300;
  const bool sample = s_.winner == "sample" && K > 1 && model_.stochastic();
  for (int k = 0; k < K; ++k) {
    // Released: imagine_feat(deterministic=False), one sampled rollout per plan (seeded per plan here).
    const double J = sample ? expected_return(model_, z0, lm_->actions(k), H_, 1, Rng(seed).derive(streams::kSampledWinner).derive(k))
                            : rollout_return(model_, z0, lm_->actions(k), H_, rollout_z_.data());
    if (J > best_J || k == 0) best_J = J, best = k;
  }
  if (sample) best_J = rollout_return(model_, z0, lm_->actions(best), H_, rollout_z_.data());
  const double t_roll = tr.seconds();
  const float am = model_.action_max();
  const float* a = lm_->actions(best);
  for (int i = 0; i < H_ * A_; ++i) result_.actions[i] = std::min(std::max(a[i], -am), am);
  std::memcpy(result_.latents.data(), lm_->states(best), sizeof(float) * (H_ + 1) * Z_);
  result_.predicted_return = best_J;
  result_.iters = iters[best];
  std::memcpy(prev_a_.data(), a, sizeof(float) * H_ * A_);
  std::memcpy(prev_z_.data(), lm_->states(best), sizeof(float) * (H_ + 1) * Z_);
  has_prev_ = true;
  TimingBreakdown& tb = result_.timing;
  tb.derivatives = lm_->t_derivatives - d0;
  tb.rollouts = lm_->t_rollouts - r0 + t_roll;
  t_assembly_ = lm_->t_assembly - a0;
  tb.solve = t_assembly_ + (lm_->t_solve - s0);
  tb.total = total.seconds();
  tb.other = std::max(0.0, tb.total - tb.derivatives - tb.rollouts - tb.solve);
  return result_;
}

void LatcoPlanner::shift(int steps) {
  if (!has_prev_ || steps <= 0) return;
  steps = std::min(steps, H_);
  // a_t <- a_{t+steps}, zeros at the end; z_t <- z_{t+steps}, the last latent repeated.
  for (int t = 0; t < H_; ++t)
    for (int i = 0; i < A_; ++i) prev_a_[t * A_ + i] = t + steps < H_ ? prev_a_[(t + steps) * A_ + i] : 0.0f;
  for (int t = 0; t <= H_; ++t)
    for (int i = 0; i < Z_; ++i) prev_z_[t * Z_ + i] = prev_z_[std::min(t + steps, H_) * Z_ + i];
}

// ===================== factories (plan/planners.cpp): LatCo and its Table 3 ablations =====================
namespace {
std::unique_ptr<Planner> make_latco(const LatentModel& m, int H, const Config& cfg, LatcoSettings preset,
                                    const char* name) {
  preset.load(cfg);  // config keys override the preset
  return std::make_unique<LatcoPlanner>(m, H, preset, name);
}
}  // namespace

std::unique_ptr<Planner> new_latco(const LatentModel& m, int H, const Config& cfg) {
  return make_latco(m, H, cfg, LatcoSettings{}, "latco");
}
// The released code's optimiser (configs/paper/README.md rows L1-L3): its Gauss-Newton step and dual
// rule, no multiplier floor or clamp (auto = off under this solver). The paper configs select it by
// keys; this name lets one run evaluate it beside the adaptive solver on the same model.
std::unique_ptr<Planner> new_latco_released(const LatentModel& m, int H, const Config& cfg) {
  LatcoSettings s;
  s.solver = "released";
  s.dual_rule = "released";
  return make_latco(m, H, cfg, s, "latco_released");
}
// Table 3 rows, from the released config.yaml (planners: latco_no_relax, latco_no_constraint).
std::unique_ptr<Planner> new_latco_no_relax(const LatentModel& m, int H, const Config& cfg) {
  LatcoSettings s;
  s.lambda0 = 1e8;  // released init_lam: 1e8; nu0 stays 1
  return make_latco(m, H, cfg, s, "latco_no_relax");
}
std::unique_ptr<Planner> new_latco_no_constrained(const LatentModel& m, int H, const Config& cfg) {
  LatcoSettings s;
  // The released row scales the residuals by dyn_loss_scale 8 and act_loss_scale 16 with
  // lambda = nu = 1 and no multiplier updates: multipliers 8^2 and 16^2. Its normalisation
  // N = 1 / (8 + 16 + 1) is then the released solver's at these values.
  s.lambda0 = 64;
  s.nu0 = 256;
  s.fixed_multipliers = true;
  return make_latco(m, H, cfg, s, "latco_no_constrained");
}
// Ours, not a Table 3 row and not the released optimiser (that is latco_solver: released): the
// adaptive solver's step with its damping held at latco_damping and every step taken.
std::unique_ptr<Planner> new_latco_const_damping(const LatentModel& m, int H, const Config& cfg) {
  LatcoSettings s;
  s.damping_schedule = "constant";
  return make_latco(m, H, cfg, s, "latco_const_damping");
}

}  // namespace latco
