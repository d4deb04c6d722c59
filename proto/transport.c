/* nbdcli - byte transport: TCP, Unix socket, child process, TLS.
 * Copyright the nbdcli authors, MIT licence.
 */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <gnutls/gnutls.h>

#include "transport.h"
#include "wire.h"

volatile sig_atomic_t transport_interrupted;

void
transport_init (struct transport *t)
{
  memset (t, 0, sizeof *t);
  t->fd = -1;
  t->alt_fd = -1;
  t->timeout_ms = 10000;
}

bool
transport_is_open (const struct transport *t)
{
  if (t->kind == TRANSPORT_MEMORY)
    return t->mem.open;
  return t->fd >= 0;
}

int
transport_open_memory (struct transport *t, const uint8_t *in, size_t len,
                       struct bytes *sent)
{
  t->kind = TRANSPORT_MEMORY;
  t->fd = -1;
  t->mem.open = true;
  t->mem.in = in;
  t->mem.len = len;
  t->mem.pos = 0;
  t->mem.sent = sent;
  return 0;
}

/* A read from the memory transport: what a socket does once the peer
 * has sent its bytes and closed.
 */
static enum io_status
memory_read (struct transport *t, void *buf, size_t n)
{
  size_t left = t->mem.len - t->mem.pos;

  if (!t->mem.open) {
    snprintf (t->err, sizeof t->err, "not connected");
    return IO_ERROR;
  }
  t->got = n < left ? n : left;
  if (t->got)
    memcpy (buf, t->mem.in + t->mem.pos, t->got);
  t->mem.pos += t->got;
  if (t->got == n)
    return IO_OK;
  return t->got ? IO_SHORT : IO_EOF;
}

int64_t
transport_now_ms (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int
set_nonblock (int fd)
{
  int fl = fcntl (fd, F_GETFL);
  if (fl == -1 || fcntl (fd, F_SETFL, fl | O_NONBLOCK) == -1)
    return -1;
  return 0;
}

/* Waits for EVENTS on the fd until DEADLINE.  Returns 1 when ready, 0
 * on timeout, -1 on error or interruption (t->err says which).
 */
static int
wait_fd (struct transport *t, short events, int64_t deadline,
         enum io_status *why)
{
  for (;;) {
    struct pollfd pfd = { .fd = t->fd, .events = events };
    int64_t left = deadline - transport_now_ms ();
    int r;

    if (transport_interrupted) {
      *why = IO_INTERRUPTED;
      snprintf (t->err, sizeof t->err, "interrupted");
      return -1;
    }
    if (left <= 0) {
      *why = IO_TIMEOUT;
      return 0;
    }
    /* Wake up regularly so an interrupt is noticed. */
    r = poll (&pfd, 1, left > 200 ? 200 : (int) left);
    if (r == -1) {
      if (errno == EINTR)
        continue;
      *why = IO_ERROR;
      snprintf (t->err, sizeof t->err, "poll: %s", strerror (errno));
      return -1;
    }
    if (r > 0)
      return 1;
  }
}

int
transport_connect_tcp (struct transport *t, const char *host,
                       const char *port)
{
  struct addrinfo hints = { .ai_socktype = SOCK_STREAM,
                            .ai_family = AF_UNSPEC };
  struct addrinfo *res, *ai;
  int r, fd = -1;
  char last[300] = "no address";

  r = getaddrinfo (host, port, &hints, &res);
  if (r != 0) {
    snprintf (t->err, sizeof t->err, "%s:%s: %s", host, port,
              gai_strerror (r));
    return -1;
  }
  for (ai = res; ai; ai = ai->ai_next) {
    enum io_status why;
    int64_t deadline = transport_now_ms () + t->timeout_ms;
    int soerr = 0;
    socklen_t sl = sizeof soerr;

    fd = socket (ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC,
                 ai->ai_protocol);
    if (fd == -1) {
      snprintf (last, sizeof last, "socket: %s", strerror (errno));
      continue;
    }
    set_nonblock (fd);
    if (connect (fd, ai->ai_addr, ai->ai_addrlen) == -1) {
      if (errno != EINPROGRESS) {
        snprintf (last, sizeof last, "%s", strerror (errno));
        close (fd); fd = -1;
        continue;
      }
      t->fd = fd;
      r = wait_fd (t, POLLOUT, deadline, &why);
      t->fd = -1;
      if (r <= 0) {
        snprintf (last, sizeof last, "%s",
                  r == 0 ? "connection timed out" : t->err);
        close (fd); fd = -1;
        if (why == IO_INTERRUPTED)
          break;
        continue;
      }
      if (getsockopt (fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) == -1
          || soerr != 0) {
        snprintf (last, sizeof last, "%s", strerror (soerr ? soerr : errno));
        close (fd); fd = -1;
        continue;
      }
    }
    break;
  }
  freeaddrinfo (res);
  if (fd == -1) {
    snprintf (t->err, sizeof t->err, "%s:%s: %s", host, port, last);
    return -1;
  }
  r = 1;
  setsockopt (fd, IPPROTO_TCP, TCP_NODELAY, &r, sizeof r);
  t->fd = fd;
  return 0;
}

int
transport_connect_unix (struct transport *t, const char *path,
                        size_t path_len)
{
  struct sockaddr_un sun = { .sun_family = AF_UNIX };
  socklen_t len;
  int fd;

  if (path_len == 0 || path_len >= sizeof sun.sun_path) {
    snprintf (t->err, sizeof t->err, "socket path is empty or too long");
    return -1;
  }
  memcpy (sun.sun_path, path, path_len);
  len = offsetof (struct sockaddr_un, sun_path) + path_len;
  fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd == -1) {
    snprintf (t->err, sizeof t->err, "socket: %s", strerror (errno));
    return -1;
  }
  if (connect (fd, (struct sockaddr *) &sun, len) == -1) {
    snprintf (t->err, sizeof t->err, "%s%.*s: %s",
              path[0] ? "" : "@", (int) path_len - !path[0],
              path + !path[0], strerror (errno));
    close (fd);
    return -1;
  }
  set_nonblock (fd);
  t->fd = fd;
  return 0;
}

/* Server commands still running, by pid; each leads its own process
 * group.  Read by transport_kill_children from signal handlers.
 */
#define MAX_CHILDREN 64
static volatile pid_t children[MAX_CHILDREN];

static void
child_add (pid_t pid)
{
  size_t i;

  /* Atomic: sessions in several threads start servers at once. */
  for (i = 0; i < MAX_CHILDREN; i++)
    if (__sync_bool_compare_and_swap (&children[i], 0, pid))
      return;
}

static void
child_remove (pid_t pid)
{
  size_t i;

  for (i = 0; i < MAX_CHILDREN; i++)
    __sync_bool_compare_and_swap (&children[i], pid, 0);
}

static void
sleep_ms (long ms)
{
  struct timespec ts = { .tv_sec = ms / 1000,
                         .tv_nsec = (ms % 1000) * 1000000L };
  while (nanosleep (&ts, &ts) == -1 && errno == EINTR)
    ;
}

void
transport_kill_children (void)
{
  int saved_errno = errno, k;
  size_t i;
  bool left;

  for (i = 0; i < MAX_CHILDREN; i++)
    if (children[i] > 0)
      kill (-children[i], SIGTERM);
  /* Up to 2 s for SIGTERM, then SIGKILL and up to 1 s more. */
  for (k = 0; k < 300; k++) {
    left = false;
    for (i = 0; i < MAX_CHILDREN; i++) {
      pid_t pid = children[i], r;
      if (pid <= 0)
        continue;
      r = waitpid (pid, NULL, WNOHANG);
      if (r == pid || (r == -1 && errno == ECHILD)) {
        kill (-pid, SIGKILL);   /* whatever is left of its group */
        children[i] = 0;
      }
      else {
        left = true;
        if (k == 200)
          kill (-pid, SIGKILL);
      }
    }
    if (!left)
      break;
    sleep_ms (10);
  }
  errno = saved_errno;
}

/* nbdkit -s / --single speaks only on stdin and stdout, and refuses
 * socket activation.
 */
static bool
stdio_only (char *const *argv)
{
  const char *base = strrchr (argv[0], '/');
  size_t i;

  base = base ? base + 1 : argv[0];
  if (strcmp (base, "nbdkit") != 0)
    return false;
  for (i = 1; argv[i]; i++)
    if (strcmp (argv[i], "-s") == 0 || strcmp (argv[i], "--single") == 0)
      return true;
  return false;
}

/* A listening Unix socket in a new private directory, for systemd
 * socket activation.  Fills DIR and PATH.  Returns the fd or -1.
 */
static int
activation_listener (struct transport *t, char *dir, size_t dirlen,
                     struct sockaddr_un *sun)
{
  const char *tmpdir = getenv ("TMPDIR");
  int fd;

  if (!tmpdir || !*tmpdir
      || strlen (tmpdir) + sizeof "/nbdcli-XXXXXX/sock" > sizeof sun->sun_path)
    tmpdir = "/tmp";
  snprintf (dir, dirlen, "%s/nbdcli-XXXXXX", tmpdir);
  if (!mkdtemp (dir)) {
    snprintf (t->err, sizeof t->err, "mkdtemp: %s", strerror (errno));
    return -1;
  }
  memset (sun, 0, sizeof *sun);
  sun->sun_family = AF_UNIX;
  if (snprintf (sun->sun_path, sizeof sun->sun_path, "%s/sock", dir)
      >= (int) sizeof sun->sun_path) {
    snprintf (t->err, sizeof t->err, "socket activation: %s: name too long",
              dir);
    rmdir (dir);
    return -1;
  }
  fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd == -1 || bind (fd, (struct sockaddr *) sun, sizeof *sun) == -1
      || listen (fd, 4) == -1) {
    snprintf (t->err, sizeof t->err, "socket activation: %s: %s",
              sun->sun_path, strerror (errno));
    if (fd >= 0)
      close (fd);
    unlink (sun->sun_path);
    rmdir (dir);
    return -1;
  }
  return fd;
}

/* The decimal digits of N into BUF (async-signal-safe). */
static void
put_pid (char *buf, size_t len, long n)
{
  char tmp[24];
  size_t i = 0, j = 0;

  do
    tmp[i++] = '0' + n % 10;
  while ((n /= 10) > 0 && i < sizeof tmp);
  while (i > 0 && j + 1 < len)
    buf[j++] = tmp[--i];
  buf[j] = '\0';
}

int
transport_spawn (struct transport *t, char *const *argv)
{
  int sv[2], errpipe[2], e = 0, lfd = -1, cfd = -1;
  char dir[sizeof ((struct sockaddr_un *) 0)->sun_path];
  struct sockaddr_un sun;
  pid_t pid;
  ssize_t r;

  if (!stdio_only (argv)) {
    lfd = activation_listener (t, dir, sizeof dir, &sun);
    if (lfd == -1)
      return -1;
  }
  if (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == -1) {
    snprintf (t->err, sizeof t->err, "socketpair: %s", strerror (errno));
    goto fail_listener;
  }
  /* A close-on-exec pipe tells the parent whether exec worked. */
  if (pipe2 (errpipe, O_CLOEXEC) == -1) {
    snprintf (t->err, sizeof t->err, "pipe: %s", strerror (errno));
    close (sv[0]); close (sv[1]);
    goto fail_listener;
  }
  fflush (NULL);
  pid = fork ();
  if (pid == -1) {
    snprintf (t->err, sizeof t->err, "fork: %s", strerror (errno));
    close (sv[0]); close (sv[1]); close (errpipe[0]); close (errpipe[1]);
    goto fail_listener;
  }
  if (pid == 0) {
    int ep = errpipe[1];
    char pidbuf[24];

    /* Its own process group: closing kills the server's children too. */
    setpgid (0, 0);
    close (errpipe[0]);
    signal (SIGPIPE, SIG_DFL);
    signal (SIGINT, SIG_IGN);   /* Ctrl-C is for nbdcli, not the server */
    if (ep == 3 || ep < 3)
      ep = fcntl (ep, F_DUPFD_CLOEXEC, 4);
    if (ep == -1 || dup2 (sv[1], 0) == -1 || dup2 (sv[1], 1) == -1)
      _exit (127);
    unsetenv ("LISTEN_PID");
    unsetenv ("LISTEN_FDS");
    unsetenv ("LISTEN_FDNAMES");
    if (lfd >= 0) {
      /* dup2 leaves fd 3 without close-on-exec. */
      if (lfd == 3) {
        if (fcntl (3, F_SETFD, 0) == -1)
          _exit (127);
      }
      else if (dup2 (lfd, 3) == -1)
        _exit (127);
      put_pid (pidbuf, sizeof pidbuf, (long) getpid ());
      setenv ("LISTEN_PID", pidbuf, 1);
      setenv ("LISTEN_FDS", "1", 1);
      setenv ("LISTEN_FDNAMES", "nbd", 1);
    }
    execvp (argv[0], argv);
    e = errno;
    if (write (ep, &e, sizeof e) < 0)
      _exit (126);
    _exit (127);
  }
  setpgid (pid, pid);           /* as the child does: no race with kill */
  child_add (pid);
  close (sv[1]);
  close (errpipe[1]);
  do
    r = read (errpipe[0], &e, sizeof e);
  while (r == -1 && errno == EINTR);
  close (errpipe[0]);
  if (r == sizeof e) {
    snprintf (t->err, sizeof t->err, "%s: %s", argv[0], strerror (e));
    goto fail_child;
  }
  if (lfd >= 0) {
    /* The listener is already listening: this connect completes at
     * once, and the server accepts it when it is ready.
     */
    cfd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (cfd == -1 || connect (cfd, (struct sockaddr *) &sun, sizeof sun) == -1) {
      snprintf (t->err, sizeof t->err, "socket activation: connect: %s",
                strerror (errno));
      goto fail_child;
    }
    unlink (sun.sun_path);
    rmdir (dir);
    close (lfd);
    set_nonblock (cfd);
  }
  set_nonblock (sv[0]);
  t->fd = sv[0];
  t->alt_fd = cfd;
  t->activated = false;
  t->child = pid;
  return 0;

 fail_child:
  if (cfd >= 0)
    close (cfd);
  close (sv[0]);
  kill (-pid, SIGKILL);
  waitpid (pid, NULL, 0);       /* SIGKILLed: returns at once */
  child_remove (pid);
 fail_listener:
  if (lfd >= 0) {
    close (lfd);
    unlink (sun.sun_path);
    rmdir (dir);
  }
  return -1;
}

/* A server command gets two sockets until it speaks on one of them
 * (NBD servers send the greeting first): keep that one.  Returns IO_OK
 * once chosen, IO_TIMEOUT if nothing came by DEADLINE.
 */
static enum io_status
pick_socket (struct transport *t, int64_t deadline)
{
  /* A socket closed with nothing sent decides nothing: nbdkit without
   * -s closes its stdin and stdout, then speaks on the activation
   * socket.
   */
  bool eof[2] = { false, false };

  while (t->alt_fd >= 0) {
    struct pollfd p[2] = { { .fd = t->fd, .events = POLLIN },
                           { .fd = t->alt_fd, .events = POLLIN } };
    int64_t left = deadline - transport_now_ms ();
    int r, i, pick = -1;

    if (transport_interrupted) {
      snprintf (t->err, sizeof t->err, "interrupted");
      return IO_INTERRUPTED;
    }
    for (i = 0; i < 2; i++)
      if (eof[i])
        p[i].fd = -1;
    r = poll (p, 2, left <= 0 ? 0 : left > 200 ? 200 : (int) left);
    if (r == -1 && errno != EINTR) {
      snprintf (t->err, sizeof t->err, "poll: %s", strerror (errno));
      return IO_ERROR;
    }
    for (i = 0; r > 0 && i < 2 && pick < 0; i++) {
      char c;
      if (!p[i].revents)
        continue;
      if (recv (p[i].fd, &c, 1, MSG_PEEK | MSG_DONTWAIT) == 1)
        pick = i;
      else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
        eof[i] = true;
      else if (p[i].revents & (POLLHUP | POLLERR))
        eof[i] = true;
    }
    if (pick < 0 && eof[0] && eof[1])
      pick = 0;                 /* both closed: the read says so */
    if (pick < 0) {
      if (left <= 0)
        return IO_TIMEOUT;
      continue;
    }
    if (pick == 1) {
      close (t->fd);
      t->fd = t->alt_fd;
      t->activated = true;
    }
    else
      close (t->alt_fd);
    t->alt_fd = -1;
  }
  return IO_OK;
}

static void
tap (struct transport *t, bool sent, bool tls, const void *p, ssize_t n)
{
  if (t->tap && n > 0)
    t->tap (t->tap_ctx, sent, tls, p, (size_t) n);
}

/* GnuTLS's socket I/O, the same as its own but seen by the tap. */
static ssize_t
tls_push (gnutls_transport_ptr_t ptr, const void *p, size_t n)
{
  struct transport *t = ptr;
  ssize_t r = send (t->fd, p, n, MSG_NOSIGNAL);

  tap (t, true, true, p, r);
  return r;
}

static ssize_t
tls_pull (gnutls_transport_ptr_t ptr, void *p, size_t n)
{
  struct transport *t = ptr;
  ssize_t r = recv (t->fd, p, n, 0);

  tap (t, false, true, p, r);
  return r;
}

static int
tls_pull_timeout (gnutls_transport_ptr_t ptr, unsigned ms)
{
  struct transport *t = ptr;
  struct pollfd pfd = { .fd = t->fd, .events = POLLIN };

  return poll (&pfd, 1, ms == GNUTLS_INDEFINITE_TIMEOUT ? -1 : (int) ms);
}

void
transport_tls_bind (struct transport *t, void *g)
{
  gnutls_transport_set_ptr (g, t);
  gnutls_transport_set_push_function (g, tls_push);
  gnutls_transport_set_pull_function (g, tls_pull);
  gnutls_transport_set_pull_timeout_function (g, tls_pull_timeout);
}

static ssize_t
raw_read (struct transport *t, void *buf, size_t n, bool *again)
{
  ssize_t r;

  *again = false;
  if (t->tls) {
    r = gnutls_record_recv (t->tls, buf, n);
    if (r == GNUTLS_E_AGAIN || r == GNUTLS_E_INTERRUPTED) {
      *again = true;
      return -1;
    }
    if (r < 0) {
      if (r == GNUTLS_E_PREMATURE_TERMINATION)
        return 0;
      snprintf (t->err, sizeof t->err, "TLS: %s", gnutls_strerror (r));
      return -1;
    }
    return r;
  }
  r = read (t->fd, buf, n);
  tap (t, false, false, buf, r);
  if (r == -1 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
    *again = true;
    return -1;
  }
  if (r == -1) {
    /* A reset from the peer is a close as far as the user cares. */
    if (errno == ECONNRESET)
      return 0;
    snprintf (t->err, sizeof t->err, "read: %s", strerror (errno));
  }
  return r;
}

/* The deadline of one call: its own timeout, and the exchange's. */
static int64_t
call_deadline (const struct transport *t)
{
  int64_t d = transport_now_ms () + t->timeout_ms;
  if (t->deadline_ms && t->deadline_ms < d)
    d = t->deadline_ms;
  return d;
}

/* Waits until the socket has input: IO_OK, or why it did not. */
static enum io_status
await_input (struct transport *t, int64_t deadline)
{
  enum io_status why = IO_OK;
  int r = wait_fd (t, POLLIN, deadline, &why);

  return r == 0 ? IO_TIMEOUT : r < 0 ? why : IO_OK;
}

enum io_status
transport_read (struct transport *t, void *buf, size_t n)
{
  int64_t deadline = call_deadline (t);
  uint8_t *p = buf;

  t->got = 0;
  if (t->kind == TRANSPORT_MEMORY)
    return memory_read (t, buf, n);
  if (t->fd < 0) {
    snprintf (t->err, sizeof t->err, "not connected");
    return IO_ERROR;
  }
  /* A server that never stops sending still meets the exchange's
   * deadline, checked before each read, not only while waiting.
   */
  if (t->deadline_ms && transport_now_ms () >= t->deadline_ms)
    return IO_TIMEOUT;
  if (t->alt_fd >= 0) {
    enum io_status st = pick_socket (t, deadline);
    if (st != IO_OK)
      return st;
  }
  while (t->got < n) {
    bool again;
    ssize_t r;
    enum io_status why = IO_OK;

    if (transport_interrupted) {
      snprintf (t->err, sizeof t->err, "interrupted");
      return IO_INTERRUPTED;
    }
    r = raw_read (t, p + t->got, n - t->got, &again);
    if (r > 0) {
      t->got += r;
      continue;
    }
    if (r == 0)
      return t->got ? IO_SHORT : IO_EOF;
    if (!again)
      return IO_ERROR;
    if ((why = await_input (t, deadline)) != IO_OK)
      return why;
  }
  return IO_OK;
}

static void
splice_pipe_close (struct transport *t)
{
  if (!t->splice_ready)
    return;
  close (t->splice_pipe[0]);
  close (t->splice_pipe[1]);
  t->splice_ready = false;
}

/* Writes N bytes from the splice pipe to OUT_FD at *POS (NULL: in
 * order), advancing *POS; through a buffer where OUT_FD cannot take a
 * splice.  0, or -1 with err set.
 */
static int
splice_drain (struct transport *t, int out_fd, off_t **pos, size_t n)
{
  bool buffered = false;

  while (n > 0) {
    ssize_t w;

    if (!buffered) {
      loff_t o = *pos ? **pos : 0;

      w = splice (t->splice_pipe[0], NULL, out_fd, *pos ? &o : NULL, n,
                  SPLICE_F_MOVE);
      if (w > 0) {
        if (*pos)
          **pos = o;
        n -= w;
        continue;
      }
      if (w == -1 && errno == EINTR)
        continue;
      if (w == -1 && errno == ESPIPE && *pos) {
        *pos = NULL;            /* a pipe: in order */
        continue;
      }
      if (w == -1 && errno == EAGAIN) {
        struct pollfd pfd = { .fd = out_fd, .events = POLLOUT };
        poll (&pfd, 1, 200);
        continue;
      }
      if (w == -1 && (errno == EINVAL || errno == ENOSYS)) {
        buffered = true;
        continue;
      }
      snprintf (t->err, sizeof t->err, "%s",
                w == 0 ? "no progress" : strerror (errno));
      return -1;
    }
    else {
      uint8_t buf[65536];
      ssize_t r = read (t->splice_pipe[0], buf, n < sizeof buf ? n : sizeof buf);
      size_t off = 0;

      if (r == -1 && errno == EINTR)
        continue;
      if (r <= 0) {
        snprintf (t->err, sizeof t->err, "reading the splice pipe: %s",
                  r == 0 ? "end of file" : strerror (errno));
        return -1;
      }
      while (off < (size_t) r) {
        w = *pos ? pwrite (out_fd, buf + off, r - off, **pos)
          : write (out_fd, buf + off, r - off);
        if (w == -1 && errno == ESPIPE && *pos) {
          *pos = NULL;
          continue;
        }
        if (w == -1 && errno == EINTR)
          continue;
        if (w <= 0) {
          snprintf (t->err, sizeof t->err, "%s",
                    w == 0 ? "no progress" : strerror (errno));
          return -1;
        }
        off += w;
        if (*pos)
          **pos += w;
      }
      n -= r;
    }
  }
  return 0;
}

enum io_status
transport_splice_to (struct transport *t, int out_fd, off_t pos, size_t n,
                     bool *local, bool *unsupported)
{
  int64_t deadline = call_deadline (t);
  off_t *at = &pos;

  *local = *unsupported = false;
  t->got = 0;
  if (t->kind != TRANSPORT_FD || t->tls || t->fd < 0 || t->alt_fd >= 0
      || t->no_splice) {
    *unsupported = true;
    return IO_ERROR;
  }
  if (t->deadline_ms && transport_now_ms () >= t->deadline_ms)
    return IO_TIMEOUT;
  if (!t->splice_ready) {
    int cap;

    if (pipe2 (t->splice_pipe, O_CLOEXEC | O_NONBLOCK) == -1) {
      t->no_splice = true;
      *unsupported = true;
      return IO_ERROR;
    }
    /* A bigger pipe moves more per call; the default is 64 KiB. */
    cap = fcntl (t->splice_pipe[1], F_SETPIPE_SZ, 1024 * 1024);
    if (cap <= 0)
      cap = fcntl (t->splice_pipe[1], F_GETPIPE_SZ);
    t->splice_cap = cap > 0 ? (size_t) cap : 65536;
    t->splice_ready = true;
  }
  while (t->got < n) {
    size_t want = n - t->got < t->splice_cap ? n - t->got : t->splice_cap;
    enum io_status why = IO_OK;
    ssize_t r;

    if (transport_interrupted) {
      snprintf (t->err, sizeof t->err, "interrupted");
      return IO_INTERRUPTED;
    }
    r = splice (t->fd, NULL, t->splice_pipe[1], NULL, want,
                SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
    if (r > 0) {
      if (splice_drain (t, out_fd, &at, (size_t) r) == -1) {
        /* What is left in the pipe belongs to no one now. */
        splice_pipe_close (t);
        *local = true;
        return IO_ERROR;
      }
      t->got += r;
      continue;
    }
    if (r == 0)
      return t->got ? IO_SHORT : IO_EOF;
    if (errno == EINTR)
      continue;
    if ((errno == EINVAL || errno == ENOSYS) && t->got == 0) {
      t->no_splice = true;
      *unsupported = true;
      return IO_ERROR;
    }
    if (errno == ECONNRESET)
      return t->got ? IO_SHORT : IO_EOF;
    if (errno != EAGAIN && errno != EWOULDBLOCK) {
      snprintf (t->err, sizeof t->err, "splice: %s", strerror (errno));
      return IO_ERROR;
    }
    if ((why = await_input (t, deadline)) != IO_OK)
      return why;
  }
  return IO_OK;
}

enum io_status
transport_write (struct transport *t, const void *buf, size_t n)
{
  int64_t deadline = call_deadline (t);
  const uint8_t *p = buf;
  size_t done = 0;

  if (t->kind == TRANSPORT_MEMORY) {
    if (!t->mem.open) {
      snprintf (t->err, sizeof t->err, "not connected");
      return IO_ERROR;
    }
    if (t->mem.sent)
      bytes_put (t->mem.sent, buf, n);
    return IO_OK;
  }
  if (t->fd < 0) {
    snprintf (t->err, sizeof t->err, "not connected");
    return IO_ERROR;
  }
  if (t->alt_fd >= 0) {
    enum io_status st = pick_socket (t, deadline);
    if (st != IO_OK) {
      if (st == IO_TIMEOUT)
        snprintf (t->err, sizeof t->err, "write timed out");
      return st;
    }
  }
  while (done < n) {
    ssize_t r;
    enum io_status why = IO_OK;

    if (t->tls) {
      r = gnutls_record_send (t->tls, p + done, n - done);
      if (r == GNUTLS_E_AGAIN || r == GNUTLS_E_INTERRUPTED)
        r = -2;
      else if (r < 0) {
        snprintf (t->err, sizeof t->err, "TLS: %s", gnutls_strerror (r));
        return IO_ERROR;
      }
    }
    else {
      r = send (t->fd, p + done, n - done, MSG_NOSIGNAL);
      tap (t, true, false, p + done, r);
      if (r == -1 && (errno == EAGAIN || errno == EWOULDBLOCK
                      || errno == EINTR))
        r = -2;
      else if (r == -1) {
        snprintf (t->err, sizeof t->err, "write: %s", strerror (errno));
        return errno == EPIPE || errno == ECONNRESET ? IO_EOF : IO_ERROR;
      }
    }
    if (r >= 0) {
      done += r;
      continue;
    }
    r = wait_fd (t, POLLOUT, deadline, &why);
    if (r == 0) {
      snprintf (t->err, sizeof t->err, "write timed out");
      return IO_TIMEOUT;
    }
    if (r < 0)
      return why;
  }
  return IO_OK;
}

int
transport_pending (struct transport *t)
{
  struct pollfd pfd = { .fd = t->fd, .events = POLLIN };
  int r;

  if (t->kind == TRANSPORT_MEMORY)
    return t->mem.open ? 0 : -1;  /* see transport_open_memory */
  if (t->fd < 0)
    return -1;
  if (t->alt_fd >= 0 && pick_socket (t, 0) != IO_OK)
    return 0;
  if (t->tls && gnutls_record_check_pending (t->tls) > 0)
    return 1;
  r = poll (&pfd, 1, 0);
  if (r < 0)
    return -1;
  return r > 0;
}

static void
reap_child (struct transport *t, int *child_status)
{
  int st, i;
  pid_t r;
  /* A socket-activated server keeps listening after the connection
   * ends: stop it at once.  A server on stdin/stdout gets a moment to
   * exit by itself after the close.
   */
  int term_at = t->activated ? 0 : 200;
  bool sent = false;

  /* Up to 3 s (SIGTERM at TERM_AT), then SIGKILL and up to 1 s more. */
  for (i = 0; i < 400; i++) {
    if (i == term_at) {
      kill (-t->child, SIGTERM);
      sent = true;
    }
    if (i == 300)
      kill (-t->child, SIGKILL);
    r = waitpid (t->child, &st, WNOHANG);
    if (r == t->child)
      goto done;
    if (r == -1)
      goto gone;
    sleep_ms (10);
  }
  goto gone;
 done:
  /* The SIGTERM nbdcli sent to end an activated server is no news. */
  if (child_status
      && !(sent && t->activated && WIFSIGNALED (st)
           && WTERMSIG (st) == SIGTERM))
    *child_status = st;
 gone:
  kill (-t->child, SIGKILL);    /* whatever is left of its group */
  child_remove (t->child);
}

void
transport_close (struct transport *t, bool send_bye, int *child_status)
{
  if (child_status)
    *child_status = -1;
  if (t->kind == TRANSPORT_MEMORY) {
    /* Nothing to free: the bytes and SENT belong to the caller. */
    memset (&t->mem, 0, sizeof t->mem);
    t->kind = TRANSPORT_FD;
    return;
  }
  if (t->tls) {
    if (send_bye && t->fd >= 0) {
      /* Best effort; the socket is non-blocking so this cannot hang. */
      gnutls_bye (t->tls, GNUTLS_SHUT_WR);
    }
    gnutls_deinit (t->tls);
    t->tls = NULL;
  }
  tls_creds_release (t->tls_creds);
  t->tls_creds = NULL;
  splice_pipe_close (t);
  if (t->fd >= 0) {
    close (t->fd);
    t->fd = -1;
  }
  if (t->alt_fd >= 0) {
    close (t->alt_fd);
    t->alt_fd = -1;
  }
  if (t->child > 0) {
    reap_child (t, child_status);
    t->child = 0;
  }
  t->activated = false;
}
