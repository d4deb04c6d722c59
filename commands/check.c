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
#include <stdatomic.h>
#include <stdarg.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "names.h"
#include "nbd-proto.h"
#include "commands.h"
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
  N_HAGGLE = 256,               /* negotiates options: where TLS is forced
                                 * or required, only over working TLS */
  N_SR = 512,                   /* structured replies offered */
  N_OPTIONS = 1024,             /* fixed newstyle: options beyond
                                 * NBD_OPT_EXPORT_NAME are understood */
  N_ANY_STYLE = 2048,           /* runs against an oldstyle server too */
};

/* What discovery learned, and the probe being run. */
struct ctx {
  struct session *s;
  const char *export;
  char *chosen_export;          /* the first listed, when there is no default */
  char *other_export;
  enum tls_mode mode;
  bool can_tls;
  bool tls_wanted;              /* nbds://, `set tls require', or offered */
  char tls_problem[1500];       /* why TLS cannot be used, in words */
  bool measuring;               /* discovery: reply times are measured */
  int64_t slowest_ms;           /* the slowest reply seen in discovery */
  _Atomic int64_t *seen_ms;     /* the slowest reply any probe of the
                                 * audit has seen so far (shared) */
  int wait_ms;                  /* how long a probe waits for a reply */
  int wait_max_ms;              /* ... at most (the audit's timeout) */
  char last_sent[64];           /* the probe's last option or request */
  bool malformed;               /* the probe sent something malformed on
                                 * purpose: a missing reply judges nothing */
  bool connect_failed;          /* a connection of the probe got no
                                 * greeting (or none at all) */
  bool named;                   /* the probe was named on the command line */
  bool meta;
  bool eh;
  bool sr;                      /* STRUCTURED_REPLY was acknowledged */
  uint16_t tflags;              /* the export's transmission flags */
  bool fixed;                   /* the server offers fixed newstyle */
  bool oldstyle;                /* oldstyle negotiation: no options */
  bool server_no_zeroes;
  uint64_t size;
  char ev[1400];                /* evidence of the current probe */
  struct audit_record rec;      /* the engine's flags during the probe */
};

/* A probe waits at least this long for a reply (see reply_wait). */
#define WAIT_FLOOR_MS 500

/* Replies other than reply types. */
#define R_CLOSED (-1)
#define R_FAIL (-2)

static void
add_evidence (struct ctx *c, const char *fmt, ...)
  __attribute__ ((format (printf, 2, 3)));
static void
add_evidence (struct ctx *c, const char *fmt, ...)
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

/* Adds evidence and returns verdict V: the end of a probe. */
static enum verdict
conclude (struct ctx *c, enum verdict v, const char *fmt, ...)
  __attribute__ ((format (printf, 3, 4)));
static enum verdict
conclude (struct ctx *c, enum verdict v, const char *fmt, ...)
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
  return v;
}

/* A reply the spec requires did not come: verdict V (FLAG for a MUST,
 * WARN for a SHOULD) when the wait timed out, with what was sent; ERROR
 * when something else went wrong.
 */
static enum verdict
no_reply (struct ctx *c, enum verdict v, const char *sent)
{
  if (c->s->err.kind == ERR_TIMEOUT)
    return conclude (c, v, "no reply within %d ms after %s", c->wait_ms,
                     sent);
  return conclude (c, V_ERROR, "%s: %s", sent,
                   c->s->err.msg[0] ? c->s->err.msg : "no complete reply");
}

static const char *
reply_name (int64_t r)
{
  static _Thread_local char buf[64];
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
 * within a second; what the server does then judges nothing.  After an
 * option whose reply never came the server is still reading or working
 * on it, so an ABORT would only be taken for more of that option: the
 * connection is closed at once instead of waiting a second time.
 */
static void
end_politely (struct ctx *c)
{
  struct session *s = c->s;
  int saved = s->cfg.timeout_ms;
  size_t nflags = c->rec.nflags;
  bool stalled = s->phase == PHASE_OPTIONS && s->err.kind == ERR_TIMEOUT;

  if (transport_is_open (&s->t) && s->phase != PHASE_DISCONNECTED
      && !stalled) {
    s->cfg.timeout_ms = 1000;
    session_disconnect (s);
    s->cfg.timeout_ms = saved;
    c->rec.nflags = nflags;     /* a courtesy: it judges nothing */
  }
  if (transport_is_open (&s->t))
    session_hangup (s, NULL);
}

static void took (struct ctx *c, int64_t t0);

/* A fresh connection.  How long its greeting took counts for the waits
 * after it (see pace): on a loaded machine a server command starts
 * slowly, and its replies come slowly too.
 */
static int
fresh_connection (struct ctx *c, int64_t client_flags)
{
  struct session *s = c->s;
  int64_t t0 = transport_now_ms ();

  s->cfg.client_flags_override = client_flags;
  s->cfg.no_auto_tls = false;
  c->last_sent[0] = '\0';
  if (session_connect (s) == -1) {
    /* No greeting in time, or no connection: a server that serves a
     * limited number of clients may be busy with another probe's.
     */
    if (s->err.kind == ERR_TIMEOUT || s->err.kind == ERR_CONNECT)
      c->connect_failed = true;
    add_evidence (c, "cannot connect: %s", s->err.msg);
    return -1;
  }
  took (c, t0);
  if (s->phase != PHASE_OPTIONS) {
    add_evidence (c, "the server did not offer option haggling (%s)",
         s->oldstyle ? "oldstyle" : phase_name (s->phase));
    session_hangup (s, NULL);
    return -1;
  }
  return 0;
}

/* What a failed exchange means for a probe: the server closed the
 * connection (or TLS ended it), or no complete reply came.
 */
static int64_t
classify_failure (struct session *s)
{
  if (s->phase != PHASE_DISCONNECTED)
    return R_FAIL;
  switch (s->err.kind) {
  case ERR_CLOSED:
  case ERR_TLS_REJECTED:
  case ERR_TLS_HANDSHAKE:
  case ERR_TLS_VERIFY:
  case ERR_TLS_CREDENTIALS:
    return R_CLOSED;
  default:
    return R_FAIL;
  }
}

/* The wait for a probe's reply: 20 times the slowest reply (or server
 * start) seen so far, at least WAIT_FLOOR_MS, at most MAX_MS.
 */
static int
reply_wait (int64_t slowest, int max_ms)
{
  int64_t w = slowest * 20 < WAIT_FLOOR_MS ? WAIT_FLOOR_MS : slowest * 20;

  return w > max_ms ? max_ms : (int) w;
}

/* Before a probe's option or request: its wait follows the slowest
 * reply seen so far in discovery or by any probe of the audit (shared).
 * Probes in parallel on a loaded machine see slower replies, and every
 * probe's wait grows with them: a reply that is only slow must not be
 * taken for one that never comes.
 */
static void
pace (struct ctx *c)
{
  if (c->measuring || !c->seen_ms)
    return;
  c->wait_ms = reply_wait (*c->seen_ms, c->wait_max_ms);
  c->s->cfg.timeout_ms = c->wait_ms;
}

/* After a reply came: how long it took counts for every wait after. */
static void
took (struct ctx *c, int64_t t0)
{
  int64_t t = transport_now_ms () - t0, old;

  if (c->measuring && t > c->slowest_ms)
    c->slowest_ms = t;
  if (!c->seen_ms)
    return;
  old = *c->seen_ms;
  while (t > old
         && !atomic_compare_exchange_weak (c->seen_ms, &old, t))
    ;
}

static int64_t
send_option (struct ctx *c, uint32_t opt, const void *p, size_t len)
{
  struct session *s = c->s;
  int64_t t0;
  int r;

  if (s->phase != PHASE_OPTIONS)
    return R_CLOSED;
  session_clear_error (s);
  snprintf (c->last_sent, sizeof c->last_sent, "%s",
            nbd_name_or_unknown (nbd_opt_names, opt));
  pace (c);
  t0 = transport_now_ms ();
  r = session_option (s, opt, p, len, len);
  if (r == 0)
    took (c, t0);
  if (r == -1)
    return classify_failure (s);
  if (s->phase == PHASE_DISCONNECTED && !s->have_last_reply)
    return R_CLOSED;
  return s->last_reply;
}

static int64_t
send_info (struct ctx *c, uint32_t opt, const char *export, uint16_t req)
{
  struct bytes b = { 0 };
  int64_t r;

  nbd_encode_info_payload (&b, export, &req, req != 0xffff);
  r = send_option (c, opt, b.data, b.len);
  bytes_free (&b);
  return r;
}

static int64_t
send_meta (struct ctx *c, uint32_t opt, const char *export, int n, ...)
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
  r = send_option (c, opt, b.data, b.len);
  bytes_free (&b);
  return r;
}

/* STARTTLS with the handshake; 0 when TLS is up. */
static int
start_tls (struct ctx *c)
{
  int64_t r = send_option (c, NBD_OPT_STARTTLS, NULL, 0);

  if (r == NBD_REP_ACK && !c->s->tls_up)
    c->last_sent[0] = '\0';      /* a failed handshake is not a lost reply */
  if (r != NBD_REP_ACK || !c->s->tls_up) {
    add_evidence (c, "STARTTLS: %s%s%s", r == NBD_REP_ACK ? "handshake failed" : reply_name (r),
         c->s->err.msg[0] ? ": " : "", c->s->err.msg);
    return -1;
  }
  return 0;
}

/* A fresh connection, with TLS first when the server forces it or the
 * user asked for TLS (and it works).
 */
static int
probe_connection (struct ctx *c)
{
  if (fresh_connection (c, -1) == -1)
    return -1;
  if (c->can_tls && (c->mode == MODE_FORCED || c->s->cfg.tls.required))
    return start_tls (c);
  return 0;
}

/* Sends R and reads its whole reply, paced and timed like an option. */
static int
send_xreq (struct ctx *c, const struct xreq *r, struct xresult *res)
{
  int64_t t0;
  int ret;

  if (c->s->phase != PHASE_TRANSMISSION)
    return -1;
  session_clear_error (c->s);
  snprintf (c->last_sent, sizeof c->last_sent, "%s",
            nbd_name_or_unknown (nbd_cmd_names, r->type));
  pace (c);
  t0 = transport_now_ms ();
  ret = session_request (c->s, r, res);
  if (ret == 0)
    took (c, t0);
  return ret;
}

static int
send_request (struct ctx *c, uint16_t type, uint16_t flags, uint64_t off,
         uint64_t len, struct xresult *res)
{
  struct xreq r = { .type = type, .flags = flags, .offset = off,
                    .length = len };

  return send_xreq (c, &r, res);
}

/* The length of a probe's request: 512 bytes, or the whole export when
 * it is smaller.
 */
static uint64_t
small_length (struct ctx *c)
{
  return c->size >= 512 ? 512 : c->size;
}

/* ------------------------------------------------------------ probes */

/* The start of the STARTTLS state-reset probes: fresh, structured
 * replies, then TLS.  Returns 0 to go on, or -1 with the verdict in *V
 * (SKIP when the probe does not apply).
 */
static int
sr_then_starttls (struct ctx *c, enum verdict *v)
{
  int64_t r;

  *v = V_ERROR;
  if (fresh_connection (c, -1) == -1)
    return -1;
  r = send_option (c, NBD_OPT_STRUCTURED_REPLY, NULL, 0);
  if (r == NBD_REP_ERR_TLS_REQD) {
    add_evidence (c, "not applicable (FORCEDTLS): SR before TLS got "
         "NBD_REP_ERR_TLS_REQD, so no state can leak");
    *v = V_SKIP;
    return -1;
  }
  if (r != NBD_REP_ACK) {
    add_evidence (c, "structured replies not supported (%s)", reply_name (r));
    *v = V_SKIP;
    return -1;
  }
  return start_tls (c);
}

static enum verdict
p_tls_reset_sr_df (struct ctx *c)
{
  enum verdict v;
  int64_t r;

  if (sr_then_starttls (c, &v) == -1)
    return v;
  r = send_info (c, NBD_OPT_INFO, c->export, 0xffff);
  if (r != NBD_REP_ACK)
    return conclude (c, V_ERROR, "INFO after STARTTLS: %s", reply_name (r));
  if (c->s->cur.tflags & NBD_FLAG_SEND_DF) {
    uint16_t fl = c->s->cur.tflags;

    /* The control: without any structured reply request, is DF set? */
    end_politely (c);
    if (fresh_connection (c, -1) == 0 && start_tls (c) == 0
        && send_info (c, NBD_OPT_INFO, c->export, 0xffff) == NBD_REP_ACK
        && (c->s->cur.tflags & NBD_FLAG_SEND_DF))
      return conclude (c, V_FLAG, "sr; starttls; info: flags 0x%04x set SEND_DF, but so "
                  "does starttls; info with no structured reply request at "
                  "all (df-without-sr, not state kept across STARTTLS)",
                  fl);
    return conclude (c, V_FLAG, "sr; starttls; info: NBD_INFO_EXPORT flags 0x%04x set "
                "SEND_DF: the pre-TLS structured reply request was kept",
                fl);
  }
  add_evidence (c, "sr; starttls; info: flags 0x%04x, SEND_DF clear",
       c->s->cur.tflags);
  return V_PASS;
}

static enum verdict
p_tls_reset_sr_read (struct ctx *c)
{
  struct xresult res;
  enum verdict v;
  int64_t r;

  if (sr_then_starttls (c, &v) == -1)
    return v;
  r = send_info (c, NBD_OPT_GO, c->export, 0xffff);
  if (r != NBD_REP_ACK)
    return conclude (c, V_ERROR, "GO after STARTTLS: %s", reply_name (r));
  if (send_request (c, NBD_CMD_READ, 0, 0, small_length (c), &res) == -1)
    return conclude (c, V_ERROR, "READ: %s", c->s->err.msg);
  if (res.form == 1) {
    /* The control: without any structured reply request? */
    end_politely (c);
    if (fresh_connection (c, -1) == 0 && start_tls (c) == 0
        && send_info (c, NBD_OPT_GO, c->export, 0xffff) == NBD_REP_ACK
        && send_request (c, NBD_CMD_READ, 0, 0, small_length (c), &res) == 0
        && res.form == 1)
      return conclude (c, V_FLAG, "sr; starttls; go; read: a structured reply, but so "
                  "does starttls; go; read with no structured reply "
                  "request at all (sr-not-negotiated, not state kept "
                  "across STARTTLS)");
    return conclude (c, V_FLAG, "sr; starttls; go; read: a structured reply although "
                "structured replies were only negotiated before STARTTLS "
                "(the CVE-2021-3716 pattern)");
  }
  if (res.form != 0)
    return conclude (c, V_ERROR, "reply form %d", res.form);
  add_evidence (c, "sr; starttls; go; read: a simple reply");
  return V_PASS;
}

static enum verdict
p_tls_sr_again (struct ctx *c)
{
  struct xresult res;
  enum verdict v;
  int64_t r;

  if (sr_then_starttls (c, &v) == -1)
    return v;
  r = send_option (c, NBD_OPT_STRUCTURED_REPLY, NULL, 0);
  if (r == NBD_REP_ERR_INVALID)
    return conclude (c, V_FLAG, "sr; starttls; sr: the second SR got NBD_REP_ERR_INVALID "
                "as if the first were still in force");
  if (r != NBD_REP_ACK)
    return conclude (c, V_WARN, "sr after STARTTLS: %s", reply_name (r));
  r = send_info (c, NBD_OPT_GO, c->export, 0xffff);
  if (r != NBD_REP_ACK)
    return conclude (c, V_ERROR, "GO: %s", reply_name (r));
  if (send_request (c, NBD_CMD_READ, 0, 0, small_length (c), &res) == -1)
    return conclude (c, V_ERROR, "READ: %s", c->s->err.msg);
  if (res.form != 1)
    return conclude (c, V_FLAG, "structured replies negotiated after "
                     "STARTTLS, but READ got a %s reply",
                     res.form == 0 ? "simple" : "strange");
  add_evidence (c, "sr; starttls; sr → ACK; go; read → structured reply");
  return V_PASS;
}

/* Block status after GO: did a chunk come for context K? */
static enum verdict
block_status_for (struct ctx *c, uint32_t k, bool want, const char *what)
{
  struct xresult res;
  size_t i;
  bool got = false;

  if (send_request (c, NBD_CMD_BLOCK_STATUS, 0, 0, small_length (c) ? small_length (c) : 1,
               &res) == -1) {
    if (!want && c->s->phase == PHASE_DISCONNECTED)
      return conclude (c, V_PASS, "%s: the server hard-disconnected "
                       "(allowed: the client broke a MUST)", what);
    return conclude (c, V_ERROR, "%s: %s", what, c->s->err.msg);
  }
  for (i = 0; i < res.nstatus && i < 8; i++)
    if (res.status_ctx[i] == k)
      got = true;
  if (want && !got)
    return conclude (c, V_FLAG, "%s: no block status for context id %" PRIu32,
                     what, k);
  if (!want && got)
    return conclude (c, V_FLAG, "%s: block status for context id %" PRIu32
                     ", which must no longer be in force", what, k);
  if (!want && res.nstatus)
    return conclude (c, V_FLAG, "%s: block status for context ids never "
                     "negotiated", what);
  add_evidence (c, "%s: %s", what, want ? "block status for the context"
       : res.error ? "an error, as expected" : "no block status");
  return V_PASS;
}

static uint32_t
first_context_id (struct ctx *c)
{
  return c->s->cur.nctx ? c->s->cur.ctx[0].id : 0xffffffff;
}

/* Structured replies and the base:allocation context, as the meta
 * probes need them.  0, or -1 with the evidence of what failed.
 */
static int
sr_and_base_allocation (struct ctx *c)
{
  int64_t r = send_option (c, NBD_OPT_STRUCTURED_REPLY, NULL, 0);

  if (r != NBD_REP_ACK) {
    add_evidence (c, "sr: %s", reply_name (r));
    return -1;
  }
  r = send_meta (c, NBD_OPT_SET_META_CONTEXT, c->export, 1, "base:allocation");
  if (r != NBD_REP_ACK || c->s->cur.nctx == 0) {
    add_evidence (c, "smc base:allocation: %s with %zu context(s)", reply_name (r),
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

  if (fresh_connection (c, -1) == -1)
    return V_ERROR;
  r = send_option (c, NBD_OPT_STRUCTURED_REPLY, NULL, 0);
  if (r == NBD_REP_ERR_TLS_REQD)
    return conclude (c, V_SKIP, "not applicable (FORCEDTLS)");
  r = send_meta (c, NBD_OPT_SET_META_CONTEXT, c->export, 1, "base:allocation");
  if (r != NBD_REP_ACK || c->s->cur.nctx == 0)
    return conclude (c, V_SKIP, "SET_META_CONTEXT before TLS: %s", reply_name (r));
  k = first_context_id (c);
  if (start_tls (c) == -1)
    return V_ERROR;
  if (send_option (c, NBD_OPT_STRUCTURED_REPLY, NULL, 0) != NBD_REP_ACK
      || send_info (c, NBD_OPT_GO, c->export, 0xffff) != NBD_REP_ACK)
    return conclude (c, V_ERROR, "sr; go after STARTTLS failed");
  return block_status_for (c, k, false, "sr; smc base:allocation; starttls; sr; "
                     "go; block-status");
}

static enum verdict
p_tls_meta_after (struct ctx *c)
{
  if (fresh_connection (c, -1) == -1 || start_tls (c) == -1)
    return V_ERROR;
  if (sr_and_base_allocation (c) == -1)
    return V_ERROR;
  if (send_info (c, NBD_OPT_GO, c->export, 0xffff) != NBD_REP_ACK)
    return conclude (c, V_ERROR, "GO failed");
  return block_status_for (c, first_context_id (c), true,
                     "starttls; sr; smc; go; block-status");
}

static enum verdict
p_tls_reset_mixed (struct ctx *c)
{
  int64_t r;
  bool acked;

  if (fresh_connection (c, -1) == -1)
    return V_ERROR;
  r = send_meta (c, NBD_OPT_SET_META_CONTEXT, c->export, 1, "base:allocation");
  if (r == NBD_REP_ERR_TLS_REQD)
    return conclude (c, V_SKIP, "not applicable (FORCEDTLS)");
  acked = r == NBD_REP_ACK && c->s->cur.nctx > 0;
  add_evidence (c, "smc before sr: %s", reply_name (r));
  if (start_tls (c) == -1)
    return V_ERROR;
  if (send_option (c, NBD_OPT_STRUCTURED_REPLY, NULL, 0) != NBD_REP_ACK
      || send_info (c, NBD_OPT_GO, c->export, 0xffff) != NBD_REP_ACK)
    return conclude (c, V_ERROR, "sr; go after STARTTLS failed");
  return block_status_for (c, acked ? c->s->prev.nctx ? c->s->prev.ctx[0].id : 0
                     : 0xfffffffe, false, "starttls; sr; go; block-status");
}

static enum verdict
p_tls_reset_eh (struct ctx *c)
{
  struct xresult res;
  int64_t r;

  if (fresh_connection (c, -1) == -1)
    return V_ERROR;
  r = send_option (c, NBD_OPT_EXTENDED_HEADERS, NULL, 0);
  if (r == NBD_REP_ERR_TLS_REQD)
    return conclude (c, V_SKIP, "not applicable (FORCEDTLS)");
  if (r != NBD_REP_ACK)
    return conclude (c, V_SKIP, "extended headers not supported (%s)", reply_name (r));
  if (start_tls (c) == -1)
    return V_ERROR;
  if (send_info (c, NBD_OPT_GO, c->export, 0xffff) != NBD_REP_ACK)
    return conclude (c, V_ERROR, "GO failed: %s", reply_name (c->s->last_reply));
  if (send_request (c, NBD_CMD_READ, 0, 0, small_length (c), &res) == -1) {
    if (c->s->phase == PHASE_DISCONNECTED)
      return conclude (c, V_FLAG, "eh; starttls; go; compact read: the server treated the "
                  "compact request as garbage and closed");
    return conclude (c, V_ERROR, "READ: %s", c->s->err.msg);
  }
  if (res.form == 2)
    return conclude (c, V_FLAG, "eh; starttls; go; compact read: an extended reply: the "
                "pre-TLS extended headers were kept");
  add_evidence (c, "eh; starttls; go; compact read: a %s reply",
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
  if (fresh_connection (c, -1) == -1)
    return V_ERROR;
  r = send_info (c, NBD_OPT_INFO, before, NBD_INFO_NAME);
  if (r == NBD_REP_ERR_TLS_REQD && c->mode != MODE_FORCED
      && *c->export && strcmp (before, c->export) != 0) {
    /* That one is TLS-only: the target export may work before TLS. */
    before = c->export;
    after = "";
    r = send_info (c, NBD_OPT_INFO, before, NBD_INFO_NAME);
  }
  if (r == NBD_REP_ERR_TLS_REQD)
    return conclude (c, V_SKIP, c->mode == MODE_FORCED ? "not applicable (FORCEDTLS)"
                : "export \"%s\" needs TLS", before);
  if (r != NBD_REP_ACK)
    return conclude (c, V_SKIP, "INFO before TLS: %s", reply_name (r));
  if (start_tls (c) == -1)
    return V_ERROR;
  r = send_info (c, NBD_OPT_INFO, after, NBD_INFO_NAME);
  add_evidence (c, "info \"%s\"; starttls; info \"%s\" --name: %s", before, after,
       reply_name (r));
  if (r == NBD_REP_ACK && c->s->cur.canonical_name && *before
      && strcmp (c->s->cur.canonical_name, before) == 0)
    return conclude (c, V_FLAG, "NBD_INFO_NAME \"%s\" is the export asked about before "
                "STARTTLS", c->s->cur.canonical_name);
  if (c->s->cur.canonical_name)
    add_evidence (c, "NBD_INFO_NAME \"%s\"", c->s->cur.canonical_name);
  return V_PASS;
}

static enum verdict
p_starttls_twice (struct ctx *c)
{
  int64_t r;

  if (fresh_connection (c, -1) == -1 || start_tls (c) == -1)
    return V_ERROR;
  r = send_option (c, NBD_OPT_STARTTLS, NULL, 0);
  add_evidence (c, "second STARTTLS: %s", reply_name (r));
  if (r == NBD_REP_ACK || r < 0)
    return V_FLAG;
  if (send_info (c, NBD_OPT_GO, c->export, 0xffff) != NBD_REP_ACK)
    return conclude (c, V_FLAG, "GO after the refused STARTTLS failed: %s",
                reply_name (c->s->last_reply));
  add_evidence (c, "GO still works");
  return r == NBD_REP_ERR_INVALID ? V_PASS : V_WARN;
}

static enum verdict
p_starttls_payload (struct ctx *c)
{
  static const uint8_t junk[4] = { 1, 2, 3, 4 };
  int64_t r;

  c->malformed = true;
  if (fresh_connection (c, -1) == -1)
    return V_ERROR;
  c->s->cfg.no_auto_tls = true;
  r = send_option (c, NBD_OPT_STARTTLS, junk, 4);
  c->s->cfg.no_auto_tls = false;
  add_evidence (c, "STARTTLS with 4 bytes of data: %s", reply_name (r));
  if (r == R_CLOSED)
    return conclude (c, V_PASS, "closing is tolerable: the client broke a MUST");
  if (r == NBD_REP_ACK)
    return conclude (c, V_WARN, "an ACK (the client MUST NOT send data; an error is "
                "expected)");
  /* The server SHOULD answer NBD_REP_ERR_INVALID; a server that reads
   * the length wrongly waits for data that never comes.
   */
  if (r == R_FAIL)
    return no_reply (c, V_WARN, "STARTTLS with 4 bytes of data");
  if (r < 0)
    return V_ERROR;
  if (c->s->phase == PHASE_DISCONNECTED)
    return conclude (c, V_PASS, "then the server closed: tolerable, the client broke a "
                "MUST");
  r = send_option (c, NBD_OPT_LIST, NULL, 0);
  if (r == R_CLOSED)
    return conclude (c, V_PASS, "then the server closed: tolerable, the client broke a "
                "MUST");
  if (r < 0 || (r != NBD_REP_ACK && !(r & NBD_REP_ERR_BIT)))
    return conclude (c, V_FLAG, "the next option did not parse (%s): the server did not "
                "consume exactly the 4 bytes", reply_name (r));
  add_evidence (c, "next LIST: %s", reply_name (r));
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

  c->malformed = true;
  if (fresh_connection (c, -1) == -1)
    return V_ERROR;
  c->s->cfg.no_auto_tls = true;
  r = send_option (c, NBD_OPT_STARTTLS, NULL, 0);
  c->s->cfg.no_auto_tls = false;
  if (r != NBD_REP_ACK)
    return conclude (c, V_ERROR, "STARTTLS: %s", reply_name (r));
  nbd_encode_option (&b, NBD_OPT_LIST, 0, NULL, 0);
  io = session_wr (c->s, b.data, b.len);
  bytes_free (&b);
  if (io != IO_OK)
    return conclude (c, V_PASS, "the server closed before the plaintext option");
  saved = c->s->cfg.timeout_ms;
  c->s->cfg.timeout_ms = saved < 2000 ? saved : 2000;
  io = session_rd (c->s, h, sizeof h);
  c->s->cfg.timeout_ms = saved;
  if (io == IO_OK && get_u64 (h) == NBD_OPT_REPLY_MAGIC)
    return conclude (c, V_FLAG, "STARTTLS → ACK, then a plaintext NBD_OPT_LIST was "
                "answered in plaintext");
  add_evidence (c, "STARTTLS → ACK, plaintext option: %s",
       io == IO_EOF || io == IO_SHORT ? "the server closed"
       : io == IO_TIMEOUT ? "no plaintext answer" : "a TLS record");
  session_hangup (c->s, NULL);
  return V_PASS;
}

/* FORCEDTLS: every option before TLS gets TLS_REQD. */
static enum verdict
forced_tls_refuses (struct ctx *c, uint32_t opt)
{
  int64_t r;

  if (fresh_connection (c, -1) == -1)
    return V_ERROR;
  switch (opt) {
  case NBD_OPT_INFO:
  case NBD_OPT_GO:
    r = send_info (c, opt, c->export, 0xffff);
    break;
  case NBD_OPT_LIST_META_CONTEXT:
  case NBD_OPT_SET_META_CONTEXT:
    r = send_meta (c, opt, c->export, 0);
    break;
  case 0x1234:
    r = send_option (c, opt, "abc", 3);
    break;
  default:
    r = send_option (c, opt, NULL, 0);
  }
  add_evidence (c, "%s before TLS: %s", nbd_name_or_unknown (nbd_opt_names, opt),
       reply_name (r));
  if (r != NBD_REP_ERR_TLS_REQD)
    return V_FLAG;
  if (c->s->last_nreplies)
    return conclude (c, V_FLAG, "%u NBD_REP_INFO before it", c->s->last_nreplies);
  if (opt == 0x1234) {
    /* The ACK is what is judged: the handshake that would follow needs
     * the client's credentials, which are not the server's business.
     */
    c->s->cfg.no_auto_tls = true;
    r = send_option (c, NBD_OPT_STARTTLS, NULL, 0);
    c->s->cfg.no_auto_tls = false;
    add_evidence (c, "then STARTTLS: %s", reply_name (r));
    if (r == NBD_REP_ACK)
      session_hangup (c->s, NULL);
    if (r == R_FAIL)
      return no_reply (c, V_FLAG, "STARTTLS");
    if (r != NBD_REP_ACK)
      return V_FLAG;
  }
  return V_PASS;
}

static enum verdict p_forced_list (struct ctx *c)
{ return forced_tls_refuses (c, NBD_OPT_LIST); }
static enum verdict p_forced_info (struct ctx *c)
{ return forced_tls_refuses (c, NBD_OPT_INFO); }
static enum verdict p_forced_go (struct ctx *c)
{ return forced_tls_refuses (c, NBD_OPT_GO); }
static enum verdict p_forced_sr (struct ctx *c)
{ return forced_tls_refuses (c, NBD_OPT_STRUCTURED_REPLY); }
static enum verdict p_forced_lmc (struct ctx *c)
{ return forced_tls_refuses (c, NBD_OPT_LIST_META_CONTEXT); }
static enum verdict p_forced_smc (struct ctx *c)
{ return forced_tls_refuses (c, NBD_OPT_SET_META_CONTEXT); }
static enum verdict p_forced_eh (struct ctx *c)
{ return forced_tls_refuses (c, NBD_OPT_EXTENDED_HEADERS); }
static enum verdict p_forced_unknown (struct ctx *c)
{ return forced_tls_refuses (c, 0x1234); }

static enum verdict
p_forced_export_name (struct ctx *c)
{
  int64_t r;

  if (fresh_connection (c, -1) == -1)
    return V_ERROR;
  r = send_option (c, NBD_OPT_EXPORT_NAME, c->export, strlen (c->export));
  if (c->s->phase == PHASE_TRANSMISSION)
    return conclude (c, V_FLAG, "EXPORT_NAME before TLS was answered with the export "
                "size and flags");
  add_evidence (c, "EXPORT_NAME before TLS: the connection was closed (%s)",
       r == R_FAIL ? "after a timeout" : "no export data");
  return r == R_FAIL ? V_ERROR : V_PASS;
}

static enum verdict
p_forced_abort (struct ctx *c)
{
  int64_t r;

  if (fresh_connection (c, -1) == -1)
    return V_ERROR;
  r = send_option (c, NBD_OPT_ABORT, NULL, 0);
  add_evidence (c, "ABORT before TLS: %s", reply_name (r));
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
judge_no_tls_reqd (const int64_t *r, int n)
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

  if (fresh_connection (c, -1) == -1 || start_tls (c) == -1)
    return V_ERROR;
  r[0] = send_info (c, NBD_OPT_INFO, "nbdcli-probe-no-such-export", 0xffff);
  r[1] = send_option (c, 0x1234, NULL, 0);
  r[2] = send_option (c, NBD_OPT_LIST, NULL, 0);
  add_evidence (c, "after TLS: INFO of a missing export → %s", reply_name (r[0]));
  add_evidence (c, "unknown option → %s", reply_name (r[1]));
  add_evidence (c, "LIST → %s", reply_name (r[2]));
  v = judge_no_tls_reqd (r, 3);
  if (v == V_PASS && r[1] != NBD_REP_ERR_UNSUP)
    return V_WARN;
  return v;
}

static enum verdict
p_selective_scope (struct ctx *c)
{
  int64_t r[4];

  if (fresh_connection (c, -1) == -1)
    return V_ERROR;
  r[0] = send_option (c, NBD_OPT_STRUCTURED_REPLY, NULL, 0);
  r[1] = send_option (c, NBD_OPT_LIST, NULL, 0);
  r[2] = send_meta (c, NBD_OPT_LIST_META_CONTEXT, c->export, 0);
  r[3] = send_option (c, 0x1234, NULL, 0);
  add_evidence (c, "before TLS: SR → %s", reply_name (r[0]));
  add_evidence (c, "LIST → %s", reply_name (r[1]));
  add_evidence (c, "LIST_META_CONTEXT → %s", reply_name (r[2]));
  add_evidence (c, "unknown → %s", reply_name (r[3]));
  return judge_no_tls_reqd (r, 4);
}

static enum verdict
p_notls_options (struct ctx *c)
{
  int64_t r[4];

  if (fresh_connection (c, -1) == -1)
    return V_ERROR;
  r[0] = send_option (c, NBD_OPT_STARTTLS, NULL, 0);
  if (r[0] == NBD_REP_ACK)
    return conclude (c, V_ERROR, "STARTTLS was accepted");
  r[1] = send_option (c, NBD_OPT_LIST, NULL, 0);
  r[2] = send_info (c, NBD_OPT_INFO, c->export, 0xffff);
  r[3] = send_option (c, 0x1234, NULL, 0);
  add_evidence (c, "STARTTLS → %s", reply_name (r[0]));
  add_evidence (c, "LIST → %s", reply_name (r[1]));
  add_evidence (c, "INFO → %s", reply_name (r[2]));
  add_evidence (c, "unknown → %s", reply_name (r[3]));
  /* A NOTLS server may refuse the options for other reasons; only
   * TLS_REQD is wrong here.
   */
  return judge_no_tls_reqd (r, 4) == V_FLAG ? V_FLAG : V_PASS;
}

static enum verdict
p_tls_needs_fixed (struct ctx *c)
{
  int64_t r;

  c->malformed = true;
  if (fresh_connection (c, 0) == -1)
    return V_ERROR;
  c->s->cfg.no_auto_tls = true;
  r = send_option (c, NBD_OPT_STARTTLS, NULL, 0);
  c->s->cfg.no_auto_tls = false;
  add_evidence (c, "client flags 0 (not fixed newstyle), STARTTLS → %s", reply_name (r));
  if (r == NBD_REP_ACK || r == NBD_REP_ERR_TLS_REQD)
    return V_FLAG;
  return r == R_FAIL ? V_ERROR : V_PASS;
}

static enum verdict
p_forced_consistent (struct ctx *c)
{
  int64_t r1, r2, r3;

  if (fresh_connection (c, -1) == -1)
    return V_ERROR;
  r1 = send_option (c, NBD_OPT_LIST, NULL, 0);
  r2 = send_option (c, 0x1234, NULL, 0);
  r3 = send_option (c, NBD_OPT_LIST, NULL, 0);
  add_evidence (c, "LIST → %s", reply_name (r1));
  add_evidence (c, "unknown → %s", reply_name (r2));
  add_evidence (c, "LIST → %s", reply_name (r3));
  return r1 == NBD_REP_ERR_TLS_REQD && r2 == r1 && r3 == r1 ? V_PASS
    : V_FLAG;
}

static enum verdict
p_meta_before_sr (struct ctx *c)
{
  int64_t r;
  bool acked;
  enum verdict v;

  if (probe_connection (c) == -1)
    return V_ERROR;
  r = send_meta (c, NBD_OPT_SET_META_CONTEXT, c->export, 1, "base:allocation");
  acked = r == NBD_REP_ACK && c->s->cur.nctx > 0;
  add_evidence (c, "smc base:allocation without sr: %s%s", reply_name (r),
       acked ? " with a context" : "");
  if (send_option (c, NBD_OPT_STRUCTURED_REPLY, NULL, 0) != NBD_REP_ACK
      || send_info (c, NBD_OPT_GO, c->export, 0xffff) != NBD_REP_ACK)
    return conclude (c, V_ERROR, "sr; go failed");
  v = block_status_for (c, 0xfffffffe, false, "sr; go; block-status");
  if (v == V_FLAG)
    return V_WARN;              /* the rule is a SHOULD */
  if (v == V_PASS && acked)
    return conclude (c, V_WARN, "the SET should have been refused with "
                "NBD_REP_ERR_INVALID");
  return v;
}

static enum verdict
p_meta_replaced (struct ctx *c)
{
  uint32_t k;

  if (probe_connection (c) == -1)
    return V_ERROR;
  if (sr_and_base_allocation (c) == -1)
    return V_ERROR;
  k = first_context_id (c);
  if (send_meta (c, NBD_OPT_SET_META_CONTEXT, c->export, 0) != NBD_REP_ACK)
    return conclude (c, V_ERROR, "the empty SET: %s", reply_name (c->s->last_reply));
  if (send_info (c, NBD_OPT_GO, c->export, 0xffff) != NBD_REP_ACK)
    return conclude (c, V_ERROR, "GO failed");
  return block_status_for (c, k, false, "smc base:allocation; smc (none); go; "
                     "block-status");
}

static enum verdict
p_meta_failed_set (struct ctx *c)
{
  struct bytes b = { 0 };
  uint32_t k;
  int64_t r;

  c->malformed = true;
  if (probe_connection (c) == -1)
    return V_ERROR;
  if (sr_and_base_allocation (c) == -1)
    return V_ERROR;
  k = first_context_id (c);
  /* A query whose length runs past the option. */
  bytes_put_u32 (&b, strlen (c->export));
  bytes_put (&b, c->export, strlen (c->export));
  bytes_put_u32 (&b, 1);
  bytes_put_u32 (&b, 100);
  bytes_put (&b, "bas", 3);
  r = send_option (c, NBD_OPT_SET_META_CONTEXT, b.data, b.len);
  bytes_free (&b);
  add_evidence (c, "a SET whose query runs past the option: %s", reply_name (r));
  if (r < 0)
    return r == R_CLOSED ? V_PASS : V_ERROR;
  if (r != NBD_REP_ERR_INVALID)
    return V_FLAG;
  if (send_info (c, NBD_OPT_GO, c->export, 0xffff) != NBD_REP_ACK)
    return conclude (c, V_ERROR, "GO failed");
  return block_status_for (c, k, false, "go; block-status");
}

static enum verdict
p_meta_export_binding (struct ctx *c)
{
  uint32_t k;
  enum verdict v;

  if (!c->other_export)
    return conclude (c, V_SKIP, "needs a second export (the server lists one)");
  if (probe_connection (c) == -1)
    return V_ERROR;
  if (sr_and_base_allocation (c) == -1)
    return V_ERROR;
  k = first_context_id (c);
  if (send_info (c, NBD_OPT_GO, c->other_export, 0xffff) != NBD_REP_ACK)
    return conclude (c, V_ERROR, "GO \"%s\" failed", c->other_export);
  v = block_status_for (c, k, false, "smc for one export; go another; "
                  "block-status");
  return v == V_FLAG ? V_WARN : v;
}

static enum verdict
p_meta_list_rules (struct ctx *c)
{
  int64_t r;
  size_t i;
  bool base = false;

  if (probe_connection (c) == -1)
    return V_ERROR;
  send_option (c, NBD_OPT_STRUCTURED_REPLY, NULL, 0);
  r = send_meta (c, NBD_OPT_LIST_META_CONTEXT, c->export, 1, "nosuchns:foo");
  add_evidence (c, "lmc nosuchns:foo: %s after %u context(s)", reply_name (r),
       c->s->last_nreplies);
  if (r == NBD_REP_ACK && c->s->last_nreplies)
    return V_FLAG;
  r = send_meta (c, NBD_OPT_LIST_META_CONTEXT, c->export, 1, "base:");
  for (i = 0; i < c->s->learned.ncontexts; i++)
    if (strcmp (c->s->learned.contexts[i], "base:allocation") == 0)
      base = true;
  add_evidence (c, "lmc base: → %s, %u context(s)%s", reply_name (r), c->s->last_nreplies,
       base ? " including base:allocation" : "");
  if (r == NBD_REP_ACK && c->meta && !base)
    return V_FLAG;
  r = send_meta (c, NBD_OPT_SET_META_CONTEXT, c->export, 1, "base:");
  add_evidence (c, "smc base: → %s with %zu context(s)", reply_name (r), c->s->cur.nctx);
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

  if (probe_connection (c) == -1)
    return V_ERROR;
  send_option (c, NBD_OPT_STRUCTURED_REPLY, NULL, 0);
  /* Two contexts the server offers, from a LIST with no query. */
  r = send_meta (c, NBD_OPT_LIST_META_CONTEXT, c->export, 0);
  if (r != NBD_REP_ACK)
    return conclude (c, V_ERROR, "lmc: %s", reply_name (r));
  for (i = 0; i < c->s->learned.ncontexts && !b; i++)
    if (!a)
      a = c->s->learned.contexts[i];
    else if (strcmp (c->s->learned.contexts[i], a) != 0)
      b = c->s->learned.contexts[i];
  if (!b)
    return conclude (c, V_SKIP, "the server offers fewer than two contexts");
  r = send_meta (c, NBD_OPT_SET_META_CONTEXT, c->export, 2, a, b);
  add_evidence (c, "smc %s %s → %s, %zu context(s)", a, b, reply_name (r),
       c->s->cur.nctx);
  if (r != NBD_REP_ACK)
    return V_ERROR;
  if (c->s->cur.nctx == 2 && c->s->cur.ctx[0].id == c->s->cur.ctx[1].id)
    return conclude (c, V_FLAG, "both got id %" PRIu32, c->s->cur.ctx[0].id);
  return V_PASS;
}

static enum verdict
p_meta_status (struct ctx *c)
{
  struct xresult res;

  if (probe_connection (c) == -1)
    return V_ERROR;
  if (sr_and_base_allocation (c) == -1)
    return V_ERROR;
  if (send_info (c, NBD_OPT_GO, c->export, 0xffff) != NBD_REP_ACK)
    return conclude (c, V_ERROR, "GO: %s", c->s->err.msg[0] ? c->s->err.msg
                     : reply_name (c->s->last_reply));
  if (send_request (c, NBD_CMD_BLOCK_STATUS, 0, 0, c->size ? c->size : 1, &res)
      == -1
      || send_request (c, NBD_CMD_BLOCK_STATUS, NBD_CMD_FLAG_REQ_ONE, 0,
                  c->size ? c->size : 1, &res) == -1)
    return conclude (c, V_ERROR, "block status: %s", c->s->err.msg);
  add_evidence (c, "block-status and block-status --req-one: %zu chunk(s), checked "
       "by the engine", res.nstatus);
  return res.nstatus == 1 ? V_PASS : V_FLAG;
}

static enum verdict
p_client_flags_unknown (struct ctx *c)
{
  int64_t r;

  c->malformed = true;
  if (fresh_connection (c, NBD_FLAG_C_FIXED_NEWSTYLE | 0x4) == -1)
    return V_ERROR;
  r = send_option (c, NBD_OPT_LIST, NULL, 0);
  add_evidence (c, "client flags 0x5 (unknown bit 2), then LIST: %s", reply_name (r));
  return r == R_CLOSED ? V_PASS : r == R_FAIL ? V_ERROR : V_FLAG;
}

static enum verdict
p_client_no_zeroes_unoffered (struct ctx *c)
{
  int64_t r;

  c->malformed = true;
  if (c->server_no_zeroes)
    return conclude (c, V_SKIP, "the server offers NO_ZEROES");
  if (fresh_connection (c, NBD_FLAG_C_FIXED_NEWSTYLE | NBD_FLAG_C_NO_ZEROES) == -1)
    return V_ERROR;
  r = send_option (c, NBD_OPT_LIST, NULL, 0);
  add_evidence (c, "C_NO_ZEROES without the server's NO_ZEROES, then LIST: %s",
       reply_name (r));
  return r == R_CLOSED ? V_PASS : r == R_FAIL ? V_ERROR : V_FLAG;
}

/* EXPORT_NAME with the given client flags: how many bytes came? */
static enum verdict
export_name_len (struct ctx *c, uint32_t cflags, size_t want)
{
  int64_t r;
  int saved;

  c->malformed = true;          /* the byte count is judged, not a reply */
  if (fresh_connection (c, cflags) == -1)
    return V_ERROR;
  if (c->can_tls && (c->mode == MODE_FORCED || c->s->cfg.tls.required)
      && start_tls (c) == -1)
    return V_ERROR;
  saved = c->s->cfg.timeout_ms;
  c->s->cfg.timeout_ms = saved < 2000 ? saved : 2000;
  r = send_option (c, NBD_OPT_EXPORT_NAME, c->export, strlen (c->export));
  c->s->cfg.timeout_ms = saved;
  if (c->s->phase != PHASE_TRANSMISSION) {
    if (r == R_FAIL && want == 134)
      return conclude (c, V_FLAG, "client flags 0x%x: fewer than 134 bytes arrived "
                  "(the padding is missing)", cflags);
    /* Refusing an export is the server's right (it closes: there is no
     * error reply to NBD_OPT_EXPORT_NAME): nothing to judge.
     */
    return conclude (c, r == R_CLOSED ? V_SKIP : V_ERROR, "EXPORT_NAME "
                     "refused: %s", reply_name (r));
  }
  if (want == 10 && transport_pending (&c->s->t) > 0)
    return conclude (c, V_FLAG, "client flags 0x%x: more than 10 bytes arrived (padding "
                "although NO_ZEROES was agreed)", cflags);
  add_evidence (c, "client flags 0x%x: %zu bytes", cflags, want);
  return V_PASS;
}

static enum verdict
p_no_zeroes (struct ctx *c)
{
  enum verdict v;

  v = export_name_len (c, c->fixed ? NBD_FLAG_C_FIXED_NEWSTYLE : 0, 134);
  end_politely (c);
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

  if (probe_connection (c) == -1)
    return V_ERROR;
  r = send_option (c, 0x1234, "1234567", 7);
  add_evidence (c, "option 0x1234 with 7 bytes: %s", reply_name (r));
  if (r < 0 || r == NBD_REP_ACK)
    return V_FLAG;
  r = send_option (c, NBD_OPT_LIST, NULL, 0);
  add_evidence (c, "next LIST: %s", reply_name (r));
  if (r < 0)
    return V_FLAG;
  return r != NBD_REP_ERR_UNSUP
    && r != NBD_REP_ACK && !(r & NBD_REP_ERR_BIT) ? V_FLAG : V_PASS;
}

static enum verdict
p_option_data (struct ctx *c)
{
  int64_t r1, r2;

  c->malformed = true;
  if (probe_connection (c) == -1)
    return V_ERROR;
  r1 = send_option (c, NBD_OPT_LIST, "abcd", 4);
  r2 = send_option (c, NBD_OPT_STRUCTURED_REPLY, "abcd", 4);
  add_evidence (c, "LIST with data: %s", reply_name (r1));
  add_evidence (c, "STRUCTURED_REPLY with data: %s", reply_name (r2));
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

  if (probe_connection (c) == -1)
    return V_ERROR;
  struct xresult res;

  /* With NBD_INFO_BLOCK_SIZE, so the engine checks the sizes too. */
  if (send_info (c, NBD_OPT_INFO, c->export, NBD_INFO_BLOCK_SIZE)
      != NBD_REP_ACK)
    return conclude (c, V_ERROR, "INFO: %s", c->s->err.msg[0] ? c->s->err.msg
                     : reply_name (c->s->last_reply));
  size = c->s->cur.size;
  fl = c->s->cur.tflags;
  if (send_info (c, NBD_OPT_GO, c->export, NBD_INFO_BLOCK_SIZE) != NBD_REP_ACK)
    return conclude (c, V_ERROR, "GO: %s", c->s->err.msg[0] ? c->s->err.msg
                     : reply_name (c->s->last_reply));
  add_evidence (c, "INFO: size %" PRIu64 " flags 0x%04x; GO: size %" PRIu64
       " flags 0x%04x", size, fl, c->s->cur.size, c->s->cur.tflags);
  if (size != c->s->cur.size || fl != c->s->cur.tflags)
    return V_FLAG;
  /* A READ without structured replies: the engine checks its form. */
  if (c->size && send_request (c, NBD_CMD_READ, 0, 0, small_length (c), &res) == 0)
    add_evidence (c, "read: a %s reply", res.form == 0 ? "simple" : "structured");
  return V_PASS;
}

static enum verdict
p_repeated_sr (struct ctx *c)
{
  int64_t r1, r2;

  if (probe_connection (c) == -1)
    return V_ERROR;
  r1 = send_option (c, NBD_OPT_STRUCTURED_REPLY, NULL, 0);
  r2 = send_option (c, NBD_OPT_STRUCTURED_REPLY, NULL, 0);
  /* LIST after them catches any extra reply the server still owes. */
  send_option (c, NBD_OPT_LIST, NULL, 0);
  add_evidence (c, "sr → %s; sr → %s", reply_name (r1), reply_name (r2));
  if (r1 != NBD_REP_ACK)
    return V_SKIP;
  return r2 == NBD_REP_ACK || r2 == NBD_REP_ERR_INVALID ? V_PASS : V_WARN;
}

static enum verdict
p_disc (struct ctx *c)
{
  struct xresult res;

  if (probe_connection (c) == -1)
    return V_ERROR;
  if (send_info (c, NBD_OPT_GO, c->export, 0xffff) != NBD_REP_ACK)
    return conclude (c, V_ERROR, "GO: %s", c->s->err.msg[0] ? c->s->err.msg
                     : reply_name (c->s->last_reply));
  send_request (c, NBD_CMD_DISC, 0, 0, 0, &res);
  add_evidence (c, "go; disc%s: checked by the engine (no reply, then close)",
       c->s->epoch ? " inside TLS" : "");
  return V_PASS;
}

/* The greeting, judged by the engine (magic, flags, and for oldstyle the
 * export size and transmission flags): the one thing every server sends.
 */
static enum verdict
p_greeting (struct ctx *c)
{
  struct session *s = c->s;
  char buf[256];

  if (session_connect (s) == -1)
    return conclude (c, V_ERROR, "cannot connect: %s", s->err.msg);
  if (s->oldstyle)
    return conclude (c, V_PASS, "oldstyle: export size %" PRIu64 ", "
                     "transmission flags 0x%04x (%s)", s->cur.size,
                     s->cur.tflags, nbd_flags_str (nbd_tflag_names,
                                                   s->cur.tflags, buf,
                                                   sizeof buf));
  return conclude (c, V_PASS, "newstyle, handshake flags 0x%04x (%s)",
                   s->hs_flags, nbd_flags_str (nbd_hs_flag_names, s->hs_flags,
                                               buf, sizeof buf));
}

static enum verdict
p_abort (struct ctx *c)
{
  int64_t r;

  if (probe_connection (c) == -1)
    return V_ERROR;
  r = send_option (c, NBD_OPT_ABORT, NULL, 0);
  add_evidence (c, "ABORT: %s", reply_name (r));
  if (r == NBD_REP_ACK || r == R_CLOSED)
    return V_PASS;
  return r == R_FAIL ? V_ERROR : V_FLAG;
}


/* ------------------------------------------- transmission error rules */

/* A connection in transmission: TLS where it is forced or required,
 * then (when WANT_SR and offered) structured replies, then GO.
 */
static int
go_connection (struct ctx *c, bool want_sr)
{
  int64_t r;

  if (probe_connection (c) == -1)
    return -1;
  if (want_sr && c->sr
      && send_option (c, NBD_OPT_STRUCTURED_REPLY, NULL, 0) != NBD_REP_ACK) {
    add_evidence (c, "sr: %s", reply_name (c->s->last_reply));
    return -1;
  }
  r = send_info (c, NBD_OPT_GO, c->export, 0xffff);
  if (r != NBD_REP_ACK) {
    add_evidence (c, "GO: %s", c->s->err.msg[0] ? c->s->err.msg
                  : reply_name (r));
    return -1;
  }
  return 0;
}

/* The verdict on a request that SHOULD fail with error WANT: PASS when
 * it did, WARN when it failed otherwise or succeeded.
 */
static enum verdict
judge_should_fail (struct ctx *c, const struct xresult *res, uint32_t want,
                   const char *what)
{
  const char *got = nbd_name_of (nbd_error_names, res->errval);

  if (!res->error)
    return conclude (c, V_WARN, "%s succeeded (it SHOULD fail with %s)",
                     what, nbd_name_of (nbd_error_names, want));
  if (res->errval != want)
    return conclude (c, V_WARN, "%s failed with %s (it SHOULD be %s)", what,
                     got ? got : "an undefined error",
                     nbd_name_of (nbd_error_names, want));
  return conclude (c, V_PASS, "%s failed with %s", what, got);
}

static enum verdict
p_read_past_end (struct ctx *c)
{
  struct xresult res;

  if (go_connection (c, true) == -1)
    return V_ERROR;
  /* The end as GO gave it (INFO may have said otherwise). */
  if (send_request (c, NBD_CMD_READ, 0, c->s->cur.size, 512, &res) == -1)
    return conclude (c, V_ERROR, "READ: %s", c->s->err.msg);
  return judge_should_fail (c, &res, NBD_EINVAL, "a READ of 512 bytes at "
                            "the end of the export");
}

/* A request the client should not send (an unknown command or flag):
 * it SHOULD fail with NBD_EINVAL; a server may also hard-disconnect.
 */
static enum verdict
judge_bad_request (struct ctx *c, uint16_t type, uint16_t flags,
                   uint64_t len, const char *what)
{
  struct xresult res;

  if (go_connection (c, false) == -1)
    return V_ERROR;
  c->malformed = true;
  if (send_request (c, type, flags, 0, len, &res) == -1) {
    if (c->s->phase == PHASE_DISCONNECTED && c->s->err.kind == ERR_CLOSED)
      return conclude (c, V_PASS, "%s: the server closed the connection "
                       "(tolerable)", what);
    return conclude (c, V_ERROR, "%s: %s", what, c->s->err.msg);
  }
  return judge_should_fail (c, &res, NBD_EINVAL, what);
}

static enum verdict
p_unknown_command (struct ctx *c)
{
  return judge_bad_request (c, 0x1f, 0, 0, "command 31 (unknown)");
}

static enum verdict
p_unknown_command_flag (struct ctx *c)
{
  return judge_bad_request (c, NBD_CMD_READ, 0x8000, small_length (c),
                            "a READ with the unknown flag 0x8000");
}

static enum verdict
p_zero_length_read (struct ctx *c)
{
  struct xresult res;

  if (go_connection (c, false) == -1)
    return V_ERROR;
  if (send_request (c, NBD_CMD_READ, 0, 0, 0, &res) == -1)
    return conclude (c, c->s->err.kind == ERR_CLOSED ? V_WARN : V_ERROR,
                     "a READ of 0 bytes: %s (the server SHOULD NOT "
                     "disconnect)", c->s->err.msg);
  add_evidence (c, "a READ of 0 bytes: %s", res.error ? "an error" : "ok");
  if (send_request (c, NBD_CMD_READ, 0, 0, small_length (c), &res) == -1)
    return conclude (c, V_WARN, "the READ after it: %s", c->s->err.msg);
  return conclude (c, V_PASS, "the READ after it works");
}

static enum verdict
p_readonly_write (struct ctx *c)
{
  struct xreq r = { .type = NBD_CMD_WRITE, .offset = 0, .length = 512 };
  static const uint8_t zero[512];
  struct xresult res;

  if (!(c->tflags & NBD_FLAG_READ_ONLY))
    return conclude (c, V_SKIP, "the export is writable: the audit never "
                     "writes to it");
  if (go_connection (c, false) == -1)
    return V_ERROR;
  r.payload = zero;
  r.payload_len = sizeof zero;
  if (c->s->cur.eh)
    r.flags |= NBD_CMD_FLAG_PAYLOAD_LEN;
  if (send_xreq (c, &r, &res) == -1)
    return conclude (c, V_ERROR, "WRITE: %s", c->s->err.msg);
  if (!res.error)
    return conclude (c, V_FLAG, "a WRITE to the read-only export "
                     "succeeded");
  return judge_should_fail (c, &res, NBD_EPERM, "a WRITE to the read-only "
                            "export");
}

static enum verdict
p_sr_read (struct ctx *c)
{
  struct xresult res;

  if (go_connection (c, true) == -1)
    return V_ERROR;
  if (send_request (c, NBD_CMD_READ, 0, 0,
                    c->size < 65536 ? c->size : 65536, &res) == -1)
    return conclude (c, V_ERROR, "READ: %s", c->s->err.msg);
  if (res.form != 1)
    return conclude (c, V_FLAG, "a READ after sr got a %s reply",
                     res.form == 0 ? "simple" : "strange");
  add_evidence (c, "sr; go; read %" PRIu64 ": structured chunks, checked by "
                "the engine", c->size < 65536 ? c->size : 65536);
  if (c->tflags & NBD_FLAG_SEND_DF) {
    if (send_request (c, NBD_CMD_READ, NBD_CMD_FLAG_DF, 0,
                      c->size < 65536 ? c->size : 65536, &res) == -1)
      return conclude (c, V_ERROR, "DF READ: %s", c->s->err.msg);
    if (res.error && res.errval == NBD_EOVERFLOW)
      return conclude (c, V_FLAG, "a DF READ of at most 64 KiB got "
                       "NBD_EOVERFLOW (unfragmented reads up to 65536 "
                       "bytes MUST be supported)");
    add_evidence (c, "the same with DF: %s", res.error ? "an error"
                  : "one chunk");
  }
  return V_PASS;
}

/* LIST: every NBD_REP_SERVER well formed (the engine judges each). */
static enum verdict
p_list_exports (struct ctx *c)
{
  int64_t r;

  if (probe_connection (c) == -1)
    return V_ERROR;
  r = send_option (c, NBD_OPT_LIST, NULL, 0);
  if (r == R_FAIL)
    return no_reply (c, V_FLAG, "NBD_OPT_LIST");
  return conclude (c, r == NBD_REP_ACK || (r >= 0 && (r & NBD_REP_ERR_BIT))
                   ? V_PASS : V_FLAG, "LIST: %s after %u NBD_REP_SERVER, "
                   "checked by the engine", reply_name (r),
                   c->s->last_nreplies);
}

/* INFO asking for every info type: each NBD_REP_INFO well formed, the
 * block sizes consistent (the engine judges each).
 */
static enum verdict
p_info_requests (struct ctx *c)
{
  static const uint16_t reqs[] = { NBD_INFO_NAME, NBD_INFO_DESCRIPTION,
                                   NBD_INFO_BLOCK_SIZE };
  struct bytes b = { 0 };
  int64_t r;

  if (probe_connection (c) == -1)
    return V_ERROR;
  nbd_encode_info_payload (&b, c->export, reqs, 3);
  r = send_option (c, NBD_OPT_INFO, b.data, b.len);
  bytes_free (&b);
  if (r == R_FAIL)
    return no_reply (c, V_FLAG, "NBD_OPT_INFO");
  if (r != NBD_REP_ACK)
    return conclude (c, V_ERROR, "INFO with name, description and block "
                     "size requests: %s", reply_name (r));
  return conclude (c, V_PASS, "INFO with name, description and block size "
                   "requests: %u NBD_REP_INFO, checked by the engine",
                   c->s->last_nreplies);
}

/* NBD_FLAG_CAN_MULTI_CONN: a write and FLUSH on one connection must be
 * visible to a read on another.  It writes to the export (and puts the
 * data back), so it runs only when named.
 */
static enum verdict
p_multi_conn (struct ctx *c)
{
  struct session other;
  struct ctx c2 = *c;
  char why[512];
  enum mc_verdict mv;

  if (!c->named)
    return conclude (c, V_SKIP, "it writes to the export (and puts the "
                     "data back): name it to run it (check TARGET "
                     "multi-conn)");
  if (c->s->target.kind == TARGET_CMD)
    return conclude (c, V_SKIP, "a server command starts a server for "
                     "each connection: there is nothing to share");
  if (go_connection (c, false) == -1)
    return V_ERROR;
  session_init (&other);
  session_copy_settings (&other, c->s);
  other.cfg.timeout_ms = c->wait_ms;
  c2.s = &other;
  c2.ev[0] = '\0';
  if (go_connection (&c2, false) == -1) {
    session_free (&other);
    return conclude (c, V_ERROR, "the second connection: %s", c2.ev);
  }
  mv = multi_conn_verdict (c->s, &other, 0, why, sizeof why);
  session_disconnect (&other);
  session_free (&other);
  return conclude (c, mv == MC_PASS ? V_PASS : mv == MC_FLAG ? V_FLAG
                   : mv == MC_NOT_ADVERTISED ? V_SKIP : V_ERROR, "%s", why);
}

/* ------------------------------------------------- extended headers */

static enum verdict
p_eh_sr_after (struct ctx *c)
{
  int64_t r;

  if (probe_connection (c) == -1)
    return V_ERROR;
  if (send_option (c, NBD_OPT_EXTENDED_HEADERS, NULL, 0) != NBD_REP_ACK)
    return conclude (c, V_ERROR, "eh: %s", reply_name (c->s->last_reply));
  r = send_option (c, NBD_OPT_STRUCTURED_REPLY, NULL, 0);
  add_evidence (c, "eh; sr → %s", reply_name (r));
  if (r == NBD_REP_ERR_EXT_HEADER_REQD || r == NBD_REP_ACK)
    return V_PASS;
  return r < 0 ? V_ERROR : V_WARN;
}

static enum verdict
p_eh_replies (struct ctx *c)
{
  struct xresult res;
  uint64_t off = c->size >= 1024 ? 512 : 0;

  if (probe_connection (c) == -1)
    return V_ERROR;
  if (send_option (c, NBD_OPT_EXTENDED_HEADERS, NULL, 0) != NBD_REP_ACK)
    return conclude (c, V_ERROR, "eh: %s", reply_name (c->s->last_reply));
  if (send_info (c, NBD_OPT_GO, c->export, 0xffff) != NBD_REP_ACK)
    return conclude (c, V_ERROR, "GO: %s", c->s->err.msg[0] ? c->s->err.msg
                     : reply_name (c->s->last_reply));
  if (send_request (c, NBD_CMD_READ, 0, off, small_length (c), &res) == -1)
    return conclude (c, V_ERROR, "READ: %s", c->s->err.msg);
  if (res.form != 2)
    return conclude (c, V_FLAG, "eh; go; read at %" PRIu64 ": a %s reply",
                     off, res.form == 0 ? "simple" : "structured");
  add_evidence (c, "eh; go; read at offset %" PRIu64 ": an extended reply",
                off);
  if (c->s->cur.tflags & NBD_FLAG_SEND_FLUSH) {
    if (send_request (c, NBD_CMD_FLUSH, 0, 0, 0, &res) == -1)
      return conclude (c, V_ERROR, "FLUSH: %s", c->s->err.msg);
    if (res.form != 2)
      return conclude (c, V_FLAG, "flush: a %s reply", res.form == 0
                       ? "simple" : "structured");
    add_evidence (c, "flush: an extended reply");
  }
  return V_PASS;
}

static enum verdict
p_eh_block_status (struct ctx *c)
{
  struct xresult res;

  if (probe_connection (c) == -1)
    return V_ERROR;
  if (send_option (c, NBD_OPT_EXTENDED_HEADERS, NULL, 0) != NBD_REP_ACK)
    return conclude (c, V_ERROR, "eh: %s", reply_name (c->s->last_reply));
  if (send_meta (c, NBD_OPT_SET_META_CONTEXT, c->export, 1,
                 "base:allocation") != NBD_REP_ACK || c->s->cur.nctx == 0)
    return conclude (c, V_ERROR, "smc base:allocation: %s",
                     reply_name (c->s->last_reply));
  if (send_info (c, NBD_OPT_GO, c->export, 0xffff) != NBD_REP_ACK)
    return conclude (c, V_ERROR, "GO: %s", c->s->err.msg[0] ? c->s->err.msg
                     : reply_name (c->s->last_reply));
  if (send_request (c, NBD_CMD_BLOCK_STATUS, 0, 0, c->size ? c->size : 1,
                    &res) == -1)
    return conclude (c, V_ERROR, "block status: %s", c->s->err.msg);
  if (res.form != 2)
    return conclude (c, V_FLAG, "eh; block-status: a %s reply",
                     res.form == 0 ? "simple" : "structured");
  return conclude (c, res.nstatus == 1 ? V_PASS : V_FLAG, "eh; smc "
                   "base:allocation; go; block-status: %zu status chunk(s), "
                   "checked by the engine (BLOCK_STATUS_EXT, 32-bit status)",
                   res.nstatus);
}

/* FORCEDTLS: an option with data refused with TLS_REQD has its data
 * consumed, so that the STARTTLS after it parses (nbdkit before 1.30.10
 * and 1.32.3 read the next option from the leftover bytes).
 */
static enum verdict
p_forced_option_data (struct ctx *c)
{
  struct bytes b = { 0 };
  size_t len;
  int64_t r;

  if (fresh_connection (c, -1) == -1)
    return V_ERROR;
  nbd_encode_info_payload (&b, "nbdcli-early-payload-probe-with-a-long-"
                           "export-name-0123456789", NULL, 0);
  len = b.len;
  r = send_option (c, NBD_OPT_INFO, b.data, b.len);
  bytes_free (&b);
  add_evidence (c, "INFO with %zu bytes of data before TLS: %s", len,
                reply_name (r));
  if (r != NBD_REP_ERR_TLS_REQD)
    return r == R_FAIL ? no_reply (c, V_FLAG, "NBD_OPT_INFO") : V_FLAG;
  c->s->cfg.no_auto_tls = true;
  r = send_option (c, NBD_OPT_STARTTLS, NULL, 0);
  c->s->cfg.no_auto_tls = false;
  add_evidence (c, "then STARTTLS: %s", reply_name (r));
  if (r == NBD_REP_ACK) {
    session_hangup (c->s, NULL);
    return V_PASS;
  }
  if (r == R_FAIL)
    return no_reply (c, V_FLAG, "NBD_OPT_STARTTLS");
  return V_FLAG;
}

struct probe {
  const char *id;
  unsigned needs;
  const char *rule;
  const char *section;
  enum verdict (*run) (struct ctx *c);
};

static const struct probe probes[] = {
  { "greeting", N_ANY_STYLE,
    "the greeting is well formed: NBDMAGIC, then IHAVEOPT and handshake "
    "flags, or the oldstyle export size and flags", "Handshake",
    p_greeting },
  { "tls-reset-sr-df", N_TLS | N_OFFERS_TLS | N_OPTIONS,
    "after STARTTLS, structured replies from before it are forgotten: "
    "NBD_INFO_EXPORT has SEND_DF clear", "NBD_OPT_STARTTLS",
    p_tls_reset_sr_df },
  { "tls-reset-sr-read", N_TLS | N_OPTIONS,
    "after sr; starttls; go, READ gets a simple reply (CVE-2021-3716)",
    "NBD_OPT_STARTTLS", p_tls_reset_sr_read },
  { "tls-sr-again", N_TLS | N_OPTIONS,
    "structured replies asked for again after STARTTLS are accepted as new",
    "NBD_OPT_STARTTLS", p_tls_sr_again },
  { "tls-reset-meta", N_TLS | N_META | N_OPTIONS | N_SR,
    "meta contexts set before STARTTLS are not in force after it",
    "NBD_OPT_STARTTLS", p_tls_reset_meta },
  { "tls-meta-after", N_TLS | N_META | N_OPTIONS | N_SR,
    "meta contexts set after STARTTLS answer block status",
    "NBD_OPT_SET_META_CONTEXT", p_tls_meta_after },
  { "tls-reset-mixed", N_TLS | N_META | N_OPTIONS | N_SR,
    "a SET before SR and STARTTLS never yields block status after them",
    "NBD_OPT_STARTTLS", p_tls_reset_mixed },
  { "tls-reset-eh", N_TLS | N_EH | N_OPTIONS,
    "extended headers from before STARTTLS are forgotten: a compact READ "
    "gets a simple reply", "NBD_OPT_STARTTLS", p_tls_reset_eh },
  { "tls-reset-export", N_TLS | N_OPTIONS,
    "the export asked about before STARTTLS is not remembered after it",
    "NBD_OPT_STARTTLS", p_tls_reset_export },
  { "starttls-twice", N_TLS | N_OPTIONS,
    "a second STARTTLS fails with NBD_REP_ERR_INVALID and the session "
    "stays usable", "NBD_OPT_STARTTLS", p_starttls_twice },
  { "starttls-payload", N_OFFERS_TLS | N_OPTIONS,
    "STARTTLS with data gets an error (INVALID) and the next option parses",
    "NBD_OPT_STARTTLS", p_starttls_payload },
  { "starttls-plaintext", N_OFFERS_TLS | N_OPTIONS,
    "after STARTTLS's ACK a failed TLS handshake ends the session; no "
    "plaintext answer", "TLS support", p_starttls_plaintext },
  { "forced-list", N_FORCED | N_OPTIONS,
    "FORCEDTLS: NBD_OPT_LIST before TLS gets NBD_REP_ERR_TLS_REQD",
    "FORCEDTLS mode", p_forced_list },
  { "forced-info", N_FORCED | N_OPTIONS,
    "FORCEDTLS: NBD_OPT_INFO before TLS gets TLS_REQD and no NBD_REP_INFO",
    "FORCEDTLS mode", p_forced_info },
  { "forced-go", N_FORCED | N_OPTIONS,
    "FORCEDTLS: NBD_OPT_GO before TLS gets TLS_REQD and no NBD_REP_INFO",
    "FORCEDTLS mode", p_forced_go },
  { "forced-sr", N_FORCED | N_OPTIONS,
    "FORCEDTLS: NBD_OPT_STRUCTURED_REPLY before TLS gets TLS_REQD",
    "FORCEDTLS mode", p_forced_sr },
  { "forced-lmc", N_FORCED | N_OPTIONS,
    "FORCEDTLS: NBD_OPT_LIST_META_CONTEXT before TLS gets TLS_REQD",
    "FORCEDTLS mode", p_forced_lmc },
  { "forced-smc", N_FORCED | N_OPTIONS,
    "FORCEDTLS: NBD_OPT_SET_META_CONTEXT before TLS gets TLS_REQD",
    "FORCEDTLS mode", p_forced_smc },
  { "forced-eh", N_FORCED | N_OPTIONS,
    "FORCEDTLS: NBD_OPT_EXTENDED_HEADERS before TLS gets TLS_REQD",
    "FORCEDTLS mode", p_forced_eh },
  { "forced-unknown", N_FORCED | N_OPTIONS,
    "FORCEDTLS: an unknown option before TLS gets TLS_REQD (not UNSUP), "
    "then STARTTLS is still accepted", "FORCEDTLS mode", p_forced_unknown },
  { "forced-export-name", N_FORCED | N_OPTIONS,
    "FORCEDTLS: NBD_OPT_EXPORT_NAME before TLS closes the connection with "
    "no export data", "FORCEDTLS mode", p_forced_export_name },
  { "forced-abort", N_FORCED | N_OPTIONS,
    "FORCEDTLS: NBD_OPT_ABORT before TLS is acknowledged (or the "
    "connection closed)", "NBD_OPT_ABORT", p_forced_abort },
  { "forced-consistent", N_FORCED | N_OPTIONS,
    "FORCEDTLS: the mode holds for the whole connection",
    "TLS support", p_forced_consistent },
  { "no-tls-reqd-after-tls", N_TLS | N_OPTIONS,
    "once TLS is up no option gets NBD_REP_ERR_TLS_REQD",
    "TLS support", p_no_tls_reqd_after_tls },
  { "selective-scope", N_SELECTIVE | N_OPTIONS,
    "SELECTIVETLS: TLS_REQD only for INFO/GO/EXPORT_NAME of TLS-only "
    "exports", "SELECTIVETLS mode", p_selective_scope },
  { "notls-options", N_NOTLS | N_OPTIONS,
    "NOTLS: STARTTLS is refused and no option gets TLS_REQD",
    "NOTLS mode", p_notls_options },
  { "tls-needs-fixed", N_OFFERS_TLS | N_OPTIONS,
    "without C_FIXED_NEWSTYLE the server is in NOTLS mode: STARTTLS is not "
    "accepted", "TLS support", p_tls_needs_fixed },
  { "meta-before-sr", N_META | N_XMIT | N_HAGGLE | N_OPTIONS | N_SR,
    "SET_META_CONTEXT without structured replies should fail with "
    "NBD_REP_ERR_INVALID (SHOULD)", "NBD_OPT_SET_META_CONTEXT",
    p_meta_before_sr },
  { "meta-replaced", N_META | N_XMIT | N_HAGGLE | N_OPTIONS | N_SR,
    "a later SET_META_CONTEXT replaces the earlier contexts",
    "NBD_OPT_SET_META_CONTEXT", p_meta_replaced },
  { "meta-failed-set", N_META | N_XMIT | N_HAGGLE | N_OPTIONS | N_SR,
    "a malformed SET fails with NBD_REP_ERR_INVALID and clears the "
    "contexts", "NBD_OPT_SET_META_CONTEXT", p_meta_failed_set },
  { "meta-export-binding", N_META | N_XMIT | N_HAGGLE | N_OPTIONS | N_SR,
    "contexts set for one export do not answer for another (SHOULD)",
    "NBD_OPT_SET_META_CONTEXT", p_meta_export_binding },
  { "meta-list-rules", N_META | N_HAGGLE | N_OPTIONS,
    "LIST_META_CONTEXT ignores unknown namespaces and lists base:allocation "
    "for base:; SET base: selects nothing", "NBD_OPT_LIST_META_CONTEXT",
    p_meta_list_rules },
  { "meta-distinct-ids", N_META | N_HAGGLE | N_OPTIONS | N_SR,
    "two contexts in one SET_META_CONTEXT get distinct ids",
    "NBD_OPT_SET_META_CONTEXT", p_meta_distinct_ids },
  { "meta-status", N_META | N_XMIT | N_HAGGLE | N_OPTIONS | N_SR,
    "block status has one well-formed chunk per selected context; REQ_ONE "
    "gives one extent", "NBD_CMD_BLOCK_STATUS", p_meta_status },
  { "client-flags-unknown", 0,
    "the server drops the connection when the client sets an unknown flag",
    "Client flags", p_client_flags_unknown },
  { "client-no-zeroes-unoffered", 0,
    "the server drops the connection on C_NO_ZEROES it did not offer",
    "Client flags", p_client_no_zeroes_unoffered },
  { "no-zeroes", N_XMIT | N_HAGGLE,
    "EXPORT_NAME's answer is 134 bytes, or 10 with NO_ZEROES agreed",
    "NBD_OPT_EXPORT_NAME", p_no_zeroes },
  { "unknown-option", N_HAGGLE | N_OPTIONS,
    "an unknown option gets NBD_REP_ERR_UNSUP and the next option parses",
    "Option haggling", p_unknown_option },
  { "option-data", N_HAGGLE | N_OPTIONS,
    "LIST and STRUCTURED_REPLY with data get NBD_REP_ERR_INVALID (SHOULD)",
    "NBD_OPT_LIST", p_option_data },
  { "info-go-consistent", N_XMIT | N_HAGGLE | N_OPTIONS,
    "INFO then GO for the same export give the same size and flags",
    "NBD_OPT_INFO and NBD_OPT_GO", p_info_go_consistent },
  { "repeated-sr", N_HAGGLE | N_OPTIONS,
    "a repeated STRUCTURED_REPLY gets ACK or NBD_REP_ERR_INVALID (MAY)",
    "Option haggling", p_repeated_sr },
  { "disc", N_XMIT | N_HAGGLE | N_OPTIONS,
    "NBD_CMD_DISC gets no reply; the server closes (after close_notify "
    "under TLS)", "NBD_CMD_DISC", p_disc },
  { "list-exports", N_HAGGLE | N_OPTIONS,
    "LIST answers NBD_REP_SERVER replies (well-formed names of at most "
    "4096 bytes, UTF-8, no NUL), then a final reply", "NBD_OPT_LIST",
    p_list_exports },
  { "info-requests", N_HAGGLE | N_OPTIONS,
    "INFO asking for the name, description and block size gets well-formed "
    "NBD_REP_INFO replies with consistent block sizes",
    "NBD_OPT_INFO and NBD_OPT_GO", p_info_requests },
  { "read-past-end", N_XMIT | N_HAGGLE | N_OPTIONS,
    "a READ past the end of the export fails, with NBD_EINVAL (SHOULD)",
    "Error values", p_read_past_end },
  { "unknown-command", N_XMIT | N_HAGGLE | N_OPTIONS,
    "an unknown command fails with NBD_EINVAL (SHOULD), or the server "
    "disconnects", "Error values", p_unknown_command },
  { "unknown-command-flag", N_XMIT | N_HAGGLE | N_OPTIONS,
    "a command with an unknown flag fails with NBD_EINVAL (SHOULD)",
    "Error values", p_unknown_command_flag },
  { "zero-length-read", N_XMIT | N_HAGGLE | N_OPTIONS,
    "a READ of 0 bytes gets a reply and the server does not disconnect "
    "(SHOULD NOT)", "NBD_CMD_READ", p_zero_length_read },
  { "sr-read", N_SR | N_XMIT | N_HAGGLE | N_OPTIONS,
    "after sr a READ gets structured chunks that cover it; a DF read of "
    "up to 64 KiB is served", "Structured replies", p_sr_read },
  { "eh-sr-after", N_EH | N_HAGGLE | N_OPTIONS,
    "STRUCTURED_REPLY after EXTENDED_HEADERS gets ACK or "
    "NBD_REP_ERR_EXT_HEADER_REQD", "Extended headers", p_eh_sr_after },
  { "eh-replies", N_EH | N_XMIT | N_HAGGLE | N_OPTIONS,
    "with extended headers every reply is extended and echoes the "
    "request's offset", "Extended reply chunk", p_eh_replies },
  { "eh-block-status", N_EH | N_META | N_XMIT | N_HAGGLE | N_OPTIONS,
    "with extended headers block status comes as BLOCK_STATUS_EXT, one "
    "chunk per context, 32-bit status for base:allocation",
    "NBD_REPLY_TYPE_BLOCK_STATUS_EXT", p_eh_block_status },
  { "forced-option-data", N_FORCED | N_OPTIONS,
    "FORCEDTLS: the data of an option refused with TLS_REQD is consumed; "
    "the STARTTLS after it is accepted", "FORCEDTLS mode",
    p_forced_option_data },
  { "abort", N_HAGGLE | N_OPTIONS,
    "NBD_OPT_ABORT is acknowledged with NBD_REP_ACK, then the connection "
    "closes", "NBD_OPT_ABORT", p_abort },
  { "multi-conn", N_XMIT | N_HAGGLE | N_OPTIONS,
    "with NBD_FLAG_CAN_MULTI_CONN a write and FLUSH on one connection are "
    "visible to a read on another (runs when named: it writes)",
    "NBD_FLAG_CAN_MULTI_CONN", p_multi_conn },
  /* Last: a server that mishandles the refused write's data can be
   * left unable to serve the probes after it. */
  { "readonly-write", N_XMIT | N_HAGGLE | N_OPTIONS,
    "a WRITE to a read-only export fails (MUST), with NBD_EPERM (SHOULD)",
    "NBD_FLAG_READ_ONLY", p_readonly_write },
  { NULL, 0, NULL, NULL, NULL }
};

/* Why a probe does not apply, or NULL. */
static const char *
why_inapplicable (const struct ctx *c, unsigned needs, char *buf, size_t len)
{
  if (c->oldstyle && !(needs & N_ANY_STYLE))
    return "the server speaks oldstyle negotiation: there are no options "
      "to probe, only the greeting (see the greeting probe)";
  if ((needs & N_OPTIONS) && !c->fixed)
    return "the server does not offer fixed newstyle: only "
      "NBD_OPT_EXPORT_NAME is understood, and a server may drop a client "
      "that sends another option";
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
  if ((needs & N_HAGGLE) && !c->can_tls
      && (c->mode == MODE_FORCED || c->s->cfg.tls.required))
    return snprintf (buf, len, "options are negotiated only over TLS here, "
                     "and TLS could not be used: %.1200s",
                     c->tls_problem[0] ? c->tls_problem : "no usable TLS"),
      buf;
  if ((needs & N_XMIT) && c->s->cfg.tls.required && !c->can_tls
      && !c->s->cfg.allow_plaintext)
    return "TLS was asked for but is not usable, and this probe would "
      "enter transmission in plaintext (`set allow-plaintext on' to allow "
      "it)";
  if ((needs & N_SR) && !c->sr)
    return "the server does not offer structured replies";
  if ((needs & N_META) && !c->meta)
    return "the server offers no base:allocation context";
  if ((needs & N_EH) && !c->eh)
    return "the server does not offer extended headers";
  return NULL;
}

/* Learns the TLS mode, the exports and what the server offers. */
/* What the client itself can do with TLS, before any verdict: its
 * credentials load, and a handshake with this server completes.  When
 * it cannot, the cause is the client's (its credentials, its CA, the
 * host name it checks) or unknown, never the server's fault: probes
 * that need TLS are skipped with the cause in words.
 */
static void
client_tls_check (struct ctx *c)
{
  struct session *s = c->s;

  if (tls_check_credentials (s) == -1) {
    snprintf (c->tls_problem, sizeof c->tls_problem, "the client's TLS "
              "credentials cannot be used: %.1300s", s->err.msg);
    return;
  }
  if (fresh_connection (c, -1) == -1) {
    snprintf (c->tls_problem, sizeof c->tls_problem, "%.1300s", c->ev);
    return;
  }
  if (start_tls (c) == 0) {
    /* With TLS 1.3 a server checks the client's certificate after the
     * client thinks the handshake is done: only a reply over TLS shows
     * that the session is usable.
     */
    if (send_option (c, NBD_OPT_LIST, NULL, 0) >= 0) {
      c->can_tls = true;
      return;
    }
  }
  switch (s->err.kind) {
  case ERR_TLS_REJECTED:
    /* After the handshake, or during it when the server asked for a
     * client certificate.
     */
    snprintf (c->tls_problem, sizeof c->tls_problem, "%s: %.1300s",
              s->tls_client_cert ? "the server rejected the client "
              "certificate" : "the server wants a client certificate and "
              "none was given", s->err.msg);
    break;
  case ERR_TLS_VERIFY:
  case ERR_TLS_CREDENTIALS:
    snprintf (c->tls_problem, sizeof c->tls_problem, "the TLS handshake "
              "failed on the client's side: %.1300s", s->err.msg);
    break;
  default:
    snprintf (c->tls_problem, sizeof c->tls_problem, "the TLS handshake "
              "failed: %s: %.1300s",
              s->cfg.tls.psk_file || s->target.tls_psk_file
              ? "the server rejected the PSK identity or key"
              : "the server refused the client's credentials or could not "
              "agree on TLS parameters", s->err.msg[0] ? s->err.msg : c->ev);
  }
}

/* Which export to audit: the target's, or --export; when neither names
 * one and the server has no default export but lists exports, the
 * first one listed (an ERROR must never come from nbdcli's choice).
 */
static void
choose_export (struct ctx *c, bool named)
{
  struct session *s = c->s;
  int64_t r;

  if (named || *c->export || s->learned.nexports == 0)
    return;
  r = send_info (c, NBD_OPT_INFO, "", 0xffff);
  if (r != NBD_REP_ERR_UNKNOWN)
    return;
  c->chosen_export = xstrdup (s->learned.exports[0]);
  c->export = c->chosen_export;
}

static int
discover (struct ctx *c, bool named)
{
  struct session *s = c->s;
  int64_t r;
  size_t i;

  c->measuring = true;
  if (session_connect (s) == -1) {
    add_evidence (c, "cannot connect: %s", s->err.msg);
    return -1;
  }
  if (s->oldstyle) {
    /* No options at all: only the greeting can be audited. */
    c->oldstyle = true;
    c->size = s->cur.size;
    session_hangup (s, NULL);
    c->measuring = false;
    return 0;
  }
  c->server_no_zeroes = s->hs_flags & NBD_FLAG_NO_ZEROES;
  c->fixed = s->hs_flags & NBD_FLAG_FIXED_NEWSTYLE;
  if (!c->fixed) {
    /* Non-fixed newstyle: only NBD_OPT_EXPORT_NAME is understood, and
     * the server may drop a client that sends anything else.
     */
    c->mode = MODE_NONE;
    c->tls_wanted = s->cfg.tls.required;
    if (c->tls_wanted)
      snprintf (c->tls_problem, sizeof c->tls_problem, "TLS was asked for, "
                "but the server does not offer fixed newstyle, without "
                "which there is no STARTTLS");
    session_hangup (s, NULL);
    c->measuring = false;
    return 0;
  }
  r = send_option (c, NBD_OPT_LIST, NULL, 0);
  if (r == NBD_REP_ERR_TLS_REQD)
    c->mode = MODE_FORCED;      /* unless STARTTLS is refused below */
  if (r == R_CLOSED && fresh_connection (c, -1) == -1)
    return -1;
  /* Does the server accept STARTTLS?  (Without the handshake.) */
  s->cfg.no_auto_tls = true;
  r = send_option (c, NBD_OPT_STARTTLS, NULL, 0);
  s->cfg.no_auto_tls = false;
  /* After an ACK the server expects a handshake: just close. */
  if (r == NBD_REP_ACK)
    session_hangup (s, NULL);
  else
    end_politely (c);
  /* A server that refuses STARTTLS is in NOTLS mode, whatever else it
   * says (TLS_REQD from it is then a fault, found by notls-options).
   */
  if (r != NBD_REP_ACK)
    c->mode = MODE_NONE;
  else if (c->mode != MODE_FORCED)
    c->mode = MODE_SELECTIVE;
  c->tls_wanted = s->cfg.tls.required || c->mode != MODE_NONE;
  if (c->mode == MODE_NONE && s->cfg.tls.required)
    snprintf (c->tls_problem, sizeof c->tls_problem, "TLS was asked for, "
              "but the server refused STARTTLS (%s)", reply_name (r));
  if (r == NBD_REP_ACK)
    client_tls_check (c);
  if (s->phase != PHASE_OPTIONS && fresh_connection (c, -1) == -1)
    return -1;
  if (s->phase == PHASE_OPTIONS) {
    send_option (c, NBD_OPT_LIST, NULL, 0);
    choose_export (c, named);
    for (i = 0; i < s->learned.nexports; i++)
      if (strcmp (s->learned.exports[i], c->export) != 0 && !c->other_export)
        c->other_export = xstrdup (s->learned.exports[i]);
    c->sr = send_option (c, NBD_OPT_STRUCTURED_REPLY, NULL, 0)
      == NBD_REP_ACK;
    r = send_meta (c, NBD_OPT_LIST_META_CONTEXT, c->export, 1,
                "base:allocation");
    c->meta = r == NBD_REP_ACK && s->last_nreplies > 0;
    r = send_info (c, NBD_OPT_INFO, c->export, 0xffff);
    if (r == NBD_REP_ACK) {
      c->size = s->cur.size;
      c->tflags = s->cur.tflags;
    }
  }
  end_politely (c);
  if (fresh_connection (c, -1) == 0) {
    if (!c->can_tls || start_tls (c) == 0)
      c->eh = send_option (c, NBD_OPT_EXTENDED_HEADERS, NULL, 0) == NBD_REP_ACK;
    end_politely (c);
  }
  c->measuring = false;
  c->ev[0] = '\0';
  return 0;
}

/* Are probes named among A's words (targets are blanked out)? */
static bool
probes_named (const struct args *a, int first)
{
  int i;

  for (i = first; i < a->argc; i++)
    if (a->argv[i][0])
      return true;
  return false;
}

static bool
probe_selected (const struct probe *p, struct args *a, int first)
{
  int i;

  if (!probes_named (a, first))
    return true;
  for (i = first; i < a->argc; i++)
    if (strcmp (a->argv[i], p->id) == 0)
      return true;
  return false;
}

/* run_check's status after Ctrl-C: 128 + SIGINT, as shells report it. */
#define CHECK_INTERRUPTED 130

static void
print_list (FILE *fp, bool json)
{
  const struct probe *p;

  for (p = probes; p->id; p++) {
    if (json) {
      fprintf (fp, "{\"event\":\"probe_info\",\"id\":\"%s\",\"rule\":",
               p->id);
      json_string (fp, p->rule);
      fprintf (fp, ",\"section\":");
      json_string (fp, p->section);
      fprintf (fp, "}\n");
    }
    else
      fprintf (fp, "%-28s %s (spec: %s)\n", p->id, p->rule, p->section);
  }
}

/* At a terminal a probe's record fits the width: the rule and the
 * evidence are wrapped at spaces, indented under the probe.  In a pipe
 * each part stays on one line, for tools.
 */
static int
term_width (FILE *fp)
{
  struct winsize ws;
  const char *cols = getenv ("COLUMNS");

  if (ioctl (fileno (fp), TIOCGWINSZ, &ws) == 0 && ws.ws_col >= 40)
    return ws.ws_col;
  if (cols && atoi (cols) >= 40)
    return atoi (cols);
  return 80;
}

static void
report_wrapped (FILE *fp, const char *ev, const struct probe *p,
                enum verdict v)
{
  int width = term_width (fp), col;
  char *rule = NULL;

  col = fprintf (fp, "%-5s %s", verdict_names[v], p->id);
  if (asprintf (&rule, "%s (spec: %s)", p->rule, p->section) == -1)
    rule = NULL;
  if (col < 35) {
    fprintf (fp, "%*s", 35 - col, "");
    col = 35;
  }
  print_wrapped (fp, rule ? rule : p->rule, col, 6, width);
  free (rule);
  if (ev[0]) {
    fprintf (fp, "      ");
    print_wrapped (fp, ev, 6, 6, width);
  }
  fflush (fp);
}

/* One probe's record.  TARGET, when given, is named in JSON (several
 * targets).
 */
static void
report (FILE *fp, bool json, const char *target, const char *ev,
        const struct probe *p, enum verdict v)
{
  if (!json && isatty (fileno (fp))) {
    report_wrapped (fp, ev, p, v);
    return;
  }
  if (json) {
    fprintf (fp, "{\"event\":\"probe\",\"id\":\"%s\",\"result\":\"%s\","
             "\"rule\":", p->id, verdict_names[v]);
    json_string (fp, p->rule);
    fprintf (fp, ",\"section\":");
    json_string (fp, p->section);
    fprintf (fp, ",\"evidence\":");
    json_string (fp, ev);
    if (target) {
      fprintf (fp, ",\"target\":");
      json_string (fp, target);
    }
    fprintf (fp, "}\n");
    return;
  }
  fprintf (fp, "%-5s %-28s %s (spec: %s)\n", verdict_names[v], p->id,
           p->rule, p->section);
  if (ev[0])
    fprintf (fp, "      %s\n", ev);
  fflush (fp);
}

static void
print_header (FILE *fp, bool json, const struct ctx *c,
              const struct session *s)
{
  char *d = nbd_target_describe (&s->target);

  if (!json && c->oldstyle) {
    fprintf (fp, "check %s: oldstyle negotiation: no options and no TLS, "
             "so only the greeting can be audited; export size %" PRIu64
             "\n", d, c->size);
    free (d);
    return;
  }
  if (!json && !c->fixed) {
    fprintf (fp, "check %s: not fixed newstyle: only NBD_OPT_EXPORT_NAME "
             "is understood, so only the greeting, the client flags and "
             "NBD_OPT_EXPORT_NAME can be audited\n", d);
    free (d);
    return;
  }
  if (json) {
    fprintf (fp, "{\"event\":\"check\",\"target\":");
    json_string (fp, d);
    fprintf (fp, ",\"tls_mode\":\"%s\",\"tls_usable\":%s,"
             "\"negotiation\":\"%s\",\"export\":",
             mode_names[c->mode], c->can_tls ? "true" : "false",
             c->oldstyle ? "oldstyle" : c->fixed ? "fixed newstyle"
             : "newstyle (not fixed)");
    json_string (fp, c->export);
    fprintf (fp, ",\"base_allocation\":%s,\"extended_headers\":%s}\n",
             c->meta ? "true" : "false", c->eh ? "true" : "false");
  }
  else
    fprintf (fp, "check %s: TLS mode %s%s%s%s%s; export \"%s\"%s%s%s; "
             "base:allocation %s; extended headers %s\n", d,
             mode_names[c->mode], c->can_tls ? ", TLS usable" : "",
             !c->can_tls && c->tls_problem[0] ? " (" : "",
             !c->can_tls ? c->tls_problem : "",
             !c->can_tls && c->tls_problem[0] ? ")" : "",
             c->export, c->other_export ? ", also \"" : "",
             c->other_export ? c->other_export : "",
             c->other_export ? "\"" : "",
             c->meta ? "offered" : "not offered",
             c->eh ? "offered" : "not offered");
  if (!json && c->chosen_export)
    fprintf (fp, "      the server has no default export: auditing \"%s\", "
             "the first that NBD_OPT_LIST names (--export chooses)\n",
             c->chosen_export);
  free (d);
}

/* The summary; TLS_NOT_TESTED, when set, is why TLS that was asked for
 * or offered could not be tested.
 */
static void
print_summary (FILE *fp, bool json, const unsigned counts[5],
               bool interrupted, const char *tls_not_tested,
               const char *target)
{
  unsigned total = counts[0] + counts[1] + counts[2] + counts[3] + counts[4];

  if (json) {
    fprintf (fp, "{\"event\":\"check_summary\",\"probes\":%u,\"pass\":%u,"
             "\"flag\":%u,\"warn\":%u,\"skip\":%u,\"error\":%u%s",
             total, counts[V_PASS], counts[V_FLAG], counts[V_WARN],
             counts[V_SKIP], counts[V_ERROR],
             interrupted ? ",\"interrupted\":true" : "");
    if (tls_not_tested) {
      fprintf (fp, ",\"tls_not_tested\":");
      json_string (fp, tls_not_tested);
    }
    if (target) {
      fprintf (fp, ",\"target\":");
      json_string (fp, target);
    }
    fprintf (fp, "}\n");
    return;
  }
  fprintf (fp, "%u %s: %u pass, %u flag, %u warn, %u skip, %u error%s\n",
           total, total == 1 ? "probe" : "probes", counts[V_PASS],
           counts[V_FLAG], counts[V_WARN], counts[V_SKIP], counts[V_ERROR],
           interrupted ? " (interrupted)" : "");
  if (tls_not_tested)
    fprintf (fp, "TLS not tested: %s\n", tls_not_tested);
}

/* Runs one probe on the audit's session and judges it: the probe's own
 * verdict, made a FLAG when the engine's validators raised one.
 */
static enum verdict
run_probe (struct ctx *c, const struct probe *p)
{
  struct session *s = c->s;
  char why[1500];
  const char *na;
  enum verdict v;

  c->ev[0] = '\0';
  audit_clear (&c->rec);
  session_clear_error (s);
  na = why_inapplicable (c, p->needs, why, sizeof why);
  if (na) {
    snprintf (c->ev, sizeof c->ev, "%.1200s", na);
    v = V_SKIP;
  }
  else {
    c->last_sent[0] = '\0';
    c->malformed = false;
    v = p->run (c);
    if (c->rec.nflags && v != V_FLAG) {
      /* A MUST broken is a FLAG; SHOULDs only are a WARN. */
      enum verdict ev = V_WARN;
      size_t k;

      for (k = 0; k < c->rec.nflags; k++)
        if (c->rec.flags[k]->level == MUST)
          ev = V_FLAG;
      if (ev == V_FLAG || v == V_PASS)
        v = conclude (c, ev, "the engine raised %s: %s",
                      c->rec.flags[0]->id, c->rec.evidence);
    }
    /* A well-formed option or request MUST get a reply: when the probe
     * could not judge because none came in time, that is the finding.
     */
    if (v == V_ERROR && s->err.kind == ERR_TIMEOUT && c->last_sent[0]
        && !c->malformed)
      v = conclude (c, V_FLAG, "no reply within %d ms after %s", c->wait_ms,
                    c->last_sent);
    if (v == V_ERROR && s->err.msg[0] && !strstr (c->ev, s->err.msg))
      add_evidence (c, "%s", s->err.msg);
  }
  end_politely (c);
  return v;
}

/* ------------------------------------------------------ the runner */

/* A probe's outcome, kept until it is printed in catalogue order. */
struct probe_result {
  enum verdict v;
  char ev[1400];
  double secs;                  /* wall time */
  bool done;
  bool retry;                   /* could not connect while others ran */
};

/* One target's audit. */
struct target_run {
  struct session *settings;     /* the user's settings, with this target */
  const char *name;             /* its address (nbd_target_describe) */
  const char *export;           /* --export, or NULL */
  struct args *a;
  int first_id;
  int jobs;
  bool json;
  bool several;                 /* one of several targets */
  FILE *out;
  /* What came of it. */
  int status;                   /* CMD_OK, CMD_FAILED, CHECK_INTERRUPTED */
  bool ran;                     /* discovery worked */
  char error[512];              /* why it could not run */
  char mode[64];
  unsigned counts[5];
  bool not_tested;
  double secs;
  const struct probe **list;
  size_t n;
  struct probe_result *res;
  bool named;                   /* probes were named: they run as asked */
};

/* The probes of one target that run in parallel, each on a session of
 * its own (threads: the engine's calls block, each with its timeout,
 * so a probe stays the plain sequence of exchanges it is).
 */
struct pool {
  pthread_mutex_t lock;
  pthread_cond_t cond;
  const struct ctx *base;       /* what discovery learned */
  const struct session *settings;
  struct target_run *tr;
  size_t next;                  /* the next probe to take */
  int running;
};

static double
now_secs (void)
{
  return transport_now_ms () / 1000.0;
}

/* Runs probe P on a session of its own, with what discovery learned. */
static void
run_probe_alone (const struct ctx *base, const struct session *settings,
                 const struct probe *p, struct probe_result *res)
{
  struct session s;
  struct ctx c = *base;       /* base->named: probes were named */
  double t0 = now_secs ();

  session_init (&s);
  session_copy_settings (&s, settings);
  s.cfg.timeout_ms = base->wait_ms;
  s.sink = audit_sink (&c.rec);
  c.s = &s;
  c.connect_failed = false;
  res->v = run_probe (&c, p);
  res->retry = c.connect_failed && res->v == V_ERROR;
  snprintf (res->ev, sizeof res->ev, "%s", c.ev);
  res->secs = now_secs () - t0;
  session_free (&s);
}

static void *
pool_worker (void *arg)
{
  struct pool *pl = arg;
  struct target_run *tr = pl->tr;

  pthread_mutex_lock (&pl->lock);
  while (pl->next < tr->n && !transport_interrupted) {
    size_t i = pl->next++;

    pthread_mutex_unlock (&pl->lock);
    run_probe_alone (pl->base, pl->settings, tr->list[i], &tr->res[i]);
    pthread_mutex_lock (&pl->lock);
    tr->res[i].done = true;
    pthread_cond_broadcast (&pl->cond);
  }
  pl->running--;
  pthread_cond_broadcast (&pl->cond);
  pthread_mutex_unlock (&pl->lock);
  return NULL;
}

/* Can the server serve two connections at once?  A server that serves
 * one client at a time (qemu-nbd without -e) leaves the second one
 * without a greeting.  A server command gets a server of its own for
 * every connection: no limit.
 */
static bool
serves_two (const struct ctx *base, const struct session *settings)
{
  struct session s1, s2;
  int64_t t0;
  bool ok;

  if (settings->target.kind == TARGET_CMD)
    return true;
  session_init (&s1);
  session_init (&s2);
  session_copy_settings (&s1, settings);
  session_copy_settings (&s2, settings);
  s1.cfg.timeout_ms = base->wait_ms;
  t0 = transport_now_ms ();
  ok = session_connect (&s1) == 0;
  /* The second greeting may take 20 times as long as the first, at
   * least 100 ms: a server that gives none in that time is taken to
   * serve one client at a time (the cost of being wrong: a slower
   * audit, never another verdict).
   */
  s2.cfg.timeout_ms = (int) (transport_now_ms () - t0) * 20;
  if (s2.cfg.timeout_ms < 100)
    s2.cfg.timeout_ms = 100;
  if (s2.cfg.timeout_ms > base->wait_ms)
    s2.cfg.timeout_ms = base->wait_ms;
  s2.cfg.setup_timeout_ms = s2.cfg.timeout_ms;
  ok = ok && session_connect (&s2) == 0;
  session_free (&s2);
  session_free (&s1);
  return ok;
}

/* The probes of TR, up to TR->jobs at once, printed in catalogue order
 * as they complete: the output is the same as one probe at a time.
 * A probe that could not connect while others ran is run again alone.
 */
static bool
run_probes (struct target_run *tr, struct ctx *base)
{
  struct pool pl = { .base = base, .settings = base->s, .tr = tr };
  pthread_t th[64];
  int nth = 0, i, want;
  size_t k;
  bool interrupted = false;

  pthread_mutex_init (&pl.lock, NULL);
  pthread_cond_init (&pl.cond, NULL);
  if (tr->jobs > 1 && tr->n > 1 && !serves_two (base, base->s)) {
    if (!tr->json)
      fprintf (stderr, "%s: check: %s serves one connection at a time: its "
               "probes run one after another\n", out_where.progname,
               tr->name);
    tr->jobs = 1;
  }
  want = tr->jobs < (int) tr->n ? tr->jobs : (int) tr->n;
  if (want > 64)
    want = 64;
  /* Counted before they start: a worker that is done at once counts
   * itself out, under the lock, and must find itself counted in.
   */
  if (tr->jobs <= 1)
    want = 0;
  pl.running = want;
  for (i = 0; i < want; i++)
    if (pthread_create (&th[nth], NULL, pool_worker, &pl) == 0)
      nth++;
  pthread_mutex_lock (&pl.lock);
  pl.running -= want - nth;
  pthread_mutex_unlock (&pl.lock);

  for (k = 0; k < tr->n; k++) {
    struct probe_result *r = &tr->res[k];

    if (nth == 0)               /* one at a time, here */
      run_probe_alone (base, base->s, tr->list[k], r);
    else {
      pthread_mutex_lock (&pl.lock);
      while (!r->done && !(pl.running == 0 && pl.next <= k))
        pthread_cond_wait (&pl.cond, &pl.lock);
      pthread_mutex_unlock (&pl.lock);
      if (!r->done)             /* interrupted before it started */
        break;
      if (r->retry) {
        /* Wait until nothing else runs, then try it again alone. */
        pthread_mutex_lock (&pl.lock);
        while (pl.running > 0 && !transport_interrupted) {
          pl.next = tr->n;      /* start nothing more */
          pthread_cond_wait (&pl.cond, &pl.lock);
        }
        pthread_mutex_unlock (&pl.lock);
        if (transport_interrupted)
          break;
        run_probe_alone (base, base->s, tr->list[k], r);
        /* From here on, one at a time. */
        for (i = 0; i < nth; i++)
          pthread_join (th[i], NULL);
        nth = 0;
      }
    }
    if (transport_interrupted) {
      /* Ctrl-C: the probe that was cut short says nothing about the
       * server; the summary says what ran.
       */
      interrupted = true;
      break;
    }
    tr->counts[r->v]++;
    report (tr->out, tr->json, tr->several ? tr->name : NULL, r->ev,
            tr->list[k], r->v);
  }
  pthread_mutex_lock (&pl.lock);
  pl.next = tr->n;
  pthread_mutex_unlock (&pl.lock);
  for (i = 0; i < nth; i++)
    pthread_join (th[i], NULL);
  pthread_cond_destroy (&pl.cond);
  pthread_mutex_destroy (&pl.lock);
  return interrupted;
}

/* The probes named in A (all when none), in catalogue order. */
static size_t
select_probes (struct args *a, int first_id, const struct probe **list)
{
  const struct probe *p;
  size_t n = 0;

  for (p = probes; p->id; p++)
    if (probe_selected (p, a, first_id))
      list[n++] = p;
  return n;
}

/* Audits one target: discovery, then its probes.  Its block goes to
 * TR->out.
 */
static void
audit_target (struct target_run *tr)
{
  struct session audit;
  struct ctx c = { .s = &audit };
  _Atomic int64_t seen;
  bool interrupted;
  double t0 = now_secs ();
  const char *e = tr->export;

  tr->list = xcalloc (sizeof probes / sizeof probes[0], sizeof *tr->list);
  tr->n = select_probes (tr->a, tr->first_id, tr->list);
  c.named = probes_named (tr->a, tr->first_id);
  tr->res = xcalloc (tr->n ? tr->n : 1, sizeof *tr->res);

  /* The audit runs on sessions of its own, with the user's settings
   * and a sink that records flags instead of showing them.
   */
  session_init (&audit);
  session_copy_settings (&audit, tr->settings);
  audit.sink = audit_sink (&c.rec);
  c.export = e ? e : audit.cfg.default_export ? audit.cfg.default_export : "";
  if (audit.cfg.timeout_ms > 5000)
    audit.cfg.timeout_ms = 5000;
  /* An empty export in the URI is no choice: "" is the default export,
   * which a server may not have.
   */
  if (discover (&c, e || audit.cfg.export_set_by_user
                || (audit.target.export_name && *audit.target.export_name))
      == -1) {
    snprintf (tr->error, sizeof tr->error, "cannot probe the server: %s",
              c.ev);
    tr->status = CMD_FAILED;
    goto out;
  }
  tr->ran = true;
  snprintf (tr->mode, sizeof tr->mode, "%s", c.oldstyle ? "oldstyle"
            : !c.fixed ? "not fixed" : mode_names[c.mode]);
  /* Probes wait for a reply 20 times as long as the slowest reply seen
   * so far (discovery's, then any probe's: see pace), at least half a
   * second, at most the timeout: a server that never answers costs
   * half a second, not the whole timeout.  Connecting, the greeting
   * and TLS handshakes are not replies to a probe: they keep the whole
   * timeout, so a loaded machine's slow handshake is never mistaken
   * for a silent server.
   */
  c.wait_max_ms = audit.cfg.timeout_ms;
  seen = c.slowest_ms;
  c.seen_ms = &seen;
  c.wait_ms = reply_wait (seen, c.wait_max_ms);
  audit.cfg.setup_timeout_ms = audit.cfg.timeout_ms;
  audit.cfg.timeout_ms = c.wait_ms;
  print_header (tr->out, tr->json, &c, &audit);
  interrupted = run_probes (tr, &c);
  /* The audit's FLAG verdicts count once each, for the exit status. */
  tr->not_tested = c.tls_wanted && !c.can_tls;
  print_summary (tr->out, tr->json, tr->counts, interrupted,
                 tr->not_tested ? c.tls_problem : NULL,
                 tr->several ? tr->name : NULL);
  /* "Not tested" is not "passed": TLS that was asked for or offered but
   * could not be used makes the audit fail (status 1, unless a FLAG).
   */
  tr->status = interrupted ? CHECK_INTERRUPTED
    : tr->counts[V_ERROR] || tr->not_tested ? CMD_FAILED : CMD_OK;
 out:
  free (c.other_export);
  free (c.chosen_export);
  session_free (&audit);
  tr->secs = now_secs () - t0;
}

/* ----------------------------------------------------- many targets */

/* The targets of a run: the command line's and --targets FILE's (one
 * per line: a URI, HOST[:PORT], a socket path or [ CMD ARGS ]; `#'
 * begins a comment).  Each becomes a session with the user's settings.
 */
struct target_list {
  struct target_run *t;
  size_t n;
};

/* Adds target T (taken over), named by its address: every target in
 * one form, whether it came from the session, the command line or
 * --targets.
 */
static int
add_target (struct target_list *tl, struct session *user,
            struct nbd_target *t)
{
  struct target_run *tr;

  tl->t = xrealloc (tl->t, (tl->n + 1) * sizeof *tl->t);
  tr = &tl->t[tl->n++];
  memset (tr, 0, sizeof *tr);
  tr->settings = xmalloc (sizeof *tr->settings);
  session_init (tr->settings);
  session_copy_settings (tr->settings, user);
  tr->name = nbd_target_describe (t);
  session_set_target (tr->settings, t);
  return 0;
}

static int
read_targets_file (struct target_list *tl, struct session *user,
                   const char *file)
{
  FILE *fp = fopen (file, "r");
  char line[4096];
  int lineno = 0;

  if (!fp)
    return cmd_error ("--targets %s: %s", file, strerror (errno));
  while (fgets (line, sizeof line, fp)) {
    char *p = line, *end, err[512];
    struct nbd_target t;

    lineno++;
    p[strcspn (p, "\n")] = '\0';
    if ((end = strchr (p, '#')) && (end == p || end[-1] == ' '
                                    || end[-1] == '\t'))
      *end = '\0';
    while (*p == ' ' || *p == '\t')
      p++;
    end = p + strlen (p);
    while (end > p && (end[-1] == ' ' || end[-1] == '\t'))
      *--end = '\0';
    if (!*p)
      continue;
    if (*p == '[') {
      /* [ CMD ARGS... ]: words separated by blanks. */
      char *words[256], *w, *save = NULL;
      int n = 0;

      for (w = strtok_r (p, " \t", &save); w && n < 255;
           w = strtok_r (NULL, " \t", &save))
        words[n++] = w;
      if (n < 3 || strcmp (words[0], "[") || strcmp (words[n - 1], "]")) {
        fclose (fp);
        return usage_error ("--targets %s:%d: a server command is written "
                            "[ CMD ARGS... ]", file, lineno);
      }
      nbd_target_command (n - 2, words + 1, &t);
    }
    else if (nbd_parse_target (p, &t, err, sizeof err) == -1) {
      fclose (fp);
      return usage_error ("--targets %s:%d: %s", file, lineno, err);
    }
    add_target (tl, user, &t);
  }
  fclose (fp);
  if (tl->n == 0)
    return usage_error ("--targets %s: no target in it", file);
  return CMD_OK;
}

/* Several targets at once: each audit writes its block into memory, and
 * the blocks are printed in the order given.
 */
struct fleet {
  pthread_mutex_t lock;
  pthread_cond_t cond;
  struct target_list *tl;
  size_t next;
  char **buf;
  size_t *len;
};

static void *
fleet_worker (void *arg)
{
  struct fleet *f = arg;

  pthread_mutex_lock (&f->lock);
  while (f->next < f->tl->n && !transport_interrupted) {
    size_t i = f->next++;
    struct target_run *tr = &f->tl->t[i];

    pthread_mutex_unlock (&f->lock);
    tr->out = open_memstream (&f->buf[i], &f->len[i]);
    if (!tr->out)
      abort ();
    audit_target (tr);
    if (!tr->ran) {
      if (tr->json) {
        fprintf (tr->out, "{\"event\":\"error\",\"message\":");
        json_string (tr->out, tr->error);
        fprintf (tr->out, ",\"command\":\"check\",\"target\":");
        json_string (tr->out, tr->name);
        fprintf (tr->out, "}\n");
      }
      else
        fprintf (tr->out, "check %s: %s\n", tr->name, tr->error);
    }
    fclose (tr->out);
    tr->out = NULL;
    pthread_mutex_lock (&f->lock);
    pthread_cond_broadcast (&f->cond);
  }
  pthread_mutex_unlock (&f->lock);
  return NULL;
}

static void
xml_attr (FILE *fp, const char *s)
{
  for (; s && *s; s++) {
    unsigned char ch = *s;
    switch (ch) {
    case '&': fputs ("&amp;", fp); break;
    case '<': fputs ("&lt;", fp); break;
    case '>': fputs ("&gt;", fp); break;
    case '"': fputs ("&quot;", fp); break;
    case '\n': fputs ("&#10;", fp); break;
    default:
      if (ch < 0x20 && ch != '\t')
        fprintf (fp, "&#x%x;", ch == 0 ? 0xfffd : ch);
      else
        fputc (ch, fp);
    }
  }
}

/* JUnit XML, as Jenkins, GitLab and GitHub test reporters read it: a
 * testsuite per target, a testcase per probe.
 */
static int
write_junit (const char *file, struct target_list *tl, bool strict)
{
  FILE *fp = fopen (file, "w");
  size_t i, k;

  if (!fp)
    return cmd_error ("--junit %s: %s", file, strerror (errno));
  fprintf (fp, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites "
           "name=\"nbdcli check\">\n");
  for (i = 0; i < tl->n; i++) {
    struct target_run *tr = &tl->t[i];
    unsigned fail = tr->counts[V_FLAG] + (strict ? tr->counts[V_WARN] : 0);

    fprintf (fp, "  <testsuite name=\"");
    xml_attr (fp, tr->name);
    fprintf (fp, "\" tests=\"%u\" failures=\"%u\" errors=\"%u\" "
             "skipped=\"%u\" time=\"%.3f\">\n",
             tr->ran ? tr->counts[0] + tr->counts[1] + tr->counts[2]
             + tr->counts[3] + tr->counts[4] : 1, fail,
             tr->ran ? tr->counts[V_ERROR] : 1, tr->counts[V_SKIP],
             tr->secs);
    if (!tr->ran) {
      fprintf (fp, "    <testcase classname=\"");
      xml_attr (fp, tr->name);
      fprintf (fp, "\" name=\"discovery\" time=\"%.3f\">\n      <error "
               "message=\"", tr->secs);
      xml_attr (fp, tr->error);
      fprintf (fp, "\"/>\n    </testcase>\n");
    }
    for (k = 0; tr->ran && k < tr->n; k++) {
      struct probe_result *r = &tr->res[k];
      const struct probe *p = tr->list[k];
      const char *tag = r->v == V_FLAG || (strict && r->v == V_WARN)
        ? "failure" : r->v == V_ERROR ? "error" : r->v == V_SKIP
        ? "skipped" : NULL;

      if (!r->done && tr->status == CHECK_INTERRUPTED)
        continue;
      fprintf (fp, "    <testcase classname=\"");
      xml_attr (fp, tr->name);
      fprintf (fp, "\" name=\"%s\" time=\"%.3f\"", p->id, r->secs);
      if (!tag && r->v != V_WARN) {
        fprintf (fp, "/>\n");
        continue;
      }
      fprintf (fp, ">\n");
      if (tag) {
        fprintf (fp, "      <%s type=\"%s\" message=\"", tag,
                 verdict_names[r->v]);
        xml_attr (fp, r->ev);
        fprintf (fp, "\">");
        xml_attr (fp, p->rule);
        fprintf (fp, " (spec: ");
        xml_attr (fp, p->section);
        fprintf (fp, ")</%s>\n", tag);
      }
      else {                    /* a WARN without --strict: said, not failed */
        fprintf (fp, "      <system-out>WARN: ");
        xml_attr (fp, r->ev);
        fprintf (fp, " (");
        xml_attr (fp, p->rule);
        fprintf (fp, "; spec: ");
        xml_attr (fp, p->section);
        fprintf (fp, ")</system-out>\n");
      }
      fprintf (fp, "    </testcase>\n");
    }
    fprintf (fp, "  </testsuite>\n");
  }
  fprintf (fp, "</testsuites>\n");
  if (fclose (fp) == EOF)
    return cmd_error ("--junit %s: %s", file, strerror (errno));
  return CMD_OK;
}

/* The table after several targets: target, TLS mode, counts, time. */
static void
print_fleet_summary (FILE *fp, bool json, struct target_list *tl)
{
  size_t i;
  int w = 6;                    /* the widest target name, whole */

  for (i = 0; i < tl->n; i++)
    if ((int) strlen (tl->t[i].name) > w)
      w = strlen (tl->t[i].name);
  if (!json)
    fprintf (fp, "\n%-*s  %-26s %5s %5s %5s %5s %5s %8s\n", w, "target",
             "TLS mode", "pass", "flag", "warn", "skip", "error", "time");
  for (i = 0; i < tl->n; i++) {
    struct target_run *tr = &tl->t[i];

    if (json) {
      fprintf (fp, "{\"event\":\"fleet_row\",\"target\":");
      json_string (fp, tr->name);
      fprintf (fp, ",\"ran\":%s,\"tls_mode\":", tr->ran ? "true" : "false");
      json_string (fp, tr->ran ? tr->mode : NULL);
      fprintf (fp, ",\"pass\":%u,\"flag\":%u,\"warn\":%u,\"skip\":%u,"
               "\"error\":%u,\"tls_not_tested\":%s,\"seconds\":%.3f}\n",
               tr->counts[V_PASS], tr->counts[V_FLAG], tr->counts[V_WARN],
               tr->counts[V_SKIP], tr->counts[V_ERROR] + !tr->ran,
               tr->not_tested ? "true" : "false", tr->secs);
      continue;
    }
    fprintf (fp, "%-*s  %-26.26s %5u %5u %5u %5u %5u %7.2fs%s\n",
             w, tr->name, tr->ran ? tr->mode : "(not reached)",
             tr->counts[V_PASS], tr->counts[V_FLAG], tr->counts[V_WARN],
             tr->counts[V_SKIP], tr->counts[V_ERROR] + !tr->ran, tr->secs,
             tr->not_tested ? "  TLS not tested" : "");
  }
}

static void
free_targets (struct target_list *tl)
{
  size_t i;

  for (i = 0; i < tl->n; i++) {
    session_free (tl->t[i].settings);
    free (tl->t[i].settings);
    free ((char *) tl->t[i].name);
    free (tl->t[i].list);
    free (tl->t[i].res);
  }
  free (tl->t);
}

/* The number of probes (or targets) run at once. */
#define DEFAULT_JOBS 4

int
run_check (struct session *user, struct args *a, int first_id)
{
  struct target_list tl = { 0 };
  const char *e = arg_opt (a, "--export");
  const char *jobs_opt = arg_opt (a, "--jobs");
  const char *targets = arg_opt (a, "--targets");
  const char *junit = arg_opt (a, "--junit");
  bool json = shell.disp.json, strict = arg_opt (a, "--strict") != NULL;
  FILE *fp = a->out;
  uint32_t jobs = DEFAULT_JOBS;
  int i, ret = CMD_OK, worst = CMD_OK;
  size_t k;
  const struct probe *p;
  bool interrupted = false;

  if (arg_opt (a, "--list")) {
    print_list (fp, json);
    return CMD_OK;
  }
  if (jobs_opt && (parse_u32 (jobs_opt, &jobs) == -1 || jobs < 1
                   || jobs > 64))
    return usage_error ("--jobs %s: expected a number from 1 to 64",
                        jobs_opt);
  /* Words after `check': probe ids, or more targets. */
  for (i = first_id; i < a->argc; i++) {
    struct nbd_target t;
    char err[512];

    for (p = probes; p->id; p++)
      if (strcmp (p->id, a->argv[i]) == 0)
        break;
    if (p->id)
      continue;
    if (a->argv[i][0] != '/' && a->argv[i][0] != '.'
        && !strchr (a->argv[i], ':'))
      return usage_error ("no probe \"%s\" (see `check --list')",
                          a->argv[i]);
    if (nbd_parse_target (a->argv[i], &t, err, sizeof err) == -1)
      return usage_error ("%s", err);
    add_target (&tl, user, &t);
    a->argv[i] = (char *) "";   /* not a probe id */
  }
  if (targets && read_targets_file (&tl, user, targets) != CMD_OK) {
    free_targets (&tl);
    return CMD_USAGE;
  }
  if (user->target.kind != TARGET_NONE) {
    /* The session's own target comes first. */
    struct nbd_target t;
    struct target_run own;

    nbd_target_copy (&t, &user->target);
    add_target (&tl, user, &t);
    own = tl.t[tl.n - 1];
    memmove (tl.t + 1, tl.t, (tl.n - 1) * sizeof *tl.t);
    tl.t[0] = own;
  }
  if (tl.n == 0)
    return cmd_error ("no target (use `connect TARGET' first, or nbdcli "
                      "check TARGET)");
  for (k = 0; k < tl.n; k++) {
    tl.t[k].export = e;
    tl.t[k].a = a;
    tl.t[k].first_id = first_id;
    tl.t[k].json = json;
    tl.t[k].several = tl.n > 1;
  }

  if (tl.n == 1) {
    /* One target: its block streams out as the probes finish. */
    tl.t[0].jobs = jobs;
    tl.t[0].out = fp;
    audit_target (&tl.t[0]);
    if (!tl.t[0].ran)
      ret = cmd_error ("%s", tl.t[0].error);
  }
  else {
    /* Several: up to JOBS targets at once, each probing one at a time
     * when there are as many targets as jobs.
     */
    struct fleet f = { .tl = &tl };
    pthread_t th[64];
    size_t nth = 0, want = jobs < tl.n ? jobs : tl.n;

    f.buf = xcalloc (tl.n, sizeof *f.buf);
    f.len = xcalloc (tl.n, sizeof *f.len);
    for (k = 0; k < tl.n; k++)
      tl.t[k].jobs = jobs / want > 1 ? (int) (jobs / want) : 1;
    pthread_mutex_init (&f.lock, NULL);
    pthread_cond_init (&f.cond, NULL);
    for (k = 0; k < want; k++)
      if (pthread_create (&th[nth], NULL, fleet_worker, &f) == 0)
        nth++;
    if (nth == 0)
      fleet_worker (&f);
    for (k = 0; k < nth; k++)
      pthread_join (th[k], NULL);
    pthread_cond_destroy (&f.cond);
    pthread_mutex_destroy (&f.lock);
    for (k = 0; k < tl.n; k++) {
      if (f.buf[k])
        fwrite (f.buf[k], 1, f.len[k], fp);
      free (f.buf[k]);
    }
    free (f.buf);
    free (f.len);
    print_fleet_summary (fp, json, &tl);
  }
  fflush (fp);

  for (k = 0; k < tl.n; k++) {
    struct target_run *tr = &tl.t[k];
    int st = tr->ran ? tr->status : CMD_FAILED;

    /* The audit's FLAG verdicts count once each, for the exit status. */
    shell.audit_flags += tr->counts[V_FLAG];
    if (st == CHECK_INTERRUPTED)
      interrupted = true;
    else if (st != CMD_OK)
      worst = CMD_FAILED;
  }
  if (junit && write_junit (junit, &tl, strict) != CMD_OK)
    worst = CMD_FAILED;
  free_targets (&tl);
  if (ret != CMD_OK)
    return ret;
  return interrupted ? CHECK_INTERRUPTED : worst;
}

static int
do_check (struct session *s, struct args *a)
{
  int r;

  if (!arg_opt (a, "--list") && s->target.kind != TARGET_NONE
      && !shell.disp.json) {
    char *d = nbd_target_describe (&s->target);

    fprintf (a->out, "check: auditing %s on connections of its own; this "
             "session is left as it was\n", d);
    free (d);
  }
  r = run_check (s, a, 1);
  return r == CHECK_INTERRUPTED ? CMD_FAILED : r;
}

const struct command check_commands[] = {
  {
    .name = "check",
    .args = "[--list] [--export NAME] [--jobs N] [--targets FILE] "
            "[--junit FILE] [--strict] [TARGET... | PROBE...]",
    .summary = "audit the server's negotiation and TLS handling, probe by probe",
    .help = "Learns the server's TLS mode (none, selective, forced), its exports\n"
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
    .opts = "--list --export= --jobs= --targets= --junit= --strict",
    .max_args = -1,
    .run = do_check,
  },
  { .name = NULL }
};
