// MappedFile: errors for missing and non-regular files, empty files, content and move semantics.
#include "base/mapped_file.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "base/rng.h"

namespace parley {
namespace {

namespace fs = std::filesystem;

class MappedFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::path(::testing::TempDir()) / ("mapped_file_test_" + std::to_string(::getpid()));
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string write(const std::string& name, const std::string& content) {
    const std::string path = (dir_ / name).string();
    std::ofstream(path, std::ios::binary) << content;
    return path;
  }

  fs::path dir_;
};

TEST_F(MappedFileTest, MissingFileIsNotFound) {
  const std::string path = (dir_ / "nope.bin").string();
  const Result<MappedFile> f = MappedFile::open(path);
  ASSERT_FALSE(f.ok());
  EXPECT_EQ(f.status().code(), ErrorCode::kNotFound);
  EXPECT_NE(f.status().message().find(path), std::string_view::npos) << f.status().message();
  // A missing parent directory is not found too.
  EXPECT_EQ(MappedFile::open((dir_ / "no_dir" / "x").string()).status().code(), ErrorCode::kNotFound);
}

TEST_F(MappedFileTest, DirectoryIsRejected) {
  const Result<MappedFile> f = MappedFile::open(dir_.string());
  ASSERT_FALSE(f.ok());
  EXPECT_EQ(f.status().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(f.status().message().find("not a regular file"), std::string_view::npos);
}

TEST_F(MappedFileTest, EmptyFileGivesEmptySpan) {
  const std::string path = write("empty.bin", "");
  Result<MappedFile> f = MappedFile::open(path);
  ASSERT_TRUE(f.ok()) << f.status().to_string();
  EXPECT_EQ(f->size(), 0u);
  EXPECT_TRUE(f->bytes().empty());
  EXPECT_EQ(f->path(), path);
}

TEST_F(MappedFileTest, ContentMatches) {
  Rng rng(1);
  std::string content(100'003, '\0');
  for (char& c : content) c = static_cast<char>(rng.below(256));
  const std::string path = write("data.bin", content);
  Result<MappedFile> f = MappedFile::open(path);
  ASSERT_TRUE(f.ok()) << f.status().to_string();
  ASSERT_EQ(f->size(), content.size());
  ASSERT_EQ(f->bytes().size(), content.size());
  EXPECT_EQ(std::memcmp(f->bytes().data(), content.data(), content.size()), 0);
}

TEST_F(MappedFileTest, MoveTransfersTheMapping) {
  const std::string path = write("small.bin", "hello");
  MappedFile a = std::move(MappedFile::open(path)).value();
  const std::byte* data = a.bytes().data();
  MappedFile b(std::move(a));
  EXPECT_EQ(b.bytes().data(), data);
  EXPECT_EQ(b.size(), 5u);
  EXPECT_EQ(b.path(), path);
  EXPECT_EQ(a.size(), 0u);  // NOLINT(bugprone-use-after-move): moved-from is empty by contract
  EXPECT_TRUE(a.bytes().empty());

  MappedFile c = std::move(MappedFile::open(write("other.bin", "xy")).value());
  c = std::move(b);  // releases c's old mapping, takes b's
  EXPECT_EQ(c.size(), 5u);
  EXPECT_EQ(std::memcmp(c.bytes().data(), "hello", 5), 0);
  EXPECT_TRUE(b.bytes().empty());  // NOLINT(bugprone-use-after-move)
}

TEST_F(MappedFileTest, MappingOutlivesTheFile) {
  const std::string path = write("gone.bin", "still here");
  MappedFile f = std::move(MappedFile::open(path)).value();
  fs::remove(path);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(f.bytes().data()), f.size()), "still here");
}

}  // namespace
}  // namespace parley
