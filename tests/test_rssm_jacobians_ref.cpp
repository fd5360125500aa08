// The plain Jacobians of model/rssm_jacobians_ref.*: against central finite differences of
// their own values (double), and the fast RssmLatentModel (float, batched) against them, with
// and without the deterministic path, at small and paper size.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "core/rng.h"
#include "model/rssm_jacobians_ref.h"
#include "model/rssm_latent_model.h"

using namespace latco;

namespace {

// Glorot weights plus random biases (init leaves them 0), so every bias path counts.
TransitionWeights random_weights(const TransitionSizes& sz, uint64_t seed) {
  Rng rng(seed);
  TransitionWeights w = TransitionWeights::init(sz, rng);
  Rng rb = rng.derive(7);
  for (Tensor* b : {&w.b_in, &w.b_x, &w.b_h, &w.b_p, &w.b_m, &w.b_s, &w.c1, &w.c2, &w.c3})
    if (b->defined())
      for (int64_t i = 0; i < b->numel(); ++i) (*b)[i] = rb.uniform(-0.5f, 0.5f);
  return w;
}

TransitionSizes sizes(int S, int D, int Hd, int A, int Hr) {
  TransitionSizes sz;
  sz.stoch = S, sz.deter = D, sz.hidden = Hd, sz.action = A, sz.reward_hidden = Hr;
  return sz;
}

void inputs(const TransitionSizes& sz, uint64_t seed, std::vector<double>* z, std::vector<double>* a) {
  Rng rng(seed);
  z->resize(sz.latent());
  a->resize(sz.action);
  for (double& v : *z) v = rng.normal();
  for (double& v : *a) v = rng.uniform(-1.0f, 1.0f);
}

// Every entry of the reference Jacobians against central differences of the reference values.
void check_against_finite_differences(const TransitionWeights& w, const std::vector<double>& z,
                                      const std::vector<double>& a) {
  const int Z = int(z.size()), A = int(a.size());
  const RssmStepJacobians J = rssm_step_jacobians_ref(w, z, a);
  const double h = 1e-6;
  for (int j = 0; j < Z + A; ++j) {
    std::vector<double> zp = z, zm = z, ap = a, am = a;
    if (j < Z) zp[j] += h, zm[j] -= h;
    else ap[j - Z] += h, am[j - Z] -= h;
    const RssmStepJacobians P = rssm_step_jacobians_ref(w, zp, ap), M = rssm_step_jacobians_ref(w, zm, am);
    for (int i = 0; i < Z; ++i) {
      const double fd_mu = (P.mu[i] - M.mu[i]) / (2 * h), fd_sd = (P.sd[i] - M.sd[i]) / (2 * h);
      const double an_mu = j < Z ? J.dmu_dz[size_t(i) * Z + j] : J.dmu_da[size_t(i) * A + j - Z];
      const double an_sd = j < Z ? J.dsd_dz[size_t(i) * Z + j] : J.dsd_da[size_t(i) * A + j - Z];
      ASSERT_NEAR(an_mu, fd_mu, 1e-7 + 1e-6 * std::fabs(fd_mu)) << "dmu_" << i << "/dv_" << j;
      ASSERT_NEAR(an_sd, fd_sd, 1e-7 + 1e-6 * std::fabs(fd_sd)) << "dsd_" << i << "/dv_" << j;
    }
  }
  std::vector<double> g, gp, gm;
  rssm_reward_gradient_ref(w, z, &g);
  for (int j = 0; j < Z; ++j) {
    std::vector<double> zp = z, zm = z;
    zp[j] += h, zm[j] -= h;
    const double fd = (rssm_reward_gradient_ref(w, zp, &gp) - rssm_reward_gradient_ref(w, zm, &gm)) / (2 * h);
    ASSERT_NEAR(g[j], fd, 1e-7 + 1e-6 * std::fabs(fd)) << "dr/dz_" << j;
  }
}

// The fast float path against the reference: |fast - ref| <= atol + rtol |ref|.
void check_fast_path(const TransitionWeights& w, const std::vector<double>& z, const std::vector<double>& a) {
  const int Z = int(z.size()), A = int(a.size());
  const RssmStepJacobians J = rssm_step_jacobians_ref(w, z, a);
  std::vector<double> g;
  const double r = rssm_reward_gradient_ref(w, z, &g);
  RssmLatentModel fast(w);
  std::vector<float> zf(z.begin(), z.end()), af(a.begin(), a.end()), mu(Z), dz(size_t(Z) * Z), da(size_t(Z) * A),
      sd(Z), sdz(size_t(Z) * Z), sda(size_t(Z) * A), drz(Z);
  float rf = 0;
  fast.predict_jacobians(1, zf.data(), af.data(), mu.data(), dz.data(), da.data());
  fast.predict_std(1, zf.data(), af.data(), sd.data(), sdz.data(), sda.data());
  fast.reward_gradient(1, zf.data(), &rf, drz.data());
  const double atol = 1e-5, rtol = 1e-3;
  auto near = [&](const std::vector<float>& f, const std::vector<double>& ref, const char* what) {
    ASSERT_EQ(f.size(), ref.size()) << what;
    for (size_t i = 0; i < f.size(); ++i)
      ASSERT_NEAR(f[i], ref[i], atol + rtol * std::fabs(ref[i])) << what << "[" << i << "]";
  };
  near(mu, J.mu, "mu");
  near(dz, J.dmu_dz, "dmu_dz");
  near(da, J.dmu_da, "dmu_da");
  near(sd, J.sd, "sd");
  near(sdz, J.dsd_dz, "dsd_dz");
  near(sda, J.dsd_da, "dsd_da");
  near(drz, g, "dr_dz");
  EXPECT_NEAR(rf, r, atol + rtol * std::fabs(r));
}

}  // namespace

TEST(RssmJacobiansRef, MatchFiniteDifferences) {
  for (int D : {7, 0}) {
    SCOPED_TRACE("deter " + std::to_string(D));
    const TransitionSizes sz = sizes(5, D, 6, 3, 8);
    const TransitionWeights w = random_weights(sz, 11 + D);
    std::vector<double> z, a;
    inputs(sz, 3, &z, &a);
    check_against_finite_differences(w, z, a);
  }
}

TEST(RssmJacobiansRef, FastJacobiansEqualTheReference) {
  for (int D : {7, 0}) {
    SCOPED_TRACE("deter " + std::to_string(D));
    const TransitionSizes sz = sizes(5, D, 6, 3, 8);
    const TransitionWeights w = random_weights(sz, 21 + D);
    for (uint64_t s = 0; s < 4; ++s) {
      std::vector<double> z, a;
      inputs(sz, s, &z, &a);
      check_fast_path(w, z, a);
    }
  }
}

TEST(RssmJacobiansRef, FastJacobiansEqualTheReferenceAtPaperSize) {
  // The RSSM (S 30, D 200, Hd 200) and the ablation's SSM (S 30, no D, 2 x 400 units).
  for (const TransitionSizes& sz : {sizes(30, 200, 200, 4, 400), sizes(30, 0, 400, 4, 400)}) {
    SCOPED_TRACE("deter " + std::to_string(sz.deter));
    const TransitionWeights w = random_weights(sz, 5);
    std::vector<double> z, a;
    inputs(sz, 9, &z, &a);
    check_fast_path(w, z, a);
  }
}
