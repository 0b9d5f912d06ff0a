/* hs_service_config.c -- the onion service blocks of the configuration
 * (tor(1) HIDDEN SERVICE OPTIONS; limits and messages follow what tor
 * 0.4.9 accepts, see hs_service_config.h): HiddenServiceDir starts a
 * block, the per-service options after it fill it in.
 */
#define LOG_MODULE "hs"
#include "allium/feature/hs_service/hs_service_config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "allium/lib/encoding/binascii.h"
#include "allium/lib/log/log.h"
#include "allium/lib/malloc/malloc.h"

void
hs_service_port_clear(hs_service_port_t *p)
{
  if (!p)
    return;
  al_free(p->unix_path);
  memset(p, 0, sizeof(*p));
}

void
hs_service_configs_free_(hs_service_configs_t *c)
{
  if (!c)
    return;
  for (size_t i = 0; i < c->n; i++) {
    hs_service_config_t *s = &c->svc[i];
    for (size_t j = 0; j < s->n_ports; j++)
      hs_service_port_clear(&s->ports[j]);
    al_free(s->ports);
    al_free(s->dir);
  }
  al_free(c->svc);
  al_free(c);
}

static int
is_space(char c)
{
  return c == ' ' || c == '\t';
}

/* "unix:PATH" target (PATH may be a C-quoted string). */
static int
parse_unix_target(const char *s, size_t n, hs_service_port_t *p, const char **why)
{
  if (n == 0) {
    *why = "unix: needs a socket path";
    return -1;
  }
  if (s[0] == '"') {
    size_t end = 0;
    char *path = confline_unquote(s, n, &end);
    if (!path || end != n || !path[0]) {
      al_free(path);
      *why = "bad quoted unix socket path";
      return -1;
    }
    p->unix_path = path;
  } else {
    for (size_t i = 0; i < n; i++)
      if (is_space(s[i])) {
        *why = "a unix socket path with blanks must be quoted";
        return -1;
      }
    p->unix_path = al_malloc(n + 1);
    memcpy(p->unix_path, s, n);
    p->unix_path[n] = '\0';
  }
  p->is_unix = 1;
  return 0;
}

/* TARGET without "unix:": PORT, ADDR, ADDR:PORT, [IPv6], [IPv6]:PORT. */
static int
parse_tcp_target(const char *s, size_t n, hs_service_port_t *p, const char **why)
{
  net_addrport_t *t = &p->target;
  uint16_t port;
  memset(t, 0, sizeof(*t));
  t->port = p->virt_port;
  if (n && strspn(s, "0123456789") >= n) {
    if (net_port_parse(s, n, 1, &port) < 0) {
      *why = "target port must be 1-65535";
      return -1;
    }
    t->family = 4;
    t->addr[0] = 127;
    t->addr[3] = 1;
    t->port = port;
    return 0;
  }
  if (n >= 9 && !strncasecmp(s, "localhost", 9)) {
    t->family = 4;
    t->addr[0] = 127;
    t->addr[3] = 1;
    if (n == 9)
      return 0;
    if (s[9] == ':' && net_port_parse(s + 10, n - 10, 1, &t->port) == 0)
      return 0;
    *why = "target port must be 1-65535";
    return -1;
  }
  if (net_addrport_parse(s, n, NET_AP_ANY, 1, t) == 0)
    return 0;
  if (n > 2 && s[0] == '[' && s[n - 1] == ']' && net_ipv6_parse(s + 1, n - 2, t->addr) == 0) {
    t->family = 6;
    return 0;
  }
  if (net_ipv4_parse(s, n, t->addr) == 0) {
    t->family = 4;
    return 0;
  }
  if (net_ipv6_parse(s, n, t->addr) == 0) {
    t->family = 6;
    return 0;
  }
  *why = "target is not PORT, ADDR, ADDR:PORT or unix:PATH (ADDR: an IP address "
         "or localhost; port 1-65535)";
  return -1;
}

int
hs_service_port_parse(const char *value, hs_service_port_t *p, const char **why)
{
  const char *s = value, *e;
  memset(p, 0, sizeof(*p));
  while (is_space(*s))
    s++;
  e = s + strlen(s);
  while (e > s && is_space(e[-1]))
    e--;
  size_t vn = strcspn(s, " \t");
  if (vn > (size_t)(e - s))
    vn = (size_t)(e - s);
  if (vn == 0 || strspn(s, "0123456789") < vn ||
      net_port_parse(s, vn, 1, &p->virt_port) < 0) {
    *why = "virtual port must be 1-65535";
    return -1;
  }
  const char *t = s + vn;
  while (t < e && is_space(*t))
    t++;
  size_t tn = (size_t)(e - t);
  int r;
  if (tn == 0) {
    r = parse_tcp_target("127.0.0.1", 9, p, why);
  } else if (tn >= 5 && !strncmp(t, "unix:", 5)) {
    r = parse_unix_target(t + 5, tn - 5, p, why);
  } else if (memchr(t, ' ', tn) || memchr(t, '\t', tn) || memchr(t, ',', tn)) {
    *why = "expected one target after the virtual port";
    r = -1;
  } else {
    r = parse_tcp_target(t, tn, p, why);
  }
  if (r < 0)
    hs_service_port_clear(p);
  return r;
}

static int fail(char **errmsg, const config_line_t *ln, const char *fmt, ...)
  __attribute__((format(printf, 3, 4)));

static int
fail(char **errmsg, const config_line_t *ln, const char *fmt, ...)
{
  char buf[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof(buf), fmt, ap);
  va_end(ap);
  al_free(*errmsg);
  if (ln && ln->source)
    *errmsg = al_asprintf("%s:%d: %s", ln->source, ln->lineno, buf);
  else
    *errmsg = al_strdup(buf);
  return -1;
}

/* Integer option in [min, max]. */
static int
get_int(const config_line_t *ln, uint64_t min, uint64_t max, uint64_t *out, char **errmsg)
{
  const char *v = ln->value;
  size_t n = strlen(v);
  if (decimal_parse_u64(v, n, UINT64_MAX, out) < 0 || *out < min || *out > max)
    return fail(errmsg, ln, "%s must be between %llu and %llu, not \"%.32s\"", ln->key,
                (unsigned long long)min, (unsigned long long)max, v);
  return 0;
}

/* Booleans are "0" or "1", as tor's per-service parser wants. */
static int
get_bool(const config_line_t *ln, int *out, char **errmsg)
{
  if (!strcmp(ln->value, "0") || !strcmp(ln->value, "1")) {
    *out = ln->value[0] == '1';
    return 0;
  }
  return fail(errmsg, ln, "Could not parse %s: \"%.32s\" (allowed values are 0 and 1)",
              ln->key, ln->value);
}

/* One per-service option line for s.  Unknown HiddenService* keys are the
 * option table's business (it refuses them). */
static int
apply_line(hs_service_config_t *s, const config_line_t *ln, char **errmsg)
{
  const char *k = ln->key;
  uint64_t v = 0;
  const char *why = NULL;
  if (!strcasecmp(k, "HiddenServicePort")) {
    hs_service_port_t p;
    if (hs_service_port_parse(ln->value, &p, &why) < 0)
      return fail(errmsg, ln, "Option 'HiddenServicePort': \"%.64s\": %s", ln->value, why);
    s->ports = al_reallocarray(s->ports, s->n_ports + 1, sizeof(*s->ports));
    s->ports[s->n_ports++] = p;
    return 0;
  }
  if (!strcasecmp(k, "HiddenServiceVersion")) {
    if (!strcmp(ln->value, "2"))
      return fail(errmsg, ln, "Onion services version 2 are obsolete: use version 3");
    if (strcmp(ln->value, "3") != 0)
      return fail(errmsg, ln, "HiddenServiceVersion must be 3, not \"%.32s\"", ln->value);
    s->version = 3;
    return 0;
  }
  if (!strcasecmp(k, "HiddenServiceMaxStreams")) {
    if (get_int(ln, 0, HS_CONFIG_MAX_STREAMS, &v, errmsg) < 0)
      return -1;
    s->max_streams = (int)v;
    return 0;
  }
  if (!strcasecmp(k, "HiddenServiceNumIntroductionPoints")) {
    if (get_int(ln, HS_CONFIG_MIN_INTRO, HS_CONFIG_MAX_INTRO, &v, errmsg) < 0)
      return -1;
    s->num_intro_points = (int)v;
    return 0;
  }
  if (!strcasecmp(k, "HiddenServiceEnableIntroDoSRatePerSec") ||
      !strcasecmp(k, "HiddenServiceEnableIntroDoSBurstPerSec")) {
    if (get_int(ln, 0, HS_CONFIG_DOS_MAX, &v, errmsg) < 0)
      return -1;
    *(!strcasecmp(k, "HiddenServiceEnableIntroDoSRatePerSec") ? &s->intro_dos_rate
                                                             : &s->intro_dos_burst) = (uint32_t)v;
    return 0;
  }
  static const struct { const char *name; size_t off; } bools[] = {
    { "HiddenServiceMaxStreamsCloseCircuit",
      offsetof(hs_service_config_t, max_streams_close_circuit) },
    { "HiddenServiceAllowUnknownPorts", offsetof(hs_service_config_t, allow_unknown_ports) },
    { "HiddenServiceDirGroupReadable", offsetof(hs_service_config_t, dir_group_readable) },
    { "HiddenServiceEnableIntroDoSDefense", offsetof(hs_service_config_t, intro_dos_enabled) },
  };
  for (size_t i = 0; i < sizeof(bools) / sizeof(bools[0]); i++)
    if (!strcasecmp(k, bools[i].name))
      return get_bool(ln, (int *)(void *)((char *)s + bools[i].off), errmsg);
  return 0;
}

/* A block is complete: ports, DoS rate/burst, and distinct directories. */
static int
finish_block(const hs_service_configs_t *c, const config_line_t *dirln, char **errmsg)
{
  const hs_service_config_t *s = &c->svc[c->n - 1];
  if (s->n_ports == 0)
    return fail(errmsg, dirln, "HiddenServiceDir %.64s has no HiddenServicePort", s->dir);
  if (s->intro_dos_enabled && s->intro_dos_burst < s->intro_dos_rate)
    return fail(errmsg, dirln, "HiddenServiceEnableIntroDoSBurstPerSec (%u) can not be "
                "smaller than HiddenServiceEnableIntroDoSRatePerSec (%u)",
                s->intro_dos_burst, s->intro_dos_rate);
  return 0;
}

/* Warn once per repeated per-service option, as tor does. */
static void
warn_repeats(const config_line_t *first, const config_line_t *ln)
{
  if (!strcasecmp(ln->key, "HiddenServicePort"))
    return;
  for (const config_line_t *o = first; o && o != ln; o = o->next)
    if (!strcasecmp(o->key, ln->key)) {
      log_warn("Option '%s' used more than once in one onion service block; all but "
               "the last value are ignored.", ln->key);
      return;
    }
}

static void
start_block(hs_service_configs_t *c, const char *dir)
{
  c->svc = al_reallocarray(c->svc, c->n + 1, sizeof(*c->svc));
  hs_service_config_t *s = &c->svc[c->n++];
  memset(s, 0, sizeof(*s));
  s->dir = al_strdup(dir);
  s->version = 3;
  s->num_intro_points = HS_CONFIG_DEFAULT_INTRO;
  s->intro_dos_rate = HS_CONFIG_DOS_RATE_DEFAULT;
  s->intro_dos_burst = HS_CONFIG_DOS_BURST_DEFAULT;
}

int
hs_service_config_parse(const config_line_t *lines, hs_service_configs_t **out,
                        char **errmsg)
{
  hs_service_configs_t *c = al_calloc(1, sizeof(*c));
  const config_line_t *dirln = NULL;
  int r = 0;
  *out = NULL;
  for (const config_line_t *ln = lines; ln && r == 0; ln = ln->next) {
    if (!strcasecmp(ln->key, "HiddenServiceDir")) {
      if (dirln && (r = finish_block(c, dirln, errmsg)) < 0)
        break;
      if (!ln->value[0]) {
        r = fail(errmsg, ln, "HiddenServiceDir needs a directory");
        break;
      }
      for (size_t i = 0; i < c->n && r == 0; i++)
        if (!strcmp(c->svc[i].dir, ln->value))
          r = fail(errmsg, ln, "Another onion service is already configured for "
                   "directory \"%.64s\"", ln->value);
      if (r == 0)
        start_block(c, ln->value);
      dirln = ln;
      continue;
    }
    if (!dirln) {
      r = fail(errmsg, ln, "Option '%s' must come after a HiddenServiceDir line", ln->key);
      break;
    }
    warn_repeats(dirln, ln);
    r = apply_line(&c->svc[c->n - 1], ln, errmsg);
  }
  if (r == 0 && dirln)
    r = finish_block(c, dirln, errmsg);
  if (r < 0) {
    hs_service_configs_free(c);
    return -1;
  }
  *out = c;
  return 0;
}
