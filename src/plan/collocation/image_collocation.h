// Image collocation (Appendix D, ablation "Image Collocation"): the plan is a
// sequence of images I_1..I_H and actions, optimised by Adam on the Lagrangian of
// Eq. (8) written on images. Latents come from filtering the planned images with
// the RSSM's encoder and posterior; the dynamics constraint compares I_{t+1} with
// the decoded one-step prediction from z_t. Constraints are pairwise: the filter
// history z_{t-1} is detached, so no gradient reaches I_{1:t-1} from step t.
// Registered as `image_collocation` on the whole world model (make_planner with the Rssm);
// plan() builds an autodiff graph each step, so unlike the other planners it allocates.
#pragma once
#include <vector>

#include "model/rssm.h"
#include "model/rssm_latent_model.h"
#include "nn/adam.h"
#include "plan/planner.h"
#include "plan/rollout.h"

namespace latco {

struct ImageCollocationSettings {
  int iterations = 5000;     // Adam steps (paper: as the no-second-order ablation, 5000)
  float lr = 0.02f;          // Adam learning rate on images and actions (paper: 0.02)
  int dual_every = 5;        // steps between multiplier updates (paper: 5)
  double dual_lr = 1.5;      // lambda += dual_lr * (violation - eps) (paper: 1.5)
  double lambda_init = 1.0;  // initial image-dynamics multipliers
  double nu_init = 1.0;      // initial action-bound multipliers
  double eps_dyn = 1e-4;     // threshold on the per-pixel mean squared dynamics violation
  double eps_act = 1e-4;     // action threshold
  float init_noise = 0.05f;  // images start at decode(z_0) plus N(0, init_noise^2) pixel noise
  float init_std = 1.0f;     // actions start N(0, init_std^2)
  template <class V>
  void visit(V& v) {
    v("ic_iterations", iterations, 1, 100000000);
    v("ic_lr", lr, 1e-9, 1e3);
    v("ic_dual_every", dual_every, 1, 1000000);
    v("ic_dual_lr", dual_lr, 0.0, 1e9);
    v("ic_lambda_init", lambda_init, 0.0, 1e12);
    v("ic_nu_init", nu_init, 0.0, 1e12);
    v("ic_eps_dyn", eps_dyn, 0.0, 1e6);
    v("ic_eps_act", eps_act, 0.0, 1e6);
    v("ic_init_noise", init_noise, 0.0, 1.0);
    v("ic_init_std", init_std, 0.0, 1e3);
  }
};

// Loss minimised (per plan; lambda, nu held fixed within a step):
//   sum_{t=1}^{H} softplus(-r(z_t))^2 + sum_{t=0}^{H-1} lambda_t mse(I_{t+1}, decode(mu(z_t, a_t)))
//   + nu_t |max(0, |a_t| - a_m)|^2,
// z_0 given; z_t = [posterior mean from (detach(z_{t-1}), a_{t-1}, encode(I_t)), h_t].
class ImageCollocation : public Planner {
 public:
  ImageCollocation(const Rssm& rssm, int horizon, const ImageCollocationSettings& s, float action_max = 1.0f);
  std::string name() const override { return "image_collocation"; }
  const PlanResult& plan(const float* z0, uint64_t seed) override;

  // The loss at images (H, 3, S, S) and actions (H, A); fills their gradients when grads are non-null
  // (pairwise gradients, see above). dyn, act: (H) per-step violations when non-null. For tests.
  double loss(const float* z0, const float* images, const float* actions, const double* lambda, const double* nu,
              float* g_images, float* g_actions, double* dyn, double* act);
  const Tensor& planned_images() const { return images_; }  // (H, 3, S, S)

 private:
  const Rssm& rssm_;
  RssmLatentModel view_;  // the planner's fast view, for the final rollout of the actions
  int H_, Z_, A_, S_, D_, P_;  // P: pixels per image (3 * size * size)
  ImageCollocationSettings s_;
  float amax_;
  PlanResult res_;
  Tensor images_, actions_;        // (H, 3, size, size), (H, A)
  std::vector<float> gi_, ga_;     // gradients, same sizes
  std::vector<double> lambda_, nu_, dyn_, act_;  // (H)
  std::vector<float> latents_;     // (H+1, Z) from the last loss evaluation
  std::vector<float> rewards_;     // (H) r(z_1..z_H) from the last loss evaluation
  nn::FlatAdam adam_i_, adam_a_;
  Linearization lin_;
};

}  // namespace latco
