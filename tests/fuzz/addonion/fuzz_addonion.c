/* fuzz_addonion.c -- fuzz target for the control port's onion-service
 * argument parsers (src/feature/client/client_ctl_onion_parse.c;
 * control-spec 3.27 ADD_ONION, 3.30 ONION_CLIENT_AUTH_ADD, 3.28 service
 * ids).  The input, cut at its first NUL, is the argument string of both
 * commands and a service id; the first byte also picks the single-onion
 * mode.  Checks: a result is 0 or one of tor's codes (512, 513, 552) with
 * a reason; on success ADD_ONION has 1..CLIENT_ONION_MAX_PORTS ports, at
 * most CLIENT_ONION_MAX_CLIENTS clients, MaxStreams within 0..65535, a
 * given key whose public half matches, NonAnonymous exactly in
 * single-onion mode; ONION_CLIENT_AUTH_ADD's name is short and of tor's
 * characters, its address re-encodes to the one given; a service id that
 * parses re-encodes to itself (case aside). */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../fuzzing.h"
#include "allium/feature/client/client_ctl_onion.h"
#include "allium/lib/malloc/malloc.h"

int
fuzz_init(void)
{
  return 0;
}

static void
check_code(int code, const char *why)
{
  if (code != 0 && code != 512 && code != 513 && code != 552)
    abort();
  if (code && (!why || !*why))
    abort();
}

static void
check_add(const char *s, bool single)
{
  client_onion_add_t a;
  const char *why = NULL;
  int code = client_onion_parse_add(s, single, &a, &why);
  check_code(code, why);
  if (code == 0) {
    if (a.n_ports < 1 || a.n_ports > CLIENT_ONION_MAX_PORTS ||
        a.n_clients > CLIENT_ONION_MAX_CLIENTS || a.max_streams < 0 ||
        a.max_streams > 65535 || a.non_anonymous != single)
      abort();
    for (size_t i = 0; i < a.n_ports; i++)
      if (a.ports[i].virt_port == 0)
        abort();
    if (!a.key_new) {
      ed25519_public_key_t pk;
      if (ed25519_public_from_secret(&pk, &a.key.sec) < 0 ||
          memcmp(pk.pubkey, a.key.pub.pubkey, 32))
        abort();
    }
  }
  client_onion_add_clear(&a);
}

static void
check_auth(const char *s)
{
  client_onion_auth_add_t r;
  const char *why = NULL;
  int code = client_onion_parse_auth_add(s, &r, &why);
  check_code(code, why);
  if (code == 0) {
    size_t n = strlen(r.name);
    if (n > CLIENT_ONION_MAX_NAME ||
        strspn(r.name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
               "0123456789+-_") != n)
      abort();
    char addr[HS_ONION_ADDR_LEN + 1];
    if (hs_onion_address_encode(addr, sizeof(addr), &r.pk) < 0 ||
        strncasecmp(addr, s + strspn(s, " \t"), HS_ONION_ADDR_NO_SUFFIX_LEN))
      abort();
  }
}

static void
check_id(const char *s)
{
  ed25519_public_key_t pk;
  if (client_onion_parse_id(s, &pk) == 0) {
    char addr[HS_ONION_ADDR_LEN + 1];
    if (hs_onion_address_encode(addr, sizeof(addr), &pk) < 0 ||
        strncasecmp(addr, s, HS_ONION_ADDR_NO_SUFFIX_LEN) ||
        strlen(s) != HS_ONION_ADDR_NO_SUFFIX_LEN)
      abort();
  }
}

int
fuzz_one(const uint8_t *data, size_t len)
{
  char *s = al_malloc(len + 1);
  if (len)
    memcpy(s, data, len);
  s[len] = '\0';
  bool single = len && (data[0] & 1);
  check_add(s, single);
  check_add(s, !single);
  check_auth(s);
  check_id(s);
  al_free(s);
  return 0;
}
