/* nbdcli - the text sink: how the engine's events look to a person.
 * Messages go to the sink's stream (stdout in the shell), errors to its
 * error stream (stderr) with the script position; colour when the one
 * who chose the sink asked for it.
 * Copyright the nbdcli authors, MIT licence.
 */
#include <config.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "names.h"
#include "nbd-proto.h"
#include "output.h"
#include "session.h"
#include "sink.h"
#include "wire.h"

/* Colour: the direction markers, error replies and FLAG lines. */
#define C_SENT "\033[36m"
#define C_RECV "\033[32m"
#define C_ERR_REPLY "\033[33m"
#define C_FLAG "\033[1;31m"
#define C_RESET "\033[0m"

static void
mark (const struct text_sink *t, const char *m, const char *colour)
{
  if (t->color)
    fprintf (t->fp, "%s%s%s ", colour, m, C_RESET);
  else
    fprintf (t->fp, "%s ", m);
}

static void
text_greeting (const struct text_sink *t, const struct session *s)
{
  FILE *fp = t->fp;
  char buf[256], sz[64];

  mark (t, "<-", C_RECV);
  if (s->oldstyle) {
    fprintf (fp, "greeting: oldstyle, export size %" PRIu64 " (%s), ",
             s->cur.size, human_size (s->cur.size, sz, sizeof sz));
    print_tflags (fp, s->cur.tflags);
    fprintf (fp, "\n   (oldstyle: no options; the session is in "
             "transmission)\n");
    return;
  }
  fprintf (fp, "greeting: newstyle, handshake flags 0x%04x (%s)\n",
           s->hs_flags, nbd_flags_str (nbd_hs_flag_names, s->hs_flags, buf,
                                       sizeof buf));
  if (!(s->hs_flags & NBD_FLAG_FIXED_NEWSTYLE))
    fprintf (fp, "   (not fixed newstyle: only NBD_OPT_EXPORT_NAME is "
             "understood)\n");
}

static void
text_sent_option (const struct text_sink *t, uint32_t opt,
                  uint32_t declared_len, const uint8_t *payload, size_t len)
{
  FILE *fp = t->fp;
  char buf[128];

  mark (t, "->", C_SENT);
  fprintf (fp, "%s, length %" PRIu32, opt_label (opt, buf, sizeof buf),
           declared_len);
  if (declared_len != len)
    fprintf (fp, " (%zu byte%s sent)", len, len == 1 ? "" : "s");
  if (len) {
    fprintf (fp, ": ");
    print_sent_payload (fp, opt, payload, len);
  }
  fprintf (fp, "\n");
}

static void
text_opt_reply (const struct text_sink *t, const struct nbd_opt_reply_hdr *h,
                const uint8_t *payload)
{
  FILE *fp = t->fp;
  char b1[128], b2[128];

  mark (t, "<-", (h->type & NBD_REP_ERR_BIT) ? C_ERR_REPLY : C_RECV);
  fprintf (fp, "%s to %s, length %" PRIu32,
           rep_label (h->type, b1, sizeof b1),
           opt_label (h->option, b2, sizeof b2), h->length);
  if (h->length) {
    fprintf (fp, ": ");
    print_opt_payload (fp, h->type, payload, h->length);
  }
  fprintf (fp, "\n");
}

static void
text_export_name_reply (const struct text_sink *t, uint64_t size,
                        uint16_t tflags, size_t padding)
{
  FILE *fp = t->fp;
  char sz[64];

  mark (t, "<-", C_RECV);
  fprintf (fp, "export size %" PRIu64 " (%s), ", size,
           human_size (size, sz, sizeof sz));
  print_tflags (fp, tflags);
  if (padding)
    fprintf (fp, ", %zu bytes of padding", padding);
  else
    fprintf (fp, ", no padding (NO_ZEROES)");
  fprintf (fp, "\n");
}

/* With several requests in flight a reply's cookie is tagged with its
 * command: "cookie 3 (NBD_CMD_READ)", or "(not in flight)".
 */
static void
cookie_tag (FILE *fp, uint64_t cookie, int req_type, bool tagged)
{
  fprintf (fp, "cookie %" PRIu64, cookie);
  if (tagged && req_type >= 0)
    fprintf (fp, " (%s)", nbd_name_or_unknown (nbd_cmd_names,
                                               (uint32_t) req_type));
  else if (tagged)
    fprintf (fp, " (not in flight)");
}

static void
text_reply_hdr (const struct text_sink *t, const struct nbd_reply_hdr *h,
                int form, int req_type, bool tagged)
{
  FILE *fp = t->fp;
  const char *tn = nbd_name_of (nbd_reply_type_names, h->type);
  char buf[64];

  if (form == 0) {
    const char *en = nbd_name_of (nbd_error_names, h->error);

    mark (t, "<-", h->error ? C_ERR_REPLY : C_RECV);
    fprintf (fp, "simple reply, ");
    cookie_tag (fp, h->cookie, req_type, tagged);
    fprintf (fp, ", error %" PRIu32, h->error);
    if (h->error)
      fprintf (fp, " (%s)", en ? en : "not defined by the spec");
    fprintf (fp, "\n");
    return;
  }
  mark (t, "<-", (h->type & 0x8000) ? C_ERR_REPLY : C_RECV);
  fprintf (fp, "%s chunk %s", form == 1 ? "structured" : "extended",
           tn ? tn : "");
  if (!tn)
    fprintf (fp, "unknown type 0x%04x", h->type);
  else
    fprintf (fp, " (%u)", h->type);
  fprintf (fp, ", flags 0x%04x (%s), ", h->flags,
           nbd_flags_str (nbd_reply_flag_names, h->flags, buf, sizeof buf));
  cookie_tag (fp, h->cookie, req_type, tagged);
  if (form == 2)
    fprintf (fp, ", offset %" PRIu64, h->offset);
  fprintf (fp, ", length %" PRIu64 "\n", h->length);
}

static void
text_data (FILE *fp, uint64_t offset, const uint8_t *p, size_t shown,
           uint64_t len)
{
  if (!p) {
    fprintf (fp, "   data: %" PRIu64 " bytes at offset %" PRIu64
             " (to the file)\n", len, offset);
    return;
  }
  fprintf (fp, "   data: %" PRIu64 " bytes at offset %" PRIu64 "\n", len,
           offset);
  hexdump (fp, p, shown, offset);
  if (len > shown)
    fprintf (fp, "     ... (%" PRIu64 " more bytes)\n", len - shown);
}

static void
text_error_chunk (FILE *fp, uint16_t type, const struct nbd_chunk_error *e)
{
  const char *n = nbd_name_of (nbd_error_names, e->error);

  fprintf (fp, "   error %" PRIu32 " (%s)", e->error,
           n ? n : "not defined by the spec");
  if (type == NBD_REPLY_TYPE_ERROR_OFFSET)
    fprintf (fp, " at offset %" PRIu64, e->offset);
  if (e->msg_len) {
    fprintf (fp, ": ");
    print_quoted (fp, e->msg, e->msg_len);
  }
  fprintf (fp, "\n");
}

static void
text_block_status (FILE *fp, uint32_t ctx_id, const char *ctx_name,
                   const uint8_t *p, bool ext, size_t n)
{
  size_t i, shown = n > 1000 ? 1000 : n;
  uint64_t off = 0, len, fl;
  char m[128];

  fprintf (fp, "   block status for context id %" PRIu32 " (%s), %zu "
           "extent%s:\n", ctx_id, ctx_name ? ctx_name : "never negotiated",
           n, n == 1 ? "" : "s");
  for (i = 0; i < shown; i++) {
    nbd_block_status_extent (p, ext, i, &len, &fl);
    status_meaning (ctx_name, fl, m, sizeof m);
    fprintf (fp, "     +%-12" PRIu64 " length %-12" PRIu64 " flags 0x%"
             PRIx64 " (%s)\n", off, len, fl, m);
    off += len;
  }
  if (n > shown)
    fprintf (fp, "     ... (%zu more extents)\n", n - shown);
}

static void
text_event (void *ctx, const struct session *s, const struct nbd_event *ev)
{
  const struct text_sink *t = ctx;
  FILE *fp = t->fp;
  char buf[512];                /* flags with every name: no truncation */

  switch (ev->type) {
  case EV_CONNECTED:
    fprintf (fp, "connected to %s\n", ev->u.text);
    break;
  case EV_GREETING:
    text_greeting (t, s);
    break;
  case EV_CLIENT_FLAGS:
    mark (t, "->", C_SENT);
    fprintf (fp, "client flags 0x%08" PRIx32 " (%s)\n", ev->u.client_flags,
             nbd_flags_str (nbd_cflag_names, ev->u.client_flags, buf,
                            sizeof buf));
    break;
  case EV_SENT_OPTION:
    text_sent_option (t, ev->u.option.opt, ev->u.option.declared_len,
                      ev->u.option.payload, ev->u.option.len);
    break;
  case EV_OPT_REPLY:
    text_opt_reply (t, ev->u.opt_reply.hdr, ev->u.opt_reply.payload);
    break;
  case EV_EXPORT_NAME_REPLY:
    text_export_name_reply (t, ev->u.export_name.size,
                            ev->u.export_name.tflags,
                            ev->u.export_name.padding);
    break;
  case EV_SENT_REQUEST:
    mark (t, "->", C_SENT);
    fprintf (fp, "%s (%u), flags 0x%04x (%s), cookie %" PRIu64
             ", offset %" PRIu64 ", length %" PRIu32 "\n",
             nbd_name_or_unknown (nbd_cmd_names, ev->u.request.type),
             ev->u.request.type, ev->u.request.flags,
             nbd_flags_str (nbd_cmd_flag_names, ev->u.request.flags, buf,
                            sizeof buf),
             ev->u.request.cookie, ev->u.request.offset, ev->u.request.len);
    if (ev->u.request.async)
      fprintf (fp, "   (in flight, not waited for: %zu in flight)\n",
               ev->u.request.inflight);
    break;
  case EV_REPLY_HDR:
    text_reply_hdr (t, ev->u.reply.hdr, ev->u.reply.form,
                    ev->u.reply.req_type, ev->u.reply.tagged);
    break;
  case EV_OUT_OF_ORDER:
    fprintf (fp, "   (out of order: the reply to cookie %" PRIu64 " (%s) "
             "comes before the reply to cookie %" PRIu64 " (%s), sent "
             "earlier; allowed)\n", ev->u.order.cookie,
             nbd_name_or_unknown (nbd_cmd_names, ev->u.order.type),
             ev->u.order.earlier_cookie,
             nbd_name_or_unknown (nbd_cmd_names, ev->u.order.earlier_type));
    break;
  case EV_REQUEST_DONE: {
    const char *en = nbd_name_of (nbd_error_names, ev->u.done.errval);

    fprintf (fp, "== cookie %" PRIu64 " (%s) done: ", ev->u.done.cookie,
             nbd_name_or_unknown (nbd_cmd_names, ev->u.done.type));
    if (ev->u.done.error)
      fprintf (fp, "error %" PRIu32 " (%s)", ev->u.done.errval,
               en ? en : "not defined by the spec");
    else
      fprintf (fp, "ok");
    if (ev->u.done.data_bytes)
      fprintf (fp, ", %" PRIu64 " bytes of data", ev->u.done.data_bytes);
    fprintf (fp, "; %zu in flight\n", ev->u.done.inflight);
    break;
  }
  case EV_DATA:
    text_data (fp, ev->u.data.offset, ev->u.data.p, ev->u.data.shown,
               ev->u.data.len);
    break;
  case EV_HOLE:
    fprintf (fp, "   hole: %" PRIu32 " bytes of zeroes at offset %" PRIu64
             "\n", ev->u.hole.size, ev->u.hole.offset);
    break;
  case EV_ERROR_CHUNK:
    text_error_chunk (fp, ev->u.error_chunk.type, ev->u.error_chunk.e);
    break;
  case EV_BLOCK_STATUS:
    text_block_status (fp, ev->u.block_status.ctx_id,
                       ev->u.block_status.ctx_name, ev->u.block_status.p,
                       ev->u.block_status.ext, ev->u.block_status.n);
    break;
  case EV_TLS:
    fprintf (fp, "== TLS handshake done (epoch %d): the negotiation state "
             "from before STARTTLS is discarded\n", s->epoch);
    print_tls_lines (fp, s, "   ");
    break;
  case EV_CLOSED:
    if (ev->u.text)
      fprintf (fp, "connection closed (%s)\n", ev->u.text);
    break;
  case EV_FLAG: {
    const struct flag_def *d = ev->u.flag.def;

    fflush (fp);
    fprintf (fp, "%sFLAG %s:%s %s (%s; spec: %s)\n", t->color ? C_FLAG : "",
             d->id, t->color ? C_RESET : "",
             ev->u.flag.evidence ? ev->u.flag.evidence : "?", d->rule,
             d->section);
    break;
  }
  case EV_NOTE:
    fprintf (fp, "   %s\n", ev->u.text ? ev->u.text : "?");
    break;
  case EV_ERROR:
    fflush (fp);
    print_error_line (t->errfp, NULL, ev->u.error.message);
    break;
  case EV_WIRE:                 /* the wire trace's, not ours */
  case EV_BYTES:                /* the captures' */
  case EV_SECRET:               /* never shown */
    break;
  }
}

struct nbd_sink
text_sink (struct text_sink *t, FILE *fp, FILE *errfp, bool color)
{
  t->fp = fp;
  t->errfp = errfp;
  t->color = color;
  return (struct nbd_sink) { .event = text_event, .ctx = t };
}
