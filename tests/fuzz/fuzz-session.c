/* nbdcli - libFuzzer target: a whole session through the engine.
 *
 * The server is the fuzzer: a session runs over the in-memory transport
 * (session_connect_memory) on server bytes it chooses, and a fixed
 * script of engine calls covers every option and every transmission
 * command.  The input's first byte chooses the script's variant; the
 * rest is everything the server sends:
 *
 *   bits 0-1  reply mode: 0 simple replies, 1 structured replies
 *             (NBD_OPT_STRUCTURED_REPLY sent), 2 extended headers
 *             (NBD_OPT_EXTENDED_HEADERS sent), 3 both
 *   bit 2     enter transmission with NBD_OPT_EXPORT_NAME, not GO
 *   bit 3     send NBD_OPT_ABORT before entering transmission
 *   bit 4     send no NBD_OPT_SET_META_CONTEXT
 *
 * The script: connect (greeting, client flags); LIST, STARTTLS (an ACK
 * starts no handshake: no_auto_tls), an unknown option with data, SR
 * and/or EH by the mode, LIST_META_CONTEXT, SET_META_CONTEXT, INFO,
 * ABORT (bit 3), GO or EXPORT_NAME; then READ, READ with DF, WRITE with
 * FUA, FLUSH, TRIM, WRITE_ZEROES, CACHE, BLOCK_STATUS, BLOCK_STATUS
 * with REQ_ONE, DISC.  It stops when the session is disconnected.
 *
 * The sink checks what the engine hands out: every text is a
 * NUL-terminated string, every pointer and length is readable (ASan
 * sees a read past a buffer), flag ids come from the catalogue, error
 * kinds are known; after every call the flag counters add up and a
 * closed transport means a disconnected session.  No crash, leak or
 * undefined behaviour; the memory transport never waits, so time and
 * memory are bounded by the input.
 *
 * tests/fuzz/make-session-corpus.py writes the seed corpus.  To see
 * what an input does: FUZZ_SESSION_TRACE=1 tests/fuzz/fuzz-session FILE
 * prints the options and requests sent, flags, errors and notes.
 *
 * Copyright the nbdcli authors, MIT licence.
 */
#include <config.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flags.h"
#include "nbd-proto.h"
#include "session.h"
#include "sink.h"
#include "wire.h"
#include "xmit.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

#define SEL_SR          0x01
#define SEL_EH          0x02
#define SEL_EXPORT_NAME 0x04
#define SEL_ABORT       0x08
#define SEL_NO_SMC      0x10

static volatile uint8_t sum;

/* Reads every byte of [P, P+N): ASan traps a span past its buffer. */
static void
touch (const void *p, size_t n)
{
  const volatile uint8_t *q = p;
  size_t i;

  if (n && !p)
    __builtin_trap ();
  for (i = 0; i < n; i++)
    sum += q[i];
}

static void
touch_string (const char *s)
{
  if (s)
    touch (s, strlen (s) + 1);
}

static int trace = -1;

static void
show (const struct nbd_event *ev)
{
  switch (ev->type) {
  case EV_SENT_OPTION:
    fprintf (stderr, "-> option %u\n", ev->u.option.opt);
    break;
  case EV_SENT_REQUEST:
    fprintf (stderr, "-> request %u\n", ev->u.request.type);
    break;
  case EV_FLAG:
    fprintf (stderr, "FLAG %s: %s\n", ev->u.flag.def->id,
             ev->u.flag.evidence);
    break;
  case EV_ERROR:
    fprintf (stderr, "error %s: %s\n", nbd_err_name (ev->u.error.kind),
             ev->u.error.message);
    break;
  case EV_NOTE:
    fprintf (stderr, "note: %s\n", ev->u.text);
    break;
  case EV_CLOSED:
    fprintf (stderr, "closed: %s\n", ev->u.text ? ev->u.text : "");
    break;
  default:
    break;
  }
}

static void
check_event (void *ctx, const struct session *s, const struct nbd_event *ev)
{
  if (s != ctx)
    __builtin_trap ();
  switch (ev->type) {
  case EV_CONNECTED:
  case EV_CLOSED:
  case EV_NOTE:
    touch_string (ev->u.text);
    break;
  case EV_SENT_OPTION:
    touch (ev->u.option.payload, ev->u.option.len);
    break;
  case EV_OPT_REPLY:
    touch (ev->u.opt_reply.hdr, sizeof *ev->u.opt_reply.hdr);
    touch (ev->u.opt_reply.payload, ev->u.opt_reply.hdr->length);
    break;
  case EV_REPLY_HDR:
    touch (ev->u.reply.hdr, sizeof *ev->u.reply.hdr);
    if (ev->u.reply.form < 0 || ev->u.reply.form > 2)
      __builtin_trap ();
    break;
  case EV_DATA:
    if (ev->u.data.shown > ev->u.data.len)
      __builtin_trap ();
    if (ev->u.data.p)
      touch (ev->u.data.p, ev->u.data.shown);
    break;
  case EV_ERROR_CHUNK:
    touch (ev->u.error_chunk.e, sizeof *ev->u.error_chunk.e);
    touch (ev->u.error_chunk.e->msg, ev->u.error_chunk.e->msg_len);
    break;
  case EV_BLOCK_STATUS:
    touch_string (ev->u.block_status.ctx_name);
    touch (ev->u.block_status.p, ev->u.block_status.ext
           ? 8 + 16 * ev->u.block_status.n : 4 + 8 * ev->u.block_status.n);
    break;
  case EV_FLAG:
    if (!ev->u.flag.def || (unsigned) ev->u.flag.def->e >= NFLAG_IDS
        || flag_def (ev->u.flag.def->e) != ev->u.flag.def)
      __builtin_trap ();
    touch_string (ev->u.flag.evidence);
    break;
  case EV_ERROR:
    if ((unsigned) ev->u.error.kind >= NERR_KINDS
        || ev->u.error.kind == ERR_NONE)
      __builtin_trap ();
    touch_string (ev->u.error.message);
    break;
  case EV_WIRE:
    if (ev->u.wire.len > ev->u.wire.total)
      __builtin_trap ();
    touch (ev->u.wire.p, ev->u.wire.len);
    break;
  default:
    break;
  }
  if (trace)
    show (ev);
}

/* The session's truth is consistent after every call. */
static void
check_session (const struct session *s)
{
  unsigned total = 0;
  int i;

  for (i = 0; i < NFLAG_IDS; i++)
    total += s->flag_counts[i];
  if (total != s->nflags || s->nflags_conn > s->nflags)
    __builtin_trap ();
  if (!transport_is_open (&s->t) && s->phase != PHASE_DISCONNECTED)
    __builtin_trap ();
  if (memchr (s->err.msg, 0, sizeof s->err.msg) == NULL)
    __builtin_trap ();
  if ((s->err.kind == ERR_NONE) != (s->err.msg[0] == '\0'))
    __builtin_trap ();
}

/* Option payloads, as nbdcli's commands build them. */
static const uint8_t info_payload[] = {
  0, 0, 0, 0,                   /* export "" */
  0, 3, 0, 1, 0, 2, 0, 3,       /* NAME, DESCRIPTION, BLOCK_SIZE */
};
static const uint8_t go_payload[] = {
  0, 0, 0, 0, 0, 1, 0, 3,       /* export "", BLOCK_SIZE */
};
static const uint8_t lmc_payload[] = {
  0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 5, 'b', 'a', 's', 'e', ':',
};
static const uint8_t smc_payload[] = {
  0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 15,
  'b', 'a', 's', 'e', ':', 'a', 'l', 'l', 'o', 'c', 'a', 't', 'i', 'o', 'n',
};

static bool
gone (const struct session *s)
{
  check_session (s);
  return !transport_is_open (&s->t);
}

static bool
option (struct session *s, uint32_t opt, const void *p, size_t len)
{
  session_option (s, opt, p, len, len);
  return !gone (s);
}

static bool
request (struct session *s, uint16_t type, uint16_t flags, uint64_t offset,
         uint64_t length, const void *payload, size_t payload_len)
{
  struct xreq r = { .type = type, .flags = flags, .offset = offset,
                    .length = length, .payload = payload,
                    .payload_len = payload_len };
  struct xresult res;

  session_request (s, &r, &res);
  if (res.form < -1 || res.form > 2)
    __builtin_trap ();
  return !gone (s);
}

static void
script (struct session *s, uint8_t sel, const uint8_t *server, size_t len)
{
  if (session_connect_memory (s, server, len, NULL) == -1 || gone (s))
    return;

  if (s->phase == PHASE_OPTIONS) {
    if (!option (s, NBD_OPT_LIST, NULL, 0)
        || !option (s, NBD_OPT_STARTTLS, NULL, 0)
        || !option (s, 0x1234, "abc", 3))
      return;
    if ((sel & SEL_SR) && !option (s, NBD_OPT_STRUCTURED_REPLY, NULL, 0))
      return;
    if ((sel & SEL_EH) && !option (s, NBD_OPT_EXTENDED_HEADERS, NULL, 0))
      return;
    if (!option (s, NBD_OPT_LIST_META_CONTEXT, lmc_payload,
                 sizeof lmc_payload))
      return;
    if (!(sel & SEL_NO_SMC)
        && !option (s, NBD_OPT_SET_META_CONTEXT, smc_payload,
                    sizeof smc_payload))
      return;
    if (!option (s, NBD_OPT_INFO, info_payload, sizeof info_payload))
      return;
    if ((sel & SEL_ABORT) && !option (s, NBD_OPT_ABORT, NULL, 0))
      return;
    if (sel & SEL_EXPORT_NAME) {
      if (!option (s, NBD_OPT_EXPORT_NAME, NULL, 0))
        return;
    }
    else if (!option (s, NBD_OPT_GO, go_payload, sizeof go_payload))
      return;
  }
  if (s->phase != PHASE_TRANSMISSION)
    return;

  if (!request (s, NBD_CMD_READ, 0, 0, 512, NULL, 0)
      || !request (s, NBD_CMD_READ, NBD_CMD_FLAG_DF, 4096, 1024, NULL, 0)
      || !request (s, NBD_CMD_WRITE, NBD_CMD_FLAG_FUA, 0, 5, "hello", 5)
      || !request (s, NBD_CMD_FLUSH, 0, 0, 0, NULL, 0)
      || !request (s, NBD_CMD_TRIM, 0, 0, 4096, NULL, 0)
      || !request (s, NBD_CMD_WRITE_ZEROES, NBD_CMD_FLAG_NO_HOLE, 0, 4096,
                   NULL, 0)
      || !request (s, NBD_CMD_CACHE, 0, 0, 4096, NULL, 0)
      || !request (s, NBD_CMD_BLOCK_STATUS, 0, 0, 65536, NULL, 0)
      || !request (s, NBD_CMD_BLOCK_STATUS, NBD_CMD_FLAG_REQ_ONE, 0, 65536,
                   NULL, 0))
    return;
  request (s, NBD_CMD_DISC, 0, 0, 0, NULL, 0);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  struct session s;
  uint8_t *server;

  if (trace == -1) {
    const char *e = getenv ("FUZZ_SESSION_TRACE");
    trace = e && *e && strcmp (e, "0") != 0;
  }
  if (size < 1)
    return 0;
  /* The server's bytes in a buffer of their own exact size, so that
   * ASan sees a read past them.
   */
  server = malloc (size - 1 ? size - 1 : 1);
  if (!server)
    abort ();
  memcpy (server, data + 1, size - 1);

  session_init (&s);
  s.sink.event = check_event;
  s.sink.ctx = &s;
  s.cfg.no_auto_tls = true;
  s.cfg.timeout_ms = 1000;
  script (&s, data[0], server, size - 1);
  check_session (&s);
  session_free (&s);
  free (server);
  return 0;
}
