// TabletopEnv: mocap target bookkeeping (clipped to the hand bounds and spread
// over the frame-skip substeps so the weld is not jerked), the gripper command
// and the shared state layout.
#include "env/tabletop.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"

namespace latco {

constexpr double TabletopEnv::kHandLow[3];
constexpr double TabletopEnv::kHandHigh[3];

double dist3(const Vec3& a, const Vec3& b) {
  return std::sqrt((a[0] - b[0]) * (a[0] - b[0]) + (a[1] - b[1]) * (a[1] - b[1]) + (a[2] - b[2]) * (a[2] - b[2]));
}
double dist2(const Vec3& a, const Vec3& b) {
  return std::sqrt((a[0] - b[0]) * (a[0] - b[0]) + (a[1] - b[1]) * (a[1] - b[1]));
}

TabletopEnv::TabletopEnv(const std::string& name, const EnvSettings& s, int repeat, int limit,
                         const std::string& scene, bool dense)
    : Env(name, scene.empty() ? name + ".xml" : scene, s, 4, repeat, limit), dense_(dense) {
  mocap_ = m_->body_mocapid[id(mjOBJ_BODY, "mocap")];
  int j = id(mjOBJ_JOINT, "hand_free");
  hand_qpos_ = m_->jnt_qposadr[j];
  hand_dof_ = m_->jnt_dofadr[j];
  tip_l_ = id(mjOBJ_SITE, "tip_l");
  tip_r_ = id(mjOBJ_SITE, "tip_r");
  // A scene may draw the forearm thicker, <custom><numeric name="arm_radius" data="r"/></custom>:
  // reach's camera sees the whole workspace, where the default arm is about one pixel wide at 32x32.
  int n = mj_name2id(m_, mjOBJ_NUMERIC, "arm_radius");
  if (n >= 0 && m_->numeric_size[n] >= 1) {
    const int g = id(mjOBJ_GEOM, "wrist");
    m_->geom_size[3 * g] = m_->numeric_data[m_->numeric_adr[n]];
    m_->geom_rbound[g] = m_->geom_size[3 * g] + m_->geom_size[3 * g + 1];  // capsule: radius + half-length
  }
}

Vec3 TabletopEnv::tcp() const {
  const double* l = d_->site_xpos + 3 * tip_l_;
  const double* r = d_->site_xpos + 3 * tip_r_;
  return {0.5 * (l[0] + r[0]), 0.5 * (l[1] + r[1]), 0.5 * (l[2] + r[2])};
}

Vec3 TabletopEnv::body_pos(const std::string& b) const {
  const double* p = d_->xpos + 3 * id(mjOBJ_BODY, b);
  return {p[0], p[1], p[2]};
}

Vec3 TabletopEnv::site_pos(const std::string& s) const {
  const double* p = d_->site_xpos + 3 * id(mjOBJ_SITE, s);
  return {p[0], p[1], p[2]};
}

std::vector<double> TabletopEnv::state() const {
  std::vector<double> s(kTabletopStateDim);
  Vec3 t = tcp(), a = obj_a(), b = obj_b(), g = goal();
  for (int i = 0; i < 3; ++i) {
    s[kTcp + i] = t[i];
    s[kObjA + i] = a[i];
    s[kObjB + i] = b[i];
    s[kGoal + i] = g[i];
  }
  s[kGrip] = 0.5 * (joint("grip_l") + joint("grip_r"));
  return s;
}

void TabletopEnv::set_hand(const Vec3& p) {
  for (int i = 0; i < 3; ++i) {
    double h = (i == 2 ? p[i] + kTcpBelowHand : p[i]);
    h = clampd(h, hand_low_[i], hand_high_[i]);
    target_[i] = prev_target_[i] = h;
    d_->mocap_pos[3 * mocap_ + i] = h;
    d_->qpos[hand_qpos_ + i] = h;
  }
  d_->qpos[hand_qpos_ + 3] = 1;
  for (int i = 4; i < 7; ++i) d_->qpos[hand_qpos_ + i] = 0;
  for (int i = 0; i < 6; ++i) d_->qvel[hand_dof_ + i] = 0;
  forward();
}

void TabletopEnv::place_free(const std::string& joint, const Vec3& p) {
  int j = id(mjOBJ_JOINT, joint);
  LATCO_CHECK(m_->jnt_type[j] == mjJNT_FREE) << "joint '" << joint << "' is not a free joint";
  double* q = d_->qpos + m_->jnt_qposadr[j];
  for (int i = 0; i < 3; ++i) q[i] = p[i];
  q[3] = 1;
  q[4] = q[5] = q[6] = 0;
  for (int i = 0; i < 6; ++i) d_->qvel[m_->jnt_dofadr[j] + i] = 0;
}

void TabletopEnv::place_slides(const std::string& prefix, const Vec3& p) {
  const char* axes[3] = {"_x", "_y", "_z"};
  for (int i = 0; i < 3; ++i) {
    int j = id(mjOBJ_JOINT, prefix + axes[i]);
    d_->qpos[m_->jnt_qposadr[j]] = p[i];
    d_->qvel[m_->jnt_dofadr[j]] = 0;
  }
}

Vec3 TabletopEnv::uniform(Rng& rng, const Vec3& lo, const Vec3& hi) const {
  return {rng.uniform_double() * (hi[0] - lo[0]) + lo[0], rng.uniform_double() * (hi[1] - lo[1]) + lo[1],
          rng.uniform_double() * (hi[2] - lo[2]) + lo[2]};
}

double TabletopEnv::shaped(double d, double d_max) {
  return std::max(0.0, 1000 * (d_max - d) + 1000 * (std::exp(-d * d / 0.01) + std::exp(-d * d / 0.001)));
}

void TabletopEnv::begin_action(const float* a) {
  grip_cmd_ = a[3];
  prev_target_ = target_;
  for (int i = 0; i < 3; ++i) target_[i] = clampd(target_[i] + kStepScale * a[i], hand_low_[i], hand_high_[i]);
  // Gripper: a > 0 closes; position targets (a, a) on two mirrored slides = (a, -a) on one axis.
  d_->ctrl[0] = a[3];
  d_->ctrl[1] = a[3];
}

void TabletopEnv::before_substep(const float* a, int k, int nsub) {
  double f = std::min(1.0, (k + 1.0) / nsub);
  for (int i = 0; i < 3; ++i)
    d_->mocap_pos[3 * mocap_ + i] = prev_target_[i] + f * (target_[i] - prev_target_[i]);
}

}  // namespace latco
