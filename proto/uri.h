/* nbdcli - connection targets: NBD URIs, HOST[:PORT], socket paths and
 * server commands.
 * Copyright the nbdcli authors, MIT licence.
 */
#ifndef NBDCLI_URI_H
#define NBDCLI_URI_H

#include <stdbool.h>
#include <stddef.h>

enum target_kind {
  TARGET_NONE = 0,
  TARGET_TCP,
  TARGET_UNIX,
  TARGET_CMD,
};

struct nbd_target {
  enum target_kind kind;
  char *host, *port;            /* TARGET_TCP */
  char *socket;                 /* TARGET_UNIX; may start with NUL */
  size_t socket_len;
  char **argv;                  /* TARGET_CMD, NULL-terminated */
  char *export_name;            /* NULL when the target names none */
  bool tls;                     /* nbds:// or nbds+unix:// */
  char *tls_username;           /* from user@ */
  char *tls_certificates;
  char *tls_psk_file;
  char *tls_hostname;
  int tls_verify_peer;          /* -1 unset, 0, 1 */
  char *tls_type;               /* anon, x509, psk, or NULL */
};

/* Parses an nbd://, nbds://, nbd+unix:// or nbds+unix:// URI.  Returns
 * 0, or -1 with a message in ERR.
 */
extern int nbd_parse_uri (const char *uri, struct nbd_target *t,
                          char *err, size_t errlen);
/* Parses a URI, HOST[:PORT], [IPV6]:PORT or a Unix socket path. */
extern int nbd_parse_target (const char *s, struct nbd_target *t,
                             char *err, size_t errlen);
/* A server command: ARGV[0..ARGC-1] are copied. */
extern int nbd_target_command (int argc, char *const *argv,
                               struct nbd_target *t);
/* Whether the word S is (meant as) a URI: it contains "://", or starts
 * with an NBD scheme ("nbd:", "nbds+unix:", ...) not followed by a bare
 * port number.  Such a word is never a host or a socket path.
 */
extern bool nbd_looks_like_uri (const char *s);
extern void nbd_target_free (struct nbd_target *t);
extern void nbd_target_copy (struct nbd_target *dst,
                             const struct nbd_target *src);
/* A short description for messages, malloc'd. */
extern char *nbd_target_describe (const struct nbd_target *t);

#endif
