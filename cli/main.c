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
"       nbdcli check [OPTIONS] TARGET [PROBE...]\n"
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
"      --list-flags           list the catalogue of flags (with --json: JSON)\n"
"      --list                 with check: print the catalogue of probes\n"
"      --list-commands        print every interactive command and exit\n"
"      --dump-config          print how nbdcli was built\n"
"  -V, --version              print the version\n"
"  -h, --help                 this help\n"
"\n"
"Without -c or -f, a terminal on stdin gets the interactive shell and\n"
"anything else is read as a script.  Exit status: 0 nothing flagged,\n"
"1 a command failed, 2 usage error, 3 the server was flagged.\n",
           out_where.progname);
  exit (status);
}

enum {
  OPT_CLIENT_FLAGS = CHAR_MAX + 1,
  OPT_TLS_CERTS, OPT_TLS_PSK, OPT_TLS_USER, OPT_TLS_HOST, OPT_TLS_VERIFY,
  OPT_DUMP_CONFIG, OPT_LIST_COMMANDS, OPT_JSON, OPT_TRACE, OPT_EXPORT, OPT_LIST,
  OPT_LIST_FLAGS,
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
  { "trace", optional_argument, NULL, OPT_TRACE },
  { "list-commands", no_argument, NULL, OPT_LIST_COMMANDS },
  { "list-flags", no_argument, NULL, OPT_LIST_FLAGS },
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
  bool quiet = false, list_flags = false;
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
      a.nopts = 1;
      a.optname = &opt_list;
      a.optval = (char *[]) { NULL };
    }
    if (!check_list) {
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
    if (session_connect (&s) == -1)
      connect_failed = true;
  }

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

  if (status != CMD_USAGE && (s.nflags > 0 || shell.audit_flags > 0
                              || shell_other_flags (&s) > 0))
    status = 3;
  fflush (stdout);
  shell_free_conns ();
  session_free (&s);
  free (av);
  free (acts);
  return status;
}
