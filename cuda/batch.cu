// The replay batch converted on the device: the uint8 frames, actions and rewards of a
// SequenceBatch, uploaded as they are (one copy), become the model's float tensors here
// (the layout of Rssm::batch_tensors; see cuda/cuda_api.h).
// Left out: augmentation, other image layouts.
#include "common.cuh"

namespace latco::cuda {
namespace {

// One thread per output pixel value: i over (L*B, 3, H*W); src (B, L, H*W, 3).
__global__ void unpack_images_kernel(int64_t n, int B, int L, int HW, const uint8_t* __restrict__ image,
                                     float* __restrict__ images) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x) {
    const int p = (int)(i % HW);
    const int c = (int)((i / HW) % 3);
    const int64_t row = i / (3 * (int64_t)HW);  // t * B + b
    const int t = (int)(row / B), b = (int)(row % B);
    images[i] = image[(((int64_t)b * L + t) * HW + p) * 3 + c] * (1.0f / 255.0f) - 0.5f;
  }
}

// i over (L, B, A + 1): the first A columns are the action, the last the reward.
__global__ void unpack_steps_kernel(int64_t n, int B, int L, int A, const float* __restrict__ action,
                                    const float* __restrict__ reward, float* __restrict__ actions,
                                    float* __restrict__ rewards) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x) {
    const int k = (int)(i % (A + 1));
    const int64_t row = i / (A + 1);
    const int t = (int)(row / B), b = (int)(row % B);
    const int64_t src = (int64_t)b * L + t;
    if (k < A) actions[row * A + k] = action[src * A + k];
    else rewards[row] = reward[src];
  }
}

}  // namespace

void unpack_sequence_batch(int B, int L, int H, int W, int A, const uint8_t* image, const float* action,
                           const float* reward, float* images, float* actions, float* rewards) {
  const int64_t n_img = (int64_t)L * B * 3 * H * W, n_steps = (int64_t)L * B * (A + 1);
  if (n_img > 0) {
    unpack_images_kernel<<<grid_for(n_img), kThreads>>>(n_img, B, L, H * W, image, images);
    cudaCheckLaunch();
  }
  if (n_steps > 0) {
    unpack_steps_kernel<<<grid_for(n_steps), kThreads>>>(n_steps, B, L, A, action, reward, actions, rewards);
    cudaCheckLaunch();
  }
}

}  // namespace latco::cuda
