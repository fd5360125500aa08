// LatCo's LM step on the GPU (plan/latco_device.h): uploads the point and its derivatives,
// assembles the normal equations and solves them for all plans, downloads g and dx.
#include "plan/collocation/latco_device.h"

#include <algorithm>
#include <cstring>

#include "core/error.h"
#include "model/device_latent_model.h"
#include "plan/collocation/latco.h"
#ifdef HAVE_CUDA
#include "cuda/cuda_api.h"
#include "core/device_lm.h"
#endif

namespace latco {

bool latent_model_on_device(const LatentModel& m) { return dynamic_cast<const DeviceRssmLatentModel*>(&m) != nullptr; }

void CollocationLM::use_device() { device_ = std::make_shared<LatcoDeviceSolver>(H_, K_, Y_, A_, C_); }

#ifdef HAVE_CUDA
struct LatcoDeviceSolver::Buffers {
  cuda::DeviceArray<float> a, y, f, c, Fy, Fa, Jc;
  cuda::DeviceArray<double> lambda, nu, damping, D, B, g, x;
  cuda::DeviceArray<int> info;
};

LatcoDeviceSolver::LatcoDeviceSolver(int H, int K, int Y, int A, int C)
    : H_(H), K_(K), Y_(Y), A_(A), C_(C), n_(A + Y) {
  const int64_t KH = int64_t(K) * H, nn = int64_t(n_) * n_;
  d_ = std::make_unique<Buffers>(Buffers{
      cuda::DeviceArray<float>(KH * A), cuda::DeviceArray<float>(int64_t(K) * (H + 1) * Y),
      cuda::DeviceArray<float>(KH * Y), cuda::DeviceArray<float>(KH * C), cuda::DeviceArray<float>(KH * Y * Y),
      cuda::DeviceArray<float>(KH * Y * A), cuda::DeviceArray<float>(KH * C * Y), cuda::DeviceArray<double>(KH),
      cuda::DeviceArray<double>(KH), cuda::DeviceArray<double>(K), cuda::DeviceArray<double>(KH * nn),
      cuda::DeviceArray<double>(KH * nn), cuda::DeviceArray<double>(KH * n_), cuda::DeviceArray<double>(KH * n_),
      cuda::DeviceArray<int>(KH)});
  g_.assign(size_t(KH) * n_, 0.0);
  dx_ = g_;
  info_.assign(size_t(KH), 0);
  ok_.assign(size_t(K), 0);
}

LatcoDeviceSolver::~LatcoDeviceSolver() = default;

int LatcoDeviceSolver::solve(const PlanView& v0, double* damping) {
  Buffers& d = *d_;
  d.a.upload(v0.a), d.y.upload(v0.y), d.f.upload(v0.f), d.c.upload(v0.c);
  d.Fy.upload(v0.Fy), d.Fa.upload(v0.Fa), d.Jc.upload(v0.Jc);
  d.lambda.upload(v0.lambda), d.nu.upload(v0.nu);
  cuda::LmBatch p;
  p.K = K_, p.H = H_, p.Y = Y_, p.A = A_, p.C = C_, p.amax = v0.amax, p.w = v0.w;
  p.a = d.a.data(), p.y = d.y.data(), p.f = d.f.data(), p.c = d.c.data();
  p.Fy = d.Fy.data(), p.Fa = d.Fa.data(), p.Jc = d.Jc.data(), p.lambda = d.lambda.data(), p.nu = d.nu.data();
  cuda::latco_assemble(p, d.D.data(), d.B.data(), d.g.data());  // Eq. (9): J^T J, J^T rho
  d.g.download(g_.data());
  std::fill(ok_.begin(), ok_.end(), 0);
  int failures = 0;
  for (int attempt = 0; attempt < 8; ++attempt) {
    d.damping.upload(damping);
    cuda::negate(d.g.size(), d.g.data(), d.x.data());  // -J^T rho
    cuda::block_tridiag_solve_damped(K_, H_, n_, d.D.data(), d.B.data(), d.damping.data(), d.x.data(), d.info.data());
    d.info.download(info_.data());
    if (attempt == 0) d.x.download(dx_.data());
    bool all = true;
    for (int k = 0; k < K_; ++k) {
      if (ok_[k]) continue;  // solved at an earlier attempt
      const int* inf = info_.data() + size_t(k) * H_;
      if (std::all_of(inf, inf + H_, [](int i) { return i == 0; })) {
        ok_[k] = 1;
        const size_t m = size_t(H_) * n_;
        if (attempt > 0) cuda::copy_d2h(dx_.data() + k * m, d.x.data() + k * m, sizeof(double) * m);
      } else {
        ++failures;  // not positive definite in floating point: damp harder
        damping[k] = std::max(damping[k] * 10.0, 1e-8);
        all = false;
      }
    }
    if (all) break;
  }
  return failures;
}

bool LatcoDeviceSolver::result(int k, double* g, double* dx) const {
  const size_t m = size_t(H_) * n_;
  std::memcpy(g, g_.data() + k * m, sizeof(double) * m);
  std::memcpy(dx, dx_.data() + k * m, sizeof(double) * m);
  return ok_[k];
}
#else
struct LatcoDeviceSolver::Buffers {};
LatcoDeviceSolver::LatcoDeviceSolver(int, int, int, int, int) : H_(0), K_(0), Y_(0), A_(0), C_(0), n_(0) {
  LATCO_FAIL("LatCo's device solve: this build has no CUDA");
}
LatcoDeviceSolver::~LatcoDeviceSolver() = default;
int LatcoDeviceSolver::solve(const PlanView&, double*) { return 0; }
bool LatcoDeviceSolver::result(int, double*, double*) const { return false; }
#endif

}  // namespace latco
