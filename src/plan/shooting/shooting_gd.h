// Shooting with gradient descent (Appendix D "Shooting GD"): Adam on the action
// sequence, gradients by backprop through time through the model's per-step
// Jacobians, actions clipped after each step, and an action-bound penalty whose
// multipliers rise every few steps by a plain gradient rule (dual descent).
// Restarts run one after another (not batched). Not here: warm starts.
#pragma once
#include <algorithm>
#include <memory>
#include <vector>

#include "core/timer.h"
#include "nn/adam.h"
#include "plan/planner.h"
#include "plan/rollout.h"

namespace latco {

struct ShootingGdSettings {
  int iterations = 500;    // Adam steps (paper: Metaworld 500, DM Control 100)
  float lr = 0.05f;        // Adam learning rate (paper: 0.05)
  float init_std = 1.0f;   // actions start N(0, init_std^2), clipped (released code: 1)
  bool clip = true;        // clip actions to the bounds after each step (released code)
  int dual_every = 5;      // steps between action-multiplier updates (paper: 5)
  float dual_lr = 1.5f;    // nu_t += dual_lr * max(0,|a_t|-a_m)^2: plain gradient rule
  float nu_init = 1.0f;    // initial action multiplier
  int restarts = 1;        // independent initialisations; the best predicted return wins (paper: thermos, hammer)
  template <class V>
  void visit(V& v) {
    v("gd_iterations", iterations, 1, 10000000);
    v("gd_lr", lr, 1e-9, 1e3);
    v("gd_init_std", init_std, 0.0, 1e3);
    v("gd_clip", clip);
    v("gd_dual_every", dual_every, 1, 1000000);
    v("gd_dual_lr", dual_lr, 0.0, 1e9);
    v("gd_nu_init", nu_init, 0.0, 1e12);
    v("gd_restarts", restarts, 1, 10000);
  }
};

class DeviceBackprop;  // plan/rollout_device.h

class ShootingGd : public Planner {
 public:
  ShootingGd(const LatentModel& model, int horizon, const ShootingGdSettings& s);
  std::string name() const override { return "shooting_gd"; }
  const PlanResult& plan(const float* z0, uint64_t seed) override;

 private:
  // One optimisation from Rng(seed).derive(restart); leaves the clipped plan in a_ and returns its J.
  double optimise(const float* z0, uint64_t seed, int restart, Timer& total);

  const LatentModel& m_;
  int H_, Z_, A_;
  ShootingGdSettings s_;
  PlanResult res_;
  Linearization lin_;
  std::vector<float> a_;     // (H, A) the plan
  std::vector<float> g_;     // (H, A) gradient of the loss -J + penalty
  std::vector<float> nu_;    // (H) action-bound multipliers
  std::vector<float> best_;  // (H, A) best plan over restarts
  nn::FlatAdam adam_;
  std::shared_ptr<DeviceBackprop> device_bptt_;  // the model is on the GPU: backprop there too
};

}  // namespace latco
