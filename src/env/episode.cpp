#include "env/episode.h"

#include <dirent.h>

#include <algorithm>
#include <cstring>

#include "core/error.h"
#include "io/npz.h"

namespace latco {

// ----- episodes -----
void Episode::append(const uint8_t* img, const float* act, float rew, bool succ) {
  LATCO_CHECK(H > 0 && W > 0 && A > 0) << "Episode::append: set H, W, A first";
  image.insert(image.end(), img, img + static_cast<size_t>(H) * W * 3);
  for (int i = 0; i < A; ++i) action.push_back(act ? act[i] : 0.0f);
  reward.push_back(rew);
  success.push_back(succ ? 1 : 0);
  ++T;
}

float Episode::total_reward() const {
  float s = 0;
  for (float r : reward) s += r;
  return s;
}

bool Episode::any_success() const { return std::any_of(success.begin(), success.end(), [](uint8_t s) { return s != 0; }); }

void save_episode(const std::string& path, const Episode& e) {
  LATCO_CHECK(e.T > 0) << "save_episode " << path << ": empty episode";
  auto raw = [](const void* p, size_t n) {
    const uint8_t* b = static_cast<const uint8_t*>(p);
    return std::vector<uint8_t>(b, b + n);
  };
  std::vector<std::pair<std::string, NpyArray>> a;
  a.push_back({"image", {"|u1", {e.T, e.H, e.W, 3}, e.image}});
  a.push_back({"action", {"<f4", {e.T, e.A}, raw(e.action.data(), e.action.size() * 4)}});
  a.push_back({"reward", {"<f4", {e.T}, raw(e.reward.data(), e.reward.size() * 4)}});
  a.push_back({"success", {"|b1", {e.T}, e.success}});
  write_npz(path, a);
}

Episode load_episode(const std::string& path) {
  auto m = read_npz(path);
  for (const char* k : {"image", "action", "reward", "success"})
    LATCO_CHECK(m.count(k)) << path << ": episode file has no '" << k << "' array";
  const NpyArray &im = m["image"], &ac = m["action"], &rw = m["reward"], &su = m["success"];
  LATCO_CHECK(im.descr == "|u1" && im.shape.size() == 4 && im.shape[3] == 3)
      << path << ": 'image' must be uint8 (T, H, W, 3), got " << im.descr << " with " << im.shape.size() << " dims";
  for (const NpyArray* a : {&im, &ac})
    for (int64_t d : a->shape)
      LATCO_CHECK(d >= 1 && d <= (int64_t(1) << 30)) << path << ": array dimension " << d << " out of range [1, 2^30]";
  Episode e;
  e.T = static_cast<int>(im.shape[0]);
  e.H = static_cast<int>(im.shape[1]);
  e.W = static_cast<int>(im.shape[2]);
  LATCO_CHECK(ac.descr == "<f4" && ac.shape.size() == 2 && ac.shape[0] == e.T)
      << path << ": 'action' must be float32 (T, A) with T = " << e.T;
  e.A = static_cast<int>(ac.shape[1]);
  LATCO_CHECK(rw.descr == "<f4" && rw.shape.size() == 1 && rw.shape[0] == e.T)
      << path << ": 'reward' must be float32 (T) with T = " << e.T;
  LATCO_CHECK((su.descr == "|b1" || su.descr == "|u1") && su.shape.size() == 1 && su.shape[0] == e.T)
      << path << ": 'success' must be bool or uint8 (T) with T = " << e.T;
  e.image = im.bytes;
  e.action.resize(ac.numel());
  std::memcpy(e.action.data(), ac.bytes.data(), ac.bytes.size());
  e.reward.resize(rw.numel());
  std::memcpy(e.reward.data(), rw.bytes.data(), rw.bytes.size());
  e.success = su.bytes;
  for (uint8_t& s : e.success) s = s ? 1 : 0;
  return e;
}

std::vector<std::string> list_episode_files(const std::string& dir) {
  DIR* d = opendir(dir.c_str());
  LATCO_CHECK(d != nullptr) << "cannot open episode folder " << dir;
  std::vector<std::string> files;
  while (dirent* ent = readdir(d)) {
    std::string n = ent->d_name;
    if (n.size() > 4 && n.substr(n.size() - 4) == ".npz") files.push_back(dir + "/" + n);
  }
  closedir(d);
  std::sort(files.begin(), files.end());
  return files;
}

std::vector<Episode> load_episode_dir(const std::string& dir) {
  std::vector<std::string> files = list_episode_files(dir);
  LATCO_CHECK(!files.empty()) << "episode folder " << dir << " holds no .npz files";
  std::vector<Episode> out;
  for (const auto& f : files) out.push_back(load_episode(f));
  return out;
}

}  // namespace latco
