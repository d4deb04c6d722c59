/* nbdcli - an interactive shell for the NBD protocol.
 * Copyright the nbdcli authors, MIT licence.
 */
#include <config.h>

#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "lineedit.h"
#include "nbdcli.h"
#include "wire.h"

/* Built with AddressSanitizer?  (Tests then skip their memory limits.) */
#if defined (__SANITIZE_ADDRESS__)
#define SANITIZED 1
#elif defined (__has_feature)
#if __has_feature (address_sanitizer)
#define SANITIZED 1
#endif
#endif
#ifndef SANITIZED
#define SANITIZED 0
#endif



static void __attribute__ ((noreturn))
usage (FILE *fp, int status)
{
  fprintf (fp,
"usage: %s [OPTIONS] [URI | HOST[:PORT] | SOCKET-PATH | [ SERVER-CMD ARGS... ]]\n"
"       nbdcli --replay FILE [--ignore FIELD,...] [OPTIONS] [TARGET]\n"
"       nbdcli check [OPTIONS] TARGET... [PROBE...]\n"
"       nbdcli check --list\n"
"\n"
"An interactive shell for the NBD protocol: send each negotiation option\n"
"by hand, see every reply decoded, and get a FLAG when the server breaks\n"
"the protocol.\n"
"\n"
"Options:\n"
"  -c, --command 'CMD; CMD'   run commands and exit (repeatable)\n"
"  -f, --file FILE            run a script (- for stdin) and exit\n"
"  -t, --timeout SECONDS      limit for every wait on the server (10)\n"
"      --client-flags N       client flags to send instead of the derived ones\n"
"      --tls-certificates DIR X.509 credentials (ca-cert.pem, client-cert.pem,\n"
"                             client-key.pem)\n"
"      --tls-psk FILE         PSK keys file (psktool format; also\n"
"                             --tls-psk-file FILE)\n"
"      --tls-username NAME    PSK user name\n"
"      --tls-hostname NAME    name to check in the server's certificate\n"
"      --tls-verify-peer=no   do not verify the server's certificate\n"
"      --json                 one JSON object per line for every event\n"
"  -q, --quiet                print only what `get' prints (and errors)\n"
"      --export NAME          the default export (as `set export NAME')\n"
"      --trace[=hex]          print every message field by field\n"
"      --record FILE          record the session as a script --replay compares\n"
"      --replay FILE          run a recording again (against TARGET if given)\n"
"                             and compare every message with the recorded one\n"
"      --ignore FIELD,...     with --replay: fields or events not compared\n"
"      --pcap FILE            write a pcapng capture of the bytes on the socket\n"
"                             (TLS records, with the TLS secrets to decrypt them)\n"
"      --pcap-plain FILE      write a pcapng capture of the NBD stream (decrypted)\n"
"      --keylog FILE          append the TLS secrets to FILE (NSS key log format)\n"
"      --list-flags           list the catalogue of flags (with --json: JSON)\n"
"      --list                 with check: print the catalogue of probes\n"
"      --jobs N               with check: probes (or targets) at once (4)\n"
"      --targets FILE         with check: audit the targets in FILE too\n"
"      --junit FILE           with check: write JUnit XML to FILE\n"
"      --strict               with check: a WARN fails in JUnit\n"
"      --list-commands        print every interactive command and exit\n"
"      --dump-config          print how nbdcli was built\n"
"  -V, --version              print the version\n"
"  -h, --help                 this help\n"
"\n"
"Without -c or -f, a terminal on stdin gets the interactive shell and\n"
"anything else is read as a script.  Exit status: 0 nothing flagged,\n"
"1 a command failed, 2 usage error, 3 the server was flagged, 4 a replayed\n"
"recording differs.  For check: 0 every applicable probe passed (WARNs\n"
"allowed), 3 a FLAG, 1 the audit could not run, a probe could not, or\n"
"TLS was asked for or offered and not tested, 2 usage, 130 interrupted.\n",
           out_where.progname);
  exit (status);
}

enum {
  OPT_CLIENT_FLAGS = CHAR_MAX + 1,
  OPT_TLS_CERTS, OPT_TLS_PSK, OPT_TLS_USER, OPT_TLS_HOST, OPT_TLS_VERIFY,
  OPT_DUMP_CONFIG, OPT_LIST_COMMANDS, OPT_JSON, OPT_TRACE, OPT_EXPORT, OPT_LIST,
  OPT_JOBS, OPT_TARGETS, OPT_JUNIT, OPT_STRICT,
  OPT_LIST_FLAGS, OPT_PCAP, OPT_PCAP_PLAIN, OPT_KEYLOG, OPT_RECORD,
  OPT_REPLAY, OPT_IGNORE,
};

/* commands/session.c: where `get' prints (see --quiet). */
extern FILE *get_output;

static const struct option long_opts[] = {
  { "command", required_argument, NULL, 'c' },
  { "file", required_argument, NULL, 'f' },
  { "timeout", required_argument, NULL, 't' },
  { "client-flags", required_argument, NULL, OPT_CLIENT_FLAGS },
  { "tls-certificates", required_argument, NULL, OPT_TLS_CERTS },
  { "tls-psk", required_argument, NULL, OPT_TLS_PSK },
  { "tls-psk-file", required_argument, NULL, OPT_TLS_PSK },
  { "tls-username", required_argument, NULL, OPT_TLS_USER },
  { "tls-hostname", required_argument, NULL, OPT_TLS_HOST },
  { "tls-verify-peer", optional_argument, NULL, OPT_TLS_VERIFY },
  { "dump-config", no_argument, NULL, OPT_DUMP_CONFIG },
  { "json", no_argument, NULL, OPT_JSON },
  { "quiet", no_argument, NULL, 'q' },
  { "export", required_argument, NULL, OPT_EXPORT },
  { "list", no_argument, NULL, OPT_LIST },
  { "jobs", required_argument, NULL, OPT_JOBS },
  { "targets", required_argument, NULL, OPT_TARGETS },
  { "junit", required_argument, NULL, OPT_JUNIT },
  { "strict", no_argument, NULL, OPT_STRICT },
  { "trace", optional_argument, NULL, OPT_TRACE },
  { "list-commands", no_argument, NULL, OPT_LIST_COMMANDS },
  { "list-flags", no_argument, NULL, OPT_LIST_FLAGS },
  { "pcap", required_argument, NULL, OPT_PCAP },
  { "pcap-plain", required_argument, NULL, OPT_PCAP_PLAIN },
  { "keylog", required_argument, NULL, OPT_KEYLOG },
  { "record", required_argument, NULL, OPT_RECORD },
  { "replay", required_argument, NULL, OPT_REPLAY },
  { "ignore", required_argument, NULL, OPT_IGNORE },
  { "version", no_argument, NULL, 'V' },
  { "help", no_argument, NULL, 'h' },
  { NULL, 0, NULL, 0 }
};

struct action {
  char kind;                    /* 'c' command, 'f' file */
  const char *arg;
};

/* A server nbdcli started never outlives it: a signal that ends
 * nbdcli stops and reaps the servers first.
 */
static void
on_fatal_signal (int sig)
{
  transport_kill_children ();
  signal (sig, SIG_DFL);
  raise (sig);
}

static void
on_check_sigint (int sig)
{
  (void) sig;
  transport_interrupted = 1;
}

static void
kill_children_at_exit (void)
{
  transport_kill_children ();
}

static void
catch_fatal_signals (void)
{
  static const int sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT };
  struct sigaction sa = { .sa_handler = on_fatal_signal };
  size_t i;

  sigemptyset (&sa.sa_mask);
  for (i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
    sigaddset (&sa.sa_mask, sigs[i]);
  for (i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
    sigaction (sigs[i], &sa, NULL);
  atexit (kill_children_at_exit);
}

/* A usage error: text on stderr, or with --json one JSON object on
 * stdout (cmd_error decides); exit status 2 either way.
 */
static void __attribute__ ((noreturn, format (printf, 1, 2)))
exit_usage (const char *fmt, ...)
{
  va_list ap;
  char *m = NULL;

  va_start (ap, fmt);
  if (vasprintf (&m, fmt, ap) == -1)
    m = NULL;
  va_end (ap);
  out_where.cmd = NULL;
  cmd_error ("%s", m ? m : fmt);
  if (!shell.disp.json)
    fprintf (stderr, "Try `%s --help' for more information.\n",
             out_where.progname);
  free (m);
  exit (CMD_USAGE);
}

/* The captures and the key log are complete files whatever the exit. */
static void
close_evidence (void)
{
  record_close (&shell.disp.rec);
  pcap_close (&shell.disp.pcap);
  pcap_close (&shell.disp.pcap_plain);
  keylog_close (&shell.disp.keylog);
}

static void
open_recording (struct session *s, const char *path)
{
  char err[512];

  if (record_open (&shell.disp.rec, path, s, NULL, err, sizeof err) == -1) {
    out_where.cmd = NULL;
    cmd_error ("%s", err);
    exit (CMD_FAILED);
  }
  display_attach (&shell.disp, s);
}

static void
list_commands (void)
{
  const struct command *const *g;
  const struct command *c;

  for (g = command_groups; *g; g++)
    for (c = *g; c->name; c++)
      printf ("%s\n", c->name);
}

/* What the command line asks for. */
struct run {
  struct action *acts;          /* -c and -f, in order */
  size_t nacts;
  char **av;                    /* the words but "[ SERVER-CMD ... ]" */
  int ac;
  char **server;                /* SERVER-CMD ARGS..., or NULL */
  int nserver;
  const char *target;
  bool check_mode, check_list, check_targets;
  char *check_optname[9], *check_optval[9]; /* check's own options */
  int ncheck_opts;
  int first_id;                 /* the first word after the target */
  bool quiet, list_flags;
  const char *pcap_path, *pcap_plain_path, *keylog_path;
  const char *record_path, *replay_path;
  char **ignore;                /* --ignore FIELD... */
  size_t nignore;
};

/* "[ SERVER-CMD ARGS... ]" is taken out before option parsing: all of
 * it belongs to the server.
 */
static void
split_server_command (int argc, char **argv, struct run *r)
{
  int i;

  r->av = xcalloc (argc + 1, sizeof (char *));
  r->acts = xcalloc (argc + 1, sizeof *r->acts);
  r->ignore = xcalloc (argc + 1, sizeof *r->ignore);
  for (i = 0; i < argc; i++) {
    if (i > 0 && !r->server && strcmp (argv[i], "[") == 0) {
      int j;
      for (j = i + 1; j < argc && strcmp (argv[j], "]") != 0; j++)
        ;
      if (j >= argc) {
        exit_usage ("\"[\" without a matching \"]\"");
      }
      if (j == i + 1) {
        exit_usage ("empty server command \"[ ]\"");
      }
      r->server = argv + i + 1;
      r->nserver = j - i - 1;
      i = j;
      continue;
    }
    r->av[r->ac++] = argv[i];
  }

}

/* The options, into R and the session's settings. */
static void
parse_options (struct run *r, struct session *s)
{
  int c;
  bool b;

  r->av[0] = (char *) out_where.progname;
  opterr = 0;                   /* errors are reported by usage_error */
  while ((c = getopt_long (r->ac, r->av, ":c:f:t:qVh", long_opts, NULL)) != -1) {
    switch (c) {
    case 'c':
    case 'f':
      r->acts[r->nacts].kind = c;
      r->acts[r->nacts++].arg = optarg;
      break;
    case 't':
      if (apply_setting (s, "timeout", optarg) != CMD_OK)
        exit (CMD_USAGE);
      break;
    case OPT_CLIENT_FLAGS:
      if (apply_setting (s, "client-flags", optarg) != CMD_OK)
        exit (CMD_USAGE);
      break;
    case OPT_TLS_CERTS:
      apply_setting (s, "tls-certificates", optarg);
      break;
    case OPT_TLS_PSK:
      apply_setting (s, "tls-psk", optarg);
      break;
    case OPT_TLS_USER:
      apply_setting (s, "tls-username", optarg);
      break;
    case OPT_TLS_HOST:
      apply_setting (s, "tls-hostname", optarg);
      break;
    case OPT_TLS_VERIFY:
      /* --tls-verify-peer no as well as --tls-verify-peer=no. */
      if (!optarg && optind < r->ac && nbd_parse_bool (r->av[optind], &b) == 0)
        optarg = r->av[optind++];
      if (apply_setting (s, "tls-verify-peer", optarg ? optarg : "yes")
          != CMD_OK)
        exit (CMD_USAGE);
      break;
    case OPT_JSON:
      shell.disp.json = true;
      break;
    case 'q':
      r->quiet = true;
      break;
    case OPT_EXPORT:
      apply_setting (s, "export", optarg);
      break;
    case OPT_LIST:
      r->check_list = true;
      break;
    /* check's own options, handed to it as `check --NAME VALUE'. */
    case OPT_JOBS:
    case OPT_TARGETS:
    case OPT_JUNIT:
    case OPT_STRICT:
      if (r->ncheck_opts < 8) {
        r->check_optname[r->ncheck_opts] = (char *)
          (c == OPT_JOBS ? "--jobs" : c == OPT_TARGETS ? "--targets"
           : c == OPT_JUNIT ? "--junit" : "--strict");
        r->check_optval[r->ncheck_opts++] = c == OPT_STRICT ? NULL : optarg;
      }
      if (c == OPT_TARGETS)
        r->check_targets = true;
      break;
    case OPT_TRACE:
      /* --trace, --trace=hex, --trace hex, --trace=off, ... */
      if (!optarg && optind < r->ac
          && (strcasecmp (r->av[optind], "hex") == 0
              || nbd_parse_bool (r->av[optind], &b) == 0))
        optarg = r->av[optind++];
      if (!optarg)
        shell.disp.trace = 1;
      else if (strcasecmp (optarg, "hex") == 0)
        shell.disp.trace = 2;
      else if (nbd_parse_bool (optarg, &b) == 0)
        shell.disp.trace = b;
      else {
        exit_usage ("--trace=%s: expected hex, or " NBD_BOOL_WORDS, optarg);
      }
      break;
    case OPT_DUMP_CONFIG:
      printf ("version=%s\nlineedit=%s\ntls=gnutls\nsanitizers=%s\n",
              PACKAGE_VERSION, le_name (), SANITIZED ? "yes" : "no");
      exit (0);
    case OPT_LIST_COMMANDS:
      list_commands ();
      exit (0);
    case OPT_LIST_FLAGS:
      r->list_flags = true;
      break;
    case OPT_PCAP:
      r->pcap_path = optarg;
      break;
    case OPT_PCAP_PLAIN:
      r->pcap_plain_path = optarg;
      break;
    case OPT_KEYLOG:
      r->keylog_path = optarg;
      break;
    case OPT_RECORD:
      r->record_path = optarg;
      break;
    case OPT_REPLAY:
      r->replay_path = optarg;
      break;
    case OPT_IGNORE:
      r->ignore[r->nignore++] = optarg;
      break;
    case 'V':
      printf ("nbdcli %s\n", PACKAGE_VERSION);
      exit (0);
    case 'h':
      usage (stdout, 0);
    case ':':
      if (optopt && optopt < CHAR_MAX && strncmp (r->av[optind - 1], "--", 2))
        exit_usage ("option -%c needs a value", optopt);
      exit_usage ("option %s needs a value", r->av[optind - 1]);
    default:
      if (optopt && optopt < CHAR_MAX)
        exit_usage ("unknown option -%c", optopt);
      exit_usage ("unknown or ambiguous option %s", r->av[optind - 1]);
    }
  }
}

/* What must be in place before anything happens: --quiet's stdout,
 * --list-flags, colour and the evidence files.
 */
static void
prepare_output (struct run *r)
{
  /* --quiet: standard output carries only what `get' prints; the
   * exchange goes to /dev/null (errors still go to stderr).  With --json
   * every line is an event anyway: nothing to hide.
   */
  if (r->quiet && !shell.disp.json) {
    int keep, null;

    fflush (stdout);
    keep = fcntl (STDOUT_FILENO, F_DUPFD_CLOEXEC, 3);
    null = open ("/dev/null", O_WRONLY | O_CLOEXEC);
    if (keep == -1 || null == -1 || !(get_output = fdopen (keep, "w"))
        || dup2 (null, STDOUT_FILENO) == -1) {
      perror ("nbdcli: --quiet");
      exit (CMD_FAILED);
    }
    close (null);
    setvbuf (get_output, NULL, _IOLBF, 0);
  }
  if (r->list_flags) {
    print_flag_list (stdout, shell.disp.json);
    exit (0);
  }
  /* Colour only for a person: a terminal, no NO_COLOR, no JSON. */
  shell.disp.color = isatty (1) && !getenv ("NO_COLOR") && !shell.disp.json
    && getenv ("TERM") && strcmp (getenv ("TERM"), "dumb") != 0;
  /* The evidence files, opened before anything happens. */
  {
    char err[512];

    if ((r->pcap_path && pcap_open (&shell.disp.pcap, r->pcap_path, false, err,
                                 sizeof err) == -1)
        || (r->pcap_plain_path && pcap_open (&shell.disp.pcap_plain,
                                          r->pcap_plain_path, true, err,
                                          sizeof err) == -1)
        || (r->keylog_path && keylog_open (&shell.disp.keylog, r->keylog_path, err,
                                        sizeof err) == -1)) {
      out_where.cmd = NULL;
      cmd_error ("%s", err);
      exit (CMD_FAILED);
    }
    atexit (close_evidence);
  }
}

/* nbdcli check TARGET... [PROBE...]: the audit instead of a session. */
static int
run_check_mode (struct run *r, struct session *s)
{
  struct args a = { 0 };
  int status;
  char *opt_list = (char *) "--list";
  char *argv_check[256];
  bool quoted[256] = { false };
  int n = 0, k;
  struct nbd_target t;
  char err[512];

  argv_check[n++] = (char *) "check";
  for (k = r->first_id; k < r->ac && n < 255; k++)
    argv_check[n++] = r->av[k];
  argv_check[n] = NULL;
  a.out = stdout;
  a.argc = n;
  a.argv = argv_check;
  a.quoted = quoted;
  if (r->check_list) {
    r->check_optname[r->ncheck_opts] = opt_list;
    r->check_optval[r->ncheck_opts++] = NULL;
  }
  a.nopts = r->ncheck_opts;
  a.optname = r->check_optname;
  a.optval = r->check_optval;
  if (!r->check_list && (r->server || r->target || !r->check_targets)) {
    if (r->server)
      nbd_target_command (r->nserver, r->server, &t);
    else if (!r->target) {
      exit_usage ("check: no target");
    }
    else if (nbd_parse_target (r->target, &t, err, sizeof err) == -1) {
      exit_usage ("%s", err);
    }
    session_set_target (s, &t);
  }
  out_where.cmd = "check";
  {
    /* Ctrl-C stops the audit, which then prints what ran. */
    struct sigaction sa = { .sa_handler = on_check_sigint };
    sigemptyset (&sa.sa_mask);
    sigaction (SIGINT, &sa, NULL);
  }
  status = run_check (s, &a, 1);
  if (status != CMD_USAGE && status != 130 && shell.audit_flags > 0)
    status = 3;
  return status;
}

int
main (int argc, char *argv[])
{
  struct session s;
  struct run run = { 0 }, *r = &run;
  int i, status = CMD_OK;
  bool connect_failed = false;

  signal (SIGPIPE, SIG_IGN);
  catch_fatal_signals ();
  session_init (&s);
  atexit (tls_creds_cache_clear);
  shell.run_file = run_file;
  shell.complete_line = complete_line;

  /* --json anywhere (outside "[ ... ]") makes every error JSON, even one
   * about an option before it.
   */
  for (i = 1; i < argc && strcmp (argv[i], "--") != 0; i++) {
    if (strcmp (argv[i], "[") == 0) {
      int j = i;
      while (j < argc && strcmp (argv[j], "]") != 0)
        j++;
      if (j < argc)
        i = j;                  /* unmatched: an error, still in JSON */
    }
    else if (strcmp (argv[i], "--json") == 0)
      shell.disp.json = true;
  }

  split_server_command (argc, argv, r);
  parse_options (r, &s);
  prepare_output (r);
  /* The one place where the session's sink is chosen. */
  display_attach (&shell.disp, &s);

  if (optind < r->ac && strcmp (r->av[optind], "check") == 0) {
    r->check_mode = true;
    optind++;
  }
  if (optind < r->ac && !(r->check_mode && (r->server || r->check_list)))
    r->target = r->av[optind++];
  r->first_id = optind;
  if ((!r->check_mode && optind < r->ac) || (r->target && r->server)) {
    exit_usage ("more than one target: %s and %s", r->target ? r->target : "[ ... ]",
                 optind < r->ac ? r->av[optind] : "[ ... ]");
  }

  if (r->nignore && !r->replay_path)
    exit_usage ("--ignore is for --replay");
  if (r->replay_path && (r->check_mode || r->nacts || r->record_path))
    exit_usage ("--replay runs the recording's commands: no %s",
                r->check_mode ? "check" : r->nacts ? "-c or -f" : "--record");
  /* The target as `connect' takes it: for recordings and --replay. */
  if (r->server) {
    char **w = xcalloc (r->nserver + 3, sizeof *w);

    w[0] = (char *) "[";
    memcpy (w + 1, r->server, r->nserver * sizeof *w);
    w[r->nserver + 1] = (char *) "]";
    shell.connect_words = quote_words (r->nserver + 2, w);
    free (w);
  }
  else if (r->target)
    shell.connect_words = quote_words (1, (char **) &r->target);

  if (r->replay_path) {
    if (r->target) {
      /* Checked now: a bad target is a usage error before anything. */
      struct nbd_target t;
      char err[512];

      if (nbd_parse_target (r->target, &t, err, sizeof err) == -1)
        exit_usage ("%s", err);
      nbd_target_free (&t);
    }
    status = run_replay (&s, r->replay_path, shell.connect_words, r->ignore,
                         r->nignore);
    if (status == CMD_FAILED)
      status = 1;
    session_free (&s);
    free (shell.connect_words);
    free (r->av);
    free (r->acts);
    free (r->ignore);
    return status;
  }
  free (r->ignore);

  if (r->record_path && r->check_mode)
    exit_usage ("--record records a session, not check");

  if (r->check_mode) {
    status = run_check_mode (r, &s);
    session_free (&s);
    free (r->av);
    free (r->acts);
    return status;
  }

  if (r->target || r->server) {
    struct nbd_target t;
    char err[512];

    if (r->server)
      nbd_target_command (r->nserver, r->server, &t);
    else if (nbd_parse_target (r->target, &t, err, sizeof err) == -1) {
      exit_usage ("%s", err);
    }
    session_set_target (&s, &t);
    if (r->record_path) {
      /* The connection is the recording's first command. */
      char *line;

      open_recording (&s, r->record_path);
      if (asprintf (&line, "connect %s", shell.connect_words) == -1)
        abort ();
      record_command (&shell.disp.rec, line);
      free (line);
    }
    if (session_connect (&s) == -1)
      connect_failed = true;
  }

  if (r->record_path && !shell.disp.rec.fp)
    open_recording (&s, r->record_path);

  if (r->nacts == 0 && isatty (0)) {
    run_interactive (&s);
    status = CMD_OK;
  }
  else if (connect_failed)
    status = CMD_FAILED;
  else if (r->nacts == 0)
    status = run_stream (&s, stdin, "<stdin>");
  else {
    size_t k;
    for (k = 0; k < r->nacts && !shell.quit; k++) {
      int st = r->acts[k].kind == 'c' ? run_line (&s, r->acts[k].arg)
        : run_file (&s, r->acts[k].arg);
      if (st != CMD_OK && shell.errexit) {
        status = st;
        break;
      }
    }
  }
  /* With `set errexit off' the run went on: a failure still counts. */
  if (status == CMD_OK && !shell.interactive)
    status = shell.worst;

  if (status != CMD_USAGE && (s.nflags > 0 || shell.audit_flags > 0
                              || shell_other_flags (&s) > 0))
    status = 3;
  fflush (stdout);
  shell_free_conns ();
  session_free (&s);
  free (r->av);
  free (r->acts);
  return status;
}
