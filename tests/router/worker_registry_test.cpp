// WorkerRegistry against fake workers on loopback: sources (static, dns: with an injected
// resolver), readiness and draining, vocabulary digests, ejection and recovery. The poller is
// driven by hand (poll_once) and time by an injected clock: no sleeps, no timing thresholds.
#include "router/worker_registry.h"

#include <gtest/gtest.h>

#include "fake_worker.h"

namespace parley {
namespace {

using testing::FakeWorker;
using Clock = std::chrono::steady_clock;

WorkerRegistryOptions manual(std::vector<std::string> urls) {
  WorkerRegistryOptions o;
  o.urls = std::move(urls);
  o.health_interval = std::chrono::milliseconds(0);
  o.probe_timeout = std::chrono::milliseconds(5'000);
  return o;
}

TEST(WorkerRegistry, RefusesBadSources) {
  EXPECT_FALSE(WorkerRegistry::create(manual({})).ok());
  EXPECT_FALSE(WorkerRegistry::create(manual({"10.0.0.1:80"})).ok());
  auto o = manual({});
  o.dns = {"dns:workers"};
  EXPECT_FALSE(WorkerRegistry::create(o).ok());
  o.dns = {"dns:workers:0"};
  EXPECT_FALSE(WorkerRegistry::create(o).ok());
  o.dns = {"dns:workers.parley.svc:8081"};
  EXPECT_TRUE(WorkerRegistry::create(o).ok());
}

TEST(WorkerRegistry, ReadyDrainingAndModels) {
  FakeWorker a, b;
  auto r = WorkerRegistry::create(manual({a.url(), b.url()}));
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE((*r)->candidates("tiny").empty());  // nothing known before the first poll
  (*r)->poll_once();
  EXPECT_EQ((*r)->candidates("tiny").size(), 2u);
  EXPECT_TRUE((*r)->candidates("other").empty());
  const auto models = (*r)->models();
  ASSERT_EQ(models.size(), 1u);
  EXPECT_EQ(models[0].id, "tiny");
  EXPECT_EQ(models[0].ready_workers, 2u);
  b.draining = true;
  a.ready = false;
  (*r)->poll_once();
  EXPECT_TRUE((*r)->candidates("tiny").empty());
  EXPECT_EQ((*r)->models()[0].ready_workers, 0u);
  b.draining = false;
  (*r)->poll_once();
  ASSERT_EQ((*r)->candidates("tiny").size(), 1u);
  EXPECT_EQ((*r)->url_of((*r)->candidates("tiny")[0].worker), b.url());
}

TEST(WorkerRegistry, LoadFromStats) {
  FakeWorker a, b;
  a.waiting = 7;
  auto r = WorkerRegistry::create(manual({a.url(), b.url()}));
  ASSERT_TRUE(r.ok());
  (*r)->poll_once();
  const auto c = (*r)->candidates("tiny");
  ASSERT_EQ(c.size(), 2u);
  EXPECT_EQ(static_cast<int>(c[0].load), 7);
  EXPECT_EQ(static_cast<int>(c[1].load), 0);
  EXPECT_EQ((*r)->model_stats("tiny").waiting, 7);
}

TEST(WorkerRegistry, DigestDisagreementExcludesTheWorker) {
  FakeWorker a, b;
  b.digest = "00000000000000bb";
  auto r = WorkerRegistry::create(manual({a.url(), b.url()}));
  ASSERT_TRUE(r.ok());
  (*r)->poll_once();
  const auto c = (*r)->candidates("tiny");
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ((*r)->url_of(c[0].worker), a.url());
}

TEST(WorkerRegistry, DnsWorkersComeAndGo) {
  FakeWorker a("127.0.0.1");
  FakeWorker b("127.0.0.2", static_cast<std::uint16_t>(a.port()));  // the same port on another address
  std::mutex mu;
  Result<std::vector<std::string>> answer = std::vector<std::string>{};
  auto o = manual({});
  o.dns = {"dns:workers.test:" + std::to_string(a.port())};
  o.resolver = [&](const std::string& name) -> Result<std::vector<std::string>> {
    EXPECT_EQ(name, "workers.test");
    std::lock_guard<std::mutex> lock(mu);
    return answer;
  };
  auto r = WorkerRegistry::create(o);
  ASSERT_TRUE(r.ok());
  const auto set = [&](Result<std::vector<std::string>> v) {
    std::lock_guard<std::mutex> lock(mu);
    answer = std::move(v);
  };
  (*r)->poll_once();
  EXPECT_TRUE((*r)->snapshot().empty());  // the gateway starts with no worker
  set(std::vector<std::string>{"127.0.0.1"});
  (*r)->resolve_now();
  (*r)->poll_once();
  EXPECT_EQ((*r)->candidates("tiny").size(), 1u);
  set(std::vector<std::string>{"127.0.0.1", "127.0.0.2"});
  (*r)->resolve_now();
  (*r)->poll_once();
  EXPECT_EQ((*r)->candidates("tiny").size(), 2u);  // joined without a restart
  set(unavailable_error("SERVFAIL"));
  (*r)->resolve_now();
  EXPECT_EQ((*r)->snapshot().size(), 2u);  // a failed lookup keeps what is known
  set(std::vector<std::string>{"127.0.0.2"});
  (*r)->resolve_now();
  const auto snap = (*r)->snapshot();
  ASSERT_EQ(snap.size(), 1u);
  EXPECT_EQ(snap[0].url, b.url());
}

TEST(WorkerRegistry, EjectionBackoffAndHalfOpenTrial) {
  FakeWorker a, b;
  Clock::time_point t = Clock::now();
  auto o = manual({a.url(), b.url()});
  o.clock = [&t] { return t; };
  o.eject_after = 3;
  o.eject_base = std::chrono::milliseconds(1'000);
  auto r = WorkerRegistry::create(o);
  ASSERT_TRUE(r.ok());
  (*r)->poll_once();
  const WorkerId wa = (*r)->candidates("tiny")[0].worker;
  (*r)->report(wa, WorkerOutcome::kFailure);
  (*r)->report(wa, WorkerOutcome::kFailure);
  EXPECT_EQ((*r)->candidates("tiny").size(), 2u);  // two failures: still in
  (*r)->report(wa, WorkerOutcome::kFailure);
  EXPECT_EQ((*r)->candidates("tiny").size(), 1u);  // ejected
  EXPECT_EQ((*r)->ejections_total(), 1);
  t += std::chrono::milliseconds(1'001);
  // Half-open: one trial request at a time.
  ASSERT_EQ((*r)->candidates("tiny").size(), 2u);
  ASSERT_NE((*r)->begin(wa, "tiny"), nullptr);
  EXPECT_EQ((*r)->candidates("tiny").size(), 1u);
  (*r)->end(wa, WorkerOutcome::kFailure);  // the trial failed: ejected again, twice as long
  EXPECT_EQ((*r)->ejections_total(), 2);
  t += std::chrono::milliseconds(1'500);
  EXPECT_EQ((*r)->candidates("tiny").size(), 1u);
  t += std::chrono::milliseconds(600);
  ASSERT_NE((*r)->begin(wa, "tiny"), nullptr);
  (*r)->end(wa, WorkerOutcome::kSuccess);  // closed again
  EXPECT_EQ((*r)->candidates("tiny").size(), 2u);
  EXPECT_EQ((*r)->candidates("tiny").size(), 2u);
}

TEST(WorkerRegistry, AWorkerThatAnswersProbesButFailsRequestsBacksOffLonger) {
  FakeWorker a, b;
  Clock::time_point t = Clock::now();
  auto o = manual({a.url(), b.url()});
  o.clock = [&t] { return t; };
  auto r = WorkerRegistry::create(o);
  ASSERT_TRUE(r.ok());
  (*r)->poll_once();
  const WorkerId wa = (*r)->candidates("tiny")[0].worker;
  for (int i = 0; i < 3; ++i) (*r)->report(wa, WorkerOutcome::kFailure);
  EXPECT_EQ((*r)->candidates("tiny").size(), 1u);
  t += std::chrono::milliseconds(1'001);
  (*r)->poll_once();  // its probe answers: back in service
  EXPECT_EQ((*r)->candidates("tiny").size(), 2u);
  for (int i = 0; i < 3; ++i) (*r)->report(wa, WorkerOutcome::kFailure);
  t += std::chrono::milliseconds(1'500);
  (*r)->poll_once();
  EXPECT_EQ((*r)->candidates("tiny").size(), 1u);  // ejected for 2 s this time
  t += std::chrono::milliseconds(600);
  (*r)->poll_once();
  EXPECT_EQ((*r)->candidates("tiny").size(), 2u);
  (*r)->report(wa, WorkerOutcome::kSuccess);  // a request succeeded: the backoff starts over
  for (int i = 0; i < 3; ++i) (*r)->report(wa, WorkerOutcome::kFailure);
  t += std::chrono::milliseconds(1'001);
  (*r)->poll_once();
  EXPECT_EQ((*r)->candidates("tiny").size(), 2u);
  EXPECT_EQ((*r)->ejections_total(), 3);
}

TEST(WorkerRegistry, DeadWorkerIsEjectedByProbesAndRecovers) {
  auto a = std::make_unique<FakeWorker>();
  FakeWorker b;
  const std::uint16_t port = static_cast<std::uint16_t>(a->port());
  Clock::time_point t = Clock::now();
  auto o = manual({a->url(), b.url()});
  o.clock = [&t] { return t; };
  o.eject_after = 2;
  auto r = WorkerRegistry::create(o);
  ASSERT_TRUE(r.ok());
  (*r)->poll_once();
  ASSERT_EQ((*r)->candidates("tiny").size(), 2u);
  a->stop();
  (*r)->poll_once();  // not ready any more: no new requests at once
  EXPECT_EQ((*r)->candidates("tiny").size(), 1u);
  (*r)->poll_once();
  EXPECT_EQ((*r)->ejections_total(), 1);
  EXPECT_TRUE((*r)->snapshot()[0].ejected);
  a = std::make_unique<FakeWorker>("127.0.0.1", port);  // it comes back on its address
  (*r)->poll_once();
  EXPECT_EQ((*r)->candidates("tiny").size(), 1u);  // backing off: not probed yet
  t += std::chrono::seconds(2);
  (*r)->poll_once();  // the probe is the trial
  EXPECT_EQ((*r)->candidates("tiny").size(), 2u);
  EXPECT_TRUE((*r)->snapshot()[0].up);
}

// The probes run on a pool that the registry keeps: at most 16 threads, started once, however many
// polls (before, every poll started a thread per worker, 16 at a time).
TEST(WorkerRegistry, ProbesRunOnAPoolKeptAcrossPolls) {
  std::vector<std::unique_ptr<FakeWorker>> fakes;
  std::vector<std::string> urls;
  for (int i = 0; i < 18; ++i) {
    fakes.push_back(std::make_unique<FakeWorker>());
    urls.push_back(fakes.back()->url());
  }
  auto r = WorkerRegistry::create(manual(urls));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ((*r)->probe_threads_started(), 0u);
  for (int poll = 0; poll < 4; ++poll) {
    (*r)->poll_once();
    EXPECT_EQ((*r)->candidates("tiny").size(), 18u);
    EXPECT_EQ((*r)->probe_threads_started(), 16u);
  }
  fakes[3]->draining = true;
  (*r)->poll_once();
  EXPECT_EQ((*r)->candidates("tiny").size(), 17u);

  auto small = WorkerRegistry::create(manual({fakes[0]->url(), fakes[1]->url()}));
  ASSERT_TRUE(small.ok());
  (*small)->poll_once();
  (*small)->poll_once();
  EXPECT_EQ((*small)->probe_threads_started(), 2u);
}

}  // namespace
}  // namespace parley
