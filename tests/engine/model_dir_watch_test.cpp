// ModelDirWatch (engine/model_files.h): the bookkeeping of a models directory that `parley serve`
// and `parley worker` share, driven with fake hooks and plain files (their bytes are never read).
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "engine/model_files.h"

namespace parley {
namespace {

namespace fs = std::filesystem;

class ModelDirWatchTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("parley_dir_watch_" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override {
    watch_.reset();
    fs::remove_all(dir_);
  }

  void write(const fs::path& rel, const std::string& bytes) {
    fs::create_directories((dir_ / rel).parent_path());
    std::ofstream(dir_ / rel, std::ios::binary) << bytes;
  }

  ModelDirWatch& watch() {
    if (!watch_) {
      watch_ =
          std::make_unique<ModelDirWatch>(dir_.string(), ModelDirHooks{.add = [this](const ModelFile& f) -> Status {
                                                                         std::lock_guard<std::mutex> lock(mu_);
                                                                         added_.push_back(f.id);
                                                                         if (refuse_.count(f.id) != 0)
                                                                           return invalid_argument_error("bad file");
                                                                         serving_.insert(f.id);
                                                                         return {};
                                                                       },
                                                                       .retire =
                                                                           [this](const std::string& id) {
                                                                             std::lock_guard<std::mutex> lock(mu_);
                                                                             retired_.push_back(id);
                                                                             serving_.erase(id);
                                                                           }});
    }
    return *watch_;
  }
  std::set<std::string> serving() {
    std::lock_guard<std::mutex> lock(mu_);
    return serving_;
  }

  fs::path dir_;
  std::unique_ptr<ModelDirWatch> watch_;
  std::mutex mu_;
  std::vector<std::string> added_, retired_;
  std::set<std::string> serving_, refuse_;
};

TEST_F(ModelDirWatchTest, ScanningListsGgufFilesSkipsHiddenOnesAndLeavesOutTakenIds) {
  write("a.gguf", "1");
  write("sub/b.gguf", "22");
  write("sub/a.gguf", "333");  // the id 'a' is taken by a.gguf (sorted by path first)
  write(".partial.gguf", "4");
  write(".hidden/c.gguf", "5");
  write("notes.txt", "6");
  Result<std::vector<ModelFile>> files = scan_model_dir(dir_.string());
  ASSERT_TRUE(files.ok()) << files.status().to_string();
  ASSERT_EQ(files->size(), 2u);
  EXPECT_EQ((*files)[0].id, "a");
  EXPECT_EQ((*files)[0].size_bytes, 1);
  EXPECT_EQ((*files)[1].id, "b");
  EXPECT_EQ(scan_model_dir((dir_ / "nope").string()).status().code(), ErrorCode::kNotFound);
}

TEST_F(ModelDirWatchTest, NewFilesAreAddedGoneOnesRetiredAndAReplacedFileComesBackAsNew) {
  write("a.gguf", "1");
  ASSERT_TRUE(watch().rescan().ok());
  EXPECT_EQ(serving(), (std::set<std::string>{"a"}));
  write("b.gguf", "22");
  ASSERT_TRUE(watch().rescan().ok());
  EXPECT_EQ(serving(), (std::set<std::string>{"a", "b"}));
  EXPECT_EQ(added_, (std::vector<std::string>{"a", "b"}));  // a is not added twice
  ASSERT_TRUE(watch().served("b").has_value());
  EXPECT_EQ(watch().served("b")->size_bytes, 2);

  write("a.gguf", "1111");  // copied over: another size
  fs::remove(dir_ / "b.gguf");
  ASSERT_TRUE(watch().rescan().ok());
  EXPECT_EQ(retired_, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(serving(), (std::set<std::string>{"a"}));
  EXPECT_EQ(watch().served("a")->size_bytes, 4);
  EXPECT_FALSE(watch().served("b").has_value());
}

TEST_F(ModelDirWatchTest, AFileThatCannotBeServedIsAFailureUntilItChanges) {
  write("bad.gguf", "x");
  refuse_.insert("bad");
  ASSERT_TRUE(watch().rescan().ok());
  ASSERT_TRUE(watch().failure("bad").has_value());
  EXPECT_NE(watch().failure("bad")->message().find("bad file"), std::string::npos);
  ASSERT_EQ(watch().failures().size(), 1u);
  EXPECT_EQ(watch().failures()[0].first.id, "bad");
  ASSERT_TRUE(watch().rescan().ok());
  EXPECT_EQ(added_.size(), 1u);  // not tried again while the file is the same
  refuse_.clear();
  write("bad.gguf", "fixed");
  ASSERT_TRUE(watch().rescan().ok());
  EXPECT_FALSE(watch().failure("bad").has_value());
  EXPECT_EQ(serving(), (std::set<std::string>{"bad"}));
}

TEST_F(ModelDirWatchTest, AGivenFileIsNeverRetiredAndItsIdCannotBeTakenTwice) {
  write("a.gguf", "1");
  const ModelFile given{"a", "/elsewhere/a.gguf", 9, 1};
  bool served = false;
  ASSERT_TRUE(watch()
                  .add_file(given,
                            [&] {
                              served = true;
                              return Status();
                            })
                  .ok());
  EXPECT_TRUE(served);
  EXPECT_EQ(watch().add_file(given, [] { return Status(); }).code(), ErrorCode::kInvalidArgument);
  ASSERT_TRUE(watch().rescan().ok());  // the directory's a.gguf is left out: 'a' is the given file
  EXPECT_TRUE(added_.empty());
  EXPECT_TRUE(retired_.empty());
  EXPECT_EQ(watch().served("a")->path, "/elsewhere/a.gguf");
  // A given file whose serving fails is not recorded.
  EXPECT_FALSE(watch().add_file({"c", "/elsewhere/c.gguf", 1, 1}, [] { return internal_error("no"); }).ok());
  EXPECT_FALSE(watch().served("c").has_value());
}

TEST_F(ModelDirWatchTest, RescansRunOnTheirThreadAndOnAMissOnlyWhenTheLastIsOldEnough) {
  ASSERT_TRUE(watch().rescan().ok());
  write("late.gguf", "1");
  watch().rescan_if_older(std::chrono::hours(1));  // scanned just now: nothing
  EXPECT_TRUE(serving().empty());
  watch().rescan_if_older(std::chrono::milliseconds(0));
  EXPECT_EQ(serving(), (std::set<std::string>{"late"}));

  write("later.gguf", "1");
  watch().start(std::chrono::milliseconds(5));
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (serving().count("later") == 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_EQ(serving().count("later"), 1u);
  watch().stop();
  write("never.gguf", "1");
  std::this_thread::sleep_for(std::chrono::milliseconds(30));
  EXPECT_EQ(serving().count("never"), 0u);  // stopped: no more scans
}

TEST_F(ModelDirWatchTest, WithoutADirectoryNothingIsScanned) {
  ModelDirWatch none("", ModelDirHooks{.add = [](const ModelFile&) { return internal_error("called"); },
                                       .retire = [](const std::string&) {}});
  EXPECT_TRUE(none.rescan().ok());
  none.start(std::chrono::milliseconds(1));
  none.rescan_if_older(std::chrono::milliseconds(0));
  EXPECT_TRUE(none.failures().empty());
}

}  // namespace
}  // namespace parley
