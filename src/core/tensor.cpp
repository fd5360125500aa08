#include "core/tensor.h"

#include <cstdlib>
#include <cstring>
#include <sstream>

#include "core/error.h"

namespace latco {

const char* device_name(Device d) { return d == Device::CPU ? "cpu" : "cuda"; }

std::string shape_str(const Shape& s) {
  std::ostringstream os;
  os << "(";
  for (size_t i = 0; i < s.size(); ++i) os << (i ? "," : "") << s[i];
  os << ")";
  return os.str();
}

int64_t shape_numel(const Shape& s) {
  int64_t n = 1;
  for (int64_t d : s) {
    LATCO_CHECK(d >= 0) << "negative dimension in shape " << shape_str(s);
    n *= d;
  }
  return n;
}

// ----- storage: the one place where devices are dispatched -----
Storage::Storage(int64_t n, Device dev) : size(n), device(dev) {
  if (dev == Device::CPU) {
    size_t bytes = ((static_cast<size_t>(n) * sizeof(float) + 63) / 64) * 64;
    ptr = static_cast<float*>(std::aligned_alloc(64, bytes ? bytes : 64));
    LATCO_CHECK(ptr) << "out of memory allocating " << n << " floats";
  } else {
    ptr = device::cuda_alloc(n);
  }
}
Storage::~Storage() {
  if (device == Device::CPU) std::free(ptr);
  else device::cuda_free(ptr);
}

Tensor::Tensor(const Shape& shape, Device dev)
    : shape_(shape), numel_(shape_numel(shape)), storage_(std::make_shared<Storage>(numel_, dev)) {}

Tensor Tensor::zeros(const Shape& shape, Device dev) {
  Tensor t(shape, dev);
  t.fill(0.0f);
  return t;
}
Tensor Tensor::full(const Shape& shape, float v) {
  Tensor t(shape);
  t.fill(v);
  return t;
}
Tensor Tensor::from(const Shape& shape, const std::vector<float>& values) {
  Tensor t(shape);
  LATCO_CHECK(static_cast<int64_t>(values.size()) == t.numel())
      << "Tensor::from: " << values.size() << " values for shape " << shape_str(shape);
  std::memcpy(t.data(), values.data(), values.size() * sizeof(float));
  return t;
}

int64_t Tensor::size(int d) const {
  int nd = dim();
  if (d < 0) d += nd;
  LATCO_CHECK(d >= 0 && d < nd) << "size(" << d << ") of tensor with shape " << shape_str(shape_);
  return shape_[d];
}

float& Tensor::operator[](int64_t i) {
  LATCO_CHECK(device() == Device::CPU) << "element access on a " << device_name(device()) << " tensor";
  return data()[i];
}
float Tensor::operator[](int64_t i) const {
  LATCO_CHECK(device() == Device::CPU) << "element access on a " << device_name(device()) << " tensor";
  return data()[i];
}
float Tensor::item() const {
  LATCO_CHECK(numel_ == 1) << "item() on tensor with shape " << shape_str(shape_);
  if (device() == Device::CPU) return data()[0];
  return to_vector()[0];
}

Tensor Tensor::reshape(const Shape& shape) const {
  Shape s = shape;
  int infer = -1;
  int64_t known = 1;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == -1) {
      LATCO_CHECK(infer < 0) << "reshape: more than one -1 in " << shape_str(shape);
      infer = static_cast<int>(i);
    } else {
      known *= s[i];
    }
  }
  if (infer >= 0) {
    LATCO_CHECK(known > 0 && numel_ % known == 0) << "reshape: cannot view " << shape_str(shape_) << " as " << shape_str(shape);
    s[infer] = numel_ / known;
  }
  LATCO_CHECK(shape_numel(s) == numel_) << "reshape: cannot view " << shape_str(shape_) << " as " << shape_str(shape);
  Tensor t = *this;
  t.shape_ = s;
  return t;
}

Tensor Tensor::slice0(int64_t begin, int64_t end) const {
  LATCO_CHECK(dim() >= 1 && begin >= 0 && begin <= end && end <= shape_[0])
      << "slice0 [" << begin << "," << end << ") of shape " << shape_str(shape_);
  Tensor t = *this;
  int64_t row = shape_[0] ? numel_ / shape_[0] : 0;
  t.shape_[0] = end - begin;
  t.numel_ = row * (end - begin);
  t.offset_ = offset_ + begin * row;
  return t;
}

Tensor Tensor::clone() const {
  Tensor t(shape_, device());
  t.copy_from(*this);
  return t;
}

Tensor Tensor::to(Device dev) const {
  if (dev == device()) return *this;
  Tensor t(shape_, dev);
  t.copy_from(*this);
  return t;
}

#ifdef HAVE_CUDA
// The one kernel a tensor calls itself (cuda/elementwise.cu, declared in cuda/cuda_api.h, a floor
// above this one); memory and copies go through the device hooks of core/tensor.h.
namespace cuda {
void fill(int64_t n, float v, float* y);
}  // namespace cuda
#endif

void Tensor::fill(float v) {
  if (device() == Device::CPU) {
    float* p = data();
    for (int64_t i = 0; i < numel_; ++i) p[i] = v;
  } else {
#ifdef HAVE_CUDA
    cuda::fill(numel_, v, data());
#else
    std::vector<float> host(numel_, v);
    device::cuda_copy(data(), Device::CUDA, host.data(), Device::CPU, numel_);
#endif
  }
}

void Tensor::copy_from(const Tensor& src) {
  LATCO_CHECK(src.numel() == numel_) << "copy_from: " << shape_str(src.shape()) << " into " << shape_str(shape_);
  if (device() == Device::CPU && src.device() == Device::CPU) {
    if (numel_) std::memmove(data(), src.data(), numel_ * sizeof(float));
  } else {
    device::cuda_copy(data(), device(), src.data(), src.device(), numel_);
  }
}

std::vector<float> Tensor::to_vector() const {
  std::vector<float> v(numel_);
  if (device() == Device::CPU) {
    if (numel_) std::memcpy(v.data(), data(), numel_ * sizeof(float));
  } else {
    device::cuda_copy(v.data(), Device::CPU, data(), Device::CUDA, numel_);
  }
  return v;
}

void check_same_shape(const char* op, const Tensor& a, const Tensor& b) {
  if (a.shape() != b.shape())
    LATCO_FAIL(op << ": shape mismatch " << shape_str(a.shape()) << " vs " << shape_str(b.shape()));
}

}  // namespace latco
