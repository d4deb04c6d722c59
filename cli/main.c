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

int
main (int argc, char *argv[])
{
  struct session s;
  struct action *acts;
  size_t nacts = 0;
  char **av, **server = NULL;
  int ac = 0, nserver = 0, i, c, status = CMD_OK;
  const char *target = NULL;
  bool connect_failed = false, check_list = false, check_mode = false;
  char *check_optname[9], *check_optval[9];
  int ncheck_opts = 0;
  bool check_targets = false;
  bool quiet = false, list_flags = false;
  const char *pcap_path = NULL, *pcap_plain_path = NULL, *keylog_path = NULL;
  const char *record_path = NULL, *replay_path = NULL;
  char **ignore;
  size_t nignore = 0;
  int first_id = 0;
  bool b;

  signal (SIGPIPE, SIG_IGN);
  catch_fatal_signals ();
  session_init (&s);
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

  /* "[ SERVER-CMD ARGS... ]" is taken out before option parsing: all of
   * it belongs to the server.
   */
  av = xcalloc (argc + 1, sizeof (char *));
  acts = xcalloc (argc + 1, sizeof *acts);
  ignore = xcalloc (argc + 1, sizeof *ignore);
  for (i = 0; i < argc; i++) {
    if (i > 0 && !server && strcmp (argv[i], "[") == 0) {
      int j;
      for (j = i + 1; j < argc && strcmp (argv[j], "]") != 0; j++)
        ;
      if (j >= argc) {
        exit_usage ("\"[\" without a matching \"]\"");
      }
      if (j == i + 1) {
        exit_usage ("empty server command \"[ ]\"");
      }
      server = argv + i + 1;
      nserver = j - i - 1;
      i = j;
      continue;
    }
    av[ac++] = argv[i];
  }

  av[0] = (char *) out_where.progname;
  opterr = 0;                   /* errors are reported by usage_error */
  while ((c = getopt_long (ac, av, ":c:f:t:qVh", long_opts, NULL)) != -1) {
    switch (c) {
    case 'c':
    case 'f':
      acts[nacts].kind = c;
      acts[nacts++].arg = optarg;
      break;
    case 't':
      if (apply_setting (&s, "timeout", optarg) != CMD_OK)
        exit (CMD_USAGE);
      break;
    case OPT_CLIENT_FLAGS:
      if (apply_setting (&s, "client-flags", optarg) != CMD_OK)
        exit (CMD_USAGE);
      break;
    case OPT_TLS_CERTS:
      apply_setting (&s, "tls-certificates", optarg);
      break;
    case OPT_TLS_PSK:
      apply_setting (&s, "tls-psk", optarg);
      break;
    case OPT_TLS_USER:
      apply_setting (&s, "tls-username", optarg);
      break;
    case OPT_TLS_HOST:
      apply_setting (&s, "tls-hostname", optarg);
      break;
    case OPT_TLS_VERIFY:
      /* --tls-verify-peer no as well as --tls-verify-peer=no. */
      if (!optarg && optind < ac && nbd_parse_bool (av[optind], &b) == 0)
        optarg = av[optind++];
      if (apply_setting (&s, "tls-verify-peer", optarg ? optarg : "yes")
          != CMD_OK)
        exit (CMD_USAGE);
      break;
    case OPT_JSON:
      shell.disp.json = true;
      break;
    case 'q':
      quiet = true;
      break;
    case OPT_EXPORT:
      apply_setting (&s, "export", optarg);
      break;
    case OPT_LIST:
      check_list = true;
      break;
    /* check's own options, handed to it as `check --NAME VALUE'. */
    case OPT_JOBS:
    case OPT_TARGETS:
    case OPT_JUNIT:
    case OPT_STRICT:
      if (ncheck_opts < 8) {
        check_optname[ncheck_opts] = (char *)
          (c == OPT_JOBS ? "--jobs" : c == OPT_TARGETS ? "--targets"
           : c == OPT_JUNIT ? "--junit" : "--strict");
        check_optval[ncheck_opts++] = c == OPT_STRICT ? NULL : optarg;
      }
      if (c == OPT_TARGETS)
        check_targets = true;
      break;
    case OPT_TRACE:
      /* --trace, --trace=hex, --trace hex, --trace=off, ... */
      if (!optarg && optind < ac
          && (strcasecmp (av[optind], "hex") == 0
              || nbd_parse_bool (av[optind], &b) == 0))
        optarg = av[optind++];
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
      list_flags = true;
      break;
    case OPT_PCAP:
      pcap_path = optarg;
      break;
    case OPT_PCAP_PLAIN:
      pcap_plain_path = optarg;
      break;
    case OPT_KEYLOG:
      keylog_path = optarg;
      break;
    case OPT_RECORD:
      record_path = optarg;
      break;
    case OPT_REPLAY:
      replay_path = optarg;
      break;
    case OPT_IGNORE:
      ignore[nignore++] = optarg;
      break;
    case 'V':
      printf ("nbdcli %s\n", PACKAGE_VERSION);
      exit (0);
    case 'h':
      usage (stdout, 0);
    case ':':
      if (optopt && optopt < CHAR_MAX && strncmp (av[optind - 1], "--", 2))
        exit_usage ("option -%c needs a value", optopt);
      exit_usage ("option %s needs a value", av[optind - 1]);
    default:
      if (optopt && optopt < CHAR_MAX)
        exit_usage ("unknown option -%c", optopt);
      exit_usage ("unknown or ambiguous option %s", av[optind - 1]);
    }
  }
  /* --quiet: standard output carries only what `get' prints; the
   * exchange goes to /dev/null (errors still go to stderr).  With --json
   * every line is an event anyway: nothing to hide.
   */
  if (quiet && !shell.disp.json) {
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
  if (list_flags) {
    print_flag_list (stdout, shell.disp.json);
    exit (0);
  }
  /* Colour only for a person: a terminal, no NO_COLOR, no JSON. */
  shell.disp.color = isatty (1) && !getenv ("NO_COLOR") && !shell.disp.json
    && getenv ("TERM") && strcmp (getenv ("TERM"), "dumb") != 0;
  /* The evidence files, opened before anything happens. */
  {
    char err[512];

    if ((pcap_path && pcap_open (&shell.disp.pcap, pcap_path, false, err,
                                 sizeof err) == -1)
        || (pcap_plain_path && pcap_open (&shell.disp.pcap_plain,
                                          pcap_plain_path, true, err,
                                          sizeof err) == -1)
        || (keylog_path && keylog_open (&shell.disp.keylog, keylog_path, err,
                                        sizeof err) == -1)) {
      out_where.cmd = NULL;
      cmd_error ("%s", err);
      exit (CMD_FAILED);
    }
    atexit (close_evidence);
  }
  /* The one place where the session's sink is chosen. */
  display_attach (&shell.disp, &s);

  if (optind < ac && strcmp (av[optind], "check") == 0) {
    check_mode = true;
    optind++;
  }
  if (optind < ac && !(check_mode && (server || check_list)))
    target = av[optind++];
  first_id = optind;
  if ((!check_mode && optind < ac) || (target && server)) {
    exit_usage ("more than one target: %s and %s", target ? target : "[ ... ]",
                 optind < ac ? av[optind] : "[ ... ]");
  }

  if (nignore && !replay_path)
    exit_usage ("--ignore is for --replay");
  if (replay_path && (check_mode || nacts || record_path))
    exit_usage ("--replay runs the recording's commands: no %s",
                check_mode ? "check" : nacts ? "-c or -f" : "--record");
  /* The target as `connect' takes it: for recordings and --replay. */
  if (server) {
    char **w = xcalloc (nserver + 3, sizeof *w);

    w[0] = (char *) "[";
    memcpy (w + 1, server, nserver * sizeof *w);
    w[nserver + 1] = (char *) "]";
    shell.connect_words = quote_words (nserver + 2, w);
    free (w);
  }
  else if (target)
    shell.connect_words = quote_words (1, (char **) &target);

  if (replay_path) {
    if (target) {
      /* Checked now: a bad target is a usage error before anything. */
      struct nbd_target t;
      char err[512];

      if (nbd_parse_target (target, &t, err, sizeof err) == -1)
        exit_usage ("%s", err);
      nbd_target_free (&t);
    }
    status = run_replay (&s, replay_path, shell.connect_words, ignore,
                         nignore);
    if (status == CMD_FAILED)
      status = 1;
    session_free (&s);
    free (shell.connect_words);
    free (av);
    free (acts);
    free (ignore);
    return status;
  }
  free (ignore);

  if (record_path && check_mode)
    exit_usage ("--record records a session, not check");

  if (check_mode) {
    /* nbdcli check TARGET [PROBE...]: the audit instead of a session. */
    struct args a = { 0 };
    char *opt_list = (char *) "--list";
    char *argv_check[256];
    bool quoted[256] = { false };
    int n = 0, k;
    struct nbd_target t;
    char err[512];

    argv_check[n++] = (char *) "check";
    for (k = first_id; k < ac && n < 255; k++)
      argv_check[n++] = av[k];
    argv_check[n] = NULL;
    a.out = stdout;
    a.argc = n;
    a.argv = argv_check;
    a.quoted = quoted;
    if (check_list) {
      check_optname[ncheck_opts] = opt_list;
      check_optval[ncheck_opts++] = NULL;
    }
    a.nopts = ncheck_opts;
    a.optname = check_optname;
    a.optval = check_optval;
    if (!check_list && (server || target || !check_targets)) {
      if (server)
        nbd_target_command (nserver, server, &t);
      else if (!target) {
        exit_usage ("check: no target");
      }
      else if (nbd_parse_target (target, &t, err, sizeof err) == -1) {
        exit_usage ("%s", err);
      }
      session_set_target (&s, &t);
    }
    out_where.cmd = "check";
    {
      /* Ctrl-C stops the audit, which then prints what ran. */
      struct sigaction sa = { .sa_handler = on_check_sigint };
      sigemptyset (&sa.sa_mask);
      sigaction (SIGINT, &sa, NULL);
    }
    status = run_check (&s, &a, 1);
    if (status != CMD_USAGE && status != 130 && shell.audit_flags > 0)
      status = 3;
    session_free (&s);
    free (av);
    free (acts);
    return status;
  }

  if (target || server) {
    struct nbd_target t;
    char err[512];

    if (server)
      nbd_target_command (nserver, server, &t);
    else if (nbd_parse_target (target, &t, err, sizeof err) == -1) {
      exit_usage ("%s", err);
    }
    session_set_target (&s, &t);
    if (record_path) {
      /* The connection is the recording's first command. */
      char *line;

      open_recording (&s, record_path);
      if (asprintf (&line, "connect %s", shell.connect_words) == -1)
        abort ();
      record_command (&shell.disp.rec, line);
      free (line);
    }
    if (session_connect (&s) == -1)
      connect_failed = true;
  }

  if (record_path && !shell.disp.rec.fp)
    open_recording (&s, record_path);

  if (nacts == 0 && isatty (0)) {
    run_interactive (&s);
    status = CMD_OK;
  }
  else if (connect_failed)
    status = CMD_FAILED;
  else if (nacts == 0)
    status = run_stream (&s, stdin, "<stdin>");
  else {
    size_t k;
    for (k = 0; k < nacts && !shell.quit; k++) {
      int r = acts[k].kind == 'c' ? run_line (&s, acts[k].arg)
        : run_file (&s, acts[k].arg);
      if (r != CMD_OK && shell.errexit) {
        status = r;
        break;
      }
    }
  }
  /* With `set errexit off' the run went on: a failure still counts. */
  if (status == CMD_OK && !shell.interactive)
    status = shell.worst;

  if (status != CMD_USAGE && (s.nflags > 0 || shell.audit_flags > 0))
    status = 3;
  fflush (stdout);
  session_free (&s);
  free (av);
  free (acts);
  return status;
}
