// Core: tensor views and shape errors, config parsing and its error messages,
// random streams, the thread pool.
#include <gtest/gtest.h>

#include <atomic>
#include <fstream>
#include <vector>

#include "core/error.h"
#include "core/rng.h"
#include "core/tensor.h"
#include "core/thread_pool.h"
#include "io/config.h"
#include "model/analytic_models.h"
#include "plan/planner.h"
#include "plan/rollout.h"

using namespace latco;

TEST(Tensor, ReshapeAndSliceShareStorage) {
  Tensor t = Tensor::from({2, 3}, {0, 1, 2, 3, 4, 5});
  Tensor r = t.reshape({3, -1});
  EXPECT_EQ(r.shape(), (Shape{3, 2}));
  Tensor s = t.slice0(1, 2);
  EXPECT_EQ(s.numel(), 3);
  EXPECT_EQ(s[0], 3.0f);
  s[0] = 9;
  EXPECT_EQ(t[3], 9.0f);
  Tensor c = t.clone();
  c[0] = -1;
  EXPECT_EQ(t[0], 0.0f);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(Tensor({5}).data()) % 64, 0u);
}

TEST(Tensor, ShapeErrorsNameOpAndShapes) {
  Tensor a({2, 3}), b({3, 2});
  try {
    check_same_shape("add", a, b);
    FAIL() << "no throw";
  } catch (const Error& e) {
    std::string m = e.what();
    EXPECT_NE(m.find("add"), std::string::npos);
    EXPECT_NE(m.find("(2,3)"), std::string::npos);
    EXPECT_NE(m.find("(3,2)"), std::string::npos);
  }
  EXPECT_THROW(a.reshape({4, 2}), Error);
}

TEST(Config, ParsesTypesAndOverrides) {
  Config c = Config::parse("# comment\nhorizon: 30   # trailing\nlr: 6e-4\nname: \"a b\"\nflag: true\n", "t.yaml");
  c.override_with("horizon=50");
  EXPECT_EQ(c.get_int("horizon", 0), 50);
  EXPECT_DOUBLE_EQ(c.get_double("lr", 0), 6e-4);
  EXPECT_EQ(c.get_string("name", ""), "a b");
  EXPECT_TRUE(c.get_bool("flag", false));
  EXPECT_EQ(c.get_int("absent", 7), 7);
  EXPECT_NO_THROW(c.check_all_used());
}

TEST(Config, ErrorsNameFileLineAndKey) {
  Config c = Config::parse("horizon: 30\nhorizn: 12\nlr: fast\n", "exp.yaml");
  c.get_int("horizon", 0);
  try {
    c.get_double("lr", 0);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("exp.yaml line 3, key 'lr'"), std::string::npos) << e.what();
  }
  try {
    c.check_all_used();
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("exp.yaml line 2, key 'horizn': unknown key"), std::string::npos) << e.what();
  }
  Config r = Config::parse("h: 500\n", "r.yaml");
  EXPECT_THROW(r.get_int("h", 0, 1, 100), Error);
  EXPECT_THROW(Config::parse("no colon here\n", "bad.yaml"), Error);
}

struct DemoSettings {
  int iterations = 200;  // LM iterations
  double eps = 1e-4;     // constraint threshold
  bool warm = false;
  template <class V>
  void visit(V& v) {
    v("iterations", iterations, 1, 100000);
    v("eps", eps, 0.0, 1.0);
    v("warm", warm);
  }
};

TEST(Config, SettingsStructsBindTheirKeys) {
  Config c = Config::parse("iterations: 10\nwarm: yes\n", "s.yaml");
  DemoSettings s;
  c.apply(s);
  EXPECT_EQ(s.iterations, 10);
  EXPECT_TRUE(s.warm);
  EXPECT_DOUBLE_EQ(s.eps, 1e-4);
  std::vector<std::pair<std::string, std::string>> d;
  Config::describe(s, d);
  ASSERT_EQ(d.size(), 3u);
  EXPECT_EQ(d[0].second, "10");
}

TEST(Rng, StreamsAreReproducibleAndIndependent) {
  Rng a(42), b(42), c(43);
  EXPECT_EQ(a.next_u64(), b.next_u64());
  EXPECT_NE(Rng(42).next_u64(), c.next_u64());
  EXPECT_NE(Rng(1).derive(0).next_u64(), Rng(1).derive(1).next_u64());
  // Normal draws have about the right moments.
  Rng r(7);
  double s = 0, s2 = 0;
  const int n = 200000;
  for (int i = 0; i < n; ++i) {
    double x = r.normal();
    s += x;
    s2 += x * x;
  }
  EXPECT_NEAR(s / n, 0.0, 0.01);
  EXPECT_NEAR(s2 / n, 1.0, 0.01);
}

TEST(ThreadPool, CoversRangeOnceWithAnyThreadCount) {
  for (int threads : {1, 2, 3}) {
    set_num_threads(threads);
    std::vector<std::atomic<int>> hits(1001);
    parallel_for(1001, [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i) hits[i]++;
    });
    for (auto& h : hits) EXPECT_EQ(h.load(), 1);
  }
  set_num_threads(2);
}

TEST(Planner, RolloutReturnMatchesHandComputation) {
  PointMassModel m;
  float z0[4] = {0, 0, 0, 0};
  float acts[4] = {1, 0, 5, 0};  // the second action is clipped to 1
  float lat[12];
  double J = rollout_return(m, z0, acts, 2, lat);
  // v1 = 0.1, p1 = 0.01; v2 = 0.2, p2 = 0.03
  EXPECT_NEAR(lat[4], 0.01f, 1e-6);
  EXPECT_NEAR(lat[8], 0.03f, 1e-6);
  float r1, r2;
  m.reward(1, lat + 4, &r1);
  m.reward(1, lat + 8, &r2);
  EXPECT_NEAR(J, double(r1) + r2, 1e-9);
  EXPECT_THROW(make_planner("no_such_planner", m, 10, Config()), Error);
}

TEST(Config, IncludeLoadsBaseAndOverrides) {
  const std::string dir = ::testing::TempDir();
  { std::ofstream(dir + "/base.yaml") << "horizon: 30\nlr: 0.1\n"; }
  { std::ofstream(dir + "/exp.yaml") << "include: base.yaml\nhorizon: 50\n"; }
  Config c = Config::load(dir + "/exp.yaml");
  EXPECT_EQ(c.get_int("horizon", 0), 50);
  EXPECT_DOUBLE_EQ(c.get_double("lr", 0), 0.1);
  EXPECT_FALSE(c.has("include"));
  EXPECT_NE(c.where("lr").find("base.yaml line 2"), std::string::npos) << c.where("lr");
  { std::ofstream(dir + "/loop.yaml") << "include: loop.yaml\n"; }
  EXPECT_THROW(Config::load(dir + "/loop.yaml"), Error);
}

TEST(ThreadPool, ManySmallJobsOfVaryingSizeRunEachTaskOnce) {
  // A two-task job, then a 64-task one, over and over: a worker waking late for the
  // small job must not claim a task of the large one before it opens (that once ran
  // a task twice and left the caller waiting forever).
  set_num_threads(2);
  std::vector<int> hits(64);
  for (int rep = 0; rep < 100000; ++rep) {
    const int n = rep % 2 ? 64 : 2;
    std::fill(hits.begin(), hits.begin() + n, 0);
    parallel_tasks(n, [&](int64_t i) { hits[i]++; });
    for (int i = 0; i < n; ++i) ASSERT_EQ(hits[i], 1) << "job " << rep << " task " << i;
  }
}

TEST(ThreadPool, TaskExceptionReachesTheCallerAfterAllTasksEnd) {
  set_num_threads(2);
  std::atomic<int> ran{0};
  EXPECT_THROW(parallel_tasks(50,
                              [&](int64_t i) {
                                ran++;
                                if (i == 3) throw Error("task 3 failed");
                              }),
               Error);
  EXPECT_EQ(ran.load(), 50);
  std::atomic<int> after{0};
  parallel_tasks(10, [&](int64_t) { after++; });  // the pool is still usable
  EXPECT_EQ(after.load(), 10);
}
