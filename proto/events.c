/* nbdcli - the engine's events, handed to the session's sink.
 * Copyright the nbdcli authors, MIT licence.
 */
#include <config.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "events.h"
#include "session.h"

static const char *const err_names[NERR_KINDS] = {
  [ERR_NONE] = "none",
  [ERR_NO_TARGET] = "no-target",
  [ERR_CONNECT] = "connect",
  [ERR_NOT_CONNECTED] = "not-connected",
  [ERR_CLOSED] = "closed",
  [ERR_TIMEOUT] = "timeout",
  [ERR_INTERRUPTED] = "interrupted",
  [ERR_TRANSPORT] = "transport",
  [ERR_NOT_NBD] = "not-nbd",
  [ERR_FRAMING] = "framing-lost",
  [ERR_LIMIT] = "limit",
  [ERR_TLS_CREDENTIALS] = "tls-credentials",
  [ERR_TLS_VERIFY] = "tls-verify",
  [ERR_TLS_HANDSHAKE] = "tls-handshake",
  [ERR_TLS_REJECTED] = "tls-rejected",
  [ERR_REFUSED] = "refused",
  [ERR_LOCAL_IO] = "local-io",
};

const char *
nbd_err_name (enum nbd_err e)
{
  return (unsigned) e < NERR_KINDS && err_names[e] ? err_names[e] : "?";
}

static void
emit (struct session *s, const struct nbd_event *ev)
{
  if (s->sink.event)
    s->sink.event (s->sink.ctx, s, ev);
}

void
ev_wire (struct session *s, bool sent, enum wire_kind kind,
         const uint8_t *p, size_t len, uint64_t total)
{
  struct nbd_event ev = { .type = EV_WIRE };

  ev.u.wire.sent = sent;
  ev.u.wire.kind = kind;
  ev.u.wire.p = p;
  ev.u.wire.len = len;
  ev.u.wire.total = total;
  emit (s, &ev);
}

void
ev_bytes (struct session *s, bool sent, enum bytes_layer layer, bool tls,
          const uint8_t *p, size_t len)
{
  struct nbd_event ev = { .type = EV_BYTES };

  if (len == 0)
    return;
  ev.u.bytes.sent = sent;
  ev.u.bytes.layer = layer;
  ev.u.bytes.tls = tls;
  ev.u.bytes.p = p;
  ev.u.bytes.len = len;
  emit (s, &ev);
}

void
ev_secret (struct session *s, const char *label,
           const uint8_t *client_random, const uint8_t *secret, size_t len)
{
  struct nbd_event ev = { .type = EV_SECRET };

  ev.u.secret.label = label;
  ev.u.secret.client_random = client_random;
  ev.u.secret.secret = secret;
  ev.u.secret.len = len;
  emit (s, &ev);
}

void
ev_connected (struct session *s, const char *desc)
{
  struct nbd_event ev = { .type = EV_CONNECTED, .u.text = desc };
  emit (s, &ev);
}

void
ev_greeting (struct session *s)
{
  struct nbd_event ev = { .type = EV_GREETING };
  emit (s, &ev);
}

void
ev_client_flags (struct session *s, uint32_t flags)
{
  struct nbd_event ev = { .type = EV_CLIENT_FLAGS, .u.client_flags = flags };
  emit (s, &ev);
}

void
ev_sent_option (struct session *s, uint32_t opt, uint32_t declared_len,
                const uint8_t *payload, size_t len)
{
  struct nbd_event ev = { .type = EV_SENT_OPTION };

  ev.u.option.opt = opt;
  ev.u.option.declared_len = declared_len;
  ev.u.option.payload = payload;
  ev.u.option.len = len;
  emit (s, &ev);
}

void
ev_opt_reply (struct session *s, const struct nbd_opt_reply_hdr *h,
              const uint8_t *payload)
{
  struct nbd_event ev = { .type = EV_OPT_REPLY };

  ev.u.opt_reply.hdr = h;
  ev.u.opt_reply.payload = payload;
  emit (s, &ev);
}

void
ev_export_name_reply (struct session *s, uint64_t size, uint16_t tflags,
                      size_t padding)
{
  struct nbd_event ev = { .type = EV_EXPORT_NAME_REPLY };

  ev.u.export_name.size = size;
  ev.u.export_name.tflags = tflags;
  ev.u.export_name.padding = padding;
  emit (s, &ev);
}

void
ev_sent_request (struct session *s, uint16_t flags, uint16_t type,
                 uint64_t cookie, uint64_t offset, uint32_t len, bool async,
                 size_t inflight)
{
  struct nbd_event ev = { .type = EV_SENT_REQUEST };

  ev.u.request.flags = flags;
  ev.u.request.type = type;
  ev.u.request.cookie = cookie;
  ev.u.request.offset = offset;
  ev.u.request.len = len;
  ev.u.request.async = async;
  ev.u.request.inflight = inflight;
  emit (s, &ev);
}

void
ev_reply_hdr (struct session *s, const struct nbd_reply_hdr *h, int form,
              int req_type, bool tagged)
{
  struct nbd_event ev = { .type = EV_REPLY_HDR };

  ev.u.reply.hdr = h;
  ev.u.reply.form = form;
  ev.u.reply.req_type = req_type;
  ev.u.reply.tagged = tagged;
  emit (s, &ev);
}

void
ev_out_of_order (struct session *s, uint64_t cookie, uint16_t type,
                 uint64_t earlier_cookie, uint16_t earlier_type)
{
  struct nbd_event ev = { .type = EV_OUT_OF_ORDER };

  ev.u.order.cookie = cookie;
  ev.u.order.type = type;
  ev.u.order.earlier_cookie = earlier_cookie;
  ev.u.order.earlier_type = earlier_type;
  emit (s, &ev);
}

void
ev_request_done (struct session *s, uint64_t cookie, uint16_t type,
                 bool error, uint32_t errval, uint64_t data_bytes,
                 size_t inflight)
{
  struct nbd_event ev = { .type = EV_REQUEST_DONE };

  ev.u.done.cookie = cookie;
  ev.u.done.type = type;
  ev.u.done.error = error;
  ev.u.done.errval = errval;
  ev.u.done.data_bytes = data_bytes;
  ev.u.done.inflight = inflight;
  emit (s, &ev);
}

void
ev_data (struct session *s, uint64_t offset, const uint8_t *p, size_t shown,
         uint64_t len)
{
  struct nbd_event ev = { .type = EV_DATA };

  ev.u.data.offset = offset;
  ev.u.data.p = p;
  ev.u.data.shown = shown;
  ev.u.data.len = len;
  emit (s, &ev);
}

void
ev_hole (struct session *s, uint64_t offset, uint32_t size)
{
  struct nbd_event ev = { .type = EV_HOLE };

  ev.u.hole.offset = offset;
  ev.u.hole.size = size;
  emit (s, &ev);
}

void
ev_error_chunk (struct session *s, uint16_t type,
                const struct nbd_chunk_error *e)
{
  struct nbd_event ev = { .type = EV_ERROR_CHUNK };

  ev.u.error_chunk.type = type;
  ev.u.error_chunk.e = e;
  emit (s, &ev);
}

void
ev_block_status (struct session *s, uint32_t ctx_id, const char *ctx_name,
                 const uint8_t *p, bool ext, size_t n)
{
  struct nbd_event ev = { .type = EV_BLOCK_STATUS };

  ev.u.block_status.ctx_id = ctx_id;
  ev.u.block_status.ctx_name = ctx_name;
  ev.u.block_status.p = p;
  ev.u.block_status.ext = ext;
  ev.u.block_status.n = n;
  emit (s, &ev);
}

void
ev_tls (struct session *s)
{
  struct nbd_event ev = { .type = EV_TLS };
  emit (s, &ev);
}

void
ev_closed (struct session *s, const char *why)
{
  struct nbd_event ev = { .type = EV_CLOSED, .u.text = why };
  emit (s, &ev);
}

void
ev_flag (struct session *s, enum flag_id id, const char *fmt, ...)
{
  struct nbd_event ev = { .type = EV_FLAG };
  char evidence[4096];
  va_list ap;

  s->nflags++;
  s->nflags_conn++;
  if ((unsigned) id < NFLAG_IDS)
    s->flag_counts[id]++;
  va_start (ap, fmt);
  vsnprintf (evidence, sizeof evidence, fmt, ap);
  va_end (ap);
  ev.u.flag.def = flag_def (id);
  ev.u.flag.evidence = evidence;
  emit (s, &ev);
}

void
ev_note (struct session *s, const char *fmt, ...)
{
  struct nbd_event ev = { .type = EV_NOTE };
  char msg[4096];
  va_list ap;

  va_start (ap, fmt);
  vsnprintf (msg, sizeof msg, fmt, ap);
  va_end (ap);
  ev.u.text = msg;
  emit (s, &ev);
}

void
ev_error (struct session *s, enum nbd_err kind, const char *fmt, ...)
{
  struct nbd_event ev = { .type = EV_ERROR };
  va_list ap;

  va_start (ap, fmt);
  vsnprintf (s->err.msg, sizeof s->err.msg, fmt, ap);
  va_end (ap);
  s->err.kind = kind;
  ev.u.error.kind = kind;
  ev.u.error.message = s->err.msg;
  emit (s, &ev);
}
