// save_episode plus the task, seed and policy arrays (see episode_origin.h).
#include "env/episode_origin.h"

#include <map>
#include <vector>

#include "io/npz.h"

namespace latco {

void save_episode_with_origin(const std::string& path, const Episode& e, const std::string& task, uint64_t seed,
                              const std::string& policy) {
  save_episode(path, e);
  std::map<std::string, NpyArray> m = read_npz(path);  // the episode's arrays as save_episode wrote them
  std::vector<std::pair<std::string, NpyArray>> arrays(m.begin(), m.end());
  auto text = [](const std::string& s) {
    return NpyArray{"|u1", {int64_t(s.size())}, std::vector<uint8_t>(s.begin(), s.end())};
  };
  std::vector<uint8_t> seed_bytes(8);
  for (int i = 0; i < 8; ++i) seed_bytes[i] = uint8_t(seed >> (8 * i));
  arrays.push_back({"task", text(task)});
  arrays.push_back({"seed", NpyArray{"<u8", {1}, seed_bytes}});
  arrays.push_back({"policy", text(policy)});
  write_npz(path, arrays);
}

}  // namespace latco
