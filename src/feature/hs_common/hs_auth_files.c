/* hs_auth_files.c -- a service's authorized_clients/<name>.auth files (rend-spec-v3
 * "Client authorization", tor(1) CLIENT AUTHORIZATION): the one-line
 * "descriptor:x25519:<base32 key>" parser and the folder reader.  What is
 * accepted follows what tor 0.4.9 accepts (see hs_auth_files.h); a malformed
 * file is an error rather than skipped.
 */
#define LOG_MODULE "hs"
#include "allium/feature/hs_common/hs_auth_files.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "allium/lib/encoding/binascii.h"
#include "allium/lib/fs/fs.h"
#include "allium/lib/log/log.h"
#include "allium/lib/malloc/malloc.h"

const char *
hs_auth_strerror(int err)
{
  switch (err) {
  case 0: return "ok";
  case HS_AUTH_ERR_SYNTAX: return "not one \"descriptor:x25519:<key>\" line";
  case HS_AUTH_ERR_TYPE: return "unsupported auth type or key type "
                                "(expected descriptor:x25519)";
  case HS_AUTH_ERR_KEY: return "the key is not 52 base32 characters";
  case HS_AUTH_ERR_IO: return "could not be read";
  case HS_AUTH_ERR_LIMIT: return "too large";
  case HS_AUTH_ERR_ARG: return "bad argument";
  default: return "unknown client authorization error";
  }
}

static int
is_blank(char c)
{
  return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

/* Trim blanks off [*s, *e). */
static void
trim(const char **s, const char **e)
{
  while (*s < *e && is_blank(**s))
    (*s)++;
  while (*e > *s && is_blank((*e)[-1]))
    (*e)--;
}

/* Find the one non-blank line of buf; HS_AUTH_ERR_SYNTAX if none or more. */
static int
only_line(const char *buf, size_t len, const char **ls, const char **le)
{
  const char *p = buf, *end = buf + len;
  int found = 0;
  while (p < end) {
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    const char *s = p, *e = nl ? nl : end;
    trim(&s, &e);
    if (s < e) {
      if (found)
        return HS_AUTH_ERR_SYNTAX;
      found = 1;
      *ls = s;
      *le = e;
    }
    p = nl ? nl + 1 : end;
  }
  return found ? 0 : HS_AUTH_ERR_SYNTAX;
}

static int
field_is(const char *s, const char *e, const char *want)
{
  size_t n = strlen(want);
  return (size_t)(e - s) == n && memcmp(s, want, n) == 0;
}

/* Decode 52 base32 characters; the 4 unused bits of the last one may be
 * anything (tor ignores them), so they are cleared before strict decoding. */
static int
decode_key(const char *s, size_t n, uint8_t pk[X25519_KEY_LEN])
{
  static const char alpha[] = "abcdefghijklmnopqrstuvwxyz234567";
  char tmp[HS_AUTH_KEY_B32_LEN];
  if (n != HS_AUTH_KEY_B32_LEN)
    return HS_AUTH_ERR_KEY;
  memcpy(tmp, s, n);
  char c = tmp[n - 1];
  int v;
  if (c >= 'a' && c <= 'z')
    v = c - 'a';
  else if (c >= 'A' && c <= 'Z')
    v = c - 'A';
  else if (c >= '2' && c <= '7')
    v = c - '2' + 26;
  else
    return HS_AUTH_ERR_KEY;
  tmp[n - 1] = alpha[v & 0x10];
  int r = base32_decode(pk, X25519_KEY_LEN, tmp, n);
  memwipe(tmp, sizeof(tmp));
  return r == X25519_KEY_LEN ? 0 : HS_AUTH_ERR_KEY;
}

int
hs_auth_parse(const char *buf, size_t len, uint8_t pk_out[X25519_KEY_LEN])
{
  const char *ls = NULL, *le = NULL;
  if (!buf || !pk_out)
    return HS_AUTH_ERR_ARG;
  if (len > HS_AUTH_FILE_MAX)
    return HS_AUTH_ERR_LIMIT;
  if (memchr(buf, '\0', len))
    return HS_AUTH_ERR_SYNTAX;
  int r = only_line(buf, len, &ls, &le);
  if (r < 0)
    return r;
  const char *c1 = memchr(ls, ':', (size_t)(le - ls));
  const char *c2 = c1 ? memchr(c1 + 1, ':', (size_t)(le - c1 - 1)) : NULL;
  if (!c2 || memchr(c2 + 1, ':', (size_t)(le - c2 - 1)))
    return HS_AUTH_ERR_SYNTAX;
  const char *f[3][2] = { { ls, c1 }, { c1 + 1, c2 }, { c2 + 1, le } };
  for (int i = 0; i < 3; i++)
    trim(&f[i][0], &f[i][1]);
  if (!field_is(f[0][0], f[0][1], "descriptor") || !field_is(f[1][0], f[1][1], "x25519"))
    return HS_AUTH_ERR_TYPE;
  return decode_key(f[2][0], (size_t)(f[2][1] - f[2][0]), pk_out);
}

int
hs_auth_filename_ok(const char *name)
{
  size_t n = name ? strlen(name) : 0, sl = strlen(HS_AUTH_SUFFIX);
  return n > sl && !strcmp(name + n - sl, HS_AUTH_SUFFIX);
}

void
hs_auth_clients_free_(hs_auth_clients_t *c)
{
  if (!c)
    return;
  al_free(c->keys);
  al_free(c);
}

static int
cmp_names(const void *a, const void *b)
{
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The sorted .auth names in dir; *n_out of them.  NULL list with n 0 when
 * there are none.  HS_AUTH_ERR_IO on an unreadable folder. */
static int
list_auth_names(const char *dir, char ***names_out, size_t *n_out)
{
  DIR *d = opendir(dir);
  char **names = NULL;
  size_t n = 0, cap = 0;
  *names_out = NULL;
  *n_out = 0;
  if (!d)
    return errno == ENOENT ? 0 : HS_AUTH_ERR_IO;
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    if (!hs_auth_filename_ok(e->d_name))
      continue;
    if (n == HS_AUTH_MAX_CLIENTS) {
      for (size_t i = 0; i < n; i++)
        al_free(names[i]);
      al_free(names);
      closedir(d);
      return HS_AUTH_ERR_LIMIT;
    }
    if (n == cap) {
      cap = cap ? cap * 2 : 8;
      names = al_realloc(names, cap * sizeof(*names));
    }
    names[n++] = al_strdup(e->d_name);
  }
  closedir(d);
  if (n)
    qsort(names, n, sizeof(*names), cmp_names);
  *names_out = names;
  *n_out = n;
  return 0;
}

/* Read and parse one file into c (skipping a key already there). */
static int
load_one(const char *dir, const char *name, hs_auth_clients_t *c, char **errmsg)
{
  char *path = al_asprintf("%s/%s", dir, name), *buf = NULL;
  size_t len = 0;
  uint8_t pk[X25519_KEY_LEN];
  int r = fs_read_file(path, &buf, &len, HS_AUTH_FILE_MAX);
  if (r == FS_ERR_TOOBIG)
    r = HS_AUTH_ERR_LIMIT;
  else if (r < 0)
    r = HS_AUTH_ERR_IO;
  else
    r = hs_auth_parse(buf, len, pk);
  if (r < 0) {
    *errmsg = al_asprintf("Client authorization file %s: %s", path, hs_auth_strerror(r));
  } else {
    int dup = 0;
    for (size_t i = 0; i < c->n && !dup; i++)
      dup = !memcmp(c->keys[i], pk, X25519_KEY_LEN);
    if (!dup)
      memcpy(c->keys[c->n++], pk, X25519_KEY_LEN);
  }
  if (buf)
    al_free_secret(buf, len + 1);
  al_free(path);
  return r;
}

int
hs_auth_load_dir(const char *dir, hs_auth_clients_t **out, char **errmsg)
{
  char **names = NULL;
  size_t n = 0;
  if (!dir || !out || !errmsg)
    return HS_AUTH_ERR_ARG;
  *out = NULL;
  *errmsg = NULL;
  int r = list_auth_names(dir, &names, &n);
  if (r < 0) {
    *errmsg = al_asprintf("Client authorization folder %s: %s", dir,
                          r == HS_AUTH_ERR_LIMIT ? "more than 1024 .auth files"
                                                 : "could not be read");
    return r;
  }
  hs_auth_clients_t *c = al_calloc(1, sizeof(*c));
  if (n)
    c->keys = al_calloc(n, sizeof(*c->keys));
  for (size_t i = 0; i < n; i++) {
    if (r == 0)
      r = load_one(dir, names[i], c, errmsg);
    al_free(names[i]);
  }
  al_free(names);
  if (r < 0) {
    hs_auth_clients_free(c);
    return r;
  }
  log_info("Loaded %zu client authorization key%s.", c->n, c->n == 1 ? "" : "s");
  *out = c;
  return 0;
}
