/* nbdcli - byte transport: TCP, Unix socket, child process, TLS, and
 * in-memory bytes (for unit tests and fuzzing).
 *
 * Every read and write waits at most the transport's timeout for the
 * whole buffer; nothing here can block forever.
 *
 * Copyright the nbdcli authors, MIT licence.
 */
#ifndef NBDCLI_TRANSPORT_H
#define NBDCLI_TRANSPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <signal.h>
#include <sys/types.h>

enum io_status {
  IO_OK = 0,
  IO_EOF,          /* peer closed before the first byte */
  IO_SHORT,        /* peer closed part way: `got' bytes arrived */
  IO_TIMEOUT,      /* the whole buffer did not arrive in time */
  IO_ERROR,        /* see `err' */
  IO_INTERRUPTED,  /* the user cancelled the wait (SIGINT) */
};

struct bytes;

/* What the transport runs over.  A memory transport has no fd (it
 * stays -1): transport_is_open looks at the kind, and every function
 * below checks the kind first, so no socket call ever sees it.  Closing
 * it makes the transport a closed fd transport again.
 */
enum transport_kind {
  TRANSPORT_FD = 0,             /* a socket: TCP, Unix, child process */
  TRANSPORT_MEMORY,             /* canned server bytes */
};

struct transport {
  enum transport_kind kind;
  int fd;                       /* -1 when closed (always, for memory) */
  pid_t child;                  /* server child, or 0 */
  int alt_fd;                   /* a server command's socket-activation
                                   connection while the server has not yet
                                   said which socket it speaks on, or -1 */
  bool activated;               /* the child speaks on the activation
                                   socket: it does not exit by itself */
  void *tls;                    /* gnutls_session_t once TLS is up */
  struct tls_creds *tls_creds;  /* credentials the TLS session uses,
                                   shared (tls_creds_release) */
  int timeout_ms;
  int64_t deadline_ms;          /* absolute limit for a whole exchange, or 0 */
  size_t got;                   /* bytes read by the last call */
  /* Sees every byte as it crosses the socket (TLS records once TLS is
   * up), for captures; set by the session that owns the transport.
   */
  void (*tap) (void *ctx, bool sent, bool tls, const void *p, size_t n);
  void *tap_ctx;
  char err[256];                /* why the last call failed */
  /* transport_splice_to's pipe, made when first needed. */
  bool splice_ready;
  bool no_splice;               /* splice(2) does not work here */
  int splice_pipe[2];
  size_t splice_cap;
  /* TRANSPORT_MEMORY: the server's whole byte stream, not copied (the
   * caller keeps it alive while the transport is open), then EOF.
   */
  struct {
    bool open;
    const uint8_t *in;
    size_t len, pos;
    struct bytes *sent;         /* what the client wrote, or NULL */
  } mem;
};

extern void transport_init (struct transport *t);
/* Moves N bytes from a plain socket to OUT_FD, at POS (or in order,
 * when OUT_FD cannot seek), without copying them through nbdcli's
 * memory: splice(2) through a pipe.  Bounded like transport_read,
 * which it otherwise matches.  *LOCAL: writing to OUT_FD failed (err
 * says why; the stream is out of step).  *UNSUPPORTED: splice cannot
 * be used here (TLS, a memory transport, or the kernel refuses);
 * nothing was read.  The capture tap does not see these bytes.
 */
extern enum io_status transport_splice_to (struct transport *t, int out_fd,
                                           off_t pos, size_t n,
                                           bool *local, bool *unsupported);
/* Milliseconds on the monotonic clock, for deadline_ms. */
extern int64_t transport_now_ms (void);
extern int transport_connect_tcp (struct transport *t, const char *host,
                                  const char *port);
/* PATH of PATH_LEN bytes; a leading NUL means the abstract namespace. */
extern int transport_connect_unix (struct transport *t, const char *path,
                                   size_t path_len);
/* Starts ARGV as a server in its own process group.  Like nbdinfo, it
 * is offered systemd socket activation (LISTEN_PID, LISTEN_FDS=1, a
 * listening Unix socket on fd 3) and, as for `nbdkit -s', a connected
 * socket on its stdin and stdout; the first one on which the server
 * speaks (NBD servers speak first) is used.  `nbdkit -s' and
 * `nbdkit --single' get only the stdin/stdout socket.
 */
extern int transport_spawn (struct transport *t, char *const *argv);
/* Kills (SIGTERM, then SIGKILL) and reaps every server command still
 * running.  Async-signal-safe: for signal handlers and atexit.
 */
extern void transport_kill_children (void);
/* Opens T over LEN bytes of server output at IN, as a socket to a
 * server that sends exactly those bytes and then closes:
 *  - reads are served in order; a read past the end returns IO_EOF
 *    when no byte of it was there, IO_SHORT (with `got') when some
 *    were.  They never wait, so the timeouts and deadlines do not
 *    apply (the bytes bound the work, and the results are the same on
 *    every run);
 *  - writes succeed; they are appended to SENT when it is not NULL
 *    (the caller's buffer, kept after the close) and dropped otherwise;
 *  - transport_pending reports nothing (0) while it is open: the
 *    server answers each message as it is sent, so the bytes still in
 *    the buffer answer messages the client has not sent yet, never
 *    unsolicited ones; and it closes only after the client's last
 *    message (the next read sees the EOF), so a script can end with
 *    NBD_CMD_DISC or NBD_OPT_ABORT as against a well-behaved server;
 *  - TLS cannot start on it (tls_handshake refuses).
 * Returns 0.
 */
extern int transport_open_memory (struct transport *t, const uint8_t *in,
                                  size_t len, struct bytes *sent);
struct tls_creds;
/* Drops a reference to credentials loaded by proto/tls.c; the last
 * frees them.
 */
extern void tls_creds_release (struct tls_creds *c);
/* Frees the credentials kept for later sessions (at exit). */
extern void tls_creds_cache_clear (void);

/* Makes the GnuTLS session G (gnutls_session_t) do its socket I/O
 * through T, so the tap sees the TLS records.
 */
extern void transport_tls_bind (struct transport *t, void *g);
extern enum io_status transport_read (struct transport *t, void *buf,
                                      size_t n);
extern enum io_status transport_write (struct transport *t, const void *buf,
                                       size_t n);
/* Checks, without waiting, whether the peer has closed or sent bytes:
 * returns 1 if data or EOF is pending, 0 if not, -1 on error.
 */
extern int transport_pending (struct transport *t);
/* Closes the socket (after a TLS close_notify when SEND_BYE is true)
 * and reaps the child.  Sets *CHILD_STATUS to the child's wait status
 * or -1.
 */
extern void transport_close (struct transport *t, bool send_bye,
                             int *child_status);
extern bool transport_is_open (const struct transport *t);

/* Set from the SIGINT handler: cancels the current wait. */
extern volatile sig_atomic_t transport_interrupted;

#endif
