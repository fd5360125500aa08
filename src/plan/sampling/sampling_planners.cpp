// CEM and MPPI (Appendix D). Sample n of iteration i draws its H*A normals from
// Rng(seed).derive(i).derive(n), so plans do not depend on the thread count.
#include "plan/sampling/sampling_planners.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "core/rng.h"
#include "core/thread_pool.h"
#include "core/timer.h"

namespace latco {

void SamplingSettings::preset(const std::string& name) {
  if (name == "cpu") return;
  if (name == "tabletop") {  // Appendix B, Metaworld: 10,000 samples, 100 elites, 100 iterations (CEM and MPPI)
    samples = 10000;
    elites = 100;
    iterations = 100;
  } else if (name == "dmc") {  // Appendix B, DM Control: 1,000 samples, 100 elites, 10 iterations
    samples = 1000;
    elites = 100;
    iterations = 10;
  } else {
    LATCO_FAIL(prefix << "_preset: unknown preset '" << name << "' (cpu, tabletop, dmc)");
  }
}

SamplingSettings sampling_settings_from(const std::string& prefix, const Config& cfg) {
  SamplingSettings s;
  s.prefix = prefix;
  if (prefix == "mppi") {
    s.gamma = 10.0f;     // Appendix B
    s.weights = "all";   // released shooting_cem.py: softmax over every sample, std without min_var
    s.min_var = 0.0f;
  }
  s.preset(cfg.get_string(prefix + "_preset", "cpu"));
  cfg.apply(s);
  if (s.weights == "all") s.all_samples = true;
  else if (s.weights == "elites") s.all_samples = false;
  else LATCO_FAIL(cfg.where("mppi_weights") << ": expected 'all' or 'elites', got '" << s.weights << "'");
  if (s.elites > s.samples)
    LATCO_FAIL(cfg.where(prefix + "_elites") << ": " << prefix << "_elites (" << s.elites << ") exceeds "
                                             << prefix << "_samples (" << s.samples << ")");
  return s;
}

SamplingPlanner::SamplingPlanner(const LatentModel& model, int horizon, const SamplingSettings& s)
    : m_(model), H_(horizon), Z_(model.latent_dim()), A_(model.action_dim()), s_(s) {
  LATCO_CHECK(s_.elites >= 1 && s_.elites <= s_.samples)
      << s_.prefix << ": need 1 <= elites <= samples, got " << s_.elites << " of " << s_.samples;
  const long N = s_.samples;
  mean_.resize(H_ * A_);
  std_.resize(H_ * A_);
  samples_.resize(static_cast<size_t>(H_) * N * A_);
  z_a_.resize(N * Z_);
  z_b_.resize(N * Z_);
  r_.resize(N);
  returns_.resize(N);
  order_.resize(N);
  weights_.resize(s_.all_samples ? s_.samples : s_.elites);
  lin_.resize(H_, Z_, A_);
  res_.actions = Tensor({H_, A_});
  res_.latents = Tensor({H_ + 1, Z_});
  res_.iters.reserve(s_.iterations);
}

const PlanResult& SamplingPlanner::plan(const float* z0, uint64_t seed) {
  Timer total;
  const int N = s_.samples, E = s_.elites, HA = H_ * A_;
  const int K = s_.all_samples ? N : E;  // samples in the refit
  const float am = m_.action_max();
  res_.iters.clear();
  res_.timing = {};
  std::fill(mean_.begin(), mean_.end(), 0.0f);
  std::fill(std_.begin(), std_.end(), s_.init_std);
  const Rng base(seed);

  for (int it = 0; it < s_.iterations; ++it) {
    // ----- sample: a = clip(mean + std * eps), eps ~ N(0, I) from the (iteration, sample) stream -----
    const Rng iter_rng = base.derive(it);
    // (The lambda captures two pointers only, so std::function keeps it without allocating.)
    parallel_for(N, [this, &iter_rng](int64_t b, int64_t e) {
      const int N = s_.samples;
      const float am = m_.action_max();
      for (int64_t n = b; n < e; ++n) {
        Rng rng = iter_rng.derive(n);
        for (int t = 0; t < H_; ++t)
          for (int j = 0; j < A_; ++j) {
            const int k = t * A_ + j;
            float a = mean_[k] + std_[k] * rng.normal();
            samples_[(static_cast<size_t>(t) * N + n) * A_ + j] = std::clamp(a, -am, am);
          }
      }
    }, 64);

    // ----- rollouts: one predict and one reward call per step across all samples -----
    Timer tr;
    rollout_batch(m_, N, H_, z0, samples_.data(), z_a_.data(), z_b_.data(), r_.data(), returns_.data());
    res_.timing.rollouts += tr.seconds();

    // ----- elites: the K best returns (ties broken by index, so the order is deterministic) -----
    for (int n = 0; n < N; ++n) order_[n] = n;
    std::partial_sort(order_.begin(), order_.begin() + (s_.all_samples ? 1 : E), order_.end(), [&](int x, int y) {
      return returns_[x] > returns_[y] || (returns_[x] == returns_[y] && x < y);
    });
    if (s_.all_samples) {  // every sample in index order, the best first (its weight is the softmax's shift)
      const int best = order_[0];
      for (int n = 0; n < N; ++n) order_[n] = n;
      std::swap(order_[0], order_[best]);
    }
    // CEM: equal weights. MPPI: softmax(gamma * R) over all samples or the elites (shifted by the best).
    double wsum = 0;
    for (int k = 0; k < K; ++k) {
      weights_[k] = s_.gamma > 0 ? std::exp(s_.gamma * (returns_[order_[k]] - returns_[order_[0]])) : 1.0;
      wsum += weights_[k];
    }
    for (int k = 0; k < K; ++k) weights_[k] /= wsum;

    // ----- refit: weighted mean and std = sqrt(var + min_var) -----
    for (int t = 0; t < H_; ++t)
      for (int j = 0; j < A_; ++j) {
        double mu = 0, var = 0;
        for (int k = 0; k < K; ++k) mu += weights_[k] * samples_[(static_cast<size_t>(t) * N + order_[k]) * A_ + j];
        for (int k = 0; k < K; ++k) {
          double d = samples_[(static_cast<size_t>(t) * N + order_[k]) * A_ + j] - mu;
          var += weights_[k] * d * d;
        }
        mean_[t * A_ + j] = static_cast<float>(mu);
        std_[t * A_ + j] = static_cast<float>(std::sqrt(var + s_.min_var));
      }

    // ----- diagnostics: the mean's rollout -----
    Timer tm;
    rollout_forward(m_, z0, mean_.data(), &lin_);
    res_.timing.rollouts += tm.seconds();
    IterStats st;
    st.iter = it;
    for (int t = 1; t <= H_; ++t) st.reward += lin_.r[t];
    st.act_violation = action_violation(HA, am, mean_.data());
    st.seconds = total.seconds();
    res_.iters.push_back(st);
  }

  // ----- result: execute the mean (already within bounds: a mean of clipped samples) -----
  std::copy(mean_.begin(), mean_.end(), res_.actions.data());
  res_.predicted_return = rollout_forward(m_, z0, mean_.data(), &lin_);
  std::copy(lin_.z.begin(), lin_.z.end(), res_.latents.data());
  res_.timing.total = total.seconds();
  res_.timing.other = res_.timing.total - res_.timing.rollouts;
  return res_;
}

namespace {
std::unique_ptr<Planner> make_sampling(const std::string& prefix, const LatentModel& m, int H, const Config& cfg) {
  return std::make_unique<SamplingPlanner>(m, H, sampling_settings_from(prefix, cfg));
}
}  // namespace

std::unique_ptr<Planner> new_cem(const LatentModel& m, int H, const Config& c) { return make_sampling("cem", m, H, c); }
std::unique_ptr<Planner> new_mppi(const LatentModel& m, int H, const Config& c) { return make_sampling("mppi", m, H, c); }

}  // namespace latco
