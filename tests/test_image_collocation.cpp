// Image collocation (plan/collocation/image_collocation.h, Appendix D) on a tiny RSSM at 16 x 16:
// the last image's and action's gradients against central differences, and a plan whose dynamics
// violation falls and whose reported return is the rollout of its actions.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "model/rssm.h"
#include "model/rssm_latent_model.h"
#include "plan/collocation/image_collocation.h"
#include "plan/rollout.h"
#include "tests/planner_test_models.h"

using namespace latco;

// Pairwise gradients equal the true ones for the last image and the last action (nothing later
// depends on them through a detached path); checked against central differences of the loss.
TEST(ImageCollocation, LastImageAndActionGradientsMatchFiniteDifferences) {
  Rssm rssm(tiny_rssm(), 2, 61);
  const int H = 3, P = 3 * 16 * 16, A = 2;
  ImageCollocation ic(rssm, H, ImageCollocationSettings{});
  auto z0 = random_vec(rssm.latent_dim(), 62, 0.5f);
  auto img = random_vec(H * P, 63, 0.2f);
  auto act = random_vec(H * A, 64, 0.8f);
  act[(H - 1) * A] = 1.3f;  // the bound term is active on the last action
  std::vector<double> lambda(H, 50.0), nu(H, 3.0);
  std::vector<float> gi(H * P), ga(H * A);
  ic.loss(z0.data(), img.data(), act.data(), lambda.data(), nu.data(), gi.data(), ga.data(), nullptr, nullptr);
  auto f = [&](const std::vector<float>& i, const std::vector<float>& a) {
    return ic.loss(z0.data(), i.data(), a.data(), lambda.data(), nu.data(), nullptr, nullptr, nullptr, nullptr);
  };
  const float eps = 1e-2f;
  double max_err = 0, max_g = 0;
  for (int p = 0; p < P; p += 37) {
    const int k = (H - 1) * P + p;
    auto ip = img, im = img;
    ip[k] += eps, im[k] -= eps;
    const double fd = (f(ip, act) - f(im, act)) / (2 * eps);
    max_err = std::max(max_err, std::fabs(fd - gi[k]));
    max_g = std::max(max_g, std::fabs(fd));
  }
  for (int j = 0; j < A; ++j) {
    const int k = (H - 1) * A + j;
    auto ap = act, am = act;
    ap[k] += eps, am[k] -= eps;
    const double fd = (f(img, ap) - f(img, am)) / (2 * eps);
    max_err = std::max(max_err, std::fabs(fd - ga[k]));
    max_g = std::max(max_g, std::fabs(fd));
  }
  EXPECT_GT(max_g, 1e-2);
  EXPECT_LT(max_err, 2e-2 * max_g + 1e-4) << "max |g| " << max_g;
}

TEST(ImageCollocation, DynamicsViolationFallsAndResultIsConsistent) {
  Rssm rssm(tiny_rssm(), 2, 71);
  const int H = 3;
  ImageCollocationSettings s;
  s.iterations = 40;
  s.dual_lr = 0;          // fixed multipliers: one fixed objective
  s.lambda_init = 1000.0;  // dominated by the image-dynamics term, which must then fall
  ImageCollocation ic(rssm, H, s);
  auto z0 = random_vec(rssm.latent_dim(), 72, 0.5f);
  const PlanResult& res = ic.plan(z0.data(), 3);
  ASSERT_EQ(res.iters.size(), 40u);
  EXPECT_LT(res.iters.back().dyn_violation, res.iters.front().dyn_violation);
  EXPECT_EQ(res.latents.shape(), (Shape{H + 1, rssm.latent_dim()}));
  for (int k = 0; k < H * 2; ++k) EXPECT_LE(std::fabs(res.actions[k]), 1.0f);
  for (int64_t k = 0; k < ic.planned_images().numel(); ++k) {
    ASSERT_GE(ic.planned_images()[k], -0.5f);
    ASSERT_LE(ic.planned_images()[k], 0.5f);
  }
  // The reported return is the actions' rollout through the planner's view of the same weights.
  RssmLatentModel view(rssm.transition());
  std::vector<float> lat((H + 1) * rssm.latent_dim());
  EXPECT_NEAR(res.predicted_return, rollout_return(view, z0.data(), res.actions.data(), H, lat.data()), 1e-5);
  for (const auto& [name, p] : rssm.parameters()) EXPECT_FALSE(p.has_grad() && p.node()->grad.numel() > 0 &&
                                                               std::fabs(p.node()->grad[0]) > 0) << name;
}
