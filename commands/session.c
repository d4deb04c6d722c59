/* nbdcli - session commands: state, set, assert, echo, source, help,
 * complete, quit.
 * Copyright the nbdcli authors, MIT licence.
 */
#include <config.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "elements.h"
#include "names.h"
#include "nbd-proto.h"
#include "nbdcli.h"
#include "output.h"

/* `get FIELD': one value, for scripts.  Text: the value alone on one
 * line (a list: one item per line).  JSON: {"event":"value","field":
 * FIELD,"value":...}.
 */
/* Where get's text values go: stdout, or with --quiet the real stdout
 * while the rest of the output goes to /dev/null (set by main).
 */
FILE *get_output;

static FILE *
gout (void)
{
  return get_output && !cli.json ? get_output : stdout;
}

static void
get_begin (const char *field)
{
  printf ("{\"event\":\"value\",\"field\":");
  json_string (field);
  printf (",\"value\":");
}

static int
get_num (const char *field, uint64_t v, bool hex)
{
  if (cli.json) {
    get_begin (field);
    printf ("%" PRIu64 "}\n", v);
  }
  else if (hex)
    fprintf (gout (), "0x%04" PRIx64 "\n", v);
  else
    fprintf (gout (), "%" PRIu64 "\n", v);
  return CMD_OK;
}

static int
get_flagval (const char *field, bool v)
{
  if (cli.json) {
    get_begin (field);
    printf ("%s}\n", v ? "true" : "false");
  }
  else
    fprintf (gout (), "%s\n", v ? "true" : "false");
  return CMD_OK;
}

static int
get_text (const char *field, const char *v)
{
  if (cli.json) {
    get_begin (field);
    json_string (v);
    printf ("}\n");
  }
  else
    fprintf (gout (), "%s\n", v);
  return CMD_OK;
}

static int
need_export (struct session *s)
{
  if (s->phase == PHASE_DISCONNECTED)
    return cmd_error ("not connected (use `connect TARGET' or `reconnect')");
  if (!s->cur.have_export)
    return cmd_error ("no export has been answered yet (its size and "
                      "flags come with `info' or `go')");
  return CMD_OK;
}

static int
do_get (struct session *s, struct args *a)
{
  const char *f = a->argv[1];
  uint32_t bit;
  size_t i;

  if (strcmp (f, "size") == 0) {
    if (need_export (s) != CMD_OK)
      return CMD_FAILED;
    return get_num (f, s->cur.size, false);
  }
  if (strcmp (f, "flags") == 0 || strcmp (f, "transmission-flags") == 0) {
    if (need_export (s) != CMD_OK)
      return CMD_FAILED;
    return get_num (f, s->cur.tflags, true);
  }
  if (strcmp (f, "flag") == 0) {
    if (a->argc != 3) {
      cmd_error ("usage: get flag NAME (e.g. get flag SEND_DF)");
      return CMD_USAGE;
    }
    if (nbd_value_of (nbd_tflag_names, a->argv[2], &bit) == -1) {
      cmd_error ("\"%s\": not a transmission flag (NBD_FLAG_*; `help "
                 "NBD_FLAG_SEND_DF' explains one)", a->argv[2]);
      return CMD_USAGE;
    }
    if (need_export (s) != CMD_OK)
      return CMD_FAILED;
    return get_flagval (a->argv[2], (s->cur.tflags & bit) != 0);
  }
  if (a->argc != 2) {
    cmd_error ("too many arguments (usage: get FIELD; only `flag' takes a "
               "name)");
    return CMD_USAGE;
  }
  if (strcmp (f, "tls-version") == 0) {
    if (!s->tls_up || !s->tlsinfo.version)
      return cmd_error ("TLS is not up (use `starttls')");
    return get_text (f, s->tlsinfo.version);
  }
  if (strcmp (f, "phase") == 0)
    return get_text (f, phase_name (s->phase));
  if (strcmp (f, "structured-reply") == 0)
    return get_flagval (f, s->phase != PHASE_DISCONNECTED && s->cur.sr);
  if (strcmp (f, "extended-headers") == 0)
    return get_flagval (f, s->phase != PHASE_DISCONNECTED && s->cur.eh);
  if (strcmp (f, "export") == 0) {
    if (need_export (s) != CMD_OK)
      return CMD_FAILED;
    return get_text (f, s->cur.export_name ? s->cur.export_name : "");
  }
  if (strcmp (f, "contexts") == 0) {
    if (cli.json) {
      get_begin (f);
      printf ("[");
      for (i = 0; i < s->cur.nctx; i++) {
        printf ("%s{\"id\":%" PRIu32 ",\"name\":", i ? "," : "",
                s->cur.ctx[i].id);
        json_string (s->cur.ctx[i].name);
        printf ("}");
      }
      printf ("]}\n");
    }
    else
      for (i = 0; i < s->cur.nctx; i++)
        fprintf (gout (), "%s\n", s->cur.ctx[i].name);
    return CMD_OK;
  }
  cmd_error ("unknown field \"%s\" (size, flags, flag NAME, tls-version, "
             "contexts, export, phase, structured-reply, extended-headers)",
             f);
  return CMD_USAGE;
}

static int
do_state (struct session *s, struct args *a)
{
  print_state (s);
  return CMD_OK;
}

static void
set_str (char **p, const char *v)
{
  free (*p);
  *p = strdup (v);
  if (!*p)
    abort ();
}

/* The settings `set' knows, for `set' with no argument and completion. */
const char *const set_names[] = {
  "export", "client-flags", "timeout", "tls", "tls-certificates",
  "tls-psk", "tls-username", "tls-hostname", "tls-verify-peer",
  "allow-plaintext", "errexit", NULL
};

/* The value in force: set by hand, else from the URI. */
static const char *
eff (const char *set, const char *uri)
{
  return set && *set ? set : uri && *uri ? uri : "(none)";
}

static void
show_settings (struct session *s)
{
  int vp = s->tls.verify_peer >= 0 ? s->tls.verify_peer
    : s->target.tls_verify_peer;

  printf ("export           \"%s\"\n",
          s->default_export ? s->default_export : "");
  if (s->client_flags_override >= 0)
    printf ("client-flags     0x%08" PRIx64 "\n", s->client_flags_override);
  else
    printf ("client-flags     auto\n");
  printf ("timeout          %d\n", s->timeout_ms / 1000);
  printf ("tls              %s\n", s->tls.required ? "require" : "off");
  printf ("tls-certificates %s\n",
          eff (s->tls.certificates, s->target.tls_certificates));
  printf ("tls-psk          %s\n",
          eff (s->tls.psk_file, s->target.tls_psk_file));
  printf ("tls-username     %s\n",
          eff (s->tls.username, s->target.tls_username));
  printf ("tls-hostname     %s\n",
          eff (s->tls.hostname, s->target.tls_hostname));
  printf ("tls-verify-peer  %s\n", vp == 0 ? "no" : "yes");
  printf ("allow-plaintext  %s\n", s->allow_plaintext ? "on" : "off");
  printf ("errexit          %s\n", cli.errexit ? "on" : "off");
}

int
apply_setting (struct session *s, const char *name, const char *v)
{
  bool b;
  uint64_t n;

  if (strcmp (name, "export") == 0) {
    set_str (&s->default_export, v);
    s->export_set_by_user = true;
  }
  else if (strcmp (name, "client-flags") == 0) {
    if (strcmp (v, "auto") == 0)
      s->client_flags_override = -1;
    else if (parse_u64 (v, &n) == -1 || n > UINT32_MAX) {
      cmd_error ("client-flags: \"%s\" is not auto or a 32-bit "
                 "number", v);
      return CMD_USAGE;
    }
    else
      s->client_flags_override = n;
  }
  else if (strcmp (name, "timeout") == 0) {
    if (parse_u64 (v, &n) == -1 || n == 0 || n > 86400) {
      cmd_error ("timeout: \"%s\" is not a number of seconds "
                 "(1 to 86400)", v);
      return CMD_USAGE;
    }
    s->timeout_ms = (int) n * 1000;
  }
  else if (strcmp (name, "tls") == 0) {
    if (strcmp (v, "require") == 0)
      b = true;
    else if (nbd_parse_bool (v, &b) == -1) {
      cmd_error ("tls: \"%s\": expected require, or " NBD_BOOL_WORDS,
                 v);
      return CMD_USAGE;
    }
    s->tls.required = s->tls_required_by_user = b;
  }
  else if (strcmp (name, "tls-certificates") == 0)
    set_str (&s->tls.certificates, v);
  else if (strcmp (name, "tls-psk") == 0 || strcmp (name, "tls-psk-file") == 0)
    set_str (&s->tls.psk_file, v);
  else if (strcmp (name, "tls-username") == 0)
    set_str (&s->tls.username, v);
  else if (strcmp (name, "tls-hostname") == 0)
    set_str (&s->tls.hostname, v);
  else if (strcmp (name, "tls-verify-peer") == 0) {
    if (nbd_parse_bool (v, &b) == -1) {
      cmd_error ("tls-verify-peer: \"%s\": expected " NBD_BOOL_WORDS, v);
      return CMD_USAGE;
    }
    s->tls.verify_peer = b;
  }
  else if (strcmp (name, "allow-plaintext") == 0) {
    if (nbd_parse_bool (v, &b) == -1) {
      cmd_error ("allow-plaintext: \"%s\": expected " NBD_BOOL_WORDS, v);
      return CMD_USAGE;
    }
    s->allow_plaintext = b;
  }
  else if (strcmp (name, "errexit") == 0) {
    if (nbd_parse_bool (v, &b) == -1) {
      cmd_error ("errexit: \"%s\": expected " NBD_BOOL_WORDS, v);
      return CMD_USAGE;
    }
    cli.errexit = b;
  }
  else {
    cmd_error ("unknown setting \"%s\" (try `set' to list them)", name);
    return CMD_USAGE;
  }
  return CMD_OK;
}

static int
do_set (struct session *s, struct args *a)
{
  if (a->argc == 1) {
    show_settings (s);
    return CMD_OK;
  }
  if (a->argc != 3) {
    cmd_error ("missing value (usage: set NAME VALUE)");
    return CMD_USAGE;
  }
  return apply_setting (s, a->argv[1], a->argv[2]);
}

static int
do_echo (struct session *s, struct args *a)
{
  int i;
  for (i = 1; i < a->argc; i++)
    printf ("%s%s", i > 1 ? " " : "", a->argv[i]);
  printf ("\n");
  return CMD_OK;
}

static int
do_source (struct session *s, struct args *a)
{
  return run_file (s, a->argv[1]);
}

static int
do_quit (struct session *s, struct args *a)
{
  cli.quit = true;
  return CMD_OK;
}

static int
do_help (struct session *s, struct args *a)
{
  const struct command *const *g;
  const struct command *c;

  if (a->argc == 2) {
    c = find_command (a->argv[1]);
    if (!c) {
      if (help_element (a->argv[1]) > 0)
        return CMD_OK;
      cmd_error ("no help for \"%s\" (try `help' for the list)", a->argv[1]);
      return CMD_USAGE;
    }
    print_command_help (c);
    return CMD_OK;
  }
  printf ("Commands (`help NAME' or `NAME --help' for more):\n");
  for (g = command_groups; *g; g++)
    for (c = *g; c->name; c++) {
      char name[64];
      snprintf (name, sizeof name, "%s%s%s%s", c->name,
                c->alias ? " (" : "", c->alias ? c->alias : "",
                c->alias ? ")" : "");
      printf ("  %-24s %s\n", name, c->summary);
    }
  return CMD_OK;
}

static int
do_sleep (struct session *s, struct args *a)
{
  char *end;
  double d = strtod (a->argv[1], &end);
  struct timespec ts;

  if (*end || d < 0 || d > 3600) {
    cmd_error ("\"%s\" is not a number of seconds (0 to 3600)", a->argv[1]);
    return CMD_USAGE;
  }
  ts.tv_sec = (time_t) d;
  ts.tv_nsec = (long) ((d - ts.tv_sec) * 1e9);
  while (nanosleep (&ts, &ts) == -1 && !transport_interrupted)
    ;
  return CMD_OK;
}

static int
parse_trace (const char *v, int *level)
{
  bool b;

  if (strcasecmp (v, "hex") == 0)
    *level = 2;
  else if (nbd_parse_bool (v, &b) == 0)
    *level = b;
  else
    return -1;
  return 0;
}

static int
do_trace (struct session *s, struct args *a)
{
  if (a->argc == 1) {
    printf ("trace %s\n", cli.trace == 0 ? "off" : cli.trace == 1 ? "on"
            : "hex");
    return CMD_OK;
  }
  if (parse_trace (a->argv[1], &cli.trace) == -1) {
    cmd_error ("\"%s\": expected hex, or " NBD_BOOL_WORDS, a->argv[1]);
    return CMD_USAGE;
  }
  return CMD_OK;
}

static int
do_complete (struct session *s, struct args *a)
{
  char **v;
  const char *line = a->argc > 1 ? a->argv[1] : "";
  const char *word;
  size_t i, n = strlen (line);

  /* The word being completed: after the last space (or the whole line). */
  word = line + n;
  while (word > line && word[-1] != ' ' && word[-1] != ';')
    word--;
  complete_session = s;
  v = complete_line (line, word);
  if (!v)
    return CMD_OK;
  for (i = 0; v[i]; i++) {
    printf ("%s\n", v[i]);
    free (v[i]);
  }
  free (v);
  return CMD_OK;
}

/* assert [not] WHAT [VALUE] */
static int
do_assert (struct session *s, struct args *a)
{
  bool neg = false, ok;
  int i = 1;
  const char *what, *val;
  char buf[128], lbl[96];
  uint32_t v;
  uint64_t n;
  size_t k;

  if (a->argc > 1 && strcmp (a->argv[1], "not") == 0) {
    neg = true;
    i++;
  }
  if (i >= a->argc)
    return cmd_error ("usage: assert [not] WHAT [VALUE]"), CMD_USAGE;
  what = a->argv[i];
  val = i + 1 < a->argc ? a->argv[i + 1] : NULL;

  if (strcmp (what, "reply") == 0) {
    if (!val)
      return cmd_error ("assert reply NAME|NUMBER"), CMD_USAGE;
    if (nbd_value_of (nbd_rep_names, val, &v) == -1
        && parse_u32 (val, &v) == -1)
      return cmd_error ("\"%s\" is not an NBD_REP_* name or number", val);
    ok = s->have_last_reply && s->last_reply == v;
    snprintf (buf, sizeof buf, "the last final reply is %s",
              s->have_last_reply
              ? rep_label (s->last_reply, lbl, sizeof lbl) : "(none)");
  }
  else if (strcmp (what, "phase") == 0) {
    if (!val)
      return cmd_error ("assert phase disconnected|negotiating|"
                        "transmission"), CMD_USAGE;
    ok = strcmp (phase_name (s->phase), val) == 0;
    snprintf (buf, sizeof buf, "the phase is %s", phase_name (s->phase));
  }
  else if (strcmp (what, "connected") == 0) {
    ok = s->phase != PHASE_DISCONNECTED;
    snprintf (buf, sizeof buf, "the session is %s", phase_name (s->phase));
  }
  else if (strcmp (what, "tls") == 0) {
    ok = s->tls_up;
    snprintf (buf, sizeof buf, "TLS is %s", s->tls_up ? "up" : "not up");
  }
  else if (strcmp (what, "structured-reply") == 0 || !strcmp (what, "sr")) {
    ok = s->cur.sr;
    snprintf (buf, sizeof buf, "structured replies are %snegotiated",
              ok ? "" : "not ");
  }
  else if (strcmp (what, "extended-headers") == 0 || !strcmp (what, "eh")) {
    ok = s->cur.eh;
    snprintf (buf, sizeof buf, "extended headers are %snegotiated",
              ok ? "" : "not ");
  }
  else if (strcmp (what, "flags") == 0) {
    if (!val || parse_u64 (val, &n) == -1)
      return cmd_error ("assert flags N"), CMD_USAGE;
    ok = s->nflags == n;
    snprintf (buf, sizeof buf, "%u flag(s) raised", s->nflags);
  }
  else if (strcmp (what, "context") == 0) {
    if (!val)
      return cmd_error ("assert context NAME"), CMD_USAGE;
    ok = false;
    for (k = 0; k < s->cur.nctx; k++)
      if (strcmp (s->cur.ctx[k].name, val) == 0)
        ok = true;
    snprintf (buf, sizeof buf, "%zu context(s) negotiated", s->cur.nctx);
  }
  else if (strcmp (what, "size") == 0) {
    if (!val || parse_u64 (val, &n) == -1)
      return cmd_error ("assert size N"), CMD_USAGE;
    ok = s->cur.have_export && s->cur.size == n;
    if (s->cur.have_export)
      snprintf (buf, sizeof buf, "the export size is %" PRIu64, s->cur.size);
    else
      snprintf (buf, sizeof buf, "no export has been answered yet (its "
                "size comes with `info' or `go')");
  }
  else if (strcmp (what, "tflag") == 0) {
    if (!val || nbd_value_of (nbd_tflag_names, val, &v) == -1)
      return cmd_error ("assert tflag NBD_FLAG_* name"), CMD_USAGE;
    ok = s->cur.have_export && (s->cur.tflags & v);
    if (s->cur.have_export)
      snprintf (buf, sizeof buf, "the transmission flags are 0x%04x",
                s->cur.tflags);
    else
      snprintf (buf, sizeof buf, "no export has been answered yet (its "
                "flags come with `info' or `go')");
  }
  else
    return cmd_error ("unknown assertion \"%s\" (reply, phase, connected, "
                      "tls, structured-reply, extended-headers, flags, "
                      "context, size, tflag)", what);
  if (ok != neg)
    return CMD_OK;
  return cmd_error ("assertion failed: %s%s%s%s: %s", neg ? "not " : "",
                    what, val ? " " : "", val ? val : "", buf);
}

const struct command session_commands[] = {
  { "get", NULL, "FIELD [NAME]", "print one value, for scripts",
    "FIELD is size (the export's size in bytes, as nbdinfo --size prints\n"
    "it), flags (the transmission flags, in hex), flag NAME (true or false\n"
    "for one transmission flag, e.g. flag SEND_DF), tls-version, contexts\n"
    "(the meta contexts set, one per line), export, phase,\n"
    "structured-reply or extended-headers.  The value is printed alone;\n"
    "with --json as {\"event\":\"value\",\"field\":...,\"value\":...}.\n"
    "Nothing is sent.  Example: nbdcli URI -c 'go; get size'.",
    "", NULL, 0, 1, 2, do_get },
  { "state", NULL, "", "show the session as nbdcli models it",
    "Phase, handshake and client flags, TLS (version, cipher, peer), what\n"
    "is negotiated in this TLS epoch (structured replies, extended\n"
    "headers, meta contexts and their ids, the export with its size, flags\n"
    "and block sizes), what was negotiated before the last STARTTLS, and\n"
    "the number of flags raised.",
    "", NULL, 0, 0, 0, do_state },
  { "set", NULL, "[NAME VALUE]", "change a setting (no argument: list them)",
    "export NAME (default export), client-flags N|auto (sent at the next\n"
    "connect; any bits), timeout SECONDS, tls require|off, tls-certificates\n"
    "DIR, tls-psk FILE, tls-username NAME, tls-hostname NAME,\n"
    "tls-verify-peer yes|no, allow-plaintext on|off (enter transmission\n"
    "without TLS although TLS was asked for), errexit on|off (on, the\n"
    "default: a script stops at its first failing command; off: it goes\n"
    "on, and the exit status still says a command failed).",
    "s", NULL, CMD_TEXT, 0, 2, do_set },
  { "assert", NULL, "[not] WHAT [VALUE]",
    "fail (exit 1) unless the session is as stated",
    "WHAT: reply NAME|NUMBER (the last final option reply), phase\n"
    "disconnected|negotiating|transmission, connected, tls,\n"
    "structured-reply, extended-headers, flags N (raised so far), context\n"
    "NAME (negotiated), size N (export size), tflag NAME (transmission\n"
    "flag set).  `not' inverts.",
    "", NULL, 0, 1, 3, do_assert },
  { "echo", NULL, "[WORDS...]", "print the words",
    "Prints its words as given, separated by one space: options are not\n"
    "read (echo --- and echo -n hi print those words); only a lone\n"
    "echo --help shows this help.",
    "", "", CMD_TEXT, 0, -1, do_echo },
  { "source", NULL, "FILE", "run the commands in FILE",
    "Runs FILE as a script; its errors are located as FILE:LINE:.",
    "f", NULL, 0, 1, 1, do_source },
  { "help", NULL, "[COMMAND | ELEMENT]",
    "list the commands, explain a command or protocol element",
    "With no argument, lists the commands.  `help COMMAND' explains a\n"
    "command.  Any other word is looked up among the protocol elements:\n"
    "options, option replies, info types, handshake, client and\n"
    "transmission flags, commands and command flags, structured reply\n"
    "types and flags, error values, magic numbers and metadata contexts,\n"
    "by full name (NBD_OPT_GO), short name (GO, SEND_DF; every match when\n"
    "it is ambiguous, as for INFO), number (7, 0x80000005: every element\n"
    "with that value, every flag with that mask) or context\n"
    "(base:allocation).  Case does not matter, but a command name wins:\n"
    "`help go' explains the command, `help GO' the option.  Each entry\n"
    "says what the element means, when it is legal, what the spec\n"
    "requires, and which nbdcli command sends or shows it.",
    "h", NULL, CMD_TEXT, 0, 1, do_help },
  { "sleep", NULL, "SECONDS",
    "wait (fractions allowed), e.g. to let a server's unasked bytes arrive",
    "", "", NULL, 0, 1, 1, do_sleep },
  { "trace", NULL, "[on|off|hex]",
    "show every message field by field (the wire trace)",
    "With trace on, each message sent or received is printed after its\n"
    "summary as a frame: one line per field with its offset, size, name,\n"
    "value and meaning.  `trace hex' adds each field's raw bytes.  Messages\n"
    "inside TLS are marked [inside TLS]; the TLS layer itself is shown when\n"
    "the handshake completes.  Data is shown by its length only.",
    "", NULL, CMD_TEXT, 0, 1, do_trace },
  { "complete", NULL, "LINE",
    "print the completions of LINE, one per line",
    "What the interactive shell offers on TAB at the end of LINE (quote\n"
    "LINE).  Useful for testing completion without a terminal.",
    "", NULL, CMD_TEXT, 0, 1, do_complete },
  { "quit", "exit", "", "leave nbdcli (the connection is closed)",
    "", "", NULL, 0, 0, 0, do_quit },
  { .name = NULL }
};
