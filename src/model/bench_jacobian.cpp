// `latco bench jacobian`: RssmLatentModel at the paper's sizes (S 30, D 200, Hd 200, A 4,
// reward hidden 400). Batched Jacobians over a horizon of H = 30 steps, and predict + reward
// throughput at the batch size of sampling planners. Leaves out GPU timings.
#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include "core/command.h"
#include "core/error.h"
#include "core/rng.h"
#include "core/timer.h"
#include "model/rssm_latent_model.h"

namespace latco {
namespace {

// Median wall time of fn over `repeats` runs, after one warm-up run.
template <class Fn>
double median_seconds(int repeats, const Fn& fn) {
  fn();
  std::vector<double> t;
  for (int i = 0; i < repeats; ++i) {
    Timer timer;
    fn();
    t.push_back(timer.seconds());
  }
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}

}  // namespace

LATCO_BENCH(jacobian) {
  const int H = int(args.get_int("horizon", 30));        // Jacobian batch: one per plan step
  const int NS = int(args.get_int("samples", 10000));    // predict + reward batch
  const int repeats = int(args.get_int("repeats", 21));
  const std::string part = args.get("part", "all");       // all | jacobian | predict (for profiling)
  args.check_all_read("bench jacobian");
  TransitionSizes sz;  // paper sizes
  Rng rng(1);
  const TransitionWeights w = TransitionWeights::init(sz, rng);
  RssmLatentModel m(w);
  const int Z = m.latent_dim(), A = m.action_dim();

  const int N = std::max(H, NS);
  std::vector<float> z(size_t(N) * Z), a(size_t(N) * A);
  Rng in = rng.derive(2);
  for (float& v : z) v = in.normal();
  for (float& v : a) v = in.uniform(-1.0f, 1.0f);

  std::vector<float> mu(size_t(N) * Z), dz(size_t(H) * Z * Z), da(size_t(H) * Z * A), r(N), dr(size_t(H) * Z);
  std::vector<float> sd(size_t(H) * Z), sdz(size_t(H) * Z * Z), sda(size_t(H) * Z * A);
  LATCO_CHECK(part == "all" || part == "jacobian" || part == "predict")
      << "bench jacobian: --part must be all, jacobian or predict, got '" << part << "'";
  if (part != "predict") {
    const double t_jac = median_seconds(repeats, [&] {
      m.predict_jacobians(H, z.data(), a.data(), mu.data(), dz.data(), da.data());
    });
    const double t_rgrad = median_seconds(repeats, [&] { m.reward_gradient(H, z.data(), r.data(), dr.data()); });
    const double t_std = median_seconds(repeats, [&] {
      m.predict_std(H, z.data(), a.data(), sd.data(), sdz.data(), sda.data());
    });
    bench_print("jacobian_s", t_jac, "s");
    bench_print("reward_gradient_s", t_rgrad, "s");
    bench_print("std_jacobian_s", t_std, "s");
  }
  if (part != "jacobian") {
    const double t_pred = median_seconds(std::max(3, repeats / 4), [&] {
      m.predict(NS, z.data(), a.data(), mu.data());
      m.reward(NS, z.data(), r.data());
    });
    bench_print("predict_steps_per_s", NS / t_pred, "steps/s");
  }
  return 0;
}

}  // namespace latco
