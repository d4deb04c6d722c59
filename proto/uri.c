/* nbdcli - connection targets.
 * Copyright the nbdcli authors, MIT licence.
 */
#include <config.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "nbd-proto.h"
#include "uri.h"
#include "wire.h"

static int
fail (char *err, size_t errlen, const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  vsnprintf (err, errlen, fmt, ap);
  va_end (ap);
  return -1;
}

/* Percent-decodes S[0..N-1] into a malloc'd string; *OUT_LEN gets its
 * length.  NUL bytes are refused unless ALLOW_NUL.
 */
static char *
pct_decode (const char *s, size_t n, bool allow_nul, size_t *out_len,
            const char *what, char *err, size_t errlen)
{
  char *r = xmalloc (n + 1);
  size_t i, j = 0;

  for (i = 0; i < n; i++) {
    if (s[i] == '%') {
      int h, l;
      if (i + 2 >= n) {
        free (r);
        fail (err, errlen, "%s: truncated %%-escape", what);
        return NULL;
      }
      h = nbd_hex_digit ((unsigned char) s[i + 1]);
      l = nbd_hex_digit ((unsigned char) s[i + 2]);
      if (h < 0 || l < 0) {
        free (r);
        fail (err, errlen, "%s: bad %%-escape", what);
        return NULL;
      }
      r[j] = (char) (h << 4 | l);
      if (r[j] == 0 && !allow_nul) {
        free (r);
        fail (err, errlen, "%s: contains %%00", what);
        return NULL;
      }
      j++;
      i += 2;
    }
    else
      r[j++] = s[i];
  }
  r[j] = '\0';
  if (out_len)
    *out_len = j;
  return r;
}

/* A TCP port: 1 to 65535, digits only. */
static bool
port_ok (const char *p, size_t n)
{
  unsigned long v = 0;
  size_t i;

  if (n == 0 || n > 5)
    return false;
  for (i = 0; i < n; i++) {
    if (p[i] < '0' || p[i] > '9')
      return false;
    v = v * 10 + (p[i] - '0');
  }
  return v >= 1 && v <= 65535;
}

/* The length of the NBD URI scheme S starts with ("nbd", "nbds+unix",
 * "nbd+vsock", ...: "nbd" or "nbds", then "+WORD"s), followed by ':';
 * 0 if none.
 */
static size_t
nbd_scheme_len (const char *s)
{
  size_t n;

  if (strncasecmp (s, "nbd", 3) != 0)
    return 0;
  n = 3;
  if (s[n] == 's' || s[n] == 'S')
    n++;
  while (s[n] == '+') {
    size_t w = strspn (s + n + 1, "abcdefghijklmnopqrstuvwxyz"
                       "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789");
    if (w == 0)
      return 0;
    n += 1 + w;
  }
  return s[n] == ':' ? n : 0;
}

/* The form a URI of this scheme is written in, for error messages. */
static const char *
uri_form (const char *uri)
{
  size_t n = nbd_scheme_len (uri);

  if (n >= 5 && strncasecmp (uri + n - 5, "+unix", 5) == 0)
    return uri[3] == 's' || uri[3] == 'S'
      ? "nbds+unix:///EXPORT?socket=PATH" : "nbd+unix:///EXPORT?socket=PATH";
  return n == 4 ? "nbds://HOST[:PORT]/EXPORT" : "nbd://HOST[:PORT]/EXPORT";
}

bool
nbd_looks_like_uri (const char *s)
{
  size_t n = nbd_scheme_len (s);

  if (strstr (s, "://"))
    return true;
  /* "nbd:10809" is the host "nbd" and a port; "nbd:/x", "nbds:" and
   * "nbd+unix:x" are URIs, badly written.
   */
  return n > 0 && !(s[n + 1] && strspn (s + n + 1, "0123456789")
                    == strlen (s + n + 1));
}

static int
parse_query (const char *q, struct nbd_target *t, char *err, size_t errlen)
{
  while (*q) {
    size_t n = strcspn (q, "&;");
    const char *eq = memchr (q, '=', n);
    char *key, *val;
    size_t klen = eq ? (size_t) (eq - q) : n, vlen;

    if (n == 0) {
      q++;
      continue;
    }
    key = pct_decode (q, klen, false, NULL, "query", err, errlen);
    if (!key)
      return -1;
    val = pct_decode (eq ? eq + 1 : q + n, eq ? n - klen - 1 : 0,
                      strcmp (key, "socket") == 0, &vlen,
                      key, err, errlen);
    if (!val) {
      free (key);
      return -1;
    }
    if (strcmp (key, "socket") == 0) {
      free (t->socket);
      t->socket = val;
      t->socket_len = vlen;
      val = NULL;
    }
    else if (strcmp (key, "tls-certificates") == 0) {
      free (t->tls_certificates);
      t->tls_certificates = val; val = NULL;
    }
    else if (strcmp (key, "tls-psk-file") == 0) {
      free (t->tls_psk_file);
      t->tls_psk_file = val; val = NULL;
    }
    else if (strcmp (key, "tls-hostname") == 0) {
      free (t->tls_hostname);
      t->tls_hostname = val; val = NULL;
    }
    else if (strcmp (key, "tls-type") == 0) {
      if (strcmp (val, "anon") && strcmp (val, "x509") && strcmp (val, "psk")) {
        fail (err, errlen, "tls-type=%s: expected anon, x509 or psk", val);
        free (key); free (val);
        return -1;
      }
      free (t->tls_type);
      t->tls_type = val; val = NULL;
    }
    else if (strcmp (key, "tls-verify-peer") == 0) {
      bool b;
      if (nbd_parse_bool (val, &b) == -1) {
        fail (err, errlen, "tls-verify-peer=%s: expected " NBD_BOOL_WORDS,
              val);
        free (key); free (val);
        return -1;
      }
      t->tls_verify_peer = b;
    }
    else if (strncmp (key, "x-", 2) == 0)
      ;                         /* experimental: accepted and ignored */
    else {
      fail (err, errlen, "unknown URI query parameter \"%s\"", key);
      free (key); free (val);
      return -1;
    }
    free (key);
    free (val);
    q += n;
    if (*q)
      q++;
  }
  return 0;
}

int
nbd_parse_uri (const char *uri, struct nbd_target *t, char *err,
               size_t errlen)
{
  const char *p, *auth, *auth_end, *path, *path_end, *query;
  const char *hp, *at;
  bool is_unix;
  size_t n;

  memset (t, 0, sizeof *t);
  t->tls_verify_peer = -1;

  if (!strncmp (uri, "nbd://", 6)) { is_unix = false; p = uri + 6; }
  else if (!strncmp (uri, "nbds://", 7)) {
    is_unix = false; t->tls = true; p = uri + 7;
  }
  else if (!strncmp (uri, "nbd+unix://", 11)) { is_unix = true; p = uri + 11; }
  else if (!strncmp (uri, "nbds+unix://", 12)) {
    is_unix = true; t->tls = true; p = uri + 12;
  }
  else if (!strncmp (uri, "nbd+vsock:", 10) || !strncmp (uri, "nbds+vsock:", 11))
    return fail (err, errlen, "%s: vsock URIs are not supported (use "
                 "nbd://HOST[:PORT]/EXPORT or "
                 "nbd+unix:///EXPORT?socket=PATH)", uri);
  else if (nbd_scheme_len (uri) > 0) {
    size_t n = nbd_scheme_len (uri);
    if (strncmp (uri + n, "://", 3) != 0)
      return fail (err, errlen, "%s: malformed NBD URI (expected %s)", uri,
                   uri_form (uri));
    return fail (err, errlen, "%s: unknown NBD URI scheme \"%.*s\" "
                 "(expected nbd://HOST[:PORT]/EXPORT, nbds://..., "
                 "nbd+unix:///EXPORT?socket=PATH or nbds+unix://...)",
                 uri, (int) n, uri);
  }
  else
    return fail (err, errlen, "%s: not an NBD URI (expected "
                 "nbd://HOST[:PORT]/EXPORT, nbds://..., "
                 "nbd+unix:///EXPORT?socket=PATH or nbds+unix://...)", uri);

  auth = p;
  auth_end = auth + strcspn (auth, "/?#");
  path = auth_end;
  path_end = path + strcspn (path, "?#");
  query = *path_end == '?' ? path_end + 1 : NULL;

  /* Authority: [userinfo@]host[:port] */
  at = memchr (auth, '@', auth_end - auth);
  hp = auth;
  if (at) {
    t->tls_username = pct_decode (auth, at - auth, false, NULL, "user name",
                                  err, errlen);
    if (!t->tls_username)
      goto bad;
    hp = at + 1;
  }
  if (is_unix) {
    if (hp != auth_end) {
      fail (err, errlen, "%s: a Unix socket URI takes no host: %s", uri,
            uri_form (uri));
      goto bad;
    }
  }
  else {
    const char *host_end, *colon;

    if (*hp == '[') {
      host_end = memchr (hp, ']', auth_end - hp);
      if (!host_end) {
        fail (err, errlen, "%s: unterminated [IPv6 address]: nbd://[ADDRESS]:PORT/EXPORT",
              uri);
        goto bad;
      }
      t->host = xstrndup (hp + 1, host_end - hp - 1);
      colon = host_end + 1 < auth_end && host_end[1] == ':' ? host_end + 1
        : NULL;
      if (!colon && host_end + 1 != auth_end) {
        fail (err, errlen, "%s: junk after [IPv6 address]: nbd://[ADDRESS]:PORT/EXPORT",
              uri);
        goto bad;
      }
    }
    else {
      colon = memchr (hp, ':', auth_end - hp);
      host_end = colon ? colon : auth_end;
      t->host = pct_decode (hp, host_end - hp, false, NULL, "host", err,
                            errlen);
      if (!t->host)
        goto bad;
    }
    if (colon && colon + 1 < auth_end) {
      if (!port_ok (colon + 1, auth_end - colon - 1)) {
        fail (err, errlen, "%s: the port is not a number from 1 to 65535: "
              "%s", uri, uri_form (uri));
        goto bad;
      }
      t->port = xstrndup (colon + 1, auth_end - colon - 1);
    }
    else
      t->port = xstrdup ("10809");
    if (t->host[0] == '\0') {
      free (t->host);
      t->host = xstrdup ("localhost");
    }
  }

  /* Path: the export name without its leading '/'. */
  if (path < path_end) {
    n = path_end - path - 1;
    t->export_name = pct_decode (path + 1, n, false, NULL, "export name",
                                 err, errlen);
    if (!t->export_name)
      goto bad;
  }
  else
    t->export_name = xstrdup ("");

  if (query && parse_query (query, t, err, errlen) == -1)
    goto bad;

  if (is_unix) {
    if (!t->socket || t->socket_len == 0) {
      fail (err, errlen, "%s: nbd+unix:// needs ?socket=PATH: %s", uri,
            uri_form (uri));
      goto bad;
    }
    t->kind = TARGET_UNIX;
  }
  else {
    if (t->socket) {
      fail (err, errlen, "%s: ?socket= needs the nbd+unix:// scheme", uri);
      goto bad;
    }
    t->kind = TARGET_TCP;
  }
  if (t->tls_type && strcmp (t->tls_type, "psk") == 0 && !t->tls_psk_file
      && t->tls) {
    /* Credentials may still come from options; not an error here. */
  }
  return 0;

 bad:
  nbd_target_free (t);
  return -1;
}

int
nbd_parse_target (const char *s, struct nbd_target *t, char *err,
                  size_t errlen)
{
  struct stat st;
  const char *colon;

  if (nbd_looks_like_uri (s))
    return nbd_parse_uri (s, t, err, errlen);

  memset (t, 0, sizeof *t);
  t->tls_verify_peer = -1;
  if (strchr (s, '/') || (stat (s, &st) == 0 && S_ISSOCK (st.st_mode))) {
    t->kind = TARGET_UNIX;
    t->socket = xstrdup (s);
    t->socket_len = strlen (s);
    return 0;
  }
  if (*s == '\0')
    return fail (err, errlen, "empty target");
  t->kind = TARGET_TCP;
  if (s[0] == '[') {
    const char *e = strchr (s, ']');
    if (!e)
      return fail (err, errlen, "%s: unterminated [IPv6 address]", s);
    t->host = xstrndup (s + 1, e - s - 1);
    colon = e[1] == ':' ? e + 1 : NULL;
    if (!colon && e[1]) {
      nbd_target_free (t);
      return fail (err, errlen, "%s: junk after [IPv6 address]", s);
    }
  }
  else {
    colon = strchr (s, ':');
    if (colon && strchr (colon + 1, ':'))
      colon = NULL;             /* a bare IPv6 address */
    t->host = colon ? xstrndup (s, colon - s) : xstrdup (s);
  }
  if (colon) {
    if (!port_ok (colon + 1, strlen (colon + 1))) {
      nbd_target_free (t);
      return fail (err, errlen, "%s: the port is not a number from 1 to "
                   "65535", s);
    }
    t->port = xstrdup (colon + 1);
  }
  else
    t->port = xstrdup ("10809");
  return 0;
}

int
nbd_target_command (int argc, char *const *argv, struct nbd_target *t)
{
  int i;

  memset (t, 0, sizeof *t);
  t->tls_verify_peer = -1;
  if (argc < 1)
    return -1;
  t->kind = TARGET_CMD;
  t->argv = xcalloc (argc + 1, sizeof (char *));
  for (i = 0; i < argc; i++)
    t->argv[i] = xstrdup (argv[i]);
  return 0;
}

void
nbd_target_free (struct nbd_target *t)
{
  size_t i;

  free (t->host);
  free (t->port);
  free (t->socket);
  if (t->argv)
    for (i = 0; t->argv[i]; i++)
      free (t->argv[i]);
  free (t->argv);
  free (t->export_name);
  free (t->tls_username);
  free (t->tls_certificates);
  free (t->tls_psk_file);
  free (t->tls_hostname);
  free (t->tls_type);
  memset (t, 0, sizeof *t);
  t->tls_verify_peer = -1;
}

void
nbd_target_copy (struct nbd_target *dst, const struct nbd_target *src)
{
  size_t i, n = 0;

  *dst = *src;
  dst->host = xstrdup (src->host);
  dst->port = xstrdup (src->port);
  if (src->socket) {
    dst->socket = xmalloc (src->socket_len + 1);
    memcpy (dst->socket, src->socket, src->socket_len + 1);
  }
  if (src->argv) {
    while (src->argv[n])
      n++;
    dst->argv = xcalloc (n + 1, sizeof (char *));
    for (i = 0; i < n; i++)
      dst->argv[i] = xstrdup (src->argv[i]);
  }
  dst->export_name = xstrdup (src->export_name);
  dst->tls_username = xstrdup (src->tls_username);
  dst->tls_certificates = xstrdup (src->tls_certificates);
  dst->tls_psk_file = xstrdup (src->tls_psk_file);
  dst->tls_hostname = xstrdup (src->tls_hostname);
  dst->tls_type = xstrdup (src->tls_type);
}

char *
nbd_target_describe (const struct nbd_target *t)
{
  struct bytes b = { 0 };
  size_t i;
  char *q;

  switch (t->kind) {
  case TARGET_TCP:
    if (strchr (t->host, ':'))
      bytes_put (&b, "[", 1);
    bytes_put (&b, t->host, strlen (t->host));
    if (strchr (t->host, ':'))
      bytes_put (&b, "]", 1);
    bytes_put (&b, ":", 1);
    bytes_put (&b, t->port, strlen (t->port));
    break;
  case TARGET_UNIX:
    bytes_put (&b, "unix:", 5);
    q = nbd_quote ((const uint8_t *) t->socket, t->socket_len);
    /* Strip the quotes for a plain path. */
    if (t->socket[0] != 0 && !strpbrk (t->socket, " \"\\"))
      bytes_put (&b, t->socket, t->socket_len);
    else
      bytes_put (&b, q, strlen (q));
    free (q);
    break;
  case TARGET_CMD:
    bytes_put (&b, "[ ", 2);
    for (i = 0; t->argv[i]; i++) {
      bytes_put (&b, t->argv[i], strlen (t->argv[i]));
      bytes_put (&b, " ", 1);
    }
    bytes_put (&b, "]", 1);
    break;
  case TARGET_NONE:
    bytes_put (&b, "nothing", 7);
    break;
  }
  bytes_put (&b, "", 1);
  return (char *) b.data;
}
