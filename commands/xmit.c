/* nbdcli - transmission commands: read, write, flush, trim, zero, cache,
 * block-status, disc and raw cmd.
 * Copyright the nbdcli authors, MIT licence.
 */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "events.h"
#include "names.h"
#include "nbd-proto.h"
#include "commands.h"
#include "output.h"
#include "wire.h"
#include "xmit.h"

static int
num_arg (struct args *a, int i, uint64_t *v)
{
  if (parse_u64 (a->argv[i], v) == -1)
    return usage_error ("argument %d (\"%s\"): not a number or size (e.g. "
                      "4096, 0x1000, 4k, 1M)", i, a->argv[i]);
  return CMD_OK;
}

/* Command flags from --fua, --df, ... and --flags BITS. */
static int
cmd_flags (struct args *a, uint16_t *flags)
{
  const char *f = arg_opt (a, "--flags");
  uint32_t v;

  *flags = 0;
  if (arg_opt (a, "--fua")) *flags |= NBD_CMD_FLAG_FUA;
  if (arg_opt (a, "--no-hole")) *flags |= NBD_CMD_FLAG_NO_HOLE;
  if (arg_opt (a, "--df")) *flags |= NBD_CMD_FLAG_DF;
  if (arg_opt (a, "--req-one")) *flags |= NBD_CMD_FLAG_REQ_ONE;
  if (arg_opt (a, "--fast-zero")) *flags |= NBD_CMD_FLAG_FAST_ZERO;
  if (f) {
    if (parse_u32 (f, &v) == -1 || v > 0xffff)
      return usage_error ("--flags %s: not a 16-bit number", f);
    *flags |= v;
  }
  return CMD_OK;
}

/* One request: waited for, or with --async (or a trailing `&') sent
 * and left in flight; its replies are shown when they arrive.
 */
static int
run (struct session *s, struct args *a, struct xreq *r)
{
  struct xresult res;

  if (arg_opt (a, "--async")) {
    r->async = true;
    return session_send_request (s, r, NULL) == 0 ? CMD_OK : CMD_FAILED;
  }
  return session_request (s, r, &res) == 0 ? CMD_OK : CMD_FAILED;
}

/* Bounds before bytes: once the export's size is known, a request that
 * ends past it is refused before anything is sent, unless --force asks
 * for it on purpose (a server must answer it with NBD_EINVAL).
 */
static int
check_bounds (struct session *s, struct args *a, uint64_t off, uint64_t len)
{
  uint64_t size = s->cur.size;
  char b1[64];

  if (!s->cur.have_export || arg_opt (a, "--force"))
    return CMD_OK;
  if (off <= size && len <= size - off)
    return CMD_OK;
  return cmd_error ("offset %" PRIu64 " + length %" PRIu64 " ends past the "
                    "end of the export (size %" PRIu64 ", %s): not sent; "
                    "--force sends it anyway, as does `cmd'",
                    off, len, size, human_size (size, b1, sizeof b1));
}

/* A split transfer keeps up to DEPTH requests in flight; replies may
 * come in any order, but each piece knows its place in the file.  An
 * error reply to one piece stops the transfer (what is in flight is
 * still read): the summary says where, and the command fails.  (A
 * single request's error reply is a result, not a failure.)
 */
#define DEPTH_MAX 64
#define DEPTH_DEFAULT 8

struct piece {
  uint64_t cookie, offset, n;
  struct xresult res;
};

struct xfer {
  struct piece q[DEPTH_MAX];
  size_t head, count, depth;
  uint64_t ntotal;
  bool failed;                  /* a piece failed: send no more */
  uint64_t fail_offset, fail_n;
  uint32_t fail_errval;
  bool fail_foreign;
};

static int
xfer_depth (struct session *s, struct args *a, size_t *depth)
{
  const char *v = arg_opt (a, "--inflight");
  uint64_t n;

  *depth = DEPTH_DEFAULT;
  if (v) {
    if (parse_u64 (v, &n) == -1 || n < 1 || n > DEPTH_MAX)
      return usage_error ("--inflight %s: a number from 1 to %d", v,
                          DEPTH_MAX);
    *depth = n;
  }
  return CMD_OK;
}

/* Sends R as piece N; it joins the queue. */
static int
xfer_send (struct session *s, struct xfer *x, struct xreq *r, uint64_t n)
{
  struct piece *p = &x->q[(x->head + x->count) % DEPTH_MAX];

  memset (p, 0, sizeof *p);
  p->offset = r->offset;
  p->n = n;
  r->result = &p->res;
  if (session_send_request (s, r, &p->cookie) == -1)
    return CMD_FAILED;
  x->count++;
  return CMD_OK;
}

/* Waits for the oldest piece in the queue. */
static int
xfer_reap (struct session *s, struct xfer *x)
{
  struct piece *p = &x->q[x->head];

  if (!p->res.complete && session_in_flight (s, p->cookie)
      && session_wait (s, p->cookie, NULL) != 0)
    return CMD_FAILED;
  if (!p->res.complete)
    return CMD_FAILED;          /* the connection is gone (reported) */
  if ((p->res.error || p->res.foreign) && !x->failed) {
    x->failed = true;
    x->fail_offset = p->offset;
    x->fail_n = p->n;
    x->fail_errval = p->res.errval;
    x->fail_foreign = !p->res.error;
  }
  x->head = (x->head + 1) % DEPTH_MAX;
  x->count--;
  return CMD_OK;
}

static int
xfer_summary (const struct xfer *x)
{
  const char *name;

  if (!x->failed || (x->ntotal <= 1 && !x->fail_foreign))
    return CMD_OK;
  if (x->fail_foreign)
    return cmd_error ("stopped at offset %" PRIu64 ": the reply to request %"
                      PRIu64 " of %" PRIu64 " carried another cookie; its "
                      "data was not kept", x->fail_offset, x->fail_n,
                      x->ntotal);
  name = nbd_name_of (nbd_error_names, x->fail_errval);
  if (name)
    return cmd_error ("stopped at offset %" PRIu64 ": request %" PRIu64
                      " of %" PRIu64 " failed with %s", x->fail_offset,
                      x->fail_n, x->ntotal, name);
  return cmd_error ("stopped at offset %" PRIu64 ": request %" PRIu64 " of %"
                    PRIu64 " failed with error %" PRIu32, x->fail_offset,
                    x->fail_n, x->ntotal, x->fail_errval);
}

/* Long reads and writes go in pieces: at most the export's maximum
 * payload, and at most 4 MiB, which keeps both sides' buffers small and
 * the data flowing.  With --single a length above the export's maximum
 * payload is refused (`cmd' sends anything).
 */
#define PIECE_MAX (4 * 1024 * 1024)

static int
check_split (struct session *s, struct args *a, uint64_t len, uint64_t *piece)
{
  uint64_t max = session_max_payload (s);
  char b1[64], b2[64];

  *piece = len;
  if (arg_opt (a, "--single")) {
    if (len > max)
      return cmd_error ("%" PRIu64 " bytes (%s) exceed the export's maximum "
                        "payload of %" PRIu64 " bytes (%s)%s: without "
                        "--single the request is split; `cmd' sends it "
                        "whole anyway", len, human_size (len, b1, sizeof b1),
                        max, human_size (max, b2, sizeof b2),
                        s->cur.have_bs ? "" : ", the spec's default");
    return CMD_OK;
  }
  if (max > PIECE_MAX)
    max = PIECE_MAX;
  if (len > max)
    *piece = max;
  return CMD_OK;
}

/* A split read, shared by the connections that carry it: each takes
 * the next piece not yet sent, so the pieces keep their numbers (and,
 * over several connections, their cookies) whatever connection sends
 * them, and a slow connection takes fewer.
 */
struct read_job {
  uint64_t off, len, piece, ntotal;
  uint16_t flags;
  FILE *out;
  size_t depth;
  bool cookies_set;             /* cookie = cookie_base + piece index */
  uint64_t cookie_base;
  _Atomic uint64_t next;        /* the next piece to send */
  _Atomic bool stop;            /* a piece failed: send no more */
};

struct read_worker {
  struct read_job *j;
  struct session *s;
  struct xfer x;
  int ret;
  pthread_t th;
  bool started;                 /* TH runs it */
};

/* Sends the job's pieces on W's connection, up to its depth in flight,
 * and reads their replies, until the job has none left to send.
 */
static int
read_pieces (struct read_worker *w)
{
  struct read_job *j = w->j;
  struct session *s = w->s;
  struct xfer *x = &w->x;
  struct xreq r = { .type = NBD_CMD_READ, .flags = j->flags, .out = j->out };
  bool more = true;
  int ret = CMD_OK;

  x->depth = j->depth;
  x->ntotal = j->ntotal;
  do {
    while (more && !x->failed && !j->stop && x->count < x->depth
           && s->phase == PHASE_TRANSMISSION) {
      uint64_t i = j->next++, at;

      if (i >= j->ntotal) {
        more = false;
        break;
      }
      at = i * j->piece;
      r.offset = j->off + at;
      r.length = j->len - at < j->piece ? j->len - at : j->piece;
      r.out_base = at;
      r.cookie_set = j->cookies_set;
      r.cookie = j->cookie_base + i;
      if (xfer_send (s, x, &r, i + 1) != CMD_OK) {
        ret = CMD_FAILED;
        break;
      }
    }
    if (ret != CMD_OK || x->count == 0)
      break;
    if (xfer_reap (s, x) != CMD_OK)
      ret = CMD_FAILED;
    if (x->failed)
      j->stop = true;
  } while (ret == CMD_OK);
  if (ret != CMD_OK)
    j->stop = true;
  return ret;
}

static void *
read_thread (void *arg)
{
  struct read_worker *w = arg;

  w->ret = read_pieces (w);
  return NULL;
}

/* Connections for a split read: --connections N (1 to 16), else 4
 * when the read is long (16 pieces or more).  More than one only where
 * the connections surely see the same data: the server advertises
 * NBD_FLAG_CAN_MULTI_CONN, the target is not a server command (a
 * server each), the data goes to a file that can seek (not a pipe, not
 * the screen), and no recording or capture is being made (they follow
 * one connection).  When N was asked for and cannot be had, a note
 * says why.
 */
#define CONNS_MAX 16
#define CONNS_DEFAULT 4
#define CONNS_MIN_PIECES 16
#define CONNS_PIECE (512 * 1024)

static int
read_conns (struct session *s, struct args *a, const struct read_job *j,
            bool seekable, size_t *n)
{
  const char *v = arg_opt (a, "--connections");
  const char *why = NULL;
  uint64_t want;

  *n = 1;
  if (v) {
    if (parse_u64 (v, &want) == -1 || want < 1 || want > CONNS_MAX)
      return usage_error ("--connections %s: a number from 1 to %d", v,
                          CONNS_MAX);
  }
  else if (j->ntotal < CONNS_MIN_PIECES)
    return CMD_OK;
  else
    want = CONNS_DEFAULT;
  if (want == 1)
    return CMD_OK;
  if (!(s->cur.tflags & NBD_FLAG_CAN_MULTI_CONN))
    why = "the server does not advertise NBD_FLAG_CAN_MULTI_CONN";
  else if (s->target.kind == TARGET_CMD)
    why = "the target is a server command, which starts a server for each "
      "connection";
  else if (s->oldstyle || !s->cur.export_name)
    why = "this connection did not negotiate an export by name (oldstyle)";
  else if (!j->out || !seekable)
    why = "the data is not going to a file that can seek";
  else if (display_has_evidence (&shell.disp))
    why = "a recording or capture follows one connection";
  if (why) {
    if (v)
      ev_note (s, "read on one connection: %s", why);
    return CMD_OK;
  }
  if (want > j->ntotal)
    want = j->ntotal;
  *n = (size_t) want;
  return CMD_OK;
}

/* Runs the job on S and on up to N - 1 more connections opened like it,
 * one thread each; the display takes their events one at a time.
 * Connections that cannot be opened quickly (a server that serves a
 * few clients at a time gives the next no greeting) are done without:
 * the first within 2 s, the others within 20 times what it took.
 */
static int
read_split (struct session *s, struct read_job *j, size_t n,
            struct read_worker *w, size_t *nw)
{
  struct locked_sink lk;
  struct nbd_sink saved = s->sink;
  int setup = session_setup_timeout (s);
  size_t i, k = 1;
  int ret = CMD_OK;

  if (setup > 2000)
    setup = 2000;
  j->cookies_set = true;
  j->cookie_base = s->next_cookie;
  ev_note (s, "read: %zu pieces on %zu connections (the server advertises "
           "NBD_FLAG_CAN_MULTI_CONN): this one and %zu opened like it; "
           "cookies %" PRIu64 " to %" PRIu64 " in piece order",
           (size_t) j->ntotal, n, n - 1, j->cookie_base,
           j->cookie_base + j->ntotal - 1);
  w[0].s = s;
  for (i = 1; i < n; i++) {
    int64_t t0 = transport_now_ms ();
    struct session *o = open_like (s, setup);

    if (o && i == 1) {
      /* The next ones may take 20 times as long as this one, at least
       * 100 ms: a server that serves a limited number of clients at a
       * time (qemu-nbd -e N) leaves one over its limit without a
       * greeting, and that wait should be short.
       */
      int64_t took = transport_now_ms () - t0;

      if (took * 20 < setup)
        setup = took * 20 < 100 ? 100 : (int) (took * 20);
    }
    if (!o) {
      ev_note (s, "read: connection %zu of %zu could not be opened: "
               "reading on %zu", i + 1, n, k);
      break;
    }
    w[k++].s = o;
  }
  *nw = k;
  s->sink = locked_sink (&lk, saved);
  for (i = 0; i < k; i++) {
    w[i].j = j;
    w[i].s->sink = s->sink;
  }
  /* A connection whose thread does not start leaves its share to the
   * others (its RET stays CMD_OK).
   */
  for (i = 1; i < k; i++)
    w[i].started = pthread_create (&w[i].th, NULL, read_thread, &w[i]) == 0;
  w[0].ret = read_pieces (&w[0]);
  for (i = 1; i < k; i++)
    if (w[i].started)
      pthread_join (w[i].th, NULL);
  s->sink = saved;
  locked_sink_free (&lk);
  s->next_cookie = j->cookie_base + j->ntotal;
  for (i = 1; i < k; i++) {
    struct session *o = w[i].s;

    o->sink = saved;
    o->next_cookie = s->next_cookie++;  /* its DISC's, unused elsewhere */
    if (o->phase == PHASE_TRANSMISSION)
      session_disconnect (o);
    session_add_flags (s, o);
    session_free (o);
    free (o);
  }
  for (i = 0; i < k; i++)
    if (w[i].ret != CMD_OK)
      ret = CMD_FAILED;
  return ret;
}

/* The failure to report: the one at the lowest offset. */
static int
read_summary (const struct read_worker *w, size_t nw)
{
  const struct xfer *first = &w[0].x;
  size_t i;

  for (i = 1; i < nw; i++)
    if (w[i].x.failed
        && (!first->failed || w[i].x.fail_offset < first->fail_offset))
      first = &w[i].x;
  return xfer_summary (first);
}

static int
do_read (struct session *s, struct args *a)
{
  uint64_t off, len, piece;
  const char *out = arg_opt (a, "--out");
  struct xreq r = { .type = NBD_CMD_READ };
  struct read_job j = { .off = 0 };
  struct read_worker w[CONNS_MAX];
  size_t nconn = 1, nw = 1;
  bool seekable = false;
  FILE *fp = NULL;
  int ret = CMD_OK;

  memset (w, 0, sizeof w);
  if (num_arg (a, 1, &off) || num_arg (a, 2, &len)
      || cmd_flags (a, &r.flags) || xfer_depth (s, a, &j.depth))
    return CMD_USAGE;
  if (check_bounds (s, a, off, len) != CMD_OK
      || check_split (s, a, len, &piece) != CMD_OK)
    return CMD_FAILED;
  if (arg_opt (a, "--async") && len > piece)
    return usage_error ("--async sends one request: %" PRIu64 " bytes "
                        "would be split (at most %" PRIu64 ")", len, piece);
  if (out) {
    fp = fopen (out, "w");
    if (!fp)
      return cmd_error ("%s: %s", out, strerror (errno));
    r.out = fp;
    /* A pipe takes the data in order: one request at a time. */
    seekable = !(lseek (fileno (fp), 0, SEEK_CUR) == -1 && errno == ESPIPE);
    if (!seekable)
      j.depth = 1;
  }
  if (arg_opt (a, "--async")) {
    r.offset = off;
    r.length = len;
    ret = run (s, a, &r);
    if (fp)
      fclose (fp);              /* the engine keeps its own descriptor */
    return ret;
  }
  j.off = off;
  j.len = len;
  j.piece = len == 0 ? 1 : piece;
  j.ntotal = len == 0 ? 1 : (len + piece - 1) / piece;
  j.flags = r.flags;
  j.out = fp;
  if (read_conns (s, a, &j, seekable, &nconn) != CMD_OK) {
    if (fp)
      fclose (fp);
    return CMD_USAGE;
  }
  if (nconn > 1) {
    /* Smaller pieces over several connections: they share the work
     * more evenly, and each piece stays in the CPU's cache on both
     * sides (reading 1 GiB from nbdkit on 4 connections, 512 KiB
     * pieces took about a sixth less time than 4 MiB ones, and 1 MiB or
     * 256 KiB ones no less).
     */
    if (j.piece > CONNS_PIECE) {
      j.piece = CONNS_PIECE;
      j.ntotal = (len + j.piece - 1) / j.piece;
    }
    ret = read_split (s, &j, nconn, w, &nw);
  }
  else {
    w[0].j = &j;
    w[0].s = s;
    ret = read_pieces (&w[0]);
  }
  if (ret == CMD_OK)
    ret = read_summary (w, nw);
  if (fp && fclose (fp) == EOF) {
    cmd_error ("%s: %s", out, strerror (errno));
    ret = CMD_FAILED;
  }
  return ret;
}

/* Reads N bytes from FD (a file or a pipe, in order); returns how many
 * arrived before the end or an error.
 */
static size_t
read_full (int fd, uint8_t *buf, size_t n)
{
  size_t got = 0;

  while (got < n) {
    ssize_t r = read (fd, buf + got, n - got);
    if (r == -1 && errno == EINTR)
      continue;
    if (r <= 0)
      break;
    got += r;
  }
  return got;
}

/* The data to write: hex and quoted words, or --file, or --pattern. */
static int
do_write (struct session *s, struct args *a)
{
  uint64_t off, piece, done = 0, len, n = 0;
  const char *file = arg_opt (a, "--file");
  const char *pat = arg_opt (a, "--pattern");
  const char *lenopt = arg_opt (a, "--length");
  struct bytes data = { 0 };
  struct xreq r = { .type = NBD_CMD_WRITE };
  struct xfer x = { .head = 0 };
  uint8_t *buf = NULL;
  int fd = -1, i, ret = CMD_OK;
  uint32_t patbyte = 0;

  if (num_arg (a, 1, &off) || cmd_flags (a, &r.flags)
      || xfer_depth (s, a, &x.depth))
    return CMD_USAGE;
  if ((file != NULL) + (pat != NULL) + (a->argc > 2) != 1) {
    return usage_error ("give the data as words (hex, or a quoted string), "
                        "--file FILE, or --pattern BYTE --length N");
  }
  if (pat) {
    if (!lenopt || parse_u64 (lenopt, &len) == -1)
      return usage_error ("--pattern needs --length N");
    if (parse_u32 (pat, &patbyte) == -1 || patbyte > 255)
      return usage_error ("--pattern %s: not a byte value", pat);
  }
  else if (file) {
    fd = open (file, O_RDONLY | O_CLOEXEC);
    if (fd == -1)
      return cmd_error ("%s: %s", file, strerror (errno));
    if (lenopt && parse_u64 (lenopt, &len) == -1) {
      close (fd);
      return usage_error ("--length %s: not a number", lenopt);
    }
    if (!lenopt) {
      /* The file's size; a pipe or a device that cannot seek has none. */
      off_t end = lseek (fd, 0, SEEK_END);

      if (end == -1) {
        int e = errno;
        close (fd);
        return cmd_error ("%s: cannot tell its size (%s): give --length N",
                          file, strerror (e));
      }
      len = (uint64_t) end;
    }
  }
  else {
    for (i = 2; i < a->argc; i++) {
      if (a->quoted[i])
        bytes_put (&data, a->argv[i], strlen (a->argv[i]));
      else if (nbd_parse_hex (a->argv[i], &data) == -1) {
        bytes_free (&data);
        return usage_error ("argument %d (\"%s\"): not hex bytes; quote it to "
                          "write it as a string", i, a->argv[i]);
      }
    }
    len = data.len;
  }
  if (check_bounds (s, a, off, len) != CMD_OK
      || check_split (s, a, len, &piece) != CMD_OK) {
    bytes_free (&data);
    if (fd >= 0)
      close (fd);
    return CMD_FAILED;
  }
  if (!data.data && len > 0) {
    buf = xmalloc (piece);
    if (pat)
      memset (buf, patbyte, piece);
  }
  if (s->cur.eh)
    r.flags |= NBD_CMD_FLAG_PAYLOAD_LEN;
  if (arg_opt (a, "--async")) {
    if (len > piece)
      ret = usage_error ("--async sends one request: %" PRIu64 " bytes "
                         "would be split (at most %" PRIu64 ")", len, piece);
    else if (fd >= 0 && read_full (fd, buf, len) != len)
      ret = cmd_error ("%s: short read at 0", file);
    else {
      r.offset = off;
      r.length = len;
      r.payload = data.data ? data.data : buf;
      r.payload_len = len;
      ret = run (s, a, &r);
    }
    goto out;
  }
  x.ntotal = piece ? (len + piece - 1) / piece : 1;
  do {
    while (!x.failed && x.count < x.depth && (done < len || n == 0)
           && s->phase == PHASE_TRANSMISSION) {
      uint64_t k = len - done < piece ? len - done : piece;

      if (fd >= 0 && read_full (fd, buf, k) != k) {
        ret = cmd_error ("%s: short read at %" PRIu64, file, done);
        break;
      }
      r.offset = off + done;
      r.length = k;
      r.payload = data.data ? data.data + done : buf;
      r.payload_len = k;
      if (xfer_send (s, &x, &r, ++n) != CMD_OK) {
        ret = CMD_FAILED;
        break;
      }
      done += k;
    }
    if (x.count == 0)
      break;
    /* After a failure the pieces in flight are still read. */
    if (xfer_reap (s, &x) != CMD_OK) {
      ret = CMD_FAILED;
      break;
    }
  } while (1);
  if (ret == CMD_OK)
    ret = xfer_summary (&x);
 out:
  free (buf);
  bytes_free (&data);
  if (fd >= 0)
    close (fd);
  return ret;
}

static int
simple_cmd (struct session *s, struct args *a, uint16_t type, int nnum)
{
  uint64_t v[2] = { 0, 0 };
  struct xreq r = { .type = type };
  int i;

  for (i = 0; i < nnum; i++)
    if (num_arg (a, i + 1, &v[i]))
      return CMD_USAGE;
  if (cmd_flags (a, &r.flags))
    return CMD_USAGE;
  r.offset = v[0];
  r.length = v[1];
  if (nnum == 2 && check_bounds (s, a, r.offset, r.length) != CMD_OK)
    return CMD_FAILED;
  if (!s->cur.eh && r.length > UINT32_MAX)
    return usage_error ("length %" PRIu64 " does not fit a compact request",
                      r.length);
  return run (s, a, &r);
}

static int do_flush (struct session *s, struct args *a)
{ return simple_cmd (s, a, NBD_CMD_FLUSH, 0); }
static int do_trim (struct session *s, struct args *a)
{ return simple_cmd (s, a, NBD_CMD_TRIM, 2); }
static int do_zero (struct session *s, struct args *a)
{ return simple_cmd (s, a, NBD_CMD_WRITE_ZEROES, 2); }
static int do_cache (struct session *s, struct args *a)
{ return simple_cmd (s, a, NBD_CMD_CACHE, 2); }
static int do_block_status (struct session *s, struct args *a)
{ return simple_cmd (s, a, NBD_CMD_BLOCK_STATUS, 2); }
static int do_disc (struct session *s, struct args *a)
{ return simple_cmd (s, a, NBD_CMD_DISC, 0); }

static int
do_cmd (struct session *s, struct args *a)
{
  uint32_t type;
  uint64_t off, len;
  struct bytes p = { 0 };
  struct xreq r = { 0 };
  int i, ret;

  if (nbd_value_of (nbd_cmd_names, a->argv[1], &type) == -1
      && (parse_u32 (a->argv[1], &type) == -1 || type > 0xffff))
    return usage_error ("argument 1 (\"%s\"): not a command number or "
                      "NBD_CMD_* name", a->argv[1]);
  if (num_arg (a, 2, &off) || num_arg (a, 3, &len) || cmd_flags (a, &r.flags))
    return CMD_USAGE;
  if (arg_opt (a, "--cookie")) {
    if (parse_u64 (arg_opt (a, "--cookie"), &r.cookie) == -1)
      return usage_error ("--cookie %s: not a number",
                          arg_opt (a, "--cookie"));
    r.cookie_set = true;
  }
  for (i = 4; i < a->argc; i++) {
    if (a->quoted[i])
      bytes_put (&p, a->argv[i], strlen (a->argv[i]));
    else if (nbd_parse_hex (a->argv[i], &p) == -1) {
      bytes_free (&p);
      return usage_error ("argument %d (\"%s\"): not hex bytes", i, a->argv[i]);
    }
  }
  r.type = type;
  r.offset = off;
  r.length = len;
  r.payload = p.data;
  r.payload_len = p.len;
  ret = run (s, a, &r);
  bytes_free (&p);
  return ret;
}

/* wait [COOKIE...]: reads replies until those requests (or all) are
 * answered.
 */
static int
do_wait (struct session *s, struct args *a)
{
  int i;

  if (s->nflight == 0 && a->argc == 1) {
    fprintf (a->out, "nothing in flight\n");
    return CMD_OK;
  }
  if (a->argc == 1)
    return session_wait_all (s) == 0 ? CMD_OK : CMD_FAILED;
  for (i = 1; i < a->argc; i++) {
    uint64_t c;

    if (num_arg (a, i, &c))
      return CMD_USAGE;
  }
  for (i = 1; i < a->argc; i++) {
    uint64_t c;
    int r;

    parse_u64 (a->argv[i], &c);
    r = session_wait (s, c, NULL);
    if (r == -2)
      fprintf (a->out, "cookie %" PRIu64 " is not in flight\n", c);
    else if (r != 0)
      return CMD_FAILED;
  }
  return CMD_OK;
}

/* inflight: what is pending, oldest first (replies that have arrived
 * are read and shown first).
 */
static int
do_inflight (struct session *s, struct args *a)
{
  int64_t now = transport_now_ms ();
  size_t i;

  if (s->nflight > 0 && session_poll (s) == -1)
    return CMD_FAILED;
  if (s->nflight == 0) {
    fprintf (a->out, "nothing in flight\n");
    return CMD_OK;
  }
  fprintf (a->out, "%zu request%s in flight:\n", s->nflight,
           s->nflight == 1 ? "" : "s");
  for (i = 0; i < s->nflight; i++) {
    const struct inflight *e = s->flight[i];

    fprintf (a->out, "  cookie %-6" PRIu64 " %-22s offset %-12" PRIu64
             " length %-10" PRIu64 " sent %.1f s ago%s\n", e->cookie,
             nbd_name_or_unknown (nbd_cmd_names, e->type), e->offset,
             e->length, (now - e->sent_ms) / 1000.0,
             e->nchunks ? ", reply begun" : "");
  }
  return CMD_OK;
}

const struct command xmit_commands[] = {
  {
    .name = "read",
    .args = "OFFSET LENGTH [--df] [--fua] [--out FILE] [--single] "
            "[--inflight N] [--connections N] [--async] [--flags BITS]",
    .summary = "read from the export (NBD_CMD_READ)",
    .help = "Shows every reply part: a simple reply with its data, or structured\n"
            "chunks (OFFSET_DATA, OFFSET_HOLE, errors).  Data is shown as a hexdump\n"
            "of its first 256 bytes, or written to FILE with --out.  OFFSET and\n"
            "LENGTH take sizes like 4k, 1M or 0x1000.  A LENGTH above the export's\n"
            "maximum payload (NBD_INFO_BLOCK_SIZE, else 32 MiB), or above 4 MiB,\n"
            "is split into several requests; --single sends one request and\n"
            "refuses a LENGTH above the maximum payload (`cmd' sends anything).\n"
            "A split read stops at the first error reply and fails, saying which\n"
            "request failed.  A range that ends past the end of the export (once\n"
            "its size is known) is refused before anything is sent; --force sends\n"
            "it anyway (this applies to write, trim, zero, cache and block-status\n"
            "too).  A split read keeps up to N requests in flight (--inflight N,\n"
            "1 to 64, default 8); the data still lands in order in FILE (a pipe\n"
            "gets one request at a time).\n"
            "A long read into a file (16 requests or more) is spread over 4\n"
            "connections when the server advertises NBD_FLAG_CAN_MULTI_CONN:\n"
            "this one and three opened like it (--connections N, 1 to 16; 1 keeps\n"
            "to this one).  Each takes the next request not yet sent; cookies\n"
            "follow the requests' order, and every connection's replies are\n"
            "checked and shown.  A pipe, the screen, a server command and a\n"
            "recording or capture keep to one connection.\n"
            "--async, or a trailing `&', sends one request without waiting: its\n"
            "cookie is shown, and its replies when they arrive (`wait' waits for\n"
            "them, `inflight' lists what is pending).  Every transmission command\n"
            "but disc takes --async and `&'.",
    .opts = "--df --fua --out= --single --flags= --force --inflight= "
            "--connections= --async",
    .flags = CMD_XMIT_PHASE,
    .min_args = 2,
    .max_args = 2,
    .run = do_read,
  },
  {
    .name = "write",
    .args = "OFFSET [DATA...] [--file FILE | --pattern BYTE --length N] "
            "[--fua] [--single] [--force] [--inflight N] [--async]",
    .summary = "write to the export (NBD_CMD_WRITE)",
    .help = "DATA words are hex bytes when unquoted and strings when quoted, as in\n"
            "`write 0 \"hello\"' or `write 512 de ad be ef'.  --file FILE writes the\n"
            "file (or its first --length N bytes), --pattern BYTE --length N a\n"
            "repeated byte.  Long writes are split like reads, stop at the first\n"
            "error reply like reads, and are refused past the end of the export\n"
            "unless --force is given; a split write keeps up to --inflight N\n"
            "requests in flight (default 8).  --async (or a trailing `&') sends\n"
            "one request without waiting.",
    .opts = "--file= --pattern= --length= --fua --single --flags= --force "
            "--inflight= --async",
    .flags = CMD_XMIT_PHASE,
    .min_args = 1,
    .max_args = -1,
    .run = do_write,
  },
  {
    .name = "flush",
    .args = "[--async]",
    .summary = "make written data durable (NBD_CMD_FLUSH)",
    .opts = "--flags= --async",
    .flags = CMD_XMIT_PHASE,
    .max_args = 0,
    .run = do_flush,
  },
  {
    .name = "trim",
    .args = "OFFSET LENGTH [--fua] [--async]",
    .summary = "discard a range (NBD_CMD_TRIM)",
    .opts = "--fua --flags= --force --async",
    .flags = CMD_XMIT_PHASE,
    .min_args = 2,
    .max_args = 2,
    .run = do_trim,
  },
  {
    .name = "zero",
    .args = "OFFSET LENGTH [--no-hole] [--fast-zero] [--fua] [--async]",
    .summary = "write zeroes (NBD_CMD_WRITE_ZEROES)",
    .help = "--no-hole asks the server not to punch a hole; --fast-zero asks it to\n"
            "fail with NBD_ENOTSUP unless zeroing is faster than writing.",
    .opts = "--no-hole --fast-zero --fua --flags= --force --async",
    .flags = CMD_XMIT_PHASE,
    .min_args = 2,
    .max_args = 2,
    .run = do_zero,
  },
  {
    .name = "cache",
    .args = "OFFSET LENGTH [--async]",
    .summary = "ask the server to prefetch "
               "(NBD_CMD_CACHE)",
    .opts = "--flags= --force --async",
    .flags = CMD_XMIT_PHASE,
    .min_args = 2,
    .max_args = 2,
    .run = do_cache,
  },
  {
    .name = "block-status",
    .args = "OFFSET LENGTH [--req-one] [--async]",
    .summary = "query metadata contexts (NBD_CMD_BLOCK_STATUS)",
    .help = "Needs structured replies and contexts selected with set-meta-context\n"
            "before go.  Each extent is shown with its flags in the context's terms\n"
            "(base:allocation hole/zero, qemu:allocation-depth, qemu:dirty-bitmap).",
    .opts = "--req-one --flags= --force --async",
    .flags = CMD_XMIT_PHASE,
    .min_args = 2,
    .max_args = 2,
    .run = do_block_status,
  },
  {
    .name = "disc",
    .args = "",
    .summary = "end transmission (NBD_CMD_DISC)",
    .help = "Sends NBD_CMD_DISC, which has no reply, and waits for the server to "
            "close.",
    .opts = "--flags=",
    .flags = CMD_XMIT_PHASE,
    .max_args = 0,
    .run = do_disc,
  },
  {
    .name = "cmd",
    .args = "TYPE OFFSET LENGTH [--flags BITS] [--fua] [--df] "
            "[--req-one] [--no-hole] [--fast-zero] [--cookie N] [--async] "
            "[PAYLOAD...]",
    .summary = "send any request",
    .help = "TYPE is a command number or NBD_CMD_* name; PAYLOAD words (hex, or\n"
            "quoted strings) are sent after the header whatever the command.\n"
            "--cookie N sends cookie N instead of the next one, e.g. to reuse the\n"
            "cookie of a request still in flight on purpose (its replies then go\n"
            "to the oldest request with it).  --async or a trailing `&' sends\n"
            "without waiting.",
    .opts = "--flags= --fua --df --req-one --no-hole --fast-zero --cookie= "
            "--async",
    .flags = CMD_XMIT_PHASE,
    .min_args = 3,
    .max_args = -1,
    .run = do_cmd,
  },
  {
    .name = "wait",
    .args = "[COOKIE...]",
    .summary = "wait for requests in flight",
    .help = "Reads replies until the requests with these cookies (or, without\n"
            "any, every request in flight) are answered completely, showing each\n"
            "reply as it arrives with its cookie and command.  Replies to other\n"
            "requests that arrive meanwhile are shown too.  Each wait is bounded\n"
            "by the timeout (`set timeout'), renewed whenever a request is\n"
            "answered.  An error reply is a result, not a failure.",
    .opts = "",
    .max_args = -1,
    .run = do_wait,
  },
  {
    .name = "inflight",
    .args = "",
    .summary = "list the requests in flight",
    .help = "Shows the replies that have already arrived, then lists the requests\n"
            "still waiting for (part of) their reply: cookie, command, offset,\n"
            "length and how long ago each was sent.  The prompt shows how many\n"
            "requests are in flight, e.g. nbd[transmission sr 2 in flight]>.\n"
            "TAB completion offers `inflight' only while requests are in flight\n"
            "(inf<TAB> completes `info' otherwise).",
    .flags = CMD_TEXT,
    .max_args = 0,
    .run = do_inflight,
  },
  { .name = NULL }
};
