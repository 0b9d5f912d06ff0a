/* options.c -- load allium's configuration the way tor(1) does: the
 * defaults file, then the torrc (-f FILE), then command-line options, each
 * overriding the one before; then validate, and log once which tor options
 * were accepted but are not implemented yet.
 */
#define LOG_MODULE "config"
#include "allium/app/config/options.h"

#include "allium/feature/dirclient/dir_defaults.h"
#include "allium/lib/conf/cmdline.h"
#include "allium/lib/log/log.h"
#include "allium/lib/malloc/malloc.h"
#include "options_table.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

static const char *const dump_words[] = { "short", "full", "non-builtin",
                                          NULL };

static const conf_cmdline_flag_t cmdline_flags[] = {
  { "-f", CONF_FLAG_ARG_REQUIRED, NULL },
  { "--torrc-file", CONF_FLAG_ARG_REQUIRED, NULL },
  { "--defaults-torrc", CONF_FLAG_ARG_REQUIRED, NULL },
  { "--ignore-missing-torrc", CONF_FLAG_ARG_NONE, NULL },
  { "-h", CONF_FLAG_ARG_NONE, NULL },
  { "--help", CONF_FLAG_ARG_NONE, NULL },
  { "--version", CONF_FLAG_ARG_NONE, NULL },
  { "--verify-config", CONF_FLAG_ARG_NONE, NULL },
  { "--list-options", CONF_FLAG_ARG_NONE, NULL },
  { "--list-torrc-options", CONF_FLAG_ARG_NONE, NULL },
  { "--keygen", CONF_FLAG_ARG_NONE, NULL },
  { "--dump-config", CONF_FLAG_ARG_OPTIONAL, dump_words },
  { "--list-fingerprint", CONF_FLAG_ARG_NONE, NULL },
  { "--hash-password", CONF_FLAG_ARG_REQUIRED, NULL },
  { "--hush", CONF_FLAG_ARG_NONE, NULL },
  { "--quiet", CONF_FLAG_ARG_NONE, NULL },
};

allium_options_t *
options_new_default(void)
{
  allium_options_t *o = al_malloc(sizeof(*o));
  conf_init(&options_format, o);
  return o;
}

void
options_free_(allium_options_t *o)
{
  if (!o)
    return;
  conf_clear(&options_format, o);
  al_free(o);
}

void
options_print_list(FILE *f)
{
  conf_print_list(&options_format, f);
}

char *
options_dump(const allium_options_t *o)
{
  return conf_dump(&options_format, o, 1);
}

/* Append the built-in directory servers in use, as comments (they are
 * not option values: uncommenting DirAuthority lines would turn the
 * default fallbacks off). */
static char *
append_builtin_dirs(char *text, const allium_options_t *o)
{
  const char *const *al, *const *fl;
  size_t na = dir_defaults_authority_lines(&al);
  size_t nf = dir_defaults_fallback_lines(&fl);
  bool auths = !o->DirAuthority && !o->AlternateDirAuthority;
  bool fbs = auths && !o->FallbackDir && o->UseDefaultFallbackDirs;
  size_t len = strlen(text) + 200;
  for (size_t i = 0; auths && i < na; i++)
    len += strlen(al[i]) + 20;
  for (size_t i = 0; fbs && i < nf; i++)
    len += strlen(fl[i]) + 20;
  char *out = al_malloc(len), *p = out;
  p += snprintf(p, len, "%s", text);
  if (auths || fbs)
    p += snprintf(p, len - (size_t)(p - out),
                  "# Built-in directory servers in use (from tor %s):\n",
                  dir_defaults_tor_version());
  for (size_t i = 0; auths && i < na; i++)
    p += snprintf(p, len - (size_t)(p - out), "# DirAuthority %s\n", al[i]);
  for (size_t i = 0; fbs && i < nf; i++)
    p += snprintf(p, len - (size_t)(p - out), "# FallbackDir %s\n", fl[i]);
  al_free(text);
  return out;
}

char *
options_dump_full(const allium_options_t *o)
{
  char *text = conf_dump(&options_format, o, 0);
  return text ? append_builtin_dirs(text, o) : NULL;
}

/* Log the one notice about accepted-but-ignored tor options. */
static void
note_ignored(const config_line_t *ignored)
{
  if (!ignored)
    return;
  size_t len = 1;
  for (const config_line_t *l = ignored; l; l = l->next)
    len += strlen(l->key) + 2;
  char *names = al_malloc(len);
  names[0] = '\0';
  for (const config_line_t *l = ignored; l; l = l->next) {
    if (l != ignored)
      strcat(names, ", ");
    strcat(names, l->key);
  }
  log_notice("Options not implemented yet, accepted and ignored: %s", names);
  al_free(names);
}

/* Apply lines, validate, note ignored options; consumes nothing. */
static int
finish_load(allium_options_t *o, config_line_t *ignored, char **errmsg)
{
  if (options_validate(o, errmsg) < 0)
    return -1;
  note_ignored(ignored);
  return 0;
}

/* tor(1) TestingTorNetwork: "changes the defaults of several options";
 * these are the ones allium implements.  An explicit line still wins. */
static const char testing_defaults[] =
  "EnforceDistinctSubnets 0\n"
  "AssumeReachable 1\n"
  "ExitPolicyRejectPrivate 0\n";

int
options_load_from_string(const char *torrc_text, allium_options_t **out,
                         char **errmsg)
{
  config_line_t *lines = NULL, *ignored = NULL;
  *out = NULL;
  if (confline_parse_string(torrc_text, "<string>", &lines, errmsg) < 0)
    return -1;
  allium_options_t *o = options_new_default();
  int r = conf_apply_lines(&options_format, o, lines, &ignored, errmsg);
  if (r == 0 && o->TestingTorNetwork) {
    /* Again, on the TestingTorNetwork defaults (see load_all()). */
    config_line_t *tl = NULL;
    options_free(o);
    confline_free(ignored);
    o = options_new_default();
    r = confline_parse_string(testing_defaults, "TestingTorNetwork defaults",
                              &tl, errmsg);
    if (r == 0)
      r = conf_apply_lines(&options_format, o, tl, &ignored, errmsg);
    if (r == 0)
      r = conf_apply_lines(&options_format, o, lines, &ignored, errmsg);
    confline_free(tl);
  }
  if (r == 0)
    r = finish_load(o, ignored, errmsg);
  confline_free(lines);
  confline_free(ignored);
  if (r < 0) {
    options_free(o);
    return -1;
  }
  *out = o;
  return 0;
}

/* Fill f from the parsed special flags.  Values point into argv: a flag
 * line's lineno is the argv index of its value. */
static void
fill_flags(const config_line_t *fl, char **argv, cmdline_flags_t *f)
{
  memset(f, 0, sizeof(*f));
  for (; fl; fl = fl->next) {
    const char *k = fl->key;
    const char *v = fl->value[0] ? argv[fl->lineno] : NULL;
    if (!strcmp(k, "-f") || !strcmp(k, "--torrc-file"))
      f->torrc_file = v;
    else if (!strcmp(k, "--defaults-torrc"))
      f->defaults_file = v;
    else if (!strcmp(k, "--ignore-missing-torrc"))
      f->ignore_missing_torrc = 1;
    else if (!strcmp(k, "-h") || !strcmp(k, "--help"))
      f->help = 1;
    else if (!strcmp(k, "--version"))
      f->version = 1;
    else if (!strcmp(k, "--verify-config"))
      f->verify_config = 1;
    else if (!strcmp(k, "--list-options") ||
             !strcmp(k, "--list-torrc-options"))
      f->list_options = 1;
    else if (!strcmp(k, "--keygen"))
      f->keygen = 1;
    else if (!strcmp(k, "--dump-config")) {
      f->dump_config = 1;
      f->dump_config_mode = v ? v : "short";
    } else if (!strcmp(k, "--list-fingerprint"))
      f->list_fingerprint = 1;
    else if (!strcmp(k, "--hash-password"))
      f->hash_password = argv[fl->lineno];   /* "" is a password too */
    else if (!strcmp(k, "--hush"))
      f->quiet = f->quiet > 1 ? f->quiet : 1;
    else if (!strcmp(k, "--quiet"))
      f->quiet = 2;
  }
}

/* Read one file and apply it.  missing_ok: a missing file is fine. */
static int
load_file(allium_options_t *o, const char *path, int missing_ok,
          config_line_t **ignored, char **errmsg)
{
  config_line_t *lines = NULL;
  int r = confline_parse_file(path, &lines, errmsg);
  if (r == -2 && missing_ok) {
    log_info("Configuration file %s not present, using defaults.", path);
    al_free(*errmsg);
    return 0;
  }
  if (r < 0)
    return -1;
  r = conf_apply_lines(&options_format, o, lines, ignored, errmsg);
  confline_free(lines);
  return r;
}

/* Load defaults file, torrc and command line into a fresh options struct;
 * with testing set, the TestingTorNetwork defaults come first. */
static int
load_all(const cmdline_flags_t *f, const conf_cmdline_t *cl, bool testing,
         allium_options_t **out, char **errmsg)
{
  config_line_t *ignored = NULL, *tl = NULL;
  allium_options_t *o = options_new_default();
  const char *defaults = f->defaults_file ? f->defaults_file
                                          : ALLIUM_DEFAULT_TORRC_DEFAULTS;
  const char *torrc = f->torrc_file ? f->torrc_file : ALLIUM_DEFAULT_TORRC;
  int r = 0;
  if (testing) {
    r = confline_parse_string(testing_defaults, "TestingTorNetwork defaults",
                              &tl, errmsg);
    if (r == 0)
      r = conf_apply_lines(&options_format, o, tl, &ignored, errmsg);
    confline_free(tl);
  }
  if (r == 0)
    r = load_file(o, defaults, 1, &ignored, errmsg);
  if (r == 0)
    r = load_file(o, torrc, !f->torrc_file || f->ignore_missing_torrc,
                  &ignored, errmsg);
  if (r == 0)
    r = conf_apply_lines(&options_format, o, cl->lines, &ignored, errmsg);
  if (r == 0 && (testing || !o->TestingTorNetwork))
    r = finish_load(o, ignored, errmsg);
  confline_free(ignored);
  if (r < 0) {
    options_free(o);
    return -1;
  }
  *out = o;
  return 0;
}

int
options_load(int argc, char **argv, allium_options_t **out, char **errmsg,
             cmdline_flags_t *flags)
{
  conf_cmdline_t cl;
  cmdline_flags_t f;
  *out = NULL;
  if (conf_cmdline_parse(argc, argv, cmdline_flags,
                         sizeof(cmdline_flags) / sizeof(cmdline_flags[0]),
                         &cl, errmsg) < 0)
    return -1;
  fill_flags(cl.flags, argv, &f);
  if (flags)
    *flags = f;
  if (f.help || f.version || f.list_options || f.hash_password) {
    conf_cmdline_clear(&cl);
    return 0;
  }
  allium_options_t *o = NULL;
  int r = load_all(&f, &cl, false, &o, errmsg);
  if (r == 0 && o->TestingTorNetwork) {
    /* Again, on the TestingTorNetwork defaults. */
    options_free(o);
    r = load_all(&f, &cl, true, &o, errmsg);
  }
  conf_cmdline_clear(&cl);
  if (r < 0)
    return -1;
  *out = o;
  return 0;
}

int
options_same_value(const allium_options_t *a, const allium_options_t *b,
                   const char *name)
{
  const conf_var_t *v = conf_find_var(&options_format, name);
  if (!v)
    return 1;
  char *x = conf_format_var(&options_format, a, v);
  char *y = conf_format_var(&options_format, b, v);
  int same = strcmp(x, y) == 0;
  memwipe(x, strlen(x));
  memwipe(y, strlen(y));
  al_free(x);
  al_free(y);
  return same;
}

/* Give dst src's value of v: reset, then apply src's value as torrc text
 * (an empty text leaves the default, as src's unset value means). */
static void
copy_value(allium_options_t *dst, const allium_options_t *src,
           const conf_var_t *v)
{
  char *text = conf_format_var(&options_format, src, v);
  config_line_t *lines = NULL;
  char *err = NULL;
  conf_reset_var(&options_format, dst, v);
  if (confline_parse_string(text, "running configuration", &lines,
                            &err) < 0 ||
      conf_apply_lines(&options_format, dst, lines, NULL, &err) < 0)
    log_warn("Couldn't keep the running value of %s: %s", v->name,
             err ? err : "?");
  al_free(err);
  confline_free(lines);
  memwipe(text, strlen(text));
  al_free(text);
}

char *
options_keep_values(allium_options_t *newo, const allium_options_t *oldo,
                    const char *const *names)
{
  char *out = NULL;
  for (size_t i = 0; names[i]; i++) {
    const conf_var_t *v = conf_find_var(&options_format, names[i]);
    if (!v || options_same_value(newo, oldo, names[i]))
      continue;
    copy_value(newo, oldo, v);
    char *joined = out ? al_asprintf("%s, %s", out, v->name)
                       : al_strdup(v->name);
    al_free(out);
    out = joined;
  }
  return out;
}
