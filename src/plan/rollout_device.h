// Shooting GD's backpropagation through time on the GPU (cuda/bptt.cu): the twin of
// backprop_return (plan/rollout.h), used when the planner's model is on the device.
// Left out: keeping the model's Jacobians on the device (they come down from the model's call
// and go up again here: one upload of fz, fa, dr and a, one download of g per iteration).
#pragma once
#include <memory>

#include "plan/rollout.h"

namespace latco {

class DeviceBackprop {
 public:
  DeviceBackprop(int H, int Z, int A);  // device buffers; throws without CUDA
  ~DeviceBackprop();
  // g: (H, A) = dJ/da at lin's trajectory (its fz, fa, dr and a), as backprop_return.
  void run(const Linearization& lin, float w, float* g);

 private:
  struct Buffers;
  int H_, Z_, A_;
  std::unique_ptr<Buffers> d_;
};

}  // namespace latco
