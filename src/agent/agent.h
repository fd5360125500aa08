// The online MBRL agent (Algorithm 1): random prefill, then repeat {collect an
// episode with MPC + exploration noise, add it to the replay, train I gradient
// steps}, evaluating without noise every N episodes. Offline-plus-online
// (Section 5.3) seeds the replay from a folder of episode files first.
// A run lives in runs/NAME/: config.yaml, metrics.csv, episodes/ (the replay's
// own data), checkpoints/, eval/ and plans/ PNGs. All randomness derives from
// (seed, episode index) or from streams stored in the checkpoint, so a resumed
// run continues exactly as a straight one would.
#pragma once
#include <cstdint>
#include <memory>
#include <string>

#include "agent/episode_runner.h"
#include "agent/replay.h"
#include "env/env.h"
#include "io/checkpoint.h"
#include "io/config.h"
#include "io/csv.h"
#include "io/png.h"
#include "io/progress.h"
#include "io/run_lock.h"
#include "model/device_latent_model.h"
#include "model/elbo.h"
#include "model/rssm.h"
#include "model/rssm_latent_model.h"
#include "plan/planner.h"

namespace latco {

struct AgentSettings {
  std::string task = "reach";        // environment name (latco list tasks)
  uint64_t seed = 0;                 // every random stream of the run derives from it
  std::string planner = "latco";     // planner name (latco list planners)
  int horizon = 30;                  // H: planning horizon
  int replan_every = 30;             // T_cache: actions executed per plan
  float action_noise = 0.3f;         // exploration noise std while collecting
  int prefill_episodes = 5;          // random-action episodes before the first update
  int pretrain_steps = 100;          // gradient steps after prefill
  int episodes = 50;                 // online episodes after prefill (the run stops there)
  int updates_per_episode = 15;      // I: gradient steps after each collected episode
  int eval_every = 10;               // online episodes between evaluations (0: never)
  int eval_episodes = 1;             // noise-free episodes per evaluation
  int checkpoint_every_episodes = 5;  // online episodes between checkpoints
  int keep_checkpoints = 2;          // newest N kept
  std::string offline_data = "";     // folder of .npz episodes seeding the replay (Section 5.3)
  int64_t replay_capacity = 1000000; // steps kept in the replay
  int time_limit = 0;                // decisions per episode; 0 = the task's default
  std::string device = "cpu";        // cpu | cuda: where the model trains and train plans (core/device_select.h)
  bool require_device = false;       // true: device cuda without a usable GPU is an error, not a fallback

  template <class V>
  void visit(V& v) {
    v("task", task);
    v("seed", seed);
    v("planner", planner);
    v("horizon", horizon, 1, 10000);
    v("replan_every", replan_every, 1, 10000);
    v("action_noise", action_noise, 0.0, 10.0);
    v("prefill_episodes", prefill_episodes, 0, 1000000);
    v("pretrain_steps", pretrain_steps, 0, 100000000);
    v("episodes", episodes, 0, 100000000);
    v("updates_per_episode", updates_per_episode, 0, 100000000);
    v("eval_every", eval_every, 0, 100000000);
    v("eval_episodes", eval_episodes, 0, 100000);
    v("checkpoint_every_episodes", checkpoint_every_episodes, 1, 100000000);
    v("keep_checkpoints", keep_checkpoints, 1, 1000);
    v("offline_data", offline_data);
    v("replay_capacity", replay_capacity, 1, int64_t(1) << 40);
    v("time_limit", time_limit, 0, 1000000);
    v("device", device);
    v("require_device", require_device);
  }
};

// The config a resumed run continues with: run_dir/config.yaml (the resolved settings the
// run started with), with `given` (a --config file and key=value overrides) on top. A given
// setting that differs from the stored one and alters the experiment (anything but the keys
// below) is an Error naming it, unless force_changes (comma-separated keys) names it.
// May change freely: episodes, eval_every, eval_episodes, checkpoint_every_episodes,
// keep_checkpoints, device.
Config resume_config(const std::string& run_dir, const Config& given, const std::string& force_changes);

class Agent {
 public:
  // Builds env, model, trainer, planner from the config (every key must be known: the agent's, the
  // model's, and any planner's of the table, so one config can be run with planner=<any>);
  // resume: continue from the newest intact checkpoint in run_dir. Holds run_dir's lock
  // (io/run_lock.h) for its lifetime. dry_run: stop after those checks, writing nothing,
  // taking no lock, reading no offline data and allocating no replay (run() then refuses).
  Agent(const Config& cfg, const std::string& run_dir, bool resume, bool quiet = false, bool dry_run = false);
  ~Agent();
  // Until prefill + episodes have been collected: returns 0. A SIGINT or SIGTERM stops it
  // after the current episode with a checkpoint written: returns the signal's number.
  int run();
  bool finished() const { return episodes_ >= s_.prefill_episodes + s_.episodes; }
  // What a dry run resolved: task, planner, model size, and the settings changed from the defaults.
  std::string summary() const;

  const AgentSettings& settings() const { return s_; }
  Rssm& model() { return *model_; }
  Env& env() { return *env_; }
  Planner& planner() { return *planner_; }
  int64_t episodes_done() const { return episodes_; }
  int64_t env_steps() const { return env_steps_; }
  int64_t grad_steps() const { return trainer_->steps(); }

 private:
  uint64_t episode_seed(int64_t index, bool eval) const;
  void collect(bool random);                   // one training episode into the replay
  TrainMetrics train(int steps);               // I gradient steps (averaged metrics)
  void evaluate();
  std::string save_checkpoint_now();  // returns the path written
  void load_checkpoint_from(const std::string& path, const Checkpoint& ck);
  void add_episode(const Episode& e, bool write_file);
  void log_row(bool eval, const EpisodeStats& st, const TrainMetrics& m);
  std::string progress_info() const;  // loss, the last episode's and evaluation's return and success

  AgentSettings s_;
  RssmSettings ms_;
  std::string dir_;
  bool quiet_;
  bool dry_run_;
  std::unique_ptr<RunLock> lock_;
  std::unique_ptr<Env> env_;
  std::unique_ptr<Rssm> model_;
  std::unique_ptr<ModelTrainer> trainer_;
  std::unique_ptr<RssmLatentModel> latent_;
  std::unique_ptr<DeviceRssmLatentModel> device_latent_;  // device cuda: the planner's latent model there
  std::unique_ptr<Planner> planner_;
  std::unique_ptr<Replay> replay_;
  std::unique_ptr<CsvWriter> csv_;
  int64_t episodes_ = 0, env_steps_ = 0, agent_steps_ = 0;
  double started_ = 0;
  std::string config_text_;
  // The progress line: run() creates it; train() advances it while pretraining.
  Progress* pretrain_progress_ = nullptr;
  double last_loss_ = 0;
  EpisodeStats last_episode_, last_eval_;
  bool have_episode_ = false, have_eval_ = false;
};

// Helpers shared with eval and the demo.
// The run's environment: its task at the model's image size and the run's time limit.
std::unique_ptr<Env> make_run_env(const AgentSettings& s, const RssmSettings& ms, bool render_images = true);
Image decode_latents(const Rssm& model, const Tensor& latents, int every);  // (T, Z) -> strip
Image episode_sheet(const Episode& e, int every, int cols);                 // frames -> grid

}  // namespace latco
