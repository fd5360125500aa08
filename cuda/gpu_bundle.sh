#!/usr/bin/env bash
# `make gpu-bundle`: stages what a bare GPU node lacks into cuda/bundle/ (git-ignored; it travels
# with the source tree): MuJoCo's headers and library with the shared libraries it loads,
# GoogleTest's headers and static libraries, stb_image_write.h, all copied from the installed
# Debian packages (libmujoco-dev, libgtest-dev, libstb-dev). `make gpu-check` builds against it
# where those packages are absent. Then compiles and links a small program against the bundle
# alone and runs it, to show that the bundle is complete.
# Usage (from the repository root): cuda/gpu_bundle.sh [dir]
set -euo pipefail
DIR=${1:-cuda/bundle}
for p in libmujoco-dev libgtest-dev libstb-dev; do
  dpkg -s "$p" >/dev/null 2>&1 || { echo "gpu-bundle: the Debian package $p is not installed here (make deps installs it)" >&2; exit 1; }
done
rm -rf "$DIR"
mkdir -p "$DIR/include/stb" "$DIR/lib"
# ----- headers -----
cp -r /usr/include/mujoco "$DIR/include/"
cp -r /usr/include/gtest "$DIR/include/"
cp /usr/include/stb/stb_image_write.h "$DIR/include/stb/"
# ----- libraries: GoogleTest (static), MuJoCo and what it loads that a bare node lacks -----
libdir=$(dirname "$(dpkg -L libgtest-dev | grep '/libgtest.a$')")
cp "$libdir/libgtest.a" "$libdir/libgtest_main.a" "$DIR/lib/"
mujoco=$(readlink -f "$(dpkg -L libmujoco-dev | grep '/libmujoco.so$')")
cp "$mujoco" "$DIR/lib/"
ln -sf "$(basename "$mujoco")" "$DIR/lib/libmujoco.so"
# The libraries libmujoco loads, except the C/C++ runtime every node has.
ldd "$mujoco" | awk '/=> \// {print $3}' | while read -r lib; do
  case "$(basename "$lib")" in
    libc.so*|libm.so*|libstdc++.so*|libgcc_s.so*|ld-linux*|libpthread.so*|libdl.so*|librt.so*) ;;
    *) cp -L "$lib" "$DIR/lib/" ;;
  esac
done
echo "staged $(date -u +'%Y-%m-%d %H:%M UTC') from $(dpkg-query -W -f='${Package} ${Version} ' libmujoco-dev libgtest-dev libstb-dev)" \
  > "$DIR/STAGED"

# ----- check: a program using MuJoCo, stb_image_write and GoogleTest, built against the bundle -----
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cat > "$tmp/probe.cpp" <<'CPP'
#include <gtest/gtest.h>
#include <mujoco/mujoco.h>
#define STB_IMAGE_WRITE_IMPLEMENTATION
#include <stb_image_write.h>
TEST(Bundle, MujocoLoadsAModelAndStbWritesAPng) {
  char err[256] = "";
  mjModel* m = mj_loadXML(nullptr, nullptr, err, sizeof err);  // null file: an error, not a crash
  EXPECT_EQ(m, nullptr);
  EXPECT_GT(mj_version(), 0);
  unsigned char px[4 * 4 * 3] = {0};
  int len = 0;
  unsigned char* png = stbi_write_png_to_mem(px, 12, 4, 4, 3, &len);
  EXPECT_GT(len, 0);
  free(png);
}
CPP
g++ -std=c++17 -MD -MF "$tmp/probe.d" -I"$DIR/include" -I"$DIR/include/stb" -o "$tmp/probe" "$tmp/probe.cpp" \
  -L"$DIR/lib" -Wl,--disable-new-dtags,-rpath,"$(readlink -f "$DIR/lib")" -lgtest_main -lgtest -lmujoco -pthread
# Every header of the three came from the bundle, and libmujoco is loaded from it.
if grep -E -o '/usr/include/(mujoco|gtest|stb)/[^ ]*' "$tmp/probe.d" | head -1 | grep -q .; then
  echo "gpu-bundle: the probe used headers outside $DIR" >&2; exit 1
fi
# (an RPATH, not a RUNPATH: it also serves the libraries libmujoco loads)
for lib in $(ls "$DIR/lib" | grep '\.so'); do
  [ "$lib" = libmujoco.so ] && continue
  ldd "$tmp/probe" | grep -q "$(readlink -f "$DIR/lib")/$lib" || { echo "gpu-bundle: $lib not loaded from $DIR" >&2; exit 1; }
done
"$tmp/probe" --gtest_brief=1 >/dev/null
echo "gpu-bundle: $DIR staged ($(du -sh "$DIR" | cut -f1), $(find "$DIR" -type f | wc -l) files); a MuJoCo + stb + GoogleTest program builds, links and runs against it alone"
