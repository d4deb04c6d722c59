/* nbdcli - NBD_FLAG_CAN_MULTI_CONN on two connections: multi-conn-check
 * and the verdict the audit can use.
 * Copyright the nbdcli authors, MIT licence.
 */
#include <config.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "commands.h"
#include "nbd-proto.h"
#include "wire.h"
#include "xmit.h"

#define MC_LEN 4096

static int
mc_read (struct session *s, uint64_t off, uint8_t *buf, struct xresult *res)
{
  struct xreq r = { .type = NBD_CMD_READ, .offset = off, .length = MC_LEN,
                    .out_buf = buf };

  memset (buf, 0, MC_LEN);
  if (session_request (s, &r, res) == -1)
    return -1;
  return res->error || res->foreign ? -1 : 0;
}

static int
mc_write (struct session *s, uint64_t off, const uint8_t *buf,
          struct xresult *res)
{
  struct xreq r = { .type = NBD_CMD_WRITE, .offset = off, .length = MC_LEN,
                    .payload = buf, .payload_len = MC_LEN };

  if (s->cur.eh)
    r.flags |= NBD_CMD_FLAG_PAYLOAD_LEN;
  if (session_request (s, &r, res) == -1 || res->error)
    return -1;
  r = (struct xreq) { .type = NBD_CMD_FLUSH };
  if (session_request (s, &r, res) == -1 || res->error)
    return -1;
  return 0;
}

enum mc_verdict
multi_conn_verdict (struct session *a, struct session *b, uint64_t offset,
                    char *why, size_t whylen)
{
  uint8_t *orig = xmalloc (MC_LEN), *mark = xmalloc (MC_LEN);
  uint8_t *got = xmalloc (MC_LEN);
  struct xresult res;
  enum mc_verdict v = MC_ERROR;
  uint32_t seed = (uint32_t) time (NULL) ^ (uint32_t) getpid ();
  size_t i;

  snprintf (why, whylen, "a request failed");
  if (!(a->cur.tflags & NBD_FLAG_CAN_MULTI_CONN)) {
    snprintf (why, whylen, "the server does not advertise "
              "NBD_FLAG_CAN_MULTI_CONN: several connections need not see "
              "each other's writes");
    v = MC_NOT_ADVERTISED;
    goto out;
  }
  if (a->cur.tflags & NBD_FLAG_READ_ONLY) {
    snprintf (why, whylen, "the export is read-only: nothing to write");
    goto out;
  }
  if (a->cur.size < MC_LEN || offset > a->cur.size - MC_LEN) {
    snprintf (why, whylen, "offset %" PRIu64 " + %d bytes is past the end "
              "of the export", offset, MC_LEN);
    goto out;
  }
  /* B reads first (a server with a private cache per connection keeps
   * it), A writes a pattern no disk holds and flushes, B reads again.
   */
  if (mc_read (a, offset, orig, &res) == -1
      || mc_read (b, offset, got, &res) == -1)
    goto out;
  for (i = 0; i < MC_LEN; i++) {
    seed = seed * 1103515245 + 12345;
    mark[i] = (uint8_t) (seed >> 16) ^ orig[i] ^ 0x5a;
    if (mark[i] == orig[i])
      mark[i] ^= 0xff;
  }
  if (mc_write (a, offset, mark, &res) == -1
      || mc_read (b, offset, got, &res) == -1) {
    snprintf (why, whylen, "a request failed");
    goto out;
  }
  if (session_judge_multi_conn (a, "the other connection", offset, mark, got,
                                MC_LEN)) {
    snprintf (why, whylen, "%d bytes written and flushed at offset %" PRIu64
              " on one connection were read back on the other", MC_LEN,
              offset);
    v = MC_PASS;
  }
  else {
    snprintf (why, whylen, "NBD_FLAG_CAN_MULTI_CONN is advertised, but a "
              "write and FLUSH on one connection was not visible on the "
              "other");
    v = MC_FLAG;
  }
  /* Put the original data back. */
  if (mc_write (a, offset, orig, &res) == -1 && v == MC_PASS)
    v = MC_ERROR;
 out:
  free (orig);
  free (mark);
  free (got);
  return v;
}

struct session *
open_like (struct session *s, int setup_timeout_ms)
{
  struct session *n = xcalloc (1, sizeof *n);
  struct bytes p = { 0 };
  const char *exp = s->cur.export_name ? s->cur.export_name : "";

  session_init (n);
  session_copy_settings (n, s);
  if (setup_timeout_ms > 0)
    n->cfg.setup_timeout_ms = setup_timeout_ms;
  display_attach (&shell.disp, n);
  if (session_connect (n) == -1)
    goto fail;
  if (s->tls_up
      && (session_option (n, NBD_OPT_STARTTLS, NULL, 0, 0) == -1
          || !n->tls_up))
    goto fail;
  if (s->cur.sr
      && session_option (n, NBD_OPT_STRUCTURED_REPLY, NULL, 0, 0) == -1)
    goto fail;
  if (s->cur.eh
      && session_option (n, NBD_OPT_EXTENDED_HEADERS, NULL, 0, 0) == -1)
    goto fail;
  nbd_encode_info_payload (&p, exp, NULL, 0);
  if (session_option (n, NBD_OPT_GO, p.data, p.len, p.len) == -1
      || n->phase != PHASE_TRANSMISSION) {
    bytes_free (&p);
    goto fail;
  }
  bytes_free (&p);
  return n;
 fail:
  session_free (n);
  free (n);
  return NULL;
}

static int
do_multi_conn_check (struct session *s, struct args *a)
{
  const char *name = a->argc > 1 ? a->argv[1] : NULL;
  const char *offs = arg_opt (a, "--offset");
  struct session *b = NULL;
  bool temp = false;
  uint64_t off = 0;
  char why[512];
  enum mc_verdict v;
  size_t i;

  if (offs && parse_u64 (offs, &off) == -1)
    return usage_error ("--offset %s: not a number", offs);
  /* "[ CMD ]" starts a server per connection: two of them share
   * nothing, whatever they advertise.
   */
  if (s->target.kind == TARGET_CMD)
    return cmd_error ("the target is a server command, which starts a "
                      "server per connection: connect to a socket or a "
                      "port to check NBD_FLAG_CAN_MULTI_CONN");
  if (name) {
    for (i = 0; i < shell.nconns; i++)
      if (strcmp (shell.conns[i].name, name) == 0)
        b = shell.conns[i].s;
    if (!b)
      return cmd_error ("no connection named \"%s\" (see `connections')",
                        name);
    if (b == s)
      return cmd_error ("\"%s\" is the current connection: name another",
                        name);
    if (b->target.kind == TARGET_CMD)
      return cmd_error ("connection \"%s\" is to a server command, which "
                        "started a server of its own", name);
    if (b->phase != PHASE_TRANSMISSION)
      return cmd_error ("connection \"%s\" is not in transmission", name);
  }
  else if (!(s->cur.tflags & NBD_FLAG_CAN_MULTI_CONN)) {
    fprintf (a->out, "multi-conn-check: SKIP: the server does not advertise "
             "NBD_FLAG_CAN_MULTI_CONN\n");
    return CMD_OK;
  }
  else {
    fprintf (a->out, "multi-conn-check: opening a second connection like "
             "this one\n");
    b = open_like (s, 0);
    if (!b)
      return cmd_error ("could not open a second connection in "
                        "transmission");
    temp = true;
  }
  v = multi_conn_verdict (s, b, off, why, sizeof why);
  if (temp) {
    session_disconnect (b);
    /* Flags raised on the helper connection count too. */
    session_add_flags (s, b);
    session_free (b);
    free (b);
  }
  fprintf (a->out, "multi-conn-check: %s: %s\n",
           v == MC_PASS ? "PASS" : v == MC_FLAG ? "FLAG"
           : v == MC_NOT_ADVERTISED ? "SKIP" : "ERROR", why);
  return v == MC_ERROR ? CMD_FAILED : CMD_OK;
}

const struct command multiconn_commands[] = {
  {
    .name = "multi-conn-check",
    .args = "[NAME] [--offset N]",
    .summary = "check NBD_FLAG_CAN_MULTI_CONN on two connections",
    .help = "When the server advertises NBD_FLAG_CAN_MULTI_CONN, data written and\n"
            "flushed on one connection must be read back on any other.  The\n"
            "current connection reads 4 KiB at --offset N (default 0), the other\n"
            "reads it too, the current one writes a pattern and sends FLUSH, the\n"
            "other reads again: different data raises multi-conn-not-shared.  The\n"
            "original data is written back.  The other connection is NAME (see\n"
            "`connect --name'), else a second connection opened like this one\n"
            "(same target, STARTTLS, structured replies, extended headers and\n"
            "export) and closed after.  Without the flag there is nothing to\n"
            "judge (SKIP).",
    .opts = "--offset=",
    .flags = CMD_XMIT_PHASE,
    .max_args = 1,
    .run = do_multi_conn_check,
  },
  { .name = NULL }
};
