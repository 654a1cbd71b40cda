// A main() for the libFuzzer targets in ordinary builds: `make test` (CTest `fuzz_smoke_*`) runs
// each target's LLVMFuzzerTestOneInput over its committed seed corpus (tests/fuzz/corpus/<target>)
// and over a fixed number of deterministic mutations of each seed (byte flips, truncations,
// insertions, splices). It is a smoke pass, not fuzzing: the real runs are `make fuzz`
// (libFuzzer, ASan + UBSan). A target that finds a violated property aborts, failing the test.
//
// Usage: <target>_replay [--mutations N] FILE_OR_DIR...
#include <algorithm>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);
extern "C" __attribute__((weak)) int LLVMFuzzerInitialize(int* argc, char*** argv);

namespace {

// The input being run, printed (C-escaped) when a target aborts so that it can be replayed.
const std::string* g_current = nullptr;

void print_current(int sig) {
  if (g_current != nullptr) {
    std::fprintf(stderr, "fuzz_replay: failing input (%zu bytes): \"", g_current->size());
    for (const char c : *g_current) {
      const auto u = static_cast<unsigned char>(c);
      if (u >= 0x20 && u < 0x7F && u != '"' && u != '\\') {
        std::fputc(u, stderr);
      } else {
        std::fprintf(stderr, "\\x%02x", u);
      }
    }
    std::fprintf(stderr, "\"\n");
  }
  std::signal(sig, SIG_DFL);
  std::raise(sig);
}

void run_one(const std::string& in) {
  g_current = &in;
  LLVMFuzzerTestOneInput(reinterpret_cast<const std::uint8_t*>(in.data()), in.size());
  g_current = nullptr;
}

std::vector<std::string> read_inputs(const std::vector<std::string>& args) {
  std::vector<std::filesystem::path> files;
  for (const std::string& a : args) {
    if (std::filesystem::is_directory(a)) {
      for (const auto& e : std::filesystem::directory_iterator(a)) {
        if (e.is_regular_file()) files.push_back(e.path());
      }
    } else {
      files.emplace_back(a);
    }
  }
  std::sort(files.begin(), files.end());
  std::vector<std::string> inputs;
  for (const auto& f : files) {
    std::ifstream in(f, std::ios::binary);
    if (!in) {
      std::fprintf(stderr, "fuzz_replay: cannot read %s\n", f.c_str());
      std::exit(2);
    }
    inputs.emplace_back(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  return inputs;
}

std::string mutate(const std::string& seed, const std::vector<std::string>& all, std::mt19937& rng) {
  std::string s = seed;
  const int n_edits = 1 + static_cast<int>(rng() % 4);
  for (int i = 0; i < n_edits; ++i) {
    const std::size_t pos = s.empty() ? 0 : rng() % (s.size() + 1);
    switch (rng() % 5) {
      case 0:  // flip a byte
        if (!s.empty()) s[std::min(pos, s.size() - 1)] ^= static_cast<char>(1u << (rng() % 8));
        break;
      case 1:  // truncate
        s.resize(pos);
        break;
      case 2:  // insert a random byte
        s.insert(pos, 1, static_cast<char>(rng() & 0xFF));
        break;
      case 3: {  // splice in a piece of another input
        const std::string& o = all[rng() % all.size()];
        if (o.empty()) break;
        const std::size_t from = rng() % o.size();
        s.insert(pos, o.substr(from, 1 + rng() % 32));
        break;
      }
      default:  // duplicate a piece
        if (!s.empty()) s.insert(pos, s.substr(rng() % s.size(), 1 + rng() % 16));
        break;
    }
  }
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  if (LLVMFuzzerInitialize != nullptr) LLVMFuzzerInitialize(&argc, &argv);
  int mutations = 0;
  std::vector<std::string> args;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--mutations" && i + 1 < argc) {
      mutations = std::atoi(argv[++i]);
    } else {
      args.push_back(a);
    }
  }
  const std::vector<std::string> inputs = read_inputs(args);
  if (inputs.empty()) {
    std::fprintf(stderr, "fuzz_replay: no inputs\n");
    return 2;
  }
  std::signal(SIGABRT, print_current);
  std::signal(SIGSEGV, print_current);
  std::mt19937 rng(12345);
  std::size_t runs = 0;
  for (const std::string& in : inputs) {
    run_one(in);
    ++runs;
    for (int m = 0; m < mutations; ++m) {
      const std::string x = mutate(in, inputs, rng);
      run_one(x);
      ++runs;
    }
  }
  std::printf("fuzz_replay: %zu inputs (%zu seeds), no failure\n", runs, inputs.size());
  return 0;
}
