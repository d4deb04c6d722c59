/* nbdcli - the session: connection, option haggling and the model of
 * what is negotiated in each TLS epoch, with the validators that raise
 * flags when the server contradicts it.
 * Copyright the nbdcli authors, MIT licence.
 */
#include <config.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "events.h"
#include "names.h"
#include "nbd-proto.h"
#include "session.h"
#include "wire.h"
#include "xmit.h"

/* Bounds on what a server may make nbdcli read for one option. */
#define MAX_REPLY_LEN     (1024 * 1024)
#define MAX_REPLIES       100000

const char *
phase_name (enum phase p)
{
  switch (p) {
  case PHASE_DISCONNECTED: return "disconnected";
  case PHASE_OPTIONS: return "negotiating";
  case PHASE_TRANSMISSION: return "transmission";
  }
  return "?";
}

void
nego_clear (struct nego *n)
{
  size_t i;

  for (i = 0; i < n->nctx; i++)
    free (n->ctx[i].name);
  free (n->ctx);
  free (n->ctx_export);
  free (n->export_name);
  free (n->canonical_name);
  free (n->description);
  memset (n, 0, sizeof *n);
}

static void
nego_clear_contexts (struct nego *n)
{
  size_t i;

  for (i = 0; i < n->nctx; i++)
    free (n->ctx[i].name);
  free (n->ctx);
  free (n->ctx_export);
  n->ctx = NULL;
  n->nctx = 0;
  n->ctx_export = NULL;
}

/* Forgets what was learned about the last export answered. */
static void
nego_clear_export (struct nego *n)
{
  free (n->export_name);
  free (n->canonical_name);
  free (n->description);
  n->export_name = n->canonical_name = n->description = NULL;
  n->have_export = n->have_bs = false;
  n->size = 0;
  n->tflags = 0;
  n->min_block = n->pref_block = n->max_block = 0;
}

const struct meta_ctx *
nego_find_ctx (const struct nego *n, uint32_t id)
{
  size_t i;

  for (i = 0; i < n->nctx; i++)
    if (n->ctx[i].id == id)
      return &n->ctx[i];
  return NULL;
}

/* The transport's tap: bytes as they cross the socket, as events. */
static void
socket_tap (void *ctx, bool sent, bool tls, const void *p, size_t n)
{
  ev_bytes (ctx, sent, BYTES_SOCKET, tls, p, n);
}

void
session_init (struct session *s)
{
  memset (s, 0, sizeof *s);
  transport_init (&s->t);
  s->t.tap = socket_tap;
  s->t.tap_ctx = s;
  s->cfg.timeout_ms = 10000;
  s->cfg.client_flags_override = -1;
  s->cfg.tls.verify_peer = -1;
  s->target.tls_verify_peer = -1;
  s->next_cookie = 1;
}

static void
free_strv (char **v, size_t n)
{
  size_t i;
  for (i = 0; i < n; i++)
    free (v[i]);
  free (v);
}

void
session_free (struct session *s)
{
  if (transport_is_open (&s->t))
    session_hangup (s, NULL);
  session_forget_inflight (s, false);
  nbd_target_free (&s->target);
  nego_clear (&s->cur);
  nego_clear (&s->prev);
  tls_info_clear (&s->tlsinfo);
  tls_settings_clear (&s->cfg.tls);
  free (s->cfg.default_export);
  free (s->info_payload);
  free (s->last_data.head);
  s->last_data.head = NULL;
  free_strv (s->learned.exports, s->learned.nexports);
  free_strv (s->learned.contexts, s->learned.ncontexts);
}

static void
learn (char ***v, size_t *n, const char *name)
{
  size_t i;

  /* Names for completion: a server listing endless names gets the
   * first thousand remembered, and none longer than the spec's limit
   * (4096 bytes, flagged as string-too-long).
   */
  if (*n >= 1000 || strlen (name) > NBD_MAX_STRING)
    return;
  for (i = 0; i < *n; i++)
    if (strcmp ((*v)[i], name) == 0)
      return;
  *v = xrealloc (*v, (*n + 1) * sizeof (char *));
  (*v)[(*n)++] = xstrdup (name);
}

void
session_learn_export (struct session *s, const char *name)
{
  learn (&s->learned.exports, &s->learned.nexports, name);
}

void
session_learn_context (struct session *s, const char *name)
{
  learn (&s->learned.contexts, &s->learned.ncontexts, name);
}

/* A connection lost during option haggling: say which limits of real
 * servers may explain it.
 */
static void
note_limits (struct session *s)
{
  if (s->phase != PHASE_OPTIONS)
    return;
  if (s->noptions_conn >= 30)
    ev_note (s, "%u options were sent on this connection: servers may "
             "limit options per connection (nbdkit allows about 32)",
             s->noptions_conn);
  if (s->connected_ms
      && transport_now_ms () - s->connected_ms >= 9500)
    ev_note (s, "the connection was %" PRId64 " s in option haggling: "
             "qemu 9.1 and later drop a client that has not reached "
             "NBD_OPT_GO within 10 s (qemu-nbd --handshake-limit)",
             (transport_now_ms () - s->connected_ms) / 1000);
}

/* Reports a failed read or write and, when the stream can no longer
 * be trusted, drops the connection.
 */
static int
io_failed (struct session *s, enum io_status st, const char *what)
{
  if ((st == IO_EOF || st == IO_ERROR) && s->tls_up && s->tls_unread
      && s->t.got == 0) {
    /* With TLS 1.3 the server checks the client certificate after the
     * client thinks the handshake is done; a rejection shows up as an
     * alert or EOF on the first read.
     */
    ev_error (s, ERR_TLS_REJECTED, "%s: the server closed the TLS connection right after the "
              "handshake%s%s%s; with TLS 1.3 this is how a server rejects "
              "the client's credentials (%s)", what,
              st == IO_ERROR ? " (" : "", st == IO_ERROR ? s->t.err : "",
              st == IO_ERROR ? ")" : "",
              tls_rejection_advice (s));
    session_close (s, "TLS credentials rejected");
    return -1;
  }
  switch (st) {
  case IO_OK:
    return 0;
  case IO_EOF:
    ev_error (s, ERR_CLOSED, "%s: the server closed the connection", what);
    note_limits (s);
    session_close (s, "closed by the server");
    break;
  case IO_SHORT:
    ev_error (s, ERR_CLOSED, "%s: the server closed the connection after %zu bytes "
              "of the message", what, s->t.got);
    session_close (s, "closed by the server in mid-message");
    break;
  case IO_TIMEOUT:
    ev_error (s, ERR_TIMEOUT, "%s: no reply within %d %s (%zu bytes of the "
              "message arrived)", what,
              s->t.timeout_ms % 1000 ? s->t.timeout_ms
              : s->t.timeout_ms / 1000,
              s->t.timeout_ms % 1000 ? "ms" : "s", s->t.got);
    /* The stream may still be in sync if nothing arrived; the user can
     * go on waiting with another command or close.  A reply to an
     * option that comes after the wait is a late reply, not a second
     * one (no time limit binds a server): shown, not flagged.
     */
    if (s->t.got) {
      ev_note (s, "the framing is lost; closing the connection");
      session_close (s, "framing lost after a timeout");
    }
    else if (s->phase == PHASE_OPTIONS)
      s->reply_abandoned = true;
    break;
  case IO_INTERRUPTED:
    ev_error (s, ERR_INTERRUPTED, "%s: interrupted", what);
    if (s->t.got || s->phase == PHASE_TRANSMISSION)
      /* Part of a message, or a reply that may carry data, is still on
       * its way: the stream cannot be trusted any more.
       */
      session_close (s, "framing lost after an interrupt");
    else {
      s->reply_abandoned = true;
      ev_note (s, "the reply may still arrive; it will be shown before "
               "the next option");
    }
    break;
  case IO_ERROR:
    ev_error (s, ERR_TRANSPORT, "%s: %s", what, s->t.err);
    session_close (s, "transport error");
    break;
  }
  return -1;
}

int
session_setup_timeout (const struct session *s)
{
  return s->cfg.setup_timeout_ms > 0 ? s->cfg.setup_timeout_ms
    : s->cfg.timeout_ms;
}

static enum io_status
rd_within (struct session *s, void *buf, size_t n, int timeout_ms)
{
  enum io_status st;

  s->t.timeout_ms = timeout_ms;
  st = transport_read (&s->t, buf, n);
  /* The NBD stream as read (decrypted inside TLS), for captures. */
  ev_bytes (s, false, BYTES_STREAM, s->tls_up, buf, st == IO_OK ? n : s->t.got);
  if (st == IO_OK && n > 0)
    s->tls_unread = false;
  return st;
}

static enum io_status
rd (struct session *s, void *buf, size_t n)
{
  return rd_within (s, buf, n, s->cfg.timeout_ms);
}

static enum io_status
wr (struct session *s, const void *buf, size_t n)
{
  enum io_status st;

  s->t.timeout_ms = s->cfg.timeout_ms;
  st = transport_write (&s->t, buf, n);
  if (st == IO_OK)
    ev_bytes (s, true, BYTES_STREAM, s->tls_up, buf, n);
  return st;
}

/* BY_US: nbdcli ends the connection (a server that went on running
 * until then is stopped, and how it exits is no news: it races nbdcli's
 * own close, so a socket-activated server's status is not asked for).
 */
static void
close_conn (struct session *s, const char *why, bool by_us)
{
  int st = -1;

  session_forget_inflight (s, why != NULL);
  transport_close (&s->t, s->tls_up,
                   by_us && s->t.activated ? NULL : &st);
  s->phase = PHASE_DISCONNECTED;
  s->tls_up = false;
  if (st != -1 && s->target.kind == TARGET_CMD) {
    if (WIFEXITED (st) && WEXITSTATUS (st) != 0)
      ev_note (s, "server command exited with status %d", WEXITSTATUS (st));
    else if (WIFSIGNALED (st))
      ev_note (s, "server command killed by signal %d", WTERMSIG (st));
  }
  ev_closed (s, why);
}

void
session_close (struct session *s, const char *why)
{
  close_conn (s, why, false);
}

void
session_hangup (struct session *s, const char *why)
{
  close_conn (s, why, true);
}

static int read_greeting (struct session *s);

static void
reset_connection_state (struct session *s)
{
  s->phase = PHASE_DISCONNECTED;
  s->oldstyle = false;
  s->hs_flags = 0;
  s->client_flags = 0;
  s->no_zeroes = false;
  s->epoch = 0;
  s->tls_up = false;
  s->tls_refused = false;
  nego_clear (&s->cur);
  nego_clear (&s->prev);
  tls_info_clear (&s->tlsinfo);
  s->have_last_reply = false;
  s->info_valid = false;
  s->reply_abandoned = false;
  s->next_cookie = 1;
  session_forget_inflight (s, false);
  s->nanswered = 0;
  s->last_data.valid = false;
  s->nflags_conn = 0;
  s->noptions_conn = 0;
  s->connected_ms = 0;
}

/* Checks transmission flags wherever the server sends them. */
static void
check_tflags (struct session *s, uint16_t tflags, const char *where)
{
  if (!(tflags & NBD_FLAG_HAS_FLAGS))
    ev_flag (s, F_HAS_FLAGS_MISSING,
             "%s: transmission flags 0x%04x lack NBD_FLAG_HAS_FLAGS",
             where, tflags);
  if ((tflags & NBD_FLAG_SEND_FAST_ZERO)
      && !(tflags & NBD_FLAG_SEND_WRITE_ZEROES))
    ev_flag (s, F_FAST_ZERO_WITHOUT_WRITE_ZEROES,
             "%s: NBD_FLAG_SEND_FAST_ZERO is set without "
             "NBD_FLAG_SEND_WRITE_ZEROES (flags 0x%04x)", where, tflags);
  /* DF needs structured replies or extended headers (which imply
   * structured replies) in this epoch.
   */
  if ((tflags & NBD_FLAG_SEND_DF) && !s->cur.sr && !s->cur.eh) {
    if (s->prev.eh && !s->prev.sr)
      ev_flag (s, F_TLS_STATE_KEPT_EH,
               "%s sets NBD_FLAG_SEND_DF, but neither structured replies nor "
               "extended headers were negotiated since STARTTLS", where);
    else if (s->prev.sr)
      ev_flag (s, F_TLS_STATE_KEPT_SR,
               "%s sets NBD_FLAG_SEND_DF, but structured replies were not "
               "negotiated since STARTTLS", where);
    else
      ev_flag (s, F_DF_WITHOUT_SR,
               "%s sets NBD_FLAG_SEND_DF, but structured replies were never "
               "negotiated", where);
  }
}

int
session_connect (struct session *s)
{
  char *desc;
  int r;

  if (transport_is_open (&s->t))
    session_hangup (s, "reconnecting");
  reset_connection_state (s);
  s->t.timeout_ms = session_setup_timeout (s);
  desc = nbd_target_describe (&s->target);
  switch (s->target.kind) {
  case TARGET_TCP:
    r = transport_connect_tcp (&s->t, s->target.host, s->target.port);
    break;
  case TARGET_UNIX:
    r = transport_connect_unix (&s->t, s->target.socket,
                                s->target.socket_len);
    break;
  case TARGET_CMD:
    r = transport_spawn (&s->t, s->target.argv);
    break;
  default:
    ev_error (s, ERR_NO_TARGET, "connect: no target");
    free (desc);
    return -1;
  }
  if (r == -1) {
    ev_error (s, ERR_CONNECT, "connect: %s", s->t.err);
    free (desc);
    return -1;
  }
  ev_connected (s, desc);
  free (desc);
  return read_greeting (s);
}

int
session_connect_memory (struct session *s, const uint8_t *server_bytes,
                        size_t len, struct bytes *sent)
{
  if (transport_is_open (&s->t))
    session_hangup (s, "reconnecting");
  reset_connection_state (s);
  transport_open_memory (&s->t, server_bytes, len, sent);
  ev_connected (s, "in-memory server bytes");
  return read_greeting (s);
}

/* Reads the greeting of a freshly opened transport and, for newstyle,
 * answers with the client flags.  0 or -1 (reported).
 */
static int
read_greeting (struct session *s)
{
  uint8_t g[NBD_OLDSTYLE_GREETING_LEN];
  enum io_status st;
  uint32_t cflags;
  uint8_t cf[4];

  st = rd_within (s, g, 16, session_setup_timeout (s));
  if (st != IO_OK)
    return io_failed (s, st, "greeting");
  switch (nbd_greeting_kind (g, 16)) {
  case NBD_GREETING_BAD_MAGIC:
    ev_error (s, ERR_NOT_NBD, "greeting: not an NBD server: the first 8 bytes are "
              "%02x%02x%02x%02x%02x%02x%02x%02x, not NBDMAGIC "
              "(4e42444d41474943)",
              g[0], g[1], g[2], g[3], g[4], g[5], g[6], g[7]);
    session_close (s, "not an NBD server");
    return -1;
  case NBD_GREETING_BAD_VERSION:
    ev_error (s, ERR_NOT_NBD, "greeting: NBDMAGIC followed by an unknown magic "
              "0x%016" PRIx64 " (neither IHAVEOPT nor the oldstyle "
              "0x0000420281861253)", get_u64 (g + 8));
    session_close (s, "unknown greeting");
    return -1;
  case NBD_GREETING_OLDSTYLE: {
    struct nbd_oldstyle o;

    st = rd_within (s, g + 16, NBD_OLDSTYLE_GREETING_LEN - 16,
                    session_setup_timeout (s));
    if (st != IO_OK)
      return io_failed (s, st, "oldstyle greeting");
    nbd_decode_oldstyle (g, sizeof g, &o);
    s->oldstyle = true;
    s->phase = PHASE_TRANSMISSION;
    s->cur.have_export = true;
    s->cur.size = o.size;
    s->cur.tflags = (uint16_t) o.flags;
    ev_greeting (s);
    ev_wire (s, false, WIRE_GREETING, g, sizeof g, sizeof g);
    if (o.flags >> 16)
      ev_flag (s, F_OLDSTYLE_HANDSHAKE_FLAGS,
               "oldstyle greeting flags 0x%08" PRIx32 " set bits above 15",
               o.flags);
    check_tflags (s, s->cur.tflags, "oldstyle greeting");
    return 0;
  }
  case NBD_GREETING_NEWSTYLE:
    break;
  }
  st = rd_within (s, g + 16, 2, session_setup_timeout (s));
  if (st != IO_OK)
    return io_failed (s, st, "greeting");
  s->hs_flags = get_u16 (g + 16);
  s->connected_ms = transport_now_ms ();
  s->phase = PHASE_OPTIONS;
  ev_greeting (s);
  ev_wire (s, false, WIRE_GREETING, g, 18, 18);

  if (s->cfg.client_flags_override >= 0)
    cflags = (uint32_t) s->cfg.client_flags_override;
  else {
    cflags = 0;
    if (s->hs_flags & NBD_FLAG_FIXED_NEWSTYLE)
      cflags |= NBD_FLAG_C_FIXED_NEWSTYLE;
    if (s->hs_flags & NBD_FLAG_NO_ZEROES)
      cflags |= NBD_FLAG_C_NO_ZEROES;
  }
  s->client_flags = cflags;
  s->no_zeroes = (cflags & NBD_FLAG_C_NO_ZEROES)
    && (s->hs_flags & NBD_FLAG_NO_ZEROES);
  cf[0] = cflags >> 24; cf[1] = cflags >> 16; cf[2] = cflags >> 8;
  cf[3] = cflags;
  st = wr (s, cf, 4);
  if (st != IO_OK)
    return io_failed (s, st, "client flags");
  ev_client_flags (s, cflags);
  ev_wire (s, true, WIRE_CLIENT_FLAGS, cf, 4, 4);
  return 0;
}

static const char *
export_arg_name (const uint8_t *payload, size_t len, char **out)
{
  uint32_t n;

  *out = NULL;
  if (len < 4)
    return NULL;
  n = get_u32 (payload);
  if (n > len - 4)
    return NULL;
  *out = xstrndup (payload + 4, n);
  return *out;
}

/* Is a reply of TYPE to OPT the last one for that option?  */
static bool
reply_is_final (uint32_t opt, uint32_t type)
{
  if (type == NBD_REP_ACK || (type & NBD_REP_ERR_BIT))
    return true;
  switch (type) {
  case NBD_REP_SERVER:
    return opt != NBD_OPT_LIST;
  case NBD_REP_INFO:
    return opt != NBD_OPT_INFO && opt != NBD_OPT_GO;
  case NBD_REP_META_CONTEXT:
    return opt != NBD_OPT_LIST_META_CONTEXT
      && opt != NBD_OPT_SET_META_CONTEXT;
  default:
    /* An unknown reply type: nbdcli cannot know whether more follow,
     * so it takes this one as the last.
     */
    return true;
  }
}

/* The state of one option exchange while its replies arrive. */
struct exchange {
  uint32_t opt;
  const uint8_t *payload;       /* what was sent */
  size_t len;
  char *export;                 /* INFO/GO/META: the export asked for */
  bool seen_info_export;
  bool seen_info;               /* the first NBD_REP_INFO resets the export */
  bool had_ctx_reply;
  uint32_t *ids;                /* context ids in this SET reply */
  size_t nids;
  /* Before the option went out. */
  uint32_t prev_opt;            /* the option before this one */
  bool prev_answered;           /* ... got its final reply */
  bool was_abandoned;           /* ... its wait ended without its final
                                 * reply (cancelled, timed out) */
  bool prev_done;               /* ... whose late final reply came since */
  bool go_after_info;           /* GO right after a successful INFO with
                                 * the same data */
  uint64_t info_size;
  uint16_t info_tflags;
  /* While replies arrive. */
  unsigned ours;                /* replies taken as answers to this option */
  unsigned nreplies;            /* non-final replies */
  bool echo_bad;                /* a reply echoed another option */
};

static void
on_info (struct session *s, struct exchange *x, const struct nbd_rep_info *i,
         uint32_t len)
{
  const char *bad;

  switch (i->type) {
  case NBD_INFO_EXPORT:
    x->seen_info_export = true;
    s->cur.have_export = true;
    s->cur.size = i->size;
    s->cur.tflags = i->tflags;
    check_tflags (s, i->tflags, "NBD_INFO_EXPORT");
    break;
  case NBD_INFO_BLOCK_SIZE:
    s->cur.have_bs = true;
    s->cur.min_block = i->min_block;
    s->cur.pref_block = i->pref_block;
    s->cur.max_block = i->max_block;
    bad = nbd_check_block_sizes (i->min_block, i->pref_block, i->max_block);
    if (bad)
      ev_flag (s, F_BLOCK_SIZE_INVALID,
               "NBD_INFO_BLOCK_SIZE min %" PRIu32 " preferred %" PRIu32
               " max %" PRIu32 ": %s", i->min_block, i->pref_block,
               i->max_block, bad);
    break;
  case NBD_INFO_NAME:
    free (s->cur.canonical_name);
    s->cur.canonical_name = xstrndup (i->str, i->str_len);
    if (s->epoch > 0 && s->prev.export_name && x->export
        && strcmp (x->export, s->prev.export_name) != 0
        && strcmp (s->cur.canonical_name, s->prev.export_name) == 0)
      ev_flag (s, F_TLS_STATE_KEPT_EXPORT,
               "%s for export \"%s\" answers NBD_INFO_NAME \"%s\", the "
               "export asked about before STARTTLS",
               nbd_name_or_unknown (nbd_opt_names, x->opt), x->export,
               s->cur.canonical_name);
    break;
  case NBD_INFO_DESCRIPTION:
    free (s->cur.description);
    s->cur.description = xstrndup (i->str, i->str_len);
    break;
  default:
    break;
  }
  (void) len;
}

static void
on_meta (struct session *s, struct exchange *x, const struct nbd_rep_meta *m)
{
  /* The model keeps at most the spec's 4096 bytes of a name (a longer
   * one is flagged string-too-long): 10000 contexts cost 40 MiB at most.
   */
  char *name = xstrndup (m->name, m->name_len > NBD_MAX_STRING
                         ? NBD_MAX_STRING : m->name_len);
  size_t i;

  session_learn_context (s, name);
  /* A bounded model: past 10000 contexts in one reply, no more are kept
   * (or checked for duplicate ids).
   */
  if (x->opt != NBD_OPT_SET_META_CONTEXT || x->nids >= 10000) {
    free (name);
    return;
  }
  for (i = 0; i < x->nids; i++)
    if (x->ids[i] == m->id) {
      ev_flag (s, F_META_DUP_ID,
               "context %s got id %" PRIu32 ", already given to another "
               "context", name, m->id);
      break;
    }
  x->ids = xrealloc (x->ids, (x->nids + 1) * sizeof *x->ids);
  x->ids[x->nids++] = m->id;
  s->cur.ctx = xrealloc (s->cur.ctx, (s->cur.nctx + 1) * sizeof *s->cur.ctx);
  s->cur.ctx[s->cur.nctx].id = m->id;
  s->cur.ctx[s->cur.nctx].name = name;
  s->cur.nctx++;
}

/* Checks a META_CONTEXT reply name against the queries that were sent. */
static bool
query_matches (uint32_t opt, const uint8_t *payload, size_t len,
               const char *name)
{
  uint32_t n, nq, i;
  size_t off;

  if (len < 8)
    return false;
  n = get_u32 (payload);
  if (n > len - 8)
    return false;
  off = 4 + n;
  nq = get_u32 (payload + off);
  off += 4;
  /* No query: LIST lists everything, SET selects nothing. */
  if (nq == 0)
    return opt == NBD_OPT_LIST_META_CONTEXT;
  for (i = 0; i < nq; i++) {
    uint32_t ql;
    const char *q;

    if (len - off < 4)
      return false;
    ql = get_u32 (payload + off);
    off += 4;
    if (ql > len - off)
      return false;
    q = (const char *) payload + off;
    off += ql;
    if (strlen (name) == ql && memcmp (name, q, ql) == 0)
      return true;
    /* "ns:" selects the whole namespace.  The base: namespace is defined
     * by the spec, so a leaf query there selects exactly that context;
     * other namespaces decide themselves what a leaf query selects
     * (qemu:dirty-bitmap: lists every bitmap), so a name extending the
     * query matches.
     */
    if (ql > 0 && q[ql - 1] == ':' && strncmp (name, q, ql) == 0)
      return true;
    if (!(ql >= 5 && memcmp (q, "base:", 5) == 0)
        && strlen (name) > ql && strncmp (name, q, ql) == 0)
      return true;
  }
  return false;
}

/* Strings: UTF-8, no NUL, at most 4096 bytes (spec: Conventions). */
static void
check_string (struct session *s, const char *what, const uint8_t *p,
              size_t len)
{
  if (len > NBD_MAX_STRING)
    ev_flag (s, F_STRING_TOO_LONG,
             "%s is %zu bytes long", what, len);
  else if (memchr (p, 0, len))
    ev_flag (s, F_STRING_NUL,
             "%s contains a NUL byte", what);
}

static int
do_tls (struct session *s)
{
  if (tls_handshake (s) == -1) {
    session_close (s, s->err.kind == ERR_TLS_REJECTED
                   ? "TLS credentials rejected" : "TLS handshake failed");
    return -1;
  }
  s->tls_up = true;
  s->tls_unread = true;
  s->epoch++;
  nego_clear (&s->prev);
  s->prev = s->cur;
  memset (&s->cur, 0, sizeof s->cur);
  ev_tls (s);
  return 0;
}

static int
read_export_name_reply (struct session *s, const uint8_t *name, size_t len)
{
  uint8_t b[NBD_EXPORT_NAME_REPLY_LEN + NBD_EXPORT_NAME_PAD_LEN];
  enum io_status st;
  uint64_t size;
  uint16_t tflags;
  size_t pad = s->no_zeroes ? 0 : NBD_EXPORT_NAME_PAD_LEN;

  st = rd (s, b, NBD_EXPORT_NAME_REPLY_LEN);
  if (st == IO_EOF) {
    ev_note (s, "the server closed the connection: it refused the export "
             "(NBD_OPT_EXPORT_NAME cannot carry an error reply)");
    session_close (s, "export refused");
    return 0;
  }
  if (st != IO_OK)
    return io_failed (s, st, "NBD_OPT_EXPORT_NAME reply");
  if (pad) {
    size_t i;
    st = rd (s, b + NBD_EXPORT_NAME_REPLY_LEN, pad);
    if (st != IO_OK)
      return io_failed (s, st, "NBD_OPT_EXPORT_NAME padding (124 zero bytes)");
    for (i = 0; i < pad; i++)
      if (b[NBD_EXPORT_NAME_REPLY_LEN + i] != 0) {
        ev_flag (s, F_EXPORT_NAME_PADDING,
                 "byte %zu of the padding is 0x%02x",
                 i, b[NBD_EXPORT_NAME_REPLY_LEN + i]);
        break;
      }
  }
  nbd_decode_export_name_reply (b, &size, &tflags);
  s->phase = PHASE_TRANSMISSION;
  nego_clear_export (&s->cur);
  s->cur.export_name = xstrndup (name, len);
  s->cur.have_export = true;
  s->cur.size = size;
  s->cur.tflags = tflags;
  ev_export_name_reply (s, size, tflags, pad);
  ev_wire (s, false, WIRE_EXPORT_NAME_REPLY, b, 10 + pad, 10 + pad);
  check_tflags (s, tflags, "NBD_OPT_EXPORT_NAME reply");
  return 0;
}

/* Bytes that arrived when nothing was asked are a protocol fault; the
 * most common cause is a second final reply to the previous option.
 * They are read and shown before a new option goes out.  Returns 0, or
 * -1 (reported) when the connection is gone or its framing lost.
 */
static int
drain_unsolicited (struct session *s)
{
  enum io_status st;

  while (transport_is_open (&s->t) && transport_pending (&s->t) > 0) {
    uint8_t h[NBD_OPT_REPLY_HDR_LEN];
    struct nbd_opt_reply_hdr hdr;
    uint8_t *p = NULL;

    st = rd (s, h, sizeof h);
    if (st != IO_OK)
      return io_failed (s, st, "before sending the option");
    nbd_decode_opt_reply_hdr (h, &hdr);
    if (hdr.magic == NBD_OPT_REPLY_MAGIC && hdr.length <= MAX_REPLY_LEN) {
      p = xmalloc (hdr.length ? hdr.length : 1);
      st = rd (s, p, hdr.length);
      if (st != IO_OK) {
        free (p);
        return io_failed (s, st, "before sending the option");
      }
      ev_opt_reply (s, &hdr, p);
      if (s->reply_abandoned && hdr.option == s->last_option) {
        ev_note (s, "a late reply to the option nbdcli stopped waiting for");
        if (reply_is_final (hdr.option, hdr.type))
          s->reply_abandoned = false;
      }
      else
        ev_flag (s, s->have_last_reply && hdr.option == s->last_option
                 ? F_TWO_FINALS : F_UNSOLICITED_REPLY,
                 "%s (%" PRIu32 ") for %s arrived when no option was "
                 "waiting for a reply",
                 nbd_name_or_unknown (nbd_rep_names, hdr.type), hdr.type,
                 nbd_name_or_unknown (nbd_opt_names, hdr.option));
      free (p);
    }
    else {
      ev_flag (s, F_UNSOLICITED_DATA,
               "20 bytes that are not an option reply arrived before the "
               "option was sent");
      ev_error (s, ERR_FRAMING, "the framing is lost");
      session_close (s, "framing lost");
      return -1;
    }
  }
  if (!transport_is_open (&s->t)) {
    ev_error (s, ERR_NOT_CONNECTED, "not connected");
    return -1;
  }
  return 0;
}


/* Checks one option reply against the rules of its type, and updates
 * the model with what it says (NBD_REP_INFO, NBD_REP_META_CONTEXT, the
 * exports of NBD_REP_SERVER).
 */
static void
validate_reply (struct session *s, struct exchange *x,
                const struct nbd_opt_reply_hdr *hdr, const uint8_t *p)
{
  uint32_t opt = x->opt;

  switch (hdr->type) {
  case NBD_REP_ACK:
    if (hdr->length != 0)
      ev_flag (s, F_ACK_PAYLOAD, "NBD_REP_ACK carries %" PRIu32 " bytes",
               hdr->length);
    break;
  case NBD_REP_SERVER: {
    struct nbd_rep_server sv;
    const char *bad = nbd_decode_rep_server (p, hdr->length, &sv);
    if (bad)
      ev_flag (s, F_REP_SERVER_MALFORMED, "%s", bad);
    else {
      check_string (s, "the export name", sv.name, sv.name_len);
      check_string (s, "the export description", sv.desc, sv.desc_len);
      if (opt == NBD_OPT_LIST) {
        char *n = xstrndup (sv.name, sv.name_len);
        session_learn_export (s, n);
        free (n);
      }
    }
    break;
  }
  case NBD_REP_INFO: {
    struct nbd_rep_info i;
    const char *err = nbd_decode_rep_info (p, hdr->length, &i);
    if (i.type == NBD_INFO_EXPORT && hdr->length >= 2)
      x->seen_info_export = true;
    if (hdr->length < 2)
      ev_flag (s, F_INFO_LENGTH, "NBD_REP_INFO of %" PRIu32 " bytes",
               hdr->length);
    else if (err && i.type == NBD_INFO_EXPORT)
      ev_flag (s, F_INFO_EXPORT_LENGTH,
               "NBD_INFO_EXPORT reply is %" PRIu32 " bytes long", hdr->length);
    else if (err && i.type == NBD_INFO_BLOCK_SIZE)
      ev_flag (s, F_INFO_BLOCK_SIZE_LENGTH,
               "NBD_INFO_BLOCK_SIZE reply is %" PRIu32 " bytes long",
               hdr->length);
    else if (i.type == NBD_INFO_NAME || i.type == NBD_INFO_DESCRIPTION)
      check_string (s, i.type == NBD_INFO_NAME ? "NBD_INFO_NAME"
                    : "NBD_INFO_DESCRIPTION", i.str, i.str_len);
    if (!err && (opt == NBD_OPT_INFO || opt == NBD_OPT_GO)) {
      if (!x->seen_info) {
        nego_clear_export (&s->cur);
        s->cur.export_name = xstrdup (x->export ? x->export : "");
        x->seen_info = true;
      }
      on_info (s, x, &i, hdr->length);
    }
    break;
  }
  case NBD_REP_META_CONTEXT: {
    struct nbd_rep_meta m;
    const char *bad = nbd_decode_rep_meta (p, hdr->length, &m);
    bool meta_opt = opt == NBD_OPT_SET_META_CONTEXT
      || opt == NBD_OPT_LIST_META_CONTEXT;
    char *n;

    if (bad) {
      ev_flag (s, F_REP_META_MALFORMED, "%s", bad);
      break;
    }
    n = xstrndup (m.name, m.name_len);
    check_string (s, "the context name", m.name, m.name_len);
    x->had_ctx_reply = true;
    if (meta_opt && !query_matches (opt, x->payload, x->len, n))
      ev_flag (s, F_META_UNREQUESTED,
               "context %s (id %" PRIu32 ") matches no query that was "
               "sent", n, m.id);
    free (n);
    if (meta_opt)
      on_meta (s, x, &m);
    break;
  }
  case NBD_REP_ERR_TLS_REQD:
    check_string (s, "the error message", p, hdr->length);
    if (s->tls_up)
      ev_flag (s, F_TLS_REQD_AFTER_TLS,
               "%s answered NBD_REP_ERR_TLS_REQD after STARTTLS succeeded",
               nbd_name_or_unknown (nbd_opt_names, opt));
    else if (s->tls_refused)
      ev_flag (s, F_TLS_REQD_WITHOUT_TLS,
               "%s answered NBD_REP_ERR_TLS_REQD, but the server refused "
               "STARTTLS", nbd_name_or_unknown (nbd_opt_names, opt));
    break;
  default:
    if (hdr->type & NBD_REP_ERR_BIT)
      check_string (s, "the error message", p, hdr->length);
    break;
  }
}

/* What the final reply does to the model, per option.  Returns 0, or
 * -1 when the TLS handshake after an ACK failed.
 */
static int
apply_final (struct session *s, struct exchange *x)
{
  uint32_t opt = x->opt;

  switch (opt) {
  case NBD_OPT_STRUCTURED_REPLY:
    if (s->last_reply == NBD_REP_ACK)
      s->cur.sr = true;
    else if (s->last_reply == NBD_REP_ERR_EXT_HEADER_REQD && !s->cur.eh
             && s->prev.eh)
      ev_flag (s, F_TLS_STATE_KEPT_EH,
               "NBD_OPT_STRUCTURED_REPLY after STARTTLS was refused with "
               "NBD_REP_ERR_EXT_HEADER_REQD, as if the extended headers from "
               "before STARTTLS still held");
    else if (s->last_reply == NBD_REP_ERR_INVALID && !s->cur.sr && s->prev.sr)
      ev_flag (s, F_TLS_STATE_KEPT_SR,
               "NBD_OPT_STRUCTURED_REPLY after STARTTLS was refused with "
               "NBD_REP_ERR_INVALID, as if the request from before STARTTLS "
               "still held");
    break;
  case NBD_OPT_EXTENDED_HEADERS:
    if (s->last_reply == NBD_REP_ACK)
      s->cur.eh = true;
    else if (s->last_reply == NBD_REP_ERR_INVALID && !s->cur.eh && s->prev.eh)
      ev_flag (s, F_TLS_STATE_KEPT_EH,
               "NBD_OPT_EXTENDED_HEADERS after STARTTLS was refused with "
               "NBD_REP_ERR_INVALID, as if the request from before STARTTLS "
               "still held");
    break;
  case NBD_OPT_SET_META_CONTEXT:
    if (s->last_reply != NBD_REP_ACK)
      nego_clear_contexts (&s->cur);
    else if (s->cur.nctx > 0 && !s->cur.sr && s->prev.sr)
      ev_flag (s, F_TLS_STATE_KEPT_SR,
               "NBD_OPT_SET_META_CONTEXT selected %zu context(s), but "
               "structured replies were not negotiated since STARTTLS",
               s->cur.nctx);
    break;
  case NBD_OPT_GO:
  case NBD_OPT_INFO:
    if (s->last_reply == NBD_REP_ACK && !x->seen_info_export)
      ev_flag (s, F_INFO_EXPORT_MISSING,
               "%s succeeded without NBD_INFO_EXPORT",
               nbd_name_or_unknown (nbd_opt_names, opt));
    if (opt == NBD_OPT_INFO && s->last_reply == NBD_REP_ACK
        && x->seen_info_export) {
      free (s->info_payload);
      s->info_payload = xmalloc (x->len);
      if (x->len)
        memcpy (s->info_payload, x->payload, x->len);
      s->info_payload_len = x->len;
      s->info_size = s->cur.size;
      s->info_tflags = s->cur.tflags;
      s->info_valid = true;
    }
    if (x->go_after_info && s->last_reply == NBD_REP_ACK
        && x->seen_info_export
        && (s->cur.size != x->info_size || s->cur.tflags != x->info_tflags))
      ev_flag (s, F_INFO_GO_MISMATCH,
               "NBD_OPT_INFO answered size %" PRIu64 " flags 0x%04x, the "
               "NBD_OPT_GO right after it size %" PRIu64 " flags 0x%04x",
               x->info_size, x->info_tflags, s->cur.size, s->cur.tflags);
    if (opt == NBD_OPT_GO && s->last_reply == NBD_REP_ACK) {
      s->phase = PHASE_TRANSMISSION;
      free (s->cur.export_name);
      s->cur.export_name = xstrdup (x->export ? x->export : "");
    }
    break;
  case NBD_OPT_STARTTLS:
    if (s->last_reply == NBD_REP_ACK) {
      if (s->tls_up) {
        ev_flag (s, F_STARTTLS_TWICE,
                 "the server accepted NBD_OPT_STARTTLS while TLS is already "
                 "up");
        ev_note (s, "not starting TLS inside TLS; the connection state is "
                 "now unclear");
        break;
      }
      if (s->cfg.no_auto_tls)
        ev_note (s, "not starting the TLS handshake (no_auto_tls)");
      else if (do_tls (s) == -1)
        return -1;
    }
    else if (!s->tls_up && (s->last_reply == NBD_REP_ERR_POLICY
                            || s->last_reply == NBD_REP_ERR_UNSUP
                            || s->last_reply == NBD_REP_ERR_PLATFORM))
      s->tls_refused = true;
    break;
  case NBD_OPT_ABORT:
    if (s->last_reply == NBD_REP_ACK)
      session_hangup (s, "aborted");
    break;
  default:
    break;
  }
  return 0;
}

/* Reads one whole option reply (header and payload, bounded) into a
 * malloc'd *FRAME.  Returns 1 when read, 0 when the connection ended in
 * a way the exchange accepts (EOF after ABORT), -1 on failure
 * (reported, the connection closed when the framing is lost).
 */
static int
read_opt_reply (struct session *s, struct exchange *x, const char *what,
                struct nbd_opt_reply_hdr *hdr, uint8_t **frame)
{
  uint8_t h[NBD_OPT_REPLY_HDR_LEN];
  enum io_status st;

  *frame = NULL;
  st = rd (s, h, sizeof h);
  if (st == IO_EOF && x->opt == NBD_OPT_ABORT) {
    ev_note (s, "the server closed the connection without the ACK "
             "(allowed: both sides should tolerate it)");
    session_hangup (s, "aborted");
    return 0;
  }
  if (st != IO_OK)
    return io_failed (s, st, what);
  nbd_decode_opt_reply_hdr (h, hdr);
  if (hdr->magic != NBD_OPT_REPLY_MAGIC) {
    ev_flag (s, F_REPLY_MAGIC, "option reply magic is 0x%016" PRIx64,
             hdr->magic);
    ev_error (s, ERR_FRAMING, "%s: wrong magic; the framing is lost", what);
    session_close (s, "framing lost");
    return -1;
  }
  if (hdr->length > MAX_REPLY_LEN) {
    ev_error (s, ERR_LIMIT, "%s: %s declares %" PRIu32 " bytes, more than "
              "nbdcli accepts (%d); the framing is lost", what,
              nbd_name_or_unknown (nbd_rep_names, hdr->type), hdr->length,
              MAX_REPLY_LEN);
    session_close (s, "reply too long");
    return -1;
  }
  *frame = xmalloc (sizeof h + hdr->length);
  memcpy (*frame, h, sizeof h);
  st = rd (s, *frame + sizeof h, hdr->length);
  if (st != IO_OK) {
    free (*frame);
    *frame = NULL;
    return io_failed (s, st, what);
  }
  ev_opt_reply (s, hdr, *frame + sizeof h);
  ev_wire (s, false, WIRE_OPT_REPLY, *frame, sizeof h + hdr->length,
           sizeof h + hdr->length);
  return 1;
}

/* Is this reply a leftover of the option before (a late reply to a
 * wait that ended, or a second final reply)?  Such a reply is shown and
 * judged, but not taken as an answer to this option.  Options are
 * answered in order: after a wait that ended without the final reply,
 * replies echoing that option belong to it until its final one, even
 * when this option is the same one.
 */
static bool
leftover_reply (struct session *s, struct exchange *x,
                const struct nbd_opt_reply_hdr *hdr)
{
  if (x->ours != 0 || hdr->option != x->prev_opt)
    return false;
  if (x->was_abandoned && !x->prev_done) {
    ev_note (s, "a late reply to the option nbdcli stopped waiting for");
    if (reply_is_final (x->prev_opt, hdr->type)) {
      x->prev_done = true;
      s->reply_abandoned = false;
    }
    return true;
  }
  if (hdr->option == x->opt)
    return false;
  if (x->prev_answered
      && (hdr->type == NBD_REP_ACK || (hdr->type & NBD_REP_ERR_BIT))) {
    ev_flag (s, F_TWO_FINALS,
             "a second final reply %s to %s arrived after its first",
             nbd_name_or_unknown (nbd_rep_names, hdr->type),
             nbd_name_or_unknown (nbd_opt_names, hdr->option));
    return true;
  }
  return false;
}

/* Reads and judges replies until the final one.  Returns 1 when the
 * final reply came, 0 when the exchange ended acceptably without one,
 * -1 on failure.
 */
static int
read_replies (struct session *s, struct exchange *x)
{
  char what[64];

  snprintf (what, sizeof what, "reply to %s",
            nbd_name_or_unknown (nbd_opt_names, x->opt));
  for (;;) {
    struct nbd_opt_reply_hdr hdr;
    uint8_t *frame;
    bool final;
    int r = read_opt_reply (s, x, what, &hdr, &frame);

    if (r <= 0)
      return r;
    if (leftover_reply (s, x, &hdr)) {
      free (frame);
      continue;
    }
    x->ours++;
    if (hdr.option != x->opt) {
      ev_flag (s, F_REPLY_ECHO,
               "reply to %s (%" PRIu32 ") echoes %s (%" PRIu32 ")",
               nbd_name_or_unknown (nbd_opt_names, x->opt), x->opt,
               nbd_name_or_unknown (nbd_opt_names, hdr.option), hdr.option);
      x->echo_bad = true;
    }
    validate_reply (s, x, &hdr, frame + NBD_OPT_REPLY_HDR_LEN);
    free (frame);

    final = reply_is_final (x->opt, hdr.type);
    if (final) {
      s->last_reply = hdr.type;
      s->have_last_reply = true;
      s->reply_abandoned = false;
      return 1;
    }
    s->last_nreplies++;
    if (++x->nreplies > MAX_REPLIES) {
      ev_error (s, ERR_LIMIT, "%s: more than %d replies; giving up", what,
                MAX_REPLIES);
      session_close (s, "too many replies");
      return -1;
    }
  }
}

/* What an option does to the model before any reply, and the state of
 * the option before it that its replies are judged against.
 */
static void
begin_exchange (struct session *s, struct exchange *x)
{
  uint32_t opt = x->opt;

  x->prev_opt = s->last_option;
  x->prev_answered = s->have_last_reply;
  x->was_abandoned = s->reply_abandoned;
  /* The spec's consistency rule: a successful INFO directly followed by
   * a GO with the same data must give the same information.
   */
  x->go_after_info = opt == NBD_OPT_GO && s->info_valid
    && s->info_payload_len == x->len
    && (x->len == 0 || memcmp (s->info_payload, x->payload, x->len) == 0);
  x->info_size = s->info_size;
  x->info_tflags = s->info_tflags;
  s->info_valid = false;

  if (opt == NBD_OPT_INFO || opt == NBD_OPT_GO
      || opt == NBD_OPT_SET_META_CONTEXT
      || opt == NBD_OPT_LIST_META_CONTEXT)
    export_arg_name (x->payload, x->len, &x->export);
  if (opt == NBD_OPT_SET_META_CONTEXT) {
    /* A SET replaces earlier contexts, even when it fails. */
    nego_clear_contexts (&s->cur);
    s->cur.ctx_export = xstrdup (x->export ? x->export : "");
  }
}

/* Sends the option's message.  0 or -1 (reported). */
static int
send_option (struct session *s, const struct exchange *x,
             uint32_t declared_len)
{
  struct bytes msg = { 0 };
  enum io_status st;

  nbd_encode_option (&msg, x->opt, declared_len, x->payload, x->len);
  st = wr (s, msg.data, msg.len);
  if (st != IO_OK) {
    bytes_free (&msg);
    return io_failed (s, st, "sending the option");
  }
  ev_sent_option (s, x->opt, declared_len, x->payload, x->len);
  ev_wire (s, true, WIRE_OPTION, msg.data, msg.len, msg.len);
  bytes_free (&msg);
  s->last_option = x->opt;
  s->have_last_reply = false;
  s->last_nreplies = 0;
  s->noptions_conn++;
  return 0;
}

int
session_option (struct session *s, uint32_t opt, const uint8_t *payload,
                size_t len, uint32_t declared_len)
{
  struct exchange x = { .opt = opt, .payload = payload, .len = len };
  int ret = -1, r;

  /* The whole exchange, every reply included, within the timeout: a
   * server dripping endless replies cannot hold nbdcli.
   */
  s->t.deadline_ms = transport_now_ms () + s->cfg.timeout_ms;
  if (drain_unsolicited (s) == -1)
    goto out;
  begin_exchange (s, &x);

  /* Broken credentials are reported before STARTTLS wastes the
   * connection (after its ACK there is no way back).
   */
  if (opt == NBD_OPT_STARTTLS && !s->tls_up && !s->cfg.no_auto_tls
      && tls_check_credentials (s) == -1) {
    ev_error (s, ERR_TLS_CREDENTIALS, "not sending NBD_OPT_STARTTLS: the "
              "TLS credentials cannot be used");
    goto out;
  }
  if (send_option (s, &x, declared_len) == -1)
    goto out;
  if (opt == NBD_OPT_EXPORT_NAME) {
    ret = read_export_name_reply (s, payload, len);
    goto out;
  }
  r = read_replies (s, &x);
  if (r <= 0) {
    ret = r;
    goto out;
  }

  /* A reply that echoes another option is not taken as the answer to
   * this one.
   */
  ret = 0;
  if (x.echo_bad) {
    ev_note (s, "the replies echo another option: nbdcli does not act on "
             "them (no change to the negotiated state)");
    goto out;
  }
  ret = apply_final (s, &x);
  if (s->have_last_reply && s->last_reply == NBD_REP_ERR_SHUTDOWN
      && opt != NBD_OPT_ABORT)
    ev_note (s, "the server is shutting down: a client MUST now "
             "soft-disconnect (`abort')");

 out:
  s->t.deadline_ms = 0;
  free (x.export);
  free (x.ids);
  return ret;
}

int
session_disconnect (struct session *s)
{
  if (s->phase == PHASE_OPTIONS)
    return session_option (s, NBD_OPT_ABORT, NULL, 0, 0);
  if (s->phase == PHASE_TRANSMISSION) {
    struct xreq r = { .type = NBD_CMD_DISC };
    struct xresult res;
    return session_request (s, &r, &res);
  }
  session_hangup (s, "disconnected");
  return 0;
}

enum io_status
session_rd (struct session *s, void *buf, size_t n)
{
  return rd (s, buf, n);
}

enum io_status
session_wr (struct session *s, const void *buf, size_t n)
{
  return wr (s, buf, n);
}

int
session_io_failed (struct session *s, enum io_status st, const char *what)
{
  return io_failed (s, st, what);
}

void
session_clear_error (struct session *s)
{
  s->err.kind = ERR_NONE;
  s->err.msg[0] = '\0';
}

void
session_add_flags (struct session *to, const struct session *from)
{
  size_t i;

  to->nflags += from->nflags;
  for (i = 0; i < NFLAG_IDS; i++)
    to->flag_counts[i] += from->flag_counts[i];
}

void
session_copy_settings (struct session *to, const struct session *from)
{
  const struct session_settings *f = &from->cfg;
  struct session_settings *t = &to->cfg;

  t->timeout_ms = f->timeout_ms;
  t->setup_timeout_ms = f->setup_timeout_ms;
  t->client_flags_override = f->client_flags_override;
  t->allow_plaintext = f->allow_plaintext;
  t->export_set_by_user = f->export_set_by_user;
  t->tls_required_by_user = f->tls_required_by_user;
  t->no_auto_tls = f->no_auto_tls;
  free (t->default_export);
  t->default_export = f->default_export ? xstrdup (f->default_export) : NULL;
  tls_settings_copy (&t->tls, &f->tls);
  nbd_target_free (&to->target);
  nbd_target_copy (&to->target, &from->target);
}

void
session_set_target (struct session *s, struct nbd_target *t)
{
  nbd_target_free (&s->target);
  s->target = *t;
  /* A new target brings its own export and TLS requirement; `set export'
   * and `set tls require' given by hand stay until changed by hand.
   */
  if (!s->cfg.export_set_by_user) {
    free (s->cfg.default_export);
    s->cfg.default_export = xstrdup (t->export_name ? t->export_name : "");
  }
  s->cfg.tls.required = t->tls || s->cfg.tls_required_by_user;
}
