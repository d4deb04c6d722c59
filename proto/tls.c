/* nbdcli - the TLS handshake after NBD_OPT_STARTTLS, with GnuTLS.
 *
 * X.509 credentials come from a directory in libnbd's layout
 * (ca-cert.pem, client-cert.pem, client-key.pem) or the system trust
 * store; PSK credentials from a psktool(1) keys file.  Key material is
 * handed to GnuTLS and never printed.  The session's secrets go out as
 * EV_SECRET events, which only the sinks asked to keep keys (--keylog,
 * --pcap) use; GnuTLS's own key log (SSLKEYLOGFILE) is still called.
 *
 * Copyright the nbdcli authors, MIT licence.
 */
#include <config.h>

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/stat.h>

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include "events.h"
#include "session.h"
#include "wire.h"

void
tls_info_clear (struct tls_info *i)
{
  free (i->version);
  free (i->cipher);
  free (i->kx);
  free (i->mac);
  free (i->cred);
  free (i->peer_subject);
  free (i->peer_issuer);
  free (i->verify);
  free (i->psk_username);
  memset (i, 0, sizeof *i);
}

void
tls_settings_clear (struct tls_settings *t)
{
  free (t->certificates);
  free (t->psk_file);
  free (t->username);
  free (t->hostname);
  memset (t, 0, sizeof *t);
  t->verify_peer = -1;
}

void
tls_settings_copy (struct tls_settings *to, const struct tls_settings *from)
{
  tls_settings_clear (to);
  to->certificates = from->certificates ? xstrdup (from->certificates) : NULL;
  to->psk_file = from->psk_file ? xstrdup (from->psk_file) : NULL;
  to->username = from->username ? xstrdup (from->username) : NULL;
  to->hostname = from->hostname ? xstrdup (from->hostname) : NULL;
  to->verify_peer = from->verify_peer;
  to->required = from->required;
}

static bool
file_exists (const char *dir, const char *name, char *out, size_t outlen)
{
  struct stat st;
  snprintf (out, outlen, "%s/%s", dir, name);
  return stat (out, &st) == 0;
}

/* Where the trust came from, for a verification failure's cause. */
enum ca_source {
  CA_SYSTEM_NO_CREDS,           /* no --tls-certificates: system CAs */
  CA_SYSTEM_NO_FILE,            /* DIR without ca-cert.pem: system CAs */
  CA_FILE,                      /* DIR/ca-cert.pem (loaded or not) */
};

/* The stamp of a file credentials were loaded from: a file whose
 * identity, size or modification time changes is loaded again.
 */
struct stamp {
  bool exists;
  dev_t dev;
  ino_t ino;
  off_t size;
  struct timespec mtime;
};

/* Loaded credentials, shared (see load_credentials). */
struct tls_creds {
  struct tls_creds *next;
  unsigned refs;                /* sessions using it, +1 while cached */
  char *key;
  struct stamp stamps[3];
  gnutls_certificate_credentials_t x;
  gnutls_psk_client_credentials_t p;
  bool client_cert;             /* a client certificate is offered */
  enum ca_source ca_source;
  char ca_path[4096];           /* DIR/ca-cert.pem, with a DIR */
};

/* The advice after every verification failure: the credentials first,
 * turning verification off last, with its risk.
 */
#define TLS_VERIFY_ADVICE \
  "; give the CA that signed the server's certificate with " \
  "--tls-certificates DIR (DIR/ca-cert.pem), or the name it was issued " \
  "for with --tls-hostname NAME; --tls-verify-peer=no connects anyway, " \
  "but then anyone between here and the server can pretend to be it"

/* The names the server's certificate was issued for (DNS and IP
 * subject alternative names, else its CN), comma-separated, into BUF.
 */
static void
cert_names (gnutls_x509_crt_t crt, char *buf, size_t len)
{
  size_t used = 0;
  unsigned i;

  buf[0] = '\0';
  for (i = 0; i < 64; i++) {
    char name[256];
    size_t nlen = sizeof name;
    int r = gnutls_x509_crt_get_subject_alt_name (crt, i, name, &nlen, NULL);
    char ip[INET6_ADDRSTRLEN];
    const char *show = NULL;

    if (r == GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE)
      break;
    if (r == GNUTLS_SAN_DNSNAME && nlen < sizeof name) {
      name[nlen] = '\0';
      show = name;
    }
    else if (r == GNUTLS_SAN_IPADDRESS && (nlen == 4 || nlen == 16))
      show = inet_ntop (nlen == 4 ? AF_INET : AF_INET6, name, ip, sizeof ip);
    if (show && used < len) {
      int n = snprintf (buf + used, len - used, "%s%s", used ? ", " : "",
                        show);
      if (n > 0)
        used += (size_t) n < len - used ? (size_t) n : len - used - 1;
    }
  }
  if (used == 0) {
    size_t n = len;
    if (gnutls_x509_crt_get_dn_by_oid (crt, GNUTLS_OID_X520_COMMON_NAME, 0,
                                       0, buf, &n) < 0)
      snprintf (buf, len, "no host names");
  }
}

static void
utc_date (time_t t, char *buf, size_t len)
{
  struct tm tm;

  if (t == (time_t) -1 || !gmtime_r (&t, &tm)
      || strftime (buf, len, "%Y-%m-%d %H:%M:%S UTC", &tm) == 0)
    snprintf (buf, len, "(unknown date)");
}

/* Why the server's certificate failed verification, in words, with the
 * advice; malloc'd.
 */
static char *
describe_verify_failure (gnutls_session_t g, unsigned status,
                         const char *host, const struct tls_creds *c)
{
  const gnutls_datum_t *peers;
  unsigned npeers = 0;
  gnutls_x509_crt_t crt = NULL;
  char cause[8192], names[512], date[64];
  char *msg = NULL;

  peers = gnutls_certificate_get_peers (g, &npeers);
  if (peers && npeers > 0 && gnutls_x509_crt_init (&crt) == 0
      && gnutls_x509_crt_import (crt, &peers[0], GNUTLS_X509_FMT_DER) < 0) {
    gnutls_x509_crt_deinit (crt);
    crt = NULL;
  }
  if ((status & GNUTLS_CERT_EXPIRED) && crt) {
    utc_date (gnutls_x509_crt_get_expiration_time (crt), date, sizeof date);
    snprintf (cause, sizeof cause, "the certificate expired on %s", date);
  }
  else if ((status & GNUTLS_CERT_NOT_ACTIVATED) && crt) {
    utc_date (gnutls_x509_crt_get_activation_time (crt), date, sizeof date);
    snprintf (cause, sizeof cause, "the certificate is not valid before %s",
              date);
  }
  else if (status & (GNUTLS_CERT_SIGNER_NOT_FOUND | GNUTLS_CERT_SIGNER_NOT_CA)) {
    if (c->ca_source == CA_SYSTEM_NO_CREDS)
      snprintf (cause, sizeof cause, "its issuer is unknown: no CA "
                "certificate was given, so only the system's trusted CAs "
                "were asked, and none of them signed it");
    else if (c->ca_source == CA_SYSTEM_NO_FILE)
      snprintf (cause, sizeof cause, "no CA certificate: %s does not exist "
                "(the system's trusted CAs were asked instead, and none of "
                "them signed it)", c->ca_path);
    else
      snprintf (cause, sizeof cause, "it was not signed by the CA in %s",
                c->ca_path);
  }
  else if ((status & GNUTLS_CERT_UNEXPECTED_OWNER) && crt) {
    cert_names (crt, names, sizeof names);
    snprintf (cause, sizeof cause, "the host name %s is not in the "
              "certificate (it names %s)", host ? host : "(none)", names);
  }
  else {
    gnutls_datum_t out = { 0 };
    gnutls_certificate_verification_status_print (status, GNUTLS_CRT_X509,
                                                  &out, 0);
    snprintf (cause, sizeof cause, "%s",
              out.data ? (char *) out.data : "verification failed");
    gnutls_free (out.data);
  }
  if (crt)
    gnutls_x509_crt_deinit (crt);
  if (asprintf (&msg, "the server's certificate failed verification: %s"
                TLS_VERIFY_ADVICE, cause) == -1)
    msg = NULL;
  return msg;
}

/* The user name for PSK: option, URI user@, then $LOGNAME/$USER. */
static const char *
psk_username (struct session *s)
{
  const char *u = s->cfg.tls.username;
  if (!u || !*u)
    u = s->target.tls_username;
  if (!u || !*u)
    u = getenv ("LOGNAME");
  if (!u || !*u)
    u = getenv ("USER");
  return u;
}

/* Finds USER's key in a psktool keys file ("user:hexkey" lines).  The
 * key is copied into KEY (NUL-terminated hex) and wiped by the caller.
 */
static int
read_psk (struct session *s, const char *file, const char *user, char *key,
          size_t keylen)
{
  FILE *fp = fopen (file, "r");
  char *line = NULL;
  size_t n = 0, ul = strlen (user);
  ssize_t r;
  int ret = -1;

  if (!fp) {
    ev_error (s, ERR_TLS_CREDENTIALS, "starttls: %s: %s", file, strerror (errno));
    return -1;
  }
  while ((r = getline (&line, &n, fp)) != -1) {
    while (r > 0 && (line[r - 1] == '\n' || line[r - 1] == '\r'))
      line[--r] = '\0';
    if ((size_t) r > ul && strncmp (line, user, ul) == 0 && line[ul] == ':') {
      if (strlen (line + ul + 1) + 1 > keylen) {
        ev_error (s, ERR_TLS_CREDENTIALS, "starttls: %s: the key for user \"%s\" is too long",
                  file, user);
        break;
      }
      strcpy (key, line + ul + 1);
      ret = 0;
      break;
    }
  }
  if (line) {
    memset (line, 0, n);
    free (line);
  }
  fclose (fp);
  if (ret == -1 && key[0] == '\0')
    ev_error (s, ERR_TLS_CREDENTIALS, "starttls: %s has no key for user \"%s\"", file, user);
  return ret;
}

static const char *
default_hostname (struct session *s)
{
  if (s->cfg.tls.hostname && *s->cfg.tls.hostname)
    return s->cfg.tls.hostname;
  if (s->target.tls_hostname && *s->target.tls_hostname)
    return s->target.tls_hostname;
  if (s->target.kind == TARGET_TCP)
    return s->target.host;
  return NULL;
}

static bool
verify_peer (struct session *s)
{
  if (s->cfg.tls.verify_peer >= 0)
    return s->cfg.tls.verify_peer;
  if (s->target.tls_verify_peer >= 0)
    return s->target.tls_verify_peer;
  return true;
}

static char *
dn_string (gnutls_x509_crt_t crt, bool issuer)
{
  gnutls_datum_t d = { 0 };
  char *r;
  int e = issuer ? gnutls_x509_crt_get_issuer_dn3 (crt, &d, 0)
    : gnutls_x509_crt_get_dn3 (crt, &d, 0);
  if (e < 0)
    return xstrdup ("?");
  r = xstrdup ((char *) d.data);
  gnutls_free (d.data);
  return r;
}

static void
fill_info (struct session *s, gnutls_session_t g, bool x509, bool verify,
           const char *host)
{
  struct tls_info *i = &s->tlsinfo;
  const gnutls_datum_t *certs;
  unsigned ncerts = 0;

  tls_info_clear (i);
  i->version = xstrdup (gnutls_protocol_get_name (gnutls_protocol_get_version (g)));
  i->cipher = xstrdup (gnutls_cipher_get_name (gnutls_cipher_get (g)));
  i->mac = xstrdup (gnutls_mac_get_name (gnutls_mac_get (g)));
  i->kx = xstrdup (gnutls_kx_get_name (gnutls_kx_get (g)));
  if (!i->kx || !*i->kx) {
    free (i->kx);
    i->kx = xstrdup ("(TLS 1.3: negotiated in the key share)");
  }
  i->cred = xstrdup (x509 ? "X.509" : "PSK");
  if (!x509) {
    const char *u = gnutls_psk_client_get_hint (g);
    i->psk_username = xstrdup (psk_username (s));
    (void) u;
    i->verify = xstrdup ("the server proved it knows the pre-shared key");
    return;
  }
  certs = gnutls_certificate_get_peers (g, &ncerts);
  if (certs && ncerts > 0) {
    gnutls_x509_crt_t crt;
    if (gnutls_x509_crt_init (&crt) == 0) {
      if (gnutls_x509_crt_import (crt, &certs[0], GNUTLS_X509_FMT_DER) == 0) {
        i->peer_subject = dn_string (crt, false);
        i->peer_issuer = dn_string (crt, true);
        i->peer_not_before = gnutls_x509_crt_get_activation_time (crt);
        i->peer_not_after = gnutls_x509_crt_get_expiration_time (crt);
      }
      gnutls_x509_crt_deinit (crt);
    }
  }
  if (verify && host) {
    char buf[512];
    snprintf (buf, sizeof buf, "verified: the certificate chains to a "
              "trusted CA and matches the host name \"%s\"", host);
    i->verify = xstrdup (buf);
  }
  else if (verify)
    i->verify = xstrdup ("verified: the certificate chains to a trusted CA; "
                         "no host name was checked (a Unix socket has none: "
                         "use --tls-hostname NAME to check one)");
  else {
    unsigned status = 0;
    gnutls_datum_t out = { 0 };
    if (gnutls_certificate_verify_peers3 (g, host, &status) == 0
        && gnutls_certificate_verification_status_print
             (status, GNUTLS_CRT_X509, &out, 0) == 0) {
      char buf[512];
      size_t n;
      snprintf (buf, sizeof buf, "not verified (verification off); "
                "it would be: %s%s", (char *) out.data,
                host ? "" : " (no host name to check)");
      n = strlen (buf);
      while (n > 0 && buf[n - 1] == ' ')
        buf[--n] = '\0';
      i->verify = xstrdup (buf);
      gnutls_free (out.data);
    }
    else
      i->verify = xstrdup ("not verified (verification off)");
  }
}

/* Do the client key and certificate belong together?  Compares their
 * key ids (hashes of the public key): no signature needed.
 */
static int
key_matches_cert (struct session *s, const char *cert, const char *keyf)
{
  gnutls_datum_t cd = { 0 }, kd = { 0 };
  gnutls_x509_crt_t crt = NULL;
  gnutls_x509_privkey_t key = NULL;
  unsigned char id1[64], id2[64];
  size_t n1 = sizeof id1, n2 = sizeof id2;
  int r, ret = -1;

  if ((r = gnutls_load_file (cert, &cd)) < 0
      || (r = gnutls_x509_crt_init (&crt)) < 0
      || (r = gnutls_x509_crt_import (crt, &cd, GNUTLS_X509_FMT_PEM)) < 0) {
    ev_error (s, ERR_TLS_CREDENTIALS, "starttls: client certificate %s: %s", cert,
              gnutls_strerror (r));
    goto out;
  }
  if ((r = gnutls_load_file (keyf, &kd)) < 0
      || (r = gnutls_x509_privkey_init (&key)) < 0
      || (r = gnutls_x509_privkey_import (key, &kd, GNUTLS_X509_FMT_PEM)) < 0) {
    ev_error (s, ERR_TLS_CREDENTIALS, "starttls: client key %s: %s", keyf, gnutls_strerror (r));
    goto out;
  }
  if ((r = gnutls_x509_crt_get_key_id (crt, 0, id1, &n1)) < 0
      || (r = gnutls_x509_privkey_get_key_id (key, 0, id2, &n2)) < 0) {
    ev_error (s, ERR_TLS_CREDENTIALS, "starttls: client certificate and key: %s",
              gnutls_strerror (r));
    goto out;
  }
  if (n1 != n2 || memcmp (id1, id2, n1) != 0) {
    ev_error (s, ERR_TLS_CREDENTIALS, "starttls: the client key %s does not belong to the "
              "certificate %s", keyf, cert);
    goto out;
  }
  ret = 0;
 out:
  if (kd.data) {
    memset (kd.data, 0, kd.size);
    gnutls_free (kd.data);
  }
  gnutls_free (cd.data);
  if (crt)
    gnutls_x509_crt_deinit (crt);
  if (key)
    gnutls_x509_privkey_deinit (key);
  return ret;
}

/* Loads the credentials the session's settings name into C (C->x or
 * C->p, and where the trust comes from), reporting what is wrong.
 * Returns 0 or -1.
 */
static int
load_files (struct session *s, struct tls_creds *c)
{
  gnutls_certificate_credentials_t *xcred = &c->x;
  gnutls_psk_client_credentials_t *pcred = &c->p;
  const char *psk_file = s->cfg.tls.psk_file ? s->cfg.tls.psk_file
    : s->target.tls_psk_file;
  const char *certs = s->cfg.tls.certificates ? s->cfg.tls.certificates
    : s->target.tls_certificates;
  char path[4096];
  int r;

  *xcred = NULL;
  *pcred = NULL;
  c->client_cert = false;
  c->ca_source = CA_SYSTEM_NO_CREDS;
  c->ca_path[0] = '\0';
  if (psk_file && *psk_file && certs && *certs) {
    ev_error (s, ERR_TLS_CREDENTIALS, "starttls: both a PSK keys file (%s) and a certificate "
              "directory (%s) are given: TLS uses one or the other; keep "
              "--tls-psk for PSK or --tls-certificates for X.509", psk_file,
              certs);
    return -1;
  }
  if (psk_file && *psk_file) {
    const char *user = psk_username (s);
    char key[1024] = "";
    gnutls_datum_t kd;

    if (!user) {
      ev_error (s, ERR_TLS_CREDENTIALS, "starttls: PSK needs a user name (user@ in the URI or "
                "--tls-username)");
      return -1;
    }
    if (read_psk (s, psk_file, user, key, sizeof key) == -1) {
      memset (key, 0, sizeof key);
      return -1;
    }
    kd.data = (unsigned char *) key;
    kd.size = strlen (key);
    gnutls_psk_allocate_client_credentials (pcred);
    r = gnutls_psk_set_client_credentials (*pcred, user, &kd,
                                           GNUTLS_PSK_KEY_HEX);
    memset (key, 0, sizeof key);
    if (r < 0) {
      ev_error (s, ERR_TLS_CREDENTIALS, "starttls: the PSK for \"%s\" in %s is not valid hex: %s",
                user, psk_file, gnutls_strerror (r));
      gnutls_psk_free_client_credentials (*pcred);
      *pcred = NULL;
      return -1;
    }
    return 0;
  }

  gnutls_certificate_allocate_credentials (xcred);
  if (certs && *certs) {
    char cert[4096], keyf[4096];
    struct stat st;
    bool have_cert, have_key;

    if (stat (certs, &st) == -1 || !S_ISDIR (st.st_mode)) {
      ev_error (s, ERR_TLS_CREDENTIALS, "starttls: %s: not a directory of certificates", certs);
      goto err;
    }
    snprintf (c->ca_path, sizeof c->ca_path, "%s/ca-cert.pem", certs);
    if (file_exists (certs, "ca-cert.pem", path, sizeof path)) {
      c->ca_source = CA_FILE;
      r = gnutls_certificate_set_x509_trust_file (*xcred, path,
                                                  GNUTLS_X509_FMT_PEM);
      if (r <= 0) {
        /* 0: the file holds no certificate GnuTLS could read. */
        ev_error (s, ERR_TLS_CREDENTIALS, "starttls: %s is not a PEM "
                  "certificate%s%s", path, r < 0 ? ": " : "",
                  r < 0 ? gnutls_strerror (r) : "");
        goto err;
      }
    }
    else {
      c->ca_source = CA_SYSTEM_NO_FILE;
      gnutls_certificate_set_x509_system_trust (*xcred);
    }
    have_cert = file_exists (certs, "client-cert.pem", cert, sizeof cert);
    have_key = file_exists (certs, "client-key.pem", keyf, sizeof keyf);
    if (have_cert != have_key) {
      ev_error (s, ERR_TLS_CREDENTIALS, "starttls: %s has %s but not %s", certs,
                have_cert ? "client-cert.pem" : "client-key.pem",
                have_cert ? "client-key.pem" : "client-cert.pem");
      goto err;
    }
    if (have_cert) {
      /* GnuTLS would prove the key matches the certificate with an RSA
       * signature on every load; comparing their key ids is enough and
       * keeps a probe fast.
       */
      if (key_matches_cert (s, cert, keyf) == -1)
        goto err;
      gnutls_certificate_set_flags (*xcred,
                                    GNUTLS_CERTIFICATE_SKIP_KEY_CERT_MATCH);
      r = gnutls_certificate_set_x509_key_file (*xcred, cert, keyf,
                                                GNUTLS_X509_FMT_PEM);
      if (r < 0) {
        ev_error (s, ERR_TLS_CREDENTIALS, "starttls: the client certificate and key (%s, %s) "
                  "cannot be used: %s", cert, keyf, gnutls_strerror (r));
        goto err;
      }
      c->client_cert = true;
    }
  }
  else
    gnutls_certificate_set_x509_system_trust (*xcred);
  return 0;

 err:
  gnutls_certificate_free_credentials (*xcred);
  *xcred = NULL;
  return -1;
}

/* Loaded credentials, shared.  Reading and checking the files is the
 * costly part of a TLS connection after the handshake itself, and an
 * audit opens dozens of connections with the same files, so what was
 * loaded is kept, keyed by the settings and by the files' identity,
 * size and modification time: a file that changes is loaded again.
 * GnuTLS allows credentials to be read by several sessions, in several
 * threads, at once; a reference count frees them when the last TLS
 * session using them ends and they are no longer current.  At most
 * CACHE_MAX unused entries are kept.
 */
#define CACHE_MAX 16

static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static struct tls_creds *cache;

static void
stamp_of (const char *path, struct stamp *st)
{
  struct stat sb;

  memset (st, 0, sizeof *st);
  if (path && stat (path, &sb) == 0) {
    st->exists = true;
    st->dev = sb.st_dev;
    st->ino = sb.st_ino;
    st->size = sb.st_size;
    st->mtime = sb.st_mtim;
  }
}

static bool
stamp_equal (const struct stamp *a, const struct stamp *b)
{
  return a->exists == b->exists && a->dev == b->dev && a->ino == b->ino
    && a->size == b->size && a->mtime.tv_sec == b->mtime.tv_sec
    && a->mtime.tv_nsec == b->mtime.tv_nsec;
}

/* The cache key for S's settings, and the stamps of the files they
 * name, into KEY (malloc'd) and STAMPS.
 */
static char *
creds_key (struct session *s, struct stamp stamps[3])
{
  const char *psk_file = s->cfg.tls.psk_file ? s->cfg.tls.psk_file
    : s->target.tls_psk_file;
  const char *certs = s->cfg.tls.certificates ? s->cfg.tls.certificates
    : s->target.tls_certificates;
  static const char *const names[3] = {
    "ca-cert.pem", "client-cert.pem", "client-key.pem"
  };
  char path[4096];
  char *key = NULL;
  int i;

  memset (stamps, 0, 3 * sizeof *stamps);
  if (psk_file && *psk_file && !(certs && *certs)) {
    const char *user = psk_username (s);
    stamp_of (psk_file, &stamps[0]);
    if (asprintf (&key, "psk\n%s\n%s", psk_file, user ? user : "") == -1)
      return NULL;
    return key;
  }
  if (certs && *certs) {
    for (i = 0; i < 3; i++) {
      snprintf (path, sizeof path, "%s/%s", certs, names[i]);
      stamp_of (path, &stamps[i]);
    }
  }
  if (asprintf (&key, "x509\n%s", certs && *certs ? certs : "") == -1)
    return NULL;
  return key;
}

static void
creds_free (struct tls_creds *c)
{
  if (c->x)
    gnutls_certificate_free_credentials (c->x);
  if (c->p)
    gnutls_psk_free_client_credentials (c->p);
  free (c->key);
  free (c);
}

void
tls_creds_release (struct tls_creds *c)
{
  bool last;

  if (!c)
    return;
  pthread_mutex_lock (&cache_lock);
  last = --c->refs == 0;
  pthread_mutex_unlock (&cache_lock);
  if (last)
    creds_free (c);
}

/* Drops entries nobody uses beyond the first CACHE_MAX, and every
 * entry for KEY (it is about to be replaced).  Called locked; the
 * entries to free go to *DEAD.
 */
static void
cache_trim (const char *key, struct tls_creds **dead)
{
  struct tls_creds **pp = &cache;
  unsigned unused = 0;

  while (*pp) {
    struct tls_creds *c = *pp;
    bool drop = (key && strcmp (c->key, key) == 0);
    if (!drop && c->refs == 1 && ++unused > CACHE_MAX)
      drop = true;
    if (drop) {
      *pp = c->next;
      if (--c->refs == 0) {
        c->next = *dead;
        *dead = c;
      }
    }
    else
      pp = &c->next;
  }
}

void
tls_creds_cache_clear (void)
{
  struct tls_creds *dead = NULL, *c;

  pthread_mutex_lock (&cache_lock);
  while (cache) {
    c = cache;
    cache = c->next;
    if (--c->refs == 0) {
      c->next = dead;
      dead = c;
    }
  }
  pthread_mutex_unlock (&cache_lock);
  while ((c = dead)) {
    dead = c->next;
    creds_free (c);
  }
}

/* The credentials S's settings name, from the cache or loaded now
 * (reporting what is wrong), with a reference for the caller; NULL on
 * error.
 */
static struct tls_creds *
load_credentials (struct session *s)
{
  struct stamp stamps[3];
  char *key = creds_key (s, stamps);
  struct tls_creds *c, *dead = NULL;

  if (!key) {
    ev_error (s, ERR_TLS_CREDENTIALS, "starttls: out of memory");
    return NULL;
  }
  pthread_mutex_lock (&cache_lock);
  for (c = cache; c; c = c->next)
    if (strcmp (c->key, key) == 0 && stamp_equal (&c->stamps[0], &stamps[0])
        && stamp_equal (&c->stamps[1], &stamps[1])
        && stamp_equal (&c->stamps[2], &stamps[2])) {
      c->refs++;
      break;
    }
  pthread_mutex_unlock (&cache_lock);
  if (c) {
    free (key);
    s->tls_client_cert = c->client_cert;
    return c;
  }

  c = xcalloc (1, sizeof *c);
  if (load_files (s, c) == -1) {
    free (key);
    free (c);
    return NULL;
  }
  s->tls_client_cert = c->client_cert;
  c->key = key;
  memcpy (c->stamps, stamps, sizeof c->stamps);
  c->refs = 2;                  /* the caller's and the cache's */
  pthread_mutex_lock (&cache_lock);
  cache_trim (key, &dead);
  c->next = cache;
  cache = c;
  pthread_mutex_unlock (&cache_lock);
  while (dead) {
    struct tls_creds *d = dead;
    dead = d->next;
    creds_free (d);
  }
  return c;
}

/* Loads the credentials, reporting what is wrong, before STARTTLS is
 * sent; the handshake after its ACK finds them in the cache.
 */
int
tls_check_credentials (struct session *s)
{
  struct tls_creds *c = load_credentials (s);

  tls_creds_release (c);
  return c ? 0 : -1;
}

const char *
tls_rejection_advice (const struct session *s)
{
  return s->tls_client_cert
    ? "check that the server trusts the client certificate's CA"
    : "the server may require a client certificate: put client-cert.pem "
      "and client-key.pem in the certificates directory";
}

/* GnuTLS's own key log function (it honours SSLKEYLOGFILE). */
static gnutls_keylog_func gnutls_keylog;

/* Every secret GnuTLS derives: to GnuTLS's key log, and as an event. */
static int
keylog (gnutls_session_t g, const char *label, const gnutls_datum_t *secret)
{
  struct session *s = gnutls_session_get_ptr (g);
  gnutls_datum_t cr = { 0 }, sr = { 0 };

  if (gnutls_keylog)
    gnutls_keylog (g, label, secret);
  gnutls_session_get_random (g, &cr, &sr);
  if (s && cr.data && cr.size == 32)
    ev_secret (s, label, cr.data, secret->data, secret->size);
  return 0;
}

int
tls_handshake (struct session *s)
{
  gnutls_session_t g = NULL;
  gnutls_certificate_credentials_t xcred;
  gnutls_psk_client_credentials_t pcred;
  struct tls_creds *creds;
  const char *host = default_hostname (s);
  bool verify = verify_peer (s);
  struct timespec t0, t1;
  int64_t deadline;
  int r;

  if (s->t.kind == TRANSPORT_MEMORY) {
    ev_error (s, ERR_TLS_HANDSHAKE, "starttls: TLS cannot run over the "
              "in-memory transport");
    return -1;
  }
  r = gnutls_init (&g, GNUTLS_CLIENT | GNUTLS_NONBLOCK);
  if (r < 0) {
    ev_error (s, ERR_TLS_HANDSHAKE, "starttls: gnutls_init: %s", gnutls_strerror (r));
    return -1;
  }
  creds = load_credentials (s);
  if (!creds)
    goto err;
  xcred = creds->x;
  pcred = creds->p;
  if (pcred) {
    r = gnutls_priority_set_direct
      (g, "NORMAL:-KX-ALL:+ECDHE-PSK:+DHE-PSK:+PSK", NULL);
    if (r == 0)
      r = gnutls_credentials_set (g, GNUTLS_CRD_PSK, pcred);
  }
  else {
    r = gnutls_set_default_priority (g);
    if (r == 0)
      r = gnutls_credentials_set (g, GNUTLS_CRD_CERTIFICATE, xcred);
    if (r == 0 && host) {
      struct in6_addr a6;
      struct in_addr a4;
      if (inet_pton (AF_INET, host, &a4) != 1
          && inet_pton (AF_INET6, host, &a6) != 1)
        gnutls_server_name_set (g, GNUTLS_NAME_DNS, host, strlen (host));
    }
    if (r == 0 && verify)
      gnutls_session_set_verify_cert (g, host, 0);
  }
  if (r < 0) {
    ev_error (s, ERR_TLS_HANDSHAKE, "starttls: %s", gnutls_strerror (r));
    goto err;
  }

  gnutls_session_set_ptr (g, s);
  if (!gnutls_keylog)
    gnutls_keylog = gnutls_session_get_keylog_function (g);
  gnutls_session_set_keylog_function (g, keylog);
  transport_tls_bind (&s->t, g);
  clock_gettime (CLOCK_MONOTONIC, &t0);
  deadline = (int64_t) t0.tv_sec * 1000 + t0.tv_nsec / 1000000
    + session_setup_timeout (s);
  for (;;) {
    struct pollfd pfd = { .fd = s->t.fd };
    int64_t now;

    r = gnutls_handshake (g);
    if (r == 0)
      break;
    if (r != GNUTLS_E_AGAIN && r != GNUTLS_E_INTERRUPTED
        && gnutls_error_is_fatal (r)) {
      if (r == GNUTLS_E_CERTIFICATE_VERIFICATION_ERROR) {
        unsigned status = gnutls_session_get_verify_cert_status (g);
        char *why = describe_verify_failure (g, status, host, creds);
        ev_error (s, ERR_TLS_VERIFY, "starttls: %s", why ? why
                  : "the server's certificate failed verification");
        free (why);
      }
      else if (!pcred && gnutls_certificate_client_get_request_status (g)
               && (r == GNUTLS_E_FATAL_ALERT_RECEIVED
                   || r == GNUTLS_E_PREMATURE_TERMINATION
                   || r == GNUTLS_E_PULL_ERROR || r == GNUTLS_E_PUSH_ERROR))
        /* The server asked for a client certificate, then ended the
         * handshake: the same rejection as a close right after it
         * (io_failed), seen earlier because of timing.
         */
        ev_error (s, ERR_TLS_REJECTED, "starttls: TLS handshake failed: the server asked "
                  "for a client certificate, then %s%s%s; this is how a "
                  "server rejects the client's credentials (%s)",
                  r == GNUTLS_E_FATAL_ALERT_RECEIVED ? "sent the alert \""
                  : "closed the connection",
                  r == GNUTLS_E_FATAL_ALERT_RECEIVED
                  ? gnutls_alert_get_name (gnutls_alert_get (g)) : "",
                  r == GNUTLS_E_FATAL_ALERT_RECEIVED ? "\"" : "",
                  tls_rejection_advice (s));
      else if (r == GNUTLS_E_FATAL_ALERT_RECEIVED)
        ev_error (s, ERR_TLS_HANDSHAKE, "starttls: TLS handshake failed: the server sent the "
                  "alert \"%s\"",
                  gnutls_alert_get_name (gnutls_alert_get (g)));
      else if (r == GNUTLS_E_PREMATURE_TERMINATION
               || r == GNUTLS_E_PULL_ERROR || r == GNUTLS_E_PUSH_ERROR)
        ev_error (s, ERR_TLS_HANDSHAKE, "starttls: TLS handshake failed: the server closed "
                  "the connection%s", pcred ? " (with PSK this usually "
                  "means the server does not know the user name or has "
                  "another key)" : "");
      else
        ev_error (s, ERR_TLS_HANDSHAKE, "starttls: TLS handshake failed: %s",
                  gnutls_strerror (r));
      goto err;
    }
    if (transport_interrupted) {
      ev_error (s, ERR_INTERRUPTED, "starttls: interrupted");
      goto err;
    }
    clock_gettime (CLOCK_MONOTONIC, &t1);
    now = (int64_t) t1.tv_sec * 1000 + t1.tv_nsec / 1000000;
    if (now >= deadline) {
      int ms = session_setup_timeout (s);

      ev_error (s, ERR_TIMEOUT, "starttls: TLS handshake did not finish "
                "within %d %s", ms % 1000 ? ms : ms / 1000,
                ms % 1000 ? "ms" : "s");
      goto err;
    }
    pfd.events = gnutls_record_get_direction (g) ? POLLOUT : POLLIN;
    poll (&pfd, 1, deadline - now > 200 ? 200 : (int) (deadline - now));
  }

  s->t.tls = g;
  s->t.tls_creds = creds;
  fill_info (s, g, pcred == NULL, verify, host);
  return 0;

 err:
  gnutls_deinit (g);
  tls_creds_release (creds);
  return -1;
}
