/* client_ctl_onion_parse.c -- the argument parsers of ADD_ONION
 * (control-spec 3.27) and ONION_CLIENT_AUTH_ADD (3.30), and v3 service ids
 * (rend-spec-v3 6), sans I/O.  Errors carry tor's reply codes and texts.
 * No key is ever logged.
 */
#include <string.h>
#include <strings.h>

#include "allium/feature/client/client_ctl_onion.h"
#include "allium/feature/control/control_proto.h"
#include "allium/lib/encoding/binascii.h"
#include "allium/lib/malloc/malloc.h"

#define BAD(code, text) do { *why = (text); rv = (code); goto out; } while (0)

int
client_onion_parse_id(const char *s, ed25519_public_key_t *pk)
{
  if (!s || strlen(s) != HS_ONION_ADDR_NO_SUFFIX_LEN)
    return -1;
  return hs_onion_address_parse(s, pk) == 0 ? 0 : -1;
}

/* A token as it was sent: a bare word KEY=VALUE is split by the argument
 * parser at its first '=', but base64 keys end in '=' padding. */
static char *
token_text(const control_arg_t *a)
{
  if (!a->has_value)
    return al_strdup(a->key);
  return al_asprintf("%s=%s", a->key, a->value);
}

/* "ED25519-V3:<base64 of the 64-byte expanded secret>" or "NEW:..." */
static int
parse_key(const char *tok, client_onion_add_t *out, const char **why)
{
  const char *colon = strchr(tok, ':');
  if (!colon || colon == tok || !colon[1]) {
    *why = "Invalid key type/blob";
    return 512;
  }
  size_t tlen = (size_t)(colon - tok);
  const char *blob = colon + 1;
  if (tlen == 3 && !strncasecmp(tok, "NEW", 3)) {
    if (strcasecmp(blob, "BEST") && strcasecmp(blob, "ED25519-V3")) {
      *why = "Invalid key type";
      return 513;
    }
    out->key_new = true;
    return 0;
  }
  if (tlen != 10 || strncasecmp(tok, "ED25519-V3", 10)) {
    *why = "Invalid key type";
    return 513;
  }
  uint8_t sk[ED25519_SECKEY_LEN + 3];
  int n = base64_decode(sk, sizeof(sk), blob, strlen(blob));
  if (n != ED25519_SECKEY_LEN) {
    memwipe(sk, sizeof(sk));
    *why = "Failed to decode ED25519-V3 key";
    return 512;
  }
  memcpy(out->key.sec.seckey, sk, ED25519_SECKEY_LEN);
  memwipe(sk, sizeof(sk));
  if (ed25519_public_from_secret(&out->key.pub, &out->key.sec) < 0) {
    *why = "Failed to decode ED25519-V3 key";
    return 512;
  }
  return 0;
}

static int
parse_flags(const char *v, client_onion_add_t *out)
{
  char *dup = al_strdup(v), *save = NULL;
  int rv = 0;
  if (!*v)
    rv = -1;
  for (char *f = strtok_r(dup, ",", &save); f && !rv;
       f = strtok_r(NULL, ",", &save)) {
    if (!strcasecmp(f, "DiscardPK"))
      out->discard_pk = true;
    else if (!strcasecmp(f, "Detach"))
      out->detach = true;
    else if (!strcasecmp(f, "V3Auth"))
      out->v3auth = true;
    else if (!strcasecmp(f, "NonAnonymous"))
      out->non_anonymous = true;
    else if (!strcasecmp(f, "MaxStreamsCloseCircuit"))
      out->max_streams_close = true;
    else
      rv = -1;   /* BasicAuth is v2 only; unknown flags */
  }
  al_free(dup);
  return rv;
}

/* "VirtPort[,Target]", as the HiddenServicePort option's value. */
static int
parse_port(const char *v, client_onion_add_t *out)
{
  if (out->n_ports == CLIENT_ONION_MAX_PORTS || !*v)
    return -1;
  char *dup = al_strdup(v);
  char *comma = strchr(dup, ',');
  if (comma)
    *comma = ' ';
  if (comma && (comma == dup || !comma[1] || strchr(comma + 1, ','))) {
    al_free(dup);
    return -1;
  }
  hs_service_port_t p;
  const char *why = NULL;
  memset(&p, 0, sizeof(p));
  int e = hs_service_port_parse(dup, &p, &why);
  al_free(dup);
  if (e != 0)
    return -1;
  if (!out->ports)
    out->ports = al_calloc(CLIENT_ONION_MAX_PORTS, sizeof(*out->ports));
  out->ports[out->n_ports++] = p;
  return 0;
}

static int
parse_client_v3(const char *v, client_onion_add_t *out)
{
  uint8_t k[33];
  if (out->n_clients == CLIENT_ONION_MAX_CLIENTS || strlen(v) != 52 ||
      base32_decode(k, sizeof(k), v, 52) != 32)
    return -1;
  for (size_t i = 0; i < out->n_clients; i++)
    if (!memcmp(out->clients[i], k, 32))
      return 0;   /* kept once */
  if (!out->clients)
    out->clients = al_calloc(CLIENT_ONION_MAX_CLIENTS, 32);
  memcpy(out->clients[out->n_clients++], k, 32);
  return 0;
}

/* One KEY=VALUE argument after the key. */
static int
parse_add_kw(const control_arg_t *a, client_onion_add_t *out,
             const char **why)
{
  const char *v = a->value;
  uint64_t n;
  if (!strcasecmp(a->key, "Flags")) {
    if (parse_flags(v, out) < 0) {
      *why = "Invalid 'Flags' argument";
      return 512;
    }
  } else if (!strcasecmp(a->key, "MaxStreams")) {
    if (decimal_parse_u64(v, strlen(v), HS_CONFIG_MAX_STREAMS, &n) < 0) {
      *why = "Invalid 'MaxStreams' argument";
      return 512;
    }
    out->max_streams = (int)n;
  } else if (!strcasecmp(a->key, "Port")) {
    if (parse_port(v, out) < 0) {
      *why = "Invalid VIRTPORT/TARGET";
      return 512;
    }
  } else if (!strcasecmp(a->key, "ClientAuthV3")) {
    if (parse_client_v3(v, out) < 0) {
      *why = "Cannot decode v3 client auth key";
      return 512;
    }
  } else if (!strcasecmp(a->key, "ClientAuth")) {
    *why = "ClientAuth is for v2 services, which are not supported";
    return 513;
  } else {
    *why = "Unexpected argument";
    return 512;
  }
  return 0;
}

int
client_onion_parse_add(const char *args, bool single_onion,
                       client_onion_add_t *out, const char **why)
{
  control_arg_t *a = NULL;
  size_t n = 0;
  int rv = 0;
  memset(out, 0, sizeof(*out));
  if (!args || control_args_parse(args, CLIENT_ONION_MAX_ARGS, &a, &n) < 0)
    BAD(512, "Invalid argument");
  if (n == 0 || a[0].quoted)
    BAD(512, "Missing argument");
  char *key = token_text(&a[0]);
  rv = parse_key(key, out, why);
  memwipe(key, strlen(key));
  al_free(key);
  if (rv)
    goto out;
  for (size_t i = 1; i < n; i++) {
    if (!a[i].has_value)
      BAD(512, "Unexpected argument");
    if ((rv = parse_add_kw(&a[i], out, why)) != 0)
      goto out;
  }
  if (!out->n_ports)
    BAD(512, "Missing 'Port' argument");
  if (single_onion && !out->non_anonymous)
    BAD(512, "Tor is in non-anonymous hidden service mode");
  if (!single_onion && out->non_anonymous)
    BAD(512, "Tor is in anonymous hidden service mode");
out:
  if (a) {
    if (n)
      memwipe(a[0].key, strlen(a[0].key));
    if (n && a[0].value)
      memwipe(a[0].value, strlen(a[0].value));
    control_args_free(a, n);
  }
  return rv;
}

void
client_onion_add_clear(client_onion_add_t *a)
{
  if (!a)
    return;
  for (size_t i = 0; i < a->n_ports; i++)
    hs_service_port_clear(&a->ports[i]);
  al_free(a->ports);
  al_free(a->clients);
  memwipe(a, sizeof(*a));
}

/* [A-Za-z0-9+-_] as tor's client nicknames. */
static bool
name_ok(const char *s)
{
  size_t n = strlen(s);
  if (n == 0 || n > CLIENT_ONION_MAX_NAME)
    return false;
  for (; *s; s++)
    if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
          (*s >= '0' && *s <= '9') || *s == '+' || *s == '-' || *s == '_'))
      return false;
  return true;
}

/* "x25519:<base64>" */
static int
parse_x25519(const char *tok, uint8_t out[32], const char **why)
{
  if (strncasecmp(tok, "x25519:", 7)) {
    *why = "Unrecognized key type";
    return 552;
  }
  uint8_t k[35];
  int n = base64_decode(k, sizeof(k), tok + 7, strlen(tok + 7));
  if (n != 32) {
    memwipe(k, sizeof(k));
    *why = "Failed to decode x25519 private key";
    return 512;
  }
  memcpy(out, k, 32);
  memwipe(k, sizeof(k));
  return 0;
}

static int
parse_auth_kw(const control_arg_t *a, client_onion_auth_add_t *out,
              const char **why)
{
  if (!strcasecmp(a->key, "ClientName")) {
    if (!name_ok(a->value)) {
      *why = "Invalid nickname";
      return 512;
    }
    strcpy(out->name, a->value);
    return 0;
  }
  if (!strcasecmp(a->key, "Flags")) {
    char *dup = al_strdup(a->value), *save = NULL;
    int rv = *a->value ? 0 : 512;
    for (char *f = strtok_r(dup, ",", &save); f && !rv;
         f = strtok_r(NULL, ",", &save)) {
      if (!strcasecmp(f, "Permanent"))
        out->permanent = true;
      else
        rv = 512;
    }
    al_free(dup);
    if (rv)
      *why = "Invalid 'Flags' argument";
    return rv;
  }
  *why = "Unexpected argument";
  return 512;
}

int
client_onion_parse_auth_add(const char *args, client_onion_auth_add_t *out,
                            const char **why)
{
  control_arg_t *a = NULL;
  size_t n = 0;
  int rv = 0;
  memset(out, 0, sizeof(*out));
  if (!args || control_args_parse(args, 8, &a, &n) < 0)
    BAD(512, "Invalid argument");
  if (n < 2 || a[0].has_value)
    BAD(512, "Invalid argument count");
  if (client_onion_parse_id(a[0].key, &out->pk) < 0)
    BAD(512, "Invalid v3 address");
  char *key = token_text(&a[1]);
  rv = parse_x25519(key, out->secret, why);
  memwipe(key, strlen(key));
  al_free(key);
  if (rv)
    goto out;
  for (size_t i = 2; i < n; i++) {
    if (!a[i].has_value)
      BAD(512, "Unexpected argument");
    if ((rv = parse_auth_kw(&a[i], out, why)) != 0)
      goto out;
  }
out:
  if (a) {
    if (n > 1)
      memwipe(a[1].key, strlen(a[1].key));
    if (n > 1 && a[1].value)
      memwipe(a[1].value, strlen(a[1].value));
    control_args_free(a, n);
  }
  if (rv)
    memwipe(out, sizeof(*out));
  return rv;
}
