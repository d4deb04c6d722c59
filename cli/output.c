/* nbdcli - output: how the engine's events look to a person.
 * Copyright the nbdcli authors, MIT licence.
 */
#include <config.h>

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "events.h"
#include "names.h"
#include "nbd-proto.h"
#include "nbdcli.h"
#include "output.h"
#include "session.h"
#include "wire.h"

/* JSON output: one object per line.  Strings are escaped; bytes that
 * are not valid UTF-8 become \u00XX so every line parses.
 */
struct json {
  int unused;
};

static void
json_raw_str (const uint8_t *p, size_t len)
{
  size_t i;

  putchar ('"');
  for (i = 0; i < len; i++) {
    uint8_t c = p[i];
    if (c == '"' || c == '\\')
      printf ("\\%c", c);
    else if (c == '\n')
      fputs ("\\n", stdout);
    else if (c == '\t')
      fputs ("\\t", stdout);
    else if (c < 0x20 || c == 0x7f)
      printf ("\\u%04x", c);
    else if (c >= 0x80) {
      if (nbd_string_ok (p + i, 1))
        putchar (c);
      else {
        /* Keep valid multibyte sequences, escape stray bytes. */
        size_t n = 0;
        if ((c & 0xe0) == 0xc0) n = 2;
        else if ((c & 0xf0) == 0xe0) n = 3;
        else if ((c & 0xf8) == 0xf0) n = 4;
        if (n && i + n <= len && nbd_string_ok (p + i, n)) {
          fwrite (p + i, 1, n, stdout);
          i += n - 1;
        }
        else
          printf ("\\u%04x", c);
      }
    }
    else
      putchar (c);
  }
  putchar ('"');
}

static void
json_begin (struct json *j, const char *event)
{
  (void) j;
  printf ("{\"event\":\"%s\"", event);
}

static void
json_key (struct json *j, const char *key)
{
  printf (",\"%s\":", key);
}

static void
json_str (struct json *j, const char *key, const char *v)
{
  json_key (j, key);
  if (v)
    json_raw_str ((const uint8_t *) v, strlen (v));
  else
    fputs ("null", stdout);
}

static void
json_bytes (struct json *j, const char *key, const uint8_t *p, size_t len)
{
  json_key (j, key);
  json_raw_str (p, len);
}

static void
json_hex (struct json *j, const char *key, const uint8_t *p, size_t len)
{
  size_t i;
  json_key (j, key);
  putchar ('"');
  for (i = 0; i < len && i < 4096; i++)
    printf ("%02x", p[i]);
  putchar ('"');
}

static void
json_u64 (struct json *j, const char *key, uint64_t v)
{
  json_key (j, key);
  printf ("%" PRIu64, v);
}

static void
json_bool (struct json *j, const char *key, bool v)
{
  json_key (j, key);
  fputs (v ? "true" : "false", stdout);
}

static void
json_flags (struct json *j, const char *key, const struct nbd_name *tbl,
            uint32_t flags)
{
  char buf[512], *p, *save = NULL;
  bool first = true;

  json_u64 (j, key, flags);
  printf (",\"%s_names\":[", key);
  nbd_flags_str (tbl, flags, buf, sizeof buf);
  if (flags)
    for (p = strtok_r (buf, " ", &save); p; p = strtok_r (NULL, " ", &save)) {
      printf ("%s\"%s\"", first ? "" : ",", p);
      first = false;
    }
  putchar (']');
}

static void
json_end (struct json *j)
{
  puts ("}");
  fflush (stdout);
}

/* Colour, when stdout is a terminal and NO_COLOR is not set (main
 * decides, into cli.color): the direction markers and FLAG lines.
 */
#define C_SENT "\033[36m"
#define C_RECV "\033[32m"
#define C_ERR_REPLY "\033[33m"
#define C_FLAG "\033[1;31m"
#define C_RESET "\033[0m"

static void
mark (const char *m, const char *colour)
{
  if (cli.color)
    printf ("%s%s%s ", colour, m, C_RESET);
  else
    printf ("%s ", m);
}

const char *
human_size (uint64_t v, char *buf, size_t len)
{
  static const char *units[] = { "bytes", "KiB", "MiB", "GiB", "TiB",
                                 "PiB", "EiB" };
  int u = 0;
  uint64_t x = v;

  while (x >= 1024 && x % 1024 == 0 && u < 6) {
    x /= 1024;
    u++;
  }
  if (u == 0 && v >= 1024) {
    double d = v;
    while (d >= 1024 && u < 6) {
      d /= 1024;
      u++;
    }
    snprintf (buf, len, "%.1f %s", d, units[u]);
  }
  else
    snprintf (buf, len, "%" PRIu64 " %s", x, units[u]);
  return buf;
}

void
print_hex_inline (const uint8_t *p, size_t len, size_t max)
{
  size_t i;

  for (i = 0; i < len && i < max; i++)
    printf ("%s%02x", i ? " " : "", p[i]);
  if (len > max)
    printf (" ... (%zu more bytes)", len - max);
}

const char *
opt_label (uint32_t opt, char *buf, size_t len)
{
  const char *n = nbd_opt_name (opt);
  if (n)
    snprintf (buf, len, "%s (%" PRIu32 ")", n, opt);
  else
    snprintf (buf, len, "option %" PRIu32 " (0x%" PRIx32 ", unknown)",
              opt, opt);
  return buf;
}

const char *
rep_label (uint32_t type, char *buf, size_t len)
{
  const char *n = nbd_rep_name (type);
  if (n && (type & NBD_REP_ERR_BIT))
    snprintf (buf, len, "%s (0x%08" PRIx32 ")", n, type);
  else if (n)
    snprintf (buf, len, "%s (%" PRIu32 ")", n, type);
  else
    snprintf (buf, len, "unknown %sreply type 0x%08" PRIx32,
              (type & NBD_REP_ERR_BIT) ? "error " : "", type);
  return buf;
}

/* A string from the server, quoted; long ones are cut at 1024 bytes. */
static void
print_quoted (const uint8_t *p, size_t len)
{
  size_t shown = len > 1024 ? 1024 : len;
  char *q = nbd_quote (p, shown);

  fputs (q, stdout);
  free (q);
  if (shown < len)
    printf (" ... (%zu more bytes)", len - shown);
  if (!nbd_string_ok (p, len))
    fputs (" (not valid UTF-8 or contains NUL)", stdout);
}

static void
print_tflags (uint16_t f)
{
  char buf[512];
  printf ("flags 0x%04x (%s)", f, nbd_flags_str (nbd_tflag_names, f,
                                                 buf, sizeof buf));
}

static void
print_info (const uint8_t *p, size_t len)
{
  struct nbd_rep_info i;
  const char *err = nbd_decode_rep_info (p, len, &i);
  char sz[64];

  if (len < 2) {
    printf ("malformed: %s; raw ", err);
    print_hex_inline (p, len, 32);
    return;
  }
  if (nbd_info_name (i.type))
    printf ("%s (%u)", nbd_info_name (i.type), i.type);
  else
    printf ("unknown info type %u", i.type);
  if (err) {
    printf (": malformed: %s; raw ", err);
    print_hex_inline (i.raw, i.raw_len, 32);
    return;
  }
  switch (i.type) {
  case NBD_INFO_EXPORT:
    printf (": size %" PRIu64 " (%s), ", i.size,
            human_size (i.size, sz, sizeof sz));
    print_tflags (i.tflags);
    break;
  case NBD_INFO_NAME:
  case NBD_INFO_DESCRIPTION:
    printf (": ");
    print_quoted (i.str, i.str_len);
    break;
  case NBD_INFO_BLOCK_SIZE:
    printf (": minimum %" PRIu32 ", preferred %" PRIu32 ", maximum %" PRIu32,
            i.min_block, i.pref_block, i.max_block);
    break;
  default:
    printf (": raw ");
    print_hex_inline (i.raw, i.raw_len, 32);
  }
}

void
print_opt_payload (uint32_t type, const uint8_t *p, size_t len)
{
  switch (type) {
  case NBD_REP_SERVER: {
    struct nbd_rep_server sv;
    const char *err = nbd_decode_rep_server (p, len, &sv);
    if (err) {
      printf ("malformed: %s; raw ", err);
      print_hex_inline (p, len, 32);
      return;
    }
    printf ("export ");
    print_quoted (sv.name, sv.name_len);
    if (sv.desc_len) {
      printf (", description ");
      print_quoted (sv.desc, sv.desc_len);
    }
    return;
  }
  case NBD_REP_INFO:
    print_info (p, len);
    return;
  case NBD_REP_META_CONTEXT: {
    struct nbd_rep_meta m;
    const char *err = nbd_decode_rep_meta (p, len, &m);
    if (err) {
      printf ("malformed: %s; raw ", err);
      print_hex_inline (p, len, 32);
      return;
    }
    printf ("id %" PRIu32 ", ", m.id);
    print_quoted (m.name, m.name_len);
    return;
  }
  default:
    if (type & NBD_REP_ERR_BIT) {
      printf ("message ");
      print_quoted (p, len);
    }
    else {
      printf ("raw ");
      print_hex_inline (p, len, 64);
    }
  }
}

/* Decodes the payload of an option the user sent, for the echo line. */
static void
print_sent_payload (uint32_t opt, const uint8_t *p, size_t len)
{
  uint32_t n, k, i;
  size_t off;

  switch (opt) {
  case NBD_OPT_EXPORT_NAME:
    printf ("export ");
    print_quoted (p, len);
    return;
  case NBD_OPT_INFO:
  case NBD_OPT_GO:
    if (len < 6 || (n = get_u32 (p)) > len - 6)
      break;
    printf ("export ");
    print_quoted (p + 4, n);
    k = get_u16 (p + 4 + n);
    off = 6 + n;
    if ((size_t) k * 2 != len - off)
      break;
    printf (", %" PRIu32 " info request%s", k, k == 1 ? "" : "s");
    for (i = 0; i < k; i++) {
      uint16_t t = get_u16 (p + off + 2 * i);
      const char *nm = nbd_info_name (t);
      if (nm)
        printf ("%s%s", i ? " " : ": ", nm);
      else
        printf ("%s%u", i ? " " : ": ", t);
    }
    return;
  case NBD_OPT_LIST_META_CONTEXT:
  case NBD_OPT_SET_META_CONTEXT:
    if (len < 8 || (n = get_u32 (p)) > len - 8)
      break;
    printf ("export ");
    print_quoted (p + 4, n);
    off = 4 + n;
    k = get_u32 (p + off);
    off += 4;
    printf (", %" PRIu32 " quer%s", k, k == 1 ? "y" : "ies");
    for (i = 0; i < k; i++) {
      uint32_t ql;
      if (len - off < 4 || (ql = get_u32 (p + off)) > len - off - 4) {
        printf (" (truncated)");
        return;
      }
      printf ("%s", i ? " " : ": ");
      print_quoted (p + off + 4, ql);
      off += 4 + ql;
    }
    if (off != len)
      printf (" (%zu trailing bytes)", len - off);
    return;
  default:
    break;
  }
  printf ("data ");
  print_hex_inline (p, len, 64);
}

static void
where_prefix (FILE *fp)
{
  if (cli.where_file)
    fprintf (fp, "%s:%d: ", cli.where_file, cli.where_line);
}

/* The decoded fields of an option reply payload, as JSON members. */
static void
json_opt_payload (struct json *j, uint32_t type, const uint8_t *p,
                  size_t len)
{
  const char *err = NULL;

  switch (type) {
  case NBD_REP_SERVER: {
    struct nbd_rep_server sv;
    err = nbd_decode_rep_server (p, len, &sv);
    if (!err) {
      json_bytes (j, "export", sv.name, sv.name_len);
      json_bytes (j, "description", sv.desc, sv.desc_len);
    }
    break;
  }
  case NBD_REP_INFO: {
    struct nbd_rep_info i;
    err = nbd_decode_rep_info (p, len, &i);
    if (len >= 2) {
      json_u64 (j, "info", i.type);
      json_str (j, "info_name", nbd_info_name (i.type));
    }
    if (err)
      break;
    switch (i.type) {
    case NBD_INFO_EXPORT:
      json_u64 (j, "size", i.size);
      json_flags (j, "transmission_flags", nbd_tflag_names, i.tflags);
      break;
    case NBD_INFO_NAME:
    case NBD_INFO_DESCRIPTION:
      json_bytes (j, "text", i.str, i.str_len);
      break;
    case NBD_INFO_BLOCK_SIZE:
      json_u64 (j, "minimum", i.min_block);
      json_u64 (j, "preferred", i.pref_block);
      json_u64 (j, "maximum", i.max_block);
      break;
    }
    break;
  }
  case NBD_REP_META_CONTEXT: {
    struct nbd_rep_meta m;
    err = nbd_decode_rep_meta (p, len, &m);
    if (!err) {
      json_u64 (j, "context_id", m.id);
      json_bytes (j, "context", m.name, m.name_len);
    }
    break;
  }
  default:
    if (type & NBD_REP_ERR_BIT)
      json_bytes (j, "error_message", p, len);
  }
  if (err)
    json_str (j, "malformed", err);
}

void
ev_connected (struct session *s, const char *desc)
{
  if (s->quiet)
    return;
  if (cli.json) {
    struct json j;
    json_begin (&j, "connected");
    json_str (&j, "target", desc);
    json_end (&j);
    return;
  }
  printf ("connected to %s\n", desc);
}

void
ev_greeting (struct session *s)
{
  if (s->quiet)
    return;
  char buf[256], sz[64];

  if (cli.json) {
    struct json j;
    json_begin (&j, "received");
    json_str (&j, "message", "greeting");
    json_str (&j, "style", s->oldstyle ? "oldstyle" : "newstyle");
    if (s->oldstyle) {
      json_u64 (&j, "size", s->cur.size);
      json_flags (&j, "transmission_flags", nbd_tflag_names, s->cur.tflags);
    }
    else
      json_flags (&j, "handshake_flags", nbd_hs_flag_names, s->hs_flags);
    json_end (&j);
    return;
  }
  if (s->oldstyle) {
    mark ("<-", C_RECV);
    printf ("greeting: oldstyle, export size %" PRIu64 " (%s), ",
            s->cur.size, human_size (s->cur.size, sz, sizeof sz));
    print_tflags (s->cur.tflags);
    printf ("\n   (oldstyle: no options; the session is in transmission)\n");
    return;
  }
  mark ("<-", C_RECV);
  printf ("greeting: newstyle, handshake flags 0x%04x (%s)\n", s->hs_flags,
          nbd_flags_str (nbd_hs_flag_names, s->hs_flags, buf, sizeof buf));
  if (!(s->hs_flags & NBD_FLAG_FIXED_NEWSTYLE))
    printf ("   (not fixed newstyle: only NBD_OPT_EXPORT_NAME is "
            "understood)\n");
}

void
ev_client_flags (struct session *s, uint32_t flags)
{
  if (s->quiet)
    return;
  char buf[512];             /* 32 bits, every name: no truncation */
  if (cli.json) {
    struct json j;
    json_begin (&j, "sent");
    json_str (&j, "message", "client_flags");
    json_flags (&j, "client_flags", nbd_cflag_names, flags);
    json_end (&j);
    return;
  }
  mark ("->", C_SENT);
  printf ("client flags 0x%08" PRIx32 " (%s)\n", flags,
          nbd_flags_str (nbd_cflag_names, flags, buf, sizeof buf));
}

void
ev_sent_option (struct session *s, uint32_t opt, uint32_t declared_len,
                const uint8_t *payload, size_t len)
{
  if (s->quiet)
    return;
  char buf[128];

  if (cli.json) {
    struct json j;
    json_begin (&j, "sent");
    json_str (&j, "message", "option");
    json_u64 (&j, "option", opt);
    json_str (&j, "option_name", nbd_opt_name (opt));
    json_u64 (&j, "length", declared_len);
    json_u64 (&j, "payload_length", len);
    json_hex (&j, "payload_hex", payload, len);
    json_end (&j);
    return;
  }
  mark ("->", C_SENT);
  printf ("%s, length %" PRIu32, opt_label (opt, buf, sizeof buf),
          declared_len);
  if (declared_len != len)
    printf (" (%zu byte%s sent)", len, len == 1 ? "" : "s");
  if (len) {
    printf (": ");
    print_sent_payload (opt, payload, len);
  }
  printf ("\n");
}

void
ev_opt_reply (struct session *s, const struct nbd_opt_reply_hdr *h,
              const uint8_t *payload)
{
  if (s->quiet)
    return;
  char b1[128], b2[128];

  if (cli.json) {
    struct json j;
    json_begin (&j, "received");
    json_str (&j, "message", "option_reply");
    json_u64 (&j, "option", h->option);
    json_str (&j, "option_name", nbd_opt_name (h->option));
    json_u64 (&j, "type", h->type);
    json_str (&j, "type_name", nbd_rep_name (h->type));
    json_bool (&j, "error", (h->type & NBD_REP_ERR_BIT) != 0);
    json_u64 (&j, "length", h->length);
    json_opt_payload (&j, h->type, payload, h->length);
    json_hex (&j, "payload_hex", payload, h->length);
    json_end (&j);
    return;
  }
  mark ("<-", (h->type & NBD_REP_ERR_BIT) ? C_ERR_REPLY : C_RECV);
  printf ("%s to %s, length %" PRIu32, rep_label (h->type, b1, sizeof b1),
          opt_label (h->option, b2, sizeof b2), h->length);
  if (h->length) {
    printf (": ");
    print_opt_payload (h->type, payload, h->length);
  }
  printf ("\n");
}

void
ev_export_name_reply (struct session *s, uint64_t size, uint16_t tflags,
                      size_t padding)
{
  if (s->quiet)
    return;
  char sz[64];
  if (cli.json) {
    struct json j;
    json_begin (&j, "received");
    json_str (&j, "message", "export_name_reply");
    json_u64 (&j, "size", size);
    json_flags (&j, "transmission_flags", nbd_tflag_names, tflags);
    json_u64 (&j, "padding", padding);
    json_end (&j);
    return;
  }
  mark ("<-", C_RECV);
  printf ("export size %" PRIu64 " (%s), ", size,
          human_size (size, sz, sizeof sz));
  print_tflags (tflags);
  if (padding)
    printf (", %zu bytes of padding", padding);
  else
    printf (", no padding (NO_ZEROES)");
  printf ("\n");
}

void
ev_sent_request (struct session *s, uint16_t flags, uint16_t type,
                 uint64_t cookie, uint64_t offset, uint32_t len)
{
  if (s->quiet)
    return;
  char buf[512];             /* 16 bits, every name: no truncation */
  if (cli.json) {
    struct json j;
    json_begin (&j, "sent");
    json_str (&j, "message", "request");
    json_u64 (&j, "command", type);
    json_str (&j, "command_name", nbd_name_of (nbd_cmd_names, type));
    json_flags (&j, "command_flags", nbd_cmd_flag_names, flags);
    json_u64 (&j, "cookie", cookie);
    json_u64 (&j, "offset", offset);
    json_u64 (&j, "length", len);
    json_end (&j);
    return;
  }
  mark ("->", C_SENT);
  printf ("%s (%u), flags 0x%04x (%s), cookie %" PRIu64 ", offset %"
          PRIu64 ", length %" PRIu32 "\n",
          nbd_name_or_unknown (nbd_cmd_names, type), type, flags,
          nbd_flags_str (nbd_cmd_flag_names, flags, buf, sizeof buf),
          cookie, offset, len);
}

static void
print_time (time_t t)
{
  struct tm tm;
  char buf[64];
  gmtime_r (&t, &tm);
  strftime (buf, sizeof buf, "%Y-%m-%d %H:%M:%S UTC", &tm);
  fputs (buf, stdout);
}

static void
print_tls_lines (const struct session *s, const char *indent)
{
  const struct tls_info *i = &s->tlsinfo;

  printf ("%sversion %s, cipher %s, MAC %s, key exchange %s, "
          "credentials %s\n", indent, i->version, i->cipher, i->mac, i->kx,
          i->cred);
  if (i->psk_username)
    printf ("%sPSK user \"%s\"\n", indent, i->psk_username);
  if (i->peer_subject) {
    printf ("%speer certificate subject \"%s\"\n", indent, i->peer_subject);
    printf ("%speer certificate issuer \"%s\"\n", indent, i->peer_issuer);
    printf ("%speer certificate valid from ", indent);
    print_time (i->peer_not_before);
    printf (" to ");
    print_time (i->peer_not_after);
    printf ("\n");
  }
  if (i->verify)
    printf ("%s%s\n", indent, i->verify);
}

static void
json_tls (struct json *j, const struct session *s)
{
  const struct tls_info *i = &s->tlsinfo;

  json_u64 (j, "epoch", s->epoch);
  json_str (j, "version", i->version);
  json_str (j, "cipher", i->cipher);
  json_str (j, "mac", i->mac);
  json_str (j, "key_exchange", i->kx);
  json_str (j, "credentials", i->cred);
  json_str (j, "psk_username", i->psk_username);
  json_str (j, "peer_subject", i->peer_subject);
  json_str (j, "peer_issuer", i->peer_issuer);
  if (i->peer_subject) {
    json_u64 (j, "peer_not_before", (uint64_t) i->peer_not_before);
    json_u64 (j, "peer_not_after", (uint64_t) i->peer_not_after);
  }
  json_str (j, "verification", i->verify);
}

void
ev_tls (struct session *s)
{
  if (s->quiet)
    return;
  if (cli.json) {
    struct json j;
    json_begin (&j, "tls");
    json_tls (&j, s);
    json_end (&j);
    return;
  }
  printf ("== TLS handshake done (epoch %d): the negotiation state from "
          "before STARTTLS is discarded\n", s->epoch);
  print_tls_lines (s, "   ");
}

void
ev_closed (struct session *s, const char *why)
{
  if (s->quiet)
    return;
  if (why && cli.json) {
    struct json j;
    json_begin (&j, "closed");
    json_str (&j, "reason", why);
    json_end (&j);
  }
  else if (why)
    printf ("connection closed (%s)\n", why);
}

/* The formatted message of an event, malloc'd (NULL when out of
 * memory, which json_str and the "%s" below print as null or "(null)").
 */
static char *
vfmt (const char *fmt, va_list ap)
{
  char *m;

  if (vasprintf (&m, fmt, ap) == -1)
    return NULL;
  return m;
}

void
ev_flag (struct session *s, const char *id, const char *rule,
         const char *fmt, ...)
{
  va_list ap;
  char *ev;

  s->nflags++;
  s->nflags_conn++;
  va_start (ap, fmt);
  if (s->quiet) {
    session_record_flag (s, id, fmt, ap);
    va_end (ap);
    return;
  }
  ev = vfmt (fmt, ap);
  va_end (ap);
  fflush (stdout);
  if (cli.json) {
    struct json j;
    json_begin (&j, "flag");
    json_str (&j, "id", id);
    json_str (&j, "evidence", ev);
    json_str (&j, "rule", rule);
    json_u64 (&j, "epoch", s->epoch);
    json_end (&j);
  }
  else
    printf ("%sFLAG %s:%s %s (%s)\n", cli.color ? C_FLAG : "", id,
            cli.color ? C_RESET : "", ev ? ev : "?", rule);
  free (ev);
}

void
ev_note (struct session *s, const char *fmt, ...)
{
  va_list ap;
  char *m;

  if (s->quiet)
    return;
  va_start (ap, fmt);
  m = vfmt (fmt, ap);
  va_end (ap);
  if (cli.json) {
    struct json j;
    json_begin (&j, "note");
    json_str (&j, "message", m);
    json_end (&j);
  }
  else
    printf ("   %s\n", m ? m : "?");
  free (m);
}

void
ev_error (struct session *s, const char *fmt, ...)
{
  va_list ap;
  char *m;

  va_start (ap, fmt);
  if (s->quiet) {
    vsnprintf (s->last_error, sizeof s->last_error, fmt, ap);
    va_end (ap);
    return;
  }
  m = vfmt (fmt, ap);
  va_end (ap);
  fflush (stdout);
  if (cli.json)
    json_error_line (NULL, m);
  else {
    fprintf (stderr, "%s: ", cli.progname);
    where_prefix (stderr);
    fprintf (stderr, "%s\n", m ? m : "?");
    fflush (stderr);
  }
  free (m);
}

static void
print_nego (const struct nego *n, const char *indent)
{
  char sz[64];
  size_t i;

  printf ("%sstructured replies: %s\n", indent, n->sr ? "yes" : "no");
  printf ("%sextended headers:   %s\n", indent, n->eh ? "yes" : "no");
  if (n->nctx == 0)
    printf ("%smeta contexts:      none\n", indent);
  else {
    printf ("%smeta contexts:      %zu for export \"%s\"\n", indent, n->nctx,
            n->ctx_export ? n->ctx_export : "");
    for (i = 0; i < n->nctx; i++)
      printf ("%s  id %" PRIu32 ": %s\n", indent, n->ctx[i].id,
              n->ctx[i].name);
  }
  if (n->have_export) {
    printf ("%sexport:             ", indent);
    if (n->export_name) {
      uint8_t *e = (uint8_t *) n->export_name;
      print_quoted (e, strlen (n->export_name));
    }
    else
      printf ("(oldstyle)");
    printf (", size %" PRIu64 " (%s)\n", n->size,
            human_size (n->size, sz, sizeof sz));
    printf ("%s  transmission ", indent);
    print_tflags (n->tflags);
    printf ("\n");
    if (n->canonical_name)
      printf ("%s  canonical name \"%s\"\n", indent, n->canonical_name);
    if (n->description)
      printf ("%s  description \"%s\"\n", indent, n->description);
  }
  else
    printf ("%sexport:             none answered yet\n", indent);
  if (n->have_bs)
    printf ("%sblock sizes:        minimum %" PRIu32 ", preferred %" PRIu32
            ", maximum %" PRIu32 "\n", indent, n->min_block, n->pref_block,
            n->max_block);
}

static void json_state (const struct session *s);

void
print_state (const struct session *s)
{
  char buf[256], *d;

  if (cli.json) {
    json_state (s);
    return;
  }
  printf ("phase:              %s\n", phase_name (s->phase));
  d = nbd_target_describe (&s->target);
  printf ("target:             %s\n", s->target.kind ? d : "none");
  free (d);
  printf ("default export:     \"%s\"\n",
          s->default_export ? s->default_export : "");
  if (s->phase != PHASE_DISCONNECTED) {
    if (s->oldstyle)
      printf ("greeting:           oldstyle\n");
    else {
      printf ("handshake flags:    0x%04x (%s)\n", s->hs_flags,
              nbd_flags_str (nbd_hs_flag_names, s->hs_flags, buf, sizeof buf));
      printf ("client flags:       0x%08" PRIx32 " (%s)\n", s->client_flags,
              nbd_flags_str (nbd_cflag_names, s->client_flags, buf,
                             sizeof buf));
    }
    if (s->tls_up) {
      printf ("TLS:                up, epoch %d\n", s->epoch);
      print_tls_lines (s, "  ");
    }
    else
      printf ("TLS:                %s\n",
              s->tls_refused ? "refused by the server" : "not started");
  }
  printf ("TLS required:       %s\n", s->tls.required ? "yes" : "no");
  print_nego (&s->cur, "");
  if (s->epoch > 0) {
    printf ("before the last STARTTLS (epoch %d, discarded):\n", s->epoch - 1);
    print_nego (&s->prev, "  ");
  }
  printf ("flags raised:       %u\n", s->nflags);
}

void
json_error_line (const char *cmd, const char *msg)
{
  struct json j;

  json_begin (&j, "error");
  json_str (&j, "message", msg);
  json_str (&j, "command", cmd);
  if (cli.where_file) {
    json_str (&j, "file", cli.where_file);
    json_u64 (&j, "line", cli.where_line);
  }
  json_end (&j);
}

static void
json_nego (struct json *j, const char *prefix, const struct nego *n)
{
  char key[64];
  size_t i;

  snprintf (key, sizeof key, "%sstructured_replies", prefix);
  json_bool (j, key, n->sr);
  snprintf (key, sizeof key, "%sextended_headers", prefix);
  json_bool (j, key, n->eh);
  snprintf (key, sizeof key, "%smeta_contexts", prefix);
  json_key (j, key);
  putchar ('[');
  for (i = 0; i < n->nctx; i++) {
    printf ("%s{\"id\":%" PRIu32 ",\"name\":", i ? "," : "",
            n->ctx[i].id);
    json_raw_str ((const uint8_t *) n->ctx[i].name, strlen (n->ctx[i].name));
    putchar ('}');
  }
  putchar (']');
  if (n->have_export) {
    snprintf (key, sizeof key, "%sexport", prefix);
    json_str (j, key, n->export_name);
    snprintf (key, sizeof key, "%ssize", prefix);
    json_u64 (j, key, n->size);
    snprintf (key, sizeof key, "%stransmission_flags", prefix);
    json_flags (j, key, nbd_tflag_names, n->tflags);
  }
  if (n->have_bs) {
    snprintf (key, sizeof key, "%sblock_size_minimum", prefix);
    json_u64 (j, key, n->min_block);
    snprintf (key, sizeof key, "%sblock_size_preferred", prefix);
    json_u64 (j, key, n->pref_block);
    snprintf (key, sizeof key, "%sblock_size_maximum", prefix);
    json_u64 (j, key, n->max_block);
  }
}

static void
json_state (const struct session *s)
{
  struct json j;
  char *d = nbd_target_describe (&s->target);

  json_begin (&j, "state");
  json_str (&j, "phase", phase_name (s->phase));
  json_str (&j, "target", s->target.kind ? d : NULL);
  free (d);
  json_str (&j, "default_export", s->default_export ? s->default_export : "");
  if (s->phase != PHASE_DISCONNECTED && !s->oldstyle) {
    json_flags (&j, "handshake_flags", nbd_hs_flag_names, s->hs_flags);
    json_flags (&j, "client_flags", nbd_cflag_names, s->client_flags);
  }
  json_bool (&j, "oldstyle", s->oldstyle);
  json_bool (&j, "tls", s->tls_up);
  json_bool (&j, "tls_required", s->tls.required);
  if (s->tls_up)
    json_tls (&j, s);
  else
    json_u64 (&j, "epoch", s->epoch);
  json_nego (&j, "", &s->cur);
  if (s->epoch > 0)
    json_nego (&j, "before_starttls_", &s->prev);
  json_u64 (&j, "flags_raised", s->nflags);
  json_end (&j);
}

static void
hexdump (const uint8_t *p, size_t len, uint64_t base)
{
  size_t i, j;

  for (i = 0; i < len; i += 16) {
    printf ("     %08" PRIx64 "  ", base + i);
    for (j = 0; j < 16; j++) {
      if (i + j < len)
        printf ("%02x ", p[i + j]);
      else
        printf ("   ");
      if (j == 7)
        putchar (' ');
    }
    printf (" |");
    for (j = 0; j < 16 && i + j < len; j++)
      putchar (p[i + j] >= 0x20 && p[i + j] < 0x7f ? p[i + j] : '.');
    printf ("|\n");
  }
}

void
ev_reply_hdr (struct session *s, const struct nbd_reply_hdr *h, int form)
{
  if (s->quiet)
    return;
  char buf[64];

  if (cli.json) {
    struct json j;
    json_begin (&j, "received");
    json_str (&j, "message", form == 0 ? "simple_reply"
              : form == 1 ? "structured_chunk" : "extended_chunk");
    json_u64 (&j, "magic", h->magic);
    json_u64 (&j, "cookie", h->cookie);
    if (form == 0) {
      json_u64 (&j, "error", h->error);
      json_str (&j, "error_name", nbd_name_of (nbd_error_names, h->error));
    }
    else {
      json_flags (&j, "flags", nbd_reply_flag_names, h->flags);
      json_u64 (&j, "type", h->type);
      json_str (&j, "type_name", nbd_name_of (nbd_reply_type_names, h->type));
      json_u64 (&j, "length", h->length);
      if (form == 2)
        json_u64 (&j, "offset", h->offset);
    }
    json_end (&j);
    return;
  }
  if (form == 0) {
    mark ("<-", h->error ? C_ERR_REPLY : C_RECV);
    printf ("simple reply, cookie %" PRIu64 ", error %" PRIu32, h->cookie,
            h->error);
    if (h->error)
      printf (" (%s)", nbd_name_of (nbd_error_names, h->error)
              ? nbd_name_of (nbd_error_names, h->error)
              : "not defined by the spec");
    printf ("\n");
    return;
  }
  mark ("<-", (h->type & 0x8000) ? C_ERR_REPLY : C_RECV);
  printf ("%s chunk %s", form == 1 ? "structured" : "extended",
          nbd_name_of (nbd_reply_type_names, h->type)
          ? nbd_name_of (nbd_reply_type_names, h->type) : "");
  if (!nbd_name_of (nbd_reply_type_names, h->type))
    printf ("unknown type 0x%04x", h->type);
  else
    printf (" (%u)", h->type);
  printf (", flags 0x%04x (%s), cookie %" PRIu64, h->flags,
          nbd_flags_str (nbd_reply_flag_names, h->flags, buf, sizeof buf),
          h->cookie);
  if (form == 2)
    printf (", offset %" PRIu64, h->offset);
  printf (", length %" PRIu64 "\n", h->length);
}

void
ev_data (struct session *s, uint64_t offset, const uint8_t *p, size_t shown,
         uint64_t len)
{
  if (s->quiet)
    return;
  if (cli.json) {
    struct json j;
    json_begin (&j, "data");
    json_u64 (&j, "offset", offset);
    json_u64 (&j, "length", len);
    if (p)
      json_hex (&j, "data_hex", p, shown);
    json_end (&j);
    return;
  }
  if (!p) {
    printf ("   data: %" PRIu64 " bytes at offset %" PRIu64 " (to the file)\n",
            len, offset);
    return;
  }
  printf ("   data: %" PRIu64 " bytes at offset %" PRIu64 "\n", len, offset);
  hexdump (p, shown, offset);
  if (len > shown)
    printf ("     ... (%" PRIu64 " more bytes)\n", len - shown);
}

void
ev_hole (struct session *s, uint64_t offset, uint32_t size)
{
  if (s->quiet)
    return;
  if (cli.json) {
    struct json j;
    json_begin (&j, "hole");
    json_u64 (&j, "offset", offset);
    json_u64 (&j, "length", size);
    json_end (&j);
    return;
  }
  printf ("   hole: %" PRIu32 " bytes of zeroes at offset %" PRIu64 "\n",
          size, offset);
}

void
ev_error_chunk (struct session *s, uint16_t type,
                const struct nbd_chunk_error *e)
{
  if (s->quiet)
    return;
  const char *n = nbd_name_of (nbd_error_names, e->error);

  if (cli.json) {
    struct json j;
    json_begin (&j, "error_chunk");
    json_u64 (&j, "error", e->error);
    json_str (&j, "error_name", n);
    json_bytes (&j, "message", e->msg, e->msg_len);
    if (type == NBD_REPLY_TYPE_ERROR_OFFSET)
      json_u64 (&j, "offset", e->offset);
    json_end (&j);
    return;
  }
  printf ("   error %" PRIu32 " (%s)", e->error, n ? n : "not defined by "
          "the spec");
  if (type == NBD_REPLY_TYPE_ERROR_OFFSET)
    printf (" at offset %" PRIu64, e->offset);
  if (e->msg_len) {
    printf (": ");
    print_quoted (e->msg, e->msg_len);
  }
  printf ("\n");
}

/* What the status bits mean in a context. */
static void
status_meaning (const char *ctx, uint64_t fl, char *buf, size_t len)
{
  if (!ctx)
    snprintf (buf, len, "?");
  else if (strcmp (ctx, "base:allocation") == 0)
    snprintf (buf, len, "%s%s%s", fl & 1 ? "hole" : "data",
              fl & 2 ? ", reads as zeroes" : "",
              fl & ~UINT64_C (3) ? ", unknown bits" : "");
  else if (strcmp (ctx, "qemu:allocation-depth") == 0) {
    if (fl == 0)
      snprintf (buf, len, "unallocated");
    else if (fl == 1)
      snprintf (buf, len, "allocated in this image");
    else
      snprintf (buf, len, "allocated %" PRIu64 " images down the backing "
                "chain", fl - 1);
  }
  else if (strncmp (ctx, "qemu:dirty-bitmap:", 18) == 0)
    snprintf (buf, len, "%s", fl & 1 ? "dirty" : "clean");
  else
    snprintf (buf, len, "status 0x%" PRIx64, fl);
}

void
ev_block_status (struct session *s, uint32_t ctx_id, const char *ctx_name,
                 const uint8_t *p, bool ext, size_t n)
{
  if (s->quiet)
    return;
  size_t i, shown = n > 1000 ? 1000 : n;
  uint64_t off = 0, len, fl;
  char m[128];

  if (cli.json) {
    struct json j;
    json_begin (&j, "block_status");
    json_u64 (&j, "context_id", ctx_id);
    json_str (&j, "context", ctx_name);
    json_key (&j, "extents");
    putchar ('[');
    for (i = 0; i < n; i++) {
      nbd_block_status_extent (p, ext, i, &len, &fl);
      printf ("%s{\"length\":%" PRIu64 ",\"flags\":%" PRIu64 "}",
              i ? "," : "", len, fl);
    }
    putchar (']');
    json_end (&j);
    return;
  }
  printf ("   block status for context id %" PRIu32 " (%s), %zu extent%s:\n",
          ctx_id, ctx_name ? ctx_name : "never negotiated", n,
          n == 1 ? "" : "s");
  for (i = 0; i < shown; i++) {
    nbd_block_status_extent (p, ext, i, &len, &fl);
    status_meaning (ctx_name, fl, m, sizeof m);
    printf ("     +%-12" PRIu64 " length %-12" PRIu64 " flags 0x%" PRIx64
            " (%s)\n", off, len, fl, m);
    off += len;
  }
  if (n > shown)
    printf ("     ... (%zu more extents)\n", n - shown);
}

void
json_string (const char *v)
{
  if (v)
    json_raw_str ((const uint8_t *) v, strlen (v));
  else
    fputs ("null", stdout);
}

void
json_output_line (const char *cmd, const char *text, size_t len)
{
  struct json j;

  json_begin (&j, "output");
  json_str (&j, "command", cmd);
  json_bytes (&j, "text", (const uint8_t *) text, len);
  json_end (&j);
}
