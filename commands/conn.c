/* nbdcli - connection commands: connect, disconnect, reconnect, close.
 * Copyright the nbdcli authors, MIT licence.
 */
#include <config.h>

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "commands.h"

/* Makes a target from command words: URI, HOST[:PORT], socket path or
 * "[ CMD ARGS... ]".  Shared with main.
 */
int
target_from_words (int argc, char **argv, struct nbd_target *t)
{
  char err[512];

  if (argc >= 1 && strcmp (argv[0], "[") == 0) {
    if (argc < 3 || strcmp (argv[argc - 1], "]") != 0)
      return cmd_error ("a server command is written [ CMD ARGS... ]"), -1;
    return nbd_target_command (argc - 2, argv + 1, t);
  }
  if (argc != 1)
    return cmd_error ("expected one target: URI, HOST[:PORT], socket path "
                      "or [ CMD ARGS... ]"), -1;
  if (nbd_parse_target (argv[0], t, err, sizeof err) == -1)
    return cmd_error ("%s", err), -1;
  return 0;
}

/* ------------------------------------------------------------------ */
/* The connections of the shell.                                       */

static void
register_main (struct session *main)
{
  if (shell.nconns == 0 && main) {
    shell.conns[0].name = xstrdup ("main");
    shell.conns[0].s = main;
    shell.conns[0].owned = false;
    shell.nconns = 1;
    shell.current = 0;
  }
}

struct session *
shell_session (struct session *main)
{
  register_main (main);
  return shell.nconns ? shell.conns[shell.current].s : main;
}

const char *
shell_conn_name (void)
{
  return shell.nconns > 1 ? shell.conns[shell.current].name : NULL;
}

unsigned
shell_other_flags (const struct session *main)
{
  unsigned n = 0;
  size_t i;

  for (i = 0; i < shell.nconns; i++)
    if (shell.conns[i].s != main)
      n += shell.conns[i].s->nflags;
  return n;
}

void
shell_free_conns (void)
{
  size_t i;

  for (i = 0; i < shell.nconns; i++) {
    if (shell.conns[i].owned) {
      session_free (shell.conns[i].s);
      free (shell.conns[i].s);
    }
    free (shell.conns[i].name);
  }
  shell.nconns = shell.current = 0;
}

static ssize_t
find_conn (const char *name)
{
  size_t i;

  for (i = 0; i < shell.nconns; i++)
    if (strcmp (shell.conns[i].name, name) == 0)
      return i;
  return -1;
}

static bool
good_name (const char *n)
{
  size_t i;

  if (!*n || strlen (n) > 32)
    return false;
  for (i = 0; n[i]; i++)
    if (!(isalnum ((unsigned char) n[i]) || n[i] == '-' || n[i] == '_'))
      return false;
  return true;
}

static int
do_connect (struct session *s, struct args *a)
{
  struct nbd_target t;
  const char *name = arg_opt (a, "--name");
  ssize_t i;

  if (name && !good_name (name))
    return usage_error ("--name %s: letters, digits, - and _, at most 32",
                        name);
  if (target_from_words (a->argc - 1, a->argv + 1, &t) == -1)
    return CMD_FAILED;
  if (name && (i = find_conn (name)) >= 0) {
    /* That connection, to this target: it becomes the current one. */
    shell.current = i;
    s = shell.conns[i].s;
  }
  else if (name) {
    struct session *n;

    if (shell.nconns >= MAX_CONNS) {
      nbd_target_free (&t);
      return cmd_error ("%d connections already: `disconnect' and reuse a "
                        "name", MAX_CONNS);
    }
    n = xcalloc (1, sizeof *n);
    session_init (n);
    session_copy_settings (n, s);
    display_attach (&shell.disp, n);
    shell.conns[shell.nconns].name = xstrdup (name);
    shell.conns[shell.nconns].s = n;
    shell.conns[shell.nconns].owned = true;
    shell.current = shell.nconns++;
    s = n;
  }
  session_set_target (s, &t);
  free (shell.connect_words);
  shell.connect_words = quote_words (a->argc - 1, a->argv + 1);
  return session_connect (s) == 0 ? CMD_OK : CMD_FAILED;
}

static int
do_use (struct session *s, struct args *a)
{
  ssize_t i = find_conn (a->argv[1]);

  if (i < 0)
    return cmd_error ("no connection named \"%s\" (see `connections')",
                      a->argv[1]);
  shell.current = i;
  return CMD_OK;
}

static int
do_connections (struct session *s, struct args *a)
{
  size_t i;

  for (i = 0; i < shell.nconns; i++) {
    const struct session *c = shell.conns[i].s;
    char *d = nbd_target_describe (&c->target);
    char sz[64];

    fprintf (a->out, "%s %-10s %-13s %s\n", i == shell.current ? "*" : " ",
             shell.conns[i].name, phase_name (c->phase),
             c->target.kind ? d : "(no target)");
    free (d);
    if (c->phase != PHASE_DISCONNECTED) {
      fprintf (a->out, "             %s%s%s%s", c->tls_up ? "tls " : "",
               c->cur.sr ? "sr " : "", c->cur.eh ? "eh " : "",
               c->cur.nctx ? "meta " : "");
      if (c->cur.have_export) {
        fprintf (a->out, "export \"%s\" size %s, ",
                 c->cur.export_name ? c->cur.export_name : "",
                 human_size (c->cur.size, sz, sizeof sz));
        print_tflags (a->out, c->cur.tflags);
        fprintf (a->out, ", ");
      }
      fprintf (a->out, "%zu in flight, ", c->nflight);
    }
    else
      fprintf (a->out, "             ");
    fprintf (a->out, "%u flag%s raised\n", c->nflags,
             c->nflags == 1 ? "" : "s");
  }
  return CMD_OK;
}

static int
do_reconnect (struct session *s, struct args *a)
{
  if (s->target.kind == TARGET_NONE)
    return cmd_error ("no earlier target (use `connect TARGET')");
  return session_connect (s) == 0 ? CMD_OK : CMD_FAILED;
}

static int
do_disconnect (struct session *s, struct args *a)
{
  return session_disconnect (s) == 0 ? CMD_OK : CMD_FAILED;
}

static int
do_close (struct session *s, struct args *a)
{
  session_hangup (s, "closed by the user with nothing sent");
  return CMD_OK;
}

const struct command conn_commands[] = {
  {
    .name = "connect",
    .args = "[--name NAME] TARGET | [ SERVER-CMD ARGS... ]",
    .summary = "connect to a server and read its greeting",
    .help = "TARGET is an NBD URI (nbd://HOST[:PORT]/EXPORT, nbds://...,\n"
            "nbd+unix:///EXPORT?socket=PATH, nbds+unix://...), HOST[:PORT], a Unix\n"
            "socket path, or a server command between [ and ] that is started as\n"
            "nbdinfo does: with systemd socket activation (nbdkit, qemu-nbd) and a\n"
            "connected socket on its stdin and stdout (nbdkit -s); it runs in its own\n"
            "process group and is stopped when the connection closes.\n"
            "nbdcli reads the greeting and answers with client flags derived from\n"
            "the server's handshake flags (or the ones set with `set client-flags');\n"
            "nothing else is sent.\n"
            "--name NAME opens another connection, with its own session, model,\n"
            "flags and requests in flight (the first connection is \"main\"), and\n"
            "makes it the current one; the prompt then shows its name\n"
            "(nbd:NAME[...]>).  `use NAME' switches, `connections' lists them.\n"
            "The exit status counts the flags of every connection.",
    .opts = "--name=",
    .complete = "t",
    .min_args = 1,
    .max_args = -1,
    .run = do_connect,
  },
  {
    .name = "disconnect",
    .args = "",
    .summary = "end the session politely (NBD_OPT_ABORT, or NBD_CMD_DISC)",
    .help = "During option haggling sends NBD_OPT_ABORT and waits for the ACK; in\n"
            "transmission sends NBD_CMD_DISC; then closes the connection (after a\n"
            "TLS close_notify when TLS is up).",
    .flags = CMD_NEED_CONN,
    .max_args = 0,
    .run = do_disconnect,
  },
  {
    .name = "reconnect",
    .args = "",
    .summary = "connect again to the last target, from a fresh state",
    .help = "Closes the current connection if any (nothing sent) and connects to\n"
            "the last target again; a server command is started afresh.",
    .max_args = 0,
    .run = do_reconnect,
  },
  {
    .name = "close",
    .args = "",
    .summary = "drop the connection with nothing sent",
    .help = "Closes the socket at once, without NBD_OPT_ABORT or NBD_CMD_DISC (a\n"
            "hard disconnect, as a crashing client would).",
    .flags = CMD_NEED_CONN,
    .max_args = 0,
    .run = do_close,
  },
  {
    .name = "use",
    .args = "NAME",
    .summary = "make connection NAME the current one",
    .help = "Commands act on the current connection.  `connections' lists them;\n"
            "`connect --name NAME TARGET' opens one.",
    .min_args = 1,
    .max_args = 1,
    .run = do_use,
  },
  {
    .name = "connections",
    .args = "",
    .summary = "list the connections with their phase and what is negotiated",
    .help = "One entry per connection, the current one marked *: its name, phase,\n"
            "target, TLS, structured replies, extended headers, meta contexts, the\n"
            "export and its flags, the requests in flight and the flags raised.",
    .flags = CMD_TEXT,
    .max_args = 0,
    .run = do_connections,
  },
  { .name = NULL }
};
