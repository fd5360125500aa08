// Ray-cast renderer: pixel -> camera ray -> mj_ray -> analytic geom normal ->
// ambient + Lambert * shadow. Leaves out meshes' true normals (a mesh hit is
// shaded as facing the camera) and any texture but the checker.
#include "env/raycast_renderer.h"

#include <algorithm>
#include <cmath>

namespace latco {

namespace {
const mjtByte kDrawnGroups[mjNGROUP] = {1, 1, 1, 0, 1, 1};  // everything but kGroupHidden

// Reference ray query: MuJoCo's own mj_ray over every geom.
double ray_reference(const mjModel* m, const mjData* d, const int*, int, const double* p, const double* v, int* g) {
  return mj_ray(m, d, p, v, kDrawnGroups, 1, -1, g);
}

// Fast ray query over a precomputed geom list: reject by bounding sphere (v is
// unit length), then the exact test.
double ray_fast(const mjModel* m, const mjData* d, const int* geoms, int n, const double* p, const double* v, int* g) {
  double best = -1;
  *g = -1;
  for (int k = 0; k < n; ++k) {
    int i = geoms[k];
    const double* c = d->geom_xpos + 3 * i;
    double r = m->geom_rbound[i];
    if (r > 0) {
      double dx = c[0] - p[0], dy = c[1] - p[1], dz = c[2] - p[2];
      double along = dx * v[0] + dy * v[1] + dz * v[2];
      double d2 = dx * dx + dy * dy + dz * dz - along * along;
      if (d2 > r * r || along < -r) continue;
      if (best >= 0 && along - r > best) continue;
    }
    int type = m->geom_type[i];
    if (type == mjGEOM_PLANE) {
      // One-sided: a ray from above that does not point down never meets the plane.
      const double* R = d->geom_xmat + 9 * i;  // the plane's normal is its local z
      double above = (p[0] - c[0]) * R[2] + (p[1] - c[1]) * R[5] + (p[2] - c[2]) * R[8];
      double toward = v[0] * R[2] + v[1] * R[5] + v[2] * R[8];
      if (above >= 0 && toward >= 0) continue;
    }
    double x;
    if (type == mjGEOM_MESH) x = mj_rayMesh(m, d, i, p, v);
    else if (type == mjGEOM_HFIELD) x = mj_rayHfield(m, d, i, p, v);
    else x = mju_rayGeom(c, d->geom_xmat + 9 * i, m->geom_size + 3 * i, p, v, type);
    if (x >= 0 && (best < 0 || x < best)) { best = x; *g = i; }
  }
  return best;
}

inline uint8_t to_u8(float x) {
  x = x < 0 ? 0 : (x > 1 ? 1 : x);
  return static_cast<uint8_t>(x * 255.0f + 0.5f);
}
}  // namespace

RaycastRenderer::RaycastRenderer(const mjModel* m, RenderSettings s) : m_(m), s_(s) {
  // Default light: from above, slightly from the front-left.
  double l[3] = {0.3, 0.4, -1.0};
  double n = std::sqrt(l[0] * l[0] + l[1] * l[1] + l[2] * l[2]);
  for (int i = 0; i < 3; ++i) light_dir_[i] = l[i] / n;
  // A scene may set its own checker size: <custom><numeric name="checker_size" data="0.5"/></custom>.
  int c = mj_name2id(m, mjOBJ_NUMERIC, "checker_size");
  if (c >= 0 && m->numeric_size[c] >= 1) s_.checker_size = m->numeric_data[m->numeric_adr[c]];
  // Drawn geoms, as mj_ray picks them: group not hidden, visible (alpha > 0).
  for (int g = 0; g < m->ngeom; ++g) {
    int grp = m->geom_group[g];
    const float* rgba = m->geom_matid[g] >= 0 ? m->mat_rgba + 4 * m->geom_matid[g] : m->geom_rgba + 4 * g;
    if (grp >= 0 && grp < mjNGROUP && kDrawnGroups[grp] && rgba[3] != 0) drawn_.push_back(g);
  }
}

void RaycastRenderer::geom_normal(const mjModel* m, const mjData* d, int g, const double p[3], double n[3]) {
  const double* x = d->geom_xpos + 3 * g;
  const double* R = d->geom_xmat + 9 * g;  // world = R * local, row-major
  const double* sz = m->geom_size + 3 * g;
  double q[3];  // hit point in the geom frame
  for (int j = 0; j < 3; ++j)
    q[j] = R[0 * 3 + j] * (p[0] - x[0]) + R[1 * 3 + j] * (p[1] - x[1]) + R[2 * 3 + j] * (p[2] - x[2]);
  double nl[3] = {0, 0, 1};
  switch (m->geom_type[g]) {
    case mjGEOM_PLANE: nl[0] = 0; nl[1] = 0; nl[2] = 1; break;
    case mjGEOM_SPHERE: nl[0] = q[0]; nl[1] = q[1]; nl[2] = q[2]; break;
    case mjGEOM_CAPSULE: {
      double z = std::max(-sz[1], std::min(sz[1], q[2]));  // nearest point on the axis segment
      nl[0] = q[0]; nl[1] = q[1]; nl[2] = q[2] - z;
      break;
    }
    case mjGEOM_ELLIPSOID:
      for (int j = 0; j < 3; ++j) nl[j] = q[j] / (sz[j] * sz[j]);
      break;
    case mjGEOM_CYLINDER: {
      double r = std::sqrt(q[0] * q[0] + q[1] * q[1]);
      // Cap if the point is nearer the cap plane than the side, relative to the sizes.
      if (std::fabs(std::fabs(q[2]) - sz[1]) < std::fabs(r - sz[0])) {
        nl[0] = 0; nl[1] = 0; nl[2] = q[2] > 0 ? 1 : -1;
      } else {
        nl[0] = q[0]; nl[1] = q[1]; nl[2] = 0;
      }
      break;
    }
    case mjGEOM_BOX: {
      int best = 0;
      double bestv = -1;
      for (int j = 0; j < 3; ++j) {
        double v = std::fabs(q[j]) / sz[j];
        if (v > bestv) { bestv = v; best = j; }
      }
      nl[0] = nl[1] = nl[2] = 0;
      nl[best] = q[best] > 0 ? 1 : -1;
      break;
    }
    default: break;  // hfield / mesh: handled by the caller (faces the camera)
  }
  double len = std::sqrt(nl[0] * nl[0] + nl[1] * nl[1] + nl[2] * nl[2]);
  if (len < 1e-12) { nl[0] = 0; nl[1] = 0; nl[2] = 1; len = 1; }
  for (int i = 0; i < 3; ++i) n[i] = (R[i * 3 + 0] * nl[0] + R[i * 3 + 1] * nl[1] + R[i * 3 + 2] * nl[2]) / len;
}

void RaycastRenderer::render(const mjData* d, int cam, int h, int w, uint8_t* rgb) const {
  render_with(d, cam, h, w, rgb, false);
}

void RaycastRenderer::render_reference(const mjData* d, int cam, int h, int w, uint8_t* rgb) const {
  render_with(d, cam, h, w, rgb, true);
}

void RaycastRenderer::render_with(const mjData* d, int cam, int h, int w, uint8_t* rgb, bool reference) const {
  const mjModel* m = m_;
  RayFn ray = reference ? ray_reference : ray_fast;
  const int* geoms = drawn_.data();
  const int ng = static_cast<int>(drawn_.size());
  const double* cp = d->cam_xpos + 3 * cam;
  const double* cR = d->cam_xmat + 9 * cam;  // columns: right, up, backward
  const double t = std::tan(0.5 * m->cam_fovy[cam] * M_PI / 180.0);
  const double aspect = static_cast<double>(w) / h;
  double L[3] = {light_dir_[0], light_dir_[1], light_dir_[2]};
  if (m->nlight > 0) {
    double n = std::sqrt(d->light_xdir[0] * d->light_xdir[0] + d->light_xdir[1] * d->light_xdir[1] +
                         d->light_xdir[2] * d->light_xdir[2]);
    if (n > 0) for (int i = 0; i < 3; ++i) L[i] = d->light_xdir[i] / n;
  }
  // Fast path: the pixel rectangle each geom's bounding sphere can cover, so a
  // primary ray only tests the geoms whose rectangle holds its pixel.
  std::vector<int> r0(ng, 0), r1(ng, h - 1), c0(ng, 0), c1(ng, w - 1), cand(ng);
  if (!reference) {
    for (int k = 0; k < ng; ++k) {
      int g = geoms[k];
      double r = m->geom_rbound[g];
      if (r <= 0) continue;  // planes: everywhere
      const double* gp = d->geom_xpos + 3 * g;
      double rel[3] = {gp[0] - cp[0], gp[1] - cp[1], gp[2] - cp[2]}, x = 0, y = 0, z = 0;
      for (int i = 0; i < 3; ++i) {
        x += cR[i * 3 + 0] * rel[i];
        y += cR[i * 3 + 1] * rel[i];
        z += cR[i * 3 + 2] * rel[i];
      }
      if (z - r > 0) { r0[k] = h; r1[k] = -1; continue; }  // wholly behind the camera
      // Extremes of u = x / -z over the sphere: tangents to its disk in the (x, z) plane; same for v.
      auto range = [&](double a, double* lo, double* hi) {
        double dist = std::sqrt(a * a + z * z);
        if (dist <= r) return false;
        double ang = std::atan2(a, -z), half = std::asin(r / dist);
        if (std::fabs(ang) + half >= 0.5 * M_PI - 1e-6) return false;
        *lo = std::tan(ang - half);
        *hi = std::tan(ang + half);
        return true;
      };
      double lo, hi;
      if (range(x, &lo, &hi)) {
        c0[k] = std::max(0, static_cast<int>(std::floor((lo / (t * aspect) + 1) * 0.5 * w - 0.5)) - 1);
        c1[k] = std::min(w - 1, static_cast<int>(std::ceil((hi / (t * aspect) + 1) * 0.5 * w - 0.5)) + 1);
      }
      if (range(y, &lo, &hi)) {
        r0[k] = std::max(0, static_cast<int>(std::floor((1 - hi / t) * 0.5 * h - 0.5)) - 1);
        r1[k] = std::min(h - 1, static_cast<int>(std::ceil((1 - lo / t) * 0.5 * h - 0.5)) + 1);
      }
    }
  }
  for (int row = 0; row < h; ++row) {
    for (int col = 0; col < w; ++col) {
      int nc = 0;
      for (int k = 0; k < ng; ++k)
        if (row >= r0[k] && row <= r1[k] && col >= c0[k] && col <= c1[k]) cand[nc++] = geoms[k];
      double u = (2.0 * (col + 0.5) / w - 1.0) * t * aspect;
      double v = (1.0 - 2.0 * (row + 0.5) / h) * t;
      double dir[3];
      for (int i = 0; i < 3; ++i) dir[i] = cR[i * 3 + 0] * u + cR[i * 3 + 1] * v - cR[i * 3 + 2];
      double dn = std::sqrt(dir[0] * dir[0] + dir[1] * dir[1] + dir[2] * dir[2]);
      for (int i = 0; i < 3; ++i) dir[i] /= dn;
      int g = -1;
      double dist = ray(m, d, cand.data(), nc, cp, dir, &g);
      uint8_t* px = rgb + 3 * (row * w + col);
      if (g < 0 || dist < 0) {
        // Sky: a vertical gradient.
        float k = static_cast<float>(0.5 + 0.5 * dir[2]);
        px[0] = to_u8(0.55f + 0.25f * k);
        px[1] = to_u8(0.62f + 0.25f * k);
        px[2] = to_u8(0.72f + 0.25f * k);
        continue;
      }
      double p[3] = {cp[0] + dist * dir[0], cp[1] + dist * dir[1], cp[2] + dist * dir[2]};
      const float* c = m->geom_matid[g] >= 0 ? m->mat_rgba + 4 * m->geom_matid[g] : m->geom_rgba + 4 * g;
      float col3[3] = {c[0], c[1], c[2]};
      if (m->geom_group[g] == kGroupChecker) {
        long ix = static_cast<long>(std::floor(p[0] / s_.checker_size));
        long iy = static_cast<long>(std::floor(p[1] / s_.checker_size));
        float f = ((ix + iy) & 1) ? 0.82f : 1.0f;
        for (float& x : col3) x *= f;
      }
      double n[3];
      if (m->geom_type[g] == mjGEOM_MESH || m->geom_type[g] == mjGEOM_HFIELD) {
        for (int i = 0; i < 3; ++i) n[i] = -dir[i];
      } else {
        geom_normal(m, d, g, p, n);
        // A ray that starts inside a geom sees its back: flip to face the camera.
        if (n[0] * dir[0] + n[1] * dir[1] + n[2] * dir[2] > 0) for (double& x : n) x = -x;
      }
      double lambert = -(n[0] * L[0] + n[1] * L[1] + n[2] * L[2]);
      float shade = s_.ambient;
      if (lambert > 0) {
        bool lit = true;
        if (s_.shadows) {
          double q[3], toL[3] = {-L[0], -L[1], -L[2]};
          for (int i = 0; i < 3; ++i) q[i] = p[i] + 1e-4 * n[i];
          int gs = -1;
          lit = ray(m, d, geoms, ng, q, toL, &gs) < 0;
        }
        if (lit) shade += s_.diffuse * static_cast<float>(lambert);
      }
      for (int i = 0; i < 3; ++i) px[i] = to_u8(col3[i] * shade);
    }
  }
}

void box_downsample(const uint8_t* in, int h, int w, int k, uint8_t* out) {
  const int W = w * k, n = k * k;
  for (int r = 0; r < h; ++r)
    for (int c = 0; c < w; ++c)
      for (int ch = 0; ch < 3; ++ch) {
        int sum = 0;
        for (int i = 0; i < k; ++i)
          for (int j = 0; j < k; ++j) sum += in[3 * ((r * k + i) * W + c * k + j) + ch];
        out[3 * (r * w + c) + ch] = static_cast<uint8_t>((sum + n / 2) / n);
      }
}

bool RaycastRenderer::project(const mjData* d, int cam, int h, int w, const double p[3], int* row,
                              int* col) const {
  const double* cp = d->cam_xpos + 3 * cam;
  const double* cR = d->cam_xmat + 9 * cam;
  double r[3] = {p[0] - cp[0], p[1] - cp[1], p[2] - cp[2]};
  double x = 0, y = 0, z = 0;  // camera frame
  for (int i = 0; i < 3; ++i) {
    x += cR[i * 3 + 0] * r[i];
    y += cR[i * 3 + 1] * r[i];
    z += cR[i * 3 + 2] * r[i];
  }
  if (z >= 0) return false;
  const double t = std::tan(0.5 * m_->cam_fovy[cam] * M_PI / 180.0);
  const double aspect = static_cast<double>(w) / h;
  double u = x / (-z), v = y / (-z);
  *col = static_cast<int>(std::floor((u / (t * aspect) + 1.0) * 0.5 * w));
  *row = static_cast<int>(std::floor((1.0 - v / t) * 0.5 * h));
  return true;
}

}  // namespace latco
