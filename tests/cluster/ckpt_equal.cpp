// ckpt_equal A B: exit 0 when two checkpoints hold bit-identical tensors (model parameters and
// Adam moments), counters and random streams; otherwise names the first differences, exit 1.
// The Slurm test uses it to compare a cancelled-and-resumed run with an uninterrupted one.
#include <cstdio>
#include <cstring>

#include "io/checkpoint.h"

using namespace latco;

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: ckpt_equal A.bin B.bin\n");
    return 2;
  }
  try {
    const Checkpoint a = load_checkpoint(argv[1]), b = load_checkpoint(argv[2]);
    int diffs = 0;
    auto differ = [&](const std::string& what) {
      if (++diffs <= 10) std::printf("ckpt_equal: %s differs\n", what.c_str());
    };
    if (a.grad_steps != b.grad_steps) differ("grad_steps");
    if (a.env_steps != b.env_steps) differ("env_steps");
    if (a.episodes != b.episodes) differ("episodes");
    if (a.tensors.size() != b.tensors.size()) differ("the number of tensors");
    for (const auto& [name, t] : a.tensors) {
      auto it = b.tensors.find(name);
      if (it == b.tensors.end()) {
        differ("tensor " + name + " (missing in B)");
        continue;
      }
      const auto x = t.to_vector(), y = it->second.to_vector();
      if (x.size() != y.size() || std::memcmp(x.data(), y.data(), x.size() * sizeof(float)) != 0) differ("tensor " + name);
    }
    for (const auto& [name, r] : a.rngs)
      if (!b.rngs.count(name) || std::memcmp(&r, &b.rngs.at(name), sizeof(Rng)) != 0) differ("random stream " + name);
    if (diffs) return 1;
    std::printf("ckpt_equal: identical: %zu tensors, %lld gradient steps, %lld episodes\n", a.tensors.size(),
                (long long)a.grad_steps, (long long)a.episodes);
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "ckpt_equal: %s\n", e.what());
    return 2;
  }
}
