/* nbdcli - transmission phase: one request at a time, every reply form
 * decoded (simple, structured, extended) and checked against what was
 * negotiated in this TLS epoch.
 * Copyright the nbdcli authors, MIT licence.
 */
#include <config.h>

#include <errno.h>
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

#define PIECE (64 * 1024)
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

struct range {
  uint64_t start, end;
};

struct rstate {
  const struct xreq *r;
  struct xresult *res;
  struct range *ranges;         /* content and hole chunks seen */
  size_t nranges, ranges_cap;
  bool overlap_flagged;
  uint32_t *ctx_seen;
  size_t nctx_seen;
  uint64_t covered;
  size_t nchunks;
  bool dup_flagged;
};

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

/* Writes read data to the user's file at its place in the request. */
static int
sink (struct session *s, const struct xreq *r, uint64_t offset,
      const uint8_t *p, size_t n)
{
  int fd;
  off_t pos;

  if (!r->out)
    return 0;
  fd = fileno (r->out);
  pos = (off_t) (r->out_base + (offset - r->offset));
  while (n > 0) {
    ssize_t w = pwrite (fd, p, n, pos);
    if (w == -1 && errno == ESPIPE)
      w = write (fd, p, n);     /* a pipe: in order */
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
sink_zeroes (struct session *s, const struct xreq *r, uint64_t offset,
             uint64_t n)
{
  static const uint8_t z[PIECE];

  while (n > 0) {
    size_t k = n > PIECE ? PIECE : n;
    if (sink (s, r, offset, z, k) == -1)
      return -1;
    offset += k;
    n -= k;
  }
  return 0;
}

/* Reads LEN bytes of data at OFFSET, showing the first ones and sending
 * all to the sink, in bounded pieces.
 */
static int
read_data (struct session *s, struct rstate *st, uint64_t offset,
           uint64_t len, bool inside)
{
  uint8_t *buf = xmalloc (len < PIECE ? len : PIECE);
  uint64_t done = 0;
  enum io_status io;

  while (done < len) {
    size_t k = len - done > PIECE ? PIECE : len - done;
    io = session_rd (s, buf, k);
    if (io != IO_OK) {
      free (buf);
      return session_io_failed (s, io, "read data");
    }
    if (done == 0 && !st->r->out)
      ev_data (s, offset, buf, k < SHOWN ? k : SHOWN, len);
    /* Only data within the request goes to the user's file. */
    if (inside && sink (s, st->r, offset + done, buf, k) == -1) {
      free (buf);
      return -1;
    }
    done += k;
  }
  if (len == 0 && !st->r->out)
    ev_data (s, offset, (const uint8_t *) "", 0, 0);
  else if (st->r->out)
    ev_data (s, offset, NULL, 0, len);
  st->res->data_bytes += len;
  free (buf);
  return 0;
}

/* Content chunks must lie in the request and not overlap. */
static bool
place (struct session *s, struct rstate *st, uint64_t off, uint64_t len,
       const char *what)
{
  const struct xreq *r = st->r;
  size_t i;

  if (off < r->offset || off - r->offset > r->length
      || len > r->length - (off - r->offset)) {
    ev_flag (s, F_CHUNK_OUTSIDE_REQUEST,
             "%s at offset %" PRIu64 " length %" PRIu64 " is outside the "
             "request (offset %" PRIu64 " length %" PRIu64 ")", what, off,
             len, r->offset, r->length);
    return false;
  }
  /* Overlaps are looked for among a bounded number of chunks. */
  for (i = 0; i < st->nranges && i < 4096 && !st->overlap_flagged; i++)
    if (off < st->ranges[i].end && st->ranges[i].start < off + len) {
      ev_flag (s, F_CHUNK_OVERLAP,
               "%s at offset %" PRIu64 " length %" PRIu64 " overlaps an "
               "earlier chunk (%" PRIu64 "-%" PRIu64 ")", what, off, len,
               st->ranges[i].start, st->ranges[i].end);
      st->overlap_flagged = true;
    }
  if (st->nranges < 100000) {
    if (st->nranges == st->ranges_cap) {
      st->ranges_cap = st->ranges_cap ? st->ranges_cap * 2 : 16;
      st->ranges = xrealloc (st->ranges, st->ranges_cap * sizeof *st->ranges);
    }
    st->ranges[st->nranges].start = off;
    st->ranges[st->nranges].end = off + len;
    st->nranges++;
  }
  st->covered += len;
  return true;
}

/* Records that a block status chunk came for context ID. */
static void
saw_context (struct session *s, struct rstate *st, uint32_t id)
{
  size_t i;

  for (i = 0; i < st->nctx_seen; i++)
    if (st->ctx_seen[i] == id) {
      if (!st->dup_flagged)
        ev_flag (s, F_BLOCK_STATUS_DUPLICATE_CONTEXT,
                 "a second block status chunk for context id %" PRIu32, id);
      st->dup_flagged = true;
      return;
    }
  if (st->nctx_seen >= 1000)
    return;
  st->ctx_seen = xrealloc (st->ctx_seen,
                          (st->nctx_seen + 1) * sizeof (uint32_t));
  st->ctx_seen[st->nctx_seen++] = id;
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

static uint64_t
status_length (const struct xreq *r)
{
  return status_filtered (r) ? get_u64 (r->payload) : r->length;
}

static bool
status_asked (const struct xreq *r, uint32_t id)
{
  size_t i;

  if (!status_filtered (r))
    return true;
  for (i = 8; i < r->payload_len; i += 4)
    if (get_u32 (r->payload + i) == id)
      return true;
  return false;
}

static void
check_block_status (struct session *s, struct rstate *st, const uint8_t *p,
                    uint32_t id, size_t n, bool ext)
{
  const struct xreq *r = st->r;
  const struct meta_ctx *c = nego_find_ctx (&s->cur, id);
  uint64_t sum = 0, len, fl, want = status_length (r);
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
  if ((r->flags & NBD_CMD_FLAG_REQ_ONE) && n != 1)
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
        && r->offset + sum + len != s->cur.size) {
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
    if ((r->flags & NBD_CMD_FLAG_REQ_ONE) && len > want) {
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
 * request, then reads its offset and streams its data.
 */
static int
read_data_chunk (struct session *s, struct rstate *st, uint8_t *h,
                 size_t hl, const struct nbd_reply_hdr *hdr, bool ext)
{
  const struct xreq *r = st->r;
  enum io_status io;
  uint8_t ob[8];
  uint64_t off, dlen;

  if (r->type != NBD_CMD_READ)
    ev_flag (s, F_CHUNK_TYPE_FOR_COMMAND, "OFFSET_DATA chunk for %s",
             cmd_name (r->type));
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
  if (hdr->length - 8 > r->length
      && hdr->length - 8 > session_max_payload (s)) {
    ev_flag (s, F_CHUNK_OUTSIDE_REQUEST,
             "OFFSET_DATA chunk of %" PRIu64 " bytes for a %" PRIu64
             "-byte read", hdr->length, r->length);
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
  return read_data (s, st, off, dlen, place (s, st, off, dlen,
                                             "OFFSET_DATA"));
}

/* Judges a chunk other than OFFSET_DATA, whose payload P was read whole.
 * Returns 0, or -1 when writing the read data failed.
 */
static int
judge_small_chunk (struct session *s, struct rstate *st,
                   const struct nbd_reply_hdr *hdr, const uint8_t *p,
                   bool done)
{
  const struct xreq *r = st->r;
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

    if (r->type != NBD_CMD_READ)
      ev_flag (s, F_CHUNK_TYPE_FOR_COMMAND, "OFFSET_HOLE chunk for %s",
               cmd_name (r->type));
    if (r->flags & NBD_CMD_FLAG_DF)
      ev_flag (s, F_HOLE_WITH_DF, "OFFSET_HOLE chunk for a DF read");
    bad = nbd_decode_offset_hole (p, hdr->length, &off, &size);
    if (bad) {
      ev_flag (s, F_CHUNK_LENGTH, "%s", bad);
      break;
    }
    ev_hole (s, off, size);
    if (place (s, st, off, size, "OFFSET_HOLE")
        && sink_zeroes (s, r, off, size) == -1)
      return -1;
    break;
  }
  case NBD_REPLY_TYPE_BLOCK_STATUS:
  case NBD_REPLY_TYPE_BLOCK_STATUS_EXT: {
    bool bext = hdr->type == NBD_REPLY_TYPE_BLOCK_STATUS_EXT;
    uint32_t id;
    size_t n;

    if (r->type != NBD_CMD_BLOCK_STATUS)
      ev_flag (s, F_CHUNK_TYPE_FOR_COMMAND,
               "block status chunk for %s", cmd_name (r->type));
    bad = nbd_decode_block_status (p, hdr->length, bext, &id, &n);
    if (hdr->length >= 4)
      saw_context (s, st, get_u32 (p));
    if (bad) {
      ev_flag (s, strstr (bad, "no extents") ? F_BLOCK_STATUS_NO_EXTENTS
               : F_CHUNK_LENGTH, "%s", bad);
      break;
    }
    if (!status_asked (r, id))
      ev_flag (s, F_BLOCK_STATUS_UNASKED_CONTEXT, "block status for context "
               "id %" PRIu32 ", which the request's payload did not name",
               id);
    if (st->res->nstatus < 8)
      st->res->status_ctx[st->res->nstatus] = id;
    st->res->nstatus++;
    check_block_status (s, st, p, id, n, bext);
    break;
  }
  case NBD_REPLY_TYPE_ERROR:
  case NBD_REPLY_TYPE_ERROR_OFFSET: {
    struct nbd_chunk_error e;

    st->res->error = true;
    bad = nbd_decode_chunk_error (hdr->type, p, hdr->length, &e);
    if (bad) {
      ev_flag (s, F_CHUNK_LENGTH, "%s", bad);
      break;
    }
    ev_error_chunk (s, hdr->type, &e);
    st->res->errval = e.error;
    if (e.error == 0)
      ev_flag (s, F_ERROR_VALUE_ZERO, "error chunk with error 0");
    check_errval (s, e.error, "the error chunk");
    if (hdr->type == NBD_REPLY_TYPE_ERROR_OFFSET
        && (e.offset < r->offset || e.offset >= r->offset + r->length))
      ev_flag (s, F_CHUNK_OUTSIDE_REQUEST,
               "error offset %" PRIu64 " outside the request", e.offset);
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
      st->res->error = true;
      ev_note (s, "unknown error chunk type 0x%04x: the request failed",
               hdr->type);
    }
    else
      ev_flag (s, F_CHUNK_TYPE_UNKNOWN, "chunk type %u", hdr->type);
  }
  }
  return 0;
}

/* One structured or extended chunk: its header and the checks every
 * chunk gets, then its payload by type.
 */
static int
read_chunk (struct session *s, struct rstate *st, const uint8_t *first4,
            bool ext, bool *done)
{
  uint8_t h[40];
  size_t hl = ext ? 32 : 20;
  struct nbd_reply_hdr hdr;
  const struct xreq *r = st->r;
  enum io_status io;
  uint8_t small[256], *frame;
  int ret;

  memcpy (h, first4, 4);
  io = session_rd (s, h + 4, hl - 4);
  if (io != IO_OK)
    return session_io_failed (s, io, "reply chunk header");
  if (ext)
    nbd_decode_extended_hdr (h, &hdr);
  else
    nbd_decode_structured_hdr (h, &hdr);
  ev_reply_hdr (s, &hdr, ext ? 2 : 1);
  *done = hdr.flags & NBD_REPLY_FLAG_DONE;

  if (hdr.cookie != s->next_cookie - 1)
    ev_flag (s, F_COOKIE_MISMATCH, "chunk cookie %" PRIu64 ", request "
             "cookie %" PRIu64, hdr.cookie, s->next_cookie - 1);
  if (ext && hdr.offset != r->offset)
    ev_flag (s, F_EXTENDED_OFFSET_ECHO,
             "chunk offset %" PRIu64 ", request offset %" PRIu64,
             hdr.offset, r->offset);
  if (hdr.flags & ~NBD_REPLY_FLAG_DONE)
    ev_flag (s, F_REPLY_FLAGS_UNKNOWN, "chunk flags 0x%04x", hdr.flags);

  if (hdr.type == NBD_REPLY_TYPE_OFFSET_DATA)
    return read_data_chunk (s, st, h, hl, &hdr, ext);

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
    ret = judge_small_chunk (s, st, &hdr, frame + hl, *done);
  }
  if (frame != small)
    free (frame);
  return ret;
}

static int
read_simple (struct session *s, struct rstate *st, const uint8_t *first4)
{
  uint8_t h[16];
  struct nbd_reply_hdr hdr;
  const struct xreq *r = st->r;
  enum io_status io;

  memcpy (h, first4, 4);
  io = session_rd (s, h + 4, 12);
  if (io != IO_OK)
    return session_io_failed (s, io, "simple reply");
  nbd_decode_simple_reply (h, &hdr);
  ev_reply_hdr (s, &hdr, 0);
  ev_wire (s, false, WIRE_SIMPLE_REPLY, h, 16,
           16 + (get_u32 (h + 4) == 0 && r->type == NBD_CMD_READ
                 ? r->length : 0));
  if (hdr.cookie != s->next_cookie - 1)
    ev_flag (s, F_COOKIE_MISMATCH, "reply cookie %" PRIu64 ", request cookie %" PRIu64,
             hdr.cookie, s->next_cookie - 1);
  if (s->cur.eh)
    ev_flag (s, F_SIMPLE_REPLY_WITH_EH, "a simple reply to %s",
             cmd_name (r->type));
  else if (s->cur.sr && r->type == NBD_CMD_READ)
    ev_flag (s, F_SIMPLE_REPLY_TO_READ_WITH_SR,
             "a simple reply to NBD_CMD_READ");
  if (hdr.error) {
    st->res->error = true;
    st->res->errval = hdr.error;
    check_errval (s, hdr.error, "the simple reply");
    return 0;
  }
  if (r->type == NBD_CMD_READ) {
    if (r->length > UINT32_MAX) {
      ev_error (s, ERR_FRAMING, "a simple reply cannot carry %" PRIu64 " bytes; the "
                "framing is lost", r->length);
      session_close (s, "framing lost");
      return -1;
    }
    return read_data (s, st, r->offset, r->length, true);
  }
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
  session_close (s, "disconnected (NBD_CMD_DISC)");
  return 0;
}

int
session_request (struct session *s, const struct xreq *r,
                 struct xresult *res)
{
  struct bytes msg = { 0 };
  struct rstate st = { .r = r, .res = res };
  enum io_status io;
  uint64_t cookie = s->next_cookie++;
  int ret = -1;
  bool done = false;

  memset (res, 0, sizeof *res);
  res->form = -1;
  /* Nothing may be waiting before a request goes out: one request at a
   * time, so bytes here are more than the last reply held (a simple
   * reply longer than its request, say).
   */
  if (transport_pending (&s->t) > 0) {
    uint8_t junk[4] = { 0 };
    enum io_status jst = session_rd (s, junk, 4);
    size_t got = jst == IO_OK ? 4 : s->t.got;
    char hex[16] = "";
    size_t i;

    if (jst == IO_EOF)
      return session_io_failed (s, jst, "before sending the request");
    for (i = 0; i < got && i < 4; i++)
      snprintf (hex + 3 * i, 4, "%s%02x", i ? " " : "", junk[i]);
    ev_flag (s, F_UNSOLICITED_DATA,
             "bytes (first %s) arrived when no request was waiting: more "
             "data than the last reply held", hex);
    ev_error (s, ERR_FRAMING, "the framing is lost");
    session_close (s, "framing lost");
    return -1;
  }
  /* The whole reply within the timeout (endless chunks cannot hold us). */
  s->t.deadline_ms = transport_now_ms () + s->cfg.timeout_ms;
  if (s->cur.eh)
    nbd_encode_ext_request (&msg, r->flags, r->type, cookie, r->offset,
                            r->length);
  else
    nbd_encode_request (&msg, r->flags, r->type, cookie, r->offset,
                        (uint32_t) r->length);
  bytes_put (&msg, r->payload, r->payload_len);
  io = session_wr (s, msg.data, msg.len);
  if (io != IO_OK) {
    bytes_free (&msg);
    return session_io_failed (s, io, "sending the request");
  }
  ev_sent_request (s, r->flags, r->type, cookie, r->offset, r->length);
  ev_wire (s, true, WIRE_REQUEST, msg.data, msg.len < 64 ? msg.len : 64,
           msg.len);
  bytes_free (&msg);

  if (r->type == NBD_CMD_DISC)
    return after_disc (s);

  while (!done) {
    uint8_t m[4];
    uint32_t magic;

    if (++st.nchunks > MAX_CHUNKS) {
      ev_error (s, ERR_LIMIT, "more than %d chunks in one reply; giving up", MAX_CHUNKS);
      session_close (s, "too many chunks");
      goto out;
    }
    io = session_rd (s, m, 4);
    if (io != IO_OK) {
      /* Chunks came, but none said DONE. */
      if (st.nchunks > 1 && (io == IO_TIMEOUT || io == IO_EOF))
        ev_flag (s, F_NO_DONE,
                 "%zu chunk(s) arrived without NBD_REPLY_FLAG_DONE, then %s",
                 st.nchunks - 1, io == IO_EOF ? "the server closed"
                 : "nothing within the timeout");
      session_io_failed (s, io, "reply");
      goto out;
    }
    magic = get_u32 (m);
    if (st.nchunks == 1)
      res->form = magic == NBD_SIMPLE_REPLY_MAGIC ? 0
        : magic == NBD_STRUCTURED_REPLY_MAGIC ? 1
        : magic == NBD_EXTENDED_REPLY_MAGIC ? 2 : -1;
    if (magic == NBD_SIMPLE_REPLY_MAGIC && st.nchunks == 1) {
      if (read_simple (s, &st, m) == -1)
        goto out;
      done = true;
    }
    else if (magic == NBD_STRUCTURED_REPLY_MAGIC
             || magic == NBD_EXTENDED_REPLY_MAGIC) {
      bool ext = magic == NBD_EXTENDED_REPLY_MAGIC;
      if (st.nchunks == 1) {
        if (ext && !s->cur.eh)
          ev_flag (s, s->prev.eh ? F_TLS_STATE_KEPT_EH : F_EH_NOT_NEGOTIATED,
                   "an extended reply to %s, but extended headers were not "
                   "negotiated%s", cmd_name (r->type),
                   s->prev.eh ? " since STARTTLS" : "");
        else if (!ext && s->cur.eh)
          ev_flag (s, F_STRUCTURED_REPLY_WITH_EH,
                   "a structured (compact) reply to %s", cmd_name (r->type));
        else if (!ext && !s->cur.sr)
          ev_flag (s, s->prev.sr ? F_TLS_STATE_KEPT_SR : F_SR_NOT_NEGOTIATED,
                   "a structured reply to %s, but structured replies were "
                   "not negotiated%s", cmd_name (r->type),
                   s->prev.sr ? " since STARTTLS" : "");
      }
      if (read_chunk (s, &st, m, ext, &done) == -1)
        goto out;
    }
    else {
      ev_flag (s, F_REPLY_MAGIC,
               "reply magic 0x%08" PRIx32, magic);
      ev_error (s, ERR_FRAMING, "unknown reply magic; the framing is lost");
      session_close (s, "framing lost");
      goto out;
    }
  }

  /* A successful read must be covered completely. */
  if (r->type == NBD_CMD_READ && !res->error && st.nchunks >= 1
      && st.nranges > 0 && st.covered < r->length && !st.overlap_flagged)
    ev_flag (s, F_READ_INCOMPLETE,
             "chunks cover %" PRIu64 " of %" PRIu64 " bytes", st.covered,
             r->length);
  else if (r->type == NBD_CMD_READ && !res->error && st.nranges == 0
           && r->length > 0 && (s->cur.sr || s->cur.eh)
           && st.nchunks >= 1 && res->data_bytes == 0)
    ev_flag (s, F_READ_INCOMPLETE,
             "a successful read of %" PRIu64 " bytes with no content chunk",
             r->length);
  if (r->type == NBD_CMD_BLOCK_STATUS && !res->error) {
    size_t i;
    for (i = 0; i < s->cur.nctx; i++) {
      size_t j;
      bool seen = false;

      if (!status_asked (r, s->cur.ctx[i].id))
        continue;
      for (j = 0; j < st.nctx_seen; j++)
        if (st.ctx_seen[j] == s->cur.ctx[i].id)
          seen = true;
      if (!seen)
        ev_flag (s, F_BLOCK_STATUS_MISSING_CONTEXT,
                 "no block status for context id %" PRIu32 " (%s)",
                 s->cur.ctx[i].id, s->cur.ctx[i].name);
    }
  }
  ret = 0;
 out:
  s->t.deadline_ms = 0;
  free (st.ranges);
  free (st.ctx_seen);
  return ret;
}
