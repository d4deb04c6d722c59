/* nbdcli - unit tests of the engine (proto/) on canned server bytes.
 *
 * Links only the objects of proto/ (plus libc and GnuTLS): proto/ is a library.
 * Each case builds what a server sends, runs a session over the
 * in-memory transport (session_connect_memory) and a recording sink of
 * its own, and checks exactly which flags of the catalogue were raised
 * (none other), the error kind, and the events.  No server, no socket,
 * no waiting.
 *
 *   tests/unit/test-engine [-v]     exit 0 all passed, 1 a case failed
 *
 * Copyright the nbdcli authors, MIT licence.
 */
#include <config.h>

#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flags.h"
#include "nbd-proto.h"
#include "session.h"
#include "sink.h"
#include "wire.h"
#include "xmit.h"

static bool verbose;
static int failures;
static const char *current;

#define CHECK(cond) check ((cond), #cond, __LINE__)

static void
check (bool ok, const char *what, int line)
{
  if (!ok) {
    printf ("FAIL: %s: line %d: %s\n", current, line, what);
    failures++;
  }
}

/* ---------------------------------------------------------- the sink */

#define MAX_EVENTS 256

/* What a session's sink saw. */
struct rec {
  const struct session *s;      /* the only session it may hear from */
  bool foreign;                 /* an event of another session came */
  size_t nev;
  enum nbd_event_type types[MAX_EVENTS];
  unsigned flags[NFLAG_IDS];
  unsigned nflags;
  enum nbd_err err;             /* the last error event's kind */
  unsigned nerr;
};

static void
rec_event (void *ctx, const struct session *s, const struct nbd_event *ev)
{
  struct rec *r = ctx;

  if (s != r->s)
    r->foreign = true;
  if (r->nev < MAX_EVENTS)
    r->types[r->nev] = ev->type;
  r->nev++;
  switch (ev->type) {
  case EV_FLAG:
    if (ev->u.flag.def && (unsigned) ev->u.flag.def->e < NFLAG_IDS)
      r->flags[ev->u.flag.def->e]++;
    r->nflags++;
    if (verbose)
      printf ("  [%s] FLAG %s: %s\n", current,
              ev->u.flag.def ? ev->u.flag.def->id : "?",
              ev->u.flag.evidence);
    break;
  case EV_ERROR:
    r->err = ev->u.error.kind;
    r->nerr++;
    if (verbose)
      printf ("  [%s] error %s: %s\n", current,
              nbd_err_name (ev->u.error.kind), ev->u.error.message);
    break;
  case EV_NOTE:
    if (verbose)
      printf ("  [%s] note: %s\n", current, ev->u.text);
    break;
  default:
    break;
  }
}

static size_t
count_events (const struct rec *r, enum nbd_event_type t)
{
  size_t i, n = 0;

  for (i = 0; i < r->nev && i < MAX_EVENTS; i++)
    n += r->types[i] == t;
  return n;
}

/* One session with its recorder and the server's bytes. */
struct t {
  struct session s;
  struct rec rec;
  struct bytes srv;             /* what the server sends */
  struct bytes sent;            /* what the client sent */
};

static void
t_init (struct t *t, bool with_sink)
{
  memset (t, 0, sizeof *t);
  session_init (&t->s);
  t->rec.s = &t->s;
  if (with_sink) {
    t->s.sink.event = rec_event;
    t->s.sink.ctx = &t->rec;
  }
  /* An ACK to STARTTLS must not start a handshake in memory. */
  t->s.cfg.no_auto_tls = true;
}

static void
t_free (struct t *t)
{
  session_free (&t->s);
  bytes_free (&t->srv);
  bytes_free (&t->sent);
}

/* Exactly the flags listed (each at least once) were raised, on the
 * session's counters and at the sink, and no other.  The list ends
 * with NFLAG_IDS.
 */
static void
expect_flags_at (int line, struct t *t, ...)
{
  bool want[NFLAG_IDS] = { false };
  unsigned total = 0;
  va_list ap;
  int id, i;

  va_start (ap, t);
  while ((id = va_arg (ap, int)) != NFLAG_IDS)
    want[id] = true;
  va_end (ap);
  for (i = 0; i < NFLAG_IDS; i++) {
    const struct flag_def *d = flag_def (i);
    total += t->s.flag_counts[i];
    if (want[i] && t->s.flag_counts[i] == 0) {
      printf ("FAIL: %s: line %d: flag %s was not raised\n", current, line,
              d->id);
      failures++;
    }
    if (!want[i] && t->s.flag_counts[i] != 0) {
      printf ("FAIL: %s: line %d: flag %s was raised (%u times)\n", current,
              line, d->id, t->s.flag_counts[i]);
      failures++;
    }
    if (t->s.sink.event && t->rec.flags[i] != t->s.flag_counts[i]) {
      printf ("FAIL: %s: line %d: flag %s: the sink saw %u, the session "
              "counted %u\n", current, line, d->id, t->rec.flags[i],
              t->s.flag_counts[i]);
      failures++;
    }
  }
  check (total == t->s.nflags, "the per-id counts add up to nflags", line);
}
#define EXPECT_FLAGS(...) expect_flags_at (__LINE__, __VA_ARGS__, NFLAG_IDS)

/* ------------------------------------------------- server bytes */

static void
greeting (struct bytes *b, uint16_t hs)
{
  bytes_put_u64 (b, NBD_MAGIC);
  bytes_put_u64 (b, NBD_NEW_VERSION);
  bytes_put_u16 (b, hs);
}

static void
opt_reply (struct bytes *b, uint32_t opt, uint32_t type, const void *p,
           uint32_t len)
{
  bytes_put_u64 (b, NBD_OPT_REPLY_MAGIC);
  bytes_put_u32 (b, opt);
  bytes_put_u32 (b, type);
  bytes_put_u32 (b, len);
  bytes_put (b, p, len);
}

static void
ack (struct bytes *b, uint32_t opt)
{
  opt_reply (b, opt, NBD_REP_ACK, NULL, 0);
}

static void
info_export (struct bytes *b, uint32_t opt, uint64_t size, uint16_t tflags)
{
  uint8_t p[12];

  p[0] = 0; p[1] = NBD_INFO_EXPORT;
  for (int i = 0; i < 8; i++)
    p[2 + i] = size >> (56 - 8 * i);
  p[10] = tflags >> 8; p[11] = tflags;
  opt_reply (b, opt, NBD_REP_INFO, p, sizeof p);
}

static void
info_block_size (struct bytes *b, uint32_t opt, uint32_t min, uint32_t pref,
                 uint32_t max)
{
  struct bytes p = { 0 };

  bytes_put_u16 (&p, NBD_INFO_BLOCK_SIZE);
  bytes_put_u32 (&p, min);
  bytes_put_u32 (&p, pref);
  bytes_put_u32 (&p, max);
  opt_reply (b, opt, NBD_REP_INFO, p.data, p.len);
  bytes_free (&p);
}

static void
simple_reply (struct bytes *b, uint64_t cookie, uint32_t error,
              const void *data, size_t len)
{
  bytes_put_u32 (b, NBD_SIMPLE_REPLY_MAGIC);
  bytes_put_u32 (b, error);
  bytes_put_u64 (b, cookie);
  bytes_put (b, data, len);
}

static void
chunk (struct bytes *b, uint16_t flags, uint16_t type, uint64_t cookie,
       const void *p, uint32_t len)
{
  bytes_put_u32 (b, NBD_STRUCTURED_REPLY_MAGIC);
  bytes_put_u16 (b, flags);
  bytes_put_u16 (b, type);
  bytes_put_u64 (b, cookie);
  bytes_put_u32 (b, len);
  bytes_put (b, p, len);
}

/* An OFFSET_DATA chunk of LEN bytes of 0xab at OFFSET. */
static void
data_chunk (struct bytes *b, uint16_t flags, uint64_t cookie,
            uint64_t offset, uint32_t len)
{
  struct bytes p = { 0 };
  uint8_t *d = xmalloc (len ? len : 1);

  memset (d, 0xab, len);
  bytes_put_u64 (&p, offset);
  bytes_put (&p, d, len);
  chunk (b, flags, NBD_REPLY_TYPE_OFFSET_DATA, cookie, p.data, p.len);
  bytes_free (&p);
  free (d);
}

/* ------------------------------------------------- engine calls */

/* INFO/GO payload: the default export, no info requests. */
static const uint8_t no_info[6] = { 0 };

static int
opt (struct t *t, uint32_t o)
{
  const uint8_t *p = NULL;
  size_t len = 0;

  if (o == NBD_OPT_INFO || o == NBD_OPT_GO) {
    p = no_info;
    len = sizeof no_info;
  }
  return session_option (&t->s, o, p, len, len);
}

static int
request (struct t *t, uint16_t type, uint16_t flags, uint64_t offset,
         uint64_t length, struct xresult *res)
{
  struct xreq r = { .type = type, .flags = flags, .offset = offset,
                    .length = length };
  return session_request (&t->s, &r, res);
}

static int
connect_mem (struct t *t)
{
  return session_connect_memory (&t->s, t->srv.data, t->srv.len, &t->sent);
}

#define HS (NBD_FLAG_FIXED_NEWSTYLE | NBD_FLAG_NO_ZEROES)
#define TF (NBD_FLAG_HAS_FLAGS | NBD_FLAG_SEND_FLUSH)

/* ------------------------------------------------- the cases */

static void
test_clean (void)
{
  struct t t;
  struct xresult res;
  uint8_t data[512], srv_list[4] = { 0 };

  t_init (&t, true);
  memset (data, 0x5a, sizeof data);
  greeting (&t.srv, HS);
  opt_reply (&t.srv, NBD_OPT_LIST, NBD_REP_SERVER, srv_list, 4);
  ack (&t.srv, NBD_OPT_LIST);
  info_export (&t.srv, NBD_OPT_INFO, 1 << 20, TF);
  ack (&t.srv, NBD_OPT_INFO);
  info_export (&t.srv, NBD_OPT_GO, 1 << 20, TF);
  ack (&t.srv, NBD_OPT_GO);
  simple_reply (&t.srv, 1, 0, data, sizeof data);

  CHECK (connect_mem (&t) == 0);
  CHECK (t.s.phase == PHASE_OPTIONS);
  CHECK (t.s.hs_flags == HS);
  CHECK (t.s.client_flags == 3);
  CHECK (opt (&t, NBD_OPT_LIST) == 0);
  CHECK (t.s.learned.nexports == 1);
  CHECK (opt (&t, NBD_OPT_INFO) == 0);
  CHECK (t.s.phase == PHASE_OPTIONS);
  CHECK (opt (&t, NBD_OPT_GO) == 0);
  CHECK (t.s.phase == PHASE_TRANSMISSION);
  CHECK (t.s.cur.have_export && t.s.cur.size == 1 << 20);
  CHECK (t.s.cur.tflags == TF);
  CHECK (request (&t, NBD_CMD_READ, 0, 0, 512, &res) == 0);
  CHECK (res.form == 0 && !res.error && res.data_bytes == 512);
  EXPECT_FLAGS (&t);
  CHECK (t.s.err.kind == ERR_NONE);
  CHECK (t.rec.nerr == 0);
  CHECK (!t.rec.foreign);
  CHECK (count_events (&t.rec, EV_CONNECTED) == 1);
  CHECK (count_events (&t.rec, EV_GREETING) == 1);
  CHECK (count_events (&t.rec, EV_CLIENT_FLAGS) == 1);
  CHECK (count_events (&t.rec, EV_SENT_OPTION) == 3);
  CHECK (count_events (&t.rec, EV_OPT_REPLY) == 6);
  CHECK (count_events (&t.rec, EV_SENT_REQUEST) == 1);
  CHECK (count_events (&t.rec, EV_REPLY_HDR) == 1);
  CHECK (count_events (&t.rec, EV_DATA) == 1);
  /* What the client sent: flags, three options, the read request. */
  CHECK (t.sent.len == 4 + 16 + 22 + 22 + 28);
  CHECK (t.sent.len >= 12 && get_u32 (t.sent.data) == 3
         && get_u64 (t.sent.data + 4) == NBD_NEW_VERSION
         && get_u32 (t.sent.data + 12) == NBD_OPT_LIST);
  /* DISC: the server closes, as it should; nothing is flagged. */
  CHECK (request (&t, NBD_CMD_DISC, 0, 0, 0, &res) == 0);
  CHECK (t.s.err.kind == ERR_NONE);
  CHECK (t.s.phase == PHASE_DISCONNECTED);
  CHECK (t.sent.len == 4 + 16 + 22 + 22 + 28 + 28);
  EXPECT_FLAGS (&t);
  /* Then there is nothing to send on. */
  CHECK (request (&t, NBD_CMD_FLUSH, 0, 0, 0, &res) == -1);
  t_free (&t);
}

/* Option haggling up to GO's INFO with transmission flags TFLAGS. */
static void
go_with_flags (struct t *t, uint16_t tflags)
{
  info_export (&t->srv, NBD_OPT_GO, 4096, tflags);
  ack (&t->srv, NBD_OPT_GO);
}

static void
test_df_without_sr (void)
{
  struct t t;

  t_init (&t, true);
  greeting (&t.srv, HS);
  go_with_flags (&t, TF | NBD_FLAG_SEND_DF);
  CHECK (connect_mem (&t) == 0);
  CHECK (opt (&t, NBD_OPT_GO) == 0);
  CHECK (t.s.phase == PHASE_TRANSMISSION);
  EXPECT_FLAGS (&t, F_DF_WITHOUT_SR);
  CHECK (t.s.err.kind == ERR_NONE);
  t_free (&t);
}

/* The same with structured replies negotiated: no flag. */
static void
test_df_with_sr (void)
{
  struct t t;

  t_init (&t, true);
  greeting (&t.srv, HS);
  ack (&t.srv, NBD_OPT_STRUCTURED_REPLY);
  go_with_flags (&t, TF | NBD_FLAG_SEND_DF);
  CHECK (connect_mem (&t) == 0);
  CHECK (opt (&t, NBD_OPT_STRUCTURED_REPLY) == 0);
  CHECK (t.s.cur.sr);
  CHECK (opt (&t, NBD_OPT_GO) == 0);
  EXPECT_FLAGS (&t);
  t_free (&t);
}

/* The per-epoch model without TLS: the epoch switch of a successful
 * STARTTLS (what do_tls does to the model) applied by hand, after
 * structured replies were negotiated in the plaintext epoch.
 */
static void
test_tls_state_kept_sr (void)
{
  struct t t;

  t_init (&t, true);
  greeting (&t.srv, HS);
  ack (&t.srv, NBD_OPT_STRUCTURED_REPLY);
  ack (&t.srv, NBD_OPT_STARTTLS);
  go_with_flags (&t, TF | NBD_FLAG_SEND_DF);
  CHECK (connect_mem (&t) == 0);
  CHECK (opt (&t, NBD_OPT_STRUCTURED_REPLY) == 0);
  CHECK (opt (&t, NBD_OPT_STARTTLS) == 0);
  CHECK (!t.s.tls_up && t.s.epoch == 0);  /* no_auto_tls: no handshake */
  t.s.epoch++;
  nego_clear (&t.s.prev);
  t.s.prev = t.s.cur;
  memset (&t.s.cur, 0, sizeof t.s.cur);
  CHECK (opt (&t, NBD_OPT_GO) == 0);
  EXPECT_FLAGS (&t, F_TLS_STATE_KEPT_SR);
  t_free (&t);
}

/* Without no_auto_tls an ACK to STARTTLS starts TLS, which the memory
 * transport refuses: a clear error, never a handshake on nothing.
 */
static void
test_starttls_in_memory (void)
{
  struct t t;

  t_init (&t, true);
  t.s.cfg.no_auto_tls = false;
  t.s.cfg.tls.verify_peer = 0;
  greeting (&t.srv, HS);
  ack (&t.srv, NBD_OPT_STARTTLS);
  CHECK (connect_mem (&t) == 0);
  CHECK (opt (&t, NBD_OPT_STARTTLS) == -1);
  CHECK (t.s.err.kind == ERR_TLS_HANDSHAKE
         || t.s.err.kind == ERR_TLS_CREDENTIALS);
  CHECK (!t.s.tls_up);
  EXPECT_FLAGS (&t);
  t_free (&t);
}

static void
test_ack_payload (void)
{
  struct t t;

  t_init (&t, true);
  greeting (&t.srv, HS);
  opt_reply (&t.srv, NBD_OPT_STRUCTURED_REPLY, NBD_REP_ACK, "abcd", 4);
  CHECK (connect_mem (&t) == 0);
  CHECK (opt (&t, NBD_OPT_STRUCTURED_REPLY) == 0);
  EXPECT_FLAGS (&t, F_ACK_PAYLOAD);
  CHECK (t.s.cur.sr);           /* still an ACK */
  CHECK (t.s.phase == PHASE_OPTIONS);
  t_free (&t);
}

static void
test_two_finals (void)
{
  struct t t;

  t_init (&t, true);
  greeting (&t.srv, HS);
  ack (&t.srv, NBD_OPT_STRUCTURED_REPLY);
  ack (&t.srv, NBD_OPT_STRUCTURED_REPLY);       /* one too many */
  ack (&t.srv, NBD_OPT_LIST);
  CHECK (connect_mem (&t) == 0);
  CHECK (opt (&t, NBD_OPT_STRUCTURED_REPLY) == 0);
  CHECK (opt (&t, NBD_OPT_LIST) == 0);
  CHECK (t.s.last_reply == NBD_REP_ACK && t.s.last_option == NBD_OPT_LIST);
  EXPECT_FLAGS (&t, F_TWO_FINALS);
  t_free (&t);
}

static void
test_reply_echo (void)
{
  struct t t;

  t_init (&t, true);
  greeting (&t.srv, HS);
  ack (&t.srv, NBD_OPT_GO);     /* to NBD_OPT_STRUCTURED_REPLY */
  CHECK (connect_mem (&t) == 0);
  CHECK (opt (&t, NBD_OPT_STRUCTURED_REPLY) == 0);
  EXPECT_FLAGS (&t, F_REPLY_ECHO);
  CHECK (!t.s.cur.sr);          /* not acted upon */
  CHECK (t.s.phase == PHASE_OPTIONS);
  t_free (&t);
}

static void
test_reply_magic (void)
{
  struct t t;

  t_init (&t, true);
  greeting (&t.srv, HS);
  bytes_put_u64 (&t.srv, NBD_OPT_REPLY_MAGIC ^ 1);
  bytes_put_u32 (&t.srv, NBD_OPT_LIST);
  bytes_put_u32 (&t.srv, NBD_REP_ACK);
  bytes_put_u32 (&t.srv, 0);
  CHECK (connect_mem (&t) == 0);
  CHECK (opt (&t, NBD_OPT_LIST) == -1);
  EXPECT_FLAGS (&t, F_REPLY_MAGIC);
  CHECK (t.s.err.kind == ERR_FRAMING);
  CHECK (t.rec.err == ERR_FRAMING);
  CHECK (t.s.phase == PHASE_DISCONNECTED);
  CHECK (!transport_is_open (&t.s.t));
  CHECK (count_events (&t.rec, EV_CLOSED) == 1);
  t_free (&t);
}

static void
test_info_go_mismatch (void)
{
  struct t t;

  t_init (&t, true);
  greeting (&t.srv, HS);
  info_export (&t.srv, NBD_OPT_INFO, 1 << 20, TF);
  ack (&t.srv, NBD_OPT_INFO);
  info_export (&t.srv, NBD_OPT_GO, 2 << 20, TF);
  ack (&t.srv, NBD_OPT_GO);
  CHECK (connect_mem (&t) == 0);
  CHECK (opt (&t, NBD_OPT_INFO) == 0);
  CHECK (opt (&t, NBD_OPT_GO) == 0);
  EXPECT_FLAGS (&t, F_INFO_GO_MISMATCH);
  CHECK (t.s.cur.size == 2 << 20);
  t_free (&t);
}

static void
test_block_size_invalid (void)
{
  struct t t;

  t_init (&t, true);
  greeting (&t.srv, HS);
  info_block_size (&t.srv, NBD_OPT_INFO, 3, 4096, 32 << 20);
  info_export (&t.srv, NBD_OPT_INFO, 1 << 20, TF);
  ack (&t.srv, NBD_OPT_INFO);
  CHECK (connect_mem (&t) == 0);
  CHECK (opt (&t, NBD_OPT_INFO) == 0);
  EXPECT_FLAGS (&t, F_BLOCK_SIZE_INVALID);
  CHECK (t.s.cur.have_bs && t.s.cur.min_block == 3);
  t_free (&t);
}

static void
test_has_flags_missing (void)
{
  struct t t;

  t_init (&t, true);
  greeting (&t.srv, HS);
  go_with_flags (&t, NBD_FLAG_SEND_FLUSH);
  CHECK (connect_mem (&t) == 0);
  CHECK (opt (&t, NBD_OPT_GO) == 0);
  EXPECT_FLAGS (&t, F_HAS_FLAGS_MISSING);
  t_free (&t);
}

static void
test_info_export_missing (void)
{
  struct t t;

  t_init (&t, true);
  greeting (&t.srv, HS);
  ack (&t.srv, NBD_OPT_GO);
  CHECK (connect_mem (&t) == 0);
  CHECK (opt (&t, NBD_OPT_GO) == 0);
  EXPECT_FLAGS (&t, F_INFO_EXPORT_MISSING);
  t_free (&t);
}

/* SR, GO: a session in transmission with structured replies. */
static void
sr_go (struct t *t)
{
  greeting (&t->srv, HS);
  ack (&t->srv, NBD_OPT_STRUCTURED_REPLY);
  go_with_flags (t, TF);
}

static void
start_sr (struct t *t)
{
  CHECK (connect_mem (t) == 0);
  CHECK (opt (t, NBD_OPT_STRUCTURED_REPLY) == 0);
  CHECK (opt (t, NBD_OPT_GO) == 0);
  CHECK (t->s.phase == PHASE_TRANSMISSION);
}

static void
test_sr_read_clean (void)
{
  struct t t;
  struct xresult res;

  t_init (&t, true);
  sr_go (&t);
  data_chunk (&t.srv, 0, 1, 0, 256);
  data_chunk (&t.srv, NBD_REPLY_FLAG_DONE, 1, 256, 256);
  start_sr (&t);
  CHECK (request (&t, NBD_CMD_READ, 0, 0, 512, &res) == 0);
  CHECK (res.form == 1 && res.data_bytes == 512 && !res.error);
  EXPECT_FLAGS (&t);
  t_free (&t);
}

static void
test_chunk_cookie (void)
{
  struct t t;
  struct xresult res;

  t_init (&t, true);
  sr_go (&t);
  data_chunk (&t.srv, NBD_REPLY_FLAG_DONE, 99, 0, 512);
  start_sr (&t);
  CHECK (request (&t, NBD_CMD_READ, 0, 0, 512, &res) == 0);
  EXPECT_FLAGS (&t, F_COOKIE_MISMATCH);
  t_free (&t);
}

static void
test_chunk_outside (void)
{
  struct t t;
  struct xresult res;

  t_init (&t, true);
  sr_go (&t);
  data_chunk (&t.srv, NBD_REPLY_FLAG_DONE, 1, 1024, 512);
  start_sr (&t);
  CHECK (request (&t, NBD_CMD_READ, 0, 0, 512, &res) == 0);
  EXPECT_FLAGS (&t, F_CHUNK_OUTSIDE_REQUEST);
  t_free (&t);
}

static void
test_chunk_overlap (void)
{
  struct t t;
  struct xresult res;

  t_init (&t, true);
  sr_go (&t);
  data_chunk (&t.srv, 0, 1, 0, 256);
  data_chunk (&t.srv, NBD_REPLY_FLAG_DONE, 1, 128, 256);
  start_sr (&t);
  CHECK (request (&t, NBD_CMD_READ, 0, 0, 512, &res) == 0);
  EXPECT_FLAGS (&t, F_CHUNK_OVERLAP);
  t_free (&t);
}

static void
test_no_done (void)
{
  struct t t;
  struct xresult res;

  t_init (&t, true);
  sr_go (&t);
  data_chunk (&t.srv, 0, 1, 0, 512);     /* then the server closes */
  start_sr (&t);
  CHECK (request (&t, NBD_CMD_READ, 0, 0, 512, &res) == -1);
  EXPECT_FLAGS (&t, F_NO_DONE);
  CHECK (t.s.err.kind == ERR_CLOSED);
  CHECK (t.s.phase == PHASE_DISCONNECTED);
  t_free (&t);
}

static void
test_chunk_type_unknown (void)
{
  struct t t;
  struct xresult res;

  t_init (&t, true);
  sr_go (&t);
  chunk (&t.srv, NBD_REPLY_FLAG_DONE, 3, 1, "xy", 2);
  start_sr (&t);
  CHECK (request (&t, NBD_CMD_FLUSH, 0, 0, 0, &res) == 0);
  EXPECT_FLAGS (&t, F_CHUNK_TYPE_UNKNOWN);
  CHECK (t.s.phase == PHASE_TRANSMISSION);
  t_free (&t);
}

/* A structured reply that was never negotiated. */
static void
test_sr_not_negotiated (void)
{
  struct t t;
  struct xresult res;

  t_init (&t, true);
  greeting (&t.srv, HS);
  go_with_flags (&t, TF);
  chunk (&t.srv, NBD_REPLY_FLAG_DONE, NBD_REPLY_TYPE_NONE, 1, NULL, 0);
  CHECK (connect_mem (&t) == 0);
  CHECK (opt (&t, NBD_OPT_GO) == 0);
  CHECK (request (&t, NBD_CMD_FLUSH, 0, 0, 0, &res) == 0);
  EXPECT_FLAGS (&t, F_SR_NOT_NEGOTIATED);
  t_free (&t);
}

static void
test_closed_mid_message (void)
{
  struct t t;

  t_init (&t, true);
  greeting (&t.srv, HS);
  bytes_put_u64 (&t.srv, NBD_OPT_REPLY_MAGIC);
  bytes_put_u16 (&t.srv, 0);    /* 10 of the header's 20 bytes */
  CHECK (connect_mem (&t) == 0);
  CHECK (opt (&t, NBD_OPT_LIST) == -1);
  EXPECT_FLAGS (&t);
  CHECK (t.s.err.kind == ERR_CLOSED);
  CHECK (t.s.phase == PHASE_DISCONNECTED);
  CHECK (strstr (t.s.err.msg, "after 10 bytes") != NULL);
  t_free (&t);
}

static void
test_closed_in_greeting (void)
{
  struct t t;

  t_init (&t, true);
  bytes_put_u64 (&t.srv, NBD_MAGIC);
  CHECK (connect_mem (&t) == -1);
  CHECK (t.s.err.kind == ERR_CLOSED);
  CHECK (t.s.phase == PHASE_DISCONNECTED);
  EXPECT_FLAGS (&t);
  t_free (&t);
}

static void
test_not_nbd (void)
{
  struct t t;

  t_init (&t, true);
  bytes_put (&t.srv, "HTTP/1.1 400 Bad Request\r\n", 26);
  CHECK (connect_mem (&t) == -1);
  CHECK (t.s.err.kind == ERR_NOT_NBD);
  EXPECT_FLAGS (&t);
  t_free (&t);
}

static void
test_reply_too_long (void)
{
  struct t t;

  t_init (&t, true);
  greeting (&t.srv, HS);
  bytes_put_u64 (&t.srv, NBD_OPT_REPLY_MAGIC);
  bytes_put_u32 (&t.srv, NBD_OPT_LIST);
  bytes_put_u32 (&t.srv, NBD_REP_SERVER);
  bytes_put_u32 (&t.srv, 0x7fffffff);
  CHECK (connect_mem (&t) == 0);
  CHECK (opt (&t, NBD_OPT_LIST) == -1);
  EXPECT_FLAGS (&t);
  CHECK (t.s.err.kind == ERR_LIMIT);
  CHECK (t.s.phase == PHASE_DISCONNECTED);
  t_free (&t);
}

/* EXPORT_NAME without NO_ZEROES: 134 bytes, padding checked. */
static void
test_export_name_padding (void)
{
  struct t t;
  uint8_t pad[124] = { 0 };

  t_init (&t, true);
  greeting (&t.srv, NBD_FLAG_FIXED_NEWSTYLE);
  bytes_put_u64 (&t.srv, 1 << 20);
  bytes_put_u16 (&t.srv, TF);
  pad[7] = 1;
  bytes_put (&t.srv, pad, sizeof pad);
  CHECK (connect_mem (&t) == 0);
  CHECK (t.s.client_flags == NBD_FLAG_C_FIXED_NEWSTYLE);
  CHECK (session_option (&t.s, NBD_OPT_EXPORT_NAME, (const uint8_t *) "e",
                         1, 1) == 0);
  CHECK (t.s.phase == PHASE_TRANSMISSION);
  CHECK (t.s.cur.export_name && strcmp (t.s.cur.export_name, "e") == 0);
  EXPECT_FLAGS (&t, F_EXPORT_NAME_PADDING);
  t_free (&t);
}

/* No sink: nothing is shown, but the truth is still kept. */
static void
test_no_sink (void)
{
  struct t t;

  t_init (&t, false);
  greeting (&t.srv, HS);
  go_with_flags (&t, TF | NBD_FLAG_SEND_DF);
  bytes_put_u32 (&t.srv, 0xdeadbeef);
  CHECK (connect_mem (&t) == 0);
  CHECK (opt (&t, NBD_OPT_GO) == 0);
  EXPECT_FLAGS (&t, F_DF_WITHOUT_SR);
  CHECK (t.s.nflags == 1 && t.s.nflags_conn == 1);
  CHECK (t.rec.nev == 0);
  {
    struct xresult res;
    CHECK (request (&t, NBD_CMD_FLUSH, 0, 0, 0, &res) == -1);
  }
  CHECK (t.s.err.kind == ERR_FRAMING);
  EXPECT_FLAGS (&t, F_DF_WITHOUT_SR, F_REPLY_MAGIC);
  CHECK (t.rec.nev == 0);
  t_free (&t);
}

/* Several sessions at once, each with its own sink, their calls
 * interleaved: each sink hears only its own session.
 */
static void
test_two_sessions (void)
{
  struct t a, b;

  t_init (&a, true);
  t_init (&b, true);
  greeting (&a.srv, HS);
  go_with_flags (&a, TF | NBD_FLAG_SEND_DF);
  greeting (&b.srv, HS);
  opt_reply (&b.srv, NBD_OPT_STRUCTURED_REPLY, NBD_REP_ACK, "x", 1);
  bytes_put_u64 (&b.srv, 0);    /* then 20 bytes of garbage */
  bytes_put_u64 (&b.srv, 0);
  bytes_put_u32 (&b.srv, 0);
  CHECK (connect_mem (&a) == 0);
  CHECK (connect_mem (&b) == 0);
  CHECK (opt (&b, NBD_OPT_STRUCTURED_REPLY) == 0);
  CHECK (opt (&a, NBD_OPT_GO) == 0);
  CHECK (opt (&b, NBD_OPT_LIST) == -1);
  EXPECT_FLAGS (&a, F_DF_WITHOUT_SR);
  EXPECT_FLAGS (&b, F_ACK_PAYLOAD, F_REPLY_MAGIC);
  CHECK (!a.rec.foreign && !b.rec.foreign);
  CHECK (a.s.err.kind == ERR_NONE && a.rec.nerr == 0);
  CHECK (b.s.err.kind == ERR_FRAMING && b.rec.nerr == 1);
  CHECK (a.s.phase == PHASE_TRANSMISSION);
  CHECK (b.s.phase == PHASE_DISCONNECTED);
  CHECK (count_events (&a.rec, EV_SENT_OPTION) == 1);
  CHECK (count_events (&b.rec, EV_SENT_OPTION) == 2);
  t_free (&a);
  t_free (&b);
}

/* A memory transport closes like any other, and the session can then
 * connect again, over new bytes.
 */
static void
test_reconnect (void)
{
  struct t t;
  struct bytes second = { 0 };

  t_init (&t, true);
  greeting (&t.srv, HS);
  ack (&t.srv, NBD_OPT_ABORT);
  greeting (&second, HS);
  ack (&second, NBD_OPT_STRUCTURED_REPLY);
  CHECK (connect_mem (&t) == 0);
  CHECK (opt (&t, NBD_OPT_ABORT) == 0);
  CHECK (t.s.phase == PHASE_DISCONNECTED);
  CHECK (!transport_is_open (&t.s.t));
  CHECK (t.s.t.kind == TRANSPORT_FD && t.s.t.fd == -1);
  CHECK (session_connect_memory (&t.s, second.data, second.len, NULL) == 0);
  CHECK (opt (&t, NBD_OPT_STRUCTURED_REPLY) == 0);
  CHECK (t.s.cur.sr);
  EXPECT_FLAGS (&t);
  CHECK (count_events (&t.rec, EV_CONNECTED) == 2);
  t_free (&t);
  bytes_free (&second);
}

/* The transport alone: a socket's answers, exactly. */
static void
test_transport (void)
{
  struct transport tr;
  struct bytes sent = { 0 };
  const uint8_t in[5] = { 1, 2, 3, 4, 5 };
  uint8_t buf[8];

  transport_init (&tr);
  CHECK (!transport_is_open (&tr));
  CHECK (transport_open_memory (&tr, in, sizeof in, &sent) == 0);
  CHECK (transport_is_open (&tr));
  CHECK (transport_pending (&tr) == 0);
  CHECK (transport_read (&tr, buf, 0) == IO_OK);
  CHECK (transport_read (&tr, buf, 2) == IO_OK && tr.got == 2
         && buf[0] == 1 && buf[1] == 2);
  CHECK (transport_write (&tr, "ab", 2) == IO_OK);
  CHECK (transport_write (&tr, "c", 1) == IO_OK);
  CHECK (sent.len == 3 && memcmp (sent.data, "abc", 3) == 0);
  CHECK (transport_read (&tr, buf, 8) == IO_SHORT && tr.got == 3
         && buf[2] == 5);
  CHECK (transport_pending (&tr) == 0);  /* the EOF shows on reading */
  CHECK (transport_read (&tr, buf, 1) == IO_EOF && tr.got == 0);
  transport_close (&tr, true, NULL);
  CHECK (!transport_is_open (&tr));
  CHECK (transport_pending (&tr) == -1);
  CHECK (transport_read (&tr, buf, 1) == IO_ERROR);
  CHECK (transport_write (&tr, "d", 1) == IO_ERROR);
  CHECK (sent.len == 3);
  bytes_free (&sent);
}

static const struct {
  const char *name;
  void (*fn) (void);
} cases[] = {
  { "transport", test_transport },
  { "clean", test_clean },
  { "df-without-sr", test_df_without_sr },
  { "df-with-sr", test_df_with_sr },
  { "tls-state-kept-sr", test_tls_state_kept_sr },
  { "starttls-in-memory", test_starttls_in_memory },
  { "ack-payload", test_ack_payload },
  { "two-finals", test_two_finals },
  { "reply-echo", test_reply_echo },
  { "reply-magic", test_reply_magic },
  { "info-go-mismatch", test_info_go_mismatch },
  { "block-size-invalid", test_block_size_invalid },
  { "has-flags-missing", test_has_flags_missing },
  { "info-export-missing", test_info_export_missing },
  { "sr-read-clean", test_sr_read_clean },
  { "chunk-cookie", test_chunk_cookie },
  { "chunk-outside", test_chunk_outside },
  { "chunk-overlap", test_chunk_overlap },
  { "no-done", test_no_done },
  { "chunk-type-unknown", test_chunk_type_unknown },
  { "sr-not-negotiated", test_sr_not_negotiated },
  { "closed-mid-message", test_closed_mid_message },
  { "closed-in-greeting", test_closed_in_greeting },
  { "not-nbd", test_not_nbd },
  { "reply-too-long", test_reply_too_long },
  { "export-name-padding", test_export_name_padding },
  { "no-sink", test_no_sink },
  { "two-sessions", test_two_sessions },
  { "reconnect", test_reconnect },
};

int
main (int argc, char **argv)
{
  size_t i;
  int ran = 0;

  if (argc > 1 && strcmp (argv[1], "-v") == 0) {
    verbose = true;
    argc--;
    argv++;
  }
  for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    int before = failures, j;
    bool want = argc <= 1;

    for (j = 1; j < argc; j++)
      if (strcmp (argv[j], cases[i].name) == 0)
        want = true;
    if (!want)
      continue;
    current = cases[i].name;
    cases[i].fn ();
    ran++;
    printf ("%s: %s\n", failures == before ? "ok" : "FAILED", current);
  }
  printf ("test-engine: %d case(s), %d failure(s)\n", ran, failures);
  return failures ? 1 : 0;
}
