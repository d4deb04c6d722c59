/* nbdcli - byte transport: TCP, Unix socket, child process, TLS.
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

struct transport {
  int fd;                       /* -1 when closed */
  pid_t child;                  /* server child, or 0 */
  int alt_fd;                   /* a server command's socket-activation
                                   connection while the server has not yet
                                   said which socket it speaks on, or -1 */
  bool activated;               /* the child speaks on the activation
                                   socket: it does not exit by itself */
  void *tls;                    /* gnutls_session_t once TLS is up */
  void *tls_cert_cred;          /* credentials the TLS session uses */
  void *tls_psk_cred;
  int timeout_ms;
  int64_t deadline_ms;          /* absolute limit for a whole exchange, or 0 */
  size_t got;                   /* bytes read by the last call */
  /* Sees every byte as it crosses the socket (TLS records once TLS is
   * up), for captures; set by the session that owns the transport.
   */
  void (*tap) (void *ctx, bool sent, bool tls, const void *p, size_t n);
  void *tap_ctx;
  char err[256];                /* why the last call failed */
};

extern void transport_init (struct transport *t);
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
