/* netfix.h -- synthetic networks for the nodelist and pathsel tests:
 * consensus_t / microdesc_t structs built directly (no parsing, no
 * signatures), and a seeded deterministic RNG. */
#ifndef TESTS_UNIT_FEATURE_NODELIST_NETFIX_H
#define TESTS_UNIT_FEATURE_NODELIST_NETFIX_H

#include <stdbool.h>
#include <stdint.h>

#include "allium/feature/nodelist/nodelist.h"
#include "allium/feature/pathsel/pathsel.h"

#define NETFIX_VALID_AFTER ((time_t)1700000000)

#define F_GUARD   (NODE_FLAG_GUARD | NODE_FLAG_STABLE | NODE_FLAG_FAST | NODE_FLAG_V2DIR)
#define F_STD     (NODE_FLAG_RUNNING | NODE_FLAG_VALID | NODE_FLAG_FAST)
#define F_EXIT    NODE_FLAG_EXIT

typedef struct netfix_relay_t {
  const char *nick;
  uint8_t id;                  /* RSA id = 20 copies of this byte */
  const char *ip;              /* dotted quad */
  uint32_t flags;
  uint32_t bw;
  const char *policy;          /* summary, NULL = none */
  const char *family;          /* comma-separated nicknames, NULL = none */
} netfix_relay_t;

/** Consensus of the given flavour; weights like "Wgg=6000 Wmg=4000", params
 * like "guard-n-primary-guards=2" (either may be NULL). */
consensus_t *netfix_consensus(const netfix_relay_t *r, size_t n, bool md_flavor,
                              const char *weights, const char *params);
/** The microdescriptor that netfix_consensus(md) names for r[i]. */
microdesc_t *netfix_microdesc(const netfix_relay_t *r, size_t n, size_t i);
/** A nodelist with a microdesc consensus and every microdescriptor. */
nodelist_t *netfix_nodelist(const netfix_relay_t *r, size_t n, const char *weights,
                            const char *params);
void netfix_id(uint8_t id[20], uint8_t b);

/** splitmix64-based deterministic RNG. */
typedef struct netfix_rng_t {
  uint64_t state;
  pathsel_rng_t rng;
} netfix_rng_t;
void netfix_rng_init(netfix_rng_t *r, uint64_t seed);

#endif
