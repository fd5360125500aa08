// The planner's Jacobians of the RSSM prior step and reward head, written plainly: one sample,
// double precision, straight loops, one chain-rule line per equation of model/transition_weights.h.
// These are the blocks of J in Eq. (9) (dmu/dz, dmu/da of the dynamics residual, dr/dz of the
// reward residual). RssmLatentModel::predict_jacobians / reward_gradient compute the same in float,
// batched and cache-blocked; tests hold the two equal. Not fast, not batched: a reading copy.
#pragma once
#include <vector>

#include "model/transition_weights.h"

namespace latco {

struct RssmStepJacobians {
  std::vector<double> mu;       // (Z)     mu(z, a) = [m, h']
  std::vector<double> sd;       // (Z)     [softplus(.) + min_std, 0]
  std::vector<double> dmu_dz;   // (Z, Z)  row i = output, column j = input
  std::vector<double> dmu_da;   // (Z, A)
  std::vector<double> dsd_dz;   // (Z, Z)
  std::vector<double> dsd_da;   // (Z, A)
};

// z: (Z), a: (A)
RssmStepJacobians rssm_step_jacobians_ref(const TransitionWeights& w, const std::vector<double>& z,
                                          const std::vector<double>& a);
// z: (Z) -> r(z); dr_dz: (Z)
double rssm_reward_gradient_ref(const TransitionWeights& w, const std::vector<double>& z, std::vector<double>* dr_dz);

}  // namespace latco
