/* hs_auth_private.c -- ClientOnionAuthDir "*.auth_private" files
 * (rend-spec-v3 G.1.3): the parser and a small store by service key.  See
 * hs_auth_private.h.  Key material is wiped whenever it is dropped.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define LOG_MODULE "hs"

#include "allium/feature/hs_common/hs_auth_private.h"
#include "allium/feature/hs_common/hs_crypto.h"
#include "allium/lib/crypto/crypto_util.h"
#include "allium/lib/encoding/binascii.h"
#include "allium/lib/fs/fs.h"
#include "allium/lib/log/log.h"
#include "allium/lib/malloc/malloc.h"

#define KEY_B32_LEN 52   /* BASE32_ENCODED_LEN(32) */

struct hs_auth_store_t {
  size_t n, cap;
  hs_auth_private_t *e;
};

static int
is_space(char c)
{
  return c == ' ' || c == '\t' || c == '\r';
}

/* Trim spaces on both sides of s[*b..*e). */
static void
trim(const char *s, size_t *b, size_t *e)
{
  while (*b < *e && is_space(s[*b]))
    (*b)++;
  while (*e > *b && is_space(s[*e - 1]))
    (*e)--;
}

static int
field_is(const char *s, size_t b, size_t e, const char *want)
{
  size_t n = strlen(want);
  return e - b == n && !strncasecmp(s + b, want, n);
}

/* Parse one entry line s[b..e) (already trimmed). */
static int
parse_entry(const char *s, size_t b, size_t e, hs_auth_private_t *out,
            const char **why)
{
  size_t fb[4], fe[4], nf = 0, start = b;
  for (size_t i = b; i <= e; i++) {
    if (i < e && s[i] != ':')
      continue;
    if (nf == 4) {
      *why = "too many fields";
      return -1;
    }
    fb[nf] = start;
    fe[nf] = i;
    trim(s, &fb[nf], &fe[nf]);
    nf++;
    start = i + 1;
  }
  if (nf != 4) {
    *why = "expected <address>:descriptor:x25519:<key>";
    return -1;
  }
  if (fe[0] - fb[0] != HS_ONION_ADDR_NO_SUFFIX_LEN) {
    *why = "bad onion address length (give it without \".onion\")";
    return -1;
  }
  char addr[HS_ONION_ADDR_NO_SUFFIX_LEN + 1];
  memcpy(addr, s + fb[0], HS_ONION_ADDR_NO_SUFFIX_LEN);
  addr[HS_ONION_ADDR_NO_SUFFIX_LEN] = '\0';
  if (hs_onion_address_parse(addr, &out->service_pk) != 0) {
    *why = "invalid onion address";
    return -1;
  }
  if (!field_is(s, fb[1], fe[1], "descriptor")) {
    *why = "unknown authorization type (only \"descriptor\")";
    return -1;
  }
  if (!field_is(s, fb[2], fe[2], "x25519")) {
    *why = "unknown key type (only \"x25519\")";
    return -1;
  }
  if (fe[3] - fb[3] != KEY_B32_LEN ||
      base32_decode(out->secret, sizeof(out->secret), s + fb[3],
                    KEY_B32_LEN) != (int)sizeof(out->secret)) {
    *why = "bad x25519 key (52 base32 characters)";
    return -1;
  }
  return 0;
}

int
hs_auth_private_parse(const char *s, size_t len, hs_auth_private_t *out,
                      const char **why)
{
  const char *dummy;
  if (!why)
    why = &dummy;
  *why = NULL;
  if (!out)
    return -1;
  memset(out, 0, sizeof(*out));
  if (!s) {
    *why = "no content";
    return -1;
  }
  int found = 0;
  size_t pos = 0;
  while (pos < len) {
    size_t e = pos;
    while (e < len && s[e] != '\n')
      e++;
    size_t b = pos;
    pos = e + 1;
    trim(s, &b, &e);
    if (b == e || s[b] == '#')
      continue;
    if (memchr(s + b, '\0', e - b)) {
      *why = "NUL byte";
      goto bad;
    }
    if (found) {
      *why = "more than one entry";
      goto bad;
    }
    if (parse_entry(s, b, e, out, why) != 0)
      goto bad;
    found = 1;
  }
  if (!found) {
    *why = "no entry";
    goto bad;
  }
  return 0;
 bad:
  memwipe(out, sizeof(*out));
  return -1;
}

hs_auth_store_t *
hs_auth_store_new(void)
{
  return al_calloc(1, sizeof(hs_auth_store_t));
}

int
hs_auth_store_add(hs_auth_store_t *st, const hs_auth_private_t *e)
{
  if (!st || !e)
    return -1;
  for (size_t i = 0; i < st->n; i++) {
    if (!memcmp(st->e[i].service_pk.pubkey, e->service_pk.pubkey, 32)) {
      memwipe(&st->e[i], sizeof(st->e[i]));
      st->e[i] = *e;
      return 0;
    }
  }
  if (st->n == HS_AUTH_PRIVATE_MAX_ENTRIES)
    return -1;
  if (st->n == st->cap) {
    /* Grow by copying so no secret is left behind in freed memory. */
    size_t cap = st->cap ? st->cap * 2 : 8;
    hs_auth_private_t *v = al_calloc(cap, sizeof(*v));
    if (st->n)
      memcpy(v, st->e, st->n * sizeof(*v));
    al_free_secret(st->e, st->cap * sizeof(*v));
    st->e = v;
    st->cap = cap;
  }
  st->e[st->n++] = *e;
  return 0;
}

size_t
hs_auth_store_size(const hs_auth_store_t *st)
{
  return st ? st->n : 0;
}

const hs_auth_private_t *
hs_auth_store_get(const hs_auth_store_t *st, size_t i)
{
  return st && i < st->n ? &st->e[i] : NULL;
}

const uint8_t *
hs_auth_store_find(const hs_auth_store_t *st,
                   const ed25519_public_key_t *service_pk)
{
  if (!st || !service_pk)
    return NULL;
  for (size_t i = 0; i < st->n; i++)
    if (!memcmp(st->e[i].service_pk.pubkey, service_pk->pubkey, 32))
      return st->e[i].secret;
  return NULL;
}

void
hs_auth_store_free_(hs_auth_store_t *st)
{
  if (!st)
    return;
  al_free_secret(st->e, st->cap * sizeof(hs_auth_private_t));
  al_free(st);
}

static int
name_cmp(const void *a, const void *b)
{
  return strcmp(*(char *const *)a, *(char *const *)b);
}

static int
has_suffix(const char *name)
{
  size_t n = strlen(name), s = strlen(HS_AUTH_PRIVATE_SUFFIX);
  return n > s && !strcmp(name + n - s, HS_AUTH_PRIVATE_SUFFIX);
}

/* Names of the "*.auth_private" entries of dir, sorted; NULL on error. */
static char **
list_files(const char *dir, size_t *n_out)
{
  DIR *d = opendir(dir);
  if (!d)
    return NULL;
  size_t n = 0, cap = 16;
  char **v = al_calloc(cap, sizeof(*v));
  struct dirent *de;
  while ((de = readdir(d)) != NULL) {
    if (!has_suffix(de->d_name))
      continue;
    if (n == HS_AUTH_PRIVATE_MAX_ENTRIES)
      break;
    if (n == cap) {
      cap *= 2;
      v = al_reallocarray(v, cap, sizeof(*v));
    }
    v[n++] = al_strdup(de->d_name);
  }
  closedir(d);
  qsort(v, n, sizeof(*v), name_cmp);
  *n_out = n;
  return v;
}

static int
load_one(hs_auth_store_t *st, const char *dir, const char *name)
{
  size_t plen = strlen(dir) + strlen(name) + 2;
  char *path = al_malloc(plen);
  snprintf(path, plen, "%s/%s", dir, name);
  char *buf = NULL;
  size_t len = 0;
  int rv = fs_read_file(path, &buf, &len, HS_AUTH_PRIVATE_MAX_FILE);
  al_free(path);
  if (rv != 0) {
    log_warn("ClientOnionAuthDir: cannot read %s: %s", name,
             fs_strerror(rv));
    return -1;
  }
  hs_auth_private_t e;
  const char *why = NULL;
  rv = hs_auth_private_parse(buf, len, &e, &why);
  al_free_secret(buf, len + 1);
  if (rv != 0) {
    log_warn("ClientOnionAuthDir: ignoring %s: %s", name, why);
    return -1;
  }
  rv = hs_auth_store_add(st, &e);
  memwipe(&e, sizeof(e));
  return rv;
}

hs_auth_store_t *
hs_auth_store_load_dir(const char *dir, size_t *n_bad, const char **err)
{
  const char *dummy;
  if (!err)
    err = &dummy;
  *err = NULL;
  if (n_bad)
    *n_bad = 0;
  if (!dir || !*dir) {
    *err = "no directory";
    return NULL;
  }
  size_t n = 0;
  char **names = list_files(dir, &n);
  if (!names) {
    *err = "cannot open the directory";
    return NULL;
  }
  hs_auth_store_t *st = hs_auth_store_new();
  for (size_t i = 0; i < n; i++) {
    if (load_one(st, dir, names[i]) != 0 && n_bad)
      (*n_bad)++;
    al_free(names[i]);
  }
  al_free(names);
  return st;
}
