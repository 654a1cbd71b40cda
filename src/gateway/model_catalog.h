// ModelCatalog: the models a Gateway serves. The list may change while it serves: a models
// directory's files come and go (`--models-dir`), and workers start serving models after the
// gateway started (gateway/cluster_models.h). A model taken out is retired, not destroyed: the
// requests in flight hold references to its tokenizer and engine, so it lives until clear().
//
// Thread safety: every method may be called from any thread; hooks are called outside the lock.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "gateway/served_model.h"

namespace parley {

// What /v1/models and the admin API add about a model loaded on demand (or on a worker).
struct ModelStatus {
  std::int64_t size_bytes = -1;  // the file's; -1: not known
  bool loaded = true;
  std::string state;  // engine/model_pool.h's state name; "" for a model loaded for good
  bool pinned = false;
};

// A model as the admin API shows it (GET /api/admin/models).
struct ModelAdminInfo {
  std::string id;
  ModelStatus status;
  std::int64_t memory_bytes = 0;  // weights + KV bound, as the memory bound counts it
  std::int32_t streams = 0;
  std::int32_t waiters = 0;
  double idle_s = 0;
  std::string error;  // the last failed load's
};

// What an operator can do to the models loaded on demand (gateway/model_directory.h).
class ModelControl {
 public:
  virtual ~ModelControl() = default;
  virtual std::vector<ModelAdminInfo> admin_list() const = 0;
  virtual std::int64_t memory_used() const = 0;
  virtual std::int64_t memory_limit() const = 0;     // 0: none
  virtual Status load(const std::string& id) = 0;    // waits for the load
  virtual Status unload(const std::string& id) = 0;  // begins it; streams finish first
  virtual Status pin(const std::string& id, bool pinned) = 0;
};

class ModelCatalog {
 public:
  ModelCatalog() = default;
  explicit ModelCatalog(std::vector<std::unique_ptr<ServedModel>> models);
  ~ModelCatalog() { clear(); }
  ModelCatalog(const ModelCatalog&) = delete;
  ModelCatalog& operator=(const ModelCatalog&) = delete;

  // Serves `model` from now on; kAlreadyExists for an id served already.
  Status add(std::shared_ptr<ServedModel> model);
  // Stops serving `id` (not listed, not found); the model lives on until clear().
  void retire(const std::string& id);

  const ServedModel* find(std::string_view id) const;
  // find(); when `id` is not served, asks the refresher (a models directory rescans) and looks again.
  const ServedModel* find_or_refresh(std::string_view id) const;
  std::vector<const ServedModel*> list() const;  // in the order added
  const ServedModel* first() const;              // nullptr when none
  bool empty() const;
  bool dynamic() const;  // whether models may come and go (a refresher or a status source is set)

  // Called with every model served now and every one added later (the gateway watches its engine).
  void on_add(std::function<void(const ServedModel&)> hook);
  void set_refresher(std::function<void()> refresher);
  void set_status_source(std::function<std::optional<ModelStatus>(const std::string& id)> source);
  std::optional<ModelStatus> status(const std::string& id) const;
  // Why a model that is not served cannot be (a file that failed to load), for the error reply.
  void set_miss_reason(std::function<std::optional<Status>(const std::string& id)> source);
  std::optional<Status> miss_reason(const std::string& id) const;
  // The admin API's handle on models loaded on demand (none: they are loaded for good).
  void set_control(std::shared_ptr<ModelControl> control);
  std::shared_ptr<ModelControl> control() const;
  // Keeps `owner` (what runs the models' engines, e.g. a ModelPool) until clear(), which destroys
  // the owners first (their engines stop and their requests end while the models still exist).
  void hold(std::shared_ptr<void> owner);
  // The owners, then every model, retired ones included.
  void clear();

 private:
  mutable std::mutex mu_;
  std::vector<std::shared_ptr<ServedModel>> models_;
  std::vector<std::shared_ptr<ServedModel>> retired_;
  std::vector<std::shared_ptr<void>> owners_;
  std::vector<std::function<void(const ServedModel&)>> on_add_;
  std::function<void()> refresher_;
  std::function<std::optional<ModelStatus>(const std::string&)> status_;
  std::function<std::optional<Status>(const std::string&)> miss_reason_;
  std::shared_ptr<ModelControl> control_;
};

}  // namespace parley
