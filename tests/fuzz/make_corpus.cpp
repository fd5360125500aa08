// Writes the fuzzers' seed corpus: one small valid input per target (an episode
// .npz, one .npy array, a checkpoint as file and as payload, a parameter file, a
// config), each into DIR/<target>/. Usage: make_corpus DIR
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "env/episode.h"
#include "io/checkpoint.h"
#include "io/npz.h"
#include "nn/serialize.h"

using namespace latco;

static void put(const std::string& path, const std::vector<uint8_t>& b) {
  std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(b.data()), std::streamsize(b.size()));
}
static std::vector<uint8_t> slurp(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::vector<uint8_t>((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
}

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: make_corpus DIR\n");
    return 2;
  }
  const std::string dir = argv[1];
  for (const char* t : {"npz", "npy", "checkpoint", "params", "config"}) std::filesystem::create_directories(dir + "/" + t);
  Episode e;
  e.H = 4, e.W = 4, e.A = 2;
  std::vector<uint8_t> img(4 * 4 * 3, 7);
  const float act[2] = {0.5f, -0.25f};
  for (int t = 0; t < 3; ++t) e.append(img.data(), t ? act : nullptr, 0.5f * t, t == 2);
  save_episode(dir + "/npz/episode.npz", e);
  put(dir + "/npy/f4.npy", npy_encode(NpyArray{"<f4", {2, 3}, std::vector<uint8_t>(24, 1)}));
  put(dir + "/npy/u1.npy", npy_encode(NpyArray{"|u1", {5}, std::vector<uint8_t>(5, 2)}));

  Checkpoint ck;
  ck.grad_steps = 3, ck.env_steps = 40, ck.episodes = 2;
  Tensor w({2, 3});
  for (int i = 0; i < 6; ++i) w.data()[i] = 0.1f * i;
  ck.tensors["model/w"] = w;
  ck.tensors["adam.step"] = Tensor({2});
  ck.rngs["replay"] = Rng(5);
  ck.notes["config"] = "task: reach\n";
  save_checkpoint(dir + "/checkpoint/file.bin", ck);
  std::vector<uint8_t> raw = slurp(dir + "/checkpoint/file.bin");
  std::vector<uint8_t> file_seed{1};  // odd first byte: the raw file
  file_seed.insert(file_seed.end(), raw.begin(), raw.end());
  put(dir + "/checkpoint/file.bin", file_seed);
  std::vector<uint8_t> payload_seed{0};  // even first byte: the payload, wrapped by the target
  payload_seed.insert(payload_seed.end(), raw.begin() + 20, raw.end() - 8);
  put(dir + "/checkpoint/payload.bin", payload_seed);

  nn::save_tensors(dir + "/params/params.bin", {{"layer.w", w}, {"layer.b", Tensor({3})}});
  std::ofstream(dir + "/config/config.yaml") << "# a config\ninclude: base.yaml\ntask: reach\nseed: 3\n"
                                                "action_noise: 0.3\nmodel_deterministic_path: true\n"
                                                "planner: \"latco\"  # quoted\n";
  std::printf("make_corpus: seeds in %s/{npz,npy,checkpoint,params,config}\n", dir.c_str());
  return 0;
}
