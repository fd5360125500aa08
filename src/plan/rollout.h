// Rollouts through a LatentModel for the shooting planners: batched forward
// rollouts of many action sequences (CEM, MPPI), one sequence's linearisation
// (all Jacobians in one batched call), backprop through time, and the state-cost
// residuals shared by the Gauss-Newton style planners.
// Not here: any optimisation, and sampling of the stochastic transition.
#pragma once
#include <algorithm>
#include <cmath>
#include <vector>

#include "model/latent_model.h"

namespace latco {
namespace ad {
class Var;
}

// N sequences from one z0; one predict and one reward call per step across all N.
//   z0: (Z), actions: (H, N, A) (already within bounds), returns: (N) J of each sequence,
//   scratch z_a, z_b: (N, Z), r: (N).
void rollout_batch(const LatentModel& m, int N, int H, const float* z0, const float* actions, float* z_a,
                   float* z_b, float* r, double* returns);

// One trajectory and its derivatives, sized once for a horizon.
struct Linearization {
  int H = 0, Z = 0, A = 0;
  std::vector<float> a;     // (H, A)    the actions rolled (as given)
  std::vector<float> z;     // (H+1, Z)  z_0 .. z_H
  std::vector<float> r;     // (H+1)     r(z_t); r[0] = 0 (z_0 earns no reward)
  std::vector<float> fz;    // (H, Z, Z) d z_{t+1} / d z_t
  std::vector<float> fa;    // (H, Z, A) d z_{t+1} / d a_t
  std::vector<float> dr;    // (H+1, Z)  dr/dz at z_t; row 0 = 0
  std::vector<double> adj;  // (2, Z)    adjoint scratch for backprop
  void resize(int H, int Z, int A);
};

// Rolls a: (H, A) from z0: (Z) into lin (z, r, a); returns J (Planner objective, no clipping here).
double rollout_forward(const LatentModel& m, const float* z0, const float* a, Linearization* lin);
// Fills lin's fz, fa, dr at the rolled trajectory: one batched predict_jacobians over the H steps
// and one batched reward_gradient over z_1..z_H.
void rollout_jacobians(const LatentModel& m, Linearization* lin);
// Backprop through time: g: (H, A) = dJ/da, via vector-Jacobian products with the stored Jacobians:
//   g_t = fa_t^T p_{t+1} - 2 w a_t,   p_t = dr(z_t) + fz_t^T p_{t+1},   p_H = dr(z_H).
void backprop_return(Linearization* lin, float w, float* g);

// ----- state-cost residuals (Section 4) -----
// The model's own residuals c(z) if it provides them (then -r = |c|^2 exactly), else the
// single residual softplus(-r(z)) = ln(1 + e^{-r}).
int state_residual_dim(const LatentModel& m);
//   z: (N, Z) -> c: (N, C), dc: (N, C, Z) (may be null); r_scratch: (N), dr_scratch: (N, Z).
void state_residuals(const LatentModel& m, int N, const float* z, float* c, float* dc, float* r_scratch,
                     float* dr_scratch);

// The Section 4 reward residual of every planner: rho(r) = softplus(-r) = ln(1 + e^{-r}), stable
// for large |r|, and its derivative d rho / dr = -1 / (1 + e^{r}).
double softplus_neg(double r);
double softplus_neg_grad(double r);
// The same residual as an op of the autodiff graph (image collocation), elementwise on r, on r's
// device: values softplus_neg(r), backward d rho / dr = softplus_neg_grad(r), both in double.
ad::Var softplus_neg(const ad::Var& r);

// Rolls actions (H,A) from z0 through the model: latents (H+1,Z); returns J (clipping actions first).
double rollout_return(const LatentModel& model, const float* z0, const float* actions, int H, float* latents);

// Clamps every entry of x: (n) to [-am, am].
void clip_actions(int n, float am, float* x);
// The action-bound violation of every planner: one entry's max(0, |a| - am) (Eq. 8's bound
// residual without sqrt(nu)), and over a: (n) the sum of its squares.
inline double bound_violation(float a, float am) { return std::max(0.0, std::fabs(double(a)) - am); }
double action_violation(int n, float am, const float* a);
// The released code's action violation (its dual rule): sum over entries of max(0, a^2 - am^2).
double action_violation_released(int n, float am, const float* a);

}  // namespace latco
