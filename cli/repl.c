/* nbdcli - running commands: one line, a script, the interactive loop.
 * Copyright the nbdcli authors, MIT licence.
 */
#include <config.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include "lineedit.h"
#include "nbdcli.h"
#include "tokenize.h"
#include "xmit.h"

/* Runs the commands of one line.  Returns the status of the first
 * failing command that stops the run (or 0); in interactive mode
 * every command runs.
 */
int
run_line (struct session *s, const char *line)
{
  struct cmdline *cmds;
  size_t n, i;
  const char *err;
  int ret = CMD_OK;

  if (tokenize (line, false, &cmds, &n, NULL, &err) == -1) {
    out_where.cmd = NULL;
    cmd_error ("%s", err);
    return CMD_USAGE;
  }
  for (i = 0; i < n && !shell.quit; i++) {
    int r;

    transport_interrupted = 0;
    /* A recording gets the command as typed, then its events; not
     * `record' itself, nor `source' (the commands it runs are).
     */
    if (shell.disp.rec.fp && strcmp (cmds[i].argv[0], "record") != 0
        && strcmp (cmds[i].argv[0], "source") != 0)
      record_command (&shell.disp.rec, cmds[i].text);
    r = dispatch (s, cmds[i].argc, cmds[i].argv, cmds[i].quoted);
    out_where.cmd = NULL;
    if (r != CMD_OK && !cmds[i].ignore_error) {
      if (ret != CMD_USAGE)
        ret = r;
      if (r > shell.worst)
        shell.worst = r;
      if (shell.errexit && (!shell.interactive || out_where.file))
        break;
    }
  }
  cmdlines_free (cmds, n);
  return ret;
}

int
run_stream (struct session *s, void *vfp, const char *name)
{
  FILE *fp = vfp;
  char *line = NULL;
  size_t cap = 0;
  ssize_t len;
  const char *old_file = out_where.file;
  int old_line = out_where.line, ret = CMD_OK, lineno = 0;

  while (!shell.quit && (len = getline (&line, &cap, fp)) != -1) {
    int r;

    lineno++;
    if (len > 0 && line[len - 1] == '\n')
      line[--len] = '\0';
    /* #!/usr/bin/env -S nbdcli -f on the first line is a comment. */
    out_where.file = name;
    out_where.line = lineno;
    r = run_line (s, line);
    if (r != CMD_OK) {
      if (ret != CMD_USAGE)
        ret = r;
      if (shell.errexit)
        break;
    }
  }
  free (line);
  out_where.file = old_file;
  out_where.line = old_line;
  return ret;
}

int
run_file (struct session *s, const char *path)
{
  FILE *fp;
  int r;

  if (shell.source_depth >= 16)
    return cmd_error ("%s: scripts nested too deeply", path);
  if (strcmp (path, "-") == 0)
    return run_stream (s, stdin, "<stdin>");
  fp = fopen (path, "r");
  if (!fp)
    return cmd_error ("%s: %s", path, strerror (errno));
  shell.source_depth++;
  r = run_stream (s, fp, path);
  shell.source_depth--;
  fclose (fp);
  return r;
}

/* nbd[PHASE tls sr eh N in flight]>, with nbd:NAME[...]> when the
 * shell holds several connections.
 */
char *
make_prompt (struct session *main)
{
  char buf[192], fl[32] = "";
  const struct session *s = shell_session (main);
  const char *ph = s->phase == PHASE_DISCONNECTED ? "disconnected"
    : s->phase == PHASE_OPTIONS ? "negotiating" : "transmission";
  const char *name = shell_conn_name ();

  if (s->nflight)
    snprintf (fl, sizeof fl, " %zu in flight", s->nflight);
  snprintf (buf, sizeof buf, "nbd%s%s[%s%s%s%s%s]> ", name ? ":" : "",
            name ? name : "", ph,
            s->tls_up ? " tls" : "",
            s->phase != PHASE_DISCONNECTED && s->cur.sr ? " sr" : "",
            s->phase != PHASE_DISCONNECTED && s->cur.eh ? " eh" : "", fl);
  return xstrdup (buf);
}

/* Whether le_readline is waiting for a line, and stdout a terminal. */
static volatile sig_atomic_t at_prompt;
static bool stdout_tty;

static void
on_sigint (int sig)
{
  (void) sig;
  transport_interrupted = 1;
  if (at_prompt)
    le_sigint_pending = 1;      /* the line editor drops the line */
  else if (stdout_tty) {
    /* A wait cancelled: what follows (its message, then the prompt)
     * starts on a new line, not after the terminal's "^C".
     */
    ssize_t r = write (STDOUT_FILENO, "\n", 1);
    (void) r;
  }
}

/* SIGHUP (the terminal closed) and SIGTERM in the shell: the history
 * is saved and the servers stopped before nbdcli dies of the signal.
 * At the prompt the line editor is blocked in read(2), so saving from
 * the handler is safe; during a command the wait is cancelled and the
 * loop saves and dies when the command returns.
 */
static volatile sig_atomic_t fatal_pending;
static struct termios saved_tty;
static bool have_tty;

static void __attribute__ ((noreturn))
die_of (int sig)
{
  transport_kill_children ();
  if (have_tty)
    tcsetattr (STDIN_FILENO, TCSANOW, &saved_tty);
  signal (sig, SIG_DFL);
  raise (sig);
  _exit (128 + sig);
}

static void
on_fatal (int sig)
{
  if (at_prompt) {
    le_save_history ();
    die_of (sig);
  }
  fatal_pending = sig;
  transport_interrupted = 1;
}

static char *
history_file (void)
{
  const char *e = getenv ("NBDCLI_HISTFILE");
  const char *state = getenv ("XDG_STATE_HOME");
  const char *home = getenv ("HOME");
  char *r = NULL;

  if (e)
    return *e ? strdup (e) : NULL;
  if (state && *state) {
    if (asprintf (&r, "%s/nbdcli/history", state) == -1)
      return NULL;
  }
  else if (home && *home) {
    if (asprintf (&r, "%s/.local/state/nbdcli/history", home) == -1)
      return NULL;
  }
  return r;
}

/* The line editor completes for the shell's session. */
static struct session *repl_session;

static char **
repl_complete (const char *line_to_cursor, const char *word)
{
  return complete_line (shell_session (repl_session), line_to_cursor, word);
}

int
run_interactive (struct session *s)
{
  struct sigaction sa = { .sa_handler = on_sigint };
  char *hist = history_file ();
  int last = CMD_OK;

  struct sigaction fa = { .sa_handler = on_fatal };

  shell.interactive = true;
  stdout_tty = isatty (STDOUT_FILENO);
  have_tty = tcgetattr (STDIN_FILENO, &saved_tty) == 0;
  sigemptyset (&sa.sa_mask);
  sigaction (SIGINT, &sa, NULL);
  sigemptyset (&fa.sa_mask);
  sigaddset (&fa.sa_mask, SIGINT);
  sigaction (SIGHUP, &fa, NULL);
  sigaction (SIGTERM, &fa, NULL);
  le_init (hist);
  repl_session = s;
  le_set_completer (repl_complete);
  while (!shell.quit && !fatal_pending) {
    char *prompt;
    char *line;

    /* Replies to requests in flight that arrived meanwhile are shown
     * before the prompt.
     */
    transport_interrupted = 0;
    if (shell_session (s)->nflight > 0)
      session_poll (shell_session (s));
    prompt = make_prompt (s);

    transport_interrupted = 0;
    le_sigint_pending = 0;
    fflush (stdout);
    at_prompt = 1;
    line = le_readline (prompt);
    at_prompt = 0;

    free (prompt);
    if (!line && transport_interrupted) {
      /* Ctrl-C at the prompt abandons the line, not the shell. */
      transport_interrupted = 0;
      printf ("\n");
      continue;
    }
    if (!line) {
      printf ("\n");
      break;
    }
    if (line[strspn (line, " \t")] != '\0')
      le_add_history (line);
    last = run_line (s, line);
    free (line);
    fflush (stdout);
  }
  le_save_history ();
  free (hist);
  if (fatal_pending)
    die_of (fatal_pending);
  return last;
}
