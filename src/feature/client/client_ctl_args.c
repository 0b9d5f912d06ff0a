/* client_ctl_args.c -- the arguments of the client's control commands,
 * sans I/O: control-spec 3.10 EXTENDCIRCUIT (ServerSpec, 2.4 LongName),
 * 3.11 SETCIRCUITPURPOSE, 3.13 ATTACHSTREAM, 3.16 CLOSESTREAM, 3.17
 * CLOSECIRCUIT, and the addresses of 3.8 MAPADDRESS.  Tokens are split by
 * feature/control's control_args_parse() (2.1).  Replies to errors are
 * worded as tor's.
 */
#include "allium/feature/client/client_ctl_args.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "allium/core/policy/policy.h"
#include "allium/feature/control/control_proto.h"
#include "allium/lib/encoding/binascii.h"

#define MAX_TOKENS 16

static int
fail(char *err, size_t errlen, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int
fail(char *err, size_t errlen, int code, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  if (err && errlen)
    vsnprintf(err, errlen, fmt, ap);
  va_end(ap);
  return code;
}

int
client_ctl_parse_id(const char *s, uint64_t max, uint64_t *out)
{
  uint64_t v = 0;
  if (!s || !*s || strlen(s) > 20)
    return -1;
  for (const char *p = s; *p; p++) {
    if (*p < '0' || *p > '9')
      return -1;
    unsigned d = (unsigned)(*p - '0');
    if (v > (max - d) / 10)
      return -1;
    v = v * 10 + d;
  }
  *out = v;
  return 0;
}

/* Printable, short copy of an argument for a reply. */
static const char *
shown(const char *s, char buf[48])
{
  size_t i = 0;
  for (; s[i] && i < 40; i++)
    buf[i] = isprint((unsigned char)s[i]) && s[i] != '"' ? s[i] : '?';
  buf[i] = '\0';
  return buf;
}

static int
parse_tokens(const char *args, control_arg_t **a, size_t *n, char *err,
             size_t errlen, const char *cmd)
{
  if (control_args_parse(args ? args : "", MAX_TOKENS, a, n) != 0)
    return fail(err, errlen, 512, "Invalid arguments to %s", cmd);
  return 0;
}

int
client_ctl_parse_attach(const char *args, client_ctl_attach_args_t *out,
                        char *err, size_t errlen)
{
  control_arg_t *a;
  size_t n;
  char b[48];
  memset(out, 0, sizeof(*out));
  int r = parse_tokens(args, &a, &n, err, errlen, "ATTACHSTREAM");
  if (r)
    return r;
  uint64_t v;
  if (n < 2 || a[0].has_value || a[1].has_value)
    r = fail(err, errlen, 512, "Missing argument to ATTACHSTREAM");
  else if (client_ctl_parse_id(a[0].key, UINT64_MAX, &out->stream_id) != 0 ||
           !out->stream_id)
    r = fail(err, errlen, 552, "Unknown stream \"%s\"", shown(a[0].key, b));
  else if (client_ctl_parse_id(a[1].key, UINT32_MAX, &v) != 0)
    r = fail(err, errlen, 552, "Unknown circuit \"%s\"", shown(a[1].key, b));
  else
    out->circ_id = (uint32_t)v;
  for (size_t i = 2; r == 0 && i < n; i++) {
    if (!a[i].has_value || strcasecmp(a[i].key, "HOP"))
      continue;   /* tor ignores what it does not know */
    if (client_ctl_parse_id(a[i].value, 255, &v) != 0 || !v)
      r = fail(err, errlen, 552, "Bad value for HOP=%s", shown(a[i].value, b));
    else
      out->hop = (unsigned)v;
  }
  control_args_free(a, n);
  return r;
}

static bool
nick_ok(const char *s)
{
  size_t n = strlen(s);
  if (n < 1 || n > 19)
    return false;
  for (size_t i = 0; i < n; i++)
    if (!isalnum((unsigned char)s[i]))
      return false;
  return true;
}

int
client_ctl_parse_server_spec(const char *s, uint8_t id[20], bool *has_id,
                             char nick[20])
{
  *has_id = false;
  nick[0] = '\0';
  if (!s)
    return -1;
  /* tor: the '$' of a fingerprint is optional (stem sends none) */
  const char *h = s[0] == '$' ? s + 1 : s;
  if (strlen(h) >= 40 && base16_decode_exact(id, 20, h, 40) == 0) {
    if (h[40] == '\0') {
      *has_id = true;
      return 0;
    }
    if ((h[40] != '~' && h[40] != '=') || !nick_ok(h + 41))
      return -1;
    memcpy(nick, h + 41, strlen(h + 41) + 1);
    *has_id = true;
    return 0;
  }
  if (h != s || !nick_ok(s))
    return -1;
  memcpy(nick, s, strlen(s) + 1);
  return 0;
}

static int
parse_purpose_value(const char *v, bool *controller)
{
  if (!strcasecmp(v, "general"))
    *controller = false;
  else if (!strcasecmp(v, "controller"))
    *controller = true;
  else
    return -1;
  return 0;
}

/* "a,b,c" into out->path. */
static int
parse_path(const char *s, client_ctl_extend_args_t *out, char *err,
           size_t errlen)
{
  char b[48];
  const char *p = s;
  while (*p) {
    const char *comma = strchr(p, ',');
    size_t len = comma ? (size_t)(comma - p) : strlen(p);
    if (out->n_path == CLIENT_CTL_PATH_MAX)
      return fail(err, errlen, 512, "Too many relays in the path (at most %d)",
                  CLIENT_CTL_PATH_MAX);
    if (len == 0 || len >= CLIENT_CTL_SPEC_MAX)
      return fail(err, errlen, 552, "No such router \"%s\"", shown(p, b));
    char *dst = out->path[out->n_path];
    memcpy(dst, p, len);
    dst[len] = '\0';
    uint8_t id[20];
    bool has_id;
    char nick[20];
    if (client_ctl_parse_server_spec(dst, id, &has_id, nick) != 0)
      return fail(err, errlen, 552, "No such router \"%s\"", shown(dst, b));
    out->n_path++;
    if (!comma)
      break;
    p = comma + 1;
    if (!*p)
      return fail(err, errlen, 552, "No such router \"\"");
  }
  return 0;
}

int
client_ctl_parse_extend(const char *args, client_ctl_extend_args_t *out,
                        char *err, size_t errlen)
{
  control_arg_t *a;
  size_t n;
  char b[48];
  memset(out, 0, sizeof(*out));
  int r = parse_tokens(args, &a, &n, err, errlen, "EXTENDCIRCUIT");
  if (r)
    return r;
  uint64_t v;
  if (n < 1 || a[0].has_value)
    r = fail(err, errlen, 512, "Missing argument to EXTENDCIRCUIT");
  else if (client_ctl_parse_id(a[0].key, UINT32_MAX, &v) != 0)
    r = fail(err, errlen, 552, "Unknown circuit \"%s\"", shown(a[0].key, b));
  else
    out->circ_id = (uint32_t)v;
  for (size_t i = 1; r == 0 && i < n; i++) {
    if (a[i].has_value && !strcasecmp(a[i].key, "purpose")) {
      if (parse_purpose_value(a[i].value, &out->controller) != 0)
        r = fail(err, errlen, 552, "Unknown purpose \"%s\"",
                 shown(a[i].value, b));
    } else if (!a[i].has_value && i == 1) {
      r = parse_path(a[i].key, out, err, errlen);
    } else {
      r = fail(err, errlen, 512, "Unexpected argument \"%s\" to EXTENDCIRCUIT",
               shown(a[i].key, b));
    }
  }
  control_args_free(a, n);
  return r;
}

int
client_ctl_parse_purpose(const char *args, uint32_t *circ_id,
                         bool *controller, char *err, size_t errlen)
{
  control_arg_t *a;
  size_t n;
  char b[48];
  *circ_id = 0;
  *controller = false;
  int r = parse_tokens(args, &a, &n, err, errlen, "SETCIRCUITPURPOSE");
  if (r)
    return r;
  uint64_t v;
  if (n < 2 || a[0].has_value || !a[1].has_value ||
      strcasecmp(a[1].key, "purpose"))
    r = fail(err, errlen, 512, "Missing argument to SETCIRCUITPURPOSE");
  else if (client_ctl_parse_id(a[0].key, UINT32_MAX, &v) != 0 || !v)
    r = fail(err, errlen, 552, "Unknown circuit \"%s\"", shown(a[0].key, b));
  else if (parse_purpose_value(a[1].value, controller) != 0)
    r = fail(err, errlen, 552, "Unknown purpose \"%s\"", shown(a[1].value, b));
  else
    *circ_id = (uint32_t)v;
  control_args_free(a, n);
  return r;
}

int
client_ctl_parse_closecircuit(const char *args, uint32_t *circ_id,
                              bool *if_unused, char *err, size_t errlen)
{
  control_arg_t *a;
  size_t n;
  char b[48];
  *circ_id = 0;
  *if_unused = false;
  int r = parse_tokens(args, &a, &n, err, errlen, "CLOSECIRCUIT");
  if (r)
    return r;
  uint64_t v;
  if (n < 1 || a[0].has_value)
    r = fail(err, errlen, 512, "Missing argument to CLOSECIRCUIT");
  else if (client_ctl_parse_id(a[0].key, UINT32_MAX, &v) != 0 || !v)
    r = fail(err, errlen, 552, "Unknown circuit \"%s\"", shown(a[0].key, b));
  else
    *circ_id = (uint32_t)v;
  for (size_t i = 1; r == 0 && i < n; i++)
    if (!a[i].has_value && !strcasecmp(a[i].key, "IfUnused"))
      *if_unused = true;
  control_args_free(a, n);
  return r;
}

int
client_ctl_parse_closestream(const char *args, uint64_t *stream_id,
                             uint8_t *reason, char *err, size_t errlen)
{
  control_arg_t *a;
  size_t n;
  char b[48];
  *stream_id = 0;
  *reason = 0;
  int r = parse_tokens(args, &a, &n, err, errlen, "CLOSESTREAM");
  if (r)
    return r;
  uint64_t v;
  if (n < 2 || a[0].has_value || a[1].has_value)
    r = fail(err, errlen, 512, "Missing argument to CLOSESTREAM");
  else if (client_ctl_parse_id(a[0].key, UINT64_MAX, stream_id) != 0 ||
           !*stream_id)
    r = fail(err, errlen, 552, "Unknown stream \"%s\"", shown(a[0].key, b));
  else if (client_ctl_parse_id(a[1].key, 255, &v) != 0)
    r = fail(err, errlen, 552, "Unrecognized reason \"%s\"",
             shown(a[1].key, b));
  else
    *reason = (uint8_t)v;
  control_args_free(a, n);
  return r;
}

bool
client_ctl_addr_ok(const char *s)
{
  return s && client_ctl_addr_ok_n((const uint8_t *)s, strlen(s));
}

bool
client_ctl_addr_ok_n(const uint8_t *b, size_t n)
{
  char s[256];
  if (!b || n == 0 || n > 255 || memchr(b, 0, n))
    return false;
  memcpy(s, b, n);
  s[n] = '\0';
  policy_addr_t pa;
  if (policy_addr_parse(s, n, &pa) == 0)
    return true;
  size_t label = 0;
  for (size_t i = 0; i < n; i++) {
    char ch = s[i];
    if (ch == '.') {
      if (!label)
        return false;
      label = 0;
    } else if (isalnum((unsigned char)ch) || ch == '-' || ch == '_') {
      label++;
    } else {
      return false;
    }
  }
  return true;
}
