/* nbdcli - connection commands: connect, disconnect, reconnect, close.
 * Copyright the nbdcli authors, MIT licence.
 */
#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

static int
do_connect (struct session *s, struct args *a)
{
  struct nbd_target t;

  if (target_from_words (a->argc - 1, a->argv + 1, &t) == -1)
    return CMD_FAILED;
  session_set_target (s, &t);
  free (shell.connect_words);
  shell.connect_words = quote_words (a->argc - 1, a->argv + 1);
  return session_connect (s) == 0 ? CMD_OK : CMD_FAILED;
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
  session_close (s, "closed by the user with nothing sent");
  return CMD_OK;
}

const struct command conn_commands[] = {
  {
    .name = "connect",
    .args = "TARGET | [ SERVER-CMD ARGS... ]",
    .summary = "connect to a server and read its greeting",
    .help = "TARGET is an NBD URI (nbd://HOST[:PORT]/EXPORT, nbds://...,\n"
            "nbd+unix:///EXPORT?socket=PATH, nbds+unix://...), HOST[:PORT], a Unix\n"
            "socket path, or a server command between [ and ] that is started as\n"
            "nbdinfo does: with systemd socket activation (nbdkit, qemu-nbd) and a\n"
            "connected socket on its stdin and stdout (nbdkit -s); it runs in its own\n"
            "process group and is stopped when the connection closes.\n"
            "nbdcli reads the greeting and answers with client flags derived from\n"
            "the server's handshake flags (or the ones set with `set client-flags');\n"
            "nothing else is sent.",
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
  { .name = NULL }
};
