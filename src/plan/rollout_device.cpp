// Shooting GD's backpropagation through time on the GPU (plan/rollout_device.h).
#include "plan/rollout_device.h"

#include "core/error.h"
#ifdef HAVE_CUDA
#include "cuda/cuda_api.h"
#include "core/device_lm.h"
#endif

namespace latco {

#ifdef HAVE_CUDA
struct DeviceBackprop::Buffers {
  cuda::DeviceArray<float> fz, fa, dr, a, g;
};

DeviceBackprop::DeviceBackprop(int H, int Z, int A) : H_(H), Z_(Z), A_(A) {
  d_ = std::make_unique<Buffers>(Buffers{
      cuda::DeviceArray<float>(int64_t(H) * Z * Z), cuda::DeviceArray<float>(int64_t(H) * Z * A),
      cuda::DeviceArray<float>(int64_t(H + 1) * Z), cuda::DeviceArray<float>(int64_t(H) * A),
      cuda::DeviceArray<float>(int64_t(H) * A)});
}

void DeviceBackprop::run(const Linearization& lin, float w, float* g) {
  LATCO_CHECK(lin.H == H_ && lin.Z == Z_ && lin.A == A_)
      << "device backprop: sized for H " << H_ << ", Z " << Z_ << ", A " << A_ << ", given H " << lin.H << ", Z "
      << lin.Z << ", A " << lin.A;
  Buffers& d = *d_;
  d.fz.upload(lin.fz.data()), d.fa.upload(lin.fa.data()), d.dr.upload(lin.dr.data()), d.a.upload(lin.a.data());
  cuda::backprop_return(H_, Z_, A_, d.fz.data(), d.fa.data(), d.dr.data(), d.a.data(), w, d.g.data());
  d.g.download(g);
}
#else
struct DeviceBackprop::Buffers {};
DeviceBackprop::DeviceBackprop(int H, int Z, int A) : H_(H), Z_(Z), A_(A) {
  LATCO_FAIL("shooting GD's device backprop: this build has no CUDA");
}
void DeviceBackprop::run(const Linearization&, float, float*) {}
#endif

DeviceBackprop::~DeviceBackprop() = default;

}  // namespace latco
