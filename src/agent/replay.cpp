// Sequence replay (see replay.h): a ring of uint8 frames, actions and rewards that
// grows with the data, with whole-episode eviction, and uniform window sampling
// from the buffer's own stream.
#include "agent/replay.h"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <new>

#include "core/error.h"
#include "core/streams.h"
#include "core/thread_pool.h"
#include "io/npz.h"

namespace latco {

Replay::Replay(int64_t capacity, int H, int W, int A, uint64_t seed, bool verbose)
    : capacity_(capacity), H_(H), W_(W), A_(A), frame_size_(int64_t(H) * W * 3), rng_(Rng(seed).derive(streams::kReplaySampling)) {
  LATCO_CHECK(capacity > 0 && H > 0 && W > 0 && A > 0)
      << "replay: capacity " << capacity << ", frame " << H << "x" << W << ", action size " << A
      << " must all be positive";
  if (verbose)
    std::printf("replay: up to %lld steps of %dx%dx3 uint8 frames (%.1f MB when full); memory grows with the data\n",
                (long long)capacity, H, W, double(step_bytes()) * double(capacity) / 1e6);
}

size_t Replay::bytes() const {
  return image_.size() + (action_.size() + reward_.size()) * sizeof(float);
}

size_t Replay::step_bytes() const { return size_t(frame_size_) + (size_t(A_) + 1) * sizeof(float); }

void Replay::reserve_steps(int64_t steps) {
  if (steps <= allocated_) return;
  // Geometric growth (x1.5) up to the capacity: amortised copies, at most 2.5x the data's size while growing.
  const int64_t target = std::min(capacity_, std::max(steps, allocated_ + allocated_ / 2));
  try {
    image_.resize(size_t(target) * size_t(frame_size_));
    action_.resize(size_t(target) * size_t(A_));
    reward_.resize(size_t(target));
  } catch (const std::bad_alloc&) {
    LATCO_FAIL("replay: out of memory growing to " << target << " steps (" << double(step_bytes()) * target / 1e9
                                                   << " GB; " << stored_ << " steps held, replay_capacity "
                                                   << capacity_ << " would need "
                                                   << double(step_bytes()) * capacity_ / 1e9
                                                   << " GB): lower replay_capacity or free memory");
  }
  allocated_ = target;
}

void Replay::add(int T, const uint8_t* image, const float* action, const float* reward) {
  LATCO_CHECK(T > 0) << "replay: empty episode";
  if (T > capacity_)
    LATCO_FAIL("replay: an episode of " << T << " steps does not fit a capacity of " << capacity_ << " steps");
  reserve_steps(std::min(capacity_, head_ + T));  // ring positions below head_ + T (mod capacity) are used
  // Evict the oldest episodes until T more steps fit.
  while (stored_ + T > capacity_) {
    stored_ -= eps_.front().length;
    eps_.pop_front();
  }
  for (int t = 0; t < T; ++t) {
    const int64_t p = (head_ + t) % capacity_;
    std::memcpy(&image_[p * frame_size_], image + int64_t(t) * frame_size_, frame_size_);
    std::memcpy(&action_[p * A_], action + int64_t(t) * A_, sizeof(float) * A_);
    reward_[p] = reward[t];
  }
  eps_.push_back({head_, T});
  head_ += T;
  stored_ += T;
  total_ += T;
}

void Replay::add(const Episode& e) {
  if (e.H != H_ || e.W != W_ || e.A != A_)
    LATCO_FAIL("replay: episode has " << e.H << "x" << e.W << " frames and " << e.A << "-D actions, the buffer "
                                      << H_ << "x" << W_ << " and " << A_ << "-D");
  LATCO_CHECK(e.image.size() == size_t(e.T) * frame_size_ && e.action.size() == size_t(e.T) * A_ &&
              e.reward.size() == size_t(e.T))
      << "replay: episode arrays do not match T = " << e.T;
  add(e.T, e.image.data(), e.action.data(), e.reward.data());
}

int Replay::load_dir(const std::string& dir) {
  int n = 0;
  for (const std::string& path : list_episode_files(dir)) {
    Episode e = load_episode(path);
    try {
      add(e);
    } catch (const Error& err) {
      LATCO_FAIL(path << ": " << err.what());
    }
    ++n;
  }
  if (n == 0) LATCO_FAIL(dir << ": no .npz episode files");
  return n;
}

int64_t Replay::valid_starts(int L) const {
  int64_t n = 0;
  for (const Ep& e : eps_) n += std::max(0, e.length - L + 1);
  return n;
}

const uint8_t* Replay::frame(int episode, int t) const {
  const Ep& e = eps_.at(episode);
  LATCO_CHECK(t >= 0 && t < e.length) << "replay: step " << t << " outside episode of " << e.length;
  return &image_[((e.begin + t) % capacity_) * frame_size_];
}

void Replay::window(int episode, int start, int L, SequenceBatch& out, int slot) const {
  const Ep& e = eps_.at(episode);
  LATCO_CHECK(start >= 0 && start + L <= e.length)
      << "replay: window [" << start << ", " << start + L << ") outside episode of " << e.length << " steps";
  LATCO_CHECK(out.L == L && out.H == H_ && out.W == W_ && out.A == A_ && slot < out.B) << "replay: batch shape";
  for (int t = 0; t < L; ++t) {
    const int64_t p = (e.begin + start + t) % capacity_;
    const size_t row = size_t(slot) * L + t;
    std::memcpy(&out.image[row * frame_size_], &image_[p * frame_size_], frame_size_);
    std::memcpy(&out.action[row * A_], &action_[p * A_], sizeof(float) * A_);
    out.reward[row] = reward_[p];
  }
}

void Replay::sample(int B, int L, SequenceBatch& out) {
  LATCO_CHECK(B > 0 && L > 0) << "replay: batch " << B << " x " << L;
  // Prefix sums of valid starts per episode; one uniform draw over their total.
  std::vector<int64_t>& cum = cum_;  // kept between calls: no allocation per batch
  cum.assign(eps_.size() + 1, 0);
  for (size_t i = 0; i < eps_.size(); ++i) cum[i + 1] = cum[i] + std::max(0, eps_[i].length - L + 1);
  const int64_t n = cum.back();
  if (n == 0)
    LATCO_FAIL("replay: no episode has " << L << " steps (" << eps_.size() << " episodes, " << stored_
                                         << " steps stored)");
  if (out.B != B || out.L != L || out.H != H_ || out.W != W_ || out.A != A_) out.resize(B, L, H_, W_, A_);
  // The draws, in order from the one stream; then the windows copied in parallel.
  picks_.resize(size_t(B));
  for (int b = 0; b < B; ++b) {
    // A 64-bit draw reduced mod n: the bias (n / 2^64) is far below anything measurable.
    const uint64_t r = rng_.next_u64() % uint64_t(n);
    const int64_t k = int64_t(r);
    const size_t ep = size_t(std::upper_bound(cum.begin(), cum.end(), k) - cum.begin()) - 1;
    picks_[size_t(b)] = {int(ep), int(k - cum[ep])};
  }
  struct Job {
    const Replay* r;
    SequenceBatch* out;
    int L;
  } job{this, &out, L};
  const Job* jp = &job;  // one-pointer capture: no allocation inside std::function
  parallel_for(B, [jp](int64_t b0, int64_t b1) {
    for (int64_t b = b0; b < b1; ++b) {
      const auto& pick = jp->r->picks_[size_t(b)];
      jp->r->window(pick.first, pick.second, jp->L, *jp->out, int(b));
    }
  });
}

// The batch that produced a NaN, as arrays image (B, L, H, W, 3) u1, action (B, L, A) f4, reward (B, L) f4.
void save_batch(const std::string& path, const SequenceBatch& b) {
  auto arr = [](const std::string& descr, std::vector<int64_t> shape, const void* p, size_t bytes) {
    NpyArray a;
    a.descr = descr;
    a.shape = std::move(shape);
    a.bytes.assign(static_cast<const uint8_t*>(p), static_cast<const uint8_t*>(p) + bytes);
    return a;
  };
  write_npz(path, {{"image", arr("|u1", {b.B, b.L, b.H, b.W, 3}, b.image.data(), b.image.size())},
                   {"action", arr("<f4", {b.B, b.L, b.A}, b.action.data(), b.action.size() * 4)},
                   {"reward", arr("<f4", {b.B, b.L}, b.reward.data(), b.reward.size() * 4)}});
}

}  // namespace latco
