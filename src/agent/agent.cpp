#include "agent/agent.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <set>
#include <sstream>

#include "agent/run_checkpoint.h"
#include "agent/train_loop.h"
#include "core/device_select.h"
#include "core/error.h"
#include "core/streams.h"
#include "core/timer.h"
#include "env/episode_origin.h"
#include "io/atomic_file.h"
#include "io/checkpoint.h"
#include "io/progress.h"

namespace fs = std::filesystem;

namespace latco {
namespace {

std::string resolved_config(const Config& cfg, AgentSettings& s, RssmSettings& ms) {
  // Defaults first, then what the config changed (printed at start and saved).
  std::vector<std::pair<std::string, std::string>> now, defaults;
  Config::describe(s, now);
  Config::describe(ms, now);
  AgentSettings ds;
  RssmSettings dms;
  Config::describe(ds, defaults);
  Config::describe(dms, defaults);
  // The file is itself a loadable config (`latco eval` reads it): the resolved settings, the other
  // keys given (the planner's), and the difference from the defaults as comments.
  std::string text = "# resolved agent and model settings\n", diff;
  std::set<std::string> resolved;
  for (size_t i = 0; i < now.size(); ++i) {
    text += now[i].first + ": " + now[i].second + "\n";
    resolved.insert(now[i].first);
    if (now[i].second != defaults[i].second)
      diff += "#   " + now[i].first + ": " + now[i].second + "   (default " + defaults[i].second + ")\n";
  }
  text += "# other keys given (planner settings)\n";
  for (const auto& [k, e] : cfg.entries())
    if (!resolved.count(k)) text += k + ": " + e.value + "\n";
  return text + (diff.empty() ? "" : "# changed from the defaults:\n" + diff);
}

// A checkpoint note holding an integer or a number ("0" if absent); anything else is an Error.
double note_number(const Checkpoint& ck, const std::string& key, const std::string& path) {
  auto it = ck.notes.find(key);
  if (it == ck.notes.end()) return 0;
  char* end = nullptr;
  const double v = std::strtod(it->second.c_str(), &end);
  if (it->second.empty() || *end || !std::isfinite(v) || v < 0)
    LATCO_FAIL(path << ": checkpoint note '" << key << "' holds '" << it->second << "', not a count");
  return v;
}

bool same_value(const std::string& a, const std::string& b) {
  if (a == b) return true;
  char *ea = nullptr, *eb = nullptr;
  const double x = std::strtod(a.c_str(), &ea), y = std::strtod(b.c_str(), &eb);
  // Stored floats are printed with 7 significant digits.
  return !a.empty() && !b.empty() && !*ea && !*eb && std::fabs(x - y) <= 1e-6 * std::max(std::fabs(x), std::fabs(y));
}

}  // namespace

Config resume_config(const std::string& run_dir, const Config& given, const std::string& force_changes) {
  const std::string path = run_dir + "/config.yaml";
  Config cfg = Config::load(path);
  const std::set<std::string> free_keys = {"episodes", "eval_every", "eval_episodes", "checkpoint_every_episodes",
                                           "keep_checkpoints", "device"};
  std::set<std::string> forced;
  {
    std::stringstream ss(force_changes);
    for (std::string k; std::getline(ss, k, ',');)
      if (!k.empty()) forced.insert(k);
  }
  for (const auto& [k, e] : given.entries()) {
    const Config::Entry* old = cfg.find(k);
    if (old && same_value(old->value, e.value)) continue;
    const std::string was = old ? "'" + old->value + "'" : std::string("not set");
    if (!free_keys.count(k) && !forced.count(k))
      LATCO_FAIL(given.where(k) << ": '" << e.value << "' differs from the run's " << path << " (" << was
                                << "); resuming with it would change the experiment: pass --force-changes " << k
                                << " to do so anyway");
    std::printf("resume: %s: %s -> '%s'%s\n", k.c_str(), was.c_str(), e.value.c_str(),
                forced.count(k) ? " (forced)" : "");
    cfg.set(k, e.value);
  }
  for (const std::string& k : forced)
    if (!given.has(k)) LATCO_FAIL("--force-changes names '" << k << "', which is not given a new value");
  return cfg;
}

Agent::Agent(const Config& cfg, const std::string& run_dir, bool resume, bool quiet, bool dry_run)
    : dir_(run_dir), quiet_(quiet), dry_run_(dry_run) {
  cfg.apply(s_);
  cfg.apply(ms_);
  const Device device = select_device(s_.device, s_.require_device, "train", cfg.where("device"));
  env_ = make_run_env(s_, ms_);
  model_ = std::make_unique<Rssm>(ms_, env_->action_dim(), s_.seed);
  trainer_ = std::make_unique<ModelTrainer>(*model_, s_.seed, device);
  latent_ = std::make_unique<RssmLatentModel>(model_->transition());
  if (device == Device::CUDA) device_latent_ = std::make_unique<DeviceRssmLatentModel>(model_->transition());
  planner_ = make_planner(s_.planner, device_latent_ ? static_cast<const LatentModel&>(*device_latent_) : *latent_,
                          s_.horizon, cfg, model_.get());
  // A config may hold the settings of planners it does not select (configs/base/*.yaml set them
  // all, and planner=cem on a LatCo config is how one compares planners): every planner reads its
  // keys, then any key nobody read is an error naming its file and line.
  read_planner_keys(cfg);
  cfg.check_all_used();
  config_text_ = resolved_config(cfg, s_, ms_);
  if (dry_run_) return;
  lock_ = std::make_unique<RunLock>(dir_, "train");  // before anything in the folder is read or written
  replay_ = std::make_unique<Replay>(s_.replay_capacity, ms_.image_size, ms_.image_size, env_->action_dim(),
                                     Rng(s_.seed).derive(streams::kReplay).next_u64(), !quiet_);

  fs::create_directories(dir_ + "/episodes");
  fs::create_directories(dir_ + "/checkpoints");
  fs::create_directories(dir_ + "/eval");
  fs::create_directories(dir_ + "/plans");
  if (!quiet_) std::printf("run %s: %s", dir_.c_str(), summary().c_str());

  // Section 5.3: offline data first, then the run's own episodes (in collection order).
  if (!s_.offline_data.empty()) {
    int n = replay_->load_dir(s_.offline_data);
    if (!quiet_) std::printf("replay: %d offline episodes from %s\n", n, s_.offline_data.c_str());
  }
  if (resume) {
    Checkpoint ck;
    std::vector<std::string> corrupt;
    const std::string path = load_latest_intact(dir_ + "/checkpoints", ck, &corrupt);
    if (path.empty())
      LATCO_FAIL("--resume: no " << (corrupt.empty() ? "" : "intact ") << "checkpoint in " << dir_ << "/checkpoints"
                                 << (corrupt.empty() ? "" : " (" + corrupt.front() + ")"));
    load_checkpoint_from(path, ck);
  } else if (!latest_checkpoint(dir_ + "/checkpoints").empty()) {
    LATCO_FAIL(dir_ << " already holds a run: pass --resume to continue it, or choose another --out");
  }
  write_file_atomic(dir_ + "/config.yaml", config_text_);
  // Rows logged after the checkpoint (a killed run's last episodes) are dropped: they are collected again.
  csv_ = std::make_unique<CsvWriter>(dir_ + "/metrics.csv",
                                     std::vector<std::string>{"episode", "env_steps", "agent_steps", "grad_steps",
                                                              "eval", "return", "success", "loss", "kl", "image_ll",
                                                              "reward_ll", "plan_s_per_step", "seconds"},
                                     resume, double(episodes_));
  if (resume && csv_->dropped() > 0 && !quiet_)
    std::printf("resume: dropped %d metrics rows logged after the checkpoint\n", csv_->dropped());
}

Agent::~Agent() = default;

std::string Agent::summary() const {
  const size_t changed = config_text_.find("# changed");
  return "task " + s_.task + ", planner " + s_.planner + ", " + std::to_string(model_->num_parameters()) +
         " model parameters\n" + (changed == std::string::npos ? "# all settings at their defaults\n"
                                                                   : config_text_.substr(changed));
}

uint64_t Agent::episode_seed(int64_t index, bool eval) const {
  return Rng(s_.seed).derive(eval ? streams::kEvalEpisodes : streams::kTrainEpisodes).derive(uint64_t(index)).next_u64();
}

void Agent::add_episode(const Episode& e, bool write_file) {
  if (write_file) {
    char name[64];
    std::snprintf(name, sizeof name, "/episodes/ep%06lld.npz", (long long)episodes_);
    save_episode_with_origin(dir_ + name, e, s_.task, episode_seed(episodes_, false),
                             episodes_ < s_.prefill_episodes ? "random" : s_.planner);
  }
  replay_->add(e);
}

void Agent::log_row(bool eval, const EpisodeStats& st, const TrainMetrics& m) {
  csv_->row({double(episodes_), double(env_steps_), double(agent_steps_), double(trainer_->steps()), eval ? 1.0 : 0.0,
             st.ret, st.success ? 1.0 : 0.0, m.loss, m.kl, m.image_ll, m.reward_ll,
             st.steps ? st.plan_seconds / st.steps : 0.0, started_});
}

void Agent::collect(bool random) {
  Episode e;
  ActSettings as{s_.replan_every, random ? 0.0f : s_.action_noise};
  EpisodeStats st = run_episode(*env_, *model_, random ? nullptr : planner_.get(), as, episode_seed(episodes_, false), &e);
  add_episode(e, true);
  ++episodes_;
  env_steps_ += st.env_steps;
  agent_steps_ += st.steps;
  TrainMetrics m = random ? TrainMetrics{} : train(s_.updates_per_episode);
  log_row(false, st, m);
  last_episode_ = st;
  have_episode_ = true;
}

std::string Agent::progress_info() const {
  char buf[192];
  int n = trainer_->steps() > 0 ? std::snprintf(buf, sizeof buf, "loss %.1f | ", last_loss_) : 0;
  buf[n] = 0;
  if (have_episode_)
    n += std::snprintf(buf + n, sizeof buf - n, "last episode: return %.2f, success %d", last_episode_.ret,
                       int(last_episode_.success));
  if (have_eval_)
    std::snprintf(buf + n, sizeof buf - n, " | last eval: return %.2f, success %d", last_eval_.ret,
                  int(last_eval_.success));
  return buf;
}

TrainMetrics Agent::train(int steps) {
  TrainMetrics avg;
  TrainLoop loop;
  loop.batch = ms_.batch;
  loop.length = std::min<int>(ms_.length, env_->time_limit() + 1);
  loop.until = trainer_->steps() + steps;
  loop.failure_dir = dir_;
  loop.save_checkpoint = [&](bool failure) {
    if (failure) s_.keep_checkpoints += 1;  // keep the older ones too
    return save_checkpoint_now();
  };
  int i = 0;
  loop.after_step = [&](const TrainMetrics& m, const SequenceBatch&) {
    last_loss_ = m.loss;
    ++i;
    if (pretrain_progress_) pretrain_progress_->update(1, i, progress_info());
    avg.loss += m.loss / steps;
    avg.kl += m.kl / steps;
    avg.image_ll += m.image_ll / steps;
    avg.reward_ll += m.reward_ll / steps;
    avg.grad_norm += m.grad_norm / steps;
    avg.grad_step = m.grad_step;
  };
  run_train_loop(*trainer_, *replay_, loop);
  latent_->refresh();  // the planner's transposed weight copies follow the training
  if (device_latent_) device_latent_->refresh();
  return avg;
}

void Agent::evaluate() {
  for (int i = 0; i < s_.eval_episodes; ++i) {
    Episode e;
    PlanResult first;
    EpisodeStats st = run_episode(*env_, *model_, planner_.get(), ActSettings{s_.replan_every, 0.0f},
                                  episode_seed(episodes_ * 1000 + i, true), &e, &first);
    log_row(true, st, TrainMetrics{});
    char name[96];
    std::snprintf(name, sizeof name, "/eval/ep%06lld_%d.png", (long long)episodes_, i);
    char title[160];
    std::snprintf(title, sizeof title, "%s, planner %s, after %lld episodes: return %.2f, success %d", s_.task.c_str(),
                  s_.planner.c_str(), (long long)episodes_, st.ret, int(st.success));
    write_png(dir_ + name, with_title(episode_sheet(e, 5, 10), {title, "every 5th step; * = success at that step"}));
    if (i == 0 && first.latents.defined()) {
      std::snprintf(name, sizeof name, "/plans/ep%06lld.png", (long long)episodes_);
      write_png(dir_ + name, with_title(upscale(decode_latents(*model_, first.latents, 1), 2),
                                        {title, "the first plan's latents z_0 .. z_H decoded, left to right"}));
    }
    last_eval_ = st;
    have_eval_ = true;
    if (!quiet_)
      progress_print("eval after %lld episodes: return %.2f, success %d, planning %.3f s/step\n", (long long)episodes_,
                     st.ret, int(st.success), st.steps ? st.plan_seconds / st.steps : 0.0);
  }
}

std::string Agent::save_checkpoint_now() {
  RunCheckpoint r;
  r.index = episodes_;
  r.env_steps = env_steps_;
  r.episodes = episodes_;
  r.replay = replay_.get();
  r.notes["config"] = config_text_;
  r.notes["agent_steps"] = std::to_string(agent_steps_);
  r.notes["seconds"] = std::to_string(started_);
  r.keep = s_.keep_checkpoints;
  return write_run_checkpoint(dir_ + "/checkpoints", *trainer_, r);
}

void Agent::load_checkpoint_from(const std::string& path, const Checkpoint& ck) {
  trainer_->load(ck, path);
  latent_->refresh();
  if (device_latent_) device_latent_->refresh();
  env_steps_ = ck.env_steps;
  episodes_ = ck.episodes;
  agent_steps_ = int64_t(note_number(ck, "agent_steps", path));
  started_ = note_number(ck, "seconds", path);
  // The replay is the run's own episode files, re-added in order; then its sampling stream.
  for (int64_t i = 0; i < episodes_; ++i) {
    char name[64];
    std::snprintf(name, sizeof name, "/episodes/ep%06lld.npz", (long long)i);
    add_episode(load_episode(dir_ + name), false);
  }
  replay_->rng() = ck.rng("replay", path);
  if (!quiet_)
    std::printf("resumed %s: %lld episodes, %lld env steps, %lld gradient steps\n", path.c_str(),
                (long long)episodes_, (long long)env_steps_, (long long)trainer_->steps());
}

int Agent::run() {
  LATCO_CHECK(!dry_run_) << "Agent::run on a dry-run agent";
  const int64_t total = s_.prefill_episodes + s_.episodes;
  if (finished()) {
    if (!quiet_) std::printf("run %s is already finished (%lld episodes); nothing to do\n", dir_.c_str(),
                             (long long)episodes_);
    return 0;
  }
  StopOnSignal stop;
  // Phases: random-action episodes, pretraining steps, online episodes (plan, act, train).
  Progress progress({{"prefill", s_.prefill_episodes, "episodes"},
                     {"pretrain", s_.pretrain_steps, "steps"},
                     {"online", s_.episodes, "episodes"}});
  if (episodes_ > s_.prefill_episodes) progress.resume(2, episodes_ - s_.prefill_episodes);
  else if (episodes_ > 0) progress.resume(0, episodes_);
  Timer clock;
  const double offset = started_;
  while (episodes_ < total) {
    const bool prefill = episodes_ < s_.prefill_episodes;
    if (!prefill && !quiet_) progress.begin(2);
    collect(prefill);
    if (prefill && !quiet_) progress.update(0, episodes_, progress_info());
    if (episodes_ == s_.prefill_episodes && s_.pretrain_steps > 0 && replay_->steps() > 0) {
      if (!quiet_) progress.begin(1), pretrain_progress_ = &progress;
      train(s_.pretrain_steps);
      pretrain_progress_ = nullptr;
    }
    started_ = offset + clock.seconds();
    const int64_t online = episodes_ - s_.prefill_episodes;
    if (!prefill && s_.eval_every > 0 && online % s_.eval_every == 0) evaluate();
    const bool saved = online > 0 && (online % s_.checkpoint_every_episodes == 0 || episodes_ == total);
    if (saved) save_checkpoint_now();
    if (online > 0 && !quiet_) progress.update(2, online, progress_info());
    if (const int sig = StopOnSignal::requested(); sig != 0 && episodes_ < total) {
      if (!saved) save_checkpoint_now();
      progress_print("train: stopped by signal %d after %lld episodes; checkpoint %s written; continue with "
                     "`latco train --resume --out %s`\n", sig, (long long)episodes_,
                     checkpoint_path(dir_ + "/checkpoints", episodes_).c_str(), dir_.c_str());
      return sig;
    }
  }
  if (!quiet_) progress.finish(progress_info());
  return 0;
}

std::unique_ptr<Env> make_run_env(const AgentSettings& s, const RssmSettings& ms, bool render_images) {
  EnvSettings es;
  es.image_size = ms.image_size;
  es.time_limit = s.time_limit;
  es.render_images = render_images;
  return make_env(s.task, es);
}

// ----- pictures -----

Image decode_latents(const Rssm& model, const Tensor& latents, int every) {
  ad::NoGradGuard no_grad;
  const int64_t T = latents.size(0);
  std::vector<int64_t> rows;
  for (int64_t t = 0; t < T; t += every) rows.push_back(t);
  Tensor z({int64_t(rows.size()), latents.size(1)});
  for (size_t i = 0; i < rows.size(); ++i)
    std::copy(latents.data() + rows[i] * latents.size(1), latents.data() + (rows[i] + 1) * latents.size(1),
              z.data() + i * latents.size(1));
  Tensor img = model.decode(ad::constant(z)).value();  // (n, 3, H, W) in [-0.5, 0.5]
  const int H = int(img.size(2)), W = int(img.size(3)), HW = H * W;
  std::vector<Image> tiles;
  for (size_t i = 0; i < rows.size(); ++i) {
    Image im(H, W);
    const float* p = img.data() + i * 3 * HW;
    for (int k = 0; k < HW; ++k)
      for (int c = 0; c < 3; ++c)
        im.rgb[k * 3 + c] = uint8_t(std::lround(std::fmin(std::fmax((p[c * HW + k] + 0.5f) * 255.0f, 0.0f), 255.0f)));
    tiles.push_back(im);
  }
  return image_grid(tiles, int(tiles.size()), 1);
}

Image episode_sheet(const Episode& e, int every, int cols) {
  std::vector<Image> tiles;
  std::vector<std::string> labels;
  for (int t = 0; t < e.T; t += every) {
    Image im(e.H, e.W);
    std::copy(e.image.begin() + size_t(t) * e.H * e.W * 3, e.image.begin() + size_t(t + 1) * e.H * e.W * 3,
              im.rgb.begin());
    tiles.push_back(im);
    labels.push_back(std::to_string(t) + (e.success[t] ? "*" : ""));
  }
  return image_grid(tiles, cols, 2, labels);
}

}  // namespace latco
