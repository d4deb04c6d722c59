/* nbdcli - transmission phase: one request at a time, every reply form
 * decoded (simple, structured, extended) and checked against what was
 * negotiated in this TLS epoch.
 * Copyright the nbdcli authors, MIT licence.
 */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "events.h"
#include "names.h"
#include "nbd-proto.h"
#include "session.h"
#include "wire.h"
#include "xmit.h"

#define PIECE (256 * 1024)
#define MAX_STATUS_CHUNK (8 + 16 * (UINT64_C (1) << 20))
#define MAX_CHUNKS 1000000
#define SHOWN 256

uint64_t
session_max_payload (const struct session *s)
{
  if (s->cur.have_bs && s->cur.max_block && s->cur.max_block != 0xffffffff)
    return s->cur.max_block;
  return 32 * 1024 * 1024;
}

static const char *
cmd_name (uint16_t t)
{
  return nbd_name_or_unknown (nbd_cmd_names, t);
}

/* ------------------------------------------------------------------ */
/* The table of requests in flight.                                    */

#define MAX_INFLIGHT 1024
#define MAX_SKIP (64 * 1024 * 1024)
#define SCAN_LIMIT (64 * 1024)

struct xwait {
  uint64_t seq;                 /* the request waited for */
  struct xresult *res;
  bool done;
};

static void
entry_free (struct inflight *e)
{
  if (e->own_fd && e->out_fd >= 0)
    close (e->out_fd);
  free (e->ranges);
  free (e->ctx_seen);
  free (e->status_ids);
  free (e);
}

static struct inflight *
find_entry (struct session *s, uint64_t cookie)
{
  size_t i;

  for (i = 0; i < s->nflight; i++)
    if (s->flight[i]->cookie == cookie)
      return s->flight[i];
  return NULL;
}

bool
session_in_flight (const struct session *s, uint64_t cookie)
{
  size_t i;

  for (i = 0; i < s->nflight; i++)
    if (s->flight[i]->cookie == cookie)
      return true;
  return false;
}

static const struct answered *
find_answered (const struct session *s, uint64_t cookie)
{
  unsigned i, n = s->nanswered < 64 ? s->nanswered : 64;

  for (i = 0; i < n; i++) {
    const struct answered *a = &s->answered[(s->nanswered - 1 - i) % 64];
    if (a->cookie == cookie)
      return a;
  }
  return NULL;
}

static void
remove_entry (struct session *s, struct inflight *e)
{
  size_t i;

  for (i = 0; i < s->nflight; i++)
    if (s->flight[i] == e) {
      memmove (&s->flight[i], &s->flight[i + 1],
               (s->nflight - i - 1) * sizeof *s->flight);
      s->nflight--;
      break;
    }
  entry_free (e);
}

void
session_forget_inflight (struct session *s, bool say)
{
  size_t i;

  if (say && s->nflight > 0) {
    char list[256];
    size_t len = 0;

    list[0] = '\0';
    for (i = 0; i < s->nflight && len < sizeof list - 32; i++)
      len += snprintf (list + len, sizeof list - len, "%s%" PRIu64,
                       i ? ", " : "", s->flight[i]->cookie);
    ev_note (s, "%zu request%s in flight never got a complete reply "
             "(cookie%s %s%s)", s->nflight, s->nflight == 1 ? "" : "s",
             s->nflight == 1 ? "" : "s", list,
             i < s->nflight ? ", ..." : "");
  }
  for (i = 0; i < s->nflight; i++)
    entry_free (s->flight[i]);
  free (s->flight);
  s->flight = NULL;
  s->nflight = s->flight_cap = 0;
}

/* ------------------------------------------------------------------ */
/* Checks and data, per request.                                       */

static bool
error_defined (uint32_t e)
{
  return nbd_name_of (nbd_error_names, e) != NULL;
}

static void
check_errval (struct session *s, uint32_t e, const char *where)
{
  if (e != 0 && !error_defined (e))
    ev_flag (s, F_ERROR_VALUE_UNDEFINED,
             "%s carries error %" PRIu32 ", which the spec does not define",
             where, e);
}

/* Writes read data to the request's file or buffer at its place. */
static int
sink (struct session *s, const struct inflight *e, uint64_t offset,
      const uint8_t *p, size_t n)
{
  off_t pos;

  if (e->out_buf) {
    memcpy (e->out_buf + (offset - e->offset), p, n);
    return 0;
  }
  if (e->out_fd < 0)
    return 0;
  pos = (off_t) (e->out_base + (offset - e->offset));
  while (n > 0) {
    ssize_t w = pwrite (e->out_fd, p, n, pos);
    if (w == -1 && errno == ESPIPE)
      w = write (e->out_fd, p, n);     /* a pipe: in order */
    if (w == -1) {
      if (errno == EINTR)
        continue;
      ev_error (s, ERR_LOCAL_IO, "writing read data: %s", strerror (errno));
      return -1;
    }
    p += w;
    n -= w;
    pos += w;
  }
  return 0;
}

static int
sink_zeroes (struct session *s, const struct inflight *e, uint64_t offset,
             uint64_t n)
{
  static const uint8_t z[PIECE];

  while (n > 0) {
    size_t k = n > PIECE ? PIECE : n;
    if (sink (s, e, offset, z, k) == -1)
      return -1;
    offset += k;
    n -= k;
  }
  return 0;
}

static bool
has_output (const struct inflight *e)
{
  return e->out_fd >= 0 || e->out_buf;
}

/* With several requests in flight, the head of each message's data
 * (its first 64 KiB) is kept until the next message: a server that
 * sends one reply inside another's data leaves the stream unframable,
 * and when the next message has no reply magic the head is searched
 * for the header of a reply to another request in flight, which
 * explains it.  Searching only then keeps long transfers fast.
 */
static void
keep_head (struct session *s, const struct inflight *e, int form,
           const uint8_t *p, size_t k, uint64_t len)
{
  struct last_data *d = &s->last_data;

  if (s->nflight < 2)
    return;
  if (!d->head)
    d->head = xmalloc (SCAN_LIMIT);
  d->n = k < SCAN_LIMIT ? k : SCAN_LIMIT;
  memcpy (d->head, p, d->n);
  d->cookie = e->cookie;
  d->type = e->type;
  d->form = form;
  d->len = len;
  d->valid = true;
}

/* The first header in D's head of a reply to a request in flight other
 * than D's own; its position, or -1.
 */
static ssize_t
inner_header (const struct session *s, const struct last_data *d)
{
  size_t i;

  for (i = 0; i + 16 <= d->n; i++) {
    uint32_t m;
    uint64_t c;

    if (d->head[i] != 0x67 && d->head[i] != 0x66 && d->head[i] != 0x6e)
      continue;
    m = get_u32 (d->head + i);
    if (m != NBD_SIMPLE_REPLY_MAGIC && m != NBD_STRUCTURED_REPLY_MAGIC
        && m != NBD_EXTENDED_REPLY_MAGIC)
      continue;
    c = get_u64 (d->head + i + 8);
    if (c != d->cookie && session_in_flight (s, c))
      return (ssize_t) i;
  }
  return -1;
}

/* Moves N bytes of data at OFFSET from the socket straight to the
 * request's file, never through nbdcli's memory (a long read into a
 * file costs a copy less).  0, -1 (reported), or 1 when it cannot be
 * done here (nothing was read).
 */
static int
splice_data (struct session *s, const struct inflight *e, uint64_t offset,
             uint64_t n)
{
  bool local, unsupported;
  enum io_status io;

  s->t.timeout_ms = s->cfg.timeout_ms;
  io = transport_splice_to (&s->t, e->out_fd,
                            (off_t) (e->out_base + (offset - e->offset)),
                            n, &local, &unsupported);
  if (io == IO_OK)
    return 0;
  if (unsupported)
    return 1;
  if (local) {
    ev_error (s, ERR_LOCAL_IO, "writing read data: %s", s->t.err);
    return -1;
  }
  return session_io_failed (s, io, "read data");
}

/* Reads LEN bytes of data at OFFSET, showing the first ones and sending
 * them to the request's output when KEEP, in bounded pieces.  Data for
 * a file bypasses memory (splice_data) unless a capture wants every
 * byte; with other requests in flight its head is read first
 * (keep_head).
 */
static int
read_data (struct session *s, struct inflight *e, int form, uint64_t offset,
           uint64_t len, bool keep)
{
  uint8_t *buf = NULL;
  uint64_t done = 0;
  enum io_status io;
  bool out = has_output (e);
  bool direct = keep && e->out_fd >= 0 && !e->out_buf
    && !s->sink_wants_bytes && !s->t.no_splice;

  while (done < len) {
    size_t k = len - done > PIECE ? PIECE : len - done;

    if (direct && (done > 0 || s->nflight < 2)) {
      int r = splice_data (s, e, offset + done, len - done);

      if (r == -1) {
        free (buf);
        return -1;
      }
      if (r == 0) {
        done = len;
        break;
      }
      direct = false;
    }
    if (direct && k > SCAN_LIMIT)
      k = SCAN_LIMIT;
    if (!buf)
      buf = xmalloc (len < PIECE ? len : PIECE);
    io = session_rd (s, buf, k);
    if (io != IO_OK) {
      free (buf);
      return session_io_failed (s, io, "read data");
    }
    if (done == 0 && (!out || !keep))
      ev_data (s, offset, buf, k < SHOWN ? k : SHOWN, len);
    if (done == 0)
      keep_head (s, e, form, buf, k, len);
    /* Only data within the request goes to the user's file. */
    if (keep && sink (s, e, offset + done, buf, k) == -1) {
      free (buf);
      return -1;
    }
    done += k;
  }
  if (len == 0 && (!out || !keep))
    ev_data (s, offset, (const uint8_t *) "", 0, 0);
  else if (out && keep)
    ev_data (s, offset, NULL, 0, len);
  if (keep)
    e->res.data_bytes += len;
  free (buf);
  return 0;
}

/* Reads and drops N bytes (the payload of a message nbdcli cannot
 * attribute).
 */
static int
skip_bytes (struct session *s, uint64_t n, const char *what)
{
  uint8_t buf[4096];
  enum io_status io;

  while (n > 0) {
    size_t k = n > sizeof buf ? sizeof buf : n;
    io = session_rd (s, buf, k);
    if (io != IO_OK)
      return session_io_failed (s, io, what);
    n -= k;
  }
  return 0;
}

/* Content chunks must lie in the request and not overlap. */
static bool
place (struct session *s, struct inflight *e, uint64_t off, uint64_t len,
       const char *what)
{
  size_t i;

  if (off < e->offset || off - e->offset > e->length
      || len > e->length - (off - e->offset)) {
    ev_flag (s, F_CHUNK_OUTSIDE_REQUEST,
             "%s at offset %" PRIu64 " length %" PRIu64 " is outside the "
             "request (cookie %" PRIu64 ", offset %" PRIu64 " length %"
             PRIu64 ")", what, off, len, e->cookie, e->offset, e->length);
    return false;
  }
  /* Overlaps are looked for among a bounded number of chunks. */
  for (i = 0; i < e->nranges && i < 4096 && !e->overlap_flagged; i++)
    if (off < e->ranges[i].end && e->ranges[i].start < off + len) {
      ev_flag (s, F_CHUNK_OVERLAP,
               "%s at offset %" PRIu64 " length %" PRIu64 " overlaps an "
               "earlier chunk (%" PRIu64 "-%" PRIu64 ") of the reply to "
               "cookie %" PRIu64, what, off, len, e->ranges[i].start,
               e->ranges[i].end, e->cookie);
      e->overlap_flagged = true;
      /* Data already kept for that range is not overwritten. */
      return false;
    }
  if (e->nranges < 100000) {
    if (e->nranges == e->ranges_cap) {
      e->ranges_cap = e->ranges_cap ? e->ranges_cap * 2 : 16;
      e->ranges = xrealloc (e->ranges, e->ranges_cap * sizeof *e->ranges);
    }
    e->ranges[e->nranges].start = off;
    e->ranges[e->nranges].end = off + len;
    e->nranges++;
  }
  e->covered += len;
  return true;
}

/* Records that a block status chunk came for context ID. */
static void
saw_context (struct session *s, struct inflight *e, uint32_t id)
{
  size_t i;

  for (i = 0; i < e->nctx_seen; i++)
    if (e->ctx_seen[i] == id) {
      if (!e->dup_flagged)
        ev_flag (s, F_BLOCK_STATUS_DUPLICATE_CONTEXT,
                 "a second block status chunk for context id %" PRIu32, id);
      e->dup_flagged = true;
      return;
    }
  if (e->nctx_seen >= 1000)
    return;
  e->ctx_seen = xrealloc (e->ctx_seen,
                          (e->nctx_seen + 1) * sizeof (uint32_t));
  e->ctx_seen[e->nctx_seen++] = id;
}

/* A BLOCK_STATUS request with NBD_CMD_FLAG_PAYLOAD_LEN (extended
 * headers) carries its effect length and the context ids it asks about
 * in a payload of 8 + 4n bytes; otherwise the header's length is the
 * effect length and every selected context is asked about.
 */
static bool
status_filtered (const struct xreq *r)
{
  return r->type == NBD_CMD_BLOCK_STATUS
    && (r->flags & NBD_CMD_FLAG_PAYLOAD_LEN) && r->payload
    && r->payload_len >= 8 && (r->payload_len - 8) % 4 == 0;
}

/* Keeps what a filtered BLOCK_STATUS request asked for on its entry. */
static void
keep_status_filter (struct inflight *e, const struct xreq *r)
{
  size_t i;

  if (!status_filtered (r))
    return;
  e->status_filtered = true;
  e->status_length = get_u64 (r->payload);
  e->nstatus_ids = (r->payload_len - 8) / 4;
  e->status_ids = xcalloc (e->nstatus_ids, sizeof *e->status_ids);
  for (i = 0; i < e->nstatus_ids; i++)
    e->status_ids[i] = get_u32 (r->payload + 8 + 4 * i);
}

static uint64_t
status_length (const struct inflight *e)
{
  return e->status_filtered ? e->status_length : e->length;
}

static bool
status_asked (const struct inflight *e, uint32_t id)
{
  size_t i;

  if (!e->status_filtered)
    return true;
  for (i = 0; i < e->nstatus_ids; i++)
    if (e->status_ids[i] == id)
      return true;
  return false;
}

static void
check_block_status (struct session *s, struct inflight *e, const uint8_t *p,
                    uint32_t id, size_t n, bool ext)
{
  const struct meta_ctx *c = nego_find_ctx (&s->cur, id);
  uint64_t sum = 0, len, fl, want = status_length (e);
  bool wide_flagged = false, unaligned_flagged = false;
  size_t i;

  if (!c) {
    if (nego_find_ctx (&s->prev, id) && s->epoch > 0)
      ev_flag (s, F_TLS_STATE_KEPT_META,
               "block status for context id %" PRIu32 " (%s), which was "
               "negotiated before STARTTLS and not since", id,
               nego_find_ctx (&s->prev, id)->name);
    else
      ev_flag (s, F_BLOCK_STATUS_UNKNOWN_CONTEXT,
               "block status for context id %" PRIu32 ", which was never "
               "negotiated", id);
  }

  if (ext != s->cur.eh)
    ev_flag (s, ext ? F_BLOCK_STATUS_EXT_WITHOUT_EH
             : F_BLOCK_STATUS_COMPACT_WITH_EH,
             "a %s chunk, but extended headers are %snegotiated",
             ext ? "BLOCK_STATUS_EXT" : "BLOCK_STATUS",
             s->cur.eh ? "" : "not ");
  if ((e->flags & NBD_CMD_FLAG_REQ_ONE) && n != 1)
    ev_flag (s, F_BLOCK_STATUS_REQ_ONE,
             "%zu extents for context id %" PRIu32 " with REQ_ONE", n, id);
  if (n > (size_t) 1 << 20)
    ev_flag (s, F_BLOCK_STATUS_TOO_MANY_EXTENTS,
             "%zu extents for context id %" PRIu32 " in one chunk", n, id);
  for (i = 0; i < n; i++) {
    nbd_block_status_extent (p, ext, i, &len, &fl);
    if (len == 0) {
      ev_flag (s, F_BLOCK_STATUS_EMPTY_EXTENT,
               "extent %zu of context id %" PRIu32 " has length 0", i, id);
      break;
    }
    /* Contexts of the base: namespace have 32-bit status: in a
     * BLOCK_STATUS_EXT chunk their upper 32 bits are zero.
     */
    if (ext && (fl >> 32) && c && strncmp (c->name, "base:", 5) == 0
        && !wide_flagged) {
      ev_flag (s, F_BLOCK_STATUS_EXT_HIGH_BITS,
               "extent %zu of context id %" PRIu32 " (%s) has status 0x%"
               PRIx64, i, id, c->name, fl);
      wide_flagged = true;
    }
    /* Alignment (a SHOULD since 2025): every extent but one that ends
     * at the end of the export.
     */
    if (s->cur.have_bs && s->cur.min_block > 1 && len % s->cur.min_block
        && !unaligned_flagged
        && e->offset + sum + len != s->cur.size) {
      ev_flag (s, F_BLOCK_STATUS_UNALIGNED,
               "extent %zu of context id %" PRIu32 " is %" PRIu64 " bytes, "
               "not a multiple of the minimum block size %" PRIu32, i, id,
               len, s->cur.min_block);
      unaligned_flagged = true;
    }
    if (i + 1 < n && sum + len >= want) {
      ev_flag (s, F_BLOCK_STATUS_BEYOND_REQUEST,
               "extents 0-%zu of context id %" PRIu32 " already cover %"
               PRIu64 " bytes of a %" PRIu64 "-byte request", i, id,
               sum + len, want);
      break;
    }
    if ((e->flags & NBD_CMD_FLAG_REQ_ONE) && len > want) {
      ev_flag (s, F_BLOCK_STATUS_REQ_ONE,
               "the extent is %" PRIu64 " bytes for a %" PRIu64 "-byte "
               "request", len, want);
      break;
    }
    sum += len;
  }
  ev_block_status (s, id, c ? c->name : NULL, p, ext, n);
}

/* An OFFSET_DATA chunk, after its header: checks its size against the
 * request, then reads its offset and streams its data.  KEEP: the
 * chunk's cookie is the request's (else nothing reaches the output).
 */
static int
read_data_chunk (struct session *s, struct inflight *e, uint8_t *h,
                 size_t hl, const struct nbd_reply_hdr *hdr, bool ext,
                 bool keep)
{
  enum io_status io;
  uint8_t ob[8];
  uint64_t off, dlen;

  if (e->type != NBD_CMD_READ)
    ev_flag (s, F_CHUNK_TYPE_FOR_COMMAND, "OFFSET_DATA chunk for %s",
             cmd_name (e->type));
  if (hdr->length < 9) {
    ev_flag (s, F_CHUNK_LENGTH,
             "OFFSET_DATA chunk of %" PRIu64 " bytes", hdr->length);
    if (hdr->length < 8) {
      ev_error (s, ERR_FRAMING, "cannot decode the chunk; the framing is "
                "lost");
      session_close (s, "framing lost");
      return -1;
    }
  }
  if (hdr->length - 8 > e->length
      && hdr->length - 8 > session_max_payload (s)) {
    ev_flag (s, F_CHUNK_OUTSIDE_REQUEST,
             "OFFSET_DATA chunk of %" PRIu64 " bytes for a %" PRIu64
             "-byte read", hdr->length, e->length);
    ev_error (s, ERR_FRAMING, "refusing to read a data chunk larger than "
              "the request; the framing is lost");
    session_close (s, "framing lost");
    return -1;
  }
  io = session_rd (s, ob, 8);
  if (io != IO_OK)
    return session_io_failed (s, io, "OFFSET_DATA offset");
  memcpy (h + hl, ob, 8);       /* h has room: hl + 8 <= 40 */
  ev_wire (s, false, ext ? WIRE_EXT_CHUNK : WIRE_CHUNK, h, hl + 8,
           hl + hdr->length);
  off = get_u64 (ob);
  dlen = hdr->length - 8;
  if (!keep)
    return read_data (s, e, ext ? 2 : 1, off, dlen, false);
  if (place (s, e, off, dlen, "OFFSET_DATA"))
    return read_data (s, e, ext ? 2 : 1, off, dlen, true);
  /* Outside the request, or over data already kept: shown, counted as
   * received, never written.
   */
  if (read_data (s, e, ext ? 2 : 1, off, dlen, false) == -1)
    return -1;
  e->res.data_bytes += dlen;
  return 0;
}

/* Judges a chunk other than OFFSET_DATA, whose payload P was read whole.
 * Returns 0, or -1 when writing the read data failed.
 */
static int
judge_small_chunk (struct session *s, struct inflight *e,
                   const struct nbd_reply_hdr *hdr, const uint8_t *p,
                   bool done, bool keep)
{
  const char *bad;

  switch (hdr->type) {
  case NBD_REPLY_TYPE_NONE:
    if (hdr->length != 0)
      ev_flag (s, F_CHUNK_LENGTH,
               "NONE chunk of %" PRIu64 " bytes", hdr->length);
    if (!done)
      ev_flag (s, F_NONE_WITHOUT_DONE, "NONE chunk without the DONE flag");
    break;
  case NBD_REPLY_TYPE_OFFSET_HOLE: {
    uint64_t off;
    uint32_t size;

    if (e->type != NBD_CMD_READ)
      ev_flag (s, F_CHUNK_TYPE_FOR_COMMAND, "OFFSET_HOLE chunk for %s",
               cmd_name (e->type));
    if (e->flags & NBD_CMD_FLAG_DF)
      ev_flag (s, F_HOLE_WITH_DF, "OFFSET_HOLE chunk for a DF read");
    bad = nbd_decode_offset_hole (p, hdr->length, &off, &size);
    if (bad) {
      ev_flag (s, F_CHUNK_LENGTH, "%s", bad);
      break;
    }
    ev_hole (s, off, size);
    if (keep && place (s, e, off, size, "OFFSET_HOLE")
        && sink_zeroes (s, e, off, size) == -1)
      return -1;
    break;
  }
  case NBD_REPLY_TYPE_BLOCK_STATUS:
  case NBD_REPLY_TYPE_BLOCK_STATUS_EXT: {
    bool bext = hdr->type == NBD_REPLY_TYPE_BLOCK_STATUS_EXT;
    uint32_t id;
    size_t n;

    if (e->type != NBD_CMD_BLOCK_STATUS)
      ev_flag (s, F_CHUNK_TYPE_FOR_COMMAND,
               "block status chunk for %s", cmd_name (e->type));
    bad = nbd_decode_block_status (p, hdr->length, bext, &id, &n);
    if (hdr->length >= 4)
      saw_context (s, e, get_u32 (p));
    if (bad) {
      ev_flag (s, strstr (bad, "no extents") ? F_BLOCK_STATUS_NO_EXTENTS
               : F_CHUNK_LENGTH, "%s", bad);
      break;
    }
    if (!status_asked (e, id))
      ev_flag (s, F_BLOCK_STATUS_UNASKED_CONTEXT, "block status for context "
               "id %" PRIu32 ", which the request's payload did not name",
               id);
    if (e->res.nstatus < 8)
      e->res.status_ctx[e->res.nstatus] = id;
    e->res.nstatus++;
    check_block_status (s, e, p, id, n, bext);
    break;
  }
  case NBD_REPLY_TYPE_ERROR:
  case NBD_REPLY_TYPE_ERROR_OFFSET: {
    struct nbd_chunk_error ce;

    e->res.error = true;
    bad = nbd_decode_chunk_error (hdr->type, p, hdr->length, &ce);
    if (bad) {
      ev_flag (s, F_CHUNK_LENGTH, "%s", bad);
      break;
    }
    ev_error_chunk (s, hdr->type, &ce);
    e->res.errval = ce.error;
    if (ce.error == 0)
      ev_flag (s, F_ERROR_VALUE_ZERO, "error chunk with error 0");
    check_errval (s, ce.error, "the error chunk");
    if (hdr->type == NBD_REPLY_TYPE_ERROR_OFFSET
        && (ce.offset < e->offset || ce.offset >= e->offset + e->length))
      ev_flag (s, F_CHUNK_OUTSIDE_REQUEST,
               "error offset %" PRIu64 " outside the request", ce.offset);
    break;
  }
  default: {
    /* Unknown types are shown raw: the first bytes in hex. */
    char hex[3 * 32 + 1];
    size_t i, n = hdr->length < 32 ? hdr->length : 32;

    for (i = 0; i < n; i++)
      snprintf (hex + 3 * i, 4, "%s%02x", i ? " " : "", p[i]);
    hex[n ? 3 * n - 1 : 0] = '\0';
    ev_note (s, "raw payload (%" PRIu64 " bytes): %s%s", hdr->length, hex,
             hdr->length > n ? " ..." : "");
    if (hdr->type & 0x8000) {
      e->res.error = true;
      ev_note (s, "unknown error chunk type 0x%04x: the request failed",
               hdr->type);
    }
    else
      ev_flag (s, F_CHUNK_TYPE_UNKNOWN, "chunk type %u", hdr->type);
  }
  }
  return 0;
}

/* ------------------------------------------------------------------ */
/* Replies: read one message, find its request, judge it.              */

/* The end of a request's reply: the checks that need all of it, then
 * it leaves the table.
 */
static void
finish_entry (struct session *s, struct inflight *e)
{
  struct answered *a;

  /* A successful read must be covered completely. */
  if (e->type == NBD_CMD_READ && !e->res.error && !e->res.foreign
      && e->nranges > 0 && e->covered < e->length && !e->overlap_flagged)
    ev_flag (s, F_READ_INCOMPLETE,
             "chunks cover %" PRIu64 " of %" PRIu64 " bytes", e->covered,
             e->length);
  else if (e->type == NBD_CMD_READ && !e->res.error && !e->res.foreign
           && e->nranges == 0 && e->length > 0 && (s->cur.sr || s->cur.eh)
           && e->nchunks >= 1 && e->res.data_bytes == 0)
    ev_flag (s, F_READ_INCOMPLETE,
             "a successful read of %" PRIu64 " bytes with no content chunk",
             e->length);
  if (e->type == NBD_CMD_BLOCK_STATUS && !e->res.error) {
    size_t i;
    for (i = 0; i < s->cur.nctx; i++) {
      size_t j;
      bool seen = false;

      if (!status_asked (e, s->cur.ctx[i].id))
        continue;
      for (j = 0; j < e->nctx_seen; j++)
        if (e->ctx_seen[j] == s->cur.ctx[i].id)
          seen = true;
      if (!seen)
        ev_flag (s, F_BLOCK_STATUS_MISSING_CONTEXT,
                 "no block status for context id %" PRIu32 " (%s)",
                 s->cur.ctx[i].id, s->cur.ctx[i].name);
    }
  }
  a = &s->answered[s->nanswered++ % 64];
  a->cookie = e->cookie;
  a->type = e->type;
  a->length = e->length;
  e->res.complete = true;
  if (e->result_out)
    *e->result_out = e->res;
  if (s->wait && s->wait->seq == e->seq) {
    if (s->wait->res)
      *s->wait->res = e->res;
    s->wait->done = true;
  }
  {
    uint64_t cookie = e->cookie, bytes = e->res.data_bytes;
    uint16_t type = e->type;
    bool async = e->async, err = e->res.error;
    uint32_t errval = e->res.errval;

    remove_entry (s, e);
    if (async)
      ev_request_done (s, cookie, type, err, errval, bytes, s->nflight);
  }
}

/* The first part of a reply: out of order?  interleaved? */
static void
first_part (struct session *s, struct inflight *e, int form)
{
  size_t i;

  e->res.form = form;
  for (i = 0; i < s->nflight && s->flight[i] != e; i++)
    if (!s->flight[i]->answered) {
      ev_out_of_order (s, e->cookie, e->type, s->flight[i]->cookie,
                       s->flight[i]->type);
      break;
    }
  e->answered = true;
}

/* One request in flight, waited for (not sent with --async), nothing
 * of its reply seen yet: a reply with another cookie can only be meant
 * for it (it is flagged, and its data not kept).
 */
static bool
sole_sync (const struct session *s)
{
  return s->nflight == 1 && !s->flight[0]->answered && !s->flight[0]->async;
}

/* Whom a message with COOKIE is for.  *KEEP is false when it is taken
 * for the only request in flight although its cookie is another: its
 * data then never reaches the output.  NULL: nobody's (flagged).
 */
static struct inflight *
route (struct session *s, uint64_t cookie, bool *keep,
       const struct answered **was)
{
  struct inflight *e = find_entry (s, cookie);

  *keep = true;
  *was = NULL;
  if (e)
    return e;
  *was = find_answered (s, cookie);
  if (*was) {
    ev_flag (s, F_REPLY_AFTER_FINAL,
             "a reply with cookie %" PRIu64 " arrived after the final reply "
             "to that cookie (%s)", cookie, cmd_name ((*was)->type));
    return NULL;
  }
  if (sole_sync (s)) {
    e = s->flight[0];
    ev_flag (s, F_COOKIE_MISMATCH,
             "reply cookie %" PRIu64 ", request cookie %" PRIu64 " (the "
             "only request in flight: taken as its reply, its data not "
             "kept)", cookie, e->cookie);
    *keep = false;
    e->res.foreign = true;
    return e;
  }
  if (s->nflight == 0)
    ev_flag (s, F_COOKIE_MISMATCH,
             "a reply with cookie %" PRIu64 " arrived when no request was in "
             "flight", cookie);
  else
    ev_flag (s, F_COOKIE_MISMATCH,
             "a reply with cookie %" PRIu64 ", which is not in flight (%zu "
             "request%s in flight, oldest cookie %" PRIu64 ")", cookie,
             s->nflight, s->nflight == 1 ? "" : "s", s->flight[0]->cookie);
  return NULL;
}

static bool
tagged (const struct session *s, const struct inflight *e)
{
  return !e || e->async || s->nflight > 1;
}

static int
handle_simple (struct session *s, const uint8_t *first4)
{
  uint8_t h[16];
  struct nbd_reply_hdr hdr;
  struct inflight *e;
  const struct answered *was;
  enum io_status io;
  bool keep;

  memcpy (h, first4, 4);
  io = session_rd (s, h + 4, 12);
  if (io != IO_OK)
    return session_io_failed (s, io, "simple reply");
  nbd_decode_simple_reply (h, &hdr);
  e = find_entry (s, hdr.cookie);
  if (!e && sole_sync (s) && !find_answered (s, hdr.cookie))
    ev_reply_hdr (s, &hdr, 0, s->flight[0]->type, false);
  else
    ev_reply_hdr (s, &hdr, 0, e ? e->type : -1, tagged (s, e));
  e = route (s, hdr.cookie, &keep, &was);
  ev_wire (s, false, WIRE_SIMPLE_REPLY, h, 16,
           16 + (hdr.error == 0 && e && e->type == NBD_CMD_READ
                 ? e->length : 0));
  if (!e) {
    uint64_t skip = 0;
    size_t i;

    /* Nobody's reply: its data (if any) cannot be framed unless the
     * length is known.
     */
    if (hdr.error == 0 && was)
      skip = was->type == NBD_CMD_READ ? was->length : 0;
    else if (hdr.error == 0) {
      bool reads = false, same = true;
      for (i = 0; i < s->nflight; i++)
        if (s->flight[i]->type == NBD_CMD_READ && !s->flight[i]->answered) {
          if (reads && s->flight[i]->length != skip)
            same = false;
          reads = true;
          skip = s->flight[i]->length;
        }
      if (reads && !same) {
        ev_error (s, ERR_FRAMING, "a simple reply for cookie %" PRIu64
                  " that is not in flight, with reads of different lengths "
                  "in flight: its data cannot be framed; the framing is lost",
                  hdr.cookie);
        session_close (s, "framing lost");
        return -1;
      }
    }
    if (skip > MAX_SKIP) {
      ev_error (s, ERR_FRAMING, "cannot skip %" PRIu64 " bytes of data of "
                "an unattributed reply; the framing is lost", skip);
      session_close (s, "framing lost");
      return -1;
    }
    if (skip)
      ev_note (s, "its %" PRIu64 " bytes of data (if it carries any) are "
               "read and dropped", skip);
    return skip ? skip_bytes (s, skip, "simple reply data") : 0;
  }
  if (!e->answered)
    first_part (s, e, 0);
  e->nchunks++;
  if (s->cur.eh)
    ev_flag (s, F_SIMPLE_REPLY_WITH_EH, "a simple reply to %s",
             cmd_name (e->type));
  else if (s->cur.sr && e->type == NBD_CMD_READ)
    ev_flag (s, F_SIMPLE_REPLY_TO_READ_WITH_SR,
             "a simple reply to NBD_CMD_READ");
  if (hdr.error) {
    e->res.error = true;
    e->res.errval = hdr.error;
    check_errval (s, hdr.error, "the simple reply");
  }
  else if (e->type == NBD_CMD_READ) {
    if (e->length > UINT32_MAX) {
      ev_error (s, ERR_FRAMING, "a simple reply cannot carry %" PRIu64
                " bytes; the framing is lost", e->length);
      session_close (s, "framing lost");
      return -1;
    }
    if (read_data (s, e, 0, e->offset, e->length, keep) == -1)
      return -1;
  }
  finish_entry (s, e);
  return 0;
}

static int
handle_chunk (struct session *s, const uint8_t *first4, bool ext)
{
  uint8_t h[40];
  size_t hl = ext ? 32 : 20;
  struct nbd_reply_hdr hdr;
  struct inflight *e;
  const struct answered *was;
  enum io_status io;
  uint8_t small[256], *frame;
  bool keep, done;
  int ret;

  memcpy (h, first4, 4);
  io = session_rd (s, h + 4, hl - 4);
  if (io != IO_OK)
    return session_io_failed (s, io, "reply chunk header");
  if (ext)
    nbd_decode_extended_hdr (h, &hdr);
  else
    nbd_decode_structured_hdr (h, &hdr);
  done = hdr.flags & NBD_REPLY_FLAG_DONE;
  e = find_entry (s, hdr.cookie);
  if (!e && sole_sync (s) && !find_answered (s, hdr.cookie))
    ev_reply_hdr (s, &hdr, ext ? 2 : 1, s->flight[0]->type, false);
  else
    ev_reply_hdr (s, &hdr, ext ? 2 : 1, e ? e->type : -1, tagged (s, e));
  e = route (s, hdr.cookie, &keep, &was);

  if (e && !e->answered) {
    if (ext && !s->cur.eh)
      ev_flag (s, s->prev.eh ? F_TLS_STATE_KEPT_EH : F_EH_NOT_NEGOTIATED,
               "an extended reply to %s, but extended headers were not "
               "negotiated%s", cmd_name (e->type),
               s->prev.eh ? " since STARTTLS" : "");
    else if (!ext && s->cur.eh)
      ev_flag (s, F_STRUCTURED_REPLY_WITH_EH,
               "a structured (compact) reply to %s", cmd_name (e->type));
    else if (!ext && !s->cur.sr)
      ev_flag (s, s->prev.sr ? F_TLS_STATE_KEPT_SR : F_SR_NOT_NEGOTIATED,
               "a structured reply to %s, but structured replies were "
               "not negotiated%s", cmd_name (e->type),
               s->prev.sr ? " since STARTTLS" : "");
    first_part (s, e, ext ? 2 : 1);
  }
  else if (e && !e->interleave_noted && s->last_reply_seq != e->seq) {
    /* A chunk of another reply came since this one's last: allowed. */
    size_t i;
    for (i = 0; i < s->nflight; i++)
      if (s->flight[i]->seq == s->last_reply_seq) {
        ev_note (s, "chunks of the replies to cookies %" PRIu64 " and %"
                 PRIu64 " interleave (allowed)", s->flight[i]->cookie,
                 e->cookie);
        e->interleave_noted = true;
        break;
      }
  }
  if (e)
    s->last_reply_seq = e->seq;
  if (e && ext && hdr.offset != e->offset)
    ev_flag (s, F_EXTENDED_OFFSET_ECHO,
             "chunk offset %" PRIu64 ", request offset %" PRIu64
             " (cookie %" PRIu64 ")", hdr.offset, e->offset, e->cookie);
  if (hdr.flags & ~NBD_REPLY_FLAG_DONE)
    ev_flag (s, F_REPLY_FLAGS_UNKNOWN, "chunk flags 0x%04x", hdr.flags);

  if (!e) {
    /* Nobody's chunk: its length frames it; its payload is dropped. */
    if (hdr.length > MAX_SKIP) {
      ev_error (s, ERR_FRAMING, "cannot skip a %" PRIu64 "-byte chunk for "
                "cookie %" PRIu64 "; the framing is lost", hdr.length,
                hdr.cookie);
      session_close (s, "framing lost");
      return -1;
    }
    ev_wire (s, false, ext ? WIRE_EXT_CHUNK : WIRE_CHUNK, h, hl,
             hl + hdr.length);
    if (hdr.length)
      ev_note (s, "its %" PRIu64 " bytes of payload are read and dropped "
               "(nothing reaches an output file)", hdr.length);
    return skip_bytes (s, hdr.length, "reply chunk");
  }
  if (++e->nchunks > MAX_CHUNKS) {
    ev_error (s, ERR_LIMIT, "more than %d chunks in one reply; giving up",
              MAX_CHUNKS);
    session_close (s, "too many chunks");
    return -1;
  }

  if (hdr.type == NBD_REPLY_TYPE_OFFSET_DATA) {
    if (read_data_chunk (s, e, h, hl, &hdr, ext, keep) == -1)
      return -1;
    if (done)
      finish_entry (s, e);
    return 0;
  }

  /* Other chunks are small: read them whole, within a bound. */
  if (hdr.length > MAX_STATUS_CHUNK) {
    if (hdr.type == NBD_REPLY_TYPE_ERROR
        || hdr.type == NBD_REPLY_TYPE_ERROR_OFFSET)
      ev_flag (s, F_CHUNK_LENGTH, "an error chunk of %" PRIu64 " bytes",
               hdr.length);
    ev_error (s, ERR_LIMIT, "a %s chunk of %" PRIu64 " bytes is more than "
              "nbdcli accepts; the framing is lost",
              nbd_name_or_unknown (nbd_reply_type_names, hdr.type),
              hdr.length);
    session_close (s, "chunk too long");
    return -1;
  }
  /* Small chunks (the usual holes, errors and short block status) use
   * a buffer on the stack: an endless stream of them costs no heap.
   */
  frame = hl + hdr.length <= sizeof small ? small
    : xmalloc (hl + hdr.length);
  memcpy (frame, h, hl);
  io = session_rd (s, frame + hl, hdr.length);
  if (io != IO_OK)
    ret = session_io_failed (s, io, "reply chunk");
  else {
    ev_wire (s, false, ext ? WIRE_EXT_CHUNK : WIRE_CHUNK, frame,
             hl + hdr.length, hl + hdr.length);
    ret = judge_small_chunk (s, e, &hdr, frame + hl, done, keep);
  }
  if (frame != small)
    free (frame);
  if (ret == 0 && done)
    finish_entry (s, e);
  return ret;
}

/* A message that starts with no reply magic.  When the last message's
 * data held the header of another reply in flight, that explains it.
 */
static int
bad_magic (struct session *s, const uint8_t *m, const struct last_data *was)
{
  uint32_t magic = get_u32 (m);
  ssize_t pos = was->valid ? inner_header (s, was) : -1;

  if (pos >= 0) {
    uint32_t im = get_u32 (was->head + pos);
    const char *inner = im == NBD_SIMPLE_REPLY_MAGIC
      ? "simple reply" : im == NBD_STRUCTURED_REPLY_MAGIC
      ? "structured reply chunk" : "extended reply chunk";
    ev_flag (s, F_REPLY_INSIDE_REPLY,
             "the %" PRIu64 " bytes of data of the %s to cookie %" PRIu64
             " (%s) hold, %zd bytes in, the header of a %s for "
             "cookie %" PRIu64 ", which is in flight; the next message then "
             "starts with 0x%08" PRIx32 ", no reply magic: the server sent "
             "a reply inside another reply's data, which no client can "
             "frame (the data kept for cookie %" PRIu64 " is wrong)",
             was->len, was->form == 0 ? "simple reply"
             : "OFFSET_DATA chunk", was->cookie,
             cmd_name (was->type), pos, inner,
             get_u64 (was->head + pos + 8), magic, was->cookie);
  }
  else
    ev_flag (s, F_REPLY_MAGIC, "reply magic 0x%08" PRIx32, magic);
  ev_error (s, ERR_FRAMING, "unknown reply magic; the framing is lost");
  session_close (s, "framing lost");
  return -1;
}

int
session_read_reply (struct session *s)
{
  uint8_t m[4];
  uint32_t magic;
  enum io_status io;
  struct last_data was = s->last_data;

  s->last_data.valid = false;
  io = session_rd (s, m, 4);
  if (io != IO_OK) {
    size_t i;

    /* Chunks came for a request, but none said DONE. */
    for (i = 0; i < s->nflight; i++)
      if (s->flight[i]->nchunks > 0 && (io == IO_TIMEOUT || io == IO_EOF)) {
        ev_flag (s, F_NO_DONE,
                 "%zu chunk(s) arrived for cookie %" PRIu64 " without "
                 "NBD_REPLY_FLAG_DONE, then %s", s->flight[i]->nchunks,
                 s->flight[i]->cookie, io == IO_EOF ? "the server closed"
                 : "nothing within the timeout");
        break;
      }
    return session_io_failed (s, io, "reply");
  }
  magic = get_u32 (m);
  if (magic == NBD_SIMPLE_REPLY_MAGIC)
    return handle_simple (s, m);
  if (magic == NBD_STRUCTURED_REPLY_MAGIC
      || magic == NBD_EXTENDED_REPLY_MAGIC)
    return handle_chunk (s, m, magic == NBD_EXTENDED_REPLY_MAGIC);
  return bad_magic (s, m, &was);
}

/* ------------------------------------------------------------------ */
/* Sending and waiting.                                                */

/* Bytes that arrive when nothing is in flight: the end of a reply
 * that was longer than it said, or a reply nobody asked for.
 */
static int
unsolicited (struct session *s)
{
  int n;

  for (n = 0; n < 64 && transport_pending (&s->t) > 0; n++) {
    uint8_t junk[4] = { 0 };
    enum io_status jst = session_rd (s, junk, 4);
    uint32_t magic;

    if (jst != IO_OK)
      return session_io_failed (s, jst, "before sending the request");
    magic = get_u32 (junk);
    if (magic == NBD_SIMPLE_REPLY_MAGIC) {
      if (handle_simple (s, junk) == -1)
        return -1;
      continue;
    }
    if (magic == NBD_STRUCTURED_REPLY_MAGIC
        || magic == NBD_EXTENDED_REPLY_MAGIC) {
      if (handle_chunk (s, junk, magic == NBD_EXTENDED_REPLY_MAGIC) == -1)
        return -1;
      continue;
    }
    ev_flag (s, F_UNSOLICITED_DATA,
             "bytes (first %02x %02x %02x %02x) arrived when no request "
             "was waiting: more data than the last reply held",
             junk[0], junk[1], junk[2], junk[3]);
    ev_error (s, ERR_FRAMING, "the framing is lost");
    session_close (s, "framing lost");
    return -1;
  }
  return 0;
}

int
session_send_request (struct session *s, const struct xreq *r,
                      uint64_t *cookiep)
{
  struct bytes msg = { 0 };
  enum io_status io;
  uint64_t cookie;
  struct inflight *e;

  if (s->nflight == 0 && transport_pending (&s->t) > 0
      && unsolicited (s) == -1)
    return -1;
  if (s->phase != PHASE_TRANSMISSION) {
    ev_error (s, ERR_NOT_CONNECTED, "the connection is closed");
    return -1;
  }
  if (s->nflight >= MAX_INFLIGHT) {
    ev_error (s, ERR_LIMIT, "%d requests are in flight already: wait for "
              "some first", MAX_INFLIGHT);
    return -1;
  }
  if (r->cookie_set) {
    cookie = r->cookie;
    if (session_in_flight (s, cookie))
      ev_note (s, "cookie %" PRIu64 " is in flight already (reused on "
               "purpose): its replies go to the oldest request with it",
               cookie);
  }
  else
    cookie = s->next_cookie++;
  if (s->cur.eh)
    nbd_encode_ext_request (&msg, r->flags, r->type, cookie, r->offset,
                            r->length);
  else
    nbd_encode_request (&msg, r->flags, r->type, cookie, r->offset,
                        (uint32_t) r->length);
  bytes_put (&msg, r->payload, r->payload_len);
  /* The request joins the table before it is sent: a reply cannot
   * come earlier.
   */
  if (r->type != NBD_CMD_DISC) {
    e = xcalloc (1, sizeof *e);
    e->cookie = cookie;
    e->seq = ++s->send_seq;
    e->type = r->type;
    e->flags = r->flags;
    e->offset = r->offset;
    e->length = r->length;
    e->out_fd = -1;
    if (r->out) {
      e->out_fd = fileno (r->out);
      if (r->async) {
        e->out_fd = fcntl (e->out_fd, F_DUPFD_CLOEXEC, 3);
        e->own_fd = e->out_fd >= 0;
      }
    }
    e->out_base = r->out_base;
    e->out_buf = r->out_buf;
    e->async = r->async;
    e->result_out = r->result;
    e->sent_ms = transport_now_ms ();
    keep_status_filter (e, r);
    e->res.form = -1;
    if (s->nflight == s->flight_cap) {
      s->flight_cap = s->flight_cap ? s->flight_cap * 2 : 16;
      s->flight = xrealloc (s->flight, s->flight_cap * sizeof *s->flight);
    }
    s->flight[s->nflight++] = e;
  }
  io = session_wr (s, msg.data, msg.len);
  if (io != IO_OK) {
    bytes_free (&msg);
    return session_io_failed (s, io, "sending the request");
  }
  ev_sent_request (s, r->flags, r->type, cookie, r->offset, r->length,
                   r->async, s->nflight);
  ev_wire (s, true, WIRE_REQUEST, msg.data, msg.len < 64 ? msg.len : 64,
           msg.len);
  bytes_free (&msg);
  if (cookiep)
    *cookiep = cookie;
  return 0;
}

/* After DISC the server closes: anything else is a fault. */
static int
after_disc (struct session *s)
{
  uint8_t b[32];
  enum io_status io;
  int saved = s->cfg.timeout_ms;

  s->cfg.timeout_ms = saved < 2000 ? saved : 2000;
  io = session_rd (s, b, 4);
  s->cfg.timeout_ms = saved;
  if (io == IO_OK)
    ev_flag (s, F_REPLY_TO_DISC,
             "a message arrived after NBD_CMD_DISC (magic 0x%08" PRIx32
             "%s)", get_u32 (b),
             get_u32 (b) == NBD_SIMPLE_REPLY_MAGIC ? ", a simple reply"
             : get_u32 (b) == NBD_STRUCTURED_REPLY_MAGIC
             ? ", a structured reply chunk"
             : get_u32 (b) == NBD_EXTENDED_REPLY_MAGIC
             ? ", an extended reply chunk" : "");
  else if (io == IO_SHORT)
    ev_flag (s, F_REPLY_TO_DISC,
             "%zu byte(s) arrived after NBD_CMD_DISC", s->t.got);
  else if (io == IO_TIMEOUT)
    ev_note (s, "the server did not close the connection within %d s "
             "of NBD_CMD_DISC", s->cfg.timeout_ms < 2000 ? s->cfg.timeout_ms / 1000
             : 2);
  session_hangup (s, "disconnected (NBD_CMD_DISC)");
  return 0;
}

/* Reads replies until the request with sequence number SEQ is done, or
 * (SEQ 0) nothing is in flight.  The whole wait is bounded: each
 * answered request gives the server another timeout's worth of time.
 */
static int
wait_for (struct session *s, uint64_t seq, struct xresult *res)
{
  struct xwait w = { .seq = seq, .res = res };
  struct xwait *outer = s->wait;
  int ret = 0;

  s->wait = &w;
  s->t.deadline_ms = transport_now_ms () + s->cfg.timeout_ms;
  while (seq ? !w.done : s->nflight > 0) {
    size_t before = s->nflight;

    if (s->phase != PHASE_TRANSMISSION) {
      ret = -1;
      break;
    }
    if (session_read_reply (s) == -1) {
      ret = -1;
      break;
    }
    if (s->nflight < before)
      s->t.deadline_ms = transport_now_ms () + s->cfg.timeout_ms;
  }
  s->t.deadline_ms = 0;
  s->wait = outer;
  return ret;
}

int
session_wait (struct session *s, uint64_t cookie, struct xresult *res)
{
  struct inflight *e = find_entry (s, cookie);

  if (!e)
    return -2;
  return wait_for (s, e->seq, res);
}

int
session_wait_all (struct session *s)
{
  return wait_for (s, 0, NULL);
}

int
session_poll (struct session *s)
{
  int n;

  for (n = 0; n < 10000 && s->nflight > 0 && s->phase == PHASE_TRANSMISSION
         && transport_pending (&s->t) > 0; n++) {
    int r;

    s->t.deadline_ms = transport_now_ms () + s->cfg.timeout_ms;
    r = session_read_reply (s);
    s->t.deadline_ms = 0;
    if (r == -1)
      return -1;
  }
  return 0;
}

int
session_request (struct session *s, const struct xreq *r,
                 struct xresult *res)
{
  uint64_t cookie;
  struct xreq sync = *r;

  memset (res, 0, sizeof *res);
  res->form = -1;
  sync.async = false;
  if (session_send_request (s, &sync, &cookie) == -1)
    return -1;
  if (r->type == NBD_CMD_DISC) {
    /* The server finishes what is in flight, then closes. */
    if (s->nflight > 0 && session_wait_all (s) == -1)
      return -1;
    return after_disc (s);
  }
  /* The newest request with this cookie is ours. */
  return wait_for (s, s->send_seq, res);
}

bool
session_judge_multi_conn (struct session *s, const char *other,
                          uint64_t offset, const uint8_t *want,
                          const uint8_t *got, size_t len)
{
  size_t i;

  for (i = 0; i < len && want[i] == got[i]; i++)
    ;
  if (i == len)
    return true;
  if (s->cur.tflags & NBD_FLAG_CAN_MULTI_CONN)
    ev_flag (s, F_MULTI_CONN_NOT_SHARED,
             "NBD_FLAG_CAN_MULTI_CONN is advertised, but after a write of %zu "
             "bytes at offset %" PRIu64 " and a FLUSH on this connection, a "
             "read on %s returns other data (first difference at byte %zu: "
             "0x%02x, written 0x%02x)", len, offset, other, i, got[i],
             want[i]);
  return false;
}
