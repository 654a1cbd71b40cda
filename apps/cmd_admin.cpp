// `parley admin`: accounts, keys and usage from the command line, on the same store as `parley
// serve` (--data DIR / --database URL / --config FILE pick it the same way). Safe to run while
// the server runs: both go through the store's transactions.
//
// Secrets: a password is read from stdin (--password-stdin), never from the command line, where
// other users could read it in the process list; without it a random one is generated and printed
// once. A new API key's secret is the only thing create-key prints on stdout, so that
// `KEY=$(parley admin create-key --email a@b.c)` works; the rest goes to stderr.
#include <fmt/core.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <string>

#include "apps/cli.h"
#include "auth/api_key.h"
#include "auth/crypto.h"
#include "auth/password.h"
#include "auth/roles.h"
#include "base/log.h"
#include "gateway/accounts_config.h"
#include "gateway/serve_config.h"
#include "store/backup.h"
#include "store/open_store.h"

namespace parley::cli {
namespace {

struct AdminArgs {
  std::string config;
  std::string data;
  std::string database;
  std::string email;
  std::string name;
  std::string role = "user";
  std::string scopes;
  std::string key_id;
  std::string search;
  std::string from;
  std::string to;
  int expires_days = 0;
  bool password_stdin = false;
  bool json = false;
};

struct Opened {
  std::unique_ptr<store::Store> store;
  AccountsConfig accounts;
};

// The URL of the store `parley serve` would open with the same --data / --database / --config.
Result<std::string> store_url(const AdminArgs& a, AccountsConfig* accounts) {
  std::string data = "data";
  if (!a.config.empty()) {
    ASSIGN_OR_RETURN(const ServeConfig c, load_serve_config(a.config));
    *accounts = c.accounts;
    data = c.data_dir;
  }
  if (!a.data.empty()) data = a.data;
  std::string url = !a.database.empty() ? a.database : accounts->store_url;
  if (url.empty()) {
    // Creating the database here would hide a wrong --data: the directory must exist.
    if (!std::filesystem::is_directory(data)) {
      return not_found_error("the data directory '{}' does not exist (give --data DIR or --database URL)", data);
    }
    url = store::default_store_url(data);
  }
  return url;
}

Result<Opened> open(const AdminArgs& a) {
  Opened o;
  ASSIGN_OR_RETURN(const std::string url, store_url(a, &o.accounts));
  ASSIGN_OR_RETURN(o.store, store::open_store(url));
  return o;
}

// SQLite's online backup: consistent while `parley serve` writes (store/backup.h).
Status backup(const AdminArgs& a) {
  AccountsConfig accounts;
  ASSIGN_OR_RETURN(const std::string url, store_url(a, &accounts));
  ASSIGN_OR_RETURN(const std::string path, store::sqlite_path_of(url));
  ASSIGN_OR_RETURN(const store::BackupInfo info, store::backup_sqlite(path, a.to));
  fmt::print(stderr, "backed up {} to {}: schema version {}, {} pages, {} bytes\n", path, a.to, info.schema_version,
             info.pages, info.bytes);
  return ok_status();
}

// Replaces the store's content with a backup; `parley serve` must be stopped.
Status restore(const AdminArgs& a) {
  AccountsConfig accounts;
  ASSIGN_OR_RETURN(const std::string url, store_url(a, &accounts));
  ASSIGN_OR_RETURN(const std::string path, store::sqlite_path_of(url));
  ASSIGN_OR_RETURN(const store::BackupInfo info, store::restore_sqlite(a.from, path));
  fmt::print(stderr, "restored {} from {}: schema version {}, {} pages\n", path, a.from, info.schema_version,
             info.pages);
  return ok_status();
}

// The password for `owner`: from stdin, checked by the policy, or generated (and checked too: a
// random string fails only by a freak such as spelling a dictionary word or the owner's name).
Result<std::string> read_password(const AdminArgs& a, const auth::PasswordOwner& owner, bool* generated) {
  *generated = !a.password_stdin;
  if (!a.password_stdin) {
    Status st;
    for (int attempt = 0; attempt < 8; ++attempt) {
      std::string pw = auth::base64url_encode(auth::random_bytes(15));  // 120 bits, 20 characters
      st = auth::validate_password(pw, owner);
      if (st.ok()) return pw;
      if (st.detail("code") != "weak_password") break;  // e.g. no dictionary: another try cannot help
    }
    return st;
  }
  std::string line;
  if (!std::getline(std::cin, line)) return invalid_argument_error("--password-stdin: nothing on stdin");
  if (!line.empty() && line.back() == '\r') line.pop_back();
  RETURN_IF_ERROR(auth::validate_password(line, owner));
  return line;
}

std::string date_of(store::Time t) {
  const auto day = std::chrono::floor<std::chrono::days>(t);
  const std::chrono::year_month_day ymd{day};
  return fmt::format("{:04}-{:02}-{:02}", static_cast<int>(ymd.year()), static_cast<unsigned>(ymd.month()),
                     static_cast<unsigned>(ymd.day()));
}

Result<store::Time> parse_date(std::string_view text, std::string_view flag) {
  int y = 0;
  unsigned m = 0, d = 0;
  char tail = 0;
  if (std::sscanf(std::string(text).c_str(), "%4d-%2u-%2u%c", &y, &m, &d, &tail) != 3) {
    return invalid_argument_error("{} must be a date YYYY-MM-DD", flag);
  }
  const std::chrono::year_month_day ymd{std::chrono::year(y), std::chrono::month(m), std::chrono::day(d)};
  if (!ymd.ok()) return invalid_argument_error("{} {} is not a valid date", flag, text);
  return store::Time(std::chrono::sys_days(ymd));
}

Result<store::User> user_by_email(store::Store& s, const std::string& email) {
  Result<store::User> u = s.find_user_by_email(email);
  if (!u.ok() && u.status().code() == ErrorCode::kNotFound) return not_found_error("no user with the email {}", email);
  return u;
}

Status create_user(const AdminArgs& a) {
  ASSIGN_OR_RETURN(Opened o, open(a));
  ASSIGN_OR_RETURN(const auth::Role role, auth::parse_role(a.role));
  bool generated = false;
  ASSIGN_OR_RETURN(const std::string password,
                   read_password(a, {.email = a.email, .display_name = a.name}, &generated));
  store::NewUser nu;
  nu.email = a.email;
  nu.display_name = a.name;
  nu.role = role == auth::Role::kAdmin ? store::UserRole::kAdmin : store::UserRole::kUser;
  ASSIGN_OR_RETURN(nu.password_hash, auth::hash_password(password, o.accounts.auth.password));
  ASSIGN_OR_RETURN(const store::User u, o.store->create_user(nu));
  fmt::print(stderr, "created {} {} ({})\n", store::user_role_name(u.role), u.email, u.id);
  if (generated) fmt::print("{}\n", password);  // shown once; the store keeps only its hash
  return ok_status();
}

Status reset_password(const AdminArgs& a) {
  ASSIGN_OR_RETURN(Opened o, open(a));
  ASSIGN_OR_RETURN(const store::User u, user_by_email(*o.store, a.email));
  bool generated = false;
  ASSIGN_OR_RETURN(const std::string password,
                   read_password(a, {.email = u.email, .display_name = u.display_name}, &generated));
  ASSIGN_OR_RETURN(std::string hash, auth::hash_password(password, o.accounts.auth.password));
  RETURN_IF_ERROR(o.store->update_user(u.id, {.password_hash = std::move(hash)}).status());
  ASSIGN_OR_RETURN(const std::int64_t ended, o.store->delete_user_sessions(u.id));
  fmt::print(stderr, "password of {} reset; {} session(s) ended\n", u.email, ended);
  if (generated) fmt::print("{}\n", password);
  return ok_status();
}

Status set_disabled(const AdminArgs& a, bool disabled) {
  ASSIGN_OR_RETURN(Opened o, open(a));
  ASSIGN_OR_RETURN(const store::User u, user_by_email(*o.store, a.email));
  RETURN_IF_ERROR(o.store->update_user(u.id, {.disabled = disabled}).status());
  if (disabled) RETURN_IF_ERROR(o.store->delete_user_sessions(u.id).status());
  fmt::print(stderr, "{} {}\n", u.email, disabled ? "disabled: its sessions and API keys are refused" : "enabled");
  return ok_status();
}

Status set_role(const AdminArgs& a) {
  ASSIGN_OR_RETURN(Opened o, open(a));
  ASSIGN_OR_RETURN(const auth::Role role, auth::parse_role(a.role));
  ASSIGN_OR_RETURN(const store::User u, user_by_email(*o.store, a.email));
  RETURN_IF_ERROR(
      o.store
          ->update_user(u.id, {.role = role == auth::Role::kAdmin ? store::UserRole::kAdmin : store::UserRole::kUser})
          .status());
  fmt::print(stderr, "{} is now {}\n", u.email, auth::role_name(role));
  return ok_status();
}

Status list_users(const AdminArgs& a) {
  ASSIGN_OR_RETURN(Opened o, open(a));
  store::UserQuery q;
  q.search = a.search;
  q.page.limit = store::kMaxPageLimit;
  for (;;) {
    ASSIGN_OR_RETURN(const store::Page<store::User> page, o.store->list_users(q));
    for (const store::User& u : page.items) {
      fmt::print("{}  {:<5}  {:<8}  {}  {}\n", u.id, store::user_role_name(u.role), u.disabled ? "disabled" : "active",
                 date_of(u.created_at), u.email);
    }
    if (!page.has_more) return ok_status();
    q.page.offset += q.page.limit;
  }
}

Status create_key(const AdminArgs& a) {
  ASSIGN_OR_RETURN(Opened o, open(a));
  ASSIGN_OR_RETURN(const store::User u, user_by_email(*o.store, a.email));
  auth::ScopeSet scopes = auth::kDefaultKeyScopes;
  if (!a.scopes.empty()) {
    ASSIGN_OR_RETURN(scopes, auth::parse_scope_list(a.scopes));
  }
  RETURN_IF_ERROR(
      auth::check_scopes_for_role(scopes, u.role == store::UserRole::kAdmin ? auth::Role::kAdmin : auth::Role::kUser));
  const auth::GeneratedApiKey generated = auth::generate_api_key();
  store::NewApiKey nk;
  nk.user_id = u.id;
  nk.name = a.name;
  nk.prefix = generated.display_prefix;
  nk.hash = generated.hash;
  for (const auth::Scope s : {auth::Scope::kChat, auth::Scope::kModels, auth::Scope::kAdmin}) {
    if (scopes.has(s)) nk.scopes.emplace_back(auth::scope_name(s));
  }
  if (a.expires_days > 0) nk.expires_at = store::system_now() + std::chrono::hours(24 * a.expires_days);
  ASSIGN_OR_RETURN(const store::ApiKey k, o.store->create_api_key(nk));
  fmt::print(stderr, "created API key {} ({}...) for {} with scopes {}{}; the secret below is shown only now\n", k.id,
             k.prefix, u.email, scopes.to_string(), k.expires_at ? ", expires " + date_of(*k.expires_at) : "");
  fmt::print("{}\n", generated.secret);
  return ok_status();
}

Status revoke_key(const AdminArgs& a) {
  ASSIGN_OR_RETURN(Opened o, open(a));
  ASSIGN_OR_RETURN(const store::User u, user_by_email(*o.store, a.email));
  Result<store::ApiKey> k = o.store->revoke_api_key(u.id, a.key_id);
  if (!k.ok() && k.status().code() == ErrorCode::kNotFound)
    return not_found_error("{} has no API key {}", u.email, a.key_id);
  if (!k.ok()) return k.status();
  fmt::print(stderr, "revoked API key {} ({}...) of {}\n", k->id, k->prefix, u.email);
  return ok_status();
}

Status list_keys(const AdminArgs& a) {
  ASSIGN_OR_RETURN(Opened o, open(a));
  ASSIGN_OR_RETURN(const store::User u, user_by_email(*o.store, a.email));
  ASSIGN_OR_RETURN(const std::vector<store::ApiKey> keys, o.store->list_api_keys(u.id));
  for (const store::ApiKey& k : keys) {
    std::string scopes;
    for (const std::string& s : k.scopes) scopes += (scopes.empty() ? "" : ",") + s;
    const std::string state = k.revoked_at ? "revoked" : !k.usable_at(store::system_now()) ? "expired" : "active";
    fmt::print("{}  {}...  {:<7}  {}  {:<18}  {}\n", k.id, k.prefix, state, date_of(k.created_at), scopes, k.name);
  }
  return ok_status();
}

Status usage(const AdminArgs& a) {
  ASSIGN_OR_RETURN(Opened o, open(a));
  const auto today = std::chrono::floor<std::chrono::days>(std::chrono::system_clock::now());
  const std::chrono::year_month_day ymd{today};
  store::Time from(std::chrono::sys_days(ymd.year() / ymd.month() / std::chrono::day(1)));
  store::Time to(std::chrono::sys_days(today) + std::chrono::days(1));
  if (!a.from.empty()) {
    ASSIGN_OR_RETURN(from, parse_date(a.from, "--from"));
  }
  if (!a.to.empty()) {
    ASSIGN_OR_RETURN(to, parse_date(a.to, "--to"));  // exclusive
  }
  if (!(from < to)) return invalid_argument_error("--from must be before --to");
  const auto print_totals = [&](std::string_view name, const store::UsageTotals& t) {
    if (a.json) {
      std::string quoted;
      append_json_escaped(quoted, name);
      fmt::print(R"({{"name":"{}","requests":{},"prompt_tokens":{},"completion_tokens":{},"cost_micros":{}}})"
                 "\n",
                 quoted, t.requests, t.prompt_tokens, t.completion_tokens, t.cost_micros);
    } else {
      fmt::print("{:<40}  {:>9}  {:>12}  {:>12}  {:>14.6f}\n", name, t.requests, t.prompt_tokens, t.completion_tokens,
                 static_cast<double>(t.cost_micros) / 1e6);
    }
  };
  if (!a.json) {
    fmt::print(stderr, "usage from {} to {} (exclusive), UTC\n", date_of(from), date_of(to));
    fmt::print("{:<40}  {:>9}  {:>12}  {:>12}  {:>14}\n", a.email.empty() ? "user" : "model", "requests", "prompt",
               "completion", "cost");
  }
  if (a.email.empty()) {
    ASSIGN_OR_RETURN(const std::vector<store::UserUsage> rows, o.store->usage_by_user(from, to));
    for (const store::UserUsage& u : rows) print_totals(u.email, u.totals);
  } else {
    ASSIGN_OR_RETURN(const store::User u, user_by_email(*o.store, a.email));
    ASSIGN_OR_RETURN(const std::vector<store::ModelUsage> rows, o.store->usage_summary(u.id, from, to));
    for (const store::ModelUsage& m : rows) print_totals(m.model, m.totals);
  }
  return ok_status();
}

}  // namespace

void add_admin_command(CLI::App& app, int* exit_code) {
  auto a = std::make_shared<AdminArgs>();
  CLI::App* admin = app.add_subcommand(
      "admin",
      "Manage accounts, API keys and usage in the store that `parley serve` uses (--data / --database / --config)");
  admin->require_subcommand(1);
  // On `admin` and, through fallthrough, accepted after the subcommand as well.
  admin
      ->add_option("--config", a->config,
                   "TOML config file of `parley serve` ([store] url, [server] data, [auth] password cost)")
      ->check(CLI::ExistingFile);
  admin->add_option("--data", a->data,
                    "Data directory of `parley serve` (the store is <data>/parley.db; default: data)");
  admin->add_option("--database", a->database, "Store URL: postgres://... or sqlite:PATH (overrides --data)");

  const auto add = [&](const char* name, const char* help, std::function<Status(const AdminArgs&)> run) {
    CLI::App* cmd = admin->add_subcommand(name, help);
    cmd->callback([a, exit_code, run, name] {
      if (Status st = run(*a); !st.ok()) *exit_code = fail(std::string("admin ") + name, st);
    });
    return cmd;
  };
  const auto email = [&](CLI::App* cmd) { cmd->add_option("--email", a->email, "The user's email")->required(); };
  const auto password = [&](CLI::App* cmd) {
    cmd->add_flag("--password-stdin", a->password_stdin,
                  "Read the password from the first line of stdin (default: generate one and print it)");
  };

  CLI::App* cmd =
      add("create-user", "Create an account (prints a generated password unless --password-stdin)", create_user);
  email(cmd);
  cmd->add_option("--name", a->name, "Display name");
  cmd->add_option("--role", a->role, "user or admin")->capture_default_str()->check(CLI::IsMember({"user", "admin"}));
  password(cmd);

  cmd = add("reset-password",
            "Set a new password (prints a generated one unless --password-stdin); ends the user's sessions",
            reset_password);
  email(cmd);
  password(cmd);

  cmd = add("disable-user", "Disable an account: its sessions and API keys are refused at once",
            [](const AdminArgs& args) { return set_disabled(args, true); });
  email(cmd);
  cmd =
      add("enable-user", "Enable a disabled account", [](const AdminArgs& args) { return set_disabled(args, false); });
  email(cmd);
  cmd = add("set-role", "Change an account's role", set_role);
  email(cmd);
  cmd->add_option("--role", a->role, "user or admin")->required()->check(CLI::IsMember({"user", "admin"}));

  cmd = add("list-users", "List accounts: id, role, state, created, email", list_users);
  cmd->add_option("--search", a->search, "Only accounts whose email or name contains this text");

  cmd = add("create-key", "Create an API key for a user and print its secret (shown only this once) on stdout",
            create_key);
  email(cmd);
  cmd->add_option("--name", a->name, "A name to recognise the key by");
  cmd->add_option("--scopes", a->scopes, "Comma-separated scopes: chat, models, admin (default: chat,models)");
  cmd->add_option("--expires-days", a->expires_days, "Expire after this many days (default: never)")
      ->check(CLI::Range(1, 3650));

  cmd = add("revoke-key", "Revoke one of a user's API keys (refused from the next request on)", revoke_key);
  email(cmd);
  cmd->add_option("--id", a->key_id, "The key's id (key_...; see list-keys)")->required();

  cmd = add("list-keys", "List a user's API keys: id, prefix, state, created, scopes, name (never the secrets)",
            list_keys);
  email(cmd);

  cmd = add("usage", "Usage by user (or, with --email, one user's usage by model) in UTC days [--from, --to)", usage);
  cmd->add_option("--email", a->email, "One user's usage, by model");
  cmd->add_option("--from", a->from, "First day, YYYY-MM-DD (default: the 1st of this month)");
  cmd->add_option("--to", a->to, "Day after the last, YYYY-MM-DD (default: tomorrow)");
  cmd->add_flag("--json", a->json, "One JSON object per line");

  cmd = add("backup", "Copy the SQLite store to a new file, consistently, while the server runs (PostgreSQL: pg_dump)",
            backup);
  cmd->add_option("--to", a->to, "The backup file to create (never overwritten)")->required();
  cmd = add("restore", "Replace the SQLite store's content with a backup (stop the server first)", restore);
  cmd->add_option("--from", a->from, "The backup file (made by `parley admin backup`)")->required();

  add_admin_models_command(*admin, exit_code);
  add_admin_moderation_command(*admin, exit_code, [a]() -> Result<std::unique_ptr<store::Store>> {
    ASSIGN_OR_RETURN(Opened o, open(*a));
    return std::move(o.store);
  });
}

}  // namespace parley::cli
