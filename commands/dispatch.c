/* nbdcli - the dispatcher: finds a command in the table and enforces
 * what the table says (phase, arity, options, --help), so handlers only
 * deal with their own values.
 * Copyright the nbdcli authors, MIT licence.
 */
#include <config.h>

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "output.h"

struct shell shell = { .errexit = true };

const struct command *const command_groups[] = {
  conn_commands,
  opt_commands,
  xmit_commands,
  multiconn_commands,
  check_commands,
  session_commands,
  NULL
};

const struct command *
find_command (const char *name)
{
  const struct command *const *g;
  const struct command *c;

  for (g = command_groups; *g; g++)
    for (c = *g; c->name; c++)
      if (strcmp (c->name, name) == 0
          || (c->alias && strcmp (c->alias, name) == 0))
        return c;
  return NULL;
}

/* Prints a command's error (JSON with --json) and returns STATUS. */
static int
command_error (int status, const char *fmt, va_list ap)
{
  char *m = NULL;

  if (vasprintf (&m, fmt, ap) == -1)
    m = NULL;
  fflush (stdout);
  if (shell.disp.json)
    json_error_line (stdout, out_where.cmd, m, NULL);
  else
    print_error_line (stderr, out_where.cmd, m);
  free (m);
  return status;
}

int
cmd_error (const char *fmt, ...)
{
  va_list ap;
  int r;

  va_start (ap, fmt);
  r = command_error (CMD_FAILED, fmt, ap);
  va_end (ap);
  return r;
}

int
usage_error (const char *fmt, ...)
{
  va_list ap;
  int r;

  va_start (ap, fmt);
  r = command_error (CMD_USAGE, fmt, ap);
  va_end (ap);
  return r;
}

void
print_command_help (FILE *fp, const struct command *c)
{
  fprintf (fp, "%s%s%s%s%s\n", c->name, c->alias ? " (" : "",
          c->alias ? c->alias : "", c->alias ? ")" : "",
          "");
  fprintf (fp, "usage: %s%s%s\n", c->name, *c->args ? " " : "", c->args);
  fprintf (fp, "%s\n", c->summary);
  if (c->help && *c->help)
    fprintf (fp, "\n%s\n", c->help);
  if (c->flags & CMD_OPT_PHASE)
    fprintf (fp, "\n(only during option haggling)\n");
  else if (c->flags & CMD_XMIT_PHASE)
    fprintf (fp, "\n(only in the transmission phase)\n");
  else if (c->flags & CMD_NEED_CONN)
    fprintf (fp, "\n(needs a connection)\n");
}

/* Does the command accept OPT (e.g. "--export")?  *TAKES_VALUE says
 * whether it is followed by a value.
 */
static bool
known_opt (const struct command *c, const char *opt, bool *takes_value)
{
  const char *p = c->opts;
  size_t n = strlen (opt);

  while (p && *p) {
    size_t len = strcspn (p, " ");
    size_t nl = len && p[len - 1] == '=' ? len - 1 : len;
    if (nl == n && strncmp (p, opt, n) == 0) {
      *takes_value = nl != len;
      return true;
    }
    p += len;
    while (*p == ' ')
      p++;
  }
  return false;
}

const char *
arg_opt (const struct args *a, const char *name)
{
  int i;
  const char *r = NULL;

  for (i = 0; i < a->nopts; i++)
    if (strcmp (a->optname[i], name) == 0)
      r = a->optval[i] ? a->optval[i] : "";
  return r;
}

static void
args_free (struct args *a)
{
  int i;

  for (i = 0; i < a->nopts; i++) {
    free (a->optname[i]);
  }
  free (a->argv);
  free (a->quoted);
  free (a->optname);
  free (a->optval);
}

int
dispatch (struct session *s, int argc, char **argv, const bool *quoted)
{
  const struct command *c;
  struct args a = { 0 };
  bool no_more_opts = false, async_amp = false;
  int i, r, npos;

  if (argc == 0)
    return CMD_OK;
  s = shell_session (s);
  c = find_command (argv[0]);
  if (!c) {
    out_where.cmd = NULL;
    cmd_error ("unknown command \"%s\" (try `help')", argv[0]);
    return CMD_USAGE;
  }
  out_where.cmd = c->name;

  /* A trailing `&' (unquoted) is --async for the commands that take it. */
  if (argc > 1 && !quoted[argc - 1] && strcmp (argv[argc - 1], "&") == 0
      && !(c->flags & CMD_WORDS)) {
    bool tv;

    if (!known_opt (c, "--async", &tv)) {
      cmd_error ("`&' (send without waiting) only follows a transmission "
                 "command");
      return CMD_USAGE;
    }
    argc--;
    async_amp = true;
  }
  a.argv = xcalloc (argc + 2, sizeof (char *));
  a.quoted = xcalloc (argc + 2, sizeof (bool));
  a.optname = xcalloc (argc + 2, sizeof (char *));
  a.optval = xcalloc (argc + 2, sizeof (char *));
  if (async_amp)
    a.optname[a.nopts++] = xstrdup ("--async");
  a.argv[a.argc++] = argv[0];
  for (i = 1; i < argc; i++) {
    const char *w = argv[i];
    bool takes_value;
    char *eq;

    /* CMD_WORDS (echo): every word is an argument, as given; only a
     * lone --help asks for help.
     */
    if ((c->flags & CMD_WORDS) && !(argc == 2 && !quoted[i]
                                    && strcmp (w, "--help") == 0)) {
      a.quoted[a.argc] = quoted[i];
      a.argv[a.argc++] = argv[i];
      continue;
    }
    if (!quoted[i] && !no_more_opts && strcmp (w, "--help") == 0) {
      print_command_help (stdout, c);
      args_free (&a);
      return CMD_OK;
    }
    /* Everything in "[ SERVER-CMD ARGS ]" belongs to the server. */
    if (!quoted[i] && strcmp (w, "[") == 0)
      no_more_opts = true;
    if (!quoted[i] && !no_more_opts && strcmp (w, "--") == 0) {
      no_more_opts = true;
      continue;
    }
    if (!quoted[i] && !no_more_opts && strncmp (w, "--", 2) == 0) {
      char *name = xstrdup (w);
      eq = strchr (name, '=');
      if (eq)
        *eq = '\0';
      if (!known_opt (c, name, &takes_value)) {
        cmd_error ("unknown option %s (try `%s --help')", name, c->name);
        free (name);
        args_free (&a);
        return CMD_USAGE;
      }
      if (takes_value && !eq) {
        if (i + 1 >= argc) {
          cmd_error ("option %s needs a value", name);
          free (name);
          args_free (&a);
          return CMD_USAGE;
        }
        a.optval[a.nopts] = argv[++i];
      }
      else if (takes_value)
        a.optval[a.nopts] = (char *) w + (eq - name) + 1;
      else if (eq) {
        cmd_error ("option %s takes no value", name);
        free (name);
        args_free (&a);
        return CMD_USAGE;
      }
      a.optname[a.nopts++] = name;
      continue;
    }
    a.quoted[a.argc] = quoted[i];
    a.argv[a.argc++] = argv[i];
  }
  npos = a.argc - 1;
  if (npos < c->min_args) {
    cmd_error ("missing argument (usage: %s%s%s)", c->name,
               *c->args ? " " : "", c->args);
    args_free (&a);
    return CMD_USAGE;
  }
  if (c->max_args >= 0 && npos > c->max_args) {
    cmd_error ("too many arguments (usage: %s%s%s)", c->name,
               *c->args ? " " : "", c->args);
    args_free (&a);
    return CMD_USAGE;
  }
  if ((c->flags & (CMD_NEED_CONN | CMD_OPT_PHASE | CMD_XMIT_PHASE))
      && s->phase == PHASE_DISCONNECTED) {
    cmd_error ("not connected (use `connect TARGET' or `reconnect')");
    args_free (&a);
    return CMD_FAILED;
  }
  if ((c->flags & CMD_OPT_PHASE) && s->phase != PHASE_OPTIONS) {
    cmd_error ("only during option haggling; the session is in %s",
               phase_name (s->phase));
    args_free (&a);
    return CMD_FAILED;
  }
  if ((c->flags & CMD_XMIT_PHASE) && s->phase != PHASE_TRANSMISSION) {
    cmd_error ("only in the transmission phase; the session is %s",
               phase_name (s->phase));
    args_free (&a);
    return CMD_FAILED;
  }
  if (shell.disp.json && (c->flags & CMD_TEXT)) {
    /* A command that prints text gives one JSON object with it. */
    char *buf = NULL;
    size_t len = 0;

    a.out = open_memstream (&buf, &len);
    if (!a.out)
      abort ();
    r = c->run (s, &a);
    fclose (a.out);
    json_output_line (stdout, c->name, buf, len);
    free (buf);
  }
  else {
    a.out = stdout;
    r = c->run (s, &a);
  }
  args_free (&a);
  fflush (stdout);
  return r;
}

int
parse_u64 (const char *s, uint64_t *v)
{
  char *end;
  unsigned long long r;
  uint64_t mult = 1;

  if (!s || !*s || *s == '-' || *s == ' ')
    return -1;
  errno = 0;
  /* Decimal or 0x hex; a leading 0 is not octal. */
  if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
    r = strtoull (s + 2, &end, 16);
  else
    r = strtoull (s, &end, 10);
  if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X') && end == s + 2)
    return -1;
  if (errno || end == s)
    return -1;
  switch (*end) {
  case '\0': break;
  case 'k': case 'K': mult = UINT64_C (1) << 10; end++; break;
  case 'm': case 'M': mult = UINT64_C (1) << 20; end++; break;
  case 'g': case 'G': mult = UINT64_C (1) << 30; end++; break;
  case 't': case 'T': mult = UINT64_C (1) << 40; end++; break;
  default: return -1;
  }
  if (*end == 'i' && mult > 1)
    end++;
  if ((*end == 'B' || *end == 'b') && mult > 1)
    end++;
  if (*end)
    return -1;
  if (r > UINT64_MAX / mult)
    return -1;
  *v = r * mult;
  return 0;
}

int
parse_u32 (const char *s, uint32_t *v)
{
  uint64_t r;
  if (parse_u64 (s, &r) == -1 || r > UINT32_MAX)
    return -1;
  *v = (uint32_t) r;
  return 0;
}
