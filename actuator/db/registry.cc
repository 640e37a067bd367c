// The single list of database kinds: config validation and --list-kinds go by it. A new
// kind is one Register line here plus its db/<kind>.{h,cc}. The descriptions are empty:
// --list-kinds prints this family's names alone.
#include <chrono>
#include <cmath>
#include <cstdio>

#include "actuator/db/database.h"
#include "actuator/db/mysql.h"
#include "actuator/db/postgres.h"

namespace failover {

void RegisterBuiltinDatabases(DatabaseRegistry& registry) {
  registry.Register({"mysql", "", &NewMysqlDatabase});
  registry.Register({"postgres", "", &NewPostgresDatabase});
}

Result<DatabaseMap> LoadDatabases(const YamlNode& section) {
  DatabaseMap out;
  auto entries = section.Entries();
  if (!entries) return entries.error();
  DatabaseRegistry kinds;
  RegisterBuiltinDatabases(kinds);
  for (const auto& [id, body] : *entries) {
    auto kind = ParseKindKey(body, kinds, "database");
    if (!kind) return kind.error();
    const auto& [kind_entry, kind_body] = *kind;
    auto db = kind_entry->factory(kind_body);
    if (!db) return db.error();
    out[id] = *db;
  }
  return out;
}

Result<std::shared_ptr<Database>> LookupDatabase(const YamlNode& body,
                                                 const StepFactoryContext& ctx, std::string& id,
                                                 std::string_view key) {
  auto node = body.Require(key);
  if (!node) return node.error();
  auto v = node->AsString();
  if (!v) return v.error();
  id = *v;
  if (ctx.databases == nullptr || ctx.databases->empty()) {
    return node->Fail("unknown database \"" + id +
                      "\": there is no databases: section in the config");
  }
  auto it = ctx.databases->find(id);
  if (it == ctx.databases->end()) {
    std::string known;
    for (const auto& [k, d] : *ctx.databases) known += (known.empty() ? "" : ", ") + k;
    return node->Fail("unknown database \"" + id + "\" (known: " + known + ")");
  }
  return it->second;
}

Result<DatabasePair> LookupDatabasePair(const YamlNode& body, const StepFactoryContext& ctx,
                                        std::string_view first_key, std::string& first_id,
                                        std::string_view second_key, std::string& second_id) {
  auto first = LookupDatabase(body, ctx, first_id, first_key);
  if (!first) return first.error();
  auto second = LookupDatabase(body, ctx, second_id, second_key);
  if (!second) return second.error();
  const std::string a(first_key), b(second_key);
  if (first_id == second_id) return body.Get(b)->Fail(b + " must differ from " + a);
  if ((*first)->kind() != (*second)->kind()) {
    return body.Get(b)->Fail(a + " and " + b + " must be of the same kind");
  }
  return DatabasePair{*first, *second};
}

Result<StepCommon> ParseStepCommonWithCatchUp(const YamlNode& body, Duration catch_up_timeout) {
  auto common = ParseStepCommon(body);
  if (!common) return common.error();
  if (catch_up_timeout >= common->timeout) {
    auto where = body.Get("catch_up_timeout") ? *body.Get("catch_up_timeout") : body;
    return where.Fail("catch_up_timeout (" + FormatDuration(catch_up_timeout) +
                      ") must be shorter than the step's timeout (" +
                      FormatDuration(common->timeout) + ")");
  }
  return common;
}

MonoTime DatabaseDeadline(const StepContext& ctx) {
  if (ctx.clock == nullptr) return ctx.deadline;
  return std::chrono::steady_clock::now() + (ctx.deadline - ctx.clock->Now());
}

std::string FormatLag(double seconds) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%gs", std::round(seconds * 10) / 10);
  return buf;
}

StepOutcome OutcomeOf(const SqlFailure& failure) {
  if (failure.reason == "query_failed" || failure.reason == "auth_failed") {
    return StepOutcome::Fail(failure.detail);
  }
  return StepOutcome::Retry(failure.detail);
}

double SecondsLeft(MonoTime deadline) {
  double s = std::chrono::duration<double>(deadline - std::chrono::steady_clock::now()).count();
  return s > 0 ? s : 0;
}

}  // namespace failover
