// The RSSM's prior transition and reward head on the GPU for the planners (see
// device_latent_model.h; math in model/transition_weights.h).
#include "model/device_latent_model.h"

#include <cstring>
#include <vector>

#include "core/cuda_api.h"
#include "core/error.h"

namespace latco {

DeviceRssmLatentModel::DeviceRssmLatentModel(const TransitionWeights& w, float action_max)
    : cpu_(w, action_max), w_(w) {
  LATCO_CHECK(device::cuda_available()) << "DeviceRssmLatentModel: " << device::cuda_status();
  refresh();
}

void DeviceRssmLatentModel::refresh() {
  cpu_.refresh();  // also checks the shapes
  dev_.sz = w_.sz;
  auto up = [](const Tensor& t) { return t.defined() ? t.to(Device::CUDA) : Tensor(); };
  dev_.W_in = up(w_.W_in), dev_.b_in = up(w_.b_in);
  dev_.W_x = up(w_.W_x), dev_.b_x = up(w_.b_x);
  dev_.W_h = up(w_.W_h), dev_.b_h = up(w_.b_h);
  dev_.W_p = up(w_.W_p), dev_.b_p = up(w_.b_p);
  dev_.W_m = up(w_.W_m), dev_.b_m = up(w_.b_m);
  dev_.W_s = up(w_.W_s), dev_.b_s = up(w_.b_s);
  dev_.R1 = up(w_.R1), dev_.c1 = up(w_.c1);
  dev_.R2 = up(w_.R2), dev_.c2 = up(w_.c2);
  dev_.R3 = up(w_.R3), dev_.c3 = up(w_.c3);
}

#ifdef HAVE_CUDA
namespace {

// y (n, out) = x W + b: x (n, in) with row stride ldx, W (in, out), b (out). The bias is
// broadcast into y first and the GEMM accumulates onto it.
void affine(int n, int in, int out, const float* x, int ldx, const Tensor& W, const Tensor& b, float* y) {
  cuda::memset_zero(y, sizeof(float) * n * out);
  cuda::sum_axis_backward(1, n, out, b.data(), y);  // y[i][j] += b[j]
  cuda::sgemm(false, false, n, out, in, 1.0f, x, ldx, W.data(), out, 1.0f, y, out);
}

}  // namespace

void DeviceRssmLatentModel::predict(int N, const float* z, const float* a, float* z_next) const {
  if (N <= 0) return;
  const int S = dev_.sz.stoch, D = dev_.sz.deter, Hd = dev_.sz.hidden, A = dev_.sz.action, Z = S + D, ZA = Z + A;
  // ----- one upload: rows [z, a] -----
  std::vector<float> host(size_t(N) * ZA);
  for (int i = 0; i < N; ++i) {
    std::memcpy(&host[size_t(i) * ZA], z + size_t(i) * Z, sizeof(float) * Z);
    std::memcpy(&host[size_t(i) * ZA + Z], a + size_t(i) * A, sizeof(float) * A);
  }
  Tensor in({N, ZA}, Device::CUDA);
  cuda::copy_h2d(in.data(), host.data(), sizeof(float) * host.size());
  const float* s = in.data();  // (N, S) at row stride ZA; a at column Z
  // ----- x = ELU([s, a] W_in + b_in): W_in's first S rows take s, the last A rows take a -----
  Tensor pre({N, Hd}, Device::CUDA), x({N, Hd}, Device::CUDA);
  affine(N, S, Hd, s, ZA, dev_.W_in, dev_.b_in, pre.data());
  cuda::sgemm(false, false, N, Hd, A, 1.0f, s + Z, ZA, dev_.W_in.data() + size_t(S) * Hd, Hd, 1.0f, pre.data(), Hd);
  cuda::unary_forward(cuda::Unary::Elu, int64_t(N) * Hd, pre.data(), x.data());
  Tensor out({N, Z}, Device::CUDA), y({N, Hd}, Device::CUDA), m({N, S}, Device::CUDA);
  if (D > 0) {
    // ----- GRU: h' from gx = x W_x + b_x, gh = h W_h + b_h -----
    Tensor h({N, D}, Device::CUDA), gx({N, 3 * D}, Device::CUDA), gh({N, 3 * D}, Device::CUDA);
    Tensor hn({N, D}, Device::CUDA);
    cuda::copy_window(N, D, 1, s, ZA, S, h.data(), D, 0);
    affine(N, Hd, 3 * D, x.data(), Hd, dev_.W_x, dev_.b_x, gx.data());
    affine(N, D, 3 * D, h.data(), D, dev_.W_h, dev_.b_h, gh.data());
    cuda::gru_cell_forward(N, D, gx.data(), gh.data(), h.data(), hn.data(), nullptr);
    affine(N, D, Hd, hn.data(), D, dev_.W_p, dev_.b_p, pre.data());
    cuda::copy_window(N, D, 1, hn.data(), D, 0, out.data(), Z, S);
  } else {
    affine(N, Hd, Hd, x.data(), Hd, dev_.W_p, dev_.b_p, pre.data());
  }
  cuda::unary_forward(cuda::Unary::Elu, int64_t(N) * Hd, pre.data(), y.data());
  // ----- m = y W_m + b_m; mu = [m, h'] -----
  affine(N, Hd, S, y.data(), Hd, dev_.W_m, dev_.b_m, m.data());
  cuda::copy_window(N, S, 1, m.data(), S, 0, out.data(), Z, 0);
  cuda::copy_d2h(z_next, out.data(), sizeof(float) * N * Z);  // the one download
}

// r(z) = ELU(ELU(z R1 + c1) R2 + c2) R3 + c3
void DeviceRssmLatentModel::reward(int N, const float* z, float* r) const {
  if (N <= 0) return;
  const int Z = dev_.sz.latent(), Hr = dev_.sz.reward_hidden;
  Tensor in({N, Z}, Device::CUDA), pre({N, Hr}, Device::CUDA), h1({N, Hr}, Device::CUDA), h2({N, Hr}, Device::CUDA);
  Tensor out({N, 1}, Device::CUDA);
  cuda::copy_h2d(in.data(), z, sizeof(float) * N * Z);
  affine(N, Z, Hr, in.data(), Z, dev_.R1, dev_.c1, pre.data());
  cuda::unary_forward(cuda::Unary::Elu, int64_t(N) * Hr, pre.data(), h1.data());
  affine(N, Hr, Hr, h1.data(), Hr, dev_.R2, dev_.c2, pre.data());
  cuda::unary_forward(cuda::Unary::Elu, int64_t(N) * Hr, pre.data(), h2.data());
  affine(N, Hr, 1, h2.data(), Hr, dev_.R3, dev_.c3, out.data());
  cuda::copy_d2h(r, out.data(), sizeof(float) * N);
}
#else
void DeviceRssmLatentModel::predict(int, const float*, const float*, float*) const {
  LATCO_FAIL("DeviceRssmLatentModel: this build has no CUDA support");
}
void DeviceRssmLatentModel::reward(int, const float*, float*) const {
  LATCO_FAIL("DeviceRssmLatentModel: this build has no CUDA support");
}
#endif

}  // namespace latco
