/* confvalue.c -- parsers for the value types of torrc options: booleans,
 * integers, ports, intervals and memory sizes with tor's unit words,
 * address:port and *Port specifications.  Value syntax per tor(1), "THE
 * CONFIGURATION FILE FORMAT" and the option type descriptions.
 *
 * Every parser returns 0, or -1 with *errmsg = '"VALUE" is not a ... 
 * (expected ...)' (caller frees); confdecl.c prefixes the option name.
 */
#include "allium/lib/conf/confdecl.h"

#include "allium/lib/malloc/malloc.h"
#include "allium/lib/encoding/binascii.h"
#include "allium/lib/net/address.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Quote s for an error message: at most 64 bytes, non-printables as \xHH.
 * Returns a static-free heap string; caller frees. */
static char *
err_quote(const char *s)
{
  char buf[64 * 4 + 8];
  size_t o = 0, i = 0;
  buf[o++] = '"';
  for (; s[i] && i < 64; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c == '"' || c == '\\') {
      buf[o++] = '\\';
      buf[o++] = (char)c;
    } else if (c < 0x20 || c >= 0x7f) {
      o += (size_t)snprintf(buf + o, sizeof(buf) - o, "\\x%02x", c);
    } else {
      buf[o++] = (char)c;
    }
  }
  if (s[i])
    o += (size_t)snprintf(buf + o, sizeof(buf) - o, "...");
  buf[o++] = '"';
  buf[o] = '\0';
  return al_strdup(buf);
}

static int bad_value(char **errmsg, const char *s, const char *fmt, ...)
  __attribute__((format(printf, 3, 4)));

/* Set *errmsg to '"s" ' followed by fmt; always returns -1. */
static int
bad_value(char **errmsg, const char *s, const char *fmt, ...)
{
  char what[256];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(what, sizeof(what), fmt, ap);
  va_end(ap);
  if (errmsg) {
    char *q = err_quote(s);
    al_free(*errmsg);
    *errmsg = al_asprintf("%s %s", q, what);
    al_free(q);
  }
  return -1;
}

/* Copy s without surrounding whitespace into buf (size n); -1 if too long.*/
static int
trimmed(const char *s, char *buf, size_t n)
{
  while (isspace((unsigned char)*s))
    s++;
  size_t l = strlen(s);
  while (l > 0 && isspace((unsigned char)s[l - 1]))
    l--;
  if (l >= n)
    return -1;
  memcpy(buf, s, l);
  buf[l] = '\0';
  return 0;
}

int
conf_parse_bool(const char *s, int allow_auto, int *out, char **errmsg)
{
  char b[16];
  if (trimmed(s, b, sizeof(b)) == 0) {
    if (!strcmp(b, "0") || !strcmp(b, "1")) {
      *out = b[0] - '0';
      return 0;
    }
    if (allow_auto && !strcasecmp(b, "auto")) {
      *out = -1;
      return 0;
    }
  }
  if (allow_auto)
    return bad_value(errmsg, s, "is not a boolean (expected 0, 1 or "
                     "\"auto\")");
  return bad_value(errmsg, s, "is not a boolean (expected 0 or 1)");
}

/* Parse an optionally signed decimal integer filling all of b. */
static int
parse_i64(const char *b, int64_t *out)
{
  if (!*b)
    return -1;
  const char *p = b;
  if (*p == '-' || *p == '+')
    p++;
  if (!isdigit((unsigned char)*p))
    return -1;
  for (const char *q = p; *q; q++)
    if (!isdigit((unsigned char)*q))
      return -1;
  errno = 0;
  long long v = strtoll(b, NULL, 10);
  if (errno == ERANGE)
    return -1;
  *out = (int64_t)v;
  return 0;
}

int
conf_parse_int64(const char *s, int64_t min, int64_t max, int64_t *out,
                 char **errmsg)
{
  char b[32];
  int64_t v;
  if (trimmed(s, b, sizeof(b)) < 0 || parse_i64(b, &v) < 0)
    return bad_value(errmsg, s, "is not an integer (expected %" PRId64
                     " to %" PRId64 ")", min, max);
  if (v < min || v > max)
    return bad_value(errmsg, s, "is out of range (expected %" PRId64
                     " to %" PRId64 ")", min, max);
  *out = v;
  return 0;
}

/* Parse unsigned decimal digits filling all of b. */
static int
parse_u64(const char *b, uint64_t *out)
{
  return decimal_parse_u64(b, strlen(b), UINT64_MAX, out);
}

int
conf_parse_uint64(const char *s, uint64_t min, uint64_t max, uint64_t *out,
                  char **errmsg)
{
  char b[32];
  uint64_t v;
  if (trimmed(s, b, sizeof(b)) < 0 || parse_u64(b, &v) < 0)
    return bad_value(errmsg, s, "is not an unsigned integer (expected %"
                     PRIu64 " to %" PRIu64 ")", min, max);
  if (v < min || v > max)
    return bad_value(errmsg, s, "is out of range (expected %" PRIu64
                     " to %" PRIu64 ")", min, max);
  *out = v;
  return 0;
}

int
conf_parse_port(const char *s, int allow_auto, int *out, char **errmsg)
{
  char b[16];
  uint16_t v;
  if (trimmed(s, b, sizeof(b)) == 0) {
    if (allow_auto && !strcasecmp(b, "auto")) {
      *out = -1;
      return 0;
    }
    if (net_port_parse(b, strlen(b), 0, &v) == 0) {
      *out = v;
      return 0;
    }
  }
  if (allow_auto)
    return bad_value(errmsg, s, "is not a port (expected 0-65535 or "
                     "\"auto\")");
  return bad_value(errmsg, s, "is not a port (expected 0-65535)");
}

/* A unit word and its multiplier. */
typedef struct unit_t {
  const char *word;
  uint64_t mult;
} unit_t;

/* Time units in milliseconds (tor's interval words, plus msec ones). */
static const unit_t time_units[] = {
  { "", 1000 }, { "msec", 1 }, { "msecs", 1 }, { "millisecond", 1 },
  { "milliseconds", 1 }, { "ms", 1 },
  { "sec", 1000 }, { "secs", 1000 }, { "second", 1000 },
  { "seconds", 1000 }, { "s", 1000 },
  { "min", 60000 }, { "mins", 60000 }, { "minute", 60000 },
  { "minutes", 60000 },
  { "hour", 3600000 }, { "hours", 3600000 }, { "hr", 3600000 },
  { "hrs", 3600000 },
  { "day", 86400000 }, { "days", 86400000 },
  { "week", 604800000 }, { "weeks", 604800000 },
  { "month", 2592000000ULL }, { "months", 2592000000ULL },
};

/* Memory units in bytes (tor's memory words, bytes and bits). */
static const unit_t memory_units[] = {
  { "", 1 }, { "b", 1 }, { "byte", 1 }, { "bytes", 1 },
  { "k", 1ULL << 10 }, { "kb", 1ULL << 10 }, { "kbyte", 1ULL << 10 },
  { "kbytes", 1ULL << 10 }, { "kilobyte", 1ULL << 10 },
  { "kilobytes", 1ULL << 10 }, { "kib", 1ULL << 10 },
  { "kbit", 1ULL << 7 }, { "kbits", 1ULL << 7 }, { "kilobit", 1ULL << 7 },
  { "kilobits", 1ULL << 7 },
  { "m", 1ULL << 20 }, { "mb", 1ULL << 20 }, { "mbyte", 1ULL << 20 },
  { "mbytes", 1ULL << 20 }, { "megabyte", 1ULL << 20 },
  { "megabytes", 1ULL << 20 }, { "mib", 1ULL << 20 },
  { "mbit", 1ULL << 17 }, { "mbits", 1ULL << 17 }, { "megabit", 1ULL << 17 },
  { "megabits", 1ULL << 17 },
  { "g", 1ULL << 30 }, { "gb", 1ULL << 30 }, { "gbyte", 1ULL << 30 },
  { "gbytes", 1ULL << 30 }, { "gigabyte", 1ULL << 30 },
  { "gigabytes", 1ULL << 30 }, { "gib", 1ULL << 30 },
  { "gbit", 1ULL << 27 }, { "gbits", 1ULL << 27 }, { "gigabit", 1ULL << 27 },
  { "gigabits", 1ULL << 27 },
  { "t", 1ULL << 40 }, { "tb", 1ULL << 40 }, { "tbyte", 1ULL << 40 },
  { "tbytes", 1ULL << 40 }, { "terabyte", 1ULL << 40 },
  { "terabytes", 1ULL << 40 }, { "tib", 1ULL << 40 },
  { "tbit", 1ULL << 37 }, { "tbits", 1ULL << 37 }, { "terabit", 1ULL << 37 },
  { "terabits", 1ULL << 37 },
};

/* "NUMBER[.FRACTION] [UNIT]" -> NUMBER * unit, in the unit table's base.
 * Returns 0, -1 (syntax) or -2 (overflow). */
static int
parse_units(const char *s, const unit_t *units, size_t n_units, uint64_t *out)
{
  char b[64];
  if (trimmed(s, b, sizeof(b)) < 0)
    return -1;
  size_t i = 0;
  while (isdigit((unsigned char)b[i]))
    i++;
  if (i == 0 || i > 20)
    return -1;
  size_t int_end = i, frac_start = i, frac_end = i;
  if (b[i] == '.') {
    frac_start = ++i;
    while (isdigit((unsigned char)b[i]))
      i++;
    frac_end = i;
    if (frac_end == frac_start || frac_end - frac_start > 6)
      return -1;
  }
  size_t num_end = i;
  while (b[i] == ' ' || b[i] == '\t')
    i++;
  const char *unit = b + i;
  const unit_t *u = NULL;
  for (size_t k = 0; k < n_units; k++)
    if (!strcasecmp(unit, units[k].word)) {
      u = &units[k];
      break;
    }
  if (!u || (num_end < i && !*unit))
    return -1;
  b[int_end] = '\0';
  uint64_t whole;
  if (parse_u64(b, &whole) < 0)
    return -2;
  if (whole != 0 && u->mult > UINT64_MAX / whole)
    return -2;
  uint64_t v = whole * u->mult;
  if (frac_end > frac_start) {
    uint64_t frac = 0, scale = 1;
    for (size_t k = frac_start; k < frac_end; k++) {
      frac = frac * 10 + (uint64_t)(b[k] - '0');
      scale *= 10;
    }
    /* u->mult <= 2^40 and frac < 10^6 < 2^20: no overflow. */
    uint64_t add = frac * u->mult / scale;
    if (v > UINT64_MAX - add)
      return -2;
    v += add;
  }
  *out = v;
  return 0;
}

int
conf_parse_interval(const char *s, int msec, uint64_t *out, char **errmsg)
{
  uint64_t ms;
  unit_t units[sizeof(time_units) / sizeof(time_units[0])];
  memcpy(units, time_units, sizeof(units));
  if (msec)
    units[0].mult = 1; /* plain numbers are milliseconds */
  int r = parse_units(s, units, sizeof(units) / sizeof(units[0]), &ms);
  if (r == -2)
    return bad_value(errmsg, s, "is too large an interval");
  if (r < 0)
    return bad_value(errmsg, s, "is not an interval (expected a number and "
                     "a unit such as \"30 seconds\", \"10 minutes\", "
                     "\"2 hours\", \"1 day\", \"1 week\"%s)",
                     msec ? ", \"500 msec\"" : "");
  *out = msec ? ms : ms / 1000;
  return 0;
}

int
conf_parse_memory(const char *s, uint64_t *out, char **errmsg)
{
  int r = parse_units(s, memory_units,
                      sizeof(memory_units) / sizeof(memory_units[0]), out);
  if (r == -2)
    return bad_value(errmsg, s, "is too large a size");
  if (r < 0)
    return bad_value(errmsg, s, "is not a memory size (expected a number "
                     "and a unit such as \"512 MB\", \"1 GB\", \"64 KB\" "
                     "or \"100 bytes\")");
  return 0;
}

/* Host part of addr:port: [v6], dotted IPv4 or a hostname. */
static int
valid_host(const char *h, size_t n)
{
  if (n == 0 || n > 255)
    return 0;
  if (h[0] == '[') {
    if (n < 3 || h[n - 1] != ']')
      return 0;
    for (size_t i = 1; i + 1 < n; i++)
      if (!isxdigit((unsigned char)h[i]) && h[i] != ':' && h[i] != '.')
        return 0;
    return 1;
  }
  for (size_t i = 0; i < n; i++)
    if (!isalnum((unsigned char)h[i]) && h[i] != '.' && h[i] != '-' &&
        h[i] != '_')
      return 0;
  return 1;
}

int
conf_parse_addrport(const char *s, int port_optional, char **errmsg)
{
  char b[300];
  if (trimmed(s, b, sizeof(b)) < 0)
    return bad_value(errmsg, s, "is too long for an address");
  char *colon = strrchr(b, ':');
  if (colon && b[0] == '[' && strchr(colon, ']'))
    colon = NULL; /* "[::1]" without a port */
  if (!colon) {
    if (port_optional && valid_host(b, strlen(b)))
      return 0;
    return bad_value(errmsg, s, "is not an address:port (expected e.g. "
                     "127.0.0.1:9050 or [::1]:9050)");
  }
  if (!valid_host(b, (size_t)(colon - b)) ||
      (b[0] != '[' && memchr(b, ':', (size_t)(colon - b))))
    return bad_value(errmsg, s, "is not an address:port (expected e.g. "
                     "127.0.0.1:9050 or [::1]:9050)");
  int port;
  return conf_parse_port(colon + 1, 1, &port, errmsg);
}

int
conf_parse_portspec(const char *s, char **errmsg)
{
  char b[300];
  int port;
  if (trimmed(s, b, sizeof(b)) < 0)
    return bad_value(errmsg, s, "is not a port (expected 0-65535 or "
                     "\"auto\")");
  if (!strncasecmp(b, "unix:", 5)) {
    if (b[5] == '\0')
      return bad_value(errmsg, s, "is not a unix socket (expected "
                       "unix:PATH)");
    return 0;
  }
  if (strchr(b, ':'))
    return conf_parse_addrport(b, 0, errmsg);
  return conf_parse_port(b, 1, &port, errmsg);
}
