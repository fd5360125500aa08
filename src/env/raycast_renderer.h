// A renderer without OpenGL: one mj_ray per pixel from an MJCF camera, Lambert
// shading from one directional light, a checker pattern on geoms of group 1 and
// one shadow ray per lit pixel. Leaves out textures, meshes' smooth normals,
// specular light and reflections; anti-aliasing is box_downsample of a finer render.
#pragma once
#include <cstdint>
#include <vector>

#include <mujoco/mujoco.h>

namespace latco {

// Geom groups as the renderer reads them.
enum RenderGroup {
  kGroupPlain = 0,    // shaded by rgba
  kGroupChecker = 1,  // rgba modulated by a world-space checker (floor, table top)
  kGroupPlain2 = 2,   // shaded by rgba (task objects, free to use)
  kGroupHidden = 3,   // never drawn (collision helpers)
};

struct RenderSettings {
  bool shadows = true;        // cast one shadow ray per lit pixel
  double checker_size = 0.1;  // checker square edge (m); a scene's numeric 'checker_size' overrides it
  float ambient = 0.45f;      // light reaching shadowed / back faces
  float diffuse = 0.65f;      // Lambert weight
};

// Anti-aliasing: out (h, w, 3) is the mean of each k x k block of in (h k, w k, 3),
// rounded to nearest. A sub-pixel move of an object then changes the image.
void box_downsample(const uint8_t* in, int h, int w, int k, uint8_t* out);

// Stateless apart from settings; render() may run concurrently on different mjData.
class RaycastRenderer {
 public:
  explicit RaycastRenderer(const mjModel* m, RenderSettings s = RenderSettings());
  // Renders camera `cam` of d (kinematics and camlight must be current).
  // rgb: (h, w, 3) uint8. The fast path: its own geom loop with a bounding-sphere
  // test per ray, then mju_rayGeom.
  void render(const mjData* d, int cam, int h, int w, uint8_t* rgb) const;
  // The reference: the same image with one mj_ray per primary and shadow ray.
  void render_reference(const mjData* d, int cam, int h, int w, uint8_t* rgb) const;
  // Pixel (row, col) that world point p projects to; false when behind the camera.
  bool project(const mjData* d, int cam, int h, int w, const double p[3], int* row, int* col) const;
  // Outward unit normal of geom g at world point p on its surface.
  static void geom_normal(const mjModel* m, const mjData* d, int g, const double p[3], double n[3]);

 private:
  // Nearest hit along the ray (unit dir) among drawn geoms; -1 if none; *geom set.
  using RayFn = double (*)(const mjModel*, const mjData*, const int*, int, const double*, const double*, int*);
  void render_with(const mjData* d, int cam, int h, int w, uint8_t* rgb, bool reference) const;
  const mjModel* m_;
  std::vector<int> drawn_;  // geoms outside kGroupHidden
  RenderSettings s_;
  double light_dir_[3];  // unit direction the light travels
};

}  // namespace latco
