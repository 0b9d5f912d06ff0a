/* routerset.c -- torrc node lists (tor(1) "node lists": EntryNodes,
 * ExitNodes, ExcludeNodes): fingerprints, nicknames, country codes.
 */
#include <string.h>
#include <strings.h>

#define LOG_MODULE "nodelist"
#include "allium/feature/nodelist/routerset.h"
#include "allium/lib/log/log.h"
#include "allium/lib/malloc/malloc.h"
#include "nodelist_internal.h"

struct routerset_t {
  uint8_t (*ids)[20];
  size_t n_ids;
  char **nicks;
  size_t n_nicks;
  size_t n_countries;
};

static bool
nickname_ok(const char *s, size_t len)
{
  if (len == 0 || len > 19)
    return false;
  for (size_t i = 0; i < len; i++) {
    char c = s[i];
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')))
      return false;
  }
  return true;
}

/* Add one trimmed entry s[0..len).  0 or -1. */
static int
routerset_add_entry(routerset_t *rs, const char *s, size_t len)
{
  if (len >= 2 && s[0] == '{') {
    if (s[len - 1] != '}')
      return -1;
    rs->n_countries++;  /* GeoIP not available: matches nothing */
    return 0;
  }
  const char *hex = s;
  size_t hexlen = len;
  if (s[0] == '$') {
    hex++;
    hexlen--;
  }
  size_t idlen = 0;
  while (idlen < hexlen && hex[idlen] != '=' && hex[idlen] != '~')
    idlen++;
  uint8_t id[20];
  if (idlen == 40 && node_parse_hex_id(hex, 40, id) == 0) {
    if (idlen < hexlen && !nickname_ok(hex + idlen + 1, hexlen - idlen - 1))
      return -1;
    rs->ids = al_reallocarray(rs->ids, rs->n_ids + 1, sizeof(*rs->ids));
    memcpy(rs->ids[rs->n_ids++], id, 20);
    return 0;
  }
  if (s[0] == '$' || !nickname_ok(s, len))
    return -1;
  rs->nicks = al_reallocarray(rs->nicks, rs->n_nicks + 1, sizeof(char *));
  rs->nicks[rs->n_nicks++] = al_strndup(s, len);
  return 0;
}

int
routerset_parse(const char *s, routerset_t **out)
{
  *out = NULL;
  if (!s)
    return -1;
  routerset_t *rs = al_calloc(1, sizeof(*rs));
  const char *p = s;
  while (*p) {
    const char *end = strchr(p, ',');
    if (!end)
      end = p + strlen(p);
    const char *a = p, *b = end;
    while (a < b && (*a == ' ' || *a == '\t'))
      a++;
    while (b > a && (b[-1] == ' ' || b[-1] == '\t'))
      b--;
    if (b > a && routerset_add_entry(rs, a, (size_t)(b - a)) != 0) {
      log_warn("Malformed entry in a node list.");
      routerset_free(rs);
      return -1;
    }
    p = *end ? end + 1 : end;
  }
  *out = rs;
  return 0;
}

size_t
routerset_len(const routerset_t *rs)
{
  return rs ? rs->n_ids + rs->n_nicks + rs->n_countries : 0;
}

bool
routerset_is_empty(const routerset_t *rs)
{
  return routerset_len(rs) == 0;
}

bool
routerset_contains_node(const routerset_t *rs, const node_t *n)
{
  if (!rs || !n)
    return false;
  for (size_t i = 0; i < rs->n_ids; i++)
    if (memcmp(rs->ids[i], n->rsa_id, 20) == 0)
      return true;
  for (size_t i = 0; i < rs->n_nicks; i++)
    if (n->nickname[0] && strcasecmp(rs->nicks[i], n->nickname) == 0)
      return true;
  return false;
}

void
routerset_free_(routerset_t *rs)
{
  if (!rs)
    return;
  for (size_t i = 0; i < rs->n_nicks; i++)
    al_free(rs->nicks[i]);
  al_free(rs->nicks);
  al_free(rs->ids);
  al_free(rs);
}
