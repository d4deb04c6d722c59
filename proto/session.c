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

void
session_init (struct session *s)
{
  memset (s, 0, sizeof *s);
  transport_init (&s->t);
  s->timeout_ms = 10000;
  s->client_flags_override = -1;
  s->tls.verify_peer = -1;
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
    session_close (s, NULL);
  nbd_target_free (&s->target);
  nego_clear (&s->cur);
  nego_clear (&s->prev);
  tls_info_clear (&s->tlsinfo);
  tls_settings_clear (&s->tls);
  free (s->default_export);
  free (s->info_payload);
  free_strv (s->exports, s->nexports);
  free_strv (s->contexts, s->ncontexts);
}

static void
learn (char ***v, size_t *n, const char *name)
{
  size_t i;

  /* Names for completion: a server listing endless names gets the
   * first thousand remembered.
   */
  if (*n >= 1000)
    return;
  for (i = 0; i < *n; i++)
    if (strcmp ((*v)[i], name) == 0)
      return;
  *v = realloc (*v, (*n + 1) * sizeof (char *));
  if (!*v)
    abort ();
  (*v)[(*n)++] = xstrdup (name);
}

void
session_learn_export (struct session *s, const char *name)
{
  learn (&s->exports, &s->nexports, name);
}

void
session_learn_context (struct session *s, const char *name)
{
  learn (&s->contexts, &s->ncontexts, name);
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
    ev_error (s, "%s: the server closed the TLS connection right after the "
              "handshake%s%s%s; with TLS 1.3 this is how a server rejects "
              "the client's credentials (%s)", what,
              st == IO_ERROR ? " (" : "", st == IO_ERROR ? s->t.err : "",
              st == IO_ERROR ? ")" : "",
              s->tls_client_cert ? "check that the server trusts the client "
              "certificate's CA" : "the server may require a client "
              "certificate: put client-cert.pem and client-key.pem in the "
              "certificates directory");
    session_close (s, "TLS credentials rejected");
    return -1;
  }
  switch (st) {
  case IO_OK:
    return 0;
  case IO_EOF:
    ev_error (s, "%s: the server closed the connection", what);
    session_close (s, "closed by the server");
    break;
  case IO_SHORT:
    ev_error (s, "%s: the server closed the connection after %zu bytes "
              "of the message", what, s->t.got);
    session_close (s, "closed by the server in mid-message");
    break;
  case IO_TIMEOUT:
    ev_error (s, "%s: no reply within %d s (%zu bytes of the message "
              "arrived)", what, s->timeout_ms / 1000, s->t.got);
    /* The stream may still be in sync if nothing arrived; the user can
     * go on waiting with another command or close.
     */
    if (s->t.got) {
      ev_note (s, "the framing is lost; closing the connection");
      session_close (s, "framing lost after a timeout");
    }
    break;
  case IO_INTERRUPTED:
    ev_error (s, "%s: interrupted", what);
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
    ev_error (s, "%s: %s", what, s->t.err);
    session_close (s, "transport error");
    break;
  }
  return -1;
}

static enum io_status
rd (struct session *s, void *buf, size_t n)
{
  enum io_status st;

  s->t.timeout_ms = s->timeout_ms;
  st = transport_read (&s->t, buf, n);
  if (st == IO_OK && n > 0)
    s->tls_unread = false;
  return st;
}

static enum io_status
wr (struct session *s, const void *buf, size_t n)
{
  s->t.timeout_ms = s->timeout_ms;
  return transport_write (&s->t, buf, n);
}

void
session_close (struct session *s, const char *why)
{
  int st;

  transport_close (&s->t, s->tls_up, &st);
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
  s->nflags_conn = 0;
}

/* Checks transmission flags wherever the server sends them. */
static void
check_tflags (struct session *s, uint16_t tflags, const char *where)
{
  if (!(tflags & NBD_FLAG_HAS_FLAGS))
    ev_flag (s, "has-flags-missing",
             "NBD_FLAG_HAS_FLAGS MUST always be 1; spec: Transmission flags",
             "%s: transmission flags 0x%04x lack NBD_FLAG_HAS_FLAGS",
             where, tflags);
  if ((tflags & NBD_FLAG_SEND_FAST_ZERO)
      && !(tflags & NBD_FLAG_SEND_WRITE_ZEROES))
    ev_flag (s, "fast-zero-without-write-zeroes",
             "NBD_FLAG_SEND_FAST_ZERO MUST be 0 if NBD_FLAG_SEND_WRITE_ZEROES "
             "is 0; spec: Transmission flags",
             "%s: NBD_FLAG_SEND_FAST_ZERO is set without "
             "NBD_FLAG_SEND_WRITE_ZEROES (flags 0x%04x)", where, tflags);
  /* DF needs structured replies or extended headers (which imply
   * structured replies) in this epoch.
   */
  if ((tflags & NBD_FLAG_SEND_DF) && !s->cur.sr && !s->cur.eh) {
    if (s->prev.eh && !s->prev.sr)
      ev_flag (s, "tls-state-kept-eh",
               "extended headers from before STARTTLS kept; the server MUST "
               "NOT preserve negotiation state; spec: NBD_OPT_STARTTLS",
               "%s sets NBD_FLAG_SEND_DF, but neither structured replies nor "
               "extended headers were negotiated since STARTTLS", where);
    else if (s->prev.sr)
      ev_flag (s, "tls-state-kept-sr",
               "structured reply from before STARTTLS kept; the server MUST "
               "NOT preserve negotiation state; spec: NBD_OPT_STARTTLS",
               "%s sets NBD_FLAG_SEND_DF, but structured replies were not "
               "negotiated since STARTTLS", where);
    else
      ev_flag (s, "df-without-sr",
               "the server MUST leave NBD_FLAG_SEND_DF clear if structured "
               "replies have not been negotiated; spec: Transmission flags",
               "%s sets NBD_FLAG_SEND_DF, but structured replies were never "
               "negotiated", where);
  }
}

int
session_connect (struct session *s)
{
  uint8_t g[NBD_OLDSTYLE_GREETING_LEN];
  enum io_status st;
  char *desc;
  int r;
  uint32_t cflags;
  uint8_t cf[4];

  if (transport_is_open (&s->t))
    session_close (s, "reconnecting");
  reset_connection_state (s);
  s->t.timeout_ms = s->timeout_ms;
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
    ev_error (s, "connect: no target");
    free (desc);
    return -1;
  }
  if (r == -1) {
    ev_error (s, "connect: %s", s->t.err);
    free (desc);
    return -1;
  }
  ev_connected (s, desc);
  free (desc);

  st = rd (s, g, 16);
  if (st != IO_OK)
    return io_failed (s, st, "greeting");
  switch (nbd_greeting_kind (g, 16)) {
  case NBD_GREETING_BAD_MAGIC:
    ev_error (s, "greeting: not an NBD server: the first 8 bytes are "
              "%02x%02x%02x%02x%02x%02x%02x%02x, not NBDMAGIC "
              "(4e42444d41474943)",
              g[0], g[1], g[2], g[3], g[4], g[5], g[6], g[7]);
    session_close (s, "not an NBD server");
    return -1;
  case NBD_GREETING_BAD_VERSION:
    ev_error (s, "greeting: NBDMAGIC followed by an unknown magic "
              "0x%016" PRIx64 " (neither IHAVEOPT nor the oldstyle "
              "0x0000420281861253)", get_u64 (g + 8));
    session_close (s, "unknown greeting");
    return -1;
  case NBD_GREETING_OLDSTYLE: {
    struct nbd_oldstyle o;

    st = rd (s, g + 16, NBD_OLDSTYLE_GREETING_LEN - 16);
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
      ev_flag (s, "oldstyle-handshake-flags",
               "handshake flags MUST NOT be set in oldstyle negotiation; "
               "spec: Oldstyle negotiation",
               "oldstyle greeting flags 0x%08" PRIx32 " set bits above 15",
               o.flags);
    check_tflags (s, s->cur.tflags, "oldstyle greeting");
    return 0;
  }
  case NBD_GREETING_NEWSTYLE:
    break;
  }
  st = rd (s, g + 16, 2);
  if (st != IO_OK)
    return io_failed (s, st, "greeting");
  s->hs_flags = get_u16 (g + 16);
  s->phase = PHASE_OPTIONS;
  ev_greeting (s);
  ev_wire (s, false, WIRE_GREETING, g, 18, 18);

  if (s->client_flags_override >= 0)
    cflags = (uint32_t) s->client_flags_override;
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
  char *export;                 /* INFO/GO/META: the export asked for */
  bool seen_info_export;
  bool seen_info;               /* the first NBD_REP_INFO resets the export */
  bool had_ctx_reply;
  uint32_t *ids;                /* context ids in this SET reply */
  size_t nids;
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
      ev_flag (s, "block-size-invalid",
               "block size constraints; spec: Block size constraints",
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
      ev_flag (s, "tls-state-kept-export",
               "export selection from before STARTTLS kept; the server MUST "
               "NOT preserve negotiation state; spec: NBD_OPT_STARTTLS",
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
  char *name = xstrndup (m->name, m->name_len);
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
      ev_flag (s, "meta-dup-id",
               "the server MUST use distinct ids for distinct contexts in "
               "one SET_META_CONTEXT reply; spec: NBD_OPT_SET_META_CONTEXT",
               "context %s got id %" PRIu32 ", already given to another "
               "context", name, m->id);
      break;
    }
  x->ids = realloc (x->ids, (x->nids + 1) * sizeof *x->ids);
  if (!x->ids)
    abort ();
  x->ids[x->nids++] = m->id;
  s->cur.ctx = realloc (s->cur.ctx, (s->cur.nctx + 1) * sizeof *s->cur.ctx);
  if (!s->cur.ctx)
    abort ();
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
    ev_flag (s, "string-too-long",
             "strings MUST be no longer than 4096 bytes; spec: Conventions",
             "%s is %zu bytes long", what, len);
  else if (memchr (p, 0, len))
    ev_flag (s, "string-nul",
             "strings MUST NOT contain NUL characters; spec: Conventions",
             "%s contains a NUL byte", what);
}

static int
do_tls (struct session *s)
{
  if (tls_handshake (s) == -1) {
    session_close (s, "TLS handshake failed");
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
        ev_flag (s, "export-name-padding",
                 "the 124 bytes after the export size and flags are zero; "
                 "spec: NBD_OPT_EXPORT_NAME",
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
      p = malloc (hdr.length ? hdr.length : 1);
      if (!p)
        abort ();
      st = rd (s, p, hdr.length);
      if (st != IO_OK) {
        free (p);
        return io_failed (s, st, "before sending the option");
      }
      ev_opt_reply (s, &hdr, p);
      if (s->reply_abandoned)
        ev_note (s, "a late reply to the option whose wait was cancelled");
      else
        ev_flag (s, s->have_last_reply && hdr.option == s->last_option
                 ? "two-finals" : "unsolicited-reply",
                 "the server sends exactly one final reply per option and "
                 "none unasked; spec: Option haggling",
                 "%s (%" PRIu32 ") for %s arrived when no option was "
                 "waiting for a reply",
                 nbd_name_or_unknown (nbd_rep_names, hdr.type), hdr.type,
                 nbd_name_or_unknown (nbd_opt_names, hdr.option));
      free (p);
    }
    else {
      ev_flag (s, "unsolicited-data",
               "the server sends nothing unasked; spec: Option haggling",
               "20 bytes that are not an option reply arrived before the "
               "option was sent");
      ev_error (s, "the framing is lost");
      session_close (s, "framing lost");
      return -1;
    }
  }
  if (!transport_is_open (&s->t)) {
    ev_error (s, "not connected");
    return -1;
  }
  return 0;
}


int
session_option (struct session *s, uint32_t opt, const uint8_t *payload,
                size_t len, uint32_t declared_len)
{
  struct bytes msg = { 0 };
  struct exchange x = { .opt = opt };
  enum io_status st;
  unsigned nreplies = 0;
  int ret = -1;
  char whatbuf[64];
  uint32_t prev_opt = s->last_option;
  bool prev_answered = s->have_last_reply;
  bool was_abandoned = s->reply_abandoned;
  bool echo_bad = false;
  unsigned ours = 0;

  /* The whole exchange, every reply included, within the timeout: a
   * server dripping endless replies cannot hold nbdcli.
   */
  s->t.deadline_ms = transport_now_ms () + s->timeout_ms;

  if (drain_unsolicited (s) == -1) {
    s->t.deadline_ms = 0;
    return -1;
  }

  /* The spec's consistency rule: a successful INFO directly followed by
   * a GO with the same data must give the same information.
   */
  bool go_after_info = opt == NBD_OPT_GO && s->info_valid
    && s->info_payload_len == len
    && (len == 0 || memcmp (s->info_payload, payload, len) == 0);
  uint64_t info_size = s->info_size;
  uint16_t info_tflags = s->info_tflags;

  s->info_valid = false;

  /* What this option does to the model before any reply. */
  if (opt == NBD_OPT_INFO || opt == NBD_OPT_GO
      || opt == NBD_OPT_SET_META_CONTEXT
      || opt == NBD_OPT_LIST_META_CONTEXT)
    export_arg_name (payload, len, &x.export);
  if (opt == NBD_OPT_SET_META_CONTEXT) {
    /* A SET replaces earlier contexts, even when it fails. */
    nego_clear_contexts (&s->cur);
    s->cur.ctx_export = xstrdup (x.export ? x.export : "");
  }

  /* Broken credentials are reported before STARTTLS wastes the
   * connection (after its ACK there is no way back).
   */
  if (opt == NBD_OPT_STARTTLS && !s->tls_up && !s->no_auto_tls
      && tls_check_credentials (s) == -1) {
    ev_error (s, "not sending NBD_OPT_STARTTLS: the TLS credentials cannot "
              "be used");
    goto out;
  }

  nbd_encode_option (&msg, opt, declared_len, payload, len);
  st = wr (s, msg.data, msg.len);
  if (st != IO_OK) {
    bytes_free (&msg);
    io_failed (s, st, "sending the option");
    goto out;
  }
  ev_sent_option (s, opt, declared_len, payload, len);
  ev_wire (s, true, WIRE_OPTION, msg.data, msg.len, msg.len);
  bytes_free (&msg);
  s->last_option = opt;
  s->have_last_reply = false;
  s->last_nreplies = 0;

  if (opt == NBD_OPT_EXPORT_NAME) {
    ret = read_export_name_reply (s, payload, len);
    goto out;
  }

  snprintf (whatbuf, sizeof whatbuf, "reply to %s",
            nbd_name_or_unknown (nbd_opt_names, opt));
  for (;;) {
    uint8_t h[NBD_OPT_REPLY_HDR_LEN];
    struct nbd_opt_reply_hdr hdr;
    uint8_t *p, *frame;
    bool final;

    st = rd (s, h, sizeof h);
    if (st == IO_EOF && opt == NBD_OPT_ABORT) {
      ev_note (s, "the server closed the connection without the ACK "
               "(allowed: both sides should tolerate it)");
      session_close (s, "aborted");
      ret = 0;
      goto out;
    }
    if (st != IO_OK) {
      io_failed (s, st, whatbuf);
      goto out;
    }
    nbd_decode_opt_reply_hdr (h, &hdr);
    if (hdr.magic != NBD_OPT_REPLY_MAGIC) {
      ev_flag (s, "reply-magic",
               "every option reply starts with 0x0003e889045565a9; spec: "
               "Option reply",
               "option reply magic is 0x%016" PRIx64, hdr.magic);
      ev_error (s, "%s: wrong magic; the framing is lost", whatbuf);
      session_close (s, "framing lost");
      goto out;
    }
    if (hdr.length > MAX_REPLY_LEN) {
      ev_error (s, "%s: %s declares %" PRIu32 " bytes, more than nbdcli "
                "accepts (%d); the framing is lost", whatbuf,
                nbd_name_or_unknown (nbd_rep_names, hdr.type), hdr.length,
                MAX_REPLY_LEN);
      session_close (s, "reply too long");
      goto out;
    }
    frame = malloc (sizeof h + hdr.length);
    if (!frame)
      abort ();
    memcpy (frame, h, sizeof h);
    p = frame + sizeof h;
    st = rd (s, p, hdr.length);
    if (st != IO_OK) {
      free (frame);
      io_failed (s, st, whatbuf);
      goto out;
    }
    ev_opt_reply (s, &hdr, p);
    ev_wire (s, false, WIRE_OPT_REPLY, frame, sizeof h + hdr.length,
             sizeof h + hdr.length);

    if (hdr.option != opt && ours == 0 && was_abandoned
        && hdr.option == prev_opt) {
      /* The reply to the option whose wait the user cancelled. */
      ev_note (s, "a late reply to the option whose wait was cancelled");
      free (frame);
      continue;
    }
    if (hdr.option != opt && ours == 0 && prev_answered
        && hdr.option == prev_opt
        && (hdr.type == NBD_REP_ACK || (hdr.type & NBD_REP_ERR_BIT))) {
      /* A late second final reply to the previous option. */
      ev_flag (s, "two-finals",
               "the server sends exactly one final reply per option; spec: "
               "Option haggling",
               "a second final reply %s to %s arrived after its first",
               nbd_name_or_unknown (nbd_rep_names, hdr.type),
               nbd_name_or_unknown (nbd_opt_names, hdr.option));
      free (frame);
      continue;
    }
    ours++;
    if (hdr.option != opt) {
      ev_flag (s, "reply-echo",
               "the reply echoes the option it answers; spec: Option reply",
               "reply to %s (%" PRIu32 ") echoes %s (%" PRIu32 ")",
               nbd_name_or_unknown (nbd_opt_names, opt), opt,
               nbd_name_or_unknown (nbd_opt_names, hdr.option), hdr.option);
      echo_bad = true;
    }

    /* Per reply type. */
    switch (hdr.type) {
    case NBD_REP_ACK:
      if (hdr.length != 0)
        ev_flag (s, "ack-payload",
                 "NBD_REP_ACK has no data; spec: Option reply types",
                 "NBD_REP_ACK carries %" PRIu32 " bytes", hdr.length);
      break;
    case NBD_REP_SERVER: {
      struct nbd_rep_server sv;
      const char *bad = nbd_decode_rep_server (p, hdr.length, &sv);
      if (bad)
        ev_flag (s, "rep-server-malformed",
                 "NBD_REP_SERVER holds a name length, the name and a "
                 "description; spec: NBD_REP_SERVER", "%s", bad);
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
      const char *err = nbd_decode_rep_info (p, hdr.length, &i);
      if (i.type == NBD_INFO_EXPORT && hdr.length >= 2)
        x.seen_info_export = true;
      if (hdr.length < 2)
        ev_flag (s, "info-length",
                 "NBD_REP_INFO starts with a 2-byte info type; spec: "
                 "NBD_REP_INFO", "NBD_REP_INFO of %" PRIu32 " bytes",
                 hdr.length);
      else if (err && i.type == NBD_INFO_EXPORT)
        ev_flag (s, "info-export-length",
                 "NBD_INFO_EXPORT is 12 bytes long; spec: NBD_INFO_EXPORT",
                 "NBD_INFO_EXPORT reply is %" PRIu32 " bytes long", hdr.length);
      else if (err && i.type == NBD_INFO_BLOCK_SIZE)
        ev_flag (s, "info-block-size-length",
                 "NBD_INFO_BLOCK_SIZE is 14 bytes long; spec: "
                 "NBD_INFO_BLOCK_SIZE",
                 "NBD_INFO_BLOCK_SIZE reply is %" PRIu32 " bytes long",
                 hdr.length);
      else if (i.type == NBD_INFO_NAME || i.type == NBD_INFO_DESCRIPTION)
        check_string (s, i.type == NBD_INFO_NAME ? "NBD_INFO_NAME"
                      : "NBD_INFO_DESCRIPTION", i.str, i.str_len);
      if (!err && (opt == NBD_OPT_INFO || opt == NBD_OPT_GO)) {
        if (!x.seen_info) {
          nego_clear_export (&s->cur);
          s->cur.export_name = xstrdup (x.export ? x.export : "");
          x.seen_info = true;
        }
        on_info (s, &x, &i, hdr.length);
      }
      break;
    }
    case NBD_REP_META_CONTEXT: {
      struct nbd_rep_meta m;
      const char *bad = nbd_decode_rep_meta (p, hdr.length, &m);
      if (bad)
        ev_flag (s, "rep-meta-malformed",
                 "NBD_REP_META_CONTEXT holds a 4-byte context id and a "
                 "name; spec: NBD_REP_META_CONTEXT", "%s", bad);
      else {
        char *n = xstrndup (m.name, m.name_len);

        check_string (s, "the context name", m.name, m.name_len);
        x.had_ctx_reply = true;
        if ((opt == NBD_OPT_SET_META_CONTEXT
             || opt == NBD_OPT_LIST_META_CONTEXT)
            && !query_matches (opt, payload, len, n))
          ev_flag (s, "meta-unrequested",
                   "the server replies only with contexts that match the "
                   "queries; spec: NBD_OPT_SET_META_CONTEXT",
                   "context %s (id %" PRIu32 ") matches no query that was "
                   "sent", n, m.id);
        free (n);
        if (opt == NBD_OPT_SET_META_CONTEXT
            || opt == NBD_OPT_LIST_META_CONTEXT)
          on_meta (s, &x, &m);
      }
      break;
    }
    case NBD_REP_ERR_TLS_REQD:
      check_string (s, "the error message", p, hdr.length);
      if (s->tls_up)
        ev_flag (s, "tls-reqd-after-tls",
                 "NBD_REP_ERR_TLS_REQD only while TLS is not up; spec: "
                 "NBD_REP_ERR_TLS_REQD",
                 "%s answered NBD_REP_ERR_TLS_REQD after STARTTLS succeeded",
                 nbd_name_or_unknown (nbd_opt_names, opt));
      else if (s->tls_refused)
        ev_flag (s, "tls-reqd-without-tls",
                 "a server that does not offer TLS (NOTLS mode) never "
                 "answers NBD_REP_ERR_TLS_REQD; spec: NOTLS mode",
                 "%s answered NBD_REP_ERR_TLS_REQD, but the server refused "
                 "STARTTLS", nbd_name_or_unknown (nbd_opt_names, opt));
      break;
    default:
      if (hdr.type & NBD_REP_ERR_BIT)
        check_string (s, "the error message", p, hdr.length);
      break;
    }

    final = reply_is_final (opt, hdr.type);
    if (!final)
      s->last_nreplies++;
    if (final) {
      s->last_reply = hdr.type;
      s->have_last_reply = true;
      s->reply_abandoned = false;
    }
    if (!final && ++nreplies > MAX_REPLIES) {
      free (frame);
      ev_error (s, "%s: more than %d replies; giving up", whatbuf,
                MAX_REPLIES);
      session_close (s, "too many replies");
      goto out;
    }
    free (frame);
    if (final)
      break;
  }

  /* What the final reply does to the model.  A reply that echoes
   * another option is not taken as the answer to this one.
   */
  ret = 0;
  if (echo_bad) {
    ev_note (s, "the replies echo another option: nbdcli does not act on "
             "them (no change to the negotiated state)");
    goto out;
  }
  switch (opt) {
  case NBD_OPT_STRUCTURED_REPLY:
    if (s->last_reply == NBD_REP_ACK)
      s->cur.sr = true;
    else if (s->last_reply == NBD_REP_ERR_EXT_HEADER_REQD && !s->cur.eh
             && s->prev.eh)
      ev_flag (s, "tls-state-kept-eh",
               "extended headers from before STARTTLS kept; the server MUST "
               "NOT preserve negotiation state; spec: NBD_OPT_STARTTLS",
               "NBD_OPT_STRUCTURED_REPLY after STARTTLS was refused with "
               "NBD_REP_ERR_EXT_HEADER_REQD, as if the extended headers from "
               "before STARTTLS still held");
    else if (s->last_reply == NBD_REP_ERR_INVALID && !s->cur.sr && s->prev.sr)
      ev_flag (s, "tls-state-kept-sr",
               "structured reply from before STARTTLS kept; the server MUST "
               "NOT preserve negotiation state; spec: NBD_OPT_STARTTLS",
               "NBD_OPT_STRUCTURED_REPLY after STARTTLS was refused with "
               "NBD_REP_ERR_INVALID, as if the request from before STARTTLS "
               "still held");
    break;
  case NBD_OPT_EXTENDED_HEADERS:
    if (s->last_reply == NBD_REP_ACK)
      s->cur.eh = true;
    else if (s->last_reply == NBD_REP_ERR_INVALID && !s->cur.eh && s->prev.eh)
      ev_flag (s, "tls-state-kept-eh",
               "extended headers from before STARTTLS kept; the server MUST "
               "NOT preserve negotiation state; spec: NBD_OPT_STARTTLS",
               "NBD_OPT_EXTENDED_HEADERS after STARTTLS was refused with "
               "NBD_REP_ERR_INVALID, as if the request from before STARTTLS "
               "still held");
    break;
  case NBD_OPT_SET_META_CONTEXT:
    if (s->last_reply != NBD_REP_ACK)
      nego_clear_contexts (&s->cur);
    else if (s->cur.nctx > 0 && !s->cur.sr && s->prev.sr)
      ev_flag (s, "tls-state-kept-sr",
               "structured reply from before STARTTLS kept; the server MUST "
               "NOT preserve negotiation state; spec: NBD_OPT_STARTTLS",
               "NBD_OPT_SET_META_CONTEXT selected %zu context(s), but "
               "structured replies were not negotiated since STARTTLS",
               s->cur.nctx);
    break;
  case NBD_OPT_GO:
  case NBD_OPT_INFO:
    if (s->last_reply == NBD_REP_ACK && !x.seen_info_export)
      ev_flag (s, "info-export-missing",
               "the server MUST send NBD_INFO_EXPORT before a successful "
               "final reply; spec: NBD_OPT_INFO and NBD_OPT_GO",
               "%s succeeded without NBD_INFO_EXPORT",
               nbd_name_or_unknown (nbd_opt_names, opt));
    if (opt == NBD_OPT_INFO && s->last_reply == NBD_REP_ACK
        && x.seen_info_export) {
      free (s->info_payload);
      s->info_payload = malloc (len ? len : 1);
      if (!s->info_payload)
        abort ();
      if (len)
        memcpy (s->info_payload, payload, len);
      s->info_payload_len = len;
      s->info_size = s->cur.size;
      s->info_tflags = s->cur.tflags;
      s->info_valid = true;
    }
    if (go_after_info && s->last_reply == NBD_REP_ACK && x.seen_info_export
        && (s->cur.size != info_size || s->cur.tflags != info_tflags))
      ev_flag (s, "info-go-mismatch",
               "a successful NBD_OPT_INFO followed by NBD_OPT_GO with the "
               "same data MUST give the same information; spec: "
               "NBD_OPT_INFO and NBD_OPT_GO",
               "NBD_OPT_INFO answered size %" PRIu64 " flags 0x%04x, the "
               "NBD_OPT_GO right after it size %" PRIu64 " flags 0x%04x",
               info_size, info_tflags, s->cur.size, s->cur.tflags);
    if (opt == NBD_OPT_GO && s->last_reply == NBD_REP_ACK) {
      s->phase = PHASE_TRANSMISSION;
      free (s->cur.export_name);
      s->cur.export_name = xstrdup (x.export ? x.export : "");
    }
    break;
  case NBD_OPT_STARTTLS:
    if (s->last_reply == NBD_REP_ACK) {
      if (s->tls_up) {
        ev_flag (s, "starttls-twice",
                 "a second NBD_OPT_STARTTLS MUST fail with "
                 "NBD_REP_ERR_INVALID; spec: NBD_OPT_STARTTLS",
                 "the server accepted NBD_OPT_STARTTLS while TLS is already "
                 "up");
        ev_note (s, "not starting TLS inside TLS; the connection state is "
                 "now unclear");
        break;
      }
      if (s->no_auto_tls)
        ev_note (s, "not starting the TLS handshake (no_auto_tls)");
      else if (do_tls (s) == -1)
        ret = -1;
    }
    else if (!s->tls_up && (s->last_reply == NBD_REP_ERR_POLICY
                            || s->last_reply == NBD_REP_ERR_UNSUP
                            || s->last_reply == NBD_REP_ERR_PLATFORM))
      s->tls_refused = true;
    break;
  case NBD_OPT_ABORT:
    if (s->last_reply == NBD_REP_ACK)
      session_close (s, "aborted");
    break;
  default:
    break;
  }
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
  session_close (s, "disconnected");
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
session_record_flag (struct session *s, const char *id, const char *fmt,
                     va_list ap)
{
  if (s->nprobe_flags == 0)
    vsnprintf (s->probe_evidence, sizeof s->probe_evidence, fmt, ap);
  if (s->nprobe_flags < 8) {
    snprintf (s->probe_flags[s->nprobe_flags], sizeof s->probe_flags[0],
              "%s", id);
    s->nprobe_flags++;
  }
}

void
session_clear_record (struct session *s)
{
  s->nprobe_flags = 0;
  s->probe_evidence[0] = '\0';
  s->last_error[0] = '\0';
}
