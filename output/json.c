/* nbdcli - the JSON-lines sink: one JSON object per line for every
 * event, and the JSON forms of results (state, errors, output).
 * Strings are escaped; bytes that are not valid UTF-8 become \u00XX so
 * every line parses.
 * Copyright the nbdcli authors, MIT licence.
 */
#include <config.h>

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "names.h"
#include "nbd-proto.h"
#include "output.h"
#include "session.h"
#include "sink.h"
#include "wire.h"

struct json {
  FILE *fp;
};

void
json_raw_str (FILE *fp, const uint8_t *p, size_t len)
{
  size_t i;

  fputc ('"', fp);
  for (i = 0; i < len; i++) {
    uint8_t c = p[i];
    if (c == '"' || c == '\\')
      fprintf (fp, "\\%c", c);
    else if (c == '\n')
      fputs ("\\n", fp);
    else if (c == '\t')
      fputs ("\\t", fp);
    else if (c < 0x20 || c == 0x7f)
      fprintf (fp, "\\u%04x", c);
    else if (c >= 0x80) {
      if (nbd_string_ok (p + i, 1))
        fputc (c, fp);
      else {
        /* Keep valid multibyte sequences, escape stray bytes. */
        size_t n = 0;
        if ((c & 0xe0) == 0xc0) n = 2;
        else if ((c & 0xf0) == 0xe0) n = 3;
        else if ((c & 0xf8) == 0xf0) n = 4;
        if (n && i + n <= len && nbd_string_ok (p + i, n)) {
          fwrite (p + i, 1, n, fp);
          i += n - 1;
        }
        else
          fprintf (fp, "\\u%04x", c);
      }
    }
    else
      fputc (c, fp);
  }
  fputc ('"', fp);
}

static void
json_begin (struct json *j, FILE *fp, const char *event)
{
  j->fp = fp;
  fprintf (fp, "{\"event\":\"%s\"", event);
}

static void
json_key (struct json *j, const char *key)
{
  fprintf (j->fp, ",\"%s\":", key);
}

static void
json_str (struct json *j, const char *key, const char *v)
{
  json_key (j, key);
  if (v)
    json_raw_str (j->fp, (const uint8_t *) v, strlen (v));
  else
    fputs ("null", j->fp);
}

static void
json_bytes (struct json *j, const char *key, const uint8_t *p, size_t len)
{
  json_key (j, key);
  json_raw_str (j->fp, p, len);
}

static void
json_hex (struct json *j, const char *key, const uint8_t *p, size_t len)
{
  size_t i;
  json_key (j, key);
  fputc ('"', j->fp);
  for (i = 0; i < len && i < 4096; i++)
    fprintf (j->fp, "%02x", p[i]);
  fputc ('"', j->fp);
}

static void
json_u64 (struct json *j, const char *key, uint64_t v)
{
  json_key (j, key);
  fprintf (j->fp, "%" PRIu64, v);
}

static void
json_bool (struct json *j, const char *key, bool v)
{
  json_key (j, key);
  fputs (v ? "true" : "false", j->fp);
}

static void
json_flags (struct json *j, const char *key, const struct nbd_name *tbl,
            uint32_t flags)
{
  char buf[512], *p, *save = NULL;
  bool first = true;

  json_u64 (j, key, flags);
  fprintf (j->fp, ",\"%s_names\":[", key);
  nbd_flags_str (tbl, flags, buf, sizeof buf);
  if (flags)
    for (p = strtok_r (buf, " ", &save); p; p = strtok_r (NULL, " ", &save)) {
      fprintf (j->fp, "%s\"%s\"", first ? "" : ",", p);
      first = false;
    }
  fputc (']', j->fp);
}

static void
json_end (struct json *j)
{
  fputs ("}" "\n", j->fp);
  fflush (j->fp);
}

/* The decoded fields of an option reply payload, as JSON members. */
static void
json_opt_payload (struct json *j, uint32_t type, const uint8_t *p,
                  size_t len)
{
  const char *err = NULL;

  switch (type) {
  case NBD_REP_SERVER: {
    struct nbd_rep_server sv;
    err = nbd_decode_rep_server (p, len, &sv);
    if (!err) {
      json_bytes (j, "export", sv.name, sv.name_len);
      json_bytes (j, "description", sv.desc, sv.desc_len);
    }
    break;
  }
  case NBD_REP_INFO: {
    struct nbd_rep_info i;
    err = nbd_decode_rep_info (p, len, &i);
    if (len >= 2) {
      json_u64 (j, "info", i.type);
      json_str (j, "info_name", nbd_info_name (i.type));
    }
    if (err)
      break;
    switch (i.type) {
    case NBD_INFO_EXPORT:
      json_u64 (j, "size", i.size);
      json_flags (j, "transmission_flags", nbd_tflag_names, i.tflags);
      break;
    case NBD_INFO_NAME:
    case NBD_INFO_DESCRIPTION:
      json_bytes (j, "text", i.str, i.str_len);
      break;
    case NBD_INFO_BLOCK_SIZE:
      json_u64 (j, "minimum", i.min_block);
      json_u64 (j, "preferred", i.pref_block);
      json_u64 (j, "maximum", i.max_block);
      break;
    }
    break;
  }
  case NBD_REP_META_CONTEXT: {
    struct nbd_rep_meta m;
    err = nbd_decode_rep_meta (p, len, &m);
    if (!err) {
      json_u64 (j, "context_id", m.id);
      json_bytes (j, "context", m.name, m.name_len);
    }
    break;
  }
  default:
    if (type & NBD_REP_ERR_BIT)
      json_bytes (j, "error_message", p, len);
  }
  if (err)
    json_str (j, "malformed", err);
}

static void
json_tls (struct json *j, const struct session *s)
{
  const struct tls_info *i = &s->tlsinfo;

  json_u64 (j, "epoch", s->epoch);
  json_str (j, "version", i->version);
  json_str (j, "cipher", i->cipher);
  json_str (j, "mac", i->mac);
  json_str (j, "key_exchange", i->kx);
  json_str (j, "credentials", i->cred);
  json_str (j, "psk_username", i->psk_username);
  json_str (j, "peer_subject", i->peer_subject);
  json_str (j, "peer_issuer", i->peer_issuer);
  if (i->peer_subject) {
    json_u64 (j, "peer_not_before", (uint64_t) i->peer_not_before);
    json_u64 (j, "peer_not_after", (uint64_t) i->peer_not_after);
  }
  json_str (j, "verification", i->verify);
}

void
json_error_line (FILE *fp, const char *cmd, const char *msg,
                 const char *kind)
{
  struct json j;

  json_begin (&j, fp, "error");
  json_str (&j, "message", msg);
  json_str (&j, "command", cmd);
  if (kind)
    json_str (&j, "kind", kind);
  if (out_where.file) {
    json_str (&j, "file", out_where.file);
    json_u64 (&j, "line", out_where.line);
  }
  json_end (&j);
}

static void
json_nego (struct json *j, const char *prefix, const struct nego *n)
{
  char key[64];
  size_t i;

  snprintf (key, sizeof key, "%sstructured_replies", prefix);
  json_bool (j, key, n->sr);
  snprintf (key, sizeof key, "%sextended_headers", prefix);
  json_bool (j, key, n->eh);
  snprintf (key, sizeof key, "%smeta_contexts", prefix);
  json_key (j, key);
  fputc ('[', j->fp);
  for (i = 0; i < n->nctx; i++) {
    fprintf (j->fp, "%s{\"id\":%" PRIu32 ",\"name\":", i ? "," : "",
            n->ctx[i].id);
    json_raw_str (j->fp, (const uint8_t *) n->ctx[i].name, strlen (n->ctx[i].name));
    fputc ('}', j->fp);
  }
  fputc (']', j->fp);
  if (n->have_export) {
    snprintf (key, sizeof key, "%sexport", prefix);
    json_str (j, key, n->export_name);
    snprintf (key, sizeof key, "%ssize", prefix);
    json_u64 (j, key, n->size);
    snprintf (key, sizeof key, "%stransmission_flags", prefix);
    json_flags (j, key, nbd_tflag_names, n->tflags);
  }
  if (n->have_bs) {
    snprintf (key, sizeof key, "%sblock_size_minimum", prefix);
    json_u64 (j, key, n->min_block);
    snprintf (key, sizeof key, "%sblock_size_preferred", prefix);
    json_u64 (j, key, n->pref_block);
    snprintf (key, sizeof key, "%sblock_size_maximum", prefix);
    json_u64 (j, key, n->max_block);
  }
}

void
json_state (FILE *fp, const struct session *s)
{
  struct json j;
  char *d = nbd_target_describe (&s->target);

  json_begin (&j, fp, "state");
  json_str (&j, "phase", phase_name (s->phase));
  json_str (&j, "target", s->target.kind ? d : NULL);
  free (d);
  json_str (&j, "default_export", s->cfg.default_export ? s->cfg.default_export : "");
  if (s->phase != PHASE_DISCONNECTED && !s->oldstyle) {
    json_flags (&j, "handshake_flags", nbd_hs_flag_names, s->hs_flags);
    json_flags (&j, "client_flags", nbd_cflag_names, s->client_flags);
  }
  json_bool (&j, "oldstyle", s->oldstyle);
  json_bool (&j, "tls", s->tls_up);
  json_bool (&j, "tls_required", s->cfg.tls.required);
  if (s->tls_up)
    json_tls (&j, s);
  else
    json_u64 (&j, "epoch", s->epoch);
  json_nego (&j, "", &s->cur);
  if (s->epoch > 0)
    json_nego (&j, "before_starttls_", &s->prev);
  json_u64 (&j, "flags_raised", s->nflags);
  json_end (&j);
}


static void
json_ev_greeting (FILE *fp, const struct session *s)
{
  struct json j;

  json_begin (&j, fp, "received");
  json_str (&j, "message", "greeting");
  json_str (&j, "style", s->oldstyle ? "oldstyle" : "newstyle");
  if (s->oldstyle) {
    json_u64 (&j, "size", s->cur.size);
    json_flags (&j, "transmission_flags", nbd_tflag_names, s->cur.tflags);
  }
  else
    json_flags (&j, "handshake_flags", nbd_hs_flag_names, s->hs_flags);
  json_end (&j);
}

static void
json_ev_reply_hdr (FILE *fp, const struct nbd_reply_hdr *h, int form,
                   int req_type)
{
  struct json j;

  json_begin (&j, fp, "received");
  json_str (&j, "message", form == 0 ? "simple_reply"
            : form == 1 ? "structured_chunk" : "extended_chunk");
  json_u64 (&j, "magic", h->magic);
  json_u64 (&j, "cookie", h->cookie);
  json_bool (&j, "in_flight", req_type >= 0);
  if (req_type >= 0)
    json_str (&j, "command_name",
              nbd_name_of (nbd_cmd_names, (uint32_t) req_type));
  if (form == 0) {
    json_u64 (&j, "error", h->error);
    json_str (&j, "error_name", nbd_name_of (nbd_error_names, h->error));
  }
  else {
    json_flags (&j, "flags", nbd_reply_flag_names, h->flags);
    json_u64 (&j, "type", h->type);
    json_str (&j, "type_name", nbd_name_of (nbd_reply_type_names, h->type));
    json_u64 (&j, "length", h->length);
    if (form == 2)
      json_u64 (&j, "offset", h->offset);
  }
  json_end (&j);
}

static void
json_ev_block_status (FILE *fp, uint32_t ctx_id, const char *ctx_name,
                      const uint8_t *p, bool ext, size_t n)
{
  struct json j;
  uint64_t len, fl;
  size_t i;

  json_begin (&j, fp, "block_status");
  json_u64 (&j, "context_id", ctx_id);
  json_str (&j, "context", ctx_name);
  json_key (&j, "extents");
  fputc ('[', fp);
  for (i = 0; i < n; i++) {
    nbd_block_status_extent (p, ext, i, &len, &fl);
    fprintf (fp, "%s{\"length\":%" PRIu64 ",\"flags\":%" PRIu64 "}",
             i ? "," : "", len, fl);
  }
  fputc (']', fp);
  json_end (&j);
}

/* The sink: every event as one JSON object on the sink's stream. */
static void
json_event (void *ctx, const struct session *s, const struct nbd_event *ev)
{
  FILE *fp = ((struct json_sink *) ctx)->fp;
  struct json j;

  switch (ev->type) {
  case EV_CONNECTED:
    json_begin (&j, fp, "connected");
    json_str (&j, "target", ev->u.text);
    json_end (&j);
    break;
  case EV_GREETING:
    json_ev_greeting (fp, s);
    break;
  case EV_CLIENT_FLAGS:
    json_begin (&j, fp, "sent");
    json_str (&j, "message", "client_flags");
    json_flags (&j, "client_flags", nbd_cflag_names, ev->u.client_flags);
    json_end (&j);
    break;
  case EV_SENT_OPTION:
    json_begin (&j, fp, "sent");
    json_str (&j, "message", "option");
    json_u64 (&j, "option", ev->u.option.opt);
    json_str (&j, "option_name", nbd_opt_name (ev->u.option.opt));
    json_u64 (&j, "length", ev->u.option.declared_len);
    json_u64 (&j, "payload_length", ev->u.option.len);
    json_hex (&j, "payload_hex", ev->u.option.payload, ev->u.option.len);
    json_end (&j);
    break;
  case EV_OPT_REPLY: {
    const struct nbd_opt_reply_hdr *h = ev->u.opt_reply.hdr;

    json_begin (&j, fp, "received");
    json_str (&j, "message", "option_reply");
    json_u64 (&j, "option", h->option);
    json_str (&j, "option_name", nbd_opt_name (h->option));
    json_u64 (&j, "type", h->type);
    json_str (&j, "type_name", nbd_rep_name (h->type));
    json_bool (&j, "error", (h->type & NBD_REP_ERR_BIT) != 0);
    json_u64 (&j, "length", h->length);
    json_opt_payload (&j, h->type, ev->u.opt_reply.payload, h->length);
    json_hex (&j, "payload_hex", ev->u.opt_reply.payload, h->length);
    json_end (&j);
    break;
  }
  case EV_EXPORT_NAME_REPLY:
    json_begin (&j, fp, "received");
    json_str (&j, "message", "export_name_reply");
    json_u64 (&j, "size", ev->u.export_name.size);
    json_flags (&j, "transmission_flags", nbd_tflag_names,
                ev->u.export_name.tflags);
    json_u64 (&j, "padding", ev->u.export_name.padding);
    json_end (&j);
    break;
  case EV_SENT_REQUEST:
    json_begin (&j, fp, "sent");
    json_str (&j, "message", "request");
    json_u64 (&j, "command", ev->u.request.type);
    json_str (&j, "command_name",
              nbd_name_of (nbd_cmd_names, ev->u.request.type));
    json_flags (&j, "command_flags", nbd_cmd_flag_names, ev->u.request.flags);
    json_u64 (&j, "cookie", ev->u.request.cookie);
    json_u64 (&j, "offset", ev->u.request.offset);
    json_u64 (&j, "length", ev->u.request.len);
    json_bool (&j, "async", ev->u.request.async);
    json_u64 (&j, "in_flight", ev->u.request.inflight);
    json_end (&j);
    break;
  case EV_REPLY_HDR:
    json_ev_reply_hdr (fp, ev->u.reply.hdr, ev->u.reply.form,
                       ev->u.reply.req_type);
    break;
  case EV_OUT_OF_ORDER:
    json_begin (&j, fp, "out_of_order");
    json_u64 (&j, "cookie", ev->u.order.cookie);
    json_str (&j, "command_name", nbd_name_of (nbd_cmd_names,
                                               ev->u.order.type));
    json_u64 (&j, "earlier_cookie", ev->u.order.earlier_cookie);
    json_str (&j, "earlier_command_name",
              nbd_name_of (nbd_cmd_names, ev->u.order.earlier_type));
    json_end (&j);
    break;
  case EV_REQUEST_DONE:
    json_begin (&j, fp, "request_done");
    json_u64 (&j, "cookie", ev->u.done.cookie);
    json_str (&j, "command_name", nbd_name_of (nbd_cmd_names,
                                               ev->u.done.type));
    json_bool (&j, "error", ev->u.done.error);
    json_u64 (&j, "error_value", ev->u.done.errval);
    json_str (&j, "error_name", ev->u.done.error
              ? nbd_name_of (nbd_error_names, ev->u.done.errval) : NULL);
    json_u64 (&j, "data_bytes", ev->u.done.data_bytes);
    json_u64 (&j, "in_flight", ev->u.done.inflight);
    json_end (&j);
    break;
  case EV_DATA:
    json_begin (&j, fp, "data");
    json_u64 (&j, "offset", ev->u.data.offset);
    json_u64 (&j, "length", ev->u.data.len);
    if (ev->u.data.p)
      json_hex (&j, "data_hex", ev->u.data.p, ev->u.data.shown);
    json_end (&j);
    break;
  case EV_HOLE:
    json_begin (&j, fp, "hole");
    json_u64 (&j, "offset", ev->u.hole.offset);
    json_u64 (&j, "length", ev->u.hole.size);
    json_end (&j);
    break;
  case EV_ERROR_CHUNK: {
    const struct nbd_chunk_error *e = ev->u.error_chunk.e;

    json_begin (&j, fp, "error_chunk");
    json_u64 (&j, "error", e->error);
    json_str (&j, "error_name", nbd_name_of (nbd_error_names, e->error));
    json_bytes (&j, "message", e->msg, e->msg_len);
    if (ev->u.error_chunk.type == NBD_REPLY_TYPE_ERROR_OFFSET)
      json_u64 (&j, "offset", e->offset);
    json_end (&j);
    break;
  }
  case EV_BLOCK_STATUS:
    json_ev_block_status (fp, ev->u.block_status.ctx_id,
                          ev->u.block_status.ctx_name, ev->u.block_status.p,
                          ev->u.block_status.ext, ev->u.block_status.n);
    break;
  case EV_TLS:
    json_begin (&j, fp, "tls");
    json_tls (&j, s);
    json_end (&j);
    break;
  case EV_CLOSED:
    if (ev->u.text) {
      json_begin (&j, fp, "closed");
      json_str (&j, "reason", ev->u.text);
      json_end (&j);
    }
    break;
  case EV_FLAG: {
    char rule[1024];

    snprintf (rule, sizeof rule, "%s; spec: %s", ev->u.flag.def->rule,
              ev->u.flag.def->section);
    fflush (stdout);
    json_begin (&j, fp, "flag");
    json_str (&j, "id", ev->u.flag.def->id);
    json_str (&j, "evidence", ev->u.flag.evidence);
    json_str (&j, "rule", rule);
    json_str (&j, "level", flag_level_name (ev->u.flag.def->level));
    json_u64 (&j, "epoch", s->epoch);
    json_end (&j);
    break;
  }
  case EV_NOTE:
    json_begin (&j, fp, "note");
    json_str (&j, "message", ev->u.text);
    json_end (&j);
    break;
  case EV_ERROR:
    fflush (stdout);
    json_error_line (fp, NULL, ev->u.error.message,
                     nbd_err_name (ev->u.error.kind));
    break;
  case EV_WIRE:
  case EV_BYTES:                /* the captures' */
  case EV_SECRET:               /* never shown */
    break;
  }
}

struct nbd_sink
json_sink (struct json_sink *js, FILE *fp)
{
  js->fp = fp;
  return (struct nbd_sink) { .event = json_event, .ctx = js };
}

void
json_string (FILE *fp, const char *v)
{
  if (v)
    json_raw_str (fp, (const uint8_t *) v, strlen (v));
  else
    fputs ("null", fp);
}

void
json_output_line (FILE *fp, const char *cmd, const char *text, size_t len)
{
  struct json j;

  json_begin (&j, fp, "output");
  json_str (&j, "command", cmd);
  json_bytes (&j, "text", (const uint8_t *) text, len);
  json_end (&j);
}
