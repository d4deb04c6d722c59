/* nbdcli - the annotated wire trace: every message as a frame, field by
 * field (offset, size, name, value and meaning), with the raw bytes in
 * `trace hex' mode.  Decoding is bounded by the bytes given.
 * Copyright the nbdcli authors, MIT licence.
 */
#include <config.h>

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "names.h"
#include "nbd-proto.h"
#include "output.h"
#include "sink.h"
#include "session.h"
#include "wire.h"

struct frame {
  FILE *fp;
  bool hex;                     /* `trace hex': the bytes of each field */
  const uint8_t *p;
  size_t len;                   /* bytes available */
  size_t off;                   /* next field */
  bool truncated;
};

/* Prints one field of SIZE bytes at the current offset; VALUE is
 * printed with FMT.  Returns false (printing nothing more) when the
 * field runs past the bytes available.
 */
static bool __attribute__ ((format (printf, 4, 5)))
field (struct frame *f, size_t size, const char *name, const char *fmt, ...)
{
  va_list ap;
  size_t i;

  if (f->truncated)
    return false;
  if (size > f->len - f->off) {
    fprintf (f->fp, "     %5zu %5zu  %-20s (missing: only %zu bytes left)\n",
            f->off, size, name, f->len - f->off);
    f->truncated = true;
    return false;
  }
  fprintf (f->fp, "     %5zu %5zu  %-20s ", f->off, size, name);
  va_start (ap, fmt);
  vfprintf (f->fp, fmt, ap);
  va_end (ap);
  if (f->hex && size > 0) {
    fprintf (f->fp, "\n%*s[", 35, "");
    for (i = 0; i < size && i < 24; i++)
      fprintf (f->fp, "%s%02x", i ? " " : "", f->p[f->off + i]);
    if (size > 24)
      fprintf (f->fp, " ...");
    fprintf (f->fp, "]");
  }
  fprintf (f->fp, "\n");
  f->off += size;
  return true;
}

static uint64_t
u (struct frame *f, size_t size)
{
  const uint8_t *p = f->p + f->off;
  if (f->truncated || size > f->len - f->off)
    return 0;
  switch (size) {
  case 2: return get_u16 (p);
  case 4: return get_u32 (p);
  case 8: return get_u64 (p);
  default: return 0;
  }
}

static bool
fnum (struct frame *f, size_t size, const char *name, const char *meaning)
{
  uint64_t v = u (f, size);
  if (!meaning || !*meaning)
    return field (f, size, name, "%" PRIu64, v);
  return field (f, size, name, "%-20" PRIu64 " %s", v, meaning);
}

static bool
fhex (struct frame *f, size_t size, const char *name, const char *meaning)
{
  uint64_t v = u (f, size);
  return field (f, size, name, "0x%0*" PRIx64 "%s%s", (int) size * 2, v,
                meaning && *meaning ? " " : "", meaning ? meaning : "");
}

static bool
fflags (struct frame *f, size_t size, const char *name,
        const struct nbd_name *tbl)
{
  char buf[512];
  uint64_t v = u (f, size);
  return field (f, size, name, "0x%0*" PRIx64 " %s", (int) size * 2, v,
                nbd_flags_str (tbl, (uint32_t) v, buf, sizeof buf));
}

static bool
fstr (struct frame *f, size_t size, const char *name)
{
  char *q;
  bool r;

  if (size > f->len - f->off || f->truncated)
    return field (f, size, name, "%s", "");
  q = nbd_quote (f->p + f->off, size);
  r = field (f, size, name, "%s", q);
  free (q);
  return r;
}

static bool
fbytes (struct frame *f, size_t size, const char *name, uint64_t total)
{
  size_t i, have = f->len - f->off;

  if (f->truncated)
    return false;
  if (size <= have)
    return field (f, size, name, "%zu bytes", size);
  /* Streamed data: only the first bytes are at hand. */
  fprintf (f->fp, "     %5zu %5" PRIu64 "  %-20s %" PRIu64 " bytes", f->off, total,
          name, total);
  if (f->hex) {
    fprintf (f->fp, "\n%*s[", 35, "");
    for (i = 0; i < have && i < 24; i++)
      fprintf (f->fp, "%s%02x", i ? " " : "", f->p[f->off + i]);
    fprintf (f->fp, " ...]");
  }
  fprintf (f->fp, "\n");
  f->off = f->len;
  return true;
}

static void
option_payload (struct frame *f, uint32_t opt, size_t plen)
{
  size_t end = f->off + plen;
  uint64_t n, k, i;

  switch (opt) {
  case NBD_OPT_EXPORT_NAME:
    fstr (f, plen, "export name");
    return;
  case NBD_OPT_INFO:
  case NBD_OPT_GO:
    n = u (f, 4);
    if (!fnum (f, 4, "export name length", NULL) || n > end - f->off)
      break;
    fstr (f, n, "export name");
    k = u (f, 2);
    if (!fnum (f, 2, "info requests", NULL))
      break;
    for (i = 0; i < k && f->off < end; i++)
      fnum (f, 2, "  info request",
            nbd_name_or_unknown (nbd_info_names, u (f, 2)));
    break;
  case NBD_OPT_LIST_META_CONTEXT:
  case NBD_OPT_SET_META_CONTEXT:
    n = u (f, 4);
    if (!fnum (f, 4, "export name length", NULL) || n > end - f->off)
      break;
    fstr (f, n, "export name");
    k = u (f, 4);
    if (!fnum (f, 4, "queries", NULL))
      break;
    for (i = 0; i < k && f->off + 4 <= end; i++) {
      n = u (f, 4);
      if (!fnum (f, 4, "  query length", NULL) || n > end - f->off)
        break;
      fstr (f, n, "  query");
    }
    break;
  default:
    break;
  }
  if (f->off < end && !f->truncated)
    fbytes (f, end - f->off, "data", end - f->off);
}

static void
reply_payload (struct frame *f, uint32_t type, size_t plen)
{
  size_t end = f->off + plen;
  uint64_t n, t;

  switch (type) {
  case NBD_REP_SERVER:
    n = u (f, 4);
    if (!fnum (f, 4, "export name length", NULL) || n > end - f->off)
      break;
    fstr (f, n, "export name");
    if (f->off < end)
      fstr (f, end - f->off, "description");
    break;
  case NBD_REP_INFO:
    t = u (f, 2);
    if (!fnum (f, 2, "info type", nbd_name_or_unknown (nbd_info_names, t)))
      break;
    if (t == NBD_INFO_EXPORT && plen == 12) {
      fnum (f, 8, "export size", NULL);
      fflags (f, 2, "transmission flags", nbd_tflag_names);
    }
    else if ((t == NBD_INFO_NAME || t == NBD_INFO_DESCRIPTION))
      fstr (f, end - f->off, t == NBD_INFO_NAME ? "name" : "description");
    else if (t == NBD_INFO_BLOCK_SIZE && plen == 14) {
      fnum (f, 4, "minimum block size", NULL);
      fnum (f, 4, "preferred block size", NULL);
      fnum (f, 4, "maximum payload", NULL);
    }
    break;
  case NBD_REP_META_CONTEXT:
    if (!fnum (f, 4, "context id", NULL))
      break;
    fstr (f, end - f->off, "context name");
    break;
  default:
    if (type & NBD_REP_ERR_BIT)
      fstr (f, plen, "error message");
  }
  if (f->off < end && !f->truncated)
    fbytes (f, end - f->off, "data", end - f->off);
}

static void
chunk_payload (struct frame *f, uint16_t type, size_t plen, uint64_t total)
{
  size_t end = f->off + plen;
  uint64_t n, i;

  switch (type) {
  case NBD_REPLY_TYPE_OFFSET_DATA:
    if (fnum (f, 8, "offset", NULL) && total >= 8)
      fbytes (f, total - 8, "data", total - 8);
    return;
  case NBD_REPLY_TYPE_OFFSET_HOLE:
    fnum (f, 8, "offset", NULL);
    fnum (f, 4, "hole size", NULL);
    break;
  case NBD_REPLY_TYPE_BLOCK_STATUS:
  case NBD_REPLY_TYPE_BLOCK_STATUS_EXT: {
    bool ext = type == NBD_REPLY_TYPE_BLOCK_STATUS_EXT;
    size_t d = ext ? 16 : 8;
    fnum (f, 4, "context id", NULL);
    if (ext)
      fnum (f, 4, "descriptors", NULL);
    n = (end - f->off) / d;
    for (i = 0; i < n && i < 8; i++) {
      fnum (f, d / 2, "  extent length", NULL);
      fhex (f, d / 2, "  status flags", NULL);
    }
    if (n > 8) {
      fprintf (f->fp, "     ... %" PRIu64 " more extents\n", n - 8);
      f->off += (n - 8) * d;
    }
    break;
  }
  case NBD_REPLY_TYPE_ERROR:
  case NBD_REPLY_TYPE_ERROR_OFFSET:
    n = u (f, 4);
    fnum (f, 4, "error", nbd_name_or_unknown (nbd_error_names, n));
    n = u (f, 2);
    if (!fnum (f, 2, "message length", NULL) || n > end - f->off)
      break;
    fstr (f, n, "message");
    if (type == NBD_REPLY_TYPE_ERROR_OFFSET)
      fnum (f, 8, "offset", NULL);
    break;
  default:
    break;
  }
  if (f->off < end && !f->truncated)
    fbytes (f, end - f->off, "data", end - f->off);
}

static void
trace_frame (FILE *fp, bool hex, const struct session *s, bool sent,
             enum wire_kind kind, const uint8_t *p, size_t len,
             uint64_t total)
{
  struct frame f = { .fp = fp, .hex = hex, .p = p, .len = len };
  const char *dir = sent ? "C->S" : "S->C";
  const char *layer = s->tls_up ? " [inside TLS]" : "";
  uint64_t v;

  switch (kind) {
  case WIRE_GREETING:
    fprintf (fp, "   %s greeting, %zu bytes%s\n", dir, len, layer);
    fhex (&f, 8, "magic", u (&f, 8) == NBD_MAGIC ? "NBDMAGIC" : "(not NBDMAGIC)");
    v = u (&f, 8);
    fhex (&f, 8, "second magic", v == NBD_NEW_VERSION ? "IHAVEOPT (newstyle)"
          : v == NBD_OLD_VERSION ? "cliserv_magic (oldstyle)" : "unknown");
    if (v == NBD_NEW_VERSION)
      fflags (&f, 2, "handshake flags", nbd_hs_flag_names);
    else if (v == NBD_OLD_VERSION) {
      fnum (&f, 8, "export size", NULL);
      fflags (&f, 4, "flags", nbd_tflag_names);
      fbytes (&f, 124, "reserved (zeroes)", 124);
    }
    break;
  case WIRE_CLIENT_FLAGS:
    fprintf (fp, "   %s client flags, 4 bytes\n", dir);
    fflags (&f, 4, "client flags", nbd_cflag_names);
    break;
  case WIRE_OPTION: {
    uint32_t opt = len >= 12 ? get_u32 (p + 8) : 0;
    fprintf (fp, "   %s option request, %zu bytes%s\n", dir, len, layer);
    fhex (&f, 8, "magic", "IHAVEOPT");
    fnum (&f, 4, "option", nbd_name_or_unknown (nbd_opt_names, opt));
    fnum (&f, 4, "length", "(payload bytes that follow)");
    option_payload (&f, opt, len - f.off);
    break;
  }
  case WIRE_OPT_REPLY: {
    uint32_t type = len >= 16 ? get_u32 (p + 12) : 0;
    fprintf (fp, "   %s option reply, %zu bytes%s\n", dir, len, layer);
    v = u (&f, 8);
    fhex (&f, 8, "magic", v == NBD_OPT_REPLY_MAGIC ? "option reply magic"
          : "(wrong magic)");
    fnum (&f, 4, "option", nbd_name_or_unknown (nbd_opt_names, u (&f, 4)));
    fhex (&f, 4, "reply type", nbd_name_or_unknown (nbd_rep_names, type));
    fnum (&f, 4, "length", NULL);
    reply_payload (&f, type, len - f.off);
    break;
  }
  case WIRE_EXPORT_NAME_REPLY:
    fprintf (fp, "   %s export name reply, %zu bytes%s\n", dir, len, layer);
    fnum (&f, 8, "export size", NULL);
    fflags (&f, 2, "transmission flags", nbd_tflag_names);
    if (len > 10)
      fbytes (&f, len - 10, "padding (zeroes)", len - 10);
    break;
  case WIRE_REQUEST: {
    bool ext = len >= 4 && get_u32 (p) == NBD_EXTENDED_REQUEST_MAGIC;
    size_t hl = ext ? 32 : 28;
    fprintf (fp, "   %s %s request, %" PRIu64 " bytes%s\n", dir,
            ext ? "extended" : "compact", total, layer);
    fhex (&f, 4, "magic", ext ? "NBD_EXTENDED_REQUEST_MAGIC"
          : "NBD_REQUEST_MAGIC");
    fflags (&f, 2, "command flags", nbd_cmd_flag_names);
    fnum (&f, 2, "type", nbd_name_or_unknown (nbd_cmd_names, u (&f, 2)));
    fnum (&f, 8, "cookie", NULL);
    fnum (&f, 8, "offset", NULL);
    fnum (&f, ext ? 8 : 4, "length", NULL);
    if (total > hl)
      fbytes (&f, total - hl, "payload", total - hl);
    break;
  }
  case WIRE_SIMPLE_REPLY:
    fprintf (fp, "   %s simple reply, %" PRIu64 " bytes%s\n", dir, total, layer);
    fhex (&f, 4, "magic", "NBD_SIMPLE_REPLY_MAGIC");
    v = u (&f, 4);
    fnum (&f, 4, "error", v ? nbd_name_or_unknown (nbd_error_names, v) : "ok");
    fnum (&f, 8, "cookie", NULL);
    if (total > 16)
      fbytes (&f, total - 16, "data", total - 16);
    break;
  case WIRE_CHUNK:
  case WIRE_EXT_CHUNK: {
    bool ext = kind == WIRE_EXT_CHUNK;
    size_t hl = ext ? 32 : 20;
    uint16_t type = len >= 8 ? get_u16 (p + 6) : 0;
    fprintf (fp, "   %s %s reply chunk, %" PRIu64 " bytes%s\n", dir,
            ext ? "extended" : "structured", total, layer);
    fhex (&f, 4, "magic", ext ? "NBD_EXTENDED_REPLY_MAGIC"
          : "NBD_STRUCTURED_REPLY_MAGIC");
    fflags (&f, 2, "reply flags", nbd_reply_flag_names);
    fhex (&f, 2, "chunk type", nbd_name_or_unknown (nbd_reply_type_names,
                                                    type));
    fnum (&f, 8, "cookie", NULL);
    if (ext)
      fnum (&f, 8, "offset", "(echo of the request)");
    fnum (&f, ext ? 8 : 4, "length", NULL);
    if (len >= hl)
      chunk_payload (&f, type, len - hl, total - hl);
    break;
  }
  }
}

static void
trace_event (void *ctx, const struct session *s, const struct nbd_event *ev)
{
  const struct trace_sink *t = ctx;

  if (ev->type == EV_WIRE)
    trace_frame (t->fp, t->hex, s, ev->u.wire.sent, ev->u.wire.kind,
                 ev->u.wire.p, ev->u.wire.len, ev->u.wire.total);
}

struct nbd_sink
trace_sink (struct trace_sink *t, FILE *fp, bool hex)
{
  t->fp = fp;
  t->hex = hex;
  return (struct nbd_sink) { .event = trace_event, .ctx = t };
}
