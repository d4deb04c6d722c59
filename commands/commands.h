/* nbdcli - the commands layer: the command tables, the dispatcher and
 * the shell's state that commands read and change.  It calls down into
 * the output layer and proto/ only; what it needs from the shell above
 * (running a script file, completion) comes as hooks in `shell'.
 * Copyright the nbdcli authors, MIT licence.
 */
#ifndef NBDCLI_COMMANDS_H
#define NBDCLI_COMMANDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <stdio.h>

#include "output.h"
#include "session.h"

/* Command status: what a handler returns. */
enum {
  CMD_OK = 0,
  CMD_FAILED = 1,               /* the command failed */
  CMD_USAGE = 2,                /* unknown command, bad arity or option */
};

/* Phase requirements, checked by the dispatcher, never by handlers. */
enum {
  CMD_NEED_CONN = 1,            /* needs an open connection */
  CMD_OPT_PHASE = 2,            /* only during option haggling */
  CMD_XMIT_PHASE = 4,           /* only during transmission */
  CMD_TEXT = 8,                 /* prints text: wrapped for --json */
  CMD_WORDS = 16,               /* no --options: every word as given */
};

/* A command's words after the dispatcher took its --options out. */
struct args {
  FILE *out;                    /* where the command prints its results */
  int argc;
  char **argv;                  /* argv[0] is the command name */
  bool *quoted;                 /* was argv[i] written in quotes? */
  int nopts;
  char **optname;               /* "--export" */
  char **optval;                /* its value, or NULL for a switch */
};
/* The value of option NAME (the last one given), "" for a switch that
 * is present, NULL when absent.
 */
extern const char *arg_opt (const struct args *a, const char *name);

struct command {
  const char *name;
  const char *alias;            /* or NULL */
  const char *args;             /* usage, e.g. "[EXPORT] [--name]" */
  const char *summary;          /* one line for `help' */
  const char *help;             /* paragraph for `help NAME' */
  const char *complete;         /* per positional argument: e export,
                                 * c context, f file, C command, s setting,
                                 * t target; a trailing '*' repeats the
                                 * last letter */
  const char *opts;             /* its --options, space-separated; a
                                 * trailing '=' means it takes a value */
  unsigned flags;
  int min_args, max_args;       /* positional words; -1 = no limit */
  int (*run) (struct session *s, struct args *a);
};

/* The command groups, one file each under commands/. */
extern const struct command conn_commands[];
extern const struct command opt_commands[];
extern const struct command session_commands[];
extern const struct command xmit_commands[];
extern const struct command check_commands[];
extern int run_check (struct session *s, struct args *a, int first_id);

/* commands/dispatch.c */
extern const struct command *const command_groups[];
extern const struct command *find_command (const char *name);
extern int dispatch (struct session *s, int argc, char **argv,
                     const bool *quoted);
extern void print_command_help (FILE *fp, const struct command *c);
/* A command's error: printed, returns CMD_FAILED (it ran and failed). */
extern int cmd_error (const char *fmt, ...)
  __attribute__ ((format (printf, 1, 2)));
/* A usage error (an unknown word, a bad number or value): printed,
 * returns CMD_USAGE, the same for every command.
 */
extern int usage_error (const char *fmt, ...)
  __attribute__ ((format (printf, 1, 2)));

/* commands/session.c: `set NAME VALUE', shared with main. */
extern int apply_setting (struct session *s, const char *name,
                          const char *v);
extern const char *const set_names[];

/* commands/conn.c, shared with main. */
extern int target_from_words (int argc, char **argv, struct nbd_target *t);
/* The session commands act on: the current connection (MAIN, the
 * shell's own session, until another is chosen).
 */
extern struct session *shell_session (struct session *main);
/* The name of the current connection when there are several, or NULL. */
extern const char *shell_conn_name (void);
/* Flags raised on every connection but MAIN's. */
extern unsigned shell_other_flags (const struct session *main);
/* Closes and frees the connections the shell opened. */
extern void shell_free_conns (void);

/* commands/multiconn.c: NBD_FLAG_CAN_MULTI_CONN on two connections to
 * the same export, A and B, both in transmission: a write and FLUSH on
 * A must be read back on B.  For the session command and the audit.
 */
enum mc_verdict {
  MC_PASS,                      /* advertised, and B read what A wrote */
  MC_FLAG,                      /* advertised, and B did not (flagged on A) */
  MC_NOT_ADVERTISED,            /* not advertised: nothing to judge */
  MC_ERROR,                     /* a request failed: no verdict */
};
extern enum mc_verdict multi_conn_verdict (struct session *a,
                                           struct session *b,
                                           uint64_t offset, char *why,
                                           size_t whylen);
extern const struct command multiconn_commands[];
/* Another connection like S: the same target and settings, the same
 * negotiation (STARTTLS, structured replies, extended headers) and GO
 * for the same export, shown through the shell's display.  Connecting,
 * the greeting and TLS take at most SETUP_TIMEOUT_MS (0: S's timeout).
 * NULL when it does not reach transmission (reported).
 */
extern struct session *open_like (struct session *s, int setup_timeout_ms);

/* Several connections in one shell: each its own session (model,
 * flags, requests in flight).  The first is the shell's own session,
 * named "main"; `connect --name NAME' adds more, `use NAME' switches.
 */
#define MAX_CONNS 16
struct conn_entry {
  char *name;
  struct session *s;
  bool owned;                   /* allocated here (not main's) */
};

/* The shell's state, shared by the commands and the shell. */
struct shell {
  bool interactive;
  bool quit;                    /* `quit' was run */
  bool errexit;                 /* stop a script at the first failure */
  int worst;                    /* worst status of any command */
  int source_depth;
  unsigned audit_flags;         /* FLAG verdicts of `check' runs */
  struct display disp;          /* text or JSON, colour, trace, evidence */
  char *connect_words;          /* the last target, as `connect' takes it */
  struct conn_entry conns[MAX_CONNS];
  size_t nconns, current;
  /* Hooks into the shell above. */
  int (*run_file) (struct session *s, const char *path);
  char **(*complete_line) (struct session *s, const char *line_to_cursor,
                           const char *word);
};
extern struct shell shell;

/* Number parsing shared by commands: accepts decimal, 0x hex and size
 * suffixes (k, M, G, T, binary).  Returns 0 or -1.
 */
extern int parse_u64 (const char *s, uint64_t *v);
extern int parse_u32 (const char *s, uint32_t *v);

#endif
