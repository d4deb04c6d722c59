/* nbdcli - `check': an automated conformance audit of a server's
 * negotiation and TLS handling.  Each probe runs on a fresh connection
 * (a server command is started afresh), with the session in quiet mode
 * so the engine's validators still judge every message, and ends as
 * PASS, FLAG (a MUST broken), WARN (a SHOULD broken), SKIP or ERROR,
 * with its rule, spec section and evidence.
 * Copyright the nbdcli authors, MIT licence.
 */
#include <config.h>

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>

#include "names.h"
#include "nbd-proto.h"
#include "nbdcli.h"
#include "output.h"
#include "wire.h"
#include "xmit.h"

enum verdict { V_PASS, V_FLAG, V_WARN, V_SKIP, V_ERROR };
static const char *const verdict_names[] = {
  "PASS", "FLAG", "WARN", "SKIP", "ERROR"
};

enum tls_mode { MODE_UNKNOWN, MODE_NONE, MODE_SELECTIVE, MODE_FORCED };
static const char *const mode_names[] = {
  "unknown", "none (NOTLS)", "selective (SELECTIVETLS)", "forced (FORCEDTLS)"
};

/* Needs of a probe. */
enum {
  N_TLS = 1,                    /* a usable TLS handshake */
  N_FORCED = 2,
  N_SELECTIVE = 4,
  N_NOTLS = 8,
  N_META = 16,                  /* base:allocation offered */
  N_EH = 32,                    /* extended headers offered */
  N_OFFERS_TLS = 64,            /* STARTTLS accepted (any TLS mode) */
  N_XMIT = 128,                 /* enters transmission */
};

/* What discovery learned, and the probe being run. */
struct ctx {
  struct session *s;
  const char *export;
  char *other_export;
  enum tls_mode mode;
  bool can_tls;
  char tls_problem[1500];
  bool meta;
  bool eh;
  bool server_no_zeroes;
  uint64_t size;
  char ev[1400];                /* evidence of the current probe */
};

/* Replies other than reply types. */
#define R_CLOSED (-1)
#define R_FAIL (-2)

static void
evf (struct ctx *c, const char *fmt, ...)
  __attribute__ ((format (printf, 2, 3)));
static void
evf (struct ctx *c, const char *fmt, ...)
{
  size_t n = strlen (c->ev);
  va_list ap;

  if (n && n < sizeof c->ev - 2) {
    strcat (c->ev, "; ");
    n += 2;
  }
  va_start (ap, fmt);
  vsnprintf (c->ev + n, sizeof c->ev - n, fmt, ap);
  va_end (ap);
}

static const char *
rname (int64_t r)
{
  static char buf[64];
  if (r == R_CLOSED)
    return "the server closed the connection";
  if (r == R_FAIL)
    return "no complete reply";
  snprintf (buf, sizeof buf, "%s", nbd_name_or_unknown (nbd_rep_names,
                                                        (uint32_t) r));
  if (!nbd_rep_name ((uint32_t) r))
    snprintf (buf, sizeof buf, "reply type 0x%08" PRIx32, (uint32_t) r);
  return buf;
}

/* Ends a connection as a client MUST (ABORT, or DISC in transmission),
 * within a second; what the server does then judges nothing.
 */
static void
end_politely (struct session *s)
{
  int saved = s->timeout_ms;
  size_t nflags = s->nprobe_flags;

  if (transport_is_open (&s->t) && s->phase != PHASE_DISCONNECTED) {
    s->timeout_ms = 1000;
    session_disconnect (s);
    s->timeout_ms = saved;
    s->nprobe_flags = nflags;   /* a courtesy: it judges nothing */
  }
  if (transport_is_open (&s->t))
    session_close (s, NULL);
}

/* A fresh connection. */
static int
fresh (struct ctx *c, int64_t client_flags)
{
  struct session *s = c->s;

  s->client_flags_override = client_flags;
  s->no_auto_tls = false;
  if (session_connect (s) == -1) {
    evf (c, "cannot connect: %s", s->last_error);
    return -1;
  }
  if (s->phase != PHASE_OPTIONS) {
    evf (c, "the server did not offer option haggling (%s)",
         s->oldstyle ? "oldstyle" : phase_name (s->phase));
    session_close (s, NULL);
    return -1;
  }
  return 0;
}

static int64_t
classify_failure (struct session *s)
{
  if (s->phase == PHASE_DISCONNECTED
      && (strstr (s->last_error, "closed") || strstr (s->last_error, "TLS")))
    return R_CLOSED;
  return R_FAIL;
}

static int64_t
o (struct ctx *c, uint32_t opt, const void *p, size_t len)
{
  struct session *s = c->s;

  if (s->phase != PHASE_OPTIONS)
    return R_CLOSED;
  s->last_error[0] = '\0';
  if (session_option (s, opt, p, len, len) == -1)
    return classify_failure (s);
  if (s->phase == PHASE_DISCONNECTED && !s->have_last_reply)
    return R_CLOSED;
  return s->last_reply;
}

static int64_t
o_info (struct ctx *c, uint32_t opt, const char *export, uint16_t req)
{
  struct bytes b = { 0 };
  int64_t r;

  nbd_encode_info_payload (&b, export, &req, req != 0xffff);
  r = o (c, opt, b.data, b.len);
  bytes_free (&b);
  return r;
}

static int64_t
o_meta (struct ctx *c, uint32_t opt, const char *export, int n, ...)
{
  struct bytes b = { 0 };
  char *q[4];
  va_list ap;
  int i;
  int64_t r;

  va_start (ap, n);
  for (i = 0; i < n && i < 4; i++)
    q[i] = va_arg (ap, char *);
  va_end (ap);
  nbd_encode_meta_payload (&b, export, q, n);
  r = o (c, opt, b.data, b.len);
  bytes_free (&b);
  return r;
}

/* STARTTLS with the handshake; 0 when TLS is up. */
static int
tls (struct ctx *c)
{
  int64_t r = o (c, NBD_OPT_STARTTLS, NULL, 0);
  if (r != NBD_REP_ACK || !c->s->tls_up) {
    evf (c, "STARTTLS: %s%s%s", r == NBD_REP_ACK ? "handshake failed" : rname (r),
         c->s->last_error[0] ? ": " : "", c->s->last_error);
    return -1;
  }
  return 0;
}

/* A fresh connection, with TLS first when the server forces it or the
 * user asked for TLS (and it works).
 */
static int
prep (struct ctx *c)
{
  if (fresh (c, -1) == -1)
    return -1;
  if (c->can_tls && (c->mode == MODE_FORCED || c->s->tls.required))
    return tls (c);
  return 0;
}

static int
request (struct ctx *c, uint16_t type, uint16_t flags, uint64_t off,
         uint64_t len, struct xresult *res)
{
  struct xreq r = { .type = type, .flags = flags, .offset = off,
                    .length = len };
  if (c->s->phase != PHASE_TRANSMISSION)
    return -1;
  return session_request (c->s, &r, res);
}

static uint64_t
small (struct ctx *c)
{
  return c->size >= 512 ? 512 : c->size;
}

/* ------------------------------------------------------------ probes */

/* The start of the STARTTLS state-reset probes: fresh, structured
 * replies, then TLS.  Returns 0 to go on, or -1 with the verdict in *V
 * (SKIP when the probe does not apply).
 */
static int
sr_then_tls (struct ctx *c, enum verdict *v)
{
  int64_t r;

  *v = V_ERROR;
  if (fresh (c, -1) == -1)
    return -1;
  r = o (c, NBD_OPT_STRUCTURED_REPLY, NULL, 0);
  if (r == NBD_REP_ERR_TLS_REQD) {
    evf (c, "not applicable (FORCEDTLS): SR before TLS got "
         "NBD_REP_ERR_TLS_REQD, so no state can leak");
    *v = V_SKIP;
    return -1;
  }
  if (r != NBD_REP_ACK) {
    evf (c, "structured replies not supported (%s)", rname (r));
    *v = V_SKIP;
    return -1;
  }
  return tls (c);
}

static enum verdict
p_tls_reset_sr_df (struct ctx *c)
{
  enum verdict v;
  int64_t r;

  if (sr_then_tls (c, &v) == -1)
    return v;
  r = o_info (c, NBD_OPT_INFO, c->export, 0xffff);
  if (r != NBD_REP_ACK)
    return evf (c, "INFO after STARTTLS: %s", rname (r)), V_ERROR;
  if (c->s->cur.tflags & NBD_FLAG_SEND_DF) {
    uint16_t fl = c->s->cur.tflags;

    /* The control: without any structured reply request, is DF set? */
    end_politely (c->s);
    if (fresh (c, -1) == 0 && tls (c) == 0
        && o_info (c, NBD_OPT_INFO, c->export, 0xffff) == NBD_REP_ACK
        && (c->s->cur.tflags & NBD_FLAG_SEND_DF))
      return evf (c, "sr; starttls; info: flags 0x%04x set SEND_DF, but so "
                  "does starttls; info with no structured reply request at "
                  "all (df-without-sr, not state kept across STARTTLS)",
                  fl), V_FLAG;
    return evf (c, "sr; starttls; info: NBD_INFO_EXPORT flags 0x%04x set "
                "SEND_DF: the pre-TLS structured reply request was kept",
                fl), V_FLAG;
  }
  evf (c, "sr; starttls; info: flags 0x%04x, SEND_DF clear",
       c->s->cur.tflags);
  return V_PASS;
}

static enum verdict
p_tls_reset_sr_read (struct ctx *c)
{
  struct xresult res;
  enum verdict v;
  int64_t r;

  if (sr_then_tls (c, &v) == -1)
    return v;
  r = o_info (c, NBD_OPT_GO, c->export, 0xffff);
  if (r != NBD_REP_ACK)
    return evf (c, "GO after STARTTLS: %s", rname (r)), V_ERROR;
  if (request (c, NBD_CMD_READ, 0, 0, small (c), &res) == -1)
    return evf (c, "READ: %s", c->s->last_error), V_ERROR;
  if (res.form == 1) {
    /* The control: without any structured reply request? */
    end_politely (c->s);
    if (fresh (c, -1) == 0 && tls (c) == 0
        && o_info (c, NBD_OPT_GO, c->export, 0xffff) == NBD_REP_ACK
        && request (c, NBD_CMD_READ, 0, 0, small (c), &res) == 0
        && res.form == 1)
      return evf (c, "sr; starttls; go; read: a structured reply, but so "
                  "does starttls; go; read with no structured reply "
                  "request at all (sr-not-negotiated, not state kept "
                  "across STARTTLS)"), V_FLAG;
    return evf (c, "sr; starttls; go; read: a structured reply although "
                "structured replies were only negotiated before STARTTLS "
                "(the CVE-2021-3716 pattern)"), V_FLAG;
  }
  if (res.form != 0)
    return evf (c, "reply form %d", res.form), V_ERROR;
  evf (c, "sr; starttls; go; read: a simple reply");
  return V_PASS;
}

static enum verdict
p_tls_sr_again (struct ctx *c)
{
  struct xresult res;
  enum verdict v;
  int64_t r;

  if (sr_then_tls (c, &v) == -1)
    return v;
  r = o (c, NBD_OPT_STRUCTURED_REPLY, NULL, 0);
  if (r == NBD_REP_ERR_INVALID)
    return evf (c, "sr; starttls; sr: the second SR got NBD_REP_ERR_INVALID "
                "as if the first were still in force"), V_FLAG;
  if (r != NBD_REP_ACK)
    return evf (c, "sr after STARTTLS: %s", rname (r)), V_WARN;
  r = o_info (c, NBD_OPT_GO, c->export, 0xffff);
  if (r != NBD_REP_ACK)
    return evf (c, "GO: %s", rname (r)), V_ERROR;
  if (request (c, NBD_CMD_READ, 0, 0, small (c), &res) == -1)
    return evf (c, "READ: %s", c->s->last_error), V_ERROR;
  if (res.form != 1)
    return evf (c, "structured replies negotiated after STARTTLS, but READ "
                "got a %s reply", res.form == 0 ? "simple" : "strange"),
      V_FLAG;
  evf (c, "sr; starttls; sr → ACK; go; read → structured reply");
  return V_PASS;
}

/* Block status after GO: did a chunk come for context K? */
static enum verdict
status_for (struct ctx *c, uint32_t k, bool want, const char *what)
{
  struct xresult res;
  size_t i;
  bool got = false;

  if (request (c, NBD_CMD_BLOCK_STATUS, 0, 0, small (c) ? small (c) : 1,
               &res) == -1) {
    if (!want && c->s->phase == PHASE_DISCONNECTED)
      return evf (c, "%s: the server hard-disconnected (allowed: the client "
                  "broke a MUST)", what), V_PASS;
    return evf (c, "%s: %s", what, c->s->last_error), V_ERROR;
  }
  for (i = 0; i < res.nstatus && i < 8; i++)
    if (res.status_ctx[i] == k)
      got = true;
  if (want && !got)
    return evf (c, "%s: no block status for context id %" PRIu32, what, k),
      V_FLAG;
  if (!want && got)
    return evf (c, "%s: block status for context id %" PRIu32 ", which must "
                "no longer be in force", what, k), V_FLAG;
  if (!want && res.nstatus)
    return evf (c, "%s: block status for context ids never negotiated",
                what), V_FLAG;
  evf (c, "%s: %s", what, want ? "block status for the context"
       : res.error ? "an error, as expected" : "no block status");
  return V_PASS;
}

static uint32_t
first_ctx (struct ctx *c)
{
  return c->s->cur.nctx ? c->s->cur.ctx[0].id : 0xffffffff;
}

/* Structured replies and the base:allocation context, as the meta
 * probes need them.  0, or -1 with the evidence of what failed.
 */
static int
sr_smc (struct ctx *c)
{
  int64_t r = o (c, NBD_OPT_STRUCTURED_REPLY, NULL, 0);

  if (r != NBD_REP_ACK) {
    evf (c, "sr: %s", rname (r));
    return -1;
  }
  r = o_meta (c, NBD_OPT_SET_META_CONTEXT, c->export, 1, "base:allocation");
  if (r != NBD_REP_ACK || c->s->cur.nctx == 0) {
    evf (c, "smc base:allocation: %s with %zu context(s)", rname (r),
         c->s->cur.nctx);
    return -1;
  }
  return 0;
}

static enum verdict
p_tls_reset_meta (struct ctx *c)
{
  int64_t r;
  uint32_t k;

  if (fresh (c, -1) == -1)
    return V_ERROR;
  r = o (c, NBD_OPT_STRUCTURED_REPLY, NULL, 0);
  if (r == NBD_REP_ERR_TLS_REQD)
    return evf (c, "not applicable (FORCEDTLS)"), V_SKIP;
  r = o_meta (c, NBD_OPT_SET_META_CONTEXT, c->export, 1, "base:allocation");
  if (r != NBD_REP_ACK || c->s->cur.nctx == 0)
    return evf (c, "SET_META_CONTEXT before TLS: %s", rname (r)), V_SKIP;
  k = first_ctx (c);
  if (tls (c) == -1)
    return V_ERROR;
  if (o (c, NBD_OPT_STRUCTURED_REPLY, NULL, 0) != NBD_REP_ACK
      || o_info (c, NBD_OPT_GO, c->export, 0xffff) != NBD_REP_ACK)
    return evf (c, "sr; go after STARTTLS failed"), V_ERROR;
  return status_for (c, k, false, "sr; smc base:allocation; starttls; sr; "
                     "go; block-status");
}

static enum verdict
p_tls_meta_after (struct ctx *c)
{
  if (fresh (c, -1) == -1 || tls (c) == -1)
    return V_ERROR;
  if (sr_smc (c) == -1)
    return V_ERROR;
  if (o_info (c, NBD_OPT_GO, c->export, 0xffff) != NBD_REP_ACK)
    return evf (c, "GO failed"), V_ERROR;
  return status_for (c, first_ctx (c), true,
                     "starttls; sr; smc; go; block-status");
}

static enum verdict
p_tls_reset_mixed (struct ctx *c)
{
  int64_t r;
  bool acked;

  if (fresh (c, -1) == -1)
    return V_ERROR;
  r = o_meta (c, NBD_OPT_SET_META_CONTEXT, c->export, 1, "base:allocation");
  if (r == NBD_REP_ERR_TLS_REQD)
    return evf (c, "not applicable (FORCEDTLS)"), V_SKIP;
  acked = r == NBD_REP_ACK && c->s->cur.nctx > 0;
  evf (c, "smc before sr: %s", rname (r));
  if (tls (c) == -1)
    return V_ERROR;
  if (o (c, NBD_OPT_STRUCTURED_REPLY, NULL, 0) != NBD_REP_ACK
      || o_info (c, NBD_OPT_GO, c->export, 0xffff) != NBD_REP_ACK)
    return evf (c, "sr; go after STARTTLS failed"), V_ERROR;
  return status_for (c, acked ? c->s->prev.nctx ? c->s->prev.ctx[0].id : 0
                     : 0xfffffffe, false, "starttls; sr; go; block-status");
}

static enum verdict
p_tls_reset_eh (struct ctx *c)
{
  struct xresult res;
  int64_t r;

  if (fresh (c, -1) == -1)
    return V_ERROR;
  r = o (c, NBD_OPT_EXTENDED_HEADERS, NULL, 0);
  if (r == NBD_REP_ERR_TLS_REQD)
    return evf (c, "not applicable (FORCEDTLS)"), V_SKIP;
  if (r != NBD_REP_ACK)
    return evf (c, "extended headers not supported (%s)", rname (r)), V_SKIP;
  if (tls (c) == -1)
    return V_ERROR;
  if (o_info (c, NBD_OPT_GO, c->export, 0xffff) != NBD_REP_ACK)
    return evf (c, "GO failed: %s", rname (c->s->last_reply)), V_ERROR;
  if (request (c, NBD_CMD_READ, 0, 0, small (c), &res) == -1) {
    if (c->s->phase == PHASE_DISCONNECTED)
      return evf (c, "eh; starttls; go; compact read: the server treated the "
                  "compact request as garbage and closed"), V_FLAG;
    return evf (c, "READ: %s", c->s->last_error), V_ERROR;
  }
  if (res.form == 2)
    return evf (c, "eh; starttls; go; compact read: an extended reply: the "
                "pre-TLS extended headers were kept"), V_FLAG;
  evf (c, "eh; starttls; go; compact read: a %s reply",
       res.form == 0 ? "simple" : "structured");
  return res.form == 0 ? V_PASS : V_FLAG;
}

static enum verdict
p_tls_reset_export (struct ctx *c)
{
  int64_t r;
  const char *before, *after;

  /* Ask about one export before STARTTLS and another after it (the
   * default one, "", when the first has a name), with NBD_INFO_NAME.
   */
  before = c->other_export && *c->other_export ? c->other_export
    : c->export;
  after = *before ? "" : "nbdcli-probe-no-such-export";
  if (fresh (c, -1) == -1)
    return V_ERROR;
  r = o_info (c, NBD_OPT_INFO, before, NBD_INFO_NAME);
  if (r == NBD_REP_ERR_TLS_REQD && c->mode != MODE_FORCED
      && *c->export && strcmp (before, c->export) != 0) {
    /* That one is TLS-only: the target export may work before TLS. */
    before = c->export;
    after = "";
    r = o_info (c, NBD_OPT_INFO, before, NBD_INFO_NAME);
  }
  if (r == NBD_REP_ERR_TLS_REQD)
    return evf (c, c->mode == MODE_FORCED ? "not applicable (FORCEDTLS)"
                : "export \"%s\" needs TLS", before), V_SKIP;
  if (r != NBD_REP_ACK)
    return evf (c, "INFO before TLS: %s", rname (r)), V_SKIP;
  if (tls (c) == -1)
    return V_ERROR;
  r = o_info (c, NBD_OPT_INFO, after, NBD_INFO_NAME);
  evf (c, "info \"%s\"; starttls; info \"%s\" --name: %s", before, after,
       rname (r));
  if (r == NBD_REP_ACK && c->s->cur.canonical_name && *before
      && strcmp (c->s->cur.canonical_name, before) == 0)
    return evf (c, "NBD_INFO_NAME \"%s\" is the export asked about before "
                "STARTTLS", c->s->cur.canonical_name), V_FLAG;
  if (c->s->cur.canonical_name)
    evf (c, "NBD_INFO_NAME \"%s\"", c->s->cur.canonical_name);
  return V_PASS;
}

static enum verdict
p_starttls_twice (struct ctx *c)
{
  int64_t r;

  if (fresh (c, -1) == -1 || tls (c) == -1)
    return V_ERROR;
  r = o (c, NBD_OPT_STARTTLS, NULL, 0);
  evf (c, "second STARTTLS: %s", rname (r));
  if (r == NBD_REP_ACK || r < 0)
    return V_FLAG;
  if (o_info (c, NBD_OPT_GO, c->export, 0xffff) != NBD_REP_ACK)
    return evf (c, "GO after the refused STARTTLS failed: %s",
                rname (c->s->last_reply)), V_FLAG;
  evf (c, "GO still works");
  return r == NBD_REP_ERR_INVALID ? V_PASS : V_WARN;
}

static enum verdict
p_starttls_payload (struct ctx *c)
{
  static const uint8_t junk[4] = { 1, 2, 3, 4 };
  int64_t r;

  if (fresh (c, -1) == -1)
    return V_ERROR;
  c->s->no_auto_tls = true;
  r = o (c, NBD_OPT_STARTTLS, junk, 4);
  c->s->no_auto_tls = false;
  evf (c, "STARTTLS with 4 bytes of data: %s", rname (r));
  if (r == R_CLOSED)
    return evf (c, "closing is tolerable: the client broke a MUST"), V_PASS;
  if (r == NBD_REP_ACK)
    return evf (c, "an ACK (the client MUST NOT send data; an error is "
                "expected)"), V_WARN;
  if (r < 0)
    return V_ERROR;
  if (r == R_FAIL)
    return evf (c, "(the server may be waiting for more data than the 4 "
                "bytes declared)"), V_WARN;
  if (c->s->phase == PHASE_DISCONNECTED)
    return evf (c, "then the server closed: tolerable, the client broke a "
                "MUST"), V_PASS;
  r = o (c, NBD_OPT_LIST, NULL, 0);
  if (r == R_CLOSED)
    return evf (c, "then the server closed: tolerable, the client broke a "
                "MUST"), V_PASS;
  if (r < 0 || (r != NBD_REP_ACK && !(r & NBD_REP_ERR_BIT)))
    return evf (c, "the next option did not parse (%s): the server did not "
                "consume exactly the 4 bytes", rname (r)), V_FLAG;
  evf (c, "next LIST: %s", rname (r));
  return V_PASS;
}

static enum verdict
p_starttls_plaintext (struct ctx *c)
{
  struct bytes b = { 0 };
  uint8_t h[20];
  enum io_status io;
  int64_t r;
  int saved;

  if (fresh (c, -1) == -1)
    return V_ERROR;
  c->s->no_auto_tls = true;
  r = o (c, NBD_OPT_STARTTLS, NULL, 0);
  c->s->no_auto_tls = false;
  if (r != NBD_REP_ACK)
    return evf (c, "STARTTLS: %s", rname (r)), V_ERROR;
  nbd_encode_option (&b, NBD_OPT_LIST, 0, NULL, 0);
  io = session_wr (c->s, b.data, b.len);
  bytes_free (&b);
  if (io != IO_OK)
    return evf (c, "the server closed before the plaintext option"), V_PASS;
  saved = c->s->timeout_ms;
  c->s->timeout_ms = saved < 2000 ? saved : 2000;
  io = session_rd (c->s, h, sizeof h);
  c->s->timeout_ms = saved;
  if (io == IO_OK && get_u64 (h) == NBD_OPT_REPLY_MAGIC)
    return evf (c, "STARTTLS → ACK, then a plaintext NBD_OPT_LIST was "
                "answered in plaintext"), V_FLAG;
  evf (c, "STARTTLS → ACK, plaintext option: %s",
       io == IO_EOF || io == IO_SHORT ? "the server closed"
       : io == IO_TIMEOUT ? "no plaintext answer" : "a TLS record");
  session_close (c->s, NULL);
  return V_PASS;
}

/* FORCEDTLS: every option before TLS gets TLS_REQD. */
static enum verdict
forced_one (struct ctx *c, uint32_t opt)
{
  int64_t r;

  if (fresh (c, -1) == -1)
    return V_ERROR;
  switch (opt) {
  case NBD_OPT_INFO:
  case NBD_OPT_GO:
    r = o_info (c, opt, c->export, 0xffff);
    break;
  case NBD_OPT_LIST_META_CONTEXT:
  case NBD_OPT_SET_META_CONTEXT:
    r = o_meta (c, opt, c->export, 0);
    break;
  case 0x1234:
    r = o (c, opt, "abc", 3);
    break;
  default:
    r = o (c, opt, NULL, 0);
  }
  evf (c, "%s before TLS: %s", nbd_name_or_unknown (nbd_opt_names, opt),
       rname (r));
  if (r != NBD_REP_ERR_TLS_REQD)
    return V_FLAG;
  if (c->s->last_nreplies)
    return evf (c, "%u NBD_REP_INFO before it", c->s->last_nreplies), V_FLAG;
  if (opt == 0x1234) {
    r = o (c, NBD_OPT_STARTTLS, NULL, 0);
    evf (c, "then STARTTLS: %s", rname (r));
    if (r != NBD_REP_ACK)
      return V_FLAG;
  }
  return V_PASS;
}

static enum verdict p_forced_list (struct ctx *c)
{ return forced_one (c, NBD_OPT_LIST); }
static enum verdict p_forced_info (struct ctx *c)
{ return forced_one (c, NBD_OPT_INFO); }
static enum verdict p_forced_go (struct ctx *c)
{ return forced_one (c, NBD_OPT_GO); }
static enum verdict p_forced_sr (struct ctx *c)
{ return forced_one (c, NBD_OPT_STRUCTURED_REPLY); }
static enum verdict p_forced_lmc (struct ctx *c)
{ return forced_one (c, NBD_OPT_LIST_META_CONTEXT); }
static enum verdict p_forced_smc (struct ctx *c)
{ return forced_one (c, NBD_OPT_SET_META_CONTEXT); }
static enum verdict p_forced_eh (struct ctx *c)
{ return forced_one (c, NBD_OPT_EXTENDED_HEADERS); }
static enum verdict p_forced_unknown (struct ctx *c)
{ return forced_one (c, 0x1234); }

static enum verdict
p_forced_export_name (struct ctx *c)
{
  int64_t r;

  if (fresh (c, -1) == -1)
    return V_ERROR;
  r = o (c, NBD_OPT_EXPORT_NAME, c->export, strlen (c->export));
  if (c->s->phase == PHASE_TRANSMISSION)
    return evf (c, "EXPORT_NAME before TLS was answered with the export "
                "size and flags"), V_FLAG;
  evf (c, "EXPORT_NAME before TLS: the connection was closed (%s)",
       r == R_FAIL ? "after a timeout" : "no export data");
  return r == R_FAIL ? V_ERROR : V_PASS;
}

static enum verdict
p_forced_abort (struct ctx *c)
{
  int64_t r;

  if (fresh (c, -1) == -1)
    return V_ERROR;
  r = o (c, NBD_OPT_ABORT, NULL, 0);
  evf (c, "ABORT before TLS: %s", rname (r));
  if (r == NBD_REP_ACK || r == R_CLOSED)
    return V_PASS;
  if (r == NBD_REP_ERR_TLS_REQD)
    return V_WARN;
  return V_FLAG;
}

/* The verdict on replies that must not be NBD_REP_ERR_TLS_REQD: FLAG
 * if one is, ERROR if one is missing, else PASS.
 */
static enum verdict
no_tls_reqd (const int64_t *r, int n)
{
  int i;

  for (i = 0; i < n; i++)
    if (r[i] == NBD_REP_ERR_TLS_REQD)
      return V_FLAG;
  for (i = 0; i < n; i++)
    if (r[i] < 0)
      return V_ERROR;
  return V_PASS;
}

static enum verdict
p_no_tls_reqd_after_tls (struct ctx *c)
{
  int64_t r[3];
  enum verdict v;

  if (fresh (c, -1) == -1 || tls (c) == -1)
    return V_ERROR;
  r[0] = o_info (c, NBD_OPT_INFO, "nbdcli-probe-no-such-export", 0xffff);
  r[1] = o (c, 0x1234, NULL, 0);
  r[2] = o (c, NBD_OPT_LIST, NULL, 0);
  evf (c, "after TLS: INFO of a missing export → %s", rname (r[0]));
  evf (c, "unknown option → %s", rname (r[1]));
  evf (c, "LIST → %s", rname (r[2]));
  v = no_tls_reqd (r, 3);
  if (v == V_PASS && r[1] != NBD_REP_ERR_UNSUP)
    return V_WARN;
  return v;
}

static enum verdict
p_selective_scope (struct ctx *c)
{
  int64_t r[4];

  if (fresh (c, -1) == -1)
    return V_ERROR;
  r[0] = o (c, NBD_OPT_STRUCTURED_REPLY, NULL, 0);
  r[1] = o (c, NBD_OPT_LIST, NULL, 0);
  r[2] = o_meta (c, NBD_OPT_LIST_META_CONTEXT, c->export, 0);
  r[3] = o (c, 0x1234, NULL, 0);
  evf (c, "before TLS: SR → %s", rname (r[0]));
  evf (c, "LIST → %s", rname (r[1]));
  evf (c, "LIST_META_CONTEXT → %s", rname (r[2]));
  evf (c, "unknown → %s", rname (r[3]));
  return no_tls_reqd (r, 4);
}

static enum verdict
p_notls_options (struct ctx *c)
{
  int64_t r[4];

  if (fresh (c, -1) == -1)
    return V_ERROR;
  r[0] = o (c, NBD_OPT_STARTTLS, NULL, 0);
  if (r[0] == NBD_REP_ACK)
    return evf (c, "STARTTLS was accepted"), V_ERROR;
  r[1] = o (c, NBD_OPT_LIST, NULL, 0);
  r[2] = o_info (c, NBD_OPT_INFO, c->export, 0xffff);
  r[3] = o (c, 0x1234, NULL, 0);
  evf (c, "STARTTLS → %s", rname (r[0]));
  evf (c, "LIST → %s", rname (r[1]));
  evf (c, "INFO → %s", rname (r[2]));
  evf (c, "unknown → %s", rname (r[3]));
  /* A NOTLS server may refuse the options for other reasons; only
   * TLS_REQD is wrong here.
   */
  return no_tls_reqd (r, 4) == V_FLAG ? V_FLAG : V_PASS;
}

static enum verdict
p_tls_needs_fixed (struct ctx *c)
{
  int64_t r;

  if (fresh (c, 0) == -1)
    return V_ERROR;
  c->s->no_auto_tls = true;
  r = o (c, NBD_OPT_STARTTLS, NULL, 0);
  c->s->no_auto_tls = false;
  evf (c, "client flags 0 (not fixed newstyle), STARTTLS → %s", rname (r));
  if (r == NBD_REP_ACK || r == NBD_REP_ERR_TLS_REQD)
    return V_FLAG;
  return r == R_FAIL ? V_ERROR : V_PASS;
}

static enum verdict
p_forced_consistent (struct ctx *c)
{
  int64_t r1, r2, r3;

  if (fresh (c, -1) == -1)
    return V_ERROR;
  r1 = o (c, NBD_OPT_LIST, NULL, 0);
  r2 = o (c, 0x1234, NULL, 0);
  r3 = o (c, NBD_OPT_LIST, NULL, 0);
  evf (c, "LIST → %s", rname (r1));
  evf (c, "unknown → %s", rname (r2));
  evf (c, "LIST → %s", rname (r3));
  return r1 == NBD_REP_ERR_TLS_REQD && r2 == r1 && r3 == r1 ? V_PASS
    : V_FLAG;
}

static enum verdict
p_meta_before_sr (struct ctx *c)
{
  int64_t r;
  bool acked;
  enum verdict v;

  if (prep (c) == -1)
    return V_ERROR;
  r = o_meta (c, NBD_OPT_SET_META_CONTEXT, c->export, 1, "base:allocation");
  acked = r == NBD_REP_ACK && c->s->cur.nctx > 0;
  evf (c, "smc base:allocation without sr: %s%s", rname (r),
       acked ? " with a context" : "");
  if (o (c, NBD_OPT_STRUCTURED_REPLY, NULL, 0) != NBD_REP_ACK
      || o_info (c, NBD_OPT_GO, c->export, 0xffff) != NBD_REP_ACK)
    return evf (c, "sr; go failed"), V_ERROR;
  v = status_for (c, 0xfffffffe, false, "sr; go; block-status");
  if (v == V_FLAG)
    return V_WARN;              /* the rule is a SHOULD */
  if (v == V_PASS && acked)
    return evf (c, "the SET should have been refused with "
                "NBD_REP_ERR_INVALID"), V_WARN;
  return v;
}

static enum verdict
p_meta_replaced (struct ctx *c)
{
  uint32_t k;

  if (prep (c) == -1)
    return V_ERROR;
  if (sr_smc (c) == -1)
    return V_ERROR;
  k = first_ctx (c);
  if (o_meta (c, NBD_OPT_SET_META_CONTEXT, c->export, 0) != NBD_REP_ACK)
    return evf (c, "the empty SET: %s", rname (c->s->last_reply)), V_ERROR;
  if (o_info (c, NBD_OPT_GO, c->export, 0xffff) != NBD_REP_ACK)
    return evf (c, "GO failed"), V_ERROR;
  return status_for (c, k, false, "smc base:allocation; smc (none); go; "
                     "block-status");
}

static enum verdict
p_meta_failed_set (struct ctx *c)
{
  struct bytes b = { 0 };
  uint32_t k;
  int64_t r;

  if (prep (c) == -1)
    return V_ERROR;
  if (sr_smc (c) == -1)
    return V_ERROR;
  k = first_ctx (c);
  /* A query whose length runs past the option. */
  bytes_put_u32 (&b, strlen (c->export));
  bytes_put (&b, c->export, strlen (c->export));
  bytes_put_u32 (&b, 1);
  bytes_put_u32 (&b, 100);
  bytes_put (&b, "bas", 3);
  r = o (c, NBD_OPT_SET_META_CONTEXT, b.data, b.len);
  bytes_free (&b);
  evf (c, "a SET whose query runs past the option: %s", rname (r));
  if (r < 0)
    return r == R_CLOSED ? V_PASS : V_ERROR;
  if (r != NBD_REP_ERR_INVALID)
    return V_FLAG;
  if (o_info (c, NBD_OPT_GO, c->export, 0xffff) != NBD_REP_ACK)
    return evf (c, "GO failed"), V_ERROR;
  return status_for (c, k, false, "go; block-status");
}

static enum verdict
p_meta_export_binding (struct ctx *c)
{
  uint32_t k;
  enum verdict v;

  if (!c->other_export)
    return evf (c, "needs a second export (the server lists one)"), V_SKIP;
  if (prep (c) == -1)
    return V_ERROR;
  if (sr_smc (c) == -1)
    return V_ERROR;
  k = first_ctx (c);
  if (o_info (c, NBD_OPT_GO, c->other_export, 0xffff) != NBD_REP_ACK)
    return evf (c, "GO \"%s\" failed", c->other_export), V_ERROR;
  v = status_for (c, k, false, "smc for one export; go another; "
                  "block-status");
  return v == V_FLAG ? V_WARN : v;
}

static enum verdict
p_meta_list_rules (struct ctx *c)
{
  int64_t r;
  size_t i;
  bool base = false;

  if (prep (c) == -1)
    return V_ERROR;
  o (c, NBD_OPT_STRUCTURED_REPLY, NULL, 0);
  r = o_meta (c, NBD_OPT_LIST_META_CONTEXT, c->export, 1, "nosuchns:foo");
  evf (c, "lmc nosuchns:foo: %s after %u context(s)", rname (r),
       c->s->last_nreplies);
  if (r == NBD_REP_ACK && c->s->last_nreplies)
    return V_FLAG;
  r = o_meta (c, NBD_OPT_LIST_META_CONTEXT, c->export, 1, "base:");
  for (i = 0; i < c->s->ncontexts; i++)
    if (strcmp (c->s->contexts[i], "base:allocation") == 0)
      base = true;
  evf (c, "lmc base: → %s, %u context(s)%s", rname (r), c->s->last_nreplies,
       base ? " including base:allocation" : "");
  if (r == NBD_REP_ACK && c->meta && !base)
    return V_FLAG;
  r = o_meta (c, NBD_OPT_SET_META_CONTEXT, c->export, 1, "base:");
  evf (c, "smc base: → %s with %zu context(s)", rname (r), c->s->cur.nctx);
  if (r == NBD_REP_ACK && c->s->cur.nctx)
    return V_FLAG;
  return V_PASS;
}

static enum verdict
p_meta_distinct_ids (struct ctx *c)
{
  char *a = NULL, *b = NULL;
  int64_t r;
  size_t i;

  if (prep (c) == -1)
    return V_ERROR;
  o (c, NBD_OPT_STRUCTURED_REPLY, NULL, 0);
  /* Two contexts the server offers, from a LIST with no query. */
  r = o_meta (c, NBD_OPT_LIST_META_CONTEXT, c->export, 0);
  if (r != NBD_REP_ACK)
    return evf (c, "lmc: %s", rname (r)), V_ERROR;
  for (i = 0; i < c->s->ncontexts && !b; i++)
    if (!a)
      a = c->s->contexts[i];
    else if (strcmp (c->s->contexts[i], a) != 0)
      b = c->s->contexts[i];
  if (!b)
    return evf (c, "the server offers fewer than two contexts"), V_SKIP;
  r = o_meta (c, NBD_OPT_SET_META_CONTEXT, c->export, 2, a, b);
  evf (c, "smc %s %s → %s, %zu context(s)", a, b, rname (r),
       c->s->cur.nctx);
  if (r != NBD_REP_ACK)
    return V_ERROR;
  if (c->s->cur.nctx == 2 && c->s->cur.ctx[0].id == c->s->cur.ctx[1].id)
    return evf (c, "both got id %" PRIu32, c->s->cur.ctx[0].id), V_FLAG;
  return V_PASS;
}

static enum verdict
p_meta_status (struct ctx *c)
{
  struct xresult res;

  if (prep (c) == -1)
    return V_ERROR;
  if (sr_smc (c) == -1)
    return V_ERROR;
  if (o_info (c, NBD_OPT_GO, c->export, 0xffff) != NBD_REP_ACK)
    return evf (c, "GO: %s", rname (c->s->last_reply)), V_ERROR;
  if (request (c, NBD_CMD_BLOCK_STATUS, 0, 0, c->size ? c->size : 1, &res)
      == -1
      || request (c, NBD_CMD_BLOCK_STATUS, NBD_CMD_FLAG_REQ_ONE, 0,
                  c->size ? c->size : 1, &res) == -1)
    return evf (c, "block status: %s", c->s->last_error), V_ERROR;
  evf (c, "block-status and block-status --req-one: %zu chunk(s), checked "
       "by the engine", res.nstatus);
  return res.nstatus == 1 ? V_PASS : V_FLAG;
}

static enum verdict
p_client_flags_unknown (struct ctx *c)
{
  int64_t r;

  if (fresh (c, NBD_FLAG_C_FIXED_NEWSTYLE | 0x4) == -1)
    return V_ERROR;
  r = o (c, NBD_OPT_LIST, NULL, 0);
  evf (c, "client flags 0x5 (unknown bit 2), then LIST: %s", rname (r));
  return r == R_CLOSED ? V_PASS : r == R_FAIL ? V_ERROR : V_FLAG;
}

static enum verdict
p_client_no_zeroes_unoffered (struct ctx *c)
{
  int64_t r;

  if (c->server_no_zeroes)
    return evf (c, "the server offers NO_ZEROES"), V_SKIP;
  if (fresh (c, NBD_FLAG_C_FIXED_NEWSTYLE | NBD_FLAG_C_NO_ZEROES) == -1)
    return V_ERROR;
  r = o (c, NBD_OPT_LIST, NULL, 0);
  evf (c, "C_NO_ZEROES without the server's NO_ZEROES, then LIST: %s",
       rname (r));
  return r == R_CLOSED ? V_PASS : r == R_FAIL ? V_ERROR : V_FLAG;
}

/* EXPORT_NAME with the given client flags: how many bytes came? */
static enum verdict
export_name_len (struct ctx *c, uint32_t cflags, size_t want)
{
  int64_t r;
  int saved;

  if (fresh (c, cflags) == -1)
    return V_ERROR;
  if (c->can_tls && (c->mode == MODE_FORCED || c->s->tls.required)
      && tls (c) == -1)
    return V_ERROR;
  saved = c->s->timeout_ms;
  c->s->timeout_ms = saved < 2000 ? saved : 2000;
  r = o (c, NBD_OPT_EXPORT_NAME, c->export, strlen (c->export));
  c->s->timeout_ms = saved;
  if (c->s->phase != PHASE_TRANSMISSION) {
    if (r == R_FAIL && want == 134)
      return evf (c, "client flags 0x%x: fewer than 134 bytes arrived "
                  "(the padding is missing)", cflags), V_FLAG;
    return evf (c, "EXPORT_NAME refused: %s", rname (r)), V_ERROR;
  }
  if (want == 10 && transport_pending (&c->s->t) > 0)
    return evf (c, "client flags 0x%x: more than 10 bytes arrived (padding "
                "although NO_ZEROES was agreed)", cflags), V_FLAG;
  evf (c, "client flags 0x%x: %zu bytes", cflags, want);
  return V_PASS;
}

static enum verdict
p_no_zeroes (struct ctx *c)
{
  enum verdict v;

  v = export_name_len (c, NBD_FLAG_C_FIXED_NEWSTYLE, 134);
  end_politely (c->s);
  if (v != V_PASS || !c->server_no_zeroes)
    return v;
  v = export_name_len (c, NBD_FLAG_C_FIXED_NEWSTYLE | NBD_FLAG_C_NO_ZEROES,
                       10);
  return v;
}

static enum verdict
p_unknown_option (struct ctx *c)
{
  int64_t r;

  if (prep (c) == -1)
    return V_ERROR;
  r = o (c, 0x1234, "1234567", 7);
  evf (c, "option 0x1234 with 7 bytes: %s", rname (r));
  if (r < 0 || r == NBD_REP_ACK)
    return V_FLAG;
  r = o (c, NBD_OPT_LIST, NULL, 0);
  evf (c, "next LIST: %s", rname (r));
  if (r < 0)
    return V_FLAG;
  return r != NBD_REP_ERR_UNSUP
    && r != NBD_REP_ACK && !(r & NBD_REP_ERR_BIT) ? V_FLAG : V_PASS;
}

static enum verdict
p_option_data (struct ctx *c)
{
  int64_t r1, r2;

  if (prep (c) == -1)
    return V_ERROR;
  r1 = o (c, NBD_OPT_LIST, "abcd", 4);
  r2 = o (c, NBD_OPT_STRUCTURED_REPLY, "abcd", 4);
  evf (c, "LIST with data: %s", rname (r1));
  evf (c, "STRUCTURED_REPLY with data: %s", rname (r2));
  if (r1 < 0 || r2 < 0)
    return r1 == R_FAIL || r2 == R_FAIL ? V_ERROR : V_WARN;
  return r1 == NBD_REP_ERR_INVALID && r2 == NBD_REP_ERR_INVALID ? V_PASS
    : V_WARN;
}

static enum verdict
p_info_go_consistent (struct ctx *c)
{
  uint64_t size;
  uint16_t fl;

  if (prep (c) == -1)
    return V_ERROR;
  struct xresult res;

  /* With NBD_INFO_BLOCK_SIZE, so the engine checks the sizes too. */
  if (o_info (c, NBD_OPT_INFO, c->export, NBD_INFO_BLOCK_SIZE)
      != NBD_REP_ACK)
    return evf (c, "INFO: %s", rname (c->s->last_reply)), V_ERROR;
  size = c->s->cur.size;
  fl = c->s->cur.tflags;
  if (o_info (c, NBD_OPT_GO, c->export, NBD_INFO_BLOCK_SIZE) != NBD_REP_ACK)
    return evf (c, "GO: %s", rname (c->s->last_reply)), V_ERROR;
  evf (c, "INFO: size %" PRIu64 " flags 0x%04x; GO: size %" PRIu64
       " flags 0x%04x", size, fl, c->s->cur.size, c->s->cur.tflags);
  if (size != c->s->cur.size || fl != c->s->cur.tflags)
    return V_FLAG;
  /* A READ without structured replies: the engine checks its form. */
  if (c->size && request (c, NBD_CMD_READ, 0, 0, small (c), &res) == 0)
    evf (c, "read: a %s reply", res.form == 0 ? "simple" : "structured");
  return V_PASS;
}

static enum verdict
p_repeated_sr (struct ctx *c)
{
  int64_t r1, r2;

  if (prep (c) == -1)
    return V_ERROR;
  r1 = o (c, NBD_OPT_STRUCTURED_REPLY, NULL, 0);
  r2 = o (c, NBD_OPT_STRUCTURED_REPLY, NULL, 0);
  /* LIST after them catches any extra reply the server still owes. */
  o (c, NBD_OPT_LIST, NULL, 0);
  evf (c, "sr → %s; sr → %s", rname (r1), rname (r2));
  if (r1 != NBD_REP_ACK)
    return V_SKIP;
  return r2 == NBD_REP_ACK || r2 == NBD_REP_ERR_INVALID ? V_PASS : V_WARN;
}

static enum verdict
p_disc (struct ctx *c)
{
  struct xresult res;

  if (prep (c) == -1)
    return V_ERROR;
  if (o_info (c, NBD_OPT_GO, c->export, 0xffff) != NBD_REP_ACK)
    return evf (c, "GO: %s", rname (c->s->last_reply)), V_ERROR;
  request (c, NBD_CMD_DISC, 0, 0, 0, &res);
  evf (c, "go; disc%s: checked by the engine (no reply, then close)",
       c->s->epoch ? " inside TLS" : "");
  return V_PASS;
}

static enum verdict
p_abort (struct ctx *c)
{
  int64_t r;

  if (prep (c) == -1)
    return V_ERROR;
  r = o (c, NBD_OPT_ABORT, NULL, 0);
  evf (c, "ABORT: %s", rname (r));
  if (r == NBD_REP_ACK || r == R_CLOSED)
    return V_PASS;
  return r == R_FAIL ? V_ERROR : V_FLAG;
}

struct probe {
  const char *id;
  unsigned needs;
  const char *rule;
  const char *section;
  enum verdict (*run) (struct ctx *c);
};

static const struct probe probes[] = {
  { "tls-reset-sr-df", N_TLS | N_OFFERS_TLS,
    "after STARTTLS, structured replies from before it are forgotten: "
    "NBD_INFO_EXPORT has SEND_DF clear", "NBD_OPT_STARTTLS",
    p_tls_reset_sr_df },
  { "tls-reset-sr-read", N_TLS,
    "after sr; starttls; go, READ gets a simple reply (CVE-2021-3716)",
    "NBD_OPT_STARTTLS", p_tls_reset_sr_read },
  { "tls-sr-again", N_TLS,
    "structured replies asked for again after STARTTLS are accepted as new",
    "NBD_OPT_STARTTLS", p_tls_sr_again },
  { "tls-reset-meta", N_TLS | N_META,
    "meta contexts set before STARTTLS are not in force after it",
    "NBD_OPT_STARTTLS", p_tls_reset_meta },
  { "tls-meta-after", N_TLS | N_META,
    "meta contexts set after STARTTLS answer block status",
    "NBD_OPT_SET_META_CONTEXT", p_tls_meta_after },
  { "tls-reset-mixed", N_TLS | N_META,
    "a SET before SR and STARTTLS never yields block status after them",
    "NBD_OPT_STARTTLS", p_tls_reset_mixed },
  { "tls-reset-eh", N_TLS | N_EH,
    "extended headers from before STARTTLS are forgotten: a compact READ "
    "gets a simple reply", "NBD_OPT_STARTTLS", p_tls_reset_eh },
  { "tls-reset-export", N_TLS,
    "the export asked about before STARTTLS is not remembered after it",
    "NBD_OPT_STARTTLS", p_tls_reset_export },
  { "starttls-twice", N_TLS,
    "a second STARTTLS fails with NBD_REP_ERR_INVALID and the session "
    "stays usable", "NBD_OPT_STARTTLS", p_starttls_twice },
  { "starttls-payload", N_OFFERS_TLS,
    "STARTTLS with data gets an error (INVALID) and the next option parses",
    "NBD_OPT_STARTTLS", p_starttls_payload },
  { "starttls-plaintext", N_OFFERS_TLS,
    "after STARTTLS's ACK a failed TLS handshake ends the session; no "
    "plaintext answer", "TLS support", p_starttls_plaintext },
  { "forced-list", N_FORCED,
    "FORCEDTLS: NBD_OPT_LIST before TLS gets NBD_REP_ERR_TLS_REQD",
    "FORCEDTLS mode", p_forced_list },
  { "forced-info", N_FORCED,
    "FORCEDTLS: NBD_OPT_INFO before TLS gets TLS_REQD and no NBD_REP_INFO",
    "FORCEDTLS mode", p_forced_info },
  { "forced-go", N_FORCED,
    "FORCEDTLS: NBD_OPT_GO before TLS gets TLS_REQD and no NBD_REP_INFO",
    "FORCEDTLS mode", p_forced_go },
  { "forced-sr", N_FORCED,
    "FORCEDTLS: NBD_OPT_STRUCTURED_REPLY before TLS gets TLS_REQD",
    "FORCEDTLS mode", p_forced_sr },
  { "forced-lmc", N_FORCED,
    "FORCEDTLS: NBD_OPT_LIST_META_CONTEXT before TLS gets TLS_REQD",
    "FORCEDTLS mode", p_forced_lmc },
  { "forced-smc", N_FORCED,
    "FORCEDTLS: NBD_OPT_SET_META_CONTEXT before TLS gets TLS_REQD",
    "FORCEDTLS mode", p_forced_smc },
  { "forced-eh", N_FORCED,
    "FORCEDTLS: NBD_OPT_EXTENDED_HEADERS before TLS gets TLS_REQD",
    "FORCEDTLS mode", p_forced_eh },
  { "forced-unknown", N_FORCED,
    "FORCEDTLS: an unknown option before TLS gets TLS_REQD (not UNSUP), "
    "then STARTTLS is still accepted", "FORCEDTLS mode", p_forced_unknown },
  { "forced-export-name", N_FORCED,
    "FORCEDTLS: NBD_OPT_EXPORT_NAME before TLS closes the connection with "
    "no export data", "FORCEDTLS mode", p_forced_export_name },
  { "forced-abort", N_FORCED,
    "FORCEDTLS: NBD_OPT_ABORT before TLS is acknowledged (or the "
    "connection closed)", "NBD_OPT_ABORT", p_forced_abort },
  { "forced-consistent", N_FORCED,
    "FORCEDTLS: the mode holds for the whole connection",
    "TLS support", p_forced_consistent },
  { "no-tls-reqd-after-tls", N_TLS,
    "once TLS is up no option gets NBD_REP_ERR_TLS_REQD",
    "TLS support", p_no_tls_reqd_after_tls },
  { "selective-scope", N_SELECTIVE,
    "SELECTIVETLS: TLS_REQD only for INFO/GO/EXPORT_NAME of TLS-only "
    "exports", "SELECTIVETLS mode", p_selective_scope },
  { "notls-options", N_NOTLS,
    "NOTLS: STARTTLS is refused and no option gets TLS_REQD",
    "NOTLS mode", p_notls_options },
  { "tls-needs-fixed", N_OFFERS_TLS,
    "without C_FIXED_NEWSTYLE the server is in NOTLS mode: STARTTLS is not "
    "accepted", "TLS support", p_tls_needs_fixed },
  { "meta-before-sr", N_META | N_XMIT,
    "SET_META_CONTEXT without structured replies should fail with "
    "NBD_REP_ERR_INVALID (SHOULD)", "NBD_OPT_SET_META_CONTEXT",
    p_meta_before_sr },
  { "meta-replaced", N_META | N_XMIT,
    "a later SET_META_CONTEXT replaces the earlier contexts",
    "NBD_OPT_SET_META_CONTEXT", p_meta_replaced },
  { "meta-failed-set", N_META | N_XMIT,
    "a malformed SET fails with NBD_REP_ERR_INVALID and clears the "
    "contexts", "NBD_OPT_SET_META_CONTEXT", p_meta_failed_set },
  { "meta-export-binding", N_META | N_XMIT,
    "contexts set for one export do not answer for another (SHOULD)",
    "NBD_OPT_SET_META_CONTEXT", p_meta_export_binding },
  { "meta-list-rules", N_META,
    "LIST_META_CONTEXT ignores unknown namespaces and lists base:allocation "
    "for base:; SET base: selects nothing", "NBD_OPT_LIST_META_CONTEXT",
    p_meta_list_rules },
  { "meta-distinct-ids", N_META,
    "two contexts in one SET_META_CONTEXT get distinct ids",
    "NBD_OPT_SET_META_CONTEXT", p_meta_distinct_ids },
  { "meta-status", N_META | N_XMIT,
    "block status has one well-formed chunk per selected context; REQ_ONE "
    "gives one extent", "NBD_CMD_BLOCK_STATUS", p_meta_status },
  { "client-flags-unknown", 0,
    "the server drops the connection when the client sets an unknown flag",
    "Client flags", p_client_flags_unknown },
  { "client-no-zeroes-unoffered", 0,
    "the server drops the connection on C_NO_ZEROES it did not offer",
    "Client flags", p_client_no_zeroes_unoffered },
  { "no-zeroes", N_XMIT,
    "EXPORT_NAME's answer is 134 bytes, or 10 with NO_ZEROES agreed",
    "NBD_OPT_EXPORT_NAME", p_no_zeroes },
  { "unknown-option", 0,
    "an unknown option gets NBD_REP_ERR_UNSUP and the next option parses",
    "Option haggling", p_unknown_option },
  { "option-data", 0,
    "LIST and STRUCTURED_REPLY with data get NBD_REP_ERR_INVALID (SHOULD)",
    "NBD_OPT_LIST", p_option_data },
  { "info-go-consistent", N_XMIT,
    "INFO then GO for the same export give the same size and flags",
    "NBD_OPT_INFO and NBD_OPT_GO", p_info_go_consistent },
  { "repeated-sr", 0,
    "a repeated STRUCTURED_REPLY gets ACK or NBD_REP_ERR_INVALID (MAY)",
    "Option haggling", p_repeated_sr },
  { "disc", N_XMIT,
    "NBD_CMD_DISC gets no reply; the server closes (after close_notify "
    "under TLS)", "NBD_CMD_DISC", p_disc },
  { "abort", 0,
    "NBD_OPT_ABORT is acknowledged with NBD_REP_ACK, then the connection "
    "closes", "NBD_OPT_ABORT", p_abort },
  { NULL, 0, NULL, NULL, NULL }
};

/* Why a probe does not apply, or NULL. */
static const char *
inapplicable (const struct ctx *c, unsigned needs, char *buf, size_t len)
{
  if ((needs & N_FORCED) && c->mode != MODE_FORCED)
    return snprintf (buf, len, "the server is in %s mode, not FORCEDTLS",
                     mode_names[c->mode]), buf;
  if ((needs & N_SELECTIVE) && c->mode != MODE_SELECTIVE)
    return snprintf (buf, len, "the server is in %s mode, not SELECTIVETLS",
                     mode_names[c->mode]), buf;
  if ((needs & N_NOTLS) && c->mode != MODE_NONE)
    return snprintf (buf, len, "the server offers TLS"), buf;
  if ((needs & N_OFFERS_TLS) && c->mode == MODE_NONE)
    return "the server does not offer TLS";
  if ((needs & N_TLS) && !c->can_tls)
    return c->mode == MODE_NONE ? "the server does not offer TLS"
      : c->tls_problem[0] ? c->tls_problem : "no usable TLS";
  if ((needs & N_XMIT) && c->s->tls.required && !c->can_tls
      && !c->s->allow_plaintext)
    return "TLS was asked for but is not usable, and this probe would "
      "enter transmission in plaintext (`set allow-plaintext on' to allow "
      "it)";
  if ((needs & N_META) && !c->meta)
    return "the server offers no base:allocation context";
  if ((needs & N_EH) && !c->eh)
    return "the server does not offer extended headers";
  return NULL;
}

/* Learns the TLS mode, the exports and what the server offers. */
static int
discover (struct ctx *c)
{
  struct session *s = c->s;
  int64_t r;
  size_t i;

  if (fresh (c, -1) == -1)
    return -1;
  c->server_no_zeroes = s->hs_flags & NBD_FLAG_NO_ZEROES;
  r = o (c, NBD_OPT_LIST, NULL, 0);
  if (r == NBD_REP_ERR_TLS_REQD)
    c->mode = MODE_FORCED;      /* unless STARTTLS is refused below */
  if (r == R_CLOSED && fresh (c, -1) == -1)
    return -1;
  /* Does the server accept STARTTLS?  (Without the handshake.) */
  s->no_auto_tls = true;
  r = o (c, NBD_OPT_STARTTLS, NULL, 0);
  s->no_auto_tls = false;
  /* After an ACK the server expects a handshake: just close. */
  if (r == NBD_REP_ACK)
    session_close (s, NULL);
  else
    end_politely (s);
  /* A server that refuses STARTTLS is in NOTLS mode, whatever else it
   * says (TLS_REQD from it is then a fault, found by notls-options).
   */
  if (r != NBD_REP_ACK)
    c->mode = MODE_NONE;
  else if (c->mode != MODE_FORCED)
    c->mode = MODE_SELECTIVE;
  if (c->mode != MODE_NONE && r != NBD_REP_ACK)
    snprintf (c->tls_problem, sizeof c->tls_problem, "STARTTLS: %s",
              rname (r));
  /* Does a real handshake work with the session's credentials? */
  if (r == NBD_REP_ACK && fresh (c, -1) == 0) {
    if (tls (c) == 0)
      c->can_tls = true;
    else
      snprintf (c->tls_problem, sizeof c->tls_problem, "no usable TLS: %.1000s",
                c->ev);
  }
  if (s->phase != PHASE_OPTIONS && fresh (c, -1) == -1)
    return -1;
  if (s->phase == PHASE_OPTIONS) {
    o (c, NBD_OPT_LIST, NULL, 0);
    for (i = 0; i < s->nexports; i++)
      if (strcmp (s->exports[i], c->export) != 0 && !c->other_export)
        c->other_export = strdup (s->exports[i]);
    o (c, NBD_OPT_STRUCTURED_REPLY, NULL, 0);
    r = o_meta (c, NBD_OPT_LIST_META_CONTEXT, c->export, 1,
                "base:allocation");
    c->meta = r == NBD_REP_ACK && s->last_nreplies > 0;
    r = o_info (c, NBD_OPT_INFO, c->export, 0xffff);
    if (r == NBD_REP_ACK)
      c->size = s->cur.size;
  }
  end_politely (s);
  if (fresh (c, -1) == 0) {
    if (!c->can_tls || tls (c) == 0)
      c->eh = o (c, NBD_OPT_EXTENDED_HEADERS, NULL, 0) == NBD_REP_ACK;
    end_politely (s);
  }
  c->ev[0] = '\0';
  return 0;
}

static bool
selected (const struct probe *p, struct args *a, int first)
{
  int i;

  if (a->argc <= first)
    return true;
  for (i = first; i < a->argc; i++)
    if (strcmp (a->argv[i], p->id) == 0)
      return true;
  return false;
}

/* run_check's status after Ctrl-C: 128 + SIGINT, as shells report it. */
#define CHECK_INTERRUPTED 130

static void
print_list (void)
{
  const struct probe *p;

  for (p = probes; p->id; p++) {
    if (cli.json) {
      printf ("{\"event\":\"probe_info\",\"id\":\"%s\",\"rule\":", p->id);
      json_string (p->rule);
      printf (",\"section\":");
      json_string (p->section);
      printf ("}\n");
    }
    else
      printf ("%-28s %s (spec: %s)\n", p->id, p->rule, p->section);
  }
}

/* At a terminal a probe's record fits the width: the rule and the
 * evidence are wrapped at spaces, indented under the probe.  In a pipe
 * each part stays on one line, for tools.
 */
static int
term_width (void)
{
  struct winsize ws;
  const char *cols = getenv ("COLUMNS");

  if (ioctl (STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col >= 40)
    return ws.ws_col;
  if (cols && atoi (cols) >= 40)
    return atoi (cols);
  return 80;
}

/* Prints TEXT from column COL, wrapped at WIDTH, continuation lines
 * indented by INDENT; a word longer than a line is cut.
 */
static void
print_wrapped (const char *text, int col, int indent, int width)
{
  const char *w = text;

  while (*w) {
    size_t n = strcspn (w, " ");
    int room = width - col - (col > indent ? 1 : 0);

    if ((int) n > room && col > indent) {
      printf ("\n%*s", indent, "");
      col = indent;
      continue;
    }
    if (col > indent) {
      putchar (' ');
      col++;
    }
    if ((int) n > width - col)
      n = width - col > 0 ? (size_t) (width - col) : 1;
    printf ("%.*s", (int) n, w);
    col += n;
    w += n;
    while (*w == ' ')
      w++;
  }
  putchar ('\n');
}

static void
report_wrapped (struct ctx *c, const struct probe *p, enum verdict v)
{
  int width = term_width (), col;
  char *rule = NULL;

  col = printf ("%-5s %s", verdict_names[v], p->id);
  if (asprintf (&rule, "%s (spec: %s)", p->rule, p->section) == -1)
    rule = NULL;
  if (col < 35) {
    printf ("%*s", 35 - col, "");
    col = 35;
  }
  print_wrapped (rule ? rule : p->rule, col, 6, width);
  free (rule);
  if (c->ev[0]) {
    printf ("      ");
    print_wrapped (c->ev, 6, 6, width);
  }
  fflush (stdout);
}

static void
report (struct ctx *c, const struct probe *p, enum verdict v)
{
  if (!cli.json && isatty (STDOUT_FILENO)) {
    report_wrapped (c, p, v);
    return;
  }
  if (cli.json) {
    printf ("{\"event\":\"probe\",\"id\":\"%s\",\"result\":\"%s\","
            "\"rule\":", p->id, verdict_names[v]);
    json_string (p->rule);
    printf (",\"section\":");
    json_string (p->section);
    printf (",\"evidence\":");
    json_string (c->ev);
    printf ("}\n");
    return;
  }
  printf ("%-5s %-28s %s (spec: %s)\n", verdict_names[v], p->id, p->rule,
          p->section);
  if (c->ev[0])
    printf ("      %s\n", c->ev);
  fflush (stdout);
}

int
run_check (struct session *s, struct args *a, int first_id)
{
  struct ctx c = { .s = s };
  const struct probe *p;
  unsigned counts[5] = { 0 };
  bool saved_quiet = s->quiet;
  int saved_timeout = s->timeout_ms, i;
  unsigned saved_nflags = s->nflags;
  char why[256], *d;
  const char *e = arg_opt (a, "--export");
  bool interrupted = false;

  if (arg_opt (a, "--list")) {
    print_list ();
    return CMD_OK;
  }
  for (i = first_id; i < a->argc; i++) {
    for (p = probes; p->id; p++)
      if (strcmp (p->id, a->argv[i]) == 0)
        break;
    if (!p->id) {
      cmd_error ("no probe \"%s\" (see `check --list')", a->argv[i]);
      return CMD_USAGE;
    }
  }
  if (s->target.kind == TARGET_NONE)
    return cmd_error ("no target (use `connect TARGET' first, or nbdcli "
                      "check TARGET)");
  if (s->phase != PHASE_DISCONNECTED)
    session_close (s, "closed for the audit");
  c.export = e ? e : s->default_export ? s->default_export : "";
  s->quiet = true;
  if (s->timeout_ms > 5000)
    s->timeout_ms = 5000;
  if (discover (&c) == -1) {
    s->quiet = saved_quiet;
    s->timeout_ms = saved_timeout;
    return cmd_error ("cannot probe the server: %s", c.ev);
  }
  d = nbd_target_describe (&s->target);
  if (cli.json) {
    printf ("{\"event\":\"check\",\"target\":");
    json_string (d);
    printf (",\"tls_mode\":\"%s\",\"tls_usable\":%s,\"export\":",
            mode_names[c.mode], c.can_tls ? "true" : "false");
    json_string (c.export);
    printf (",\"base_allocation\":%s,\"extended_headers\":%s}\n",
            c.meta ? "true" : "false", c.eh ? "true" : "false");
  }
  else
    printf ("check %s: TLS mode %s%s%s%s%s; export \"%s\"%s%s%s; "
            "base:allocation %s; extended headers %s\n", d,
            mode_names[c.mode], c.can_tls ? ", TLS usable" : "",
            !c.can_tls && c.tls_problem[0] ? " (" : "",
            !c.can_tls ? c.tls_problem : "",
            !c.can_tls && c.tls_problem[0] ? ")" : "",
            c.export, c.other_export ? ", also \"" : "",
            c.other_export ? c.other_export : "",
            c.other_export ? "\"" : "",
            c.meta ? "offered" : "not offered", c.eh ? "offered"
            : "not offered");
  free (d);

  for (p = probes; p->id && !interrupted; p++) {
    const char *na;
    enum verdict v;

    if (!selected (p, a, first_id))
      continue;
    if (transport_interrupted) {
      interrupted = true;
      break;
    }
    c.ev[0] = '\0';
    session_clear_record (s);
    na = inapplicable (&c, p->needs, why, sizeof why);
    if (na) {
      snprintf (c.ev, sizeof c.ev, "%.1200s", na);
      v = V_SKIP;
    }
    else {
      v = p->run (&c);
      /* The engine's validators judge every message of the probe. */
      if (s->nprobe_flags && v != V_FLAG) {
        evf (&c, "the engine raised %s: %s", s->probe_flags[0],
             s->probe_evidence);
        v = V_FLAG;
      }
      if (v == V_ERROR && s->last_error[0] && !strstr (c.ev, s->last_error))
        evf (&c, "%s", s->last_error);
    }
    end_politely (s);
    if (transport_interrupted) {
      /* Ctrl-C: the probe that was cut short says nothing about the
       * server; the summary says what ran.
       */
      interrupted = true;
      break;
    }
    counts[v]++;
    report (&c, p, v);
  }
  s->quiet = saved_quiet;
  s->timeout_ms = saved_timeout;
  /* Probe flags are the audit's findings: count them once, as FLAG rows. */
  s->nflags = saved_nflags + counts[V_FLAG];
  free (c.other_export);
  if (cli.json)
    printf ("{\"event\":\"check_summary\",\"probes\":%u,\"pass\":%u,"
            "\"flag\":%u,\"warn\":%u,\"skip\":%u,\"error\":%u%s}\n",
            counts[0] + counts[1] + counts[2] + counts[3] + counts[4],
            counts[V_PASS], counts[V_FLAG], counts[V_WARN], counts[V_SKIP],
            counts[V_ERROR], interrupted ? ",\"interrupted\":true" : "");
  else {
    unsigned total = counts[0] + counts[1] + counts[2] + counts[3]
      + counts[4];
    printf ("%u %s: %u pass, %u flag, %u warn, %u skip, %u error%s\n",
            total, total == 1 ? "probe" : "probes",
            counts[V_PASS], counts[V_FLAG], counts[V_WARN], counts[V_SKIP],
            counts[V_ERROR], interrupted ? " (interrupted)" : "");
  }
  if (interrupted)
    return CHECK_INTERRUPTED;
  return counts[V_ERROR] ? CMD_FAILED : CMD_OK;
}

static int
do_check (struct session *s, struct args *a)
{
  struct session aud;
  char *d;
  int r;

  if (arg_opt (a, "--list"))
    return run_check (s, a, 1);
  if (s->target.kind == TARGET_NONE)
    return cmd_error ("no target (use `connect TARGET' first, or nbdcli "
                      "check TARGET)");
  /* The audit runs on connections of its own, in a session of its own
   * with this one's target and settings: this session is left as it was.
   */
  session_init (&aud);
  nbd_target_copy (&aud.target, &s->target);
  aud.timeout_ms = s->timeout_ms;
  aud.client_flags_override = s->client_flags_override;
  aud.allow_plaintext = s->allow_plaintext;
  aud.default_export = xstrdup (s->default_export);
  aud.tls.certificates = xstrdup (s->tls.certificates);
  aud.tls.psk_file = xstrdup (s->tls.psk_file);
  aud.tls.username = xstrdup (s->tls.username);
  aud.tls.hostname = xstrdup (s->tls.hostname);
  aud.tls.verify_peer = s->tls.verify_peer;
  aud.tls.required = s->tls.required;
  d = nbd_target_describe (&s->target);
  if (!cli.json)
    printf ("check: auditing %s on connections of its own; this session "
            "is left as it was\n", d);
  free (d);
  r = run_check (&aud, a, 1);
  s->nflags += aud.nflags;      /* the audit's FLAG rows count */
  session_free (&aud);
  return r == CHECK_INTERRUPTED ? CMD_FAILED : r;
}

const struct command check_commands[] = {
  { "check", NULL, "[--list] [--export NAME] [PROBE...]",
    "audit the server's negotiation and TLS handling, probe by probe",
    "Learns the server's TLS mode (none, selective, forced), its exports\n"
    "and what it offers, then runs each probe of the catalogue on a fresh\n"
    "connection (a server command is started afresh): STARTTLS state reset\n"
    "(structured replies, meta contexts, extended headers, export), second\n"
    "and malformed STARTTLS, failed handshakes, the rules of each TLS mode,\n"
    "meta-context rules and handshake basics.  Each probe ends as PASS,\n"
    "FLAG (a MUST broken), WARN (a SHOULD broken), SKIP (not applicable,\n"
    "with why) or ERROR (the probe could not run), with its rule, spec\n"
    "section and evidence.  --list prints the catalogue; PROBE names run a\n"
    "subset; --export chooses the export (default: the target's).  Any\n"
    "FLAG makes the exit status 3.  Uses the TLS credentials of the\n"
    "session.  Inside the shell it audits on connections of its own and\n"
    "leaves the session as it was.  At a terminal each record is wrapped\n"
    "to its width; in a pipe the probe and its evidence are one line each.\n"
    "Ctrl-C stops the audit: the summary of what ran says \"interrupted\"\n"
    "(exit status 130 for nbdcli check).",
    "", "--list --export=", 0, 0, -1, do_check },
  { .name = NULL }
};
