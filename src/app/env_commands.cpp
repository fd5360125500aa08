// Commands of the env part: `latco collect` (episode files from a scripted or
// random policy), `latco render` (a contact sheet of one episode) and
// `latco bench env` (step + render throughput, one thread).
#include <algorithm>
#include <cstdio>
#include <ctime>
#include <filesystem>

#include "app/command.h"
#include "core/error.h"
#include "core/timer.h"
#include "env/collect.h"
#include "env/env.h"
#include "env/episode.h"
#include "env/episode_origin.h"
#include "env/experts.h"
#include "io/gif.h"
#include "io/png.h"
#include "io/progress.h"
#include "kernels/flops.h"

namespace latco {

namespace {
enum class PolicyKind { Scripted, Random };

PolicyKind parse_policy(const std::string& p) {
  if (p == "scripted") return PolicyKind::Scripted;
  if (p == "random") return PolicyKind::Random;
  LATCO_FAIL("--policy must be 'scripted' or 'random', got '" << p << "'");
}

void make_dir(const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) LATCO_FAIL("cannot create folder " << dir << ": " << ec.message());
}

// The task's own words for how the episode ended (lottery: ", at the lottery goal (lost)");
// "" on tasks that have none.
std::string episode_outcome(const Env& env) {
  const std::string o = env.outcome();
  return o.empty() ? "" : (o == "no goal" ? ", at " : ", at the ") + o;
}

// Scripted where the task has an expert, random otherwise (the locomotion tasks).
std::string default_policy(const std::string& task) {
  const auto names = expert_names();
  return std::find(names.begin(), names.end(), task) != names.end() ? "scripted" : "random";
}

EnvSettings settings_from(const Args& args) {
  EnvSettings s;
  s.image_size = static_cast<int>(args.get_int("size", 64));
  s.task_dir = args.get("task_dir", s.task_dir);
  if (!(s.image_size >= 8 && s.image_size <= 1024)) LATCO_FAIL("--size must be in [8, 1024], got " << s.image_size);
  return s;
}
}  // namespace

const std::vector<HelpLine> kEnvFlags = {
    {"--size", "64", "image height and width in pixels (8 to 1024)"},
    {"--task_dir", "data/tasks", "folder holding the tasks' MJCF files"}};
std::vector<HelpLine> with_env_flags(std::vector<HelpLine> v) {
  v.insert(v.end(), kEnvFlags.begin(), kEnvFlags.end());
  return v;
}

// --expert picks another expert for the task (lottery: --expert lottery_safe).
int cmd_collect(const Args& args) {
  std::string task = args.get("task", "");
  if (task.empty()) LATCO_FAIL("collect: --task is required (latco list tasks)");
  const std::string policy = args.get("policy", default_policy(task));
  PolicyKind kind = parse_policy(policy);
  float noise = static_cast<float>(args.get_double("noise", 0.0));
  int hold = static_cast<int>(args.get_int("hold", 1));  // random policy: steps each action is held
  int episodes = static_cast<int>(args.get_int("episodes", 50));
  std::string out = args.get("out", "");
  if (out.empty()) LATCO_FAIL("collect: --out DIR is required");
  uint64_t seed = static_cast<uint64_t>(args.get_int("seed", 0));
  EnvSettings s = settings_from(args);
  std::string expert_name = args.get("expert", task);
  args.check_all_read("collect");
  auto env = make_env(task, s);
  std::unique_ptr<Expert> expert;
  if (kind == PolicyKind::Scripted) expert = make_expert(expert_name, noise);
  make_dir(out);
  int successes = 0;
  double total = 0;
  Progress progress({{"collect " + task, episodes, "episodes"}});
  for (int i = 0; i < episodes; ++i) {
    uint64_t es = Rng(seed).derive(static_cast<uint64_t>(i)).next_u64();
    Episode e = collect_episode(*env, expert.get(), es, hold);
    char name[64];
    std::snprintf(name, sizeof name, "/%s_%05d.npz", task.c_str(), i);
    save_episode_with_origin(out + name, e, task, es,
                             kind == PolicyKind::Scripted ? "scripted:" + expert_name : "random");
    successes += e.success.back() ? 1 : 0;
    total += e.total_reward();
    char info[96];
    std::snprintf(info, sizeof info, "last return %.2f, success %d | successes %d of %d", e.total_reward(),
                  int(e.success.back()), successes, i + 1);
    progress.update(i + 1, info);
  }
  progress.finish("");
  std::printf("collect %s policy=%s noise=%.2f episodes=%d success_rate %.3f mean_return %.3f -> %s\n", task.c_str(),
              policy.c_str(), noise, episodes, successes / double(episodes), total / episodes,
              out.c_str());
  return 0;
}

CommandHelp help_collect() {
  return CommandHelp{"latco collect --task T --out DIR [--episodes N] [--policy scripted|random] [--noise X] [--hold K] "
                    "[--expert E] [--seed S] [--size N]",
                    with_env_flags({{"--task", "", "task name (latco list tasks); required"},
                                    {"--out", "", "folder for the episode files TASK_00000.npz, ... (created); required"},
                                    {"--episodes", "50", "episodes to collect"},
                                    {"--policy", "scripted if the task has an expert, else random", "scripted | random"},
                                    {"--noise", "0", "std of Gaussian noise added to the expert's actions"},
                                    {"--hold", "1", "random policy: steps each random action is held"},
                                    {"--expert", "the task's", "another scripted expert (lottery: lottery_safe)"},
                                    {"--seed", "0", "episode i starts from a seed derived from (seed, i)"}}),
                    "",
                    {}};
}

int cmd_render(const Args& args) {
  std::string task = args.get("task", "");
  if (task.empty()) LATCO_FAIL("render: --task is required (latco list tasks)");
  const std::string policy = args.get("policy", default_policy(task));
  PolicyKind kind = parse_policy(policy);
  float noise = static_cast<float>(args.get_double("noise", 0.0));
  uint64_t seed = static_cast<uint64_t>(args.get_int("seed", 0));
  std::string out = args.get("out", "");
  if (out.empty()) LATCO_FAIL("render: --out sheet.png or --out episode.gif is required");
  const std::string ext = out.size() > 4 ? out.substr(out.size() - 4) : "";
  if (ext != ".png" && ext != ".gif") LATCO_FAIL("render: --out must end in .png or .gif, got '" << out << "'");
  const bool gif = ext == ".gif";
  int every = static_cast<int>(args.get_int("every", 0));
  int cols = static_cast<int>(args.get_int("cols", 8));
  int scale = static_cast<int>(args.get_int("scale", gif ? 4 : 1));
  if (!(scale >= 1 && scale <= 16)) LATCO_FAIL("--scale must be in [1, 16], got " << scale);
  EnvSettings s = settings_from(args);
  std::string expert_name = args.get("expert", task);
  args.check_all_read("render");
  auto env = make_env(task, s);
  std::unique_ptr<Expert> expert;
  if (kind == PolicyKind::Scripted) expert = make_expert(expert_name, noise);
  const std::string parent = std::filesystem::path(out).parent_path().string();
  if (!parent.empty()) make_dir(parent);
  Episode e = collect_episode(*env, expert.get(), seed);
  const std::string who = kind == PolicyKind::Scripted ? "scripted expert " + expert_name : "random policy";
  const std::string goal = episode_outcome(*env);
  auto frame = [&](int t) {
    Image im(e.H, e.W);
    std::copy(e.image.begin() + static_cast<size_t>(t) * e.H * e.W * 3,
              e.image.begin() + static_cast<size_t>(t + 1) * e.H * e.W * 3, im.rgb.begin());
    return scale > 1 ? upscale(im, scale) : im;
  };
  char head[160];
  if (gif) {  // one frame per step, under a line: step, return so far, success
    std::vector<Image> frames;
    double ret = 0;
    for (int t = 0; t < e.T; ++t) {
      ret += e.reward[t];
      std::snprintf(head, sizeof head, "t=%d  return %.1f%s", t, ret, e.success[t] ? "  success" : "");
      frames.push_back(with_title(frame(t), {task, head}));
    }
    pad_to_common_size(frames);  // the titles differ in width
    write_gif(out, frames, 8);
    std::printf("render %s (%s, seed %llu): %d frames, return %.2f, final success %d%s -> %s\n", task.c_str(),
                who.c_str(), (unsigned long long)seed, e.T, e.total_reward(), int(e.success.back()), goal.c_str(),
                out.c_str());
    return 0;
  }
  if (every <= 0) every = std::max(1, (e.T - 1) / 31);  // about 32 frames
  std::vector<Image> tiles;
  std::vector<std::string> labels;
  for (int t = 0; t < e.T; t += every) {
    tiles.push_back(frame(t));
    labels.push_back(std::to_string(t) + (e.success[t] ? "*" : ""));
  }
  std::snprintf(head, sizeof head, "%s, %s, seed %llu: return %.2f, final success %d%s", task.c_str(), who.c_str(),
                (unsigned long long)seed, e.total_reward(), int(e.success.back()), goal.c_str());
  write_png(out, with_title(image_grid(tiles, cols, 2, labels),
                            {head, "labels: step t; * = the task's success criterion holds at t"}));
  std::printf("render %s: %d frames (every %d), return %.2f, final success %d%s -> %s\n", task.c_str(), e.T, every,
              e.total_reward(), int(e.success.back()), goal.c_str(), out.c_str());
  return 0;
}
CommandHelp help_render() {
  return CommandHelp{"latco render --task T --out sheet.png|episode.gif [--policy scripted|random] [--seed S] "
                            "[--every K] [--cols N] [--scale N] [--size N]",
                            with_env_flags({{"--task", "", "task name (latco list tasks); required"},
                                            {"--out", "", "the picture to write: .png a contact sheet, .gif one frame per step; required"},
                                            {"--policy", "scripted if the task has an expert, else random",
                                             "scripted | random"},
                                            {"--noise", "0", "std of Gaussian noise added to the expert's actions"},
                                            {"--expert", "the task's", "another scripted expert (lottery: lottery_safe)"},
                                            {"--seed", "0", "the episode's seed"},
                                            {"--every", "about 32 frames in all", "contact sheet: draw every k-th frame"},
                                            {"--cols", "8", "contact sheet: frames per row"},
                                            {"--scale", "1 (.png), 4 (.gif)", "pixel upscaling of each frame (1 to 16)"}}),
                            "",
                            {}};
}

// Thread CPU seconds: on a shared, loaded machine this is steadier than wall time.
static double thread_cpu_seconds() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

int bench_env(const Args& args) {
  // One thread: step (action repeat included) + a 64x64 render per agent decision.
  for (const char* task : {"push", "cheetah_run"}) {
    EnvSettings s;
    s.task_dir = args.get("task_dir", s.task_dir);
    auto env = make_env(task, s);
    env->reset(1);
    Rng rng(7);
    std::vector<float> a(env->action_dim());
    int frames = 0;
    Timer t;
    double cpu0 = thread_cpu_seconds();
    while (t.seconds() < 1.0) {
      for (float& x : a) x = rng.uniform(-1.0f, 1.0f);
      StepResult r = env->step(a.data());
      ++frames;
      if (r.done) env->reset(frames);
    }
    double cpu = thread_cpu_seconds() - cpu0;
    bench_print(std::string("env_frames_per_s_") + task, frames / t.seconds(), "frames/s");
    bench_print(std::string("env_frames_per_cpu_s_") + task, frames / cpu, "frames/cpu-s");
  }
  return 0;
}

}  // namespace latco
