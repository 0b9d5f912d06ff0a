/* exit_policy.c -- the relay's effective exit policy from its options
 * (tor(1) ExitRelay, ExitPolicy, ExitPolicyRejectPrivate,
 * ExitPolicyRejectLocalInterfaces, ReducedExitPolicy, IPv6Exit) and its
 * descriptor form (dir-spec 2.1.1 "accept"/"reject", "ipv6-policy"; 3.8.2
 * summaries).  See include/allium/feature/exit/exit_policy.h. */
#define LOG_MODULE "exit"
#include "allium/feature/exit/exit_policy.h"

#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "allium/lib/malloc/malloc.h"

/* tor(1) ReducedExitPolicy: the ports it accepts, every other rejected. */
static const char REDUCED_PORTS[] =
  "20-21,43,53,79-81,88,110,143,194,220,389,443,464,465,531,543-544,554,"
  "563,587,636,706,749,873,902-904,981,989-995,1194,1220,1293,1500,1533,"
  "1677,1723,1755,1863,2082,2083,2086-2087,2095-2096,2102-2104,3128,3389,"
  "3690,4321,4643,5050,5190,5222-5223,5228,5900,6660-6669,6679,6697,8000,"
  "8008,8074,8080,8082,8087-8088,8232-8233,8332-8333,8443,8888,9418,9999,"
  "10000,11371,19294,19638,50002,64738";

static void
add_catchall(policy_t *p, policy_action_t action, int family)
{
  policy_entry_t e;
  memset(&e, 0, sizeof(e));
  e.action = action;
  e.family = (uint8_t)family;
  e.port_lo = 1;
  e.port_hi = 65535;
  policy_append(p, &e);
}

void
exit_policy_add_reduced(policy_t *p)
{
  const char *s = REDUCED_PORTS;
  while (*s) {
    unsigned lo = 0, hi = 0;
    int used = 0;
    if (sscanf(s, "%u-%u%n", &lo, &hi, &used) == 2 && used > 0 &&
        (s[used] == ',' || s[used] == '\0')) {
      /* a range */
    } else if (sscanf(s, "%u%n", &lo, &used) == 1) {
      hi = lo;
    } else {
      break;   /* cannot happen: the list is a constant */
    }
    policy_entry_t e;
    memset(&e, 0, sizeof(e));
    e.action = POLICY_ACCEPT;
    e.port_lo = (uint16_t)lo;
    e.port_hi = (uint16_t)hi;
    policy_append(p, &e);
    s += used;
    if (*s == ',')
      s++;
  }
  add_catchall(p, POLICY_REJECT, 0);
}

static bool
uses_default_options(const exit_policy_cfg_t *cfg)
{
  return cfg->policy == NULL && cfg->exit_relay == -1 && !cfg->reduced &&
         !cfg->ipv6_exit;
}

static void
add_hosts(policy_t *p, const policy_addr_t *a, size_t n)
{
  for (size_t i = 0; i < n; i++) {
    if (a[i].family != 4 && a[i].family != 6)
      continue;
    policy_entry_t e;
    memset(&e, 0, sizeof(e));
    e.action = POLICY_REJECT;
    e.family = a[i].family;
    e.maskbits = a[i].family == 4 ? 32 : 128;
    memcpy(e.addr, a[i].addr, 16);
    e.port_lo = 1;
    e.port_hi = 65535;
    policy_append(p, &e);
  }
}

int
exit_policy_build(const exit_policy_cfg_t *cfg, policy_t **out,
                  char **errmsg)
{
  policy_t *p = policy_new();
  *out = NULL;
  if (cfg->exit_relay == 0 || uses_default_options(cfg)) {
    add_catchall(p, POLICY_REJECT, 4);
    add_catchall(p, POLICY_REJECT, 6);
    *out = p;
    return 0;
  }
  if (!cfg->ipv6_exit)
    add_catchall(p, POLICY_REJECT, 6);
  if (cfg->reject_private)
    policy_add_reject_private(p, cfg->own_addrs, cfg->n_own);
  if (cfg->reject_local_interfaces)
    add_hosts(p, cfg->if_addrs, cfg->n_if);
  for (const config_line_t *l = cfg->policy; l; l = l->next) {
    int r = policy_parse_config(p, l->value);
    if (r < 0) {
      size_t need = strlen(l->value) + 64;
      *errmsg = al_malloc(need);
      snprintf(*errmsg, need, "ExitPolicy: cannot parse \"%s\"", l->value);
      policy_free(p);
      return -1;
    }
  }
  if (!policy_is_terminated(p)) {
    if (cfg->reduced)
      exit_policy_add_reduced(p);
    else
      policy_add_default_exit(p);
  }
  *out = p;
  return 0;
}

bool
exit_policy_accepts_family(const policy_t *p, int family)
{
  for (size_t i = 0; p && i < p->n; i++) {
    const policy_entry_t *e = &p->entries[i];
    if (e->family != 0 && e->family != family)
      continue;
    if (e->action == POLICY_ACCEPT)
      return true;
    if (e->maskbits == 0 && e->port_lo <= 1 && e->port_hi == 65535)
      return false;
  }
  return false;   /* tor: an exit policy without a catch-all rejects */
}

bool
exit_policy_is_exit(const policy_t *p)
{
  return exit_policy_accepts_family(p, 4) || exit_policy_accepts_family(p, 6);
}

void
exit_policy_lines_free(char **lines, size_t n)
{
  for (size_t i = 0; lines && i < n; i++)
    al_free(lines[i]);
  al_free(lines);
}

/* One entry in descriptor form, or NULL to leave it out. */
static char *
desc_line(const policy_entry_t *e)
{
  if (e->family == 6)
    return NULL;
  policy_entry_t d = *e;
  if (d.family == 4 && d.maskbits == 0)
    d.family = 0;   /* "*4" is "*" in a descriptor (IPv4 only) */
  return policy_entry_format(&d);
}

int
exit_policy_desc_lines(const policy_t *p, char ***lines, size_t *n)
{
  size_t cap = EXIT_POLICY_MAX_LINES;
  char **v = al_calloc(cap, sizeof(*v));
  size_t k = 0;
  bool exit4 = exit_policy_accepts_family(p, 4);
  for (size_t i = 0; exit4 && i < p->n; i++) {
    char *s = desc_line(&p->entries[i]);
    if (!s)
      continue;
    if (k == cap - 1) {   /* keep room for the final reject */
      al_free(s);
      break;
    }
    v[k++] = s;
    const policy_entry_t *e = &p->entries[i];
    if (e->maskbits == 0 && e->port_lo == 1 && e->port_hi == 65535)
      break;   /* nothing after a catch-all matters */
  }
  bool terminated = k > 0 && (strcmp(v[k - 1], "reject *:*") == 0 ||
                              strcmp(v[k - 1], "accept *:*") == 0);
  if (!terminated)
    v[k++] = al_strdup("reject *:*");
  *lines = v;
  *n = k;
  return 0;
}

char *
exit_policy_ipv6_summary(const policy_t *p)
{
  policy_summary_t *s = al_calloc(1, sizeof(*s));
  char *out = NULL;
  if (exit_policy_accepts_family(p, 6) && policy_summarize(p, 6, s) == 0) {
    bool none = !s->accept ? (s->n == 1 && s->ranges[0].lo == 1 &&
                              s->ranges[0].hi == 65535)
                           : s->n == 0;
    if (!none)
      out = policy_summary_format(s);
  }
  al_free(s);
  return out;
}

int
exit_policy_local_addrs(policy_addr_t **out, size_t *n)
{
  struct ifaddrs *ifa = NULL;
  *out = NULL;
  *n = 0;
  if (getifaddrs(&ifa) < 0)
    return -1;
  size_t cap = 0;
  for (struct ifaddrs *i = ifa; i; i = i->ifa_next)
    cap++;
  policy_addr_t *v = al_calloc(cap ? cap : 1, sizeof(*v));
  size_t k = 0;
  for (struct ifaddrs *i = ifa; i; i = i->ifa_next) {
    if (!i->ifa_addr || !(i->ifa_flags & IFF_UP))
      continue;
    if (i->ifa_addr->sa_family == AF_INET) {
      const struct sockaddr_in *s = (const void *)i->ifa_addr;
      v[k].family = 4;
      memcpy(v[k++].addr, &s->sin_addr, 4);
    } else if (i->ifa_addr->sa_family == AF_INET6) {
      const struct sockaddr_in6 *s = (const void *)i->ifa_addr;
      v[k].family = 6;
      memcpy(v[k++].addr, &s->sin6_addr, 16);
    }
  }
  freeifaddrs(ifa);
  *out = v;
  *n = k;
  return 0;
}
