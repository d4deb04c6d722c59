/* nbdcli - option commands: every NBD_OPT_* by hand, and `opt' for any
 * option number with any payload.
 * Copyright the nbdcli authors, MIT licence.
 */
#include <config.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "names.h"
#include "nbd-proto.h"
#include "commands.h"
#include "wire.h"

static const char *
export_arg (struct session *s, struct args *a, int i)
{
  if (a->argc > i)
    return a->argv[i];
  return s->cfg.default_export ? s->cfg.default_export : "";
}

static int
send_opt (struct session *s, uint32_t opt, struct bytes *payload)
{
  int r = session_option (s, opt, payload ? payload->data : NULL,
                          payload ? payload->len : 0,
                          payload ? payload->len : 0);
  if (payload)
    bytes_free (payload);
  return r == 0 ? CMD_OK : CMD_FAILED;
}

/* The secure default: when the user asked for TLS, entering
 * transmission in plaintext needs an explicit override.
 */
static int
refuse_plaintext (struct session *s, const char *what)
{
  if (!s->cfg.tls.required || s->tls_up || s->cfg.allow_plaintext)
    return CMD_OK;
  if (s->tls_refused)
    return cmd_error ("the server refused TLS (its reply to "
                      "NBD_OPT_STARTTLS was an error), so this %s target "
                      "cannot be used in plaintext: %s would enter "
                      "transmission unencrypted.  To connect without TLS "
                      "on purpose, use an nbd:// target, or `set "
                      "allow-plaintext on'",
                      s->target.tls ? "nbds://" : "TLS-required", what);
  return cmd_error ("TLS was asked for (nbds:// or `set tls require') but "
                    "is not up: %s would enter transmission in plaintext; "
                    "run `starttls' first, or `set allow-plaintext on' to "
                    "do it anyway", what);
}

/* One export as `list --long' found it. */
struct export_facts {
  char *name;
  bool answered;                /* NBD_OPT_INFO gave NBD_INFO_EXPORT */
  uint64_t size;
  uint16_t tflags;
  char *description;
  bool have_bs;
  uint32_t min_block, pref_block, max_block;
  bool asked_contexts;
  char **contexts;
  size_t ncontexts;
};

static void
print_export_facts (const struct export_facts *e)
{
  char b1[64], b2[512];
  size_t i;

  if (shell.disp.json) {
    printf ("{\"event\":\"export\",\"name\":");
    json_string (stdout, e->name);
    printf (",\"answered\":%s", e->answered ? "true" : "false");
    if (e->answered) {
      printf (",\"size\":%" PRIu64 ",\"transmission_flags\":%u",
              e->size, e->tflags);
      if (e->description) {
        printf (",\"description\":");
        json_string (stdout, e->description);
      }
      if (e->have_bs)
        printf (",\"min_block\":%" PRIu32 ",\"pref_block\":%" PRIu32
                ",\"max_block\":%" PRIu32, e->min_block, e->pref_block,
                e->max_block);
    }
    if (e->asked_contexts) {
      printf (",\"contexts\":[");
      for (i = 0; i < e->ncontexts; i++) {
        printf ("%s", i ? "," : "");
        json_string (stdout, e->contexts[i]);
      }
      printf ("]");
    }
    printf ("}\n");
    return;
  }
  printf ("export \"%s\":\n", e->name);
  if (!e->answered) {
    printf ("  not answered (NBD_OPT_INFO failed)\n");
    return;
  }
  if (e->description && *e->description)
    printf ("  description:        %s\n", e->description);
  printf ("  size:               %" PRIu64 " (%s)\n", e->size,
          human_size (e->size, b1, sizeof b1));
  printf ("  transmission flags: 0x%04x (%s)\n", e->tflags,
          nbd_flags_str (nbd_tflag_names, e->tflags, b2, sizeof b2));
  if (e->have_bs)
    printf ("  block sizes:        minimum %" PRIu32 ", preferred %" PRIu32
            ", maximum %" PRIu32 "\n", e->min_block, e->pref_block,
            e->max_block);
  if (!e->asked_contexts)
    printf ("  contexts:           not asked (structured replies not "
            "negotiated)\n");
  else if (e->ncontexts == 0)
    printf ("  contexts:           none\n");
  else
    for (i = 0; i < e->ncontexts; i++)
      printf ("  %s%s\n", i ? "                    " : "contexts:           ",
              e->contexts[i]);
}

/* `list --long': every export with its size, flags and contexts in one
 * command, as nbdinfo --list does.  On the wire: NBD_OPT_LIST, then per
 * export NBD_OPT_INFO (name, description, block size) and, when
 * structured replies are negotiated, NBD_OPT_LIST_META_CONTEXT with no
 * query; every exchange is shown, then the summary.
 */
static int
list_long (struct session *s)
{
  struct export_facts *ex;
  size_t n, i, j;
  int ret = CMD_OK;
  static const uint16_t reqs[] = { NBD_INFO_NAME, NBD_INFO_DESCRIPTION,
                                   NBD_INFO_BLOCK_SIZE };

  /* Only the exports this LIST names: forget those learned before. */
  for (i = 0; i < s->learned.nexports; i++)
    free (s->learned.exports[i]);
  s->learned.nexports = 0;
  if (send_opt (s, NBD_OPT_LIST, NULL) != CMD_OK)
    return CMD_FAILED;
  n = s->learned.nexports;
  ex = calloc (n ? n : 1, sizeof *ex);
  if (!ex)
    abort ();
  for (i = 0; i < n && s->phase == PHASE_OPTIONS; i++) {
    struct bytes p = { 0 };
    struct nego saved = s->cur;

    ex[i].name = xstrdup (s->learned.exports[i]);
    s->cur.have_export = false;
    s->cur.have_bs = false;
    s->cur.description = NULL;
    nbd_encode_info_payload (&p, ex[i].name, reqs, 3);
    if (send_opt (s, NBD_OPT_INFO, &p) != CMD_OK) {
      ret = CMD_FAILED;
      s->cur.have_export = saved.have_export;
      s->cur.have_bs = saved.have_bs;
      free (s->cur.description);
      s->cur.description = saved.description;
      break;
    }
    ex[i].answered = s->cur.have_export;
    ex[i].size = s->cur.size;
    ex[i].tflags = s->cur.tflags;
    ex[i].description = s->cur.description ? xstrdup (s->cur.description)
      : NULL;
    ex[i].have_bs = s->cur.have_bs;
    ex[i].min_block = s->cur.min_block;
    ex[i].pref_block = s->cur.pref_block;
    ex[i].max_block = s->cur.max_block;
    if (!ex[i].answered) {
      /* Nothing learned: the model keeps what it had. */
      s->cur.have_export = saved.have_export;
      s->cur.size = saved.size;
      s->cur.tflags = saved.tflags;
    }
    if (!s->cur.have_bs && saved.have_bs) {
      s->cur.have_bs = true;
      s->cur.min_block = saved.min_block;
      s->cur.pref_block = saved.pref_block;
      s->cur.max_block = saved.max_block;
    }
    if (!s->cur.description)
      s->cur.description = saved.description;
    else
      free (saved.description);

    if (s->cur.sr || s->cur.eh) {
      struct bytes q = { 0 };

      /* The contexts this reply names: learned afresh. */
      for (j = 0; j < s->learned.ncontexts; j++)
        free (s->learned.contexts[j]);
      s->learned.ncontexts = 0;
      nbd_encode_meta_payload (&q, ex[i].name, NULL, 0);
      if (send_opt (s, NBD_OPT_LIST_META_CONTEXT, &q) != CMD_OK) {
        ret = CMD_FAILED;
        break;
      }
      ex[i].asked_contexts = true;
      ex[i].ncontexts = s->learned.ncontexts;
      ex[i].contexts = calloc (ex[i].ncontexts + 1, sizeof (char *));
      if (!ex[i].contexts)
        abort ();
      for (j = 0; j < ex[i].ncontexts; j++)
        ex[i].contexts[j] = xstrdup (s->learned.contexts[j]);
    }
  }
  if (ret == CMD_OK)
    for (i = 0; i < n; i++)
      print_export_facts (&ex[i]);
  for (i = 0; i < n; i++) {
    free (ex[i].name);
    free (ex[i].description);
    for (j = 0; j < ex[i].ncontexts; j++)
      free (ex[i].contexts[j]);
    free (ex[i].contexts);
  }
  free (ex);
  return ret;
}

static int
do_list (struct session *s, struct args *a)
{
  if (arg_opt (a, "--long"))
    return list_long (s);
  return send_opt (s, NBD_OPT_LIST, NULL);
}

static int
parse_info_requests (struct args *a, uint16_t *reqs, size_t *n)
{
  int i;

  *n = 0;
  for (i = 0; i < a->nopts; i++) {
    const char *o = a->optname[i];
    uint32_t v;

    if (*n >= 64)
      return usage_error ("too many info requests");
    if (strcmp (o, "--name") == 0)
      reqs[(*n)++] = NBD_INFO_NAME;
    else if (strcmp (o, "--description") == 0)
      reqs[(*n)++] = NBD_INFO_DESCRIPTION;
    else if (strcmp (o, "--block-size") == 0)
      reqs[(*n)++] = NBD_INFO_BLOCK_SIZE;
    else if (strcmp (o, "--all") == 0) {
      reqs[(*n)++] = NBD_INFO_NAME;
      reqs[(*n)++] = NBD_INFO_DESCRIPTION;
      reqs[(*n)++] = NBD_INFO_BLOCK_SIZE;
    }
    else if (strcmp (o, "--request") == 0) {
      if (nbd_value_of (nbd_info_names, a->optval[i], &v) == -1
          && (parse_u32 (a->optval[i], &v) == -1 || v > 0xffff))
        return usage_error ("--request %s: not an NBD_INFO_* name or a "
                          "16-bit number", a->optval[i]);
      reqs[(*n)++] = (uint16_t) v;
    }
  }
  return CMD_OK;
}

static int
info_or_go (struct session *s, struct args *a, uint32_t opt)
{
  uint16_t reqs[64 + 3];
  size_t n;
  struct bytes p = { 0 };

  if (parse_info_requests (a, reqs, &n) != CMD_OK)
    return CMD_USAGE;
  nbd_encode_info_payload (&p, export_arg (s, a, 1), reqs, n);
  return send_opt (s, opt, &p);
}

static int
do_info (struct session *s, struct args *a)
{
  return info_or_go (s, a, NBD_OPT_INFO);
}

static int
do_go (struct session *s, struct args *a)
{
  if (refuse_plaintext (s, "`go'") != CMD_OK)
    return CMD_FAILED;
  return info_or_go (s, a, NBD_OPT_GO);
}

static int
do_export_name (struct session *s, struct args *a)
{
  struct bytes p = { 0 };
  const char *e = export_arg (s, a, 1);

  if (refuse_plaintext (s, "`export-name'") != CMD_OK)
    return CMD_FAILED;
  bytes_put (&p, e, strlen (e));
  return send_opt (s, NBD_OPT_EXPORT_NAME, &p);
}

static int
do_abort (struct session *s, struct args *a)
{
  return send_opt (s, NBD_OPT_ABORT, NULL);
}

static int
do_starttls (struct session *s, struct args *a)
{
  return send_opt (s, NBD_OPT_STARTTLS, NULL);
}

static int
do_sr (struct session *s, struct args *a)
{
  return send_opt (s, NBD_OPT_STRUCTURED_REPLY, NULL);
}

static int
do_eh (struct session *s, struct args *a)
{
  return send_opt (s, NBD_OPT_EXTENDED_HEADERS, NULL);
}

static int
meta (struct session *s, struct args *a, uint32_t opt)
{
  struct bytes p = { 0 };
  const char *e = arg_opt (a, "--export");

  if (!e)
    e = s->cfg.default_export ? s->cfg.default_export : "";
  nbd_encode_meta_payload (&p, e, a->argv + 1, a->argc - 1);
  return send_opt (s, opt, &p);
}

static int
do_lmc (struct session *s, struct args *a)
{
  return meta (s, a, NBD_OPT_LIST_META_CONTEXT);
}

static int
do_smc (struct session *s, struct args *a)
{
  return meta (s, a, NBD_OPT_SET_META_CONTEXT);
}

/* opt NUMBER [PAYLOAD...] [--length N]: each unquoted payload word is
 * hex bytes, each quoted word a string; they are sent one after another.
 */
static int
do_opt (struct session *s, struct args *a)
{
  struct bytes p = { 0 };
  const char *lenopt = arg_opt (a, "--length");
  uint32_t opt, declared;
  int i, r;

  if (nbd_value_of (nbd_opt_names, a->argv[1], &opt) == -1
      && parse_u32 (a->argv[1], &opt) == -1)
    return usage_error ("argument 1 (\"%s\"): not an option number or "
                      "NBD_OPT_* name", a->argv[1]);
  for (i = 2; i < a->argc; i++) {
    if (a->quoted[i])
      bytes_put (&p, a->argv[i], strlen (a->argv[i]));
    else if (nbd_parse_hex (a->argv[i], &p) == -1) {
      bytes_free (&p);
      return usage_error ("argument %d (\"%s\"): not hex bytes; quote it to "
                        "send it as a string", i, a->argv[i]);
    }
  }
  if (p.len > UINT32_MAX) {
    bytes_free (&p);
    return usage_error ("payload too long");
  }
  declared = p.len;
  if (lenopt && parse_u32 (lenopt, &declared) == -1) {
    bytes_free (&p);
    return usage_error ("--length %s: not a 32-bit number", lenopt);
  }
  if ((opt == NBD_OPT_GO || opt == NBD_OPT_EXPORT_NAME)
      && refuse_plaintext (s, "this option") != CMD_OK) {
    bytes_free (&p);
    return CMD_FAILED;
  }
  r = session_option (s, opt, p.data, p.len, declared);
  bytes_free (&p);
  return r == 0 ? CMD_OK : CMD_FAILED;
}

#define INFO_OPTS "--name --description --block-size --all --request="
#define INFO_HELP \
  "EXPORT defaults to the export named in the URI or set with `set export'\n" \
  "(the empty name otherwise).  Info requests: --name (NBD_INFO_NAME),\n" \
  "--description (NBD_INFO_DESCRIPTION), --block-size (NBD_INFO_BLOCK_SIZE),\n" \
  "--all (those three), --request N|NAME (any NBD_INFO_* number, repeatable).\n" \
  "Without requests only NBD_INFO_EXPORT, which the server always sends,\n" \
  "comes back."

const struct command opt_commands[] = {
  {
    .name = "list",
    .args = "[--long]",
    .summary = "list the server's exports (NBD_OPT_LIST)",
    .help = "Sends NBD_OPT_LIST with no data; the server answers with one\n"
            "NBD_REP_SERVER per export (name and optional description), then\n"
            "NBD_REP_ACK.  The names are remembered for completion.\n"
            "--long then asks about each export, as nbdinfo --list does: NBD_OPT_INFO\n"
            "(name, description, block size) and, when structured replies are\n"
            "negotiated, NBD_OPT_LIST_META_CONTEXT with no query; every exchange is\n"
            "shown, then each export with its size, flags, block sizes and contexts.",
    .opts = "--long",
    .flags = CMD_OPT_PHASE,
    .max_args = 0,
    .run = do_list,
  },
  {
    .name = "info",
    .args = "[EXPORT] [--name] [--description] [--block-size] "
            "[--all] [--request N|NAME]",
    .summary = "ask about an export without entering transmission (NBD_OPT_INFO)",
    .help = "Sends NBD_OPT_INFO and shows each NBD_REP_INFO and the final reply.\n"
            INFO_HELP,
    .complete = "e",
    .opts = INFO_OPTS,
    .flags = CMD_OPT_PHASE,
    .max_args = 1,
    .run = do_info,
  },
  {
    .name = "go",
    .args = "[EXPORT] [--name] [--description] [--block-size] "
            "[--all] [--request N|NAME]",
    .summary = "select an export and enter transmission (NBD_OPT_GO)",
    .help = "Sends NBD_OPT_GO; a final NBD_REP_ACK moves the session into the\n"
            "transmission phase.\n" INFO_HELP,
    .complete = "e",
    .opts = INFO_OPTS,
    .flags = CMD_OPT_PHASE,
    .max_args = 1,
    .run = do_go,
  },
  {
    .name = "export-name",
    .args = "[EXPORT]",
    .summary = "select an export the old way (NBD_OPT_EXPORT_NAME)",
    .help = "Sends NBD_OPT_EXPORT_NAME.  There is no option reply: the server\n"
            "answers with the export size and transmission flags (then 124 zero\n"
            "bytes unless NO_ZEROES was agreed) and the session is in\n"
            "transmission, or it closes the connection to refuse.",
    .complete = "e",
    .flags = CMD_OPT_PHASE,
    .max_args = 1,
    .run = do_export_name,
  },
  {
    .name = "abort",
    .args = "",
    .summary = "end option haggling politely (NBD_OPT_ABORT)",
    .help = "Sends NBD_OPT_ABORT; the server must answer NBD_REP_ACK, then the\n"
            "connection is closed.",
    .flags = CMD_OPT_PHASE,
    .max_args = 0,
    .run = do_abort,
  },
  {
    .name = "starttls",
    .args = "",
    .summary = "upgrade the connection to TLS (NBD_OPT_STARTTLS)",
    .help = "Sends NBD_OPT_STARTTLS; after NBD_REP_ACK runs the TLS handshake with\n"
            "the credentials from the URI, the command line or `set'.  A successful\n"
            "handshake starts a new epoch: the spec requires the server to forget\n"
            "structured replies, extended headers and meta contexts negotiated\n"
            "before, and nbdcli's model does the same.",
    .flags = CMD_OPT_PHASE,
    .max_args = 0,
    .run = do_starttls,
  },
  {
    .name = "structured-reply",
    .alias = "sr",
    .args = "",
    .summary = "ask for structured replies (NBD_OPT_STRUCTURED_REPLY)",
    .help = "Sends NBD_OPT_STRUCTURED_REPLY with no data; NBD_REP_ACK means the\n"
            "server will use structured replies in transmission.",
    .flags = CMD_OPT_PHASE,
    .max_args = 0,
    .run = do_sr,
  },
  {
    .name = "extended-headers",
    .alias = "eh",
    .args = "",
    .summary = "ask for extended headers (NBD_OPT_EXTENDED_HEADERS)",
    .help = "Sends NBD_OPT_EXTENDED_HEADERS (option 11, from the extended-headers\n"
            "extension); NBD_REP_ACK means 64-bit requests and replies.",
    .flags = CMD_OPT_PHASE,
    .max_args = 0,
    .run = do_eh,
  },
  {
    .name = "list-meta-context",
    .alias = "lmc",
    .args = "[--export EXPORT] [QUERY...]",
    .summary = "list metadata contexts (NBD_OPT_LIST_META_CONTEXT)",
    .help = "Sends NBD_OPT_LIST_META_CONTEXT for EXPORT (default: the default\n"
            "export) with the queries given, e.g. `lmc base:' or `lmc qemu:'.  With\n"
            "no query the server lists every context it offers.  The names are\n"
            "remembered for completion.",
    .complete = "c*",
    .opts = "--export=",
    .flags = CMD_OPT_PHASE,
    .max_args = -1,
    .run = do_lmc,
  },
  {
    .name = "set-meta-context",
    .alias = "smc",
    .args = "[--export EXPORT] [QUERY...]",
    .summary = "select metadata contexts (NBD_OPT_SET_META_CONTEXT)",
    .help = "Sends NBD_OPT_SET_META_CONTEXT; each NBD_REP_META_CONTEXT gives a\n"
            "context id used in block status replies.  A SET replaces the contexts\n"
            "of any earlier SET, even when it fails.",
    .complete = "c*",
    .opts = "--export=",
    .flags = CMD_OPT_PHASE,
    .max_args = -1,
    .run = do_smc,
  },
  {
    .name = "opt",
    .args = "NUMBER [PAYLOAD...] [--length N]",
    .summary = "send any option with any payload",
    .help = "NUMBER is an option number (decimal or 0x hex) or an NBD_OPT_* name.\n"
            "Each PAYLOAD word is hex bytes (e.g. 0000000400 or de:ad:be:ef) when\n"
            "unquoted, or a string when quoted (\"disk\"); they are sent one after\n"
            "the other.  --length N declares a length in the option header that\n"
            "differs from the bytes sent.  The replies are read and decoded as for\n"
            "the named commands.",
    .opts = "--length=",
    .flags = CMD_OPT_PHASE,
    .min_args = 1,
    .max_args = -1,
    .run = do_opt,
  },
  { .name = NULL }
};
