/* flawed-server: a small, deliberately configurable NBD server used by
 * the nbdcli test-suite to produce protocol violations that no real
 * server shows.  Without any --fault it is meant to be a correct
 * fixed-newstyle server (with TLS, structured replies, extended
 * headers and base:allocation), so that each --fault adds exactly one
 * class of violation.  See tests/flawed-server.md.
 *
 * Copyright the nbdcli authors, MIT licence.
 */

#define _GNU_SOURCE 1

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <gnutls/gnutls.h>

/* ------------------------------------------------------------------ */
/* Protocol constants (doc/proto.md in NetworkBlockDevice/nbd).        */

#define NBDMAGIC UINT64_C (0x4e42444d41474943)
#define IHAVEOPT UINT64_C (0x49484156454f5054)
#define CLISERV_MAGIC UINT64_C (0x0000420281861253)
#define OPT_REPLY_MAGIC UINT64_C (0x0003e889045565a9)
#define WRONG_OPT_REPLY_MAGIC UINT64_C (0x0003e889045565aa)
#define REQUEST_MAGIC UINT32_C (0x25609513)
#define EXT_REQUEST_MAGIC UINT32_C (0x21e41c71)
#define SIMPLE_REPLY_MAGIC UINT32_C (0x67446698)
#define STRUCTURED_REPLY_MAGIC UINT32_C (0x668e33ef)
#define EXT_REPLY_MAGIC UINT32_C (0x6e8a278c)

/* Handshake flags (server) and client flags. */
#define FLAG_FIXED_NEWSTYLE 0x0001
#define FLAG_NO_ZEROES 0x0002
#define FLAG_C_FIXED_NEWSTYLE 0x00000001
#define FLAG_C_NO_ZEROES 0x00000002

/* Options. */
#define OPT_EXPORT_NAME 1
#define OPT_ABORT 2
#define OPT_LIST 3
#define OPT_STARTTLS 5
#define OPT_INFO 6
#define OPT_GO 7
#define OPT_STRUCTURED_REPLY 8
#define OPT_LIST_META_CONTEXT 9
#define OPT_SET_META_CONTEXT 10
#define OPT_EXTENDED_HEADERS 11

/* Option replies. */
#define REP_ACK UINT32_C (1)
#define REP_SERVER UINT32_C (2)
#define REP_INFO UINT32_C (3)
#define REP_META_CONTEXT UINT32_C (4)
#define REP_ERR_UNSUP UINT32_C (0x80000001)
#define REP_ERR_POLICY UINT32_C (0x80000002)
#define REP_ERR_INVALID UINT32_C (0x80000003)
#define REP_ERR_TLS_REQD UINT32_C (0x80000005)
#define REP_ERR_UNKNOWN UINT32_C (0x80000006)
#define REP_ERR_EXT_HEADER_REQD UINT32_C (0x8000000a)

/* NBD_REP_INFO types. */
#define INFO_EXPORT 0
#define INFO_NAME 1
#define INFO_DESCRIPTION 2
#define INFO_BLOCK_SIZE 3

/* Transmission flags. */
#define TF_HAS_FLAGS 0x0001
#define TF_SEND_FLUSH 0x0004
#define TF_SEND_FUA 0x0008
#define TF_SEND_TRIM 0x0020
#define TF_SEND_WRITE_ZEROES 0x0040
#define TF_SEND_DF 0x0080
#define TF_SEND_CACHE 0x0400
#define TF_CAN_MULTI_CONN 0x0100
#define TF_SEND_FAST_ZERO 0x0800

/* Commands and command flags. */
#define CMD_READ 0
#define CMD_WRITE 1
#define CMD_DISC 2
#define CMD_FLUSH 3
#define CMD_TRIM 4
#define CMD_CACHE 5
#define CMD_WRITE_ZEROES 6
#define CMD_BLOCK_STATUS 7

#define CMD_FLAG_FUA 0x0001
#define CMD_FLAG_NO_HOLE 0x0002
#define CMD_FLAG_DF 0x0004
#define CMD_FLAG_REQ_ONE 0x0008
#define CMD_FLAG_FAST_ZERO 0x0010
#define CMD_FLAG_PAYLOAD_LEN 0x0020

/* Structured / extended reply chunks. */
#define REPLY_FLAG_DONE 0x0001
#define REPLY_TYPE_NONE 0
#define REPLY_TYPE_OFFSET_DATA 1
#define REPLY_TYPE_OFFSET_HOLE 2
#define REPLY_TYPE_BLOCK_STATUS 5
#define REPLY_TYPE_BLOCK_STATUS_EXT 6
#define REPLY_TYPE_ERROR 0x8001

/* base:allocation flags. */
#define STATE_HOLE 1
#define STATE_ZERO 2

/* Error numbers on the wire. */
#define NBD_EPERM 1
#define NBD_EIO 5
#define NBD_EINVAL 22
#define NBD_ENOSPC 28

/* ------------------------------------------------------------------ */
/* Limits and fixed parameters of the fake exports.                    */

#define MAX_OPTION_LEN 65536            /* longer options: hard close */
#define MAX_STRING 4096                 /* export names */
#define MAX_PAYLOAD (32 * 1024 * 1024)  /* advertised maximum payload */
#define MAX_EXPORTS 64
#define MAX_SIZE (UINT64_C (1) << 30)   /* --size cap: 1 GiB */
#define DATA_REGION (64 * 1024)         /* first 64 KiB hold the pattern */
#define ALLOC_BLOCK 4096                /* allocation map granularity */
#define BLOCK_MIN 1
#define BLOCK_PREFERRED 4096
#define BASE_ALLOCATION "base:allocation"
#define BASE_ALLOCATION_ID 1
#define UNREQUESTED_CONTEXT "base:unrequested"
#define UNREQUESTED_ID 7

/* ------------------------------------------------------------------ */
/* Faults.                                                             */

enum fault
{
  F_KEEP_SR,
  F_KEEP_META,
  F_KEEP_EH,
  F_KEEP_EXPORT,
  F_DF_WITHOUT_SR,
  F_SR_WITHOUT_NEGOTIATION,
  F_DOUBLE_STARTTLS,
  F_TWO_FINALS,
  F_WRONG_ECHO,
  F_WRONG_MAGIC,
  F_ACK_PAYLOAD,
  F_INFO_EXPORT_LEN,
  F_BAD_BLOCK_SIZE,
  F_NO_HAS_FLAGS,
  F_FAST_ZERO_WITHOUT_WZ,
  F_TLS_REQD_AFTER_TLS,
  F_TLS_REQD_NO_TLS,
  F_META_UNREQUESTED,
  F_DUP_CONTEXT_ID,
  F_UNSOLICITED_REPLY,
  F_BAD_COOKIE,
  F_REPLY_TO_DISC,
  F_CHUNK_OUTSIDE,
  F_CHUNK_OVERLAP,
  F_NO_DONE,
  F_HOLE_ZERO,
  F_NONE_NO_DONE,
  F_ERROR_UNDEFINED,
  F_BS_EMPTY_EXTENT,
  F_BS_BEYOND,
  F_BS_UNKNOWN_CONTEXT,
  F_BS_NO_EXTENTS,
  F_SIMPLE_LONG,
  F_MULTI_CONN_PRIVATE,
  NR_FAULTS
};

static const char *const fault_names[NR_FAULTS] = {
  [F_KEEP_SR] = "keep-sr",
  [F_KEEP_META] = "keep-meta",
  [F_KEEP_EH] = "keep-eh",
  [F_KEEP_EXPORT] = "keep-export",
  [F_DF_WITHOUT_SR] = "df-without-sr",
  [F_SR_WITHOUT_NEGOTIATION] = "sr-without-negotiation",
  [F_DOUBLE_STARTTLS] = "double-starttls",
  [F_TWO_FINALS] = "two-finals",
  [F_WRONG_ECHO] = "wrong-echo",
  [F_WRONG_MAGIC] = "wrong-magic",
  [F_ACK_PAYLOAD] = "ack-payload",
  [F_INFO_EXPORT_LEN] = "info-export-len",
  [F_BAD_BLOCK_SIZE] = "bad-block-size",
  [F_NO_HAS_FLAGS] = "no-has-flags",
  [F_FAST_ZERO_WITHOUT_WZ] = "fast-zero-without-wz",
  [F_TLS_REQD_AFTER_TLS] = "tls-reqd-after-tls",
  [F_TLS_REQD_NO_TLS] = "tls-reqd-no-tls",
  [F_META_UNREQUESTED] = "meta-unrequested",
  [F_DUP_CONTEXT_ID] = "dup-context-id",
  [F_UNSOLICITED_REPLY] = "unsolicited-reply",
  [F_BAD_COOKIE] = "bad-cookie",
  [F_REPLY_TO_DISC] = "reply-to-disc",
  [F_CHUNK_OUTSIDE] = "chunk-outside",
  [F_CHUNK_OVERLAP] = "chunk-overlap",
  [F_NO_DONE] = "no-done",
  [F_HOLE_ZERO] = "hole-zero",
  [F_NONE_NO_DONE] = "none-no-done",
  [F_ERROR_UNDEFINED] = "error-undefined",
  [F_BS_EMPTY_EXTENT] = "bs-empty-extent",
  [F_BS_BEYOND] = "bs-beyond",
  [F_BS_UNKNOWN_CONTEXT] = "bs-unknown-context",
  [F_BS_NO_EXTENTS] = "bs-no-extents",
  [F_SIMPLE_LONG] = "simple-long",
  [F_MULTI_CONN_PRIVATE] = "multi-conn-private",
};

static bool faults[NR_FAULTS];
#define FAULT(f) (faults[F_##f])

/* ------------------------------------------------------------------ */
/* Configuration.                                                      */

enum tls_mode
{
  TLS_OFF,
  TLS_ON,                       /* SELECTIVETLS */
  TLS_REQUIRE                   /* FORCEDTLS */
};

enum greeting
{
  GREETING_NORMAL,
  GREETING_GARBAGE,
  GREETING_TRUNCATED
};

struct export
{
  char *name;
  bool tls_only;
};

static struct export exports[MAX_EXPORTS];
static size_t nr_exports;
static uint64_t export_size = 1024 * 1024;
static enum tls_mode tls_mode = TLS_OFF;
static const char *tls_cert_dir;
static const char *tls_psk_file;
static bool tls_verify_peer;
static enum greeting greeting = GREETING_NORMAL;
static bool oldstyle;
static bool no_fixed;
static bool verbose;
static int timeout_secs = 30;
static const char *unix_path;
static int tcp_port = -1;
static bool serve_many;
static const char *pidfile;

static gnutls_certificate_credentials_t x509_creds;
static gnutls_psk_server_credentials_t psk_creds;

/* Set in the listening parent only, so that it removes its socket. */
static bool unlink_socket_at_exit;
static volatile sig_atomic_t quit_signal;

/* ------------------------------------------------------------------ */
/* Small helpers.                                                      */

static void debug (const char *fmt, ...)
  __attribute__ ((format (printf, 1, 2)));

static void
debug (const char *fmt, ...)
{
  va_list ap;

  if (!verbose)
    return;
  fprintf (stderr, "flawed-server[%ld]: ", (long) getpid ());
  va_start (ap, fmt);
  vfprintf (stderr, fmt, ap);
  va_end (ap);
  fputc ('\n', stderr);
}

static void
put16 (uint8_t *p, uint16_t v)
{
  p[0] = v >> 8;
  p[1] = v & 0xff;
}

static void
put32 (uint8_t *p, uint32_t v)
{
  put16 (p, v >> 16);
  put16 (p + 2, v & 0xffff);
}

static void
put64 (uint8_t *p, uint64_t v)
{
  put32 (p, v >> 32);
  put32 (p + 4, v & 0xffffffff);
}

static uint16_t
get16 (const uint8_t *p)
{
  return (uint16_t) ((p[0] << 8) | p[1]);
}

static uint32_t
get32 (const uint8_t *p)
{
  return ((uint32_t) get16 (p) << 16) | get16 (p + 2);
}

static uint64_t
get64 (const uint8_t *p)
{
  return ((uint64_t) get32 (p) << 32) | get32 (p + 4);
}

static int
timeout_ms (void)
{
  return timeout_secs * 1000;
}

/* ------------------------------------------------------------------ */
/* The connection and its byte transport (plain or TLS).               */

struct conn
{
  int in_fd;
  int out_fd;
  gnutls_session_t tls;         /* NULL until STARTTLS succeeded */

  /* Handshake state. */
  bool fixed;                   /* fixed newstyle in force */
  bool no_zeroes;
  bool sr;                      /* structured replies negotiated */
  bool eh;                      /* extended headers negotiated */
  bool meta_valid;              /* base:allocation selected */
  char *meta_export;            /* export named by that SET */
  int pre_tls_info_export;      /* export of the last pre-TLS INFO */

  /* Transmission state. */
  const struct export *exp;
  uint16_t tflags;              /* transmission flags sent */
};

/* Wait until FD is ready for EVENTS; -1 with errno ETIMEDOUT after
 * MS milliseconds.
 */
static int
wait_fd (int fd, short events, int ms)
{
  struct pollfd p = { .fd = fd, .events = events };
  int r;

  do
    r = poll (&p, 1, ms);
  while (r == -1 && errno == EINTR);
  if (r == 0) {
    errno = ETIMEDOUT;
    return -1;
  }
  return r < 0 ? -1 : 0;
}

static ssize_t
raw_read_some (struct conn *c, void *buf, size_t len)
{
  for (;;) {
    ssize_t r;

    if (wait_fd (c->in_fd, POLLIN, timeout_ms ()) == -1)
      return -1;
    r = read (c->in_fd, buf, len);
    if (r == -1 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK))
      continue;
    return r;
  }
}

static ssize_t
raw_write_some (struct conn *c, const void *buf, size_t len)
{
  for (;;) {
    ssize_t r;

    if (wait_fd (c->out_fd, POLLOUT, timeout_ms ()) == -1)
      return -1;
    r = send (c->out_fd, buf, len, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (r == -1 && errno == ENOTSOCK)
      r = write (c->out_fd, buf, len);
    if (r == -1 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK))
      continue;
    return r;
  }
}

/* GnuTLS transport callbacks, so that every TLS read and write is
 * subject to the idle timeout and works with separate in/out fds.
 */
static ssize_t
tls_pull (gnutls_transport_ptr_t ptr, void *buf, size_t len)
{
  struct conn *c = ptr;
  ssize_t r = raw_read_some (c, buf, len);

  if (r == -1)
    gnutls_transport_set_errno (c->tls, errno);
  return r;
}

static ssize_t
tls_push (gnutls_transport_ptr_t ptr, const void *buf, size_t len)
{
  struct conn *c = ptr;
  ssize_t r = raw_write_some (c, buf, len);

  if (r == -1)
    gnutls_transport_set_errno (c->tls, errno);
  return r;
}

static int
tls_pull_timeout (gnutls_transport_ptr_t ptr, unsigned int ms)
{
  struct conn *c = ptr;
  struct pollfd p = { .fd = c->in_fd, .events = POLLIN };
  int wait = ms > (unsigned int) timeout_ms () ? timeout_ms () : (int) ms;
  int r;

  do
    r = poll (&p, 1, wait);
  while (r == -1 && errno == EINTR);
  if (r == -1)
    gnutls_transport_set_errno (c->tls, errno);
  return r;
}

/* Read exactly LEN bytes.  Returns 0, or -1 on EOF, error or timeout. */
static int
conn_read (struct conn *c, void *buf, size_t len)
{
  uint8_t *p = buf;

  while (len > 0) {
    ssize_t r;

    if (c->tls) {
      r = gnutls_record_recv (c->tls, p, len);
      if (r == GNUTLS_E_AGAIN || r == GNUTLS_E_INTERRUPTED)
        continue;
      if (r < 0) {
        debug ("TLS read: %s", gnutls_strerror ((int) r));
        return -1;
      }
    }
    else {
      r = raw_read_some (c, p, len);
      if (r == -1) {
        debug ("read: %s", strerror (errno));
        return -1;
      }
    }
    if (r == 0) {
      debug ("client closed the connection");
      return -1;
    }
    p += r;
    len -= r;
  }
  return 0;
}

/* Write exactly LEN bytes.  Returns 0, or -1 on error or timeout. */
static int
conn_write (struct conn *c, const void *buf, size_t len)
{
  const uint8_t *p = buf;

  while (len > 0) {
    ssize_t r;

    if (c->tls) {
      r = gnutls_record_send (c->tls, p, len);
      if (r == GNUTLS_E_AGAIN || r == GNUTLS_E_INTERRUPTED)
        continue;
      if (r < 0) {
        debug ("TLS write: %s", gnutls_strerror ((int) r));
        return -1;
      }
    }
    else {
      r = raw_write_some (c, p, len);
      if (r == -1) {
        debug ("write: %s", strerror (errno));
        return -1;
      }
    }
    p += r;
    len -= r;
  }
  return 0;
}

/* Close the connection: TLS close_notify if CLEAN, half-close, then
 * drain briefly so that a TCP peer sees our last bytes rather than a
 * reset caused by unread data.
 */
static void
conn_close (struct conn *c, bool clean)
{
  uint8_t buf[4096];
  struct timespec start, now;

  if (c->tls) {
    if (clean)
      gnutls_bye (c->tls, GNUTLS_SHUT_WR);
    gnutls_deinit (c->tls);
    c->tls = NULL;
  }
  if (shutdown (c->out_fd, SHUT_WR) == 0) {
    clock_gettime (CLOCK_MONOTONIC, &start);
    for (;;) {
      long elapsed;

      clock_gettime (CLOCK_MONOTONIC, &now);
      elapsed = (now.tv_sec - start.tv_sec) * 1000
        + (now.tv_nsec - start.tv_nsec) / 1000000;
      if (elapsed >= 1000
          || wait_fd (c->in_fd, POLLIN, (int) (1000 - elapsed)) == -1
          || read (c->in_fd, buf, sizeof buf) <= 0)
        break;
    }
  }
  close (c->in_fd);
  if (c->out_fd != c->in_fd)
    close (c->out_fd);
  free (c->meta_export);
  c->meta_export = NULL;
}

/* ------------------------------------------------------------------ */
/* TLS.                                                                */

static char *
path_join (const char *dir, const char *file)
{
  size_t n = strlen (dir) + strlen (file) + 2;
  char *p = malloc (n);

  if (p == NULL) {
    perror ("malloc");
    exit (1);
  }
  snprintf (p, n, "%s/%s", dir, file);
  return p;
}

/* Load credentials once at start-up, so that a configuration error
 * is reported before anything listens.
 */
static void
tls_load_credentials (void)
{
  int r;

  if (tls_cert_dir) {
    char *ca = path_join (tls_cert_dir, "ca-cert.pem");
    char *crl = path_join (tls_cert_dir, "ca-crl.pem");
    char *cert = path_join (tls_cert_dir, "server-cert.pem");
    char *key = path_join (tls_cert_dir, "server-key.pem");

    r = gnutls_certificate_allocate_credentials (&x509_creds);
    if (r < 0)
      goto x509_error;
    if (access (ca, R_OK) == 0) {
      r = gnutls_certificate_set_x509_trust_file (x509_creds, ca,
                                                  GNUTLS_X509_FMT_PEM);
      if (r < 0)
        goto x509_error;
    }
    else if (tls_verify_peer) {
      fprintf (stderr, "flawed-server: --tls-verify-peer needs %s\n", ca);
      exit (1);
    }
    if (access (crl, R_OK) == 0) {
      r = gnutls_certificate_set_x509_crl_file (x509_creds, crl,
                                                GNUTLS_X509_FMT_PEM);
      if (r < 0)
        goto x509_error;
    }
    r = gnutls_certificate_set_x509_key_file (x509_creds, cert, key,
                                              GNUTLS_X509_FMT_PEM);
    if (r < 0)
      goto x509_error;
    gnutls_certificate_set_known_dh_params (x509_creds,
                                            GNUTLS_SEC_PARAM_MEDIUM);
    free (ca);
    free (crl);
    free (cert);
    free (key);
    return;

  x509_error:
    fprintf (stderr, "flawed-server: loading certificates from %s: %s\n",
             tls_cert_dir, gnutls_strerror (r));
    exit (1);
  }

  if (tls_psk_file) {
    if (access (tls_psk_file, R_OK) == -1) {
      fprintf (stderr, "flawed-server: %s: %s\n", tls_psk_file,
               strerror (errno));
      exit (1);
    }
    r = gnutls_psk_allocate_server_credentials (&psk_creds);
    if (r >= 0)
      r = gnutls_psk_set_server_credentials_file (psk_creds, tls_psk_file);
    if (r < 0) {
      fprintf (stderr, "flawed-server: PSK file %s: %s\n", tls_psk_file,
               gnutls_strerror (r));
      exit (1);
    }
    gnutls_psk_set_server_known_dh_params (psk_creds,
                                           GNUTLS_SEC_PARAM_MEDIUM);
  }
}

/* Run the server side of the TLS handshake on C.  On failure the
 * session must be terminated: it is too late to continue in plain.
 */
static int
tls_handshake (struct conn *c)
{
  gnutls_session_t s;
  int r;

  r = gnutls_init (&s, GNUTLS_SERVER);
  if (r < 0)
    goto error;
  c->tls = s;
  if (psk_creds) {
    const char *errpos;

    r = gnutls_priority_set_direct (s, "NORMAL:+ECDHE-PSK:+DHE-PSK:+PSK",
                                    &errpos);
    if (r >= 0)
      r = gnutls_credentials_set (s, GNUTLS_CRD_PSK, psk_creds);
  }
  else {
    r = gnutls_set_default_priority (s);
    if (r >= 0)
      r = gnutls_credentials_set (s, GNUTLS_CRD_CERTIFICATE, x509_creds);
    if (r >= 0 && tls_verify_peer) {
      gnutls_certificate_server_set_request (s, GNUTLS_CERT_REQUIRE);
      gnutls_session_set_verify_cert (s, NULL, 0);
    }
  }
  if (r < 0)
    goto error;

  gnutls_transport_set_ptr (s, c);
  gnutls_transport_set_pull_function (s, tls_pull);
  gnutls_transport_set_push_function (s, tls_push);
  gnutls_transport_set_pull_timeout_function (s, tls_pull_timeout);
  gnutls_handshake_set_timeout (s, (unsigned int) timeout_ms ());

  do
    r = gnutls_handshake (s);
  while (r < 0 && !gnutls_error_is_fatal (r));
  if (r < 0)
    goto error;

  if (psk_creds)
    debug ("TLS up (PSK user \"%s\")", gnutls_psk_server_get_username (s));
  else
    debug ("TLS up (X.509)");
  return 0;

 error:
  debug ("TLS handshake failed: %s", gnutls_strerror (r));
  if (c->tls) {
    gnutls_deinit (c->tls);
    c->tls = NULL;
  }
  return -1;
}

/* ------------------------------------------------------------------ */
/* The in-memory disk.                                                 */

static uint8_t *disk;
static bool *alloc_map;         /* one entry per ALLOC_BLOCK */

static void
disk_init (void)
{
  uint64_t nblocks = (export_size + ALLOC_BLOCK - 1) / ALLOC_BLOCK;
  uint64_t i, data = export_size < DATA_REGION ? export_size : DATA_REGION;

  disk = calloc (export_size ? export_size : 1, 1);
  alloc_map = calloc (nblocks ? nblocks : 1, sizeof *alloc_map);
  if (disk == NULL || alloc_map == NULL) {
    perror ("calloc");
    exit (1);
  }
  for (i = 0; i < data; ++i)
    disk[i] = 1 + i % 251;
  for (i = 0; i * ALLOC_BLOCK < data; ++i)
    alloc_map[i] = true;
}

/* Length of the run starting at OFF (< END) whose blocks share the
 * allocation state of OFF's block, capped at END.
 */
static uint64_t
disk_run (uint64_t off, uint64_t end, bool *allocated)
{
  uint64_t pos = (off / ALLOC_BLOCK + 1) * ALLOC_BLOCK;

  *allocated = alloc_map[off / ALLOC_BLOCK];
  while (pos < end && alloc_map[pos / ALLOC_BLOCK] == *allocated)
    pos += ALLOC_BLOCK;
  return (pos < end ? pos : end) - off;
}

static void
disk_mark (uint64_t off, uint64_t len, bool allocated)
{
  uint64_t b;

  for (b = off / ALLOC_BLOCK; b * ALLOC_BLOCK < off + len; ++b)
    alloc_map[b] = allocated;
}

/* Zero [off, off+len); if PUNCH, deallocate the blocks entirely inside
 * the range, else mark every touched block allocated.
 */
static void
disk_zero (uint64_t off, uint64_t len, bool punch)
{
  uint64_t b, first, last;

  memset (disk + off, 0, len);
  if (!punch) {
    disk_mark (off, len, true);
    return;
  }
  first = (off + ALLOC_BLOCK - 1) / ALLOC_BLOCK;
  last = (off + len) / ALLOC_BLOCK;
  if (off + len == export_size)
    last = (export_size + ALLOC_BLOCK - 1) / ALLOC_BLOCK;
  for (b = first; b < last; ++b)
    alloc_map[b] = false;
}

/* ------------------------------------------------------------------ */
/* Exports.                                                            */

static int
find_export (const uint8_t *name, size_t len)
{
  size_t i;

  for (i = 0; i < nr_exports; ++i)
    if (strlen (exports[i].name) == len
        && memcmp (exports[i].name, name, len) == 0)
      return (int) i;
  return -1;
}

static bool
export_visible (const struct conn *c, const struct export *e)
{
  return !e->tls_only || c->tls != NULL;
}

static const char *
export_description (const struct export *e)
{
  return e->tls_only ? "TLS-only test export" : "test export";
}

/* Transmission flags as advertised in the current state. */
static uint16_t
transmission_flags (const struct conn *c)
{
  uint16_t f = TF_HAS_FLAGS | TF_SEND_FLUSH | TF_SEND_FUA | TF_SEND_TRIM
    | TF_SEND_WRITE_ZEROES | TF_SEND_CACHE | TF_SEND_FAST_ZERO;

  if (c->sr || c->eh || FAULT (DF_WITHOUT_SR))
    f |= TF_SEND_DF;
  if (FAULT (NO_HAS_FLAGS))
    f &= ~TF_HAS_FLAGS;
  if (FAULT (FAST_ZERO_WITHOUT_WZ))
    f &= ~TF_SEND_WRITE_ZEROES;
  /* Each connection has a disk of its own (a child per connection with
   * --serve-many): advertising multi-conn is then a lie.
   */
  if (FAULT (MULTI_CONN_PRIVATE))
    f |= TF_CAN_MULTI_CONN;
  return f;
}

static void
meta_clear (struct conn *c)
{
  c->meta_valid = false;
  free (c->meta_export);
  c->meta_export = NULL;
}

/* ------------------------------------------------------------------ */
/* Option replies.                                                     */

static const char *
option_name (uint32_t opt)
{
  switch (opt) {
  case OPT_EXPORT_NAME: return "EXPORT_NAME";
  case OPT_ABORT: return "ABORT";
  case OPT_LIST: return "LIST";
  case OPT_STARTTLS: return "STARTTLS";
  case OPT_INFO: return "INFO";
  case OPT_GO: return "GO";
  case OPT_STRUCTURED_REPLY: return "STRUCTURED_REPLY";
  case OPT_LIST_META_CONTEXT: return "LIST_META_CONTEXT";
  case OPT_SET_META_CONTEXT: return "SET_META_CONTEXT";
  case OPT_EXTENDED_HEADERS: return "EXTENDED_HEADERS";
  default: return "unknown";
  }
}

/* Send one option reply (all option-reply faults are applied here). */
static int
send_reply (struct conn *c, uint32_t opt, uint32_t type,
            const void *data, uint32_t len)
{
  static const uint8_t ack_junk[4] = { 0xde, 0xad, 0xbe, 0xef };
  uint8_t hdr[20];

  if (FAULT (WRONG_ECHO)
      && (opt == OPT_LIST || opt == OPT_INFO || opt == OPT_GO))
    opt++;
  if (type == REP_ACK && FAULT (ACK_PAYLOAD)) {
    data = ack_junk;
    len = sizeof ack_junk;
  }
  put64 (hdr, FAULT (WRONG_MAGIC) ? WRONG_OPT_REPLY_MAGIC : OPT_REPLY_MAGIC);
  put32 (hdr + 8, opt);
  put32 (hdr + 12, type);
  put32 (hdr + 16, len);
  debug ("  reply opt %u type 0x%x len %u", opt, type, len);
  if (conn_write (c, hdr, sizeof hdr) == -1)
    return -1;
  if (len > 0 && conn_write (c, data, len) == -1)
    return -1;
  return 0;
}

static int
send_ack (struct conn *c, uint32_t opt)
{
  return send_reply (c, opt, REP_ACK, NULL, 0);
}

/* Error reply with a human-readable message. */
static int
send_error (struct conn *c, uint32_t opt, uint32_t type, const char *msg)
{
  return send_reply (c, opt, type, msg, (uint32_t) strlen (msg));
}

static int
send_info_export (struct conn *c, uint32_t opt, uint16_t flags)
{
  uint8_t buf[14] = { 0 };

  put16 (buf, INFO_EXPORT);
  put64 (buf + 2, export_size);
  put16 (buf + 10, flags);
  return send_reply (c, opt, REP_INFO, buf,
                     FAULT (INFO_EXPORT_LEN) ? 14 : 12);
}

static int
send_info_string (struct conn *c, uint32_t opt, uint16_t type,
                  const char *s)
{
  size_t n = strlen (s);
  uint8_t buf[2 + MAX_STRING];

  put16 (buf, type);
  memcpy (buf + 2, s, n);
  return send_reply (c, opt, REP_INFO, buf, (uint32_t) (2 + n));
}

static int
send_info_block_size (struct conn *c, uint32_t opt)
{
  uint8_t buf[14];

  put16 (buf, INFO_BLOCK_SIZE);
  put32 (buf + 2, FAULT (BAD_BLOCK_SIZE) ? 3 : BLOCK_MIN);
  put32 (buf + 6, FAULT (BAD_BLOCK_SIZE) ? 2 : BLOCK_PREFERRED);
  put32 (buf + 10, MAX_PAYLOAD);
  return send_reply (c, opt, REP_INFO, buf, sizeof buf);
}

static int
send_meta_context (struct conn *c, uint32_t opt, uint32_t id,
                   const void *name, size_t len)
{
  uint8_t buf[4 + MAX_OPTION_LEN];

  put32 (buf, id);
  memcpy (buf + 4, name, len);
  return send_reply (c, opt, REP_META_CONTEXT, buf, (uint32_t) (4 + len));
}

/* ------------------------------------------------------------------ */
/* Option handlers.  Each returns 0 to continue haggling, 1 to enter   */
/* transmission, 2 to end the session cleanly, -1 to drop it.          */

enum { OPT_CONTINUE = 0, OPT_TRANSMISSION = 1, OPT_END = 2, OPT_DROP = -1 };

static int
opt_export_name (struct conn *c, const uint8_t *data, uint32_t len)
{
  uint8_t buf[134] = { 0 };
  int i;

  if (tls_mode == TLS_REQUIRE && !c->tls) {
    debug ("EXPORT_NAME before TLS in FORCEDTLS mode: closing");
    return OPT_DROP;
  }
  if (len > MAX_STRING || memchr (data, 0, len) != NULL
      || (i = find_export (data, len)) == -1) {
    debug ("EXPORT_NAME: unknown export: closing");
    return OPT_DROP;
  }
  if (!export_visible (c, &exports[i])) {
    debug ("EXPORT_NAME: TLS-only export without TLS: closing");
    return OPT_DROP;
  }
  c->exp = &exports[i];
  c->tflags = transmission_flags (c);
  put64 (buf, export_size);
  put16 (buf + 8, c->tflags);
  if (conn_write (c, buf, c->no_zeroes ? 10 : 134) == -1)
    return OPT_DROP;
  return OPT_TRANSMISSION;
}

static int
opt_list (struct conn *c, uint32_t opt, uint32_t len)
{
  size_t i;

  if (len != 0)
    return send_error (c, opt, REP_ERR_INVALID, "LIST takes no data");
  if ((FAULT (TLS_REQD_AFTER_TLS) && c->tls)
      || (FAULT (TLS_REQD_NO_TLS) && tls_mode == TLS_OFF))
    return send_error (c, opt, REP_ERR_TLS_REQD, "TLS required");
  for (i = 0; i < nr_exports; ++i) {
    const struct export *e = &exports[i];
    const char *desc = export_description (e);
    size_t nlen = strlen (e->name), dlen = strlen (desc);
    uint8_t buf[4 + MAX_STRING + 64];

    if (!export_visible (c, e))
      continue;
    put32 (buf, (uint32_t) nlen);
    memcpy (buf + 4, e->name, nlen);
    memcpy (buf + 4 + nlen, desc, dlen);
    if (send_reply (c, opt, REP_SERVER, buf, (uint32_t) (4 + nlen + dlen))
        == -1)
      return -1;
  }
  return send_ack (c, opt);
}

static int
opt_starttls (struct conn *c, uint32_t opt, uint32_t len)
{
  if (tls_mode == TLS_OFF)
    return send_error (c, opt, REP_ERR_POLICY, "TLS is not enabled");
  if (len != 0)
    return send_error (c, opt, REP_ERR_INVALID, "STARTTLS takes no data");
  if (c->tls) {
    if (!FAULT (DOUBLE_STARTTLS))
      return send_error (c, opt, REP_ERR_INVALID, "TLS is already active");
    /* Fault: ACK it and simply carry on inside the existing session. */
    return send_ack (c, opt);
  }
  if (send_ack (c, opt) == -1 || tls_handshake (c) == -1)
    return -1;

  /* The spec: no negotiation state survives STARTTLS. */
  if (!FAULT (KEEP_SR))
    c->sr = false;
  if (!FAULT (KEEP_EH))
    c->eh = false;
  if (!FAULT (KEEP_META))
    meta_clear (c);
  if (!FAULT (KEEP_EXPORT))
    c->pre_tls_info_export = -1;
  return 0;
}

static int
opt_info_go (struct conn *c, uint32_t opt, const uint8_t *data, uint32_t len)
{
  uint32_t namelen;
  uint16_t nreq, i, j;
  const uint8_t *reqs;
  const struct export *e;
  int idx;

  if (len < 6)
    return send_error (c, opt, REP_ERR_INVALID, "option too short");
  namelen = get32 (data);
  if (namelen > len - 6)
    return send_error (c, opt, REP_ERR_INVALID, "name length too long");
  nreq = get16 (data + 4 + namelen);
  if ((uint64_t) 4 + namelen + 2 + 2 * (uint64_t) nreq != len)
    return send_error (c, opt, REP_ERR_INVALID,
                       "option length does not match the request count");
  if (namelen > MAX_STRING || memchr (data + 4, 0, namelen) != NULL)
    return send_error (c, opt, REP_ERR_INVALID, "invalid export name");
  reqs = data + 4 + namelen + 2;

  idx = find_export (data + 4, namelen);
  if (namelen == 0 && c->tls && c->pre_tls_info_export >= 0)
    idx = c->pre_tls_info_export;     /* only reachable with keep-export */
  if (idx == -1)
    return send_error (c, opt, REP_ERR_UNKNOWN, "no such export");
  e = &exports[idx];
  if (!export_visible (c, e)) {
    if (tls_mode == TLS_OFF)
      return send_error (c, opt, REP_ERR_UNKNOWN, "no such export");
    return send_error (c, opt, REP_ERR_TLS_REQD,
                       "this export requires TLS");
  }

  if (send_info_export (c, opt, transmission_flags (c)) == -1)
    return -1;
  for (i = 0; i < nreq; ++i) {
    uint16_t type = get16 (reqs + 2 * i);
    bool dup = false;
    int r = 0;

    for (j = 0; j < i; ++j)
      if (get16 (reqs + 2 * j) == type)
        dup = true;
    if (dup)
      continue;
    switch (type) {
    case INFO_NAME:
      r = send_info_string (c, opt, INFO_NAME, e->name);
      break;
    case INFO_DESCRIPTION:
      r = send_info_string (c, opt, INFO_DESCRIPTION,
                            export_description (e));
      break;
    case INFO_BLOCK_SIZE:
      r = send_info_block_size (c, opt);
      break;
    default:                    /* INFO_EXPORT was sent already */
      break;
    }
    if (r == -1)
      return -1;
  }
  if (send_ack (c, opt) == -1)
    return -1;

  if (opt == OPT_INFO) {
    if (!c->tls)
      c->pre_tls_info_export = idx;
    return 0;
  }
  c->exp = e;
  c->tflags = transmission_flags (c);
  return OPT_TRANSMISSION;
}

static int
opt_simple_ack (struct conn *c, uint32_t opt, uint32_t len, bool *flag)
{
  if (len != 0)
    return send_error (c, opt, REP_ERR_INVALID, "option takes no data");
  if (opt == OPT_STRUCTURED_REPLY && c->eh)
    return send_error (c, opt, REP_ERR_EXT_HEADER_REQD,
                       "extended headers are already in use");
  *flag = true;
  if (send_ack (c, opt) == -1)
    return -1;
  if (FAULT (TWO_FINALS) && send_ack (c, opt) == -1)
    return -1;
  return 0;
}

/* Walk the query list of a LIST/SET_META_CONTEXT payload.  *POS must
 * start at the first query.  Returns 1 with the query in Q and QLEN,
 * 0 at the end, -1 if malformed.
 */
static int
meta_next_query (const uint8_t *data, uint32_t len, uint32_t *pos,
                 const uint8_t **q, uint32_t *qlen)
{
  if (*pos == len)
    return 0;
  if (len - *pos < 4)
    return -1;
  *qlen = get32 (data + *pos);
  if (*qlen > len - *pos - 4)
    return -1;
  *q = data + *pos + 4;
  *pos += 4 + *qlen;
  return 1;
}

static bool
query_is (const uint8_t *q, uint32_t qlen, const char *s)
{
  return qlen == strlen (s) && memcmp (q, s, qlen) == 0;
}

static int
opt_meta_context (struct conn *c, uint32_t opt, const uint8_t *data,
                  uint32_t len)
{
  bool set = opt == OPT_SET_META_CONTEXT;
  uint32_t namelen, nq, n, pos, qlen;
  const uint8_t *q;
  bool want_alloc = false, sent_alloc = false;
  int idx, r;

  if (set)
    meta_clear (c);             /* SET replaces, even when it fails */

  /* Syntax. */
  if (len < 8)
    return send_error (c, opt, REP_ERR_INVALID, "option too short");
  namelen = get32 (data);
  if (namelen > len - 8)
    return send_error (c, opt, REP_ERR_INVALID, "name length too long");
  nq = get32 (data + 4 + namelen);
  pos = 8 + namelen;
  for (n = 0; (r = meta_next_query (data, len, &pos, &q, &qlen)) == 1; ++n) {
    if (qlen > MAX_STRING || memchr (q, 0, qlen) != NULL)
      r = -1;
    if (r == -1)
      break;
    if (query_is (q, qlen, BASE_ALLOCATION)
        || (!set && query_is (q, qlen, "base:")))
      want_alloc = true;
  }
  if (r == -1 || n != nq)
    return send_error (c, opt, REP_ERR_INVALID, "malformed query list");
  if (namelen > MAX_STRING || memchr (data + 4, 0, namelen) != NULL)
    return send_error (c, opt, REP_ERR_INVALID, "invalid export name");

  /* Semantics. */
  if (set && !c->sr && !c->eh)
    return send_error (c, opt, REP_ERR_INVALID,
                       "structured replies have not been negotiated");
  idx = find_export (data + 4, namelen);
  if (idx == -1 || !export_visible (c, &exports[idx]))
    return send_error (c, opt, REP_ERR_UNKNOWN, "no such export");
  if (!set && nq == 0)
    want_alloc = true;

  if (!set) {
    if (want_alloc
        && send_meta_context (c, opt, 0, BASE_ALLOCATION,
                              strlen (BASE_ALLOCATION)) == -1)
      return -1;
    return send_ack (c, opt);
  }

  /* SET: answer in query order. */
  pos = 8 + namelen;
  while (meta_next_query (data, len, &pos, &q, &qlen) == 1) {
    if (query_is (q, qlen, BASE_ALLOCATION)) {
      if (sent_alloc)
        continue;
      sent_alloc = true;
      if (send_meta_context (c, opt, BASE_ALLOCATION_ID, q, qlen) == -1)
        return -1;
    }
    else if (FAULT (DUP_CONTEXT_ID) && want_alloc && qlen > 0
             && q[qlen - 1] != ':') {
      if (send_meta_context (c, opt, BASE_ALLOCATION_ID, q, qlen) == -1)
        return -1;
    }
  }
  if (FAULT (META_UNREQUESTED)
      && send_meta_context (c, opt, UNREQUESTED_ID, UNREQUESTED_CONTEXT,
                            strlen (UNREQUESTED_CONTEXT)) == -1)
    return -1;
  if (want_alloc) {
    c->meta_valid = true;
    c->meta_export = strndup ((const char *) data + 4, namelen);
    if (c->meta_export == NULL) {
      perror ("strndup");
      exit (1);
    }
  }
  return send_ack (c, opt);
}

/* One option from the fixed-newstyle loop. */
static int
handle_option (struct conn *c, uint32_t opt, const uint8_t *data,
               uint32_t len)
{
  debug ("option %u (%s) len %u%s", opt, option_name (opt), len,
         c->tls ? " [TLS]" : "");

  if (opt == OPT_EXPORT_NAME)
    return opt_export_name (c, data, len);
  if (opt == OPT_ABORT) {
    send_ack (c, opt);          /* the client may close without reading */
    return OPT_END;
  }
  if (opt == OPT_STARTTLS)
    return opt_starttls (c, opt, len);

  /* FORCEDTLS: nothing else works before TLS. */
  if (tls_mode == TLS_REQUIRE && !c->tls)
    return send_error (c, opt, REP_ERR_TLS_REQD, "TLS required");

  switch (opt) {
  case OPT_LIST:
    return opt_list (c, opt, len);
  case OPT_INFO:
  case OPT_GO:
    return opt_info_go (c, opt, data, len);
  case OPT_STRUCTURED_REPLY:
    return opt_simple_ack (c, opt, len, &c->sr);
  case OPT_EXTENDED_HEADERS:
    return opt_simple_ack (c, opt, len, &c->eh);
  case OPT_LIST_META_CONTEXT:
  case OPT_SET_META_CONTEXT:
    return opt_meta_context (c, opt, data, len);
  default:
    return send_error (c, opt, REP_ERR_UNSUP, "unsupported option");
  }
}

/* Read one option header and payload.  Returns 0, or -1 to drop. */
static int
read_option (struct conn *c, uint32_t *opt, uint8_t *data, uint32_t *len)
{
  uint8_t hdr[16];

  if (conn_read (c, hdr, sizeof hdr) == -1)
    return -1;
  if (get64 (hdr) != IHAVEOPT) {
    debug ("bad option magic 0x%016llx: closing",
           (unsigned long long) get64 (hdr));
    return -1;
  }
  *opt = get32 (hdr + 8);
  *len = get32 (hdr + 12);
  if (*len > MAX_OPTION_LEN) {
    debug ("option %u with length %u is too long: closing", *opt, *len);
    return -1;
  }
  return conn_read (c, data, *len);
}

/* Handshake phase after the greeting.  Returns OPT_TRANSMISSION,
 * OPT_END or OPT_DROP.
 */
static int
negotiate (struct conn *c)
{
  static uint8_t data[MAX_OPTION_LEN];
  uint8_t buf[18];
  uint32_t cflags, allowed, opt, len;
  uint16_t gflags = FLAG_NO_ZEROES | (no_fixed ? 0 : FLAG_FIXED_NEWSTYLE);

  put64 (buf, NBDMAGIC);
  put64 (buf + 8, IHAVEOPT);
  put16 (buf + 16, gflags);
  if (conn_write (c, buf, 18) == -1)
    return OPT_DROP;

  if (conn_read (c, buf, 4) == -1)
    return OPT_DROP;
  cflags = get32 (buf);
  allowed = FLAG_C_NO_ZEROES | (no_fixed ? 0 : FLAG_C_FIXED_NEWSTYLE);
  if (cflags & ~allowed) {
    debug ("client flags 0x%x not acceptable: closing", cflags);
    return OPT_DROP;
  }
  c->fixed = (cflags & FLAG_C_FIXED_NEWSTYLE) != 0;
  c->no_zeroes = (cflags & FLAG_C_NO_ZEROES) != 0;
  debug ("client flags 0x%x", cflags);

  if (c->fixed && FAULT (UNSOLICITED_REPLY) && send_ack (c, OPT_LIST) == -1)
    return OPT_DROP;

  for (;;) {
    int r;

    if (read_option (c, &opt, data, &len) == -1)
      return OPT_DROP;
    if (!c->fixed) {
      /* Plain newstyle: only EXPORT_NAME, NOTLS mode. */
      if (opt != OPT_EXPORT_NAME) {
        debug ("option %u without fixed newstyle: closing", opt);
        return OPT_DROP;
      }
      return opt_export_name (c, data, len);
    }
    r = handle_option (c, opt, data, len);
    if (r != OPT_CONTINUE)
      return r;
  }
}

/* ------------------------------------------------------------------ */
/* Transmission phase.                                                 */

struct request
{
  uint16_t flags;
  uint16_t type;
  uint64_t cookie;
  uint64_t offset;
  uint64_t length;
  bool ext;                     /* arrived with the extended header */
};

enum reply_mode { REPLY_SIMPLE, REPLY_STRUCTURED, REPLY_EXTENDED };

static enum reply_mode
reply_mode (const struct conn *c)
{
  if (c->eh)
    return REPLY_EXTENDED;
  if (c->sr || FAULT (SR_WITHOUT_NEGOTIATION))
    return REPLY_STRUCTURED;
  return REPLY_SIMPLE;
}

static uint64_t
reply_cookie (const struct request *req)
{
  return FAULT (BAD_COOKIE) ? ~req->cookie : req->cookie;
}

static int
send_simple (struct conn *c, const struct request *req, uint32_t error,
             const void *data, size_t len)
{
  uint8_t hdr[16];

  put32 (hdr, SIMPLE_REPLY_MAGIC);
  put32 (hdr + 4, error);
  put64 (hdr + 8, reply_cookie (req));
  if (conn_write (c, hdr, sizeof hdr) == -1)
    return -1;
  if (len > 0 && conn_write (c, data, len) == -1)
    return -1;
  return 0;
}

/* One structured or extended chunk: header, then P1 (small, may be
 * NULL), then P2 (may be NULL).
 */
static int
send_chunk (struct conn *c, const struct request *req, uint16_t flags,
            uint16_t type, const void *p1, size_t l1,
            const void *p2, size_t l2)
{
  uint8_t hdr[32 + 32];
  size_t h;

  if (reply_mode (c) == REPLY_EXTENDED) {
    put32 (hdr, EXT_REPLY_MAGIC);
    put16 (hdr + 4, flags);
    put16 (hdr + 6, type);
    put64 (hdr + 8, reply_cookie (req));
    put64 (hdr + 16, req->offset);
    put64 (hdr + 24, l1 + l2);
    h = 32;
  }
  else {
    put32 (hdr, STRUCTURED_REPLY_MAGIC);
    put16 (hdr + 4, flags);
    put16 (hdr + 6, type);
    put64 (hdr + 8, reply_cookie (req));
    put32 (hdr + 16, (uint32_t) (l1 + l2));
    h = 20;
  }
  if (l1 > 0 && l1 <= 32) {     /* coalesce small payloads */
    memcpy (hdr + h, p1, l1);
    h += l1;
    l1 = 0;
  }
  if (conn_write (c, hdr, h) == -1)
    return -1;
  if (l1 > 0 && conn_write (c, p1, l1) == -1)
    return -1;
  if (l2 > 0 && conn_write (c, p2, l2) == -1)
    return -1;
  return 0;
}

static int
reply_ok (struct conn *c, const struct request *req)
{
  if (reply_mode (c) == REPLY_SIMPLE)
    return send_simple (c, req, 0, NULL, 0);
  /* none-no-done: a NONE chunk without DONE first. */
  if (FAULT (NONE_NO_DONE)
      && send_chunk (c, req, 0, REPLY_TYPE_NONE, NULL, 0, NULL, 0) == -1)
    return -1;
  return send_chunk (c, req, REPLY_FLAG_DONE, REPLY_TYPE_NONE,
                     NULL, 0, NULL, 0);
}

static int
reply_error (struct conn *c, const struct request *req, uint32_t error,
             const char *msg)
{
  uint8_t buf[6];
  size_t n = strlen (msg);

  debug ("  error %u: %s", error, msg);
  if (reply_mode (c) == REPLY_SIMPLE)
    return send_simple (c, req, error, NULL, 0);
  put32 (buf, error);
  put16 (buf + 4, (uint16_t) n);
  return send_chunk (c, req, REPLY_FLAG_DONE, REPLY_TYPE_ERROR,
                     buf, sizeof buf, msg, n);
}

/* True if [off, off+len) is not entirely inside the export. */
static bool
out_of_range (uint64_t off, uint64_t len)
{
  return off > export_size || len > export_size - off;
}

/* The transmission faults of a structured READ reply; 1 if one was
 * sent instead of the correct reply.
 */
static int
faulty_read (struct conn *c, const struct request *req)
{
  uint64_t off = req->offset;
  uint8_t o[12];

  if (FAULT (CHUNK_OUTSIDE)) {
    /* The data, labelled with an offset just past the request. */
    put64 (o, off + req->length);
    return send_chunk (c, req, REPLY_FLAG_DONE, REPLY_TYPE_OFFSET_DATA,
                       o, 8, disk + off, req->length) == -1 ? -1 : 1;
  }
  if (FAULT (CHUNK_OVERLAP)) {
    /* The same data twice. */
    put64 (o, off);
    if (send_chunk (c, req, 0, REPLY_TYPE_OFFSET_DATA,
                    o, 8, disk + off, req->length) == -1)
      return -1;
    return send_chunk (c, req, REPLY_FLAG_DONE, REPLY_TYPE_OFFSET_DATA,
                       o, 8, disk + off, req->length) == -1 ? -1 : 1;
  }
  if (FAULT (NO_DONE)) {
    /* All the data, but never the DONE flag. */
    put64 (o, off);
    return send_chunk (c, req, 0, REPLY_TYPE_OFFSET_DATA,
                       o, 8, disk + off, req->length) == -1 ? -1 : 1;
  }
  if (FAULT (HOLE_ZERO)) {
    /* A hole of size 0, then the data. */
    put64 (o, off);
    put32 (o + 8, 0);
    if (send_chunk (c, req, 0, REPLY_TYPE_OFFSET_HOLE, o, 12, NULL, 0) == -1)
      return -1;
    return send_chunk (c, req, REPLY_FLAG_DONE, REPLY_TYPE_OFFSET_DATA,
                       o, 8, disk + off, req->length) == -1 ? -1 : 1;
  }
  if (FAULT (ERROR_UNDEFINED))
    return reply_error (c, req, 42, "error 42 is not in the spec") == -1
      ? -1 : 1;
  return 0;
}

static int
do_read (struct conn *c, const struct request *req)
{
  uint64_t off = req->offset, end = req->offset + req->length;
  int f;

  if (reply_mode (c) == REPLY_SIMPLE && FAULT (ERROR_UNDEFINED))
    return send_simple (c, req, 42, NULL, 0);
  if (reply_mode (c) == REPLY_SIMPLE && FAULT (SIMPLE_LONG)) {
    /* 8 bytes more than asked for. */
    static const uint8_t extra[8] = { 0xee, 0xee, 0xee, 0xee,
                                      0xee, 0xee, 0xee, 0xee };
    if (send_simple (c, req, 0, disk + off, req->length) == -1)
      return -1;
    return conn_write (c, extra, sizeof extra);
  }
  if (reply_mode (c) == REPLY_SIMPLE)
    return send_simple (c, req, 0, disk + off, req->length);
  if (req->length == 0)
    return reply_ok (c, req);
  f = faulty_read (c, req);
  if (f != 0)
    return f < 0 ? -1 : 0;
  if (req->flags & CMD_FLAG_DF) {
    uint8_t o[8];

    put64 (o, off);
    return send_chunk (c, req, REPLY_FLAG_DONE, REPLY_TYPE_OFFSET_DATA,
                       o, 8, disk + off, req->length);
  }
  while (off < end) {
    bool allocated;
    uint64_t n = disk_run (off, end, &allocated);
    uint16_t flags = off + n == end ? REPLY_FLAG_DONE : 0;
    uint8_t buf[12];

    put64 (buf, off);
    if (allocated) {
      if (send_chunk (c, req, flags, REPLY_TYPE_OFFSET_DATA,
                      buf, 8, disk + off, n) == -1)
        return -1;
    }
    else {
      put32 (buf + 8, (uint32_t) n);
      if (send_chunk (c, req, flags, REPLY_TYPE_OFFSET_HOLE,
                      buf, 12, NULL, 0) == -1)
        return -1;
    }
    off += n;
  }
  return 0;
}

static int
do_block_status (struct conn *c, const struct request *req)
{
  bool ext = reply_mode (c) == REPLY_EXTENDED;
  size_t esize = ext ? 16 : 8, hsize = ext ? 8 : 4, n = 0, r;
  uint64_t off = req->offset, end = req->offset + req->length;
  uint8_t *buf;

  if (reply_mode (c) == REPLY_SIMPLE || !c->meta_valid
      || strcmp (c->meta_export, c->exp->name) != 0)
    return reply_error (c, req, NBD_EINVAL,
                        "no metadata context selected for this export");
  if (req->length == 0 || out_of_range (req->offset, req->length))
    return reply_error (c, req, NBD_EINVAL, "request out of range");

  buf = malloc (hsize + esize * ((req->length + ALLOC_BLOCK - 1)
                                 / ALLOC_BLOCK + 2));
  if (buf == NULL) {
    perror ("malloc");
    exit (1);
  }
  while (off < end) {
    bool allocated;
    uint64_t len = disk_run (off, end, &allocated);
    uint8_t *e = buf + hsize + esize * n++;
    uint32_t status = allocated ? 0 : STATE_HOLE | STATE_ZERO;

    if (ext) {
      put64 (e, len);
      put64 (e + 8, status);
    }
    else {
      put32 (e, (uint32_t) len);
      put32 (e + 4, status);
    }
    off += len;
    if (req->flags & CMD_FLAG_REQ_ONE)
      break;
  }
  if (FAULT (BS_EMPTY_EXTENT) || FAULT (BS_BEYOND)) {
    /* bs-empty-extent: a first extent of length 0; bs-beyond: a first
     * extent covering the whole request, then another.
     */
    uint64_t first = FAULT (BS_EMPTY_EXTENT) ? 0 : req->length;
    n = 2;
    if (ext) {
      put64 (buf + hsize, first);
      put64 (buf + hsize + 8, 0);
      put64 (buf + hsize + 16, 4096);
      put64 (buf + hsize + 24, 0);
    }
    else {
      put32 (buf + hsize, (uint32_t) first);
      put32 (buf + hsize + 4, 0);
      put32 (buf + hsize + 8, 4096);
      put32 (buf + hsize + 12, 0);
    }
  }
  if (FAULT (BS_NO_EXTENTS))
    n = 0;
  put32 (buf, BASE_ALLOCATION_ID);
  if (ext)
    put32 (buf + 4, (uint32_t) n);
  r = send_chunk (c, req, FAULT (BS_UNKNOWN_CONTEXT) ? 0 : REPLY_FLAG_DONE,
                  ext ? REPLY_TYPE_BLOCK_STATUS_EXT : REPLY_TYPE_BLOCK_STATUS,
                  NULL, 0, buf, hsize + esize * n);
  if (r == 0 && FAULT (BS_UNKNOWN_CONTEXT)) {
    /* A second chunk for a context id never given out. */
    put32 (buf, 99);
    r = send_chunk (c, req, REPLY_FLAG_DONE,
                    ext ? REPLY_TYPE_BLOCK_STATUS_EXT
                    : REPLY_TYPE_BLOCK_STATUS,
                    NULL, 0, buf, hsize + esize * n);
  }
  free (buf);
  return (int) r;
}

static const char *
command_name (uint16_t type)
{
  switch (type) {
  case CMD_READ: return "READ";
  case CMD_WRITE: return "WRITE";
  case CMD_DISC: return "DISC";
  case CMD_FLUSH: return "FLUSH";
  case CMD_TRIM: return "TRIM";
  case CMD_CACHE: return "CACHE";
  case CMD_WRITE_ZEROES: return "WRITE_ZEROES";
  case CMD_BLOCK_STATUS: return "BLOCK_STATUS";
  default: return "unknown";
  }
}

/* Flags valid for a command (FUA is valid everywhere, as advertised). */
static uint16_t
allowed_flags (const struct conn *c, uint16_t type)
{
  switch (type) {
  case CMD_READ:
    return CMD_FLAG_FUA | ((c->tflags & TF_SEND_DF) ? CMD_FLAG_DF : 0);
  case CMD_WRITE_ZEROES:
    return CMD_FLAG_FUA | CMD_FLAG_NO_HOLE | CMD_FLAG_FAST_ZERO;
  case CMD_BLOCK_STATUS:
    return CMD_FLAG_FUA | CMD_FLAG_REQ_ONE;
  default:
    return CMD_FLAG_FUA;
  }
}

/* Returns 0 to go on, OPT_END after DISC, -1 to drop. */
static int
handle_request (struct conn *c, struct request *req)
{
  static uint8_t *payload;
  uint64_t plen = 0;
  uint16_t flags = req->flags;

  debug ("command %s flags 0x%x cookie 0x%llx offset %llu length %llu%s",
         command_name (req->type), flags, (unsigned long long) req->cookie,
         (unsigned long long) req->offset, (unsigned long long) req->length,
         req->ext ? " [ext]" : "");

  /* Payload: compact WRITE always; extended only with PAYLOAD_LEN. */
  if (req->ext ? (flags & CMD_FLAG_PAYLOAD_LEN) != 0
      : req->type == CMD_WRITE)
    plen = req->length;
  if (plen > MAX_PAYLOAD) {
    debug ("payload of %llu bytes exceeds the maximum: closing",
           (unsigned long long) plen);
    return -1;
  }
  if (plen > 0) {
    if (payload == NULL && (payload = malloc (MAX_PAYLOAD)) == NULL) {
      perror ("malloc");
      exit (1);
    }
    if (conn_read (c, payload, plen) == -1)
      return -1;
  }
  if (req->ext)
    flags &= ~CMD_FLAG_PAYLOAD_LEN;

  if (req->type == CMD_DISC) {
    if (FAULT (REPLY_TO_DISC))
      reply_ok (c, req);
    return OPT_END;
  }
  if (flags & ~allowed_flags (c, req->type))
    return reply_error (c, req, NBD_EINVAL, "invalid command flags");
  if (req->ext && (req->flags & CMD_FLAG_PAYLOAD_LEN)
      && req->type != CMD_WRITE)
    return reply_error (c, req, NBD_EINVAL, "unexpected payload");
  if (req->type == CMD_WRITE && plen != req->length)
    return reply_error (c, req, NBD_EINVAL, "WRITE without payload");

  switch (req->type) {
  case CMD_READ:
    if (out_of_range (req->offset, req->length))
      return reply_error (c, req, NBD_EINVAL, "request out of range");
    if (req->length > MAX_PAYLOAD)
      return reply_error (c, req, NBD_EINVAL, "request too large");
    return do_read (c, req);

  case CMD_WRITE:
    if (out_of_range (req->offset, req->length))
      return reply_error (c, req, NBD_ENOSPC, "write beyond end of export");
    if (req->length > 0) {
      memcpy (disk + req->offset, payload, req->length);
      disk_mark (req->offset, req->length, true);
    }
    return reply_ok (c, req);

  case CMD_FLUSH:
    if (req->offset != 0 || req->length != 0)
      return reply_error (c, req, NBD_EINVAL,
                          "FLUSH needs zero offset and length");
    return reply_ok (c, req);

  case CMD_TRIM:
  case CMD_CACHE:
    if (out_of_range (req->offset, req->length))
      return reply_error (c, req, NBD_EINVAL, "request out of range");
    if (req->type == CMD_TRIM && req->length > 0)
      disk_zero (req->offset, req->length, true);
    return reply_ok (c, req);

  case CMD_WRITE_ZEROES:
    if (out_of_range (req->offset, req->length))
      return reply_error (c, req, NBD_ENOSPC, "write beyond end of export");
    if (req->length > 0)
      disk_zero (req->offset, req->length,
                 (flags & CMD_FLAG_NO_HOLE) == 0);
    return reply_ok (c, req);

  case CMD_BLOCK_STATUS:
    return do_block_status (c, req);

  default:
    return reply_error (c, req, NBD_EINVAL, "unknown command");
  }
}

static int
transmission (struct conn *c)
{
  debug ("transmission: export \"%s\" flags 0x%x, %s replies", c->exp->name,
         c->tflags, reply_mode (c) == REPLY_EXTENDED ? "extended"
         : reply_mode (c) == REPLY_STRUCTURED ? "structured" : "simple");
  disk_init ();

  for (;;) {
    uint8_t hdr[32];
    struct request req;
    uint32_t magic;
    int r;

    if (conn_read (c, hdr, 4) == -1)
      return -1;
    magic = get32 (hdr);
    /* Accept both header sizes so that a state-keeping fault shows up
     * in the replies rather than as a disconnect.
     */
    if (magic == REQUEST_MAGIC) {
      if (conn_read (c, hdr + 4, 24) == -1)
        return -1;
      req.length = get32 (hdr + 24);
      req.ext = false;
    }
    else if (magic == EXT_REQUEST_MAGIC) {
      if (conn_read (c, hdr + 4, 28) == -1)
        return -1;
      req.length = get64 (hdr + 24);
      req.ext = true;
    }
    else {
      debug ("bad request magic 0x%08x: closing", magic);
      return -1;
    }
    req.flags = get16 (hdr + 4);
    req.type = get16 (hdr + 6);
    req.cookie = get64 (hdr + 8);
    req.offset = get64 (hdr + 16);

    r = handle_request (c, &req);
    if (r != 0)
      return r;
  }
}

/* ------------------------------------------------------------------ */
/* A whole session on one connection.                                  */

static int
serve_connection (int in_fd, int out_fd)
{
  struct conn conn = {
    .in_fd = in_fd, .out_fd = out_fd, .pre_tls_info_export = -1
  };
  struct conn *c = &conn;
  int r;

  /* Hard cap on the lifetime of one session. */
  alarm ((unsigned int) timeout_secs * 20);

  if (greeting == GREETING_GARBAGE) {
    static const uint8_t garbage[16] = {
      0x9c, 0x3e, 0x51, 0xd7, 0x08, 0xb2, 0x6f, 0xe4,
      0x2a, 0x91, 0xc5, 0x73, 0x1d, 0xf0, 0x46, 0xbb
    };
    conn_write (c, garbage, sizeof garbage);
    conn_close (c, false);
    return 0;
  }
  if (greeting == GREETING_TRUNCATED) {
    uint8_t buf[16];

    put64 (buf, NBDMAGIC);
    put64 (buf + 8, IHAVEOPT);
    conn_write (c, buf, 10);
    conn_close (c, false);
    return 0;
  }

  if (oldstyle) {
    uint8_t buf[152] = { 0 };

    c->exp = &exports[0];
    c->tflags = transmission_flags (c);
    put64 (buf, NBDMAGIC);
    put64 (buf + 8, CLISERV_MAGIC);
    put64 (buf + 16, export_size);
    put32 (buf + 24, c->tflags);
    r = conn_write (c, buf, sizeof buf) == -1 ? OPT_DROP : OPT_TRANSMISSION;
  }
  else
    r = negotiate (c);

  if (r == OPT_TRANSMISSION)
    r = transmission (c);
  conn_close (c, r == OPT_END);
  debug ("session ended (%s)", r == OPT_END ? "clean" : "dropped");
  return r == OPT_END ? 0 : 1;
}

/* ------------------------------------------------------------------ */
/* Listening.                                                          */

static void
write_pidfile (void)
{
  char tmp[PATH_MAX];
  FILE *fp;

  if (pidfile == NULL)
    return;
  snprintf (tmp, sizeof tmp, "%s.tmp%ld", pidfile, (long) getpid ());
  fp = fopen (tmp, "w");
  if (fp == NULL || fprintf (fp, "%ld\n", (long) getpid ()) < 0
      || fclose (fp) != 0 || rename (tmp, pidfile) == -1) {
    fprintf (stderr, "flawed-server: writing %s: %s\n", pidfile,
             strerror (errno));
    exit (1);
  }
}

static void
remove_socket (void)
{
  if (unlink_socket_at_exit && unix_path)
    unlink (unix_path);
}

static void
quit_handler (int sig)
{
  quit_signal = sig;
}

static int
open_listener (void)
{
  int fd;

  if (unix_path) {
    struct sockaddr_un sun = { .sun_family = AF_UNIX };
    struct stat st;

    if (strlen (unix_path) >= sizeof sun.sun_path) {
      fprintf (stderr, "flawed-server: socket path too long\n");
      exit (2);
    }
    strcpy (sun.sun_path, unix_path);
    if (lstat (unix_path, &st) == 0 && S_ISSOCK (st.st_mode))
      unlink (unix_path);
    fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd == -1 || bind (fd, (struct sockaddr *) &sun, sizeof sun) == -1)
      goto error;
    unlink_socket_at_exit = true;
  }
  else {
    struct sockaddr_in sin = { .sin_family = AF_INET };
    socklen_t slen = sizeof sin;
    int one = 1;

    sin.sin_port = htons ((uint16_t) tcp_port);
    sin.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
    fd = socket (AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd == -1
        || setsockopt (fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) == -1
        || bind (fd, (struct sockaddr *) &sin, sizeof sin) == -1
        || getsockname (fd, (struct sockaddr *) &sin, &slen) == -1)
      goto error;
    if (tcp_port == 0)
      fprintf (stderr, "flawed-server: listening on 127.0.0.1:%d\n",
               ntohs (sin.sin_port));
  }
  if (listen (fd, 16) == -1)
    goto error;
  return fd;

 error:
  fprintf (stderr, "flawed-server: %s: %s\n",
           unix_path ? unix_path : "127.0.0.1", strerror (errno));
  exit (1);
}

/* Accept one connection, or -1 after the idle timeout or a signal. */
static int
accept_one (int lfd)
{
  for (;;) {
    struct pollfd p = { .fd = lfd, .events = POLLIN };
    int r, fd;

    if (quit_signal)
      return -1;
    r = poll (&p, 1, timeout_ms ());
    if (r == -1 && errno == EINTR)
      continue;
    if (r <= 0) {
      debug ("no connection within %d seconds", timeout_secs);
      return -1;
    }
    fd = accept4 (lfd, NULL, NULL, SOCK_CLOEXEC);
    if (fd == -1 && (errno == EINTR || errno == ECONNABORTED
                     || errno == EAGAIN))
      continue;
    if (fd == -1)
      perror ("flawed-server: accept");
    return fd;
  }
}

static int
listen_and_serve (void)
{
  struct sigaction sa = { .sa_handler = quit_handler };
  int lfd, fd;

  sigemptyset (&sa.sa_mask);
  sigaction (SIGTERM, &sa, NULL);
  sigaction (SIGINT, &sa, NULL);
  atexit (remove_socket);

  lfd = open_listener ();
  write_pidfile ();

  if (!serve_many) {
    fd = accept_one (lfd);
    close (lfd);
    remove_socket ();
    if (fd == -1)
      return 1;
    signal (SIGTERM, SIG_DFL);
    signal (SIGINT, SIG_DFL);
    return serve_connection (fd, fd);
  }

  signal (SIGCHLD, SIG_IGN);    /* children are reaped automatically */
  while ((fd = accept_one (lfd)) != -1) {
    pid_t pid = fork ();

    if (pid == -1) {
      perror ("flawed-server: fork");
      close (fd);
      continue;
    }
    if (pid == 0) {
      unlink_socket_at_exit = false;
      close (lfd);
      signal (SIGTERM, SIG_DFL);
      signal (SIGINT, SIG_DFL);
      _exit (serve_connection (fd, fd));
    }
    close (fd);
  }
  close (lfd);
  return quit_signal ? 0 : 1;
}

/* systemd socket activation (LISTEN_PID/LISTEN_FDS, listening socket
 * on fd 3), as used by libnbd's nbd_connect_systemd_socket_activation
 * and the "[ CMD ]" syntax of nbdinfo and nbdcopy.
 */
static bool
socket_activated (void)
{
  const char *pid = getenv ("LISTEN_PID"), *fds = getenv ("LISTEN_FDS");

  return pid && fds && strtol (pid, NULL, 10) == (long) getpid ()
    && strtol (fds, NULL, 10) >= 1;
}

static int
serve_socket_activation (void)
{
  int fd;

  write_pidfile ();
  fd = accept_one (3);
  close (3);
  if (fd == -1)
    return 1;
  return serve_connection (fd, fd);
}

/* ------------------------------------------------------------------ */
/* Command line.                                                       */

static void
usage (FILE *fp)
{
  fprintf (fp,
"Usage: flawed-server [OPTIONS]\n"
"A deliberately configurable NBD server for nbdcli's tests.\n"
"Serves one connection on stdin/stdout unless -U or -p is given.\n"
"\n"
"  -U, --unix PATH            listen on a Unix socket\n"
"  -p, --port PORT            listen on 127.0.0.1:PORT (0: any, printed)\n"
"      --serve-many           with -U/-p: fork a child per connection\n"
"      --pidfile FILE         write the pid once listening\n"
"      --timeout SECS         idle timeout (default 30); a session ends\n"
"                             after 20 x SECS in any case\n"
"      --export NAME          add an export (repeatable; default \"\" and"
" \"disk\")\n"
"      --tls-only-export NAME mark (or add) an export as TLS-only\n"
"      --size N               export size in bytes, K/M/G suffixes"
" (default 1M)\n"
"      --tls=off|on|require   TLS mode (default off)\n"
"      --tls-certificates DIR ca-cert.pem, server-cert.pem, server-key.pem\n"
"      --tls-verify-peer      require a client certificate\n"
"      --tls-psk FILE         PSK file in psktool format (user:hexkey)\n"
"      --oldstyle             oldstyle greeting, then transmission\n"
"      --greeting=normal|garbage|truncated\n"
"      --no-fixed             newstyle without NBD_FLAG_FIXED_NEWSTYLE\n"
"      --fault NAME           inject a protocol violation (repeatable)\n"
"      --list-faults          list fault names and exit\n"
"  -v, --verbose              trace the session on stderr\n"
"  -h, --help                 this help\n");
}

static void
add_export (const char *name, bool tls_only)
{
  size_t i;

  if (strlen (name) > MAX_STRING) {
    fprintf (stderr, "flawed-server: export name too long\n");
    exit (2);
  }
  for (i = 0; i < nr_exports; ++i)
    if (strcmp (exports[i].name, name) == 0) {
      exports[i].tls_only |= tls_only;
      return;
    }
  if (nr_exports == MAX_EXPORTS) {
    fprintf (stderr, "flawed-server: too many exports\n");
    exit (2);
  }
  exports[nr_exports].name = strdup (name);
  exports[nr_exports].tls_only = tls_only;
  if (exports[nr_exports].name == NULL) {
    perror ("strdup");
    exit (1);
  }
  nr_exports++;
}

static uint64_t
parse_size (const char *s)
{
  char *end;
  unsigned long long v;
  uint64_t mult = 1;

  errno = 0;
  v = strtoull (s, &end, 0);
  if (errno || end == s || *s == '-')
    goto bad;
  switch (*end) {
  case 'k': case 'K': mult = 1024; end++; break;
  case 'm': case 'M': mult = 1024 * 1024; end++; break;
  case 'g': case 'G': mult = 1024 * 1024 * 1024; end++; break;
  default: break;
  }
  if (*end != '\0' || v > MAX_SIZE / mult)
    goto bad;
  return v * mult;

 bad:
  fprintf (stderr, "flawed-server: invalid --size %s (at most 1G)\n", s);
  exit (2);
}

static int
parse_int (const char *s, const char *what, int min, int max)
{
  char *end;
  long v;

  errno = 0;
  v = strtol (s, &end, 10);
  if (errno || end == s || *end != '\0' || v < min || v > max) {
    fprintf (stderr, "flawed-server: invalid %s: %s\n", what, s);
    exit (2);
  }
  return (int) v;
}

enum
{
  OPT_SERVE_MANY = 256,
  OPT_PIDFILE,
  OPT_TIMEOUT,
  OPT_EXPORT,
  OPT_TLS_ONLY_EXPORT,
  OPT_SIZE,
  OPT_TLS,
  OPT_TLS_CERTIFICATES,
  OPT_TLS_VERIFY_PEER,
  OPT_TLS_PSK,
  OPT_OLDSTYLE,
  OPT_GREETING,
  OPT_NO_FIXED,
  OPT_FAULT,
  OPT_LIST_FAULTS
};

static const struct option long_options[] = {
  { "unix", required_argument, NULL, 'U' },
  { "port", required_argument, NULL, 'p' },
  { "serve-many", no_argument, NULL, OPT_SERVE_MANY },
  { "pidfile", required_argument, NULL, OPT_PIDFILE },
  { "timeout", required_argument, NULL, OPT_TIMEOUT },
  { "export", required_argument, NULL, OPT_EXPORT },
  { "tls-only-export", required_argument, NULL, OPT_TLS_ONLY_EXPORT },
  { "size", required_argument, NULL, OPT_SIZE },
  { "tls", required_argument, NULL, OPT_TLS },
  { "tls-certificates", required_argument, NULL, OPT_TLS_CERTIFICATES },
  { "tls-verify-peer", no_argument, NULL, OPT_TLS_VERIFY_PEER },
  { "tls-psk", required_argument, NULL, OPT_TLS_PSK },
  { "oldstyle", no_argument, NULL, OPT_OLDSTYLE },
  { "greeting", required_argument, NULL, OPT_GREETING },
  { "no-fixed", no_argument, NULL, OPT_NO_FIXED },
  { "fault", required_argument, NULL, OPT_FAULT },
  { "list-faults", no_argument, NULL, OPT_LIST_FAULTS },
  { "verbose", no_argument, NULL, 'v' },
  { "help", no_argument, NULL, 'h' },
  { NULL, 0, NULL, 0 }
};

int
main (int argc, char *argv[])
{
  const char *tls_only[MAX_EXPORTS];
  size_t nr_tls_only = 0, i;
  int opt, f;

  while ((opt = getopt_long (argc, argv, "U:p:vh", long_options, NULL))
         != -1) {
    switch (opt) {
    case 'U':
      unix_path = optarg;
      break;
    case 'p':
      tcp_port = parse_int (optarg, "port", 0, 65535);
      break;
    case OPT_SERVE_MANY:
      serve_many = true;
      break;
    case OPT_PIDFILE:
      pidfile = optarg;
      break;
    case OPT_TIMEOUT:
      timeout_secs = parse_int (optarg, "timeout", 1, 3600);
      break;
    case OPT_EXPORT:
      add_export (optarg, false);
      break;
    case OPT_TLS_ONLY_EXPORT:
      if (nr_tls_only == MAX_EXPORTS) {
        fprintf (stderr, "flawed-server: too many exports\n");
        exit (2);
      }
      tls_only[nr_tls_only++] = optarg;
      break;
    case OPT_SIZE:
      export_size = parse_size (optarg);
      break;
    case OPT_TLS:
      if (strcmp (optarg, "off") == 0)
        tls_mode = TLS_OFF;
      else if (strcmp (optarg, "on") == 0)
        tls_mode = TLS_ON;
      else if (strcmp (optarg, "require") == 0)
        tls_mode = TLS_REQUIRE;
      else {
        fprintf (stderr, "flawed-server: --tls must be off, on or require\n");
        exit (2);
      }
      break;
    case OPT_TLS_CERTIFICATES:
      tls_cert_dir = optarg;
      break;
    case OPT_TLS_VERIFY_PEER:
      tls_verify_peer = true;
      break;
    case OPT_TLS_PSK:
      tls_psk_file = optarg;
      break;
    case OPT_OLDSTYLE:
      oldstyle = true;
      break;
    case OPT_GREETING:
      if (strcmp (optarg, "normal") == 0)
        greeting = GREETING_NORMAL;
      else if (strcmp (optarg, "garbage") == 0)
        greeting = GREETING_GARBAGE;
      else if (strcmp (optarg, "truncated") == 0)
        greeting = GREETING_TRUNCATED;
      else {
        fprintf (stderr, "flawed-server: --greeting must be normal, "
                 "garbage or truncated\n");
        exit (2);
      }
      break;
    case OPT_NO_FIXED:
      no_fixed = true;
      break;
    case OPT_FAULT:
      for (f = 0; f < NR_FAULTS; ++f)
        if (strcmp (optarg, fault_names[f]) == 0)
          break;
      if (f == NR_FAULTS) {
        fprintf (stderr, "flawed-server: unknown fault %s\n", optarg);
        exit (2);
      }
      faults[f] = true;
      break;
    case OPT_LIST_FAULTS:
      for (f = 0; f < NR_FAULTS; ++f)
        printf ("%s\n", fault_names[f]);
      exit (0);
    case 'v':
      verbose = true;
      break;
    case 'h':
      usage (stdout);
      exit (0);
    default:
      usage (stderr);
      exit (2);
    }
  }
  if (optind != argc) {
    fprintf (stderr, "flawed-server: unexpected argument %s\n",
             argv[optind]);
    exit (2);
  }

  if (nr_exports == 0) {
    add_export ("", false);
    add_export ("disk", false);
  }
  for (i = 0; i < nr_tls_only; ++i)
    add_export (tls_only[i], true);

  if (unix_path && tcp_port >= 0) {
    fprintf (stderr, "flawed-server: -U and -p are exclusive\n");
    exit (2);
  }
  if (serve_many && !unix_path && tcp_port < 0) {
    fprintf (stderr, "flawed-server: --serve-many needs -U or -p\n");
    exit (2);
  }
  if (tls_mode != TLS_OFF && !tls_cert_dir && !tls_psk_file) {
    fprintf (stderr, "flawed-server: --tls=%s needs --tls-certificates "
             "or --tls-psk\n", tls_mode == TLS_ON ? "on" : "require");
    exit (2);
  }
  if (tls_cert_dir && tls_psk_file) {
    fprintf (stderr, "flawed-server: use --tls-certificates or --tls-psk, "
             "not both\n");
    exit (2);
  }
  if (tls_verify_peer && !tls_cert_dir) {
    fprintf (stderr, "flawed-server: --tls-verify-peer needs "
             "--tls-certificates\n");
    exit (2);
  }
  if (oldstyle && (tls_mode != TLS_OFF || no_fixed)) {
    fprintf (stderr, "flawed-server: --oldstyle cannot be combined with "
             "--tls or --no-fixed\n");
    exit (2);
  }

  signal (SIGPIPE, SIG_IGN);
  if (tls_mode != TLS_OFF)
    tls_load_credentials ();

  if (unix_path || tcp_port >= 0)
    return listen_and_serve ();
  if (socket_activated ())
    return serve_socket_activation ();
  write_pidfile ();
  return serve_connection (0, 1);
}
