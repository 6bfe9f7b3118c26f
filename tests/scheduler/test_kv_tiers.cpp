#include <catch2/catch.hpp>

#include "sim/scheduler/kv_tiers.hpp"

using namespace convsim;

TEST_CASE("a full host tier pushes its least recently used cache down to NVMe") {
  KvTiers tiers(100, 1000);
  CHECK(tiers.store(1, 10, 60, KvTier::host, 1.0) == KvTier::host);
  CHECK(tiers.store(2, 10, 30, KvTier::host, 2.0) == KvTier::host);
  CHECK(tiers.store(3, 10, 50, KvTier::host, 3.0) == KvTier::host);  // 60 + 30 + 50 > 100: session 1 moves down
  CHECK(tiers.demotions() == 1);
  CHECK(tiers.used_bytes(KvTier::host) == 80);
  CHECK(tiers.used_bytes(KvTier::nvme) == 60);
  const auto one = tiers.take(1);
  REQUIRE(one.has_value());
  CHECK(one->tier == KvTier::nvme);
  CHECK(tiers.used_bytes(KvTier::nvme) == 0);
}

TEST_CASE("a cache that fits in no tier is dropped, and one bigger than the host tier goes to NVMe") {
  KvTiers tiers(100, 150);
  CHECK(tiers.store(1, 10, 120, KvTier::host, 1.0) == KvTier::nvme);
  CHECK(tiers.store(2, 10, 200, KvTier::host, 2.0) == std::nullopt);
  CHECK(tiers.drops() == 1);
  CHECK(tiers.store(3, 10, 80, KvTier::nvme, 3.0) == KvTier::nvme);  // pushes session 1 out of NVMe
  CHECK(tiers.drops() == 2);
  CHECK_FALSE(tiers.take(1).has_value());
}

TEST_CASE("prefix blocks and conversations' caches share a tier's bytes, least recently used pushed down first") {
  KvTiers tiers(100, 1000);
  CHECK(tiers.store(7, 10, 50, KvTier::host, 1.0) == KvTier::host);  // session 7
  CHECK(tiers.store(KvTierKey::of_block(7), 16, 30, KvTier::host, 2.0) == KvTier::host);  // block 7: another entry
  CHECK(tiers.store(KvTierKey::of_block(8), 16, 30, KvTier::host, 3.0) == KvTier::host);  // 110 > 100: session 7 down
  CHECK(tiers.used_bytes(KvTier::host) == 60);
  CHECK(tiers.used_bytes(KvTier::nvme) == 50);
  REQUIRE(tiers.find(KvTierKey::of_block(7)) != nullptr);
  CHECK(tiers.find(KvTierKey::of_block(7))->tier == KvTier::host);
  CHECK(tiers.find(KvTierKey::of_session(7))->tier == KvTier::nvme);
  CHECK(tiers.take(KvTierKey::of_block(8))->tokens == 16);
  CHECK(tiers.find(KvTierKey::of_block(8)) == nullptr);
  CHECK(tiers.used_bytes(KvTier::host) == 30);
}
