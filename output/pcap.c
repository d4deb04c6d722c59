/* nbdcli - captures for Wireshark, and the TLS key log.
 *
 * --pcap FILE writes the bytes as they crossed the socket (TLS records
 * after STARTTLS) and --pcap-plain FILE the NBD byte stream as nbdcli
 * read and wrote it (decrypted), each as a pcapng file: one synthetic
 * TCP connection per NBD connection, between two fixed addresses
 * (192.0.2.1, the client, and 192.0.2.2 on port 10809, the server),
 * with correct sequence numbers and the real time of each read and
 * write.  When TLS is used, --pcap also holds the session's secrets in
 * a Decryption Secrets Block written before the first TLS record, so
 * Wireshark decrypts it with no other file.  --keylog FILE appends the
 * secrets in the NSS key log format.
 *
 * pcapng blocks (all little-endian here, as the byte-order magic says):
 * SHB 0x0A0D0D0A, IDB 1 (LINKTYPE_RAW: IPv4 packets), EPB 6, DSB 0x0A
 * with secrets type 0x544c534b (TLS key log).
 *
 * Copyright the nbdcli authors, MIT licence.
 */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>

#include "output.h"
#include "session.h"
#include "sink.h"
#include "wire.h"

#define BT_SHB 0x0A0D0D0Au
#define BT_IDB 0x00000001u
#define BT_EPB 0x00000006u
#define BT_DSB 0x0000000Au
#define SECRETS_TLS_KEYLOG 0x544c534bu
#define LINKTYPE_RAW 101

#define NBD_PORT 10809
#define CLIENT_PORT_BASE 49152
#define SEGMENT_MAX 32768       /* payload bytes per synthetic packet */

static const uint8_t client_addr[4] = { 192, 0, 2, 1 };
static const uint8_t server_addr[4] = { 192, 0, 2, 2 };

static void
le16 (struct bytes *b, uint16_t v)
{
  uint8_t x[2] = { v, v >> 8 };
  bytes_put (b, x, 2);
}

static void
le32 (struct bytes *b, uint32_t v)
{
  uint8_t x[4] = { v, v >> 8, v >> 16, v >> 24 };
  bytes_put (b, x, 4);
}

static void
pad4 (struct bytes *b, size_t n)
{
  static const uint8_t zero[4];
  bytes_put (b, zero, (4 - n % 4) % 4);
}

/* An option: code, length, value padded to 32 bits. */
static void
option (struct bytes *b, uint16_t code, const char *v)
{
  size_t n = strlen (v);

  le16 (b, code);
  le16 (b, (uint16_t) n);
  bytes_put (b, v, n);
  pad4 (b, n);
}

/* Ends block B (its type and a placeholder length already in it):
 * both length fields set, then written to FP or appended to TO.
 */
static void
block_end (struct bytes *b)
{
  uint32_t total = (uint32_t) b->len + 4;

  le32 (b, total);
  b->data[4] = total;
  b->data[5] = total >> 8;
  b->data[6] = total >> 16;
  b->data[7] = total >> 24;
}

static void
block_begin (struct bytes *b, uint32_t type)
{
  bytes_reset (b);
  le32 (b, type);
  le32 (b, 0);
}

static void
put (struct pcap_sink *p, struct bytes *b)
{
  if (p->holding)
    bytes_put (&p->held, b->data, b->len);
  else if (fwrite (b->data, 1, b->len, p->fp) != b->len)
    p->failed = true;
}

static void
write_header (struct pcap_sink *p)
{
  struct bytes b = { 0 };

  block_begin (&b, BT_SHB);
  le32 (&b, 0x1A2B3C4Du);
  le16 (&b, 1);
  le16 (&b, 0);
  le32 (&b, 0xffffffffu);       /* section length: not given */
  le32 (&b, 0xffffffffu);
  option (&b, 4, "nbdcli " PACKAGE_VERSION);    /* shb_userappl */
  option (&b, 0, "");
  block_end (&b);
  put (p, &b);

  block_begin (&b, BT_IDB);
  le16 (&b, LINKTYPE_RAW);
  le16 (&b, 0);
  le32 (&b, 0);                 /* snaplen: no limit */
  option (&b, 2, p->plain ? "nbdcli NBD stream (decrypted)"
          : "nbdcli socket");   /* if_name */
  option (&b, 0, "");
  block_end (&b);
  put (p, &b);
  bytes_free (&b);
}

static uint32_t
csum_add (uint32_t sum, const uint8_t *p, size_t n)
{
  size_t i;

  for (i = 0; i + 1 < n; i += 2)
    sum += (uint32_t) p[i] << 8 | p[i + 1];
  if (n & 1)
    sum += (uint32_t) p[n - 1] << 8;
  return sum;
}

static uint16_t
csum_fold (uint32_t sum)
{
  while (sum >> 16)
    sum = (sum & 0xffff) + (sum >> 16);
  return (uint16_t) ~sum;
}

static void
be16_at (uint8_t *p, uint16_t v)
{
  p[0] = v >> 8;
  p[1] = v;
}

static void
be32_at (uint8_t *p, uint32_t v)
{
  p[0] = v >> 24;
  p[1] = v >> 16;
  p[2] = v >> 8;
  p[3] = v;
}

enum { TH_FIN = 0x01, TH_SYN = 0x02, TH_PSH = 0x08, TH_ACK = 0x10 };

/* One IPv4+TCP packet from the client (SENT) or the server, carrying
 * DATA, as an EPB with the time NOW.
 */
static void
packet (struct pcap_sink *p, const struct timespec *now, bool sent,
        uint8_t flags, const uint8_t *data, size_t n)
{
  uint8_t h[40] = { 0 }, *ip = h, *tcp = h + 20;
  const uint8_t *src = sent ? client_addr : server_addr;
  const uint8_t *dst = sent ? server_addr : client_addr;
  uint16_t sport = sent ? p->cport : NBD_PORT;
  uint16_t dport = sent ? NBD_PORT : p->cport;
  int me = sent ? 0 : 1;
  uint32_t sum;
  uint8_t pseudo[12];
  uint64_t us = (uint64_t) now->tv_sec * 1000000 + now->tv_nsec / 1000;
  struct bytes b = { 0 };

  ip[0] = 0x45;
  be16_at (ip + 2, (uint16_t) (40 + n));
  be16_at (ip + 4, p->ip_id++);
  be16_at (ip + 6, 0x4000);     /* don't fragment */
  ip[8] = 64;
  ip[9] = 6;                    /* TCP */
  memcpy (ip + 12, src, 4);
  memcpy (ip + 16, dst, 4);
  be16_at (ip + 10, csum_fold (csum_add (0, ip, 20)));

  be16_at (tcp, sport);
  be16_at (tcp + 2, dport);
  be32_at (tcp + 4, p->next[me]);
  be32_at (tcp + 8, (flags & TH_ACK) ? p->next[!me] : 0);
  tcp[12] = 5 << 4;
  tcp[13] = flags;
  be16_at (tcp + 14, 65535);
  memcpy (pseudo, src, 4);
  memcpy (pseudo + 4, dst, 4);
  pseudo[8] = 0;
  pseudo[9] = 6;
  be16_at (pseudo + 10, (uint16_t) (20 + n));
  sum = csum_add (0, pseudo, sizeof pseudo);
  sum = csum_add (sum, tcp, 20);
  /* The payload's sum: an odd-length header never precedes it. */
  sum = csum_add (sum, data, n);
  be16_at (tcp + 16, csum_fold (sum));

  p->next[me] += (uint32_t) n + ((flags & (TH_SYN | TH_FIN)) ? 1 : 0);

  block_begin (&b, BT_EPB);
  le32 (&b, 0);                 /* interface */
  le32 (&b, (uint32_t) (us >> 32));
  le32 (&b, (uint32_t) us);
  le32 (&b, (uint32_t) (40 + n));
  le32 (&b, (uint32_t) (40 + n));
  bytes_put (&b, h, 40);
  bytes_put (&b, data, n);
  pad4 (&b, 40 + n);
  block_end (&b);
  put (p, &b);
  bytes_free (&b);
}

static void
tcp_open (struct pcap_sink *p, const struct timespec *now)
{
  p->cport = (uint16_t) (CLIENT_PORT_BASE + p->nconn++ % 16000);
  p->next[0] = 0x10000000u * (p->nconn % 15 + 1);
  p->next[1] = 0x80000000u + p->nconn;
  p->open = true;
  p->keys_out = false;
  packet (p, now, true, TH_SYN, NULL, 0);
  packet (p, now, false, TH_SYN | TH_ACK, NULL, 0);
  packet (p, now, true, TH_ACK, NULL, 0);
}

static void
tcp_close (struct pcap_sink *p, const struct timespec *now)
{
  packet (p, now, true, TH_FIN | TH_ACK, NULL, 0);
  packet (p, now, false, TH_FIN | TH_ACK, NULL, 0);
  packet (p, now, true, TH_ACK, NULL, 0);
  p->open = false;
}

/* The NSS key log line of a secret: LABEL CLIENT-RANDOM SECRET. */
static void
nss_line (struct bytes *b, const struct nbd_event *ev)
{
  char hex[3];
  size_t i;

  bytes_put (b, ev->u.secret.label, strlen (ev->u.secret.label));
  bytes_put (b, " ", 1);
  for (i = 0; i < 32; i++) {
    snprintf (hex, sizeof hex, "%02x", ev->u.secret.client_random[i]);
    bytes_put (b, hex, 2);
  }
  bytes_put (b, " ", 1);
  for (i = 0; i < ev->u.secret.len; i++) {
    snprintf (hex, sizeof hex, "%02x", ev->u.secret.secret[i]);
    bytes_put (b, hex, 2);
  }
  bytes_put (b, "\n", 1);
}

/* Writes the secrets kept so far (as a DSB), then the packets held
 * back until they were known.
 */
static void
flush_held (struct pcap_sink *p)
{
  if (p->keys.len) {
    struct bytes b = { 0 };

    block_begin (&b, BT_DSB);
    le32 (&b, SECRETS_TLS_KEYLOG);
    le32 (&b, (uint32_t) p->keys.len);
    bytes_put (&b, p->keys.data, p->keys.len);
    pad4 (&b, p->keys.len);
    block_end (&b);
    p->holding = false;
    put (p, &b);
    memset (b.data, 0, b.len);
    bytes_free (&b);
    memset (p->keys.data, 0, p->keys.len);
    bytes_reset (&p->keys);
    if (!p->warned) {
      fprintf (stderr, "%s: warning: %s holds the TLS session keys: "
               "whoever can read it can decrypt the session\n",
               out_where.progname, p->path);
      p->warned = true;
    }
  }
  p->holding = false;
  if (p->held.len && fwrite (p->held.data, 1, p->held.len, p->fp)
      != p->held.len)
    p->failed = true;
  bytes_reset (&p->held);
  fflush (p->fp);
}

/* The bytes read or written one way since the direction last changed
 * go out as one segment (up to SEGMENT_MAX bytes each), as the peer
 * most likely sent them: GnuTLS reads a record's header and body
 * apart, nbdcli a message's header and payload.
 */
static void
seg_flush (struct pcap_sink *p)
{
  size_t off, k;

  if (!p->seg.len)
    return;
  /* TLS records wait for the secrets that decrypt them. */
  if (!p->plain && p->seg_tls && !p->keys_out)
    p->holding = true;
  for (off = 0; off < p->seg.len; off += k) {
    k = p->seg.len - off;
    if (k > SEGMENT_MAX)
      k = SEGMENT_MAX;
    packet (p, &p->seg_time, p->seg_sent, TH_PSH | TH_ACK,
            p->seg.data + off, k);
  }
  bytes_reset (&p->seg);
  p->seg_tls = false;
}

static void
pcap_event (void *ctx, const struct session *s, const struct nbd_event *ev)
{
  struct pcap_sink *p = ctx;
  struct timespec now;

  if (!p->fp)
    return;
  clock_gettime (CLOCK_REALTIME, &now);
  switch (ev->type) {
  case EV_CONNECTED:
    seg_flush (p);
    flush_held (p);
    if (p->open)
      tcp_close (p, &now);
    tcp_open (p, &now);
    break;
  case EV_BYTES:
    if (ev->u.bytes.layer != (p->plain ? BYTES_STREAM : BYTES_SOCKET))
      break;
    if (!p->open)
      tcp_open (p, &now);
    if (p->seg.len && p->seg_sent != ev->u.bytes.sent)
      seg_flush (p);
    if (!p->seg.len) {
      p->seg_time = now;        /* when its first byte went or came */
      p->seg_sent = ev->u.bytes.sent;
    }
    bytes_put (&p->seg, ev->u.bytes.p, ev->u.bytes.len);
    p->seg_tls |= ev->u.bytes.tls;
    if (p->seg.len >= SEGMENT_MAX)
      seg_flush (p);
    break;
  case EV_SECRET:
    if (p->plain)
      break;
    nss_line (&p->keys, ev);
    /* During the handshake everything waits for its end; a secret
     * after it (a key update) is written at once.
     */
    if (p->keys_out) {
      seg_flush (p);
      flush_held (p);
    }
    else
      p->holding = true;
    break;
  case EV_TLS:
    seg_flush (p);
    flush_held (p);
    p->keys_out = true;
    break;
  case EV_ERROR:
    seg_flush (p);
    flush_held (p);
    break;
  case EV_CLOSED:
    seg_flush (p);
    flush_held (p);
    if (p->open)
      tcp_close (p, &now);
    fflush (p->fp);
    break;
  default:
    break;
  }
}

/* Creates PATH for writing with MODE, replacing a regular file but
 * never following a symbolic link.  Returns the stream or NULL (errno).
 */
static FILE *
create_file (const char *path, int flags, mode_t mode)
{
  int fd = open (path, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC | flags,
                 mode);
  struct stat st;
  FILE *fp;

  if (fd == -1)
    return NULL;
  if (fstat (fd, &st) == -1 || !S_ISREG (st.st_mode)) {
    close (fd);
    errno = EINVAL;
    return NULL;
  }
  fp = fdopen (fd, flags & O_APPEND ? "a" : "w");
  if (!fp)
    close (fd);
  return fp;
}

int
pcap_open (struct pcap_sink *p, const char *path, bool plain, char *err,
           size_t errlen)
{
  pcap_close (p);
  /* The socket capture may hold keys: readable by its owner only. */
  p->fp = create_file (path, O_TRUNC, plain ? 0644 : 0600);
  if (!p->fp) {
    snprintf (err, errlen, "%s: %s", path, errno == EINVAL
              ? "not a regular file" : strerror (errno));
    return -1;
  }
  p->path = xstrdup (path);
  p->plain = plain;
  write_header (p);
  fflush (p->fp);
  return 0;
}

void
pcap_close (struct pcap_sink *p)
{
  if (p->fp) {
    seg_flush (p);
    flush_held (p);
    if (fclose (p->fp) != 0)
      p->failed = true;
  }
  if (p->failed)
    fprintf (stderr, "%s: %s: could not write the capture\n",
             out_where.progname, p->path ? p->path : "?");
  bytes_free (&p->held);
  bytes_free (&p->keys);
  bytes_free (&p->seg);
  free (p->path);
  memset (p, 0, sizeof *p);
}

struct nbd_sink
pcap_sink (struct pcap_sink *p)
{
  return (struct nbd_sink) { .event = pcap_event, .ctx = p };
}

/* The key log: NSS lines appended to the file asked for. */
static void
keylog_event (void *ctx, const struct session *s, const struct nbd_event *ev)
{
  struct keylog_sink *k = ctx;
  struct bytes b = { 0 };

  if (ev->type != EV_SECRET || !k->fp)
    return;
  nss_line (&b, ev);
  fwrite (b.data, 1, b.len, k->fp);
  fflush (k->fp);
  memset (b.data, 0, b.len);
  bytes_free (&b);
}

int
keylog_open (struct keylog_sink *k, const char *path, char *err,
             size_t errlen)
{
  keylog_close (k);
  /* Appended, never truncated; created readable by its owner only. */
  k->fp = create_file (path, O_APPEND, 0600);
  if (!k->fp) {
    snprintf (err, errlen, "%s: %s", path, errno == EINVAL
              ? "not a regular file" : strerror (errno));
    return -1;
  }
  fprintf (stderr, "%s: warning: the TLS session keys are appended to %s: "
           "whoever can read it can decrypt the session\n",
           out_where.progname, path);
  return 0;
}

void
keylog_close (struct keylog_sink *k)
{
  if (k->fp)
    fclose (k->fp);
  k->fp = NULL;
}

struct nbd_sink
keylog_sink (struct keylog_sink *k)
{
  return (struct nbd_sink) { .event = keylog_event, .ctx = k };
}
