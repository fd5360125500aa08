// reach: fingertips within 0.05 of the goal (-0.1, 0.8, 0.2). The hand starts
// uniform in the hand bounds; a puck (object a) sits at (0, 0.6) as a distractor.
// reach_dense: shaped(|tcp - goal|, its start value) (Meta-World's reach reward).
#include "env/tabletop.h"

namespace latco {

class ReachEnv : public TabletopEnv {
 public:
  static constexpr double kThreshold = 0.05;
  explicit ReachEnv(const EnvSettings& s, bool dense = false)
      : TabletopEnv(dense ? "reach_dense" : "reach", s, 1, 150, "reach.xml", dense) {}
  bool success() const override { return dist3(tcp(), goal()) <= kThreshold; }
  double dense_reward() override { return shaped(dist3(tcp(), goal()), max_dist_); }

 protected:
  Vec3 obj_a() const override { return body_pos("puck"); }
  Vec3 goal() const override { return {-0.1, 0.8, 0.2}; }
  void reset_task(Rng& rng) override {
    place_slides("puck", {0, 0.6, 0.02});
    Vec3 h = uniform(rng, {kHandLow[0], kHandLow[1], kHandLow[2]}, {kHandHigh[0], kHandHigh[1], kHandHigh[2]});
    set_hand({h[0], h[1], h[2] - kTcpBelowHand});
  }
  void dense_begin() override { max_dist_ = dist3(tcp0_, goal()); }

 private:
  double max_dist_ = 0;
};

struct ReachDenseEnv : ReachEnv {
  explicit ReachDenseEnv(const EnvSettings& s) : ReachEnv(s, true) {}
};

std::unique_ptr<Env> new_task_reach(const EnvSettings& s) { return std::make_unique<ReachEnv>(s); }
std::unique_ptr<Env> new_task_reach_dense(const EnvSettings& s) { return std::make_unique<ReachDenseEnv>(s); }

}  // namespace latco
