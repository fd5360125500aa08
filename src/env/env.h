// Environments from pixels: a MuJoCo scene, a ray-cast camera and a task (reset
// distribution, action mapping, reward, success). Every task is one row of the
// table in env/tasks.cpp; make_env(name) builds one. Not here: any wrapper logic
// (frame stacking, normalisation) or vectorised environments.
// Adding a task: data/tasks/<name>.xml (with a camera named "cam"),
// src/env/task_<name>.cpp holding a class derived from Env (or TabletopEnv) and its
// factory new_task_<name>, and one row in env/tasks.cpp; nothing else changes.
#pragma once
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <mujoco/mujoco.h>

#include "core/rng.h"
#include "env/raycast_renderer.h"

namespace latco {

struct EnvSettings {
  int image_size = 64;                  // square images: H = W = image_size
  std::string task_dir = "data/tasks";  // folder holding the tasks' MJCF files
  int time_limit = 0;                   // agent decisions per episode; 0 = the task's default
  int action_repeat = 0;                // repeats of each agent action (each = the task's frame skip); 0 = default
  bool shadows = true;                  // one shadow ray per lit pixel
  int supersample = 0;                  // rays per pixel edge, box-averaged (0: enough for a 64-pixel render)
  bool render_images = true;            // false: observations carry no image (state-only runs, tests)
  template <class V>
  void visit(V& v) {
    v("image_size", image_size, 8, 1024);
    v("task_dir", task_dir);
    v("time_limit", time_limit, 0, 1000000);
    v("action_repeat", action_repeat, 0, 1000);
    v("shadows", shadows);
    v("supersample", supersample, 0, 8);
    v("render_images", render_images);
  }
};

// An RGB image, row-major, (H, W, 3) uint8.
struct Observation {
  int height = 0, width = 0;
  std::vector<uint8_t> image;  // (H, W, 3)
};

struct StepResult {
  Observation obs;
  float reward = 0;          // summed over the action repeat (tabletop: 1 if successful after the step, else 0)
  bool done = false;         // time limit reached or the task ended the episode
  bool success = false;      // the task's success criterion after this step
  std::vector<double> state; // true low-dimensional state (tests and scripted experts only)
};

class Env {
 public:
  virtual ~Env();
  Env(const Env&) = delete;
  Env& operator=(const Env&) = delete;

  // Starts an episode; same seed -> same episode (images, rewards, lottery draws).
  Observation reset(uint64_t seed);
  // action: (action_dim) in [-1, 1] (clipped); wrong size / NaN / Inf -> Error.
  StepResult step(const float* action);
  StepResult step(const std::vector<float>& action);

  const std::string& name() const { return name_; }
  int action_dim() const { return action_dim_; }
  static constexpr float kActionLow = -1, kActionHigh = 1;  // every action entry lies in [-1, 1]
  int action_repeat() const { return action_repeat_; }
  int time_limit() const { return time_limit_; }  // in agent decisions
  int image_size() const { return settings_.image_size; }
  int steps() const { return steps_; }              // decisions taken in this episode
  int camera() const { return camera_id_; }
  const RaycastRenderer& renderer() const { return *renderer_; }

  // True state in the task's own layout (see each task's header comment).
  virtual std::vector<double> state() const = 0;
  // Success criterion on the current physics state (after set_joint etc.).
  virtual bool success() const = 0;
  // How the episode ended so far, in the task's words, for output; "" where a task has nothing to
  // add (lottery: "safe goal", "lottery goal (won)", "lottery goal (lost)" or "no goal").
  virtual std::string outcome() const { return ""; }
  Observation render() const;  // current frame from the task camera

  // ----- state access for tests and experts -----
  const mjModel* model() const { return m_; }
  mjData* data() const { return d_; }
  double joint(const std::string& name) const;       // qpos of a 1-dof joint
  void set_joint(const std::string& name, double v); // sets qpos, zero velocity, re-runs kinematics
  void forward();                                    // mj_forward after editing qpos/mocap
  int id(mjtObj type, const std::string& name) const; // mj_name2id that throws naming the scene

 protected:
  // Loads `<task_dir>/<xml_file>`; a malformed scene throws with MuJoCo's message and the file.
  Env(const std::string& name, const std::string& xml_file, const EnvSettings& s, int action_dim,
      int default_repeat, int default_time_limit, const std::string& camera = "cam");

  // ----- task hooks -----
  // Puts the physics into the episode's start state (qpos0 and zero velocity are set already).
  virtual void reset_task(Rng& rng) = 0;
  // Called once the start state is final (after reset_task and mj_forward): per-episode reward constants.
  virtual void after_reset() {}
  // Called at the start of each repeat unit of a decision (before its substeps).
  virtual void begin_action(const float* a) {}
  // Called before each physics step (mj_step) of the decision; k counts substeps.
  virtual void before_substep(const float* a, int k, int nsub) {}
  // Physics steps per action-repeat unit (tabletop: frame skip 5).
  virtual int substeps() const { return 1; }
  // Reward of one repeat unit, after its substeps.
  virtual float reward_unit() = 0;
  // true: a decision's reward is the sum over repeats; false: the last one.
  virtual bool sum_rewards() const { return true; }
  // true ends the episode (lottery).
  virtual bool terminal() const { return false; }

  Rng episode_rng_;  // the episode's stream (lottery draws); derived from the reset seed
  EnvSettings settings_;
  mjModel* m_ = nullptr;
  mjData* d_ = nullptr;

 private:
  std::string name_, path_;
  int action_dim_, action_repeat_, time_limit_, steps_ = 0;
  bool episode_over_ = true;
  int camera_id_ = -1;
  std::unique_ptr<RaycastRenderer> renderer_;
};

// ----- the task table (env/tasks.cpp) -----
using EnvFactory = std::unique_ptr<Env> (*)(const EnvSettings&);
struct TaskEntry {
  const char* name;
  EnvFactory make;
};
const std::vector<TaskEntry>& task_table();
// Every task name, in alphabetical order.
std::vector<std::string> env_names();
// Unknown name -> Error listing the available tasks.
std::unique_ptr<Env> make_env(const std::string& name, const EnvSettings& s = EnvSettings());

// Clip helper shared by tasks.
inline double clampd(double x, double lo, double hi) { return x < lo ? lo : (x > hi ? hi : x); }

}  // namespace latco
