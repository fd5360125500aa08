// The RSSM's prior transition and reward head on the GPU for the planners (see
// device_latent_model.h; math in model/transition_weights.h).
#include "model/device_latent_model.h"

#include <cstring>
#include <vector>

#include "core/error.h"
#include "cuda/cuda_api.h"

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

// dx = dy * ELU'(pre), with out = ELU(pre); all (n).
Tensor elu_grad(int64_t n, const float* pre, const float* out, const float* dy) {
  Tensor dx({n}, Device::CUDA);
  cuda::memset_zero(dx.data(), sizeof(float) * n);
  cuda::unary_backward(cuda::Unary::Elu, n, pre, out, dy, dx.data());
  return dx;
}

Tensor dev(const Shape& shape) { return Tensor(shape, Device::CUDA); }

}  // namespace

// The forward pass on the device, keeping what the Jacobians read. All (N, ...) on the GPU.
struct DeviceRssmLatentModel::Acts {
  Tensor in;            // (N, Z + A) rows [z, a], the one upload
  Tensor pre_x, x;      // (N, Hd) [s, a] W_in + b_in and its ELU
  Tensor h, gh, saved;  // (N, D) h; (N, 3D) h W_h + b_h; the GRU's gates [r, u, n]
  Tensor pre_y, y;      // (N, Hd)
  Tensor out;           // (N, Z) mu = [m, h']
};

void DeviceRssmLatentModel::forward(int N, const float* z, const float* a, Acts& t) const {
  const int S = dev_.sz.stoch, D = dev_.sz.deter, Hd = dev_.sz.hidden, A = dev_.sz.action, Z = S + D, ZA = Z + A;
  // ----- one upload: rows [z, a] -----
  std::vector<float> host(size_t(N) * ZA);
  for (int i = 0; i < N; ++i) {
    std::memcpy(&host[size_t(i) * ZA], z + size_t(i) * Z, sizeof(float) * Z);
    std::memcpy(&host[size_t(i) * ZA + Z], a + size_t(i) * A, sizeof(float) * A);
  }
  t.in = dev({N, ZA});
  cuda::copy_h2d(t.in.data(), host.data(), sizeof(float) * host.size());
  const float* s = t.in.data();  // (N, S) at row stride ZA; a at column Z
  // ----- x = ELU([s, a] W_in + b_in): W_in's first S rows take s, the last A rows take a -----
  t.pre_x = dev({N, Hd}), t.x = dev({N, Hd});
  affine(N, S, Hd, s, ZA, dev_.W_in, dev_.b_in, t.pre_x.data());
  cuda::sgemm(false, false, N, Hd, A, 1.0f, s + Z, ZA, dev_.W_in.data() + size_t(S) * Hd, Hd, 1.0f, t.pre_x.data(),
              Hd);
  cuda::unary_forward(cuda::Unary::Elu, int64_t(N) * Hd, t.pre_x.data(), t.x.data());
  t.out = dev({N, Z}), t.pre_y = dev({N, Hd}), t.y = dev({N, Hd});
  if (D > 0) {
    // ----- GRU: h' from gx = x W_x + b_x, gh = h W_h + b_h -----
    Tensor gx = dev({N, 3 * D}), hn = dev({N, D});
    t.h = dev({N, D}), t.gh = dev({N, 3 * D}), t.saved = dev({N, 3 * D});
    cuda::copy_window(N, D, 1, s, ZA, S, t.h.data(), D, 0);
    affine(N, Hd, 3 * D, t.x.data(), Hd, dev_.W_x, dev_.b_x, gx.data());
    affine(N, D, 3 * D, t.h.data(), D, dev_.W_h, dev_.b_h, t.gh.data());
    cuda::gru_cell_forward(N, D, gx.data(), t.gh.data(), t.h.data(), hn.data(), t.saved.data());
    affine(N, D, Hd, hn.data(), D, dev_.W_p, dev_.b_p, t.pre_y.data());
    cuda::copy_window(N, D, 1, hn.data(), D, 0, t.out.data(), Z, S);
  } else {
    affine(N, Hd, Hd, t.x.data(), Hd, dev_.W_p, dev_.b_p, t.pre_y.data());
  }
  // y = ELU(.); without D, the SSM's sigmoid layer
  cuda::unary_forward(D > 0 ? cuda::Unary::Elu : cuda::Unary::Sigmoid, int64_t(N) * Hd, t.pre_y.data(), t.y.data());
  // ----- m = y W_m + b_m; mu = [m, h'] -----
  Tensor m = dev({N, S});
  affine(N, Hd, S, t.y.data(), Hd, dev_.W_m, dev_.b_m, m.data());
  cuda::copy_window(N, S, 1, m.data(), S, 0, t.out.data(), Z, 0);
}

void DeviceRssmLatentModel::predict(int N, const float* z, const float* a, float* z_next) const {
  if (N <= 0) return;
  Acts t;
  forward(N, z, a, t);
  cuda::copy_d2h(z_next, t.out.data(), sizeof(float) * t.out.numel());  // the one download
}

// d mu / d(z, a) with mu = [m, h'], h' = GRU(x, h), x = ELU([s, a] W_in + b_in),
// m = ELU(h' W_p + b_p) W_m + b_m:
//   d h'/d[s, a] = (d h'/d x) diag(ELU'(x)) W_in^T,  d h'/d h from the gates;
//   d m/d h' = W_m^T diag(ELU'(y)) W_p^T;  d m/d[s, a] and d m/d h through d h'.
void DeviceRssmLatentModel::predict_jacobians(int N, const float* z, const float* a, float* mu, float* dmu_dz,
                                              float* dmu_da) const {
  const int S = dev_.sz.stoch, D = dev_.sz.deter, Hd = dev_.sz.hidden, A = dev_.sz.action, Z = S + D, SA = S + A;
  if (D == 0) return cpu_.predict_jacobians(N, z, a, mu, dmu_dz, dmu_da);  // the ablation: on the CPU
  if (N <= 0) return;
  Acts t;
  forward(N, z, a, t);
  Tensor ones = dev({int64_t(N) * Hd});
  cuda::fill(ones.numel(), 1.0f, ones.data());
  const Tensor ex = elu_grad(int64_t(N) * Hd, t.pre_x.data(), t.x.data(), ones.data());  // (N, Hd)
  const Tensor ey = elu_grad(int64_t(N) * Hd, t.pre_y.data(), t.y.data(), ones.data());  // (N, Hd)
  // ----- the GRU: d h'/d h (N, D, D) and d h'/d[s, a] (N, D, SA) -----
  Tensor c = dev({N, 4 * D}), Jh = dev({N, D, D}), Mx = dev({N, D, Hd}), Jxin = dev({N, D, SA});
  cuda::gru_jacobian_coefficients(N, D, t.saved.data(), t.gh.data(), t.h.data(), c.data());
  cuda::gru_jacobian_h(N, D, c.data(), t.saved.data(), dev_.W_h.data(), Jh.data());
  cuda::gru_jacobian_x(N, D, Hd, c.data(), dev_.W_x.data(), ex.data(), Mx.data());
  cuda::sgemm(false, true, N * D, SA, Hd, 1.0f, Mx.data(), Hd, dev_.W_in.data(), Hd, 0.0f, Jxin.data(), SA);
  // ----- the mean head: d m/d h' (N, S, D), then through the GRU -----
  Tensor E = dev({N, S, Hd}), Gm = dev({N, S, D}), Jmxin = dev({N, S, SA}), Jmh = dev({N, S, D});
  cuda::scale_transposed(N, S, Hd, dev_.W_m.data(), ey.data(), E.data());
  cuda::sgemm(false, true, N * S, D, Hd, 1.0f, E.data(), Hd, dev_.W_p.data(), Hd, 0.0f, Gm.data(), D);
  cuda::sgemm_batched(N, false, false, S, SA, D, 1.0f, Gm.data(), D, long(S) * D, Jxin.data(), SA, long(D) * SA, 0.0f,
                      Jmxin.data(), SA, long(S) * SA);
  cuda::sgemm_batched(N, false, false, S, D, D, 1.0f, Gm.data(), D, long(S) * D, Jh.data(), D, long(D) * D, 0.0f,
                      Jmh.data(), D, long(S) * D);
  // ----- assembled into one buffer [mu (N, Z) | dmu_dz (N, Z, Z) | dmu_da (N, Z, A)], one download -----
  const int64_t nz = int64_t(N) * Z, nzz = nz * Z, nza = nz * A;
  Tensor res = dev({nz + nzz + nza});
  float *Jz = res.data() + nz, *Ja = Jz + nzz;
  cuda::copy_d2d(res.data(), t.out.data(), sizeof(float) * nz);
  const int64_t zz = int64_t(Z) * Z, za = int64_t(Z) * A;
  cuda::copy_blocks(N, S, S, Jmxin.data(), int64_t(S) * SA, SA, Jz, zz, Z);                 // d m/d s
  cuda::copy_blocks(N, S, D, Jmh.data(), int64_t(S) * D, D, Jz + S, zz, Z);                  // d m/d h
  cuda::copy_blocks(N, D, S, Jxin.data(), int64_t(D) * SA, SA, Jz + int64_t(S) * Z, zz, Z);  // d h'/d s
  cuda::copy_blocks(N, D, D, Jh.data(), int64_t(D) * D, D, Jz + int64_t(S) * Z + S, zz, Z);  // d h'/d h
  cuda::copy_blocks(N, S, A, Jmxin.data() + S, int64_t(S) * SA, SA, Ja, za, A);             // d m/d a
  cuda::copy_blocks(N, D, A, Jxin.data() + S, int64_t(D) * SA, SA, Ja + int64_t(S) * A, za, A);  // d h'/d a
  std::vector<float> host(size_t(res.numel()));
  cuda::copy_d2h(host.data(), res.data(), sizeof(float) * host.size());
  if (mu) std::memcpy(mu, host.data(), sizeof(float) * nz);
  if (dmu_dz) std::memcpy(dmu_dz, host.data() + nz, sizeof(float) * nzz);
  if (dmu_da) std::memcpy(dmu_da, host.data() + nz + nzz, sizeof(float) * nza);
}

// r(z) = ELU(ELU(z R1 + c1) R2 + c2) R3 + c3, and dr/dz = ((R3 ELU'_2) R2^T ELU'_1) R1^T.
void DeviceRssmLatentModel::reward_device(int N, const float* z, float* r, float* dr_dz) const {
  if (N <= 0) return;
  const int Z = dev_.sz.latent(), Hr = dev_.sz.reward_hidden;
  const int64_t nh = int64_t(N) * Hr;
  Tensor in = dev({N, Z}), pre1 = dev({N, Hr}), h1 = dev({N, Hr}), pre2 = dev({N, Hr}), h2 = dev({N, Hr});
  Tensor res = dev({int64_t(N) * (1 + (dr_dz ? Z : 0))});  // [r (N) | dr/dz (N, Z)]
  cuda::copy_h2d(in.data(), z, sizeof(float) * N * Z);
  affine(N, Z, Hr, in.data(), Z, dev_.R1, dev_.c1, pre1.data());
  cuda::unary_forward(cuda::Unary::Elu, nh, pre1.data(), h1.data());
  affine(N, Hr, Hr, h1.data(), Hr, dev_.R2, dev_.c2, pre2.data());
  cuda::unary_forward(cuda::Unary::Elu, nh, pre2.data(), h2.data());
  affine(N, Hr, 1, h2.data(), Hr, dev_.R3, dev_.c3, res.data());
  if (dr_dz) {
    Tensor r3 = dev({N, Hr}), t1 = dev({N, Hr});
    cuda::memset_zero(r3.data(), sizeof(float) * nh);
    cuda::sum_axis_backward(1, N, Hr, dev_.R3.data(), r3.data());  // R3 in every row
    const Tensor g2 = elu_grad(nh, pre2.data(), h2.data(), r3.data());
    cuda::sgemm(false, true, N, Hr, Hr, 1.0f, g2.data(), Hr, dev_.R2.data(), Hr, 0.0f, t1.data(), Hr);
    const Tensor g1 = elu_grad(nh, pre1.data(), h1.data(), t1.data());
    cuda::sgemm(false, true, N, Z, Hr, 1.0f, g1.data(), Hr, dev_.R1.data(), Hr, 0.0f, res.data() + N, Z);
  }
  std::vector<float> host(size_t(res.numel()));
  cuda::copy_d2h(host.data(), res.data(), sizeof(float) * host.size());  // the one download
  if (r) std::memcpy(r, host.data(), sizeof(float) * N);
  if (dr_dz) std::memcpy(dr_dz, host.data() + N, sizeof(float) * N * Z);
}
#else
struct DeviceRssmLatentModel::Acts {};
void DeviceRssmLatentModel::forward(int, const float*, const float*, Acts&) const {
  LATCO_FAIL("DeviceRssmLatentModel: this build has no CUDA support");
}
void DeviceRssmLatentModel::predict(int, const float*, const float*, float*) const {
  LATCO_FAIL("DeviceRssmLatentModel: this build has no CUDA support");
}
void DeviceRssmLatentModel::predict_jacobians(int, const float*, const float*, float*, float*, float*) const {
  LATCO_FAIL("DeviceRssmLatentModel: this build has no CUDA support");
}
void DeviceRssmLatentModel::reward_device(int, const float*, float*, float*) const {
  LATCO_FAIL("DeviceRssmLatentModel: this build has no CUDA support");
}
#endif

}  // namespace latco
