/* nbdcli - an interactive NBD protocol debugging shell
 *
 * lineedit.c: GNU readline, libedit or plain stdio behind lineedit.h.
 *
 * This is the only file that includes a line editor's headers.  Both
 * libraries are driven through the readline API; for libedit its
 * compatibility header is named explicitly (<editline/readline.h>) so
 * that GNU headers are never paired with -ledit.  ./configure compiles
 * and links the exact header/library pair and every rl_* symbol used
 * here.
 */

#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <signal.h>
#include <fcntl.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/types.h>

#if HAVE_READLINE
#include <readline/readline.h>
#include <readline/history.h>
#elif HAVE_LIBEDIT
#include <editline/readline.h>
#endif

#include "lineedit.h"

#define LE_HAVE_EDITOR (HAVE_READLINE || HAVE_LIBEDIT)
#define LE_HISTORY_MAX 1000

volatile sig_atomic_t le_sigint_pending;

#if LE_HAVE_EDITOR
/* Writable arrays: older headers declare some of these "char *". */
static char rl_name[] = "nbdcli";
static char word_breaks[] = " \t\n;";   /* ';' separates commands */
static char quote_chars[] = "\"'";

static char *histfile;          /* NULL: no history file */
static char *last_line;         /* last line added, for de-duplication */
static le_complete_fn completer;

/* Candidates handed out one by one to rl_completion_matches. */
static char **gen_cands;
static size_t gen_idx;

static char *
gen_candidate (const char *text, int state)
{
  char *r;

  (void) text;
  if (gen_cands == NULL)
    return NULL;
  if (state == 0)
    gen_idx = 0;
  r = gen_cands[gen_idx];
  if (r == NULL) {
    /* The strings now belong to the line editor; only the array is ours. */
    free (gen_cands);
    gen_cands = NULL;
    return NULL;
  }
  gen_idx++;
  return r;
}

static char **
attempted_completion (const char *text, int start, int end)
{
  char *line;
  size_t len, buflen;
  char **cands;

  (void) start;
  /* No fallback to the library's file name completion. */
#if HAVE_RL_ATTEMPTED_COMPLETION_OVER
  rl_attempted_completion_over = 1;
#endif
  rl_completion_append_character = ' ';

  if (completer == NULL)
    return NULL;

  buflen = rl_line_buffer ? strlen (rl_line_buffer) : 0;
  if (end >= 0 && (size_t) end <= buflen)
    len = end;
  else if (rl_point >= 0 && (size_t) rl_point <= buflen)
    len = rl_point;
  else
    len = buflen;
  line = strndup (rl_line_buffer ? rl_line_buffer : "", len);
  if (line == NULL)
    return NULL;

  cands = completer (line, text);
  free (line);
  if (cands == NULL)
    return NULL;
  if (cands[0] == NULL) {
    free (cands);
    return NULL;
  }

  /* Left over from an abandoned completion (should not happen). */
  if (gen_cands != NULL) {
    size_t i;

    for (i = gen_idx; gen_cands[i] != NULL; ++i)
      free (gen_cands[i]);
    free (gen_cands);
  }
  gen_cands = cands;
  gen_idx = 0;
  return rl_completion_matches (text, gen_candidate);
}

#if HAVE_READLINE
/* Ctrl-C at the prompt, as bash does: the line typed so far is
 * dropped and a fresh prompt starts on a new line.
 */
static int
discard_line_on_sigint (void)
{
  if (!le_sigint_pending)
    return 0;
  le_sigint_pending = 0;
  rl_replace_line ("", 0);
  rl_crlf ();
  rl_on_new_line ();
  rl_redisplay ();
  return 0;
}
#endif

/* Create the parent directories of PATH (like mkdir -p "$(dirname PATH)"). */
static void
mkdir_parents (const char *path)
{
  char *p, *s;

  p = strdup (path);
  if (p == NULL)
    return;
  for (s = p + 1; *s != '\0'; ++s) {
    if (*s == '/' && s[-1] != '/') {
      *s = '\0';
      if (mkdir (p, 0700) == -1 && errno != EEXIST) {
        free (p);
        return;
      }
      *s = '/';
    }
  }
  free (p);
}
#endif /* LE_HAVE_EDITOR */

void
le_init (const char *hf)
{
#if LE_HAVE_EDITOR
  HIST_ENTRY *h;

  free (histfile);
  histfile = NULL;
  if (hf != NULL && *hf != '\0')
    histfile = strdup (hf);     /* on ENOMEM: no history file */

  rl_readline_name = rl_name;
  rl_basic_word_break_characters = word_breaks;
#if HAVE_READLINE
  rl_completer_word_break_characters = word_breaks;
#endif
  rl_completer_quote_characters = quote_chars;
  rl_attempted_completion_function = attempted_completion;
#if HAVE_LIBEDIT
  /* libedit's own SIGINT handler puts the terminal in cooked mode, sends
   * SIGINT to the process group and makes readline() return NULL: nbdcli
   * handles SIGINT itself.
   */
  rl_catch_signals = 0;
#else
  /* GNU readline: nbdcli's SIGINT handler (without SA_RESTART) makes
   * readline's read(2) fail with EINTR, and readline then calls this
   * hook, which discards the line typed so far.
   */
  rl_catch_signals = 0;
  rl_signal_event_hook = discard_line_on_sigint;
#endif

  using_history ();
  stifle_history (LE_HISTORY_MAX);
  if (histfile != NULL)
    read_history (histfile);    /* a missing file is not an error */

  free (last_line);
  last_line = NULL;
  if (history_length > 0) {
    h = history_get (history_base + history_length - 1);
    if (h != NULL && h->line != NULL)
      last_line = strdup (h->line);
  }
#else
  (void) hf;
#endif
}

char *
le_readline (const char *prompt)
{
  if (prompt == NULL)
    prompt = "";
#if HAVE_LIBEDIT
  /* nbdcli's SIGINT handler has no SA_RESTART: Ctrl-C makes libedit's
   * read(2) fail, and readline() returns NULL with the line dropped;
   * the caller sees its interrupt flag and prompts again.
   */
  return readline (prompt);
#elif LE_HAVE_EDITOR
  return readline (prompt);
#else
  {
    char *line = NULL;
    size_t n = 0;
    ssize_t r;

    fputs (prompt, stdout);
    fflush (stdout);
    errno = 0;
    r = getline (&line, &n, stdin);
    if (r == -1) {
      int saved_errno = errno;

      free (line);
      if (saved_errno == EINTR) {
        /* Interrupted (^C with a handler): an empty line, not EOF. */
        clearerr (stdin);
        putchar ('\n');
        return strdup ("");
      }
      return NULL;
    }
    while (r > 0 && (line[r-1] == '\n' || line[r-1] == '\r'))
      line[--r] = '\0';
    return line;
  }
#endif
}

void
le_add_history (const char *line)
{
#if LE_HAVE_EDITOR
  const char *p;

  if (line == NULL)
    return;
  for (p = line; *p == ' ' || *p == '\t'; ++p)
    ;
  if (*p == '\0')
    return;
  {
    /* Without the blank a completion leaves at the end. */
    char *copy = strdup (line);
    size_t n;

    if (copy == NULL)
      return;
    n = strlen (copy);
    while (n > 0 && (copy[n - 1] == ' ' || copy[n - 1] == '\t'))
      copy[--n] = '\0';
    if (last_line != NULL && strcmp (last_line, copy) == 0) {
      free (copy);
      return;
    }
    add_history (copy);
    free (last_line);
    last_line = copy;
  }
#else
  (void) line;
#endif
}

void
le_save_history (void)
{
#if LE_HAVE_EDITOR
  struct stat st;
  int fd;

  if (histfile == NULL)
    return;
  /* Only ever write a regular file: GNU readline writes a temporary file
   * and renames it over the history file, which must not replace
   * /dev/null or a fifo.
   */
  if (stat (histfile, &st) == 0 && !S_ISREG (st.st_mode))
    return;
  mkdir_parents (histfile);
  /* Create it 0600 first: libedit's write_history uses fopen (0666). */
  fd = open (histfile, O_WRONLY|O_CREAT|O_CLOEXEC, 0600);
  if (fd >= 0)
    close (fd);
  if (write_history (histfile) == 0)
    chmod (histfile, 0600);
#endif
}

void
le_set_completer (le_complete_fn fn)
{
#if LE_HAVE_EDITOR
  completer = fn;
#else
  (void) fn;
#endif
}

const char *
le_name (void)
{
  return LINEEDIT_NAME;
}
