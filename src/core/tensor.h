// Tensor: a contiguous row-major float32 N-d array with shared, 64-byte-aligned
// storage and a device tag. Views (reshape, leading-dimension slices) share
// storage; there are no strided views: ops that permute copy.
// Device dispatch lives in one place, storage.cpp (allocation and copies).
#pragma once
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>
#include <vector>

namespace latco {

enum class Device { CPU, CUDA };
const char* device_name(Device d);

using Shape = std::vector<int64_t>;
std::string shape_str(const Shape& s);
int64_t shape_numel(const Shape& s);

// Owns raw memory on one device.
struct Storage {
  Storage(int64_t n, Device dev);
  ~Storage();
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;
  float* ptr = nullptr;
  int64_t size = 0;
  Device device = Device::CPU;
};

class Tensor {
 public:
  Tensor() = default;
  explicit Tensor(const Shape& shape, Device dev = Device::CPU);  // uninitialised
  static Tensor empty(const Shape& shape, Device dev = Device::CPU) { return Tensor(shape, dev); }
  static Tensor zeros(const Shape& shape, Device dev = Device::CPU);
  static Tensor full(const Shape& shape, float v);
  static Tensor from(const Shape& shape, const std::vector<float>& values);
  static Tensor scalar(float v) { return full({}, v); }

  bool defined() const { return storage_ != nullptr; }
  const Shape& shape() const { return shape_; }
  int dim() const { return static_cast<int>(shape_.size()); }
  int64_t size(int d) const;  // negative d counts from the end
  int64_t numel() const { return numel_; }
  Device device() const { return storage_ ? storage_->device : Device::CPU; }

  float* data() { return storage_ ? storage_->ptr + offset_ : nullptr; }
  const float* data() const { return storage_ ? storage_->ptr + offset_ : nullptr; }
  // CPU element access (checks device); flat index.
  float& operator[](int64_t i);
  float operator[](int64_t i) const;
  float item() const;  // numel must be 1

  Tensor reshape(const Shape& shape) const;          // view; one -1 allowed
  Tensor slice0(int64_t begin, int64_t end) const;   // view of rows [begin, end) of dim 0
  Tensor clone() const;                              // deep copy, same device
  Tensor to(Device dev) const;                       // copy to a device (self if same)
  void fill(float v);
  void zero() { fill(0.0f); }
  void copy_from(const Tensor& src);                 // same numel; any devices
  std::vector<float> to_vector() const;              // host copy

  bool same_shape(const Tensor& o) const { return shape_ == o.shape_; }
  std::string str() const { return "Tensor" + shape_str(shape_); }

 private:
  Shape shape_;
  int64_t numel_ = 0;
  std::shared_ptr<Storage> storage_;
  int64_t offset_ = 0;
};

// Throws latco::Error "op: shape mismatch (2,3) vs (3,2)" unless a.shape() == b.shape().
void check_same_shape(const char* op, const Tensor& a, const Tensor& b);

// Device memory hooks, implemented in cuda/ when built with CUDA.
namespace device {
bool cuda_available();              // a usable GPU is present (false in CPU builds)
std::string cuda_status();          // one line: device name, or why not
float* cuda_alloc(int64_t n);
void cuda_free(float* p);
void cuda_copy(float* dst, Device dst_dev, const float* src, Device src_dev, int64_t n);
}  // namespace device

}  // namespace latco
