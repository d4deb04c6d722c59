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
#include "commands.h"
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
  return get_output && !shell.disp.json ? get_output : stdout;
}

static void
get_begin (const char *field)
{
  printf ("{\"event\":\"value\",\"field\":");
  json_string (stdout, field);
  printf (",\"value\":");
}

static int
get_num (const char *field, uint64_t v, bool hex)
{
  if (shell.disp.json) {
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
  if (shell.disp.json) {
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
  if (shell.disp.json) {
    get_begin (field);
    json_string (stdout, v);
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
      return usage_error ("usage: get flag NAME (e.g. get flag SEND_DF)");
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
    if (shell.disp.json) {
      get_begin (f);
      printf ("[");
      for (i = 0; i < s->cur.nctx; i++) {
        printf ("%s{\"id\":%" PRIu32 ",\"name\":", i ? "," : "",
                s->cur.ctx[i].id);
        json_string (stdout, s->cur.ctx[i].name);
        printf ("}");
      }
      printf ("]}\n");
    }
    else
      for (i = 0; i < s->cur.nctx; i++)
        fprintf (gout (), "%s\n", s->cur.ctx[i].name);
    return CMD_OK;
  }
  return usage_error ("unknown field \"%s\" (size, flags, flag NAME, tls-version, "
             "contexts, export, phase, structured-reply, extended-headers)",
             f);
}

static int
do_state (struct session *s, struct args *a)
{
  if (shell.disp.json)
    json_state (a->out, s);
  else
    print_state (a->out, s);
  return CMD_OK;
}

static void
set_str (char **p, const char *v)
{
  free (*p);
  *p = xstrdup (v);
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
show_settings (FILE *fp, struct session *s)
{
  int vp = s->cfg.tls.verify_peer >= 0 ? s->cfg.tls.verify_peer
    : s->target.tls_verify_peer;

  fprintf (fp, "export           \"%s\"\n",
          s->cfg.default_export ? s->cfg.default_export : "");
  if (s->cfg.client_flags_override >= 0)
    fprintf (fp, "client-flags     0x%08" PRIx64 "\n", s->cfg.client_flags_override);
  else
    fprintf (fp, "client-flags     auto\n");
  fprintf (fp, "timeout          %d\n", s->cfg.timeout_ms / 1000);
  fprintf (fp, "tls              %s\n", s->cfg.tls.required ? "require" : "off");
  fprintf (fp, "tls-certificates %s\n",
          eff (s->cfg.tls.certificates, s->target.tls_certificates));
  fprintf (fp, "tls-psk          %s\n",
          eff (s->cfg.tls.psk_file, s->target.tls_psk_file));
  fprintf (fp, "tls-username     %s\n",
          eff (s->cfg.tls.username, s->target.tls_username));
  fprintf (fp, "tls-hostname     %s\n",
          eff (s->cfg.tls.hostname, s->target.tls_hostname));
  fprintf (fp, "tls-verify-peer  %s\n", vp == 0 ? "no" : "yes");
  fprintf (fp, "allow-plaintext  %s\n", s->cfg.allow_plaintext ? "on" : "off");
  fprintf (fp, "errexit          %s\n", shell.errexit ? "on" : "off");
}

int
apply_setting (struct session *s, const char *name, const char *v)
{
  bool b;
  uint64_t n;

  if (strcmp (name, "export") == 0) {
    set_str (&s->cfg.default_export, v);
    s->cfg.export_set_by_user = true;
  }
  else if (strcmp (name, "client-flags") == 0) {
    if (strcmp (v, "auto") == 0)
      s->cfg.client_flags_override = -1;
    else if (parse_u64 (v, &n) == -1 || n > UINT32_MAX) {
      return usage_error ("client-flags: \"%s\" is not auto or a 32-bit "
                 "number", v);
    }
    else
      s->cfg.client_flags_override = n;
  }
  else if (strcmp (name, "timeout") == 0) {
    if (parse_u64 (v, &n) == -1 || n == 0 || n > 86400) {
      return usage_error ("timeout: \"%s\" is not a number of seconds "
                 "(1 to 86400)", v);
    }
    s->cfg.timeout_ms = (int) n * 1000;
  }
  else if (strcmp (name, "tls") == 0) {
    if (strcmp (v, "require") == 0)
      b = true;
    else if (nbd_parse_bool (v, &b) == -1) {
      return usage_error ("tls: \"%s\": expected require, or " NBD_BOOL_WORDS,
                 v);
    }
    s->cfg.tls.required = s->cfg.tls_required_by_user = b;
  }
  else if (strcmp (name, "tls-certificates") == 0)
    set_str (&s->cfg.tls.certificates, v);
  else if (strcmp (name, "tls-psk") == 0 || strcmp (name, "tls-psk-file") == 0)
    set_str (&s->cfg.tls.psk_file, v);
  else if (strcmp (name, "tls-username") == 0)
    set_str (&s->cfg.tls.username, v);
  else if (strcmp (name, "tls-hostname") == 0)
    set_str (&s->cfg.tls.hostname, v);
  else if (strcmp (name, "tls-verify-peer") == 0) {
    if (nbd_parse_bool (v, &b) == -1) {
      return usage_error ("tls-verify-peer: \"%s\": expected " NBD_BOOL_WORDS, v);
    }
    s->cfg.tls.verify_peer = b;
  }
  else if (strcmp (name, "allow-plaintext") == 0) {
    if (nbd_parse_bool (v, &b) == -1) {
      return usage_error ("allow-plaintext: \"%s\": expected " NBD_BOOL_WORDS, v);
    }
    s->cfg.allow_plaintext = b;
  }
  else if (strcmp (name, "errexit") == 0) {
    if (nbd_parse_bool (v, &b) == -1) {
      return usage_error ("errexit: \"%s\": expected " NBD_BOOL_WORDS, v);
    }
    shell.errexit = b;
  }
  else {
    return usage_error ("unknown setting \"%s\" (try `set' to list them)", name);
  }
  return CMD_OK;
}

static int
do_set (struct session *s, struct args *a)
{
  if (a->argc == 1) {
    show_settings (a->out, s);
    return CMD_OK;
  }
  if (a->argc != 3) {
    return usage_error ("missing value (usage: set NAME VALUE)");
  }
  return apply_setting (s, a->argv[1], a->argv[2]);
}

static int
do_echo (struct session *s, struct args *a)
{
  int i;
  for (i = 1; i < a->argc; i++)
    fprintf (a->out, "%s%s", i > 1 ? " " : "", a->argv[i]);
  fprintf (a->out, "\n");
  return CMD_OK;
}

static int
do_source (struct session *s, struct args *a)
{
  if (!shell.run_file)
    return cmd_error ("scripts cannot be run here");
  return shell.run_file (s, a->argv[1]);
}

static int
do_quit (struct session *s, struct args *a)
{
  shell.quit = true;
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
      const struct flag_def *f = flag_find (a->argv[1]);

      if (f) {
        print_flag_help (a->out, f);
        return CMD_OK;
      }
      if (strcmp (a->argv[1], "flags") == 0) {
        print_flag_list (a->out, false);
        return CMD_OK;
      }
      if (help_element (a->out, a->argv[1]) > 0)
        return CMD_OK;
      return usage_error ("no help for \"%s\" (try `help' for the list)", a->argv[1]);
    }
    print_command_help (a->out, c);
    return CMD_OK;
  }
  fprintf (a->out, "Commands (`help NAME' or `NAME --help' for more):\n");
  for (g = command_groups; *g; g++)
    for (c = *g; c->name; c++) {
      char name[64];
      snprintf (name, sizeof name, "%s%s%s%s", c->name,
                c->alias ? " (" : "", c->alias ? c->alias : "",
                c->alias ? ")" : "");
      fprintf (a->out, "  %-24s %s\n", name, c->summary);
    }
  fprintf (a->out, "Also `help ELEMENT' for a protocol element (NBD_OPT_GO, "
           "NBD_REP_ERR_TLS_REQD),\n`help FLAG-ID' for a flag "
           "(tls-state-kept-sr) and `help flags' for the list.\n");
  return CMD_OK;
}

static int
do_sleep (struct session *s, struct args *a)
{
  char *end;
  double d = strtod (a->argv[1], &end);
  struct timespec ts;

  if (*end || d < 0 || d > 3600) {
    return usage_error ("\"%s\" is not a number of seconds (0 to 3600)", a->argv[1]);
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
    fprintf (a->out, "trace %s\n", shell.disp.trace == 0 ? "off" : shell.disp.trace == 1 ? "on"
            : "hex");
    return CMD_OK;
  }
  if (parse_trace (a->argv[1], &shell.disp.trace) == -1) {
    return usage_error ("\"%s\": expected hex, or " NBD_BOOL_WORDS, a->argv[1]);
  }
  display_attach (&shell.disp, s);
  return CMD_OK;
}

/* record FILE | off: the session from here on, as a replayable script. */
static int
do_record (struct session *s, struct args *a)
{
  char err[512];

  if (a->argc == 1) {
    if (shell.disp.rec.fp)
      fprintf (a->out, "recording to %s\n", shell.disp.rec.path);
    else
      fprintf (a->out, "not recording\n");
    return CMD_OK;
  }
  if (strcmp (a->argv[1], "off") == 0 && !a->quoted[1]) {
    if (!shell.disp.rec.fp)
      return cmd_error ("not recording");
    record_close (&shell.disp.rec);
    display_attach (&shell.disp, s);
    return CMD_OK;
  }
  if (shell.disp.replay)
    return cmd_error ("not while replaying a recording");
  if (record_open (&shell.disp.rec, a->argv[1], s, shell.connect_words, err,
                   sizeof err) == -1)
    return cmd_error ("%s", err);
  display_attach (&shell.disp, s);
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
  v = shell.complete_line ? shell.complete_line (s, line, word) : NULL;
  if (!v)
    return CMD_OK;
  for (i = 0; v[i]; i++) {
    fprintf (a->out, "%s\n", v[i]);
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
    return usage_error ("usage: assert [not] WHAT [VALUE]");
  what = a->argv[i];
  val = i + 1 < a->argc ? a->argv[i + 1] : NULL;

  if (strcmp (what, "reply") == 0) {
    if (!val)
      return usage_error ("assert reply NAME|NUMBER");
    if (nbd_value_of (nbd_rep_names, val, &v) == -1
        && parse_u32 (val, &v) == -1)
      return usage_error ("\"%s\" is not an NBD_REP_* name or number", val);
    ok = s->have_last_reply && s->last_reply == v;
    snprintf (buf, sizeof buf, "the last final reply is %s",
              s->have_last_reply
              ? rep_label (s->last_reply, lbl, sizeof lbl) : "(none)");
  }
  else if (strcmp (what, "phase") == 0) {
    if (!val)
      return usage_error ("assert phase disconnected|negotiating|"
                        "transmission");
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
      return usage_error ("assert flags N");
    ok = s->nflags == n;
    snprintf (buf, sizeof buf, "%u flag(s) raised", s->nflags);
  }
  else if (strcmp (what, "context") == 0) {
    if (!val)
      return usage_error ("assert context NAME");
    ok = false;
    for (k = 0; k < s->cur.nctx; k++)
      if (strcmp (s->cur.ctx[k].name, val) == 0)
        ok = true;
    snprintf (buf, sizeof buf, "%zu context(s) negotiated", s->cur.nctx);
  }
  else if (strcmp (what, "size") == 0) {
    if (!val || parse_u64 (val, &n) == -1)
      return usage_error ("assert size N");
    ok = s->cur.have_export && s->cur.size == n;
    if (s->cur.have_export)
      snprintf (buf, sizeof buf, "the export size is %" PRIu64, s->cur.size);
    else
      snprintf (buf, sizeof buf, "no export has been answered yet (its "
                "size comes with `info' or `go')");
  }
  else if (strcmp (what, "tflag") == 0) {
    if (!val || nbd_value_of (nbd_tflag_names, val, &v) == -1)
      return usage_error ("assert tflag NBD_FLAG_* name");
    ok = s->cur.have_export && (s->cur.tflags & v);
    if (s->cur.have_export)
      snprintf (buf, sizeof buf, "the transmission flags are 0x%04x",
                s->cur.tflags);
    else
      snprintf (buf, sizeof buf, "no export has been answered yet (its "
                "flags come with `info' or `go')");
  }
  else
    return usage_error ("unknown assertion \"%s\" (reply, phase, connected, "
                      "tls, structured-reply, extended-headers, flags, "
                      "context, size, tflag)", what);
  if (ok != neg)
    return CMD_OK;
  return cmd_error ("assertion failed: %s%s%s%s: %s", neg ? "not " : "",
                    what, val ? " " : "", val ? val : "", buf);
}

const struct command session_commands[] = {
  {
    .name = "get",
    .args = "FIELD [NAME]",
    .summary = "print one value, for scripts",
    .help = "FIELD is size (the export's size in bytes, as nbdinfo --size prints\n"
            "it), flags (the transmission flags, in hex), flag NAME (true or false\n"
            "for one transmission flag, e.g. flag SEND_DF), tls-version, contexts\n"
            "(the meta contexts set, one per line), export, phase,\n"
            "structured-reply or extended-headers.  The value is printed alone;\n"
            "with --json as {\"event\":\"value\",\"field\":...,\"value\":...}.\n"
            "Nothing is sent.  Example: nbdcli URI -c 'go; get size'.",
    .min_args = 1,
    .max_args = 2,
    .run = do_get,
  },
  {
    .name = "state",
    .args = "",
    .summary = "show the session as nbdcli models it",
    .help = "Phase, handshake and client flags, TLS (version, cipher, peer), what\n"
            "is negotiated in this TLS epoch (structured replies, extended\n"
            "headers, meta contexts and their ids, the export with its size, flags\n"
            "and block sizes), what was negotiated before the last STARTTLS, and\n"
            "the number of flags raised.",
    .max_args = 0,
    .run = do_state,
  },
  {
    .name = "set",
    .args = "[NAME VALUE]",
    .summary = "change a setting (no argument: list them)",
    .help = "export NAME (default export), client-flags N|auto (sent at the next\n"
            "connect; any bits), timeout SECONDS, tls require|off, tls-certificates\n"
            "DIR, tls-psk FILE, tls-username NAME, tls-hostname NAME,\n"
            "tls-verify-peer yes|no, allow-plaintext on|off (enter transmission\n"
            "without TLS although TLS was asked for), errexit on|off (on, the\n"
            "default: a script stops at its first failing command; off: it goes\n"
            "on, and the exit status still says a command failed).",
    .complete = "s",
    .flags = CMD_TEXT,
    .max_args = 2,
    .run = do_set,
  },
  {
    .name = "assert",
    .args = "[not] WHAT [VALUE]",
    .summary = "fail (exit 1) unless the session is as stated",
    .help = "WHAT: reply NAME|NUMBER (the last final option reply), phase\n"
            "disconnected|negotiating|transmission, connected, tls,\n"
            "structured-reply, extended-headers, flags N (raised so far), context\n"
            "NAME (negotiated), size N (export size), tflag NAME (transmission\n"
            "flag set).  `not' inverts.",
    .min_args = 1,
    .max_args = 3,
    .run = do_assert,
  },
  {
    .name = "echo",
    .args = "[WORDS...]",
    .summary = "print the words",
    .help = "Prints its words as given, separated by one space: options are not\n"
            "read (echo --- and echo -n hi print those words); only a lone\n"
            "echo --help shows this help.",
    .flags = CMD_TEXT | CMD_WORDS,
    .max_args = -1,
    .run = do_echo,
  },
  {
    .name = "source",
    .args = "FILE",
    .summary = "run the commands in FILE",
    .help = "Runs FILE as a script; its errors are located as FILE:LINE:.",
    .complete = "f",
    .min_args = 1,
    .max_args = 1,
    .run = do_source,
  },
  {
    .name = "help",
    .args = "[COMMAND | ELEMENT | FLAG]",
    .summary = "list the commands, explain a command or protocol element",
    .help = "With no argument, lists the commands.  `help COMMAND' explains a\n"
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
    .complete = "h",
    .flags = CMD_TEXT,
    .max_args = 1,
    .run = do_help,
  },
  {
    .name = "sleep",
    .args = "SECONDS",
    .summary = "wait (fractions allowed), e.g. to let a server's unasked bytes arrive",
    .min_args = 1,
    .max_args = 1,
    .run = do_sleep,
  },
  {
    .name = "trace",
    .args = "[on|off|hex]",
    .summary = "show every message field by field (the wire trace)",
    .help = "With trace on, each message sent or received is printed after its\n"
            "summary as a frame: one line per field with its offset, size, name,\n"
            "value and meaning.  `trace hex' adds each field's raw bytes.  Messages\n"
            "inside TLS are marked [inside TLS]; the TLS layer itself is shown when\n"
            "the handshake completes.  Data is shown by its length only.",
    .flags = CMD_TEXT,
    .max_args = 1,
    .run = do_trace,
  },
  {
    .name = "record",
    .args = "[FILE | off]",
    .summary = "record the session as a script that --replay compares",
    .help = "record FILE writes every command from here on as typed, each followed\n"
            "by the messages it sent and received as comments: their text, and one\n"
            "JSON object per message (#json).  The header names the target, the\n"
            "time, nbdcli's version and the TLS settings (file and user names, no\n"
            "secret).  nbdcli -f FILE runs it again; nbdcli --replay FILE [TARGET]\n"
            "runs it and compares what the server sends now with what it sent then.\n"
            "record off stops; record alone says where it records.  `record' and\n"
            "`source' are not recorded themselves (a sourced file's commands are).",
    .complete = "f",
    .flags = CMD_TEXT,
    .max_args = 1,
    .run = do_record,
  },
  {
    .name = "complete",
    .args = "[LINE]",
    .summary = "print the completions of LINE, one per line",
    .help = "What the interactive shell offers on TAB at the end of LINE (quote\n"
            "LINE).  Useful for testing completion without a terminal.",
    .flags = CMD_TEXT,
    .max_args = 1,
    .run = do_complete,
  },
  {
    .name = "quit",
    .alias = "exit",
    .args = "",
    .summary = "leave nbdcli (the connection is closed)",
    .max_args = 0,
    .run = do_quit,
  },
  { .name = NULL }
};
