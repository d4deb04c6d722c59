/* nbdcli - --replay FILE [TARGET]: runs a recording's commands again,
 * against the recorded target or another one, and compares what the
 * server sends now with what it sent then (output/replay.c).
 * Copyright the nbdcli authors, MIT licence.
 */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nbdcli.h"
#include "tokenize.h"

/* Is LINE a `connect' command? */
static bool
is_connect (const char *line)
{
  struct cmdline *cmds;
  size_t n;
  const char *err;
  bool r;

  if (tokenize (line, false, &cmds, &n, NULL, &err) == -1)
    return false;
  r = n == 1 && strcmp (cmds[0].argv[0], "connect") == 0;
  cmdlines_free (cmds, n);
  return r;
}

int
run_replay (struct session *s, const char *path, const char *target,
            char *const *ignore, size_t nignore)
{
  struct replay_file f;
  struct replay_sink r = { 0 };
  char err[512];
  const char *old_file = out_where.file;
  int keep, null, status;
  size_t i;
  FILE *out;

  if (replay_load (path, &f, err, sizeof err) == -1)
    return cmd_error ("%s", err);
  /* The comparison goes to standard output; what the commands print
   * themselves (echo, state, help) does not.
   */
  fflush (stdout);
  keep = fcntl (STDOUT_FILENO, F_DUPFD_CLOEXEC, 3);
  null = open ("/dev/null", O_WRONLY | O_CLOEXEC);
  if (keep == -1 || null == -1 || !(out = fdopen (keep, "w"))
      || dup2 (null, STDOUT_FILENO) == -1) {
    replay_file_free (&f);
    return cmd_error ("--replay: %s", strerror (errno));
  }
  close (null);
  r.out = out;
  r.name = path;
  for (i = 0; i < nignore; i++)
    replay_ignore (&r, ignore[i]);
  shell.disp.replay = &r;
  display_attach (&shell.disp, s);
  /* Every command runs: a failure is compared like any other event. */
  shell.errexit = false;

  {
    /* Where it was recorded: the header's target, else its first
     * connect.
     */
    const char *was = f.target && strcmp (f.target, "(none)") != 0
      ? f.target : NULL;

    for (i = 0; !was && i < f.nsteps; i++)
      if (is_connect (f.steps[i].cmd))
        was = f.steps[i].cmd + strlen ("connect ");
    fprintf (out, "replaying %s (recorded against %s)%s%s\n", path,
             was ? was : "no target", target ? " against " : "",
             target ? target : "");
  }
  if (f.midsession) {
    /* The recording began in an open session: connect first; what
     * that connection says is not compared.
     */
    const char *to = target ? target : f.connect;
    char *line;

    if (!to) {
      fprintf (out, "%s: the recording began in an open session and "
               "names no target: give one\n", path);
      status = CMD_USAGE;
      goto out;
    }
    if (asprintf (&line, "connect %s", to) == -1)
      abort ();
    run_line (s, line);
    free (line);
    replay_discard (&r);
  }
  for (i = 0; i < f.nsteps && !shell.quit; i++) {
    const struct replay_step *st = &f.steps[i];
    char *line = NULL;

    if (target && is_connect (st->cmd)) {
      if (asprintf (&line, "connect %s", target) == -1)
        abort ();
    }
    out_where.file = path;
    out_where.line = st->line;
    replay_discard (&r);
    run_line (s, line ? line : st->cmd);
    fflush (stdout);
    replay_compare (&r, st);
    free (line);
  }
  out_where.file = old_file;
  replay_summary (&r);
  status = r.different || r.missing || r.extra ? 4
    : s->nflags > 0 ? 3 : 0;
 out:
  shell.disp.replay = NULL;
  display_attach (&shell.disp, s);
  replay_sink_free (&r);
  replay_file_free (&f);
  fclose (out);
  return status;
}
