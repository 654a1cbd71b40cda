#include "gateway/model_catalog.h"

namespace parley {

ModelCatalog::ModelCatalog(std::vector<std::unique_ptr<ServedModel>> models) {
  for (auto& m : models) models_.push_back(std::shared_ptr<ServedModel>(std::move(m)));
}

Status ModelCatalog::add(std::shared_ptr<ServedModel> model) {
  std::vector<std::function<void(const ServedModel&)>> hooks;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& m : models_) {
      if (m->id() == model->id()) {
        return Status(ErrorCode::kAlreadyExists, fmt::format("model '{}' is served already", model->id()));
      }
    }
    models_.push_back(model);
    hooks = on_add_;
  }
  for (const auto& h : hooks) h(*model);
  return {};
}

void ModelCatalog::retire(const std::string& id) {
  std::lock_guard<std::mutex> lock(mu_);
  for (auto it = models_.begin(); it != models_.end(); ++it) {
    if ((*it)->id() == id) {
      retired_.push_back(std::move(*it));
      models_.erase(it);
      return;
    }
  }
}

const ServedModel* ModelCatalog::find(std::string_view id) const {
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& m : models_) {
    if (m->id() == id) return m.get();
  }
  return nullptr;
}

const ServedModel* ModelCatalog::find_or_refresh(std::string_view id) const {
  if (const ServedModel* m = find(id)) return m;
  std::function<void()> refresher;
  {
    std::lock_guard<std::mutex> lock(mu_);
    refresher = refresher_;
  }
  if (!refresher) return nullptr;
  refresher();
  return find(id);
}

std::vector<const ServedModel*> ModelCatalog::list() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<const ServedModel*> out;
  out.reserve(models_.size());
  for (const auto& m : models_) out.push_back(m.get());
  return out;
}

const ServedModel* ModelCatalog::first() const {
  std::lock_guard<std::mutex> lock(mu_);
  return models_.empty() ? nullptr : models_.front().get();
}

bool ModelCatalog::empty() const {
  std::lock_guard<std::mutex> lock(mu_);
  return models_.empty();
}

bool ModelCatalog::dynamic() const {
  std::lock_guard<std::mutex> lock(mu_);
  return refresher_ != nullptr || status_ != nullptr;
}

void ModelCatalog::on_add(std::function<void(const ServedModel&)> hook) {
  std::vector<std::shared_ptr<ServedModel>> now;
  {
    std::lock_guard<std::mutex> lock(mu_);
    on_add_.push_back(hook);
    now = models_;
  }
  for (const auto& m : now) hook(*m);
}

void ModelCatalog::set_refresher(std::function<void()> refresher) {
  std::lock_guard<std::mutex> lock(mu_);
  refresher_ = std::move(refresher);
}

void ModelCatalog::set_status_source(std::function<std::optional<ModelStatus>(const std::string&)> source) {
  std::lock_guard<std::mutex> lock(mu_);
  status_ = std::move(source);
}

std::optional<ModelStatus> ModelCatalog::status(const std::string& id) const {
  std::function<std::optional<ModelStatus>(const std::string&)> source;
  {
    std::lock_guard<std::mutex> lock(mu_);
    source = status_;
  }
  return source ? source(id) : std::nullopt;
}

void ModelCatalog::set_miss_reason(std::function<std::optional<Status>(const std::string&)> source) {
  std::lock_guard<std::mutex> lock(mu_);
  miss_reason_ = std::move(source);
}

std::optional<Status> ModelCatalog::miss_reason(const std::string& id) const {
  std::function<std::optional<Status>(const std::string&)> source;
  {
    std::lock_guard<std::mutex> lock(mu_);
    source = miss_reason_;
  }
  return source ? source(id) : std::nullopt;
}

void ModelCatalog::set_control(std::shared_ptr<ModelControl> control) {
  std::lock_guard<std::mutex> lock(mu_);
  control_ = std::move(control);
}

std::shared_ptr<ModelControl> ModelCatalog::control() const {
  std::lock_guard<std::mutex> lock(mu_);
  return control_;
}

void ModelCatalog::hold(std::shared_ptr<void> owner) {
  std::lock_guard<std::mutex> lock(mu_);
  owners_.push_back(std::move(owner));
}

void ModelCatalog::clear() {
  std::vector<std::shared_ptr<void>> owners;
  std::vector<std::shared_ptr<ServedModel>> models;
  {
    std::lock_guard<std::mutex> lock(mu_);
    owners.swap(owners_);
    models.swap(models_);
    for (auto& m : retired_) models.push_back(std::move(m));
    retired_.clear();
    refresher_ = nullptr;
    status_ = nullptr;
    miss_reason_ = nullptr;
    control_.reset();
  }
  while (!owners.empty()) owners.pop_back();  // the last held first
  models.clear();
}

}  // namespace parley
