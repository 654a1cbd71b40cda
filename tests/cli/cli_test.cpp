// The `parley` binary as users run it: exit codes, output formats, errors.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "test_support.h"

namespace parley {
namespace {

struct Outcome {
  int exit_code;
  std::string out;
  std::string err;
};

Outcome run(const std::string& args) {
  const std::string err_path =
      std::filesystem::temp_directory_path() / ("parley_cli_err_" + std::to_string(::getpid()));
  const std::string cmd = testing::parley_bin() + " " + args + " 2>" + err_path;
  FILE* p = ::popen(cmd.c_str(), "r");
  std::string out;
  char buf[4096];
  std::size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  const int status = ::pclose(p);
  Outcome r{WIFEXITED(status) ? WEXITSTATUS(status) : -1, std::move(out), testing::read_file(err_path)};
  std::filesystem::remove(err_path);
  return r;
}

std::string vocab(const std::string& name) {
  return testing::vocab_path(name);
}

class CliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("parley_cli_" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }
  std::filesystem::path dir_;
};

TEST_F(CliTest, HelpForEveryCommand) {
  for (const char* cmd : {"--help",
                          "model --help",
                          "model info --help",
                          "model synth --help",
                          "tokenize --help",
                          "generate --help",
                          "bench --help",
                          "bench serve --help",
                          "bench http --help",
                          "gateway --help",
                          "admin --help",
                          "admin create-user --help",
                          "admin reset-password --help",
                          "admin disable-user --help",
                          "admin enable-user --help",
                          "admin set-role --help",
                          "admin list-users --help",
                          "admin create-key --help",
                          "admin revoke-key --help",
                          "admin list-keys --help",
                          "admin usage --help"}) {
    const Outcome r = run(cmd);
    EXPECT_EQ(r.exit_code, 0) << cmd;
    EXPECT_NE(r.out.find("Usage"), std::string::npos) << cmd;
  }
  EXPECT_NE(run("").exit_code, 0);  // a subcommand is required
  EXPECT_NE(run("no-such-command").exit_code, 0);
}

TEST_F(CliTest, ServeRefusesAWebDirThatIsNotADirectory) {
  std::ofstream(path("file.txt")) << "x";
  for (const std::string& dir : {path("missing"), path("file.txt")}) {
    const Outcome r = run("serve --port 0 --data " + path("data") + " --web-dir " + dir);
    EXPECT_NE(r.exit_code, 0) << dir;
    EXPECT_NE(r.err.find("the web directory " + dir + " is not a directory"), std::string::npos) << r.err;
  }
  EXPECT_NE(run("serve --help").out.find("--web-dir"), std::string::npos);
}

TEST_F(CliTest, TokenizePrintsIdsLikeTheReference) {
  Outcome r = run("tokenize --model " + vocab("llama-bpe") + " 'Hello world'");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "128000 9906 1917\n");
  r = run("tokenize --no-bos --model " + vocab("llama-bpe") + " 'Hello world'");
  EXPECT_EQ(r.out, "9906 1917\n");
  r = run("tokenize --json --model " + vocab("llama-spm") + " 'Hello world'");
  EXPECT_EQ(r.out, "[1,15043,3186]\n");
  r = run("tokenize --no-bos --special --model " + vocab("qwen2") + " '<|im_start|>'");
  EXPECT_EQ(r.out, "151644\n");
  r = run("tokenize --no-bos --model " + vocab("qwen2") + " '<|im_start|>'");
  EXPECT_NE(r.out, "151644\n");
}

TEST_F(CliTest, TokenizeReadsFilesByteForByte) {
  {
    std::ofstream f(path("in.txt"), std::ios::binary);
    f << "Hello world\n";
  }
  const Outcome r = run("tokenize --no-bos --model " + vocab("gpt-2") + " --file " + path("in.txt"));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "15496 995 198\n");
  const Outcome both = run("tokenize --model " + vocab("gpt-2") + " --file " + path("in.txt") + " 'text'");
  EXPECT_NE(both.exit_code, 0);
  const Outcome missing = run("tokenize --model " + vocab("gpt-2") + " --file " + path("nope.txt"));
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_NE(missing.err.find("No such file"), std::string::npos) << missing.err;
}

TEST_F(CliTest, SynthIsDeterministicAndInfoDescribesIt) {
  const std::string args =
      "model synth --arch qwen2 --vocab-from " + vocab("qwen2") +
      " --layers 2 --embd 64 --heads 4 --kv-heads 2 --ff 128 --type q8_0 --tie-embeddings --seed 3 --out ";
  ASSERT_EQ(run(args + path("a.gguf")).exit_code, 0);
  ASSERT_EQ(run(args + path("b.gguf")).exit_code, 0);
  EXPECT_EQ(testing::read_file(path("a.gguf")), testing::read_file(path("b.gguf")));

  const Outcome info = run("model info --json " + path("a.gguf"));
  ASSERT_EQ(info.exit_code, 0) << info.err;
  const boost::json::object j = boost::json::parse(info.out).as_object();
  EXPECT_EQ(j.at("architecture").as_string(), "qwen2");
  const auto& hp = j.at("hparams").as_object();
  EXPECT_EQ(hp.at("block_count").as_int64(), 2);
  EXPECT_EQ(hp.at("head_count_kv").as_int64(), 2);
  EXPECT_EQ(hp.at("vocab_size").as_int64(), 151936);
  EXPECT_EQ(j.at("tokenizer").as_object().at("pre").as_string(), "qwen2");
  // Parameters: tied embeddings + per layer (q, k, v, o, biases, norms, 3 FFN matrices) + final norm.
  const std::int64_t embd = 64, kv = 32, ff = 128, vocab_n = 151936;
  const std::int64_t per_layer = embd * embd + 2 * embd * kv + embd * embd + embd + 2 * kv + 2 * embd + 3 * embd * ff;
  EXPECT_EQ(j.at("n_params").as_int64(), vocab_n * embd + 2 * per_layer + embd);
  bool has_output = false;
  for (const auto& t : j.at("tensors").as_array())
    has_output |= t.as_object().at("name").as_string() == "output.weight";
  EXPECT_FALSE(has_output);

  const Outcome text = run("model info " + path("a.gguf"));
  EXPECT_EQ(text.exit_code, 0);
  EXPECT_NE(text.out.find("architecture:  qwen2"), std::string::npos);
  EXPECT_NE(text.out.find("blk.1.ffn_down.weight"), std::string::npos);
  EXPECT_NE(text.out.find("random weights"), std::string::npos);  // clearly labelled synthetic
}

TEST_F(CliTest, InfoWorksOnVocabularyOnlyFiles) {
  const Outcome r = run("model info " + vocab("phi-3"));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("SentencePiece BPE"), std::string::npos);
  EXPECT_NE(r.out.find("32064 tokens"), std::string::npos);
}

TEST_F(CliTest, ErrorsAreClearAndExitNonZero) {
  {
    std::ofstream f(path("bad.gguf"), std::ios::binary);
    f << "GGUF\x03\0\0\0garbage";
  }
  Outcome r = run("model info " + path("bad.gguf"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("malformed GGUF"), std::string::npos) << r.err;
  r = run("gateway --port 0 --data " + path("gwdata"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("no worker"), std::string::npos) << r.err;
  r = run("gateway --port 0 --data " + path("gwdata") + " --workers dns:workers");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("dns:NAME:PORT"), std::string::npos) << r.err;
  r = run("model info " + path("missing.gguf"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("No such file"), std::string::npos) << r.err;
  r = run(
      "model synth --vocab-from builtin:bytes --layers 1 --embd 96 --heads 4 --kv-heads 4 --ff 64 --type q4_k --out " +
      path("x.gguf"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("multiple of the q4_k block size"), std::string::npos) << r.err;
  r = run(
      "model synth --vocab-from builtin:bytes --layers 1 --embd 64 --heads 4 --kv-heads 4 --ff 64 --type q9 --out " +
      path("x.gguf"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("unknown tensor type 'q9'"), std::string::npos) << r.err;
  r = run("model synth --vocab-from " + path("missing.gguf") +
          " --layers 1 --embd 64 --heads 4 --kv-heads 4 --ff 64 --out " + path("x.gguf"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("--vocab-from"), std::string::npos) << r.err;
  EXPECT_FALSE(std::filesystem::exists(path("x.gguf")));
}

TEST_F(CliTest, SynthWritesTheChatTemplateGiven) {
  const std::string tmpl = "{% for m in messages %}<{{ m.content }}>{% endfor %}";
  std::ofstream(path("t.jinja")) << tmpl;
  const std::string base =
      "model synth --vocab-from builtin:bytes --layers 1 --embd 64 --heads 4 --kv-heads 4 --ff 64 ";
  ASSERT_EQ(run(base + "--chat-template " + path("t.jinja") + " --out " + path("t.gguf")).exit_code, 0);
  const Outcome info = run("model info " + path("t.gguf"));
  ASSERT_EQ(info.exit_code, 0) << info.err;
  EXPECT_NE(info.out.find("chat template       " + std::to_string(tmpl.size()) + " bytes"), std::string::npos)
      << info.out;
  const Outcome missing = run(base + "--chat-template " + path("missing.jinja") + " --out " + path("u.gguf"));
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_NE(missing.err.find("--chat-template"), std::string::npos) << missing.err;
}

TEST_F(CliTest, GenerateIsReproducibleAndStopsAtTheLimit) {
  ASSERT_EQ(
      run("model synth --vocab-from builtin:bytes --layers 2 --embd 128 --heads 4 --kv-heads 2 --ff 256 --type q8_0 "
          "--out " +
          path("m.gguf"))
          .exit_code,
      0);
  const std::string base = "generate --model " + path("m.gguf") + " --prompt 'Hello there' -t 2 ";
  const Outcome greedy = run(base + "--temp 0 --ids --ignore-eos -n 7");
  ASSERT_EQ(greedy.exit_code, 0) << greedy.err;
  std::istringstream ids(greedy.out);
  int id = 0, count = 0;
  while (ids >> id) {
    EXPECT_GE(id, 0);
    EXPECT_LT(id, 768);
    ++count;
  }
  EXPECT_EQ(count, 7);
  EXPECT_EQ(run(base + "--temp 0 --ids --ignore-eos -n 7").out, greedy.out);
  // Sampling with a seed is reproducible; text goes to stdout, timing to the log on stderr.
  const Outcome a = run(base + "--seed 5 -n 12 --ignore-eos");
  const Outcome b = run(base + "--seed 5 -n 12 --ignore-eos");
  ASSERT_EQ(a.exit_code, 0) << a.err;
  EXPECT_EQ(a.out, b.out);
  EXPECT_NE(a.err.find("generate done"), std::string::npos);
  EXPECT_NE(a.err.find("generated_tokens=12"), std::string::npos) << a.err;
  // A prompt longer than the context is refused clearly.
  const Outcome too_long = run(base + "--ctx 2");
  EXPECT_EQ(too_long.exit_code, 1);
  EXPECT_NE(too_long.err.find("the context holds 2"), std::string::npos) << too_long.err;
}

TEST_F(CliTest, BenchReportsFiguresAndLimits) {
  ASSERT_EQ(
      run("model synth --vocab-from builtin:bytes --layers 2 --embd 128 --heads 4 --kv-heads 2 --ff 256 --type q4_0 "
          "--out " +
          path("m.gguf"))
          .exit_code,
      0);
  const Outcome r = run("bench --model " + path("m.gguf") + " -p 16 -n 4 -b 1,2 -r 1 -t 2 --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const boost::json::object j = boost::json::parse(r.out).as_object();
  for (const char* key : {"prefill_tok_s", "decode_tok_s", "mem_bandwidth_gb_s", "decode_roofline_ratio", "fma_gflop_s",
                          "prefill_gflop_s"}) {
    ASSERT_TRUE(j.contains(key)) << key;
    EXPECT_GT(j.at(key).to_number<double>(), 0.0) << key;
  }
  const auto& by_batch = j.at("decode_tok_s_by_batch").as_object();
  EXPECT_TRUE(by_batch.contains("1"));
  EXPECT_TRUE(by_batch.contains("2"));
  EXPECT_EQ(j.at("weight_type").as_string(), "q4_0");
  EXPECT_NE(run("bench --model " + path("m.gguf") + " -b 0").exit_code, 0);
}

TEST_F(CliTest, BenchServeDrivesTheEngine) {
  ASSERT_EQ(
      run("model synth --vocab-from builtin:bytes --layers 2 --embd 128 --heads 4 --kv-heads 2 --ff 256 --type q8_0 "
          "--out " +
          path("m.gguf"))
          .exit_code,
      0);
  const Outcome r =
      run("bench serve --model " + path("m.gguf") + " -c 3 -N 6 -p 20 -g 5 --shared-prefix 48 -t 2 --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const boost::json::object j = boost::json::parse(r.out).as_object();
  for (const char* key : {"gen_tok_s", "ttft_mean_s", "ttft_p50_s", "ttft_p99_s", "itl_mean_s", "itl_p99_s"}) {
    ASSERT_TRUE(j.contains(key)) << key;
    EXPECT_GT(j.at(key).to_number<double>(), 0.0) << key;
  }
  EXPECT_LE(j.at("ttft_p50_s").to_number<double>(), j.at("ttft_p99_s").to_number<double>());
  // Requests after the first wave reuse the 48-token prefix (3 full blocks of 16).
  EXPECT_GT(j.at("prefix_hit_rate").to_number<double>(), 0.0);
  EXPECT_NE(run("bench serve --model " + path("m.gguf") + " -c 0").exit_code, 0);
  const Outcome text = run("bench serve --model " + path("m.gguf") + " -c 2 -N 2 -p 8 -g 2 -t 2");
  EXPECT_EQ(text.exit_code, 0) << text.err;
  EXPECT_NE(text.out.find("throughput"), std::string::npos);
}

TEST_F(CliTest, KvTypeQ8ForBenchGenerateAndBenchServe) {
  // Heads of 32: the smallest a Q8_0 cache takes. 2 layers x 2 KV heads x 32, K and V: 272 bytes.
  ASSERT_EQ(run("model synth --vocab-from builtin:bytes --layers 2 --embd 128 --heads 4 --kv-heads 2 --ff 256 "
                "--type f16 --out " +
                path("m.gguf"))
                .exit_code,
            0);
  const Outcome b =
      run("bench --model " + path("m.gguf") + " -p 16 -n 4 -b 1 -r 1 -t 2 --decode-ctx 40 --kv-type q8_0 --json");
  ASSERT_EQ(b.exit_code, 0) << b.err;
  const boost::json::object j = boost::json::parse(b.out).as_object();
  EXPECT_EQ(j.at("kv_type").as_string(), "q8_0");
  EXPECT_EQ(j.at("kv_bytes_per_token").to_number<std::int64_t>(), 272);
  EXPECT_GT(j.at("decode_tok_s").to_number<double>(), 0.0);
  const std::string gen = "generate --model " + path("m.gguf") + " --prompt 'Hello there' -t 2 --temp 0 --ids -n 6 ";
  const Outcome q8 = run(gen + "--kv-type q8_0");
  ASSERT_EQ(q8.exit_code, 0) << q8.err;
  EXPECT_EQ(run(gen + "--kv-type q8_0").out, q8.out);
  const Outcome serve =
      run("bench serve --model " + path("m.gguf") + " -c 2 -N 2 -p 8 -g 3 -t 2 --kv-type q8_0 --json");
  ASSERT_EQ(serve.exit_code, 0) << serve.err;
  EXPECT_EQ(boost::json::parse(serve.out).as_object().at("kv_type").as_string(), "q8_0");
  const Outcome bad = run(gen + "--kv-type q4_0");
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_NE(bad.err.find("not one of: f16, q8_0"), std::string::npos) << bad.err;
  // Heads of 24 cannot be split into blocks of 32: refused at start-up, with the reason.
  ASSERT_EQ(run("model synth --vocab-from builtin:bytes --layers 1 --embd 96 --heads 4 --kv-heads 2 --ff 128 "
                "--type f16 --out " +
                path("h24.gguf"))
                .exit_code,
            0);
  const Outcome h24 = run("generate --model " + path("h24.gguf") + " --prompt hi -n 2 --kv-type q8_0");
  EXPECT_EQ(h24.exit_code, 1);
  EXPECT_NE(h24.err.find("multiple of 32"), std::string::npos) << h24.err;
}

TEST_F(CliTest, JsonLogsAreOneObjectPerLine) {
  const Outcome r =
      run("--log-format json model synth --vocab-from builtin:bytes --layers 1 --embd 64 --heads 4 --kv-heads 4 "
          "--ff 64 --out " +
          path("m.gguf"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ASSERT_FALSE(r.err.empty());
  std::istringstream lines(r.err);
  std::string line;
  while (std::getline(lines, line)) {
    const boost::json::object o = boost::json::parse(line).as_object();
    EXPECT_TRUE(o.contains("ts"));
    EXPECT_EQ(o.at("level").as_string(), "info");
    EXPECT_TRUE(o.contains("msg"));
  }
  EXPECT_NE(run("--log-format yaml model info x").exit_code, 0);
}

// `parley admin` on a store in a data directory: what serve would open with the same --data.
TEST_F(CliTest, AdminManagesAccountsAndKeys) {
  const std::string data = "--data " + path("data");
  EXPECT_NE(run("admin " + data + " list-users").exit_code, 0) << "a data directory that does not exist is an error";
  std::filesystem::create_directories(path("data"));

  // A generated password is printed once on stdout; a given one is read from stdin only.
  Outcome r = run("admin " + data + " create-user --email Admin@Example.com --role admin");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out.size(), 21u) << r.out;                                                 // 20 characters and a newline
  EXPECT_NE(r.err.find("created admin admin@example.com"), std::string::npos) << r.err;  // normalized
  {
    std::ofstream f(path("pw.txt"));
    f << "correct horse battery\n";
  }
  r = run("admin create-user --email bob@example.com --password-stdin " + data + " < " + path("pw.txt"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "") << "a password given on stdin is not echoed";
  r = run("admin " + data + " create-user --email BOB@example.com");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("already exists"), std::string::npos) << r.err;
  {
    std::ofstream f(path("short.txt"));
    f << "short\n";
  }
  EXPECT_NE(
      run("admin " + data + " create-user --email c@example.com --password-stdin < " + path("short.txt")).exit_code, 0);
  // The password policy applies to passwords given on stdin, and a look-alike address is a duplicate.
  for (const std::string weak : {"12345678", "carol@example.com"}) {
    {
      std::ofstream f(path("weak.txt"));
      f << weak << "\n";
    }
    r = run("admin " + data + " create-user --email carol@example.com --password-stdin < " + path("weak.txt"));
    EXPECT_EQ(r.exit_code, 1) << weak;
    EXPECT_NE(r.err.find("too easy to guess"), std::string::npos) << r.err;
    EXPECT_EQ(r.err.find(weak), std::string::npos) << "the password is not echoed: " << r.err;
  }
  r = run("admin " + data + " create-user --email b\u043Eb@example.com");  // Cyrillic o
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("already exists"), std::string::npos) << r.err;
  EXPECT_NE(run("admin " + data + " create-user").exit_code, 0) << "--email is required";

  // create-key prints the secret alone on stdout; lists show only its prefix.
  r = run("admin " + data + " create-key --email bob@example.com --name ci --scopes chat --expires-days 30");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string secret = r.out.substr(0, r.out.find('\n'));
  EXPECT_EQ(secret.size(), 51u);
  EXPECT_EQ(secret.rfind("pk-", 0), 0u);
  const std::size_t id_at = r.err.find("key_");
  ASSERT_NE(id_at, std::string::npos) << r.err;
  const std::string key_id = r.err.substr(id_at, 30);
  EXPECT_NE(run("admin " + data + " create-key --email bob@example.com --scopes admin").exit_code, 0)
      << "a user's key cannot have the admin scope";
  r = run("admin " + data + " list-keys --email bob@example.com");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find(key_id), std::string::npos);
  EXPECT_NE(r.out.find(secret.substr(0, 12)), std::string::npos);
  EXPECT_EQ(r.out.find(secret), std::string::npos);
  EXPECT_NE(r.out.find("active"), std::string::npos);
  EXPECT_NE(run("admin " + data + " revoke-key --email admin@example.com --id " + key_id).exit_code, 0)
      << "another user's key is not found";
  ASSERT_EQ(run("admin " + data + " revoke-key --email bob@example.com --id " + key_id).exit_code, 0);
  EXPECT_NE(run("admin " + data + " list-keys --email bob@example.com").out.find("revoked"), std::string::npos);

  // Accounts: disable, role, reset; the list reflects them.
  ASSERT_EQ(run("admin " + data + " disable-user --email bob@example.com").exit_code, 0);
  ASSERT_EQ(run("admin " + data + " set-role --email bob@example.com --role admin").exit_code, 0);
  r = run("admin " + data + " reset-password --email bob@example.com");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out.size(), 21u);
  r = run("admin " + data + " list-users --search bob");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("bob@example.com"), std::string::npos);
  EXPECT_NE(r.out.find("disabled"), std::string::npos);
  EXPECT_NE(r.out.find("admin"), std::string::npos);
  EXPECT_EQ(r.out.find("Admin@Example.com"), std::string::npos);
  EXPECT_NE(run("admin " + data + " disable-user --email nobody@example.com").exit_code, 0);

  // Usage (empty here) and its argument checks.
  r = run("admin " + data + " usage --json");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(run("admin " + data + " usage --email bob@example.com --from 2026-01-01 --to 2026-02-01").exit_code, 0);
  EXPECT_NE(run("admin " + data + " usage --from 2026-13-01").exit_code, 0);
  EXPECT_NE(run("admin " + data + " usage --from 2026-02-01 --to 2026-01-01").exit_code, 0);
  EXPECT_NE(run("admin " + data).exit_code, 0) << "a subcommand is required";
}

}  // namespace
}  // namespace parley
