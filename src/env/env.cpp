// Env base: scene loading, the step loop (action checks, repeat, substeps,
// reward) and rendering; make_env looks tasks up in env/tasks.cpp. Task-specific physics lives in the
// task files.
#include "env/env.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>

#include "core/error.h"
#include "core/streams.h"

namespace latco {

std::vector<std::string> env_names() {
  std::vector<std::string> out;
  for (const TaskEntry& t : task_table()) out.push_back(t.name);
  std::sort(out.begin(), out.end());
  return out;
}

std::unique_ptr<Env> make_env(const std::string& name, const EnvSettings& s) {
  const TaskEntry* task = nullptr;
  for (const TaskEntry& t : task_table())
    if (name == t.name) task = &t;
  if (!task) {
    std::string list;
    for (const auto& n : env_names()) list += (list.empty() ? "" : ", ") + n;
    LATCO_FAIL("unknown task '" << name << "'; available tasks: " << list);
  }
  return task->make(s);
}

Env::Env(const std::string& name, const std::string& xml_file, const EnvSettings& s, int action_dim,
         int default_repeat, int default_time_limit, const std::string& camera)
    : settings_(s), name_(name), action_dim_(action_dim) {
  path_ = s.task_dir + "/" + xml_file;
  if (!std::ifstream(path_).good())
    LATCO_FAIL("task '" << name << "': scene file " << path_ << " not found (set task_dir to the folder "
                        << "holding the tasks' MJCF files; run from the repository root)");
  char err[1000] = "";
  m_ = mj_loadXML(path_.c_str(), nullptr, err, sizeof err);
  if (!m_) LATCO_FAIL("task '" << name << "': cannot load " << path_ << ": " << err);
  d_ = mj_makeData(m_);
  action_repeat_ = s.action_repeat > 0 ? s.action_repeat : default_repeat;
  time_limit_ = s.time_limit > 0 ? s.time_limit : default_time_limit;
  camera_id_ = mj_name2id(m_, mjOBJ_CAMERA, camera.c_str());
  if (camera_id_ < 0) {
    mj_deleteData(d_);
    mj_deleteModel(m_);
    LATCO_FAIL("task '" << name << "': scene " << path_ << " has no camera named '" << camera << "'");
  }
  RenderSettings rs;
  rs.shadows = s.shadows;
  renderer_ = std::make_unique<RaycastRenderer>(m_, rs);
}

Env::~Env() {
  if (d_) mj_deleteData(d_);
  if (m_) mj_deleteModel(m_);
}

int Env::id(mjtObj type, const std::string& n) const {
  int i = mj_name2id(m_, type, n.c_str());
  LATCO_CHECK(i >= 0) << "scene " << path_ << " has no " << mju_type2Str(type) << " named '" << n << "'";
  return i;
}

double Env::joint(const std::string& n) const { return d_->qpos[m_->jnt_qposadr[id(mjOBJ_JOINT, n)]]; }

void Env::set_joint(const std::string& n, double v) {
  int j = id(mjOBJ_JOINT, n);
  d_->qpos[m_->jnt_qposadr[j]] = v;
  d_->qvel[m_->jnt_dofadr[j]] = 0;
  forward();
}

void Env::forward() { mj_forward(m_, d_); }

Observation Env::reset(uint64_t seed) {
  mj_resetData(m_, d_);
  Rng root(seed);
  Rng rng = root.derive(streams::kEnvReset);
  episode_rng_ = root.derive(streams::kEnvEpisode);
  reset_task(rng);
  mj_forward(m_, d_);
  after_reset();
  steps_ = 0;
  episode_over_ = false;
  return render();
}

StepResult Env::step(const std::vector<float>& action) {
  LATCO_CHECK(static_cast<int>(action.size()) == action_dim_)
      << "task '" << name_ << "': action has " << action.size() << " entries, expected " << action_dim_;
  return step(action.data());
}

StepResult Env::step(const float* action) {
  LATCO_CHECK(action != nullptr) << "task '" << name_ << "': null action";
  LATCO_CHECK(!episode_over_) << "task '" << name_ << "': step() after the episode ended; call reset(seed)";
  std::vector<float> a(action_dim_);
  for (int i = 0; i < action_dim_; ++i) {
    LATCO_CHECK(std::isfinite(action[i]))
        << "task '" << name_ << "': action[" << i << "] = " << action[i] << " is not finite";
    a[i] = action[i] < kActionLow ? kActionLow : (action[i] > kActionHigh ? kActionHigh : action[i]);
  }
  StepResult r;
  const int nsub = substeps();
  for (int rep = 0; rep < action_repeat_; ++rep) {
    begin_action(a.data());  // per repeat unit: a repeated action acts again, as in an action-repeat wrapper
    for (int k = 0; k < nsub; ++k) {
      before_substep(a.data(), k, nsub);
      mj_step(m_, d_);
    }
    mj_forward(m_, d_);  // positions, sites and velocities of the new state
    float ru = reward_unit();
    r.reward = sum_rewards() ? r.reward + ru : ru;
    if (terminal()) break;
  }
  ++steps_;
  r.success = success();
  r.done = terminal() || steps_ >= time_limit_;
  episode_over_ = r.done;
  r.state = state();
  r.obs = render();
  return r;
}

Observation Env::render() const {
  Observation o;
  o.height = o.width = settings_.image_size;
  if (!settings_.render_images) return o;
  o.image.resize(static_cast<size_t>(o.height) * o.width * 3);
  mj_camlight(m_, d_);
  // Anti-aliasing: a small image is the box mean of a finer render, so the image moves
  // smoothly with the scene (a sub-pixel move of the hand changes it).
  const int k = settings_.supersample > 0 ? settings_.supersample : std::max(1, 64 / o.height);
  if (k <= 1) {
    renderer_->render(d_, camera_id_, o.height, o.width, o.image.data());
    return o;
  }
  std::vector<uint8_t> fine(static_cast<size_t>(o.height * k) * (o.width * k) * 3);
  renderer_->render(d_, camera_id_, o.height * k, o.width * k, fine.data());
  box_downsample(fine.data(), o.height, o.width, k, o.image.data());
  return o;
}

}  // namespace latco
