// Scripted experts: proportional controllers on the true state with a few
// phases (approach, descend, grasp, carry/push), one small class per task.
// Phases are recomputed from the state each step where possible, so an expert
// recovers when noise knocks it off its path.
#include "env/experts.h"

#include <cmath>
#include <functional>
#include <map>

#include "core/error.h"
#include "env/tabletop.h"

namespace latco {

void Expert::act(const std::vector<double>& state, float* action) {
  policy(state, action);
  for (int i = 0; i < action_dim(); ++i) {
    float a = action[i] + (noise > 0 ? noise * rng_.normal() : 0.0f);
    action[i] = a < -1 ? -1.0f : (a > 1 ? 1.0f : a);
  }
}

namespace {

Vec3 at(const std::vector<double>& s, int k) { return {s[k], s[k + 1], s[k + 2]}; }

// ----- tabletop helpers -----
class TabletopExpert : public Expert {
 public:
  int action_dim() const override { return 4; }

 protected:
  // Action per metre of tcp error: errors beyond 2.5 cm saturate at a full 1 cm step.
  static constexpr double kGain = 40;
  // Moves the tcp toward `target`, gripper command g (a > 0 closes).
  static void move(const std::vector<double>& s, const Vec3& target, float g, float* a, double gain = kGain) {
    for (int i = 0; i < 3; ++i) a[i] = static_cast<float>(clampd((target[i] - s[kTcp + i]) * gain, -1, 1));
    a[3] = g;
  }
};

// reach: straight to the goal.
class ReachExpert : public TabletopExpert {
  void policy(const std::vector<double>& s, float* a) override { move(s, at(s, kGoal), 1, a); }
};

// Grasp and carry: hover above the object with the gripper open, descend, close,
// then carry. `carry` gives the tcp target once the object is held.
class GraspExpert : public TabletopExpert {
 protected:
  double hover_z = 0.09;     // travel height above the table
  double grasp_dx = 0.0;     // tcp x relative to the object's origin when grasping
  double grasp_dz = 0.0;     // tcp height relative to the object's origin when grasping
  double held_grip = 0.006;  // grip closure beyond which a close around the object counts as held
  double empty_grip = 0.031; // closure of an empty, fully shut gripper
  int closing = 0;           // steps spent closing on the object
  void reset_phase() override { closing = 0; }
  virtual Vec3 object(const std::vector<double>& s) const { return at(s, kObjA); }
  virtual Vec3 carry(const std::vector<double>& s) const = 0;

  void policy(const std::vector<double>& s, float* a) override {
    Vec3 tcp = at(s, kTcp), obj = object(s);
    Vec3 grasp = {obj[0] + grasp_dx, obj[1], obj[2] + grasp_dz};
    double grip = s[kGrip];
    bool near = dist2(tcp, grasp) < 0.02 && std::fabs(tcp[2] - grasp[2]) < 0.02;
    if (closing >= 6 && near && grip > held_grip && grip < empty_grip) {  // held: carry
      move(s, carry(s), 1, a);
      return;
    }
    bool in_place = dist2(tcp, grasp) < 0.01 && std::fabs(tcp[2] - grasp[2]) < 0.008;
    if ((closing > 0 && near) || in_place) {  // in place (or already closing): close
      ++closing;
      move(s, grasp, 1, a);
      return;
    }
    closing = 0;
    if (dist2(tcp, grasp) > 0.01) {  // travel above the grasp point
      Vec3 t = {grasp[0], grasp[1], std::max(hover_z, grasp[2] + 0.05)};
      if (tcp[2] < t[2] - 0.02 && dist2(tcp, grasp) > 0.03) t = {tcp[0], tcp[1], t[2]};  // rise first
      move(s, t, -1, a);
    } else {
      move(s, grasp, -1, a);  // descend, open
    }
  }
};

// push: grasp the puck and slide it to the goal (as Meta-World's scripted push policy does).
class PushExpert : public GraspExpert {
  Vec3 carry(const std::vector<double>& s) const override {
    Vec3 tcp = at(s, kTcp), puck = at(s, kObjA), goal = at(s, kGoal);
    return {goal[0] + tcp[0] - puck[0], goal[1] + tcp[1] - puck[1], 0.03};
  }
};

// A sequence of waypoints relative to the object; advances when the tcp is
// within `tol` of the current one. Used for button, window, drawer.
class WaypointExpert : public TabletopExpert {
 protected:
  int phase = 0;
  void reset_phase() override { phase = 0; }
  // Waypoint k for state s (k = 0 .. count - 1); the last one is held.
  virtual Vec3 waypoint(const std::vector<double>& s, int k) const = 0;
  virtual int count() const = 0;
  virtual double tol(int k) const { return 0.015; }
  virtual float grip(int k) const { return 1; }
  void policy(const std::vector<double>& s, float* a) override {
    while (phase < count() - 1 && dist3(at(s, kTcp), waypoint(s, phase)) < tol(phase)) ++phase;
    move(s, waypoint(s, phase), grip(phase), a);
  }
};

// button: line up in front of the button, then push through it in +y.
class ButtonExpert : public WaypointExpert {
  int count() const override { return 2; }
  Vec3 waypoint(const std::vector<double>& s, int k) const override {
    Vec3 b = at(s, kObjA);
    return k == 0 ? Vec3{b[0], b[1] - 0.05, b[2]} : Vec3{b[0], at(s, kGoal)[1] + 0.03, b[2]};
  }
};

// window: come round to the handle's +x side (from the front, at handle height), then push it in -x.
class WindowExpert : public WaypointExpert {
  int count() const override { return 3; }
  Vec3 waypoint(const std::vector<double>& s, int k) const override {
    Vec3 h = at(s, kObjA);
    if (k == 0) return {h[0] + 0.04, h[1] - 0.07, h[2]};
    if (k == 1) return {h[0] + 0.04, h[1], h[2]};
    return {at(s, kGoal)[0] - 0.05, h[1], h[2]};
  }
};

// drawer: rise, move in front of the handle, descend, push the handle in +y.
class DrawerExpert : public WaypointExpert {
  int count() const override { return 3; }
  Vec3 waypoint(const std::vector<double>& s, int k) const override {
    Vec3 h = at(s, kObjA);
    if (k == 0) return {h[0], h[1] - 0.05, h[2] + 0.08};
    if (k == 1) return {h[0], h[1] - 0.04, h[2]};
    return {h[0], at(s, kGoal)[1] + 0.02, h[2]};
  }
};

// thermos: grasp the stick behind its centre, then push the thermos with the
// stick's front end until the thermos sits on the goal.
class ThermosExpert : public GraspExpert {
 public:
  ThermosExpert() { grasp_dx = -0.02; }
  Vec3 carry(const std::vector<double>& s) const override {
    Vec3 tcp = at(s, kTcp), stick = at(s, kObjA), thermos = at(s, kObjB), goal = at(s, kGoal);
    // Stick front end = stick centre + 0.05; thermos radius 0.06.
    double lead = stick[0] - tcp[0] + 0.05 + 0.06;
    // There: keep the stick's end against the thermos (a restoring target, so noise does not drift it away).
    if (dist2(thermos, goal) < 0.05) return {thermos[0] - lead - 0.01, tcp[1], 0.025};
    double tx = std::min(goal[0] - 0.02, thermos[0] + 0.05) - lead;
    if (tcp[0] + lead < thermos[0] - 0.02) tx = tcp[0] + 0.05;  // not yet touching: close in
    // Contact below the centre line pushes the thermos up the line, and vice versa.
    double off = clampd(0.7 * (goal[1] - thermos[1]), -0.035, 0.035);
    double ty = thermos[1] - off - (stick[1] - tcp[1]);
    return {tx, ty, 0.025};
  }
};

// hammer: grasp the handle behind its centre, lift to nail height, line the head
// up in front of the nail, drive it in +y, then rest the head against it.
class HammerExpert : public GraspExpert {
 public:
  HammerExpert() { grasp_dx = -0.06; }
  Vec3 carry(const std::vector<double>& s) const override {
    Vec3 tcp = at(s, kTcp), hammer = at(s, kObjA), nail = at(s, kObjB);
    // Where the tcp sits relative to the head's striking face.
    double fx = tcp[0] - (hammer[0] + 0.16), fy = tcp[1] - (hammer[1] + 0.045), fz = tcp[2] - hammer[2];
    Vec3 ready = {nail[0] + fx, nail[1] - 0.03 + fy, nail[2] + fz};
    bool lined_up = std::fabs(hammer[0] + 0.16 - nail[0]) < 0.012 && std::fabs(hammer[2] - nail[2]) < 0.012 &&
                    hammer[1] + 0.045 < nail[1] + 0.01;
    if (!lined_up) {
      // Rise first when low, so the head clears the nail block on the way.
      if (hammer[2] < nail[2] - 0.02) return {tcp[0], tcp[1], ready[2]};
      return ready;
    }
    // Driven: rest the head against the nail (success also needs the head within 0.1 of it).
    if (nail[1] >= at(s, kGoal)[1] - 0.02) return {ready[0], nail[1] + fy, ready[2]};
    return {ready[0], nail[1] + 0.08 + fy, ready[2]};
  }
};

// lottery: the action is a position target; head for the chosen goal's centre.
class LotteryExpert : public Expert {
 public:
  explicit LotteryExpert(bool safe) : safe_(safe) {}
  int action_dim() const override { return 2; }

 protected:
  void policy(const std::vector<double>& s, float* a) override {
    int g = safe_ ? 4 : 6;  // state: [x, y, vx, vy, safe xy, lottery xy]
    a[0] = static_cast<float>(s[g]);
    a[1] = static_cast<float>(s[g + 1]);
  }
  bool safe_;
};

std::map<std::string, std::function<std::unique_ptr<Expert>()>>& expert_table() {
  static std::map<std::string, std::function<std::unique_ptr<Expert>()>> t = {
      {"reach", [] { return std::unique_ptr<Expert>(new ReachExpert); }},
      {"push", [] { return std::unique_ptr<Expert>(new PushExpert); }},
      {"button", [] { return std::unique_ptr<Expert>(new ButtonExpert); }},
      {"window", [] { return std::unique_ptr<Expert>(new WindowExpert); }},
      {"drawer", [] { return std::unique_ptr<Expert>(new DrawerExpert); }},
      {"thermos", [] { return std::unique_ptr<Expert>(new ThermosExpert); }},
      {"hammer", [] { return std::unique_ptr<Expert>(new HammerExpert); }},
      {"lottery", [] { return std::unique_ptr<Expert>(new LotteryExpert(false)); }},
      {"lottery_safe", [] { return std::unique_ptr<Expert>(new LotteryExpert(true)); }},
      {"lottery_paper", [] { return std::unique_ptr<Expert>(new LotteryExpert(false)); }},
      {"lottery_paper_safe", [] { return std::unique_ptr<Expert>(new LotteryExpert(true)); }},
  };
  return t;
}

}  // namespace

std::vector<std::string> expert_names() {
  std::vector<std::string> out;
  for (const auto& [k, v] : expert_table()) out.push_back(k);
  return out;
}

std::unique_ptr<Expert> make_expert(const std::string& task, float noise) {
  auto it = expert_table().find(task);
  // A dense variant (<task>_dense) has its task's scene and state: the same expert drives it.
  const std::string suffix = "_dense";
  if (it == expert_table().end() && task.size() > suffix.size() &&
      task.compare(task.size() - suffix.size(), suffix.size(), suffix) == 0)
    it = expert_table().find(task.substr(0, task.size() - suffix.size()));
  if (it == expert_table().end()) {
    std::string list;
    for (const auto& n : expert_names()) list += (list.empty() ? "" : ", ") + n;
    LATCO_FAIL("no scripted expert for task '" << task << "'; experts exist for: " << list);
  }
  auto e = it->second();
  e->noise = noise;
  return e;
}

}  // namespace latco
