/*
 * csv.c — CSV files: a header line naming the columns, then one row per sample.
 *
 * Syntax: fields separated by commas; a field may be quoted ("a,b" with "" for a quote inside,
 * line breaks allowed inside quotes); spaces and tabs around a field are dropped; lines end with
 * LF, CRLF or CR; a UTF-8 byte-order mark at the start is skipped; empty lines are allowed only
 * at the end of the file.
 *
 * Meaning: the label column is opts.label (default: the last column); every other column is a
 * numeric feature. Labels decide the task when opts.task is AUTO: any non-numeric label, or
 * labels that are all integers, make a classification set, otherwise regression. Classes:
 *   - integer labels in 0..65535 are their own class numbers (n_classes = largest + 1), so the
 *     classes of a file labelled 0..9 keep their meaning;
 *   - otherwise the distinct labels are numbered in sorted order: numerically when all are
 *     numbers, else by byte order of the text ("setosa" < "versicolor" < "virginica").
 * Classes are numbered over the training and the test file together, so both agree.
 *
 * Reading is a byte-at-a-time state machine fed in chunks (the whole buffer for
 * caviar_csv_parse(), 64 KiB reads for a file), so a file is never held in memory as text: one
 * record's text at a time, plus the growing float array of features and the label cells. Every
 * error names file:line:column of the cell at fault (columns count bytes from 1).
 */
#define _POSIX_C_SOURCE 200809L
#include "data_impl.h"

#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define CSV_MAX_CLASSES 65536 /* more distinct labels than this is surely not a classification */
#define CSV_READ_CHUNK ((size_t)1 << 16)

enum { ST_START, ST_PLAIN, ST_QUOTED, ST_QUOTE_SEEN, ST_AFTER_QUOTE };
/* What parse_number() found, and how a message says what is wrong with it. */
enum { NUM_OK, NUM_BAD, NUM_NONFINITE, NUM_RANGE };
static const char *const num_problem[] = {"a number", "not a number", "not a finite number",
                                          "out of the range of a float"};

/* One field of the record being read: its text is rd.text + off, NUL-terminated. */
typedef struct csv_field {
    size_t off, len;
    size_t line, col; /* where the field starts */
    int quoted;
} csv_field;

/* Tokenizer state for one file. */
typedef struct csv_reader {
    const char *name;
    int state;
    size_t line, col;  /* position of the next byte */
    int prev_cr;       /* the last byte was CR: an LF right after it ends no second line */
    int started;       /* the byte-order mark check is done */
    size_t quote_line, quote_col;
    size_t trailing_ws; /* spaces at the end of the current unquoted field, dropped at its end */
    char *text;         /* the fields of the current record */
    size_t text_len, text_cap;
    csv_field *fields;
    size_t n_fields, fields_cap;
} csv_reader;

/* What has been read so far, over the training file and the test file. */
typedef struct csv_load {
    const caviar_data_opts *opts;
    csv_reader rd;
    int is_test_file;
    int header_done;          /* for the current file */
    size_t header_end_line;
    size_t blank_line;        /* the first empty line not yet followed by a record, or 0 */
    size_t rows_in_file;
    /* header of the training file */
    char **cols;
    size_t n_cols;
    size_t label_col;
    size_t label_line, label_colpos; /* where the label's name is in the header */
    const char *train_name;
    /* rows of both files; the training file's come first */
    size_t n_rows, n_train_rows;
    float *x;
    size_t x_cap;             /* in floats */
    char *lab_text;           /* label cells, NUL-separated */
    size_t lab_len, lab_cap;
    size_t *lab_off;          /* per row: offset of its label in lab_text */
    size_t lab_off_cap;
    double *lab_num;          /* per row: the label as a number, NaN when it is not one */
    size_t lab_num_cap;
    int any_text_label;
    int all_integer;
} csv_load;

/* ---- small helpers ---- */

/* The block p (of *cap elements of size elem) grown by doubling to hold need elements: the new
 * block, or NULL when memory runs out (p is then still valid and *cap unchanged). */
static void *grow(void *p, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap && p)
        return p;
    size_t c = *cap ? *cap : 64;
    while (c < need) {
        if (c > SIZE_MAX / 2 / elem)
            return NULL;
        c *= 2;
    }
    void *q = realloc(p, c * elem);
    if (q)
        *cap = c;
    return q;
}

/* s shortened for a message: at most 40 bytes, with "..." when cut (not inside a UTF-8
 * character). buf must hold at least 44 bytes. */
static const char *clip(const char *s, char *buf, size_t cap)
{
    size_t n = strlen(s);
    if (n <= 40)
        return s;
    size_t keep = cap - 4 < 40 ? cap - 4 : 40;
    while (keep > 0 && ((unsigned char)s[keep] & 0xC0) == 0x80)
        keep--;
    memcpy(buf, s, keep);
    memcpy(buf + keep, "...", 4);
    return buf;
}

/* The cell text as a number. Only decimal notation counts: strtod's hex floats are refused, and
 * nan/inf get their own verdict so the message can say what is wrong. */
static int parse_number(const char *s, double *out)
{
    const char *p = s;
    if (*p == '+' || *p == '-')
        p++;
    if (strcasecmp(p, "nan") == 0 || strcasecmp(p, "inf") == 0 ||
        strcasecmp(p, "infinity") == 0)
        return NUM_NONFINITE;
    if (!*s)
        return NUM_BAD;
    for (p = s; *p; p++)
        if (!strchr("0123456789+-.eE", *p))
            return NUM_BAD;
    if (util_parse_double(s, out) == 0)
        return fabs(*out) > FLT_MAX ? NUM_RANGE : NUM_OK;
    /* util_parse_double refuses underflow as well as overflow; a number too small for a double
     * is zero to a float, so it is accepted. */
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || *end != '\0')
        return NUM_BAD;
    if (errno == ERANGE && fabs(v) < 1.0) {
        *out = v;
        return NUM_OK;
    }
    return NUM_RANGE;
}

static const char *field_text(const csv_reader *r, size_t i)
{
    return r->text + r->fields[i].off;
}

/* ---- the header ---- */

/* "'a', 'b', 'c'" into buf, cut short with the count of the rest. */
static void list_columns(const csv_load *ld, char *buf, size_t cap)
{
    size_t pos = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < ld->n_cols; i++) {
        char tmp[48];
        if (pos + 64 > cap && i + 1 < ld->n_cols) {
            snprintf(buf + pos, cap - pos, ", ... (%zu more)", ld->n_cols - i);
            return;
        }
        int w = snprintf(buf + pos, cap - pos, "%s'%s'", i ? ", " : "",
                         clip(ld->cols[i], tmp, sizeof tmp));
        if (w < 0 || (size_t)w >= cap - pos)
            return;
        pos += (size_t)w;
    }
}

static caviar_status find_label(csv_load *ld, caviar_error *err)
{
    const char *name = ld->rd.name;
    const char *want = ld->opts->label;
    char c1[48];
    if (!want) {
        ld->label_col = ld->n_cols - 1;
        return CAVIAR_OK;
    }
    size_t found = SIZE_MAX;
    for (size_t i = 0; i < ld->n_cols; i++) {
        if (strcmp(ld->cols[i], want) != 0)
            continue;
        if (found != SIZE_MAX)
            return util_err(err, CAVIAR_EFORMAT,
                            "%s:%zu:%zu: label column '%s' is ambiguous: columns %zu and %zu "
                            "both have that name",
                            name, ld->rd.fields[i].line, ld->rd.fields[i].col,
                            clip(want, c1, sizeof c1), found + 1, i + 1);
        found = i;
    }
    if (found != SIZE_MAX) {
        ld->label_col = found;
        return CAVIAR_OK;
    }
    /* Not there: list the columns and suggest the closest name, if one is close. */
    const char *best = NULL;
    int best_d = 255;
    for (size_t i = 0; i < ld->n_cols; i++) {
        int d = util_edit_distance(want, ld->cols[i]);
        if (d < best_d) {
            best_d = d;
            best = ld->cols[i];
        }
    }
    size_t want_len = strlen(want);
    int close = best && (best_d <= 2 || (size_t)best_d * 3 <= want_len);
    char cols[600], c2[48];
    list_columns(ld, cols, sizeof cols);
    if (close)
        return util_err(err, CAVIAR_EFORMAT,
                        "%s:1:1: label column '%s' not found; the columns are %s\nhint: did you "
                        "mean '%s'?",
                        name, clip(want, c1, sizeof c1), cols, clip(best, c2, sizeof c2));
    return util_err(err, CAVIAR_EFORMAT, "%s:1:1: label column '%s' not found; the columns are %s",
                    name, clip(want, c1, sizeof c1), cols);
}

static caviar_status on_header(csv_load *ld, caviar_error *err)
{
    csv_reader *r = &ld->rd;
    const char *name = r->name;
    char c1[48], c2[48];

    if (ld->is_test_file) {
        /* The test file must have the training file's header, name for name. */
        for (size_t i = 0; i < r->n_fields && i < ld->n_cols; i++)
            if (strcmp(field_text(r, i), ld->cols[i]) != 0)
                return util_err(err, CAVIAR_EFORMAT,
                                "%s:%zu:%zu: header does not match the training file '%s': "
                                "column %zu is '%s' here but '%s' there",
                                name, r->fields[i].line, r->fields[i].col, ld->train_name, i + 1,
                                clip(field_text(r, i), c1, sizeof c1),
                                clip(ld->cols[i], c2, sizeof c2));
        if (r->n_fields != ld->n_cols) {
            size_t at = r->n_fields < ld->n_cols ? r->n_fields - 1 : ld->n_cols;
            return util_err(err, CAVIAR_EFORMAT,
                            "%s:%zu:%zu: header does not match the training file '%s': it has "
                            "%zu columns, the training file has %zu",
                            name, r->fields[at].line, r->fields[at].col, ld->train_name,
                            r->n_fields, ld->n_cols);
        }
        return CAVIAR_OK;
    }

    /* A first line made only of bare numbers is data: the header is missing. */
    size_t n_numbers = 0;
    for (size_t i = 0; i < r->n_fields; i++) {
        double v;
        if (!r->fields[i].quoted && parse_number(field_text(r, i), &v) == NUM_OK)
            n_numbers++;
    }
    if (n_numbers == r->n_fields)
        return util_err(err, CAVIAR_EFORMAT,
                        "%s:%zu:%zu: missing header: the first line holds only numbers, not "
                        "column names\nhint: add a first line naming the columns (put a name "
                        "that is a number in quotes)",
                        name, r->fields[0].line, r->fields[0].col);
    if (r->n_fields < 2)
        return util_err(err, CAVIAR_EFORMAT,
                        "%s:%zu:%zu: the header names one column ('%s'); a data file needs at "
                        "least one feature column and the label column",
                        name, r->fields[0].line, r->fields[0].col,
                        clip(field_text(r, 0), c1, sizeof c1));

    ld->cols = calloc(r->n_fields, sizeof *ld->cols);
    if (!ld->cols)
        return util_err(err, CAVIAR_ENOMEM, "out of memory reading the header of '%s'", name);
    ld->n_cols = r->n_fields;
    for (size_t i = 0; i < r->n_fields; i++) {
        ld->cols[i] = strdup(field_text(r, i));
        if (!ld->cols[i])
            return util_err(err, CAVIAR_ENOMEM, "out of memory reading the header of '%s'", name);
    }
    caviar_status st = find_label(ld, err);
    if (st)
        return st;
    ld->label_line = r->fields[ld->label_col].line;
    ld->label_colpos = r->fields[ld->label_col].col;
    return CAVIAR_OK;
}

/* ---- rows ---- */

static caviar_status on_label(csv_load *ld, const csv_field *f, const char *text,
                              caviar_error *err)
{
    const char *name = ld->rd.name, *col = ld->cols[ld->label_col];
    char c1[48], c2[48];
    double v = NAN;
    if (!*text)
        return util_err(err, CAVIAR_EFORMAT, "%s:%zu:%zu: empty label in column '%s'", name,
                        f->line, f->col, clip(col, c1, sizeof c1));
    int verdict = parse_number(text, &v);
    if (verdict == NUM_BAD && ld->opts->task == CAVIAR_TASK_REGRESSION)
        return util_err(err, CAVIAR_EFORMAT,
                        "%s:%zu:%zu: label '%s' in column '%s' is not a number, but the task is "
                        "regression",
                        name, f->line, f->col, clip(text, c1, sizeof c1), clip(col, c2, sizeof c2));
    if (verdict == NUM_NONFINITE || verdict == NUM_RANGE)
        return util_err(err, CAVIAR_EFORMAT, "%s:%zu:%zu: label '%s' in column '%s' is %s", name,
                        f->line, f->col, clip(text, c1, sizeof c1), clip(col, c2, sizeof c2),
                        num_problem[verdict]);
    if (verdict == NUM_BAD) {
        v = NAN; /* a text label: the set is a classification */
        ld->any_text_label = 1;
    } else if (v != floor(v)) {
        ld->all_integer = 0;
    }
    size_t len = strlen(text) + 1;
    char *grown = grow(ld->lab_text, &ld->lab_cap, ld->lab_len + len, 1);
    if (!grown)
        return util_err(err, CAVIAR_ENOMEM, "out of memory reading '%s'", name);
    ld->lab_text = grown;
    memcpy(ld->lab_text + ld->lab_len, text, len);
    ld->lab_off[ld->n_rows] = ld->lab_len;
    ld->lab_num[ld->n_rows] = v;
    ld->lab_len += len;
    return CAVIAR_OK;
}

/* Room for one more row in the feature and label arrays; 0 on success. */
static int reserve_row(csv_load *ld)
{
    size_t nf = ld->n_cols - 1, need = ld->n_rows + 1;
    if (need > SIZE_MAX / sizeof(float) / nf)
        return -1;
    float *x = grow(ld->x, &ld->x_cap, need * nf, sizeof(float));
    if (!x)
        return -1;
    ld->x = x;
    size_t *off = grow(ld->lab_off, &ld->lab_off_cap, need, sizeof(size_t));
    if (!off)
        return -1;
    ld->lab_off = off;
    double *num = grow(ld->lab_num, &ld->lab_num_cap, need, sizeof(double));
    if (!num)
        return -1;
    ld->lab_num = num;
    return 0;
}

static caviar_status on_row(csv_load *ld, size_t end_line, size_t end_col, caviar_error *err)
{
    csv_reader *r = &ld->rd;
    const char *name = r->name;
    char c1[48], c2[48];
    if (r->n_fields != ld->n_cols) {
        size_t line = end_line, col = end_col;
        if (r->n_fields > ld->n_cols) {
            line = r->fields[ld->n_cols].line;
            col = r->fields[ld->n_cols].col;
        }
        return util_err(err, CAVIAR_EFORMAT, "%s:%zu:%zu: row has %zu field%s but the header has %zu",
                        name, line, col, r->n_fields, r->n_fields == 1 ? "" : "s", ld->n_cols);
    }
    size_t nf = ld->n_cols - 1;
    if (reserve_row(ld) != 0)
        return util_err(err, CAVIAR_ENOMEM, "out of memory reading '%s' (%zu rows)", name,
                        ld->n_rows + 1);
    float *row = ld->x + ld->n_rows * nf;
    for (size_t i = 0, j = 0; i < r->n_fields; i++) {
        const csv_field *f = &r->fields[i];
        const char *text = field_text(r, i);
        if (i == ld->label_col) {
            caviar_status st = on_label(ld, f, text, err);
            if (st)
                return st;
            continue;
        }
        const char *col = clip(ld->cols[i], c2, sizeof c2);
        double v;
        if (!*text)
            return util_err(err, CAVIAR_EFORMAT, "%s:%zu:%zu: empty cell in column '%s'", name,
                            f->line, f->col, col);
        int verdict = parse_number(text, &v);
        if (verdict != NUM_OK)
            return util_err(err, CAVIAR_EFORMAT, "%s:%zu:%zu: cell '%s' in column '%s' is %s",
                            name, f->line, f->col, clip(text, c1, sizeof c1), col,
                            num_problem[verdict]);
        row[j++] = (float)v;
    }
    ld->n_rows++;
    ld->rows_in_file++;
    return CAVIAR_OK;
}

/* A record is complete: the header, a row, or an empty line. */
static caviar_status on_record(csv_load *ld, size_t end_line, size_t end_col, caviar_error *err)
{
    csv_reader *r = &ld->rd;
    int blank = r->n_fields == 1 && !r->fields[0].quoted && r->fields[0].len == 0;
    if (blank) {
        if (!ld->blank_line)
            ld->blank_line = r->fields[0].line;
        return CAVIAR_OK;
    }
    if (ld->blank_line) {
        if (!ld->header_done)
            return util_err(err, CAVIAR_EFORMAT,
                            "%s:%zu:1: missing header: line %zu is empty; the first line must "
                            "name the columns",
                            r->name, ld->blank_line, ld->blank_line);
        return util_err(err, CAVIAR_EFORMAT,
                        "%s:%zu:1: empty line (only the last lines of a file may be empty)",
                        r->name, ld->blank_line);
    }
    if (!ld->header_done) {
        caviar_status st = on_header(ld, err);
        ld->header_done = 1;
        ld->header_end_line = end_line;
        return st;
    }
    return on_row(ld, end_line, end_col, err);
}

/* ---- the tokenizer ---- */

static caviar_status push_byte(csv_reader *r, char c, caviar_error *err)
{
    if (r->text_len == r->text_cap) {
        char *grown = grow(r->text, &r->text_cap, r->text_len + 1, 1);
        if (!grown)
            return util_err(err, CAVIAR_ENOMEM, "out of memory reading '%s'", r->name);
        r->text = grown;
    }
    r->text[r->text_len++] = c;
    return CAVIAR_OK;
}

static caviar_status begin_field(csv_reader *r, size_t line, size_t col, int quoted,
                                 caviar_error *err)
{
    csv_field *grown = grow(r->fields, &r->fields_cap, r->n_fields + 1, sizeof *r->fields);
    if (!grown)
        return util_err(err, CAVIAR_ENOMEM, "out of memory reading '%s'", r->name);
    r->fields = grown;
    csv_field *f = &r->fields[r->n_fields];
    f->off = r->text_len;
    f->len = 0;
    f->line = line;
    f->col = col;
    f->quoted = quoted;
    r->trailing_ws = 0;
    return CAVIAR_OK;
}

static caviar_status end_field(csv_reader *r, caviar_error *err)
{
    csv_field *f = &r->fields[r->n_fields];
    r->text_len -= r->trailing_ws;
    r->trailing_ws = 0;
    f->len = r->text_len - f->off;
    r->n_fields++;
    return push_byte(r, '\0', err);
}

static caviar_status end_record(csv_load *ld, size_t line, size_t col, caviar_error *err)
{
    caviar_status st = on_record(ld, line, col, err);
    ld->rd.n_fields = 0;
    ld->rd.text_len = 0;
    ld->rd.state = ST_START;
    return st;
}

static caviar_status bad_byte(csv_reader *r, unsigned char c, size_t line, size_t col,
                              const char *what, caviar_error *err)
{
    if (c >= 0x20 && c < 0x7f)
        return util_err(err, CAVIAR_EFORMAT, "%s:%zu:%zu: unexpected '%c' %s", r->name, line,
                        col, c, what);
    return util_err(err, CAVIAR_EFORMAT, "%s:%zu:%zu: unexpected byte 0x%02x %s", r->name, line,
                    col, c, what);
}

static caviar_status csv_feed(csv_load *ld, const unsigned char *p, size_t len, caviar_error *err)
{
    csv_reader *r = &ld->rd;
    size_t i = 0;
    caviar_status st = CAVIAR_OK;
    if (!r->started && len > 0) {
        r->started = 1;
        if (len >= 3 && p[0] == 0xEF && p[1] == 0xBB && p[2] == 0xBF)
            i = 3; /* UTF-8 byte-order mark, as spreadsheets write it */
    }
    for (; i < len && st == CAVIAR_OK; i++) {
        unsigned char c = p[i];
        size_t line = r->line, col = r->col;
        int lf_after_cr = c == '\n' && r->prev_cr;
        if (c == '\n') {
            r->line += !r->prev_cr;
            r->col = 1;
        } else if (c == '\r') {
            r->line++;
            r->col = 1;
        } else {
            r->col++;
        }
        r->prev_cr = c == '\r';
        int eol = c == '\n' || c == '\r';
        if (c == '\0')
            return util_err(err, CAVIAR_EFORMAT, "%s:%zu:%zu: NUL byte: this is not a text file",
                            r->name, line, col);
        switch (r->state) {
        case ST_START:
            if (lf_after_cr || c == ' ' || c == '\t')
                break; /* the CR already ended the record; leading blanks are dropped */
            if (c == '"') {
                r->quote_line = line;
                r->quote_col = col;
                st = begin_field(r, line, col, 1, err);
                r->state = ST_QUOTED;
                break;
            }
            if ((st = begin_field(r, line, col, 0, err)) != CAVIAR_OK)
                break;
            if (c == ',') {
                st = end_field(r, err);
            } else if (eol) {
                if ((st = end_field(r, err)) == CAVIAR_OK)
                    st = end_record(ld, line, col, err);
            } else {
                st = push_byte(r, (char)c, err);
                r->state = ST_PLAIN;
            }
            break;
        case ST_PLAIN:
            if (c == ',') {
                st = end_field(r, err);
                r->state = ST_START;
            } else if (eol) {
                if ((st = end_field(r, err)) == CAVIAR_OK)
                    st = end_record(ld, line, col, err);
            } else if (c == '"') {
                st = bad_byte(r, c, line, col,
                              "inside an unquoted field (quote the whole field and double the "
                              "quotes inside it)",
                              err);
            } else {
                st = push_byte(r, (char)c, err);
                r->trailing_ws = (c == ' ' || c == '\t') ? r->trailing_ws + 1 : 0;
            }
            break;
        case ST_QUOTED:
            if (c == '"')
                r->state = ST_QUOTE_SEEN;
            else
                st = push_byte(r, (char)c, err);
            break;
        case ST_QUOTE_SEEN:
            if (c == '"') {
                st = push_byte(r, '"', err); /* "" inside quotes is one quote */
                r->state = ST_QUOTED;
                break;
            }
            /* Anything else: the quote closed the field. */
            /* fall through */
        case ST_AFTER_QUOTE:
            if (c == ',') {
                st = end_field(r, err);
                r->state = ST_START;
            } else if (eol) {
                if ((st = end_field(r, err)) == CAVIAR_OK)
                    st = end_record(ld, line, col, err);
            } else if (c == ' ' || c == '\t') {
                r->state = ST_AFTER_QUOTE;
            } else {
                st = bad_byte(r, c, line, col, "after the closing quote of a field", err);
            }
            break;
        }
    }
    return st;
}

/* The input has ended: complete the last record. */
static caviar_status csv_end(csv_load *ld, caviar_error *err)
{
    csv_reader *r = &ld->rd;
    caviar_status st = CAVIAR_OK;
    switch (r->state) {
    case ST_START:
        if (r->n_fields == 0)
            return CAVIAR_OK; /* the input ended with a line break, or is empty */
        if ((st = begin_field(r, r->line, r->col, 0, err)) != CAVIAR_OK)
            return st;
        break;
    case ST_QUOTED:
        return util_err(err, CAVIAR_EFORMAT,
                        "%s:%zu:%zu: quoted field is never closed: the file ends inside it",
                        r->name, r->quote_line, r->quote_col);
    default:
        break;
    }
    if ((st = end_field(r, err)) != CAVIAR_OK)
        return st;
    return end_record(ld, r->line, r->col, err);
}

/* ---- one file, start to end ---- */

static void start_file(csv_load *ld, const char *name, int is_test)
{
    csv_reader *r = &ld->rd;
    r->name = name;
    r->state = ST_START;
    r->line = r->col = 1;
    r->prev_cr = 0;
    r->started = 0;
    r->n_fields = r->text_len = 0;
    ld->is_test_file = is_test;
    ld->header_done = 0;
    ld->blank_line = 0;
    ld->rows_in_file = 0;
}

/* After csv_end(): a file must have had a header and at least one row. */
static caviar_status end_file(csv_load *ld, caviar_error *err)
{
    const char *name = ld->rd.name;
    if (!ld->header_done)
        return util_err(err, CAVIAR_EFORMAT,
                        "%s:1:1: empty file: the first line must name the columns", name);
    if (ld->rows_in_file == 0)
        return util_err(err, CAVIAR_EFORMAT, "%s:%zu:1: no data rows after the header", name,
                        ld->header_end_line + 1);
    if (!ld->is_test_file)
        ld->n_train_rows = ld->n_rows;
    return CAVIAR_OK;
}

static caviar_status read_file(csv_load *ld, const char *path, int is_test, caviar_error *err)
{
    start_file(ld, path, is_test);
    FILE *f = fopen(path, "rb");
    if (!f)
        return util_err(err, errno == ENOENT ? CAVIAR_EMISSING : CAVIAR_EIO,
                        "cannot open '%s': %s", path, strerror(errno));
    caviar_status st = CAVIAR_OK;
    unsigned char *buf = malloc(CSV_READ_CHUNK);
    if (!buf) {
        st = util_err(err, CAVIAR_ENOMEM, "out of memory reading '%s'", path);
        goto done;
    }
    size_t n;
    while (st == CAVIAR_OK && (n = fread(buf, 1, CSV_READ_CHUNK, f)) > 0)
        st = csv_feed(ld, buf, n, err);
    if (st == CAVIAR_OK && ferror(f))
        st = util_err(err, CAVIAR_EIO, "cannot read '%s': %s", path, strerror(errno));
    if (st == CAVIAR_OK)
        st = csv_end(ld, err);
    if (st == CAVIAR_OK)
        st = end_file(ld, err);
done:
    free(buf);
    fclose(f);
    return st;
}

/* ---- labels to classes or targets, and the data_raw ---- */

typedef struct label_key {
    const char *text;
    double num;
    size_t row;
} label_key;

static int cmp_text(const void *a, const void *b)
{
    return strcmp(((const label_key *)a)->text, ((const label_key *)b)->text);
}

static int cmp_num(const void *a, const void *b)
{
    double x = ((const label_key *)a)->num, y = ((const label_key *)b)->num;
    return (x > y) - (x < y);
}

/* Class numbers for every row into label; sets *n_classes and *n_distinct. */
static caviar_status number_classes(csv_load *ld, int32_t *label, size_t *n_classes,
                                    size_t *n_distinct, const char **example, caviar_error *err)
{
    size_t n = ld->n_rows;
    int direct = !ld->any_text_label && ld->all_integer;
    for (size_t i = 0; i < n && direct; i++)
        if (!(ld->lab_num[i] >= 0 && ld->lab_num[i] < CSV_MAX_CLASSES))
            direct = 0;
    *example = ld->lab_text + ld->lab_off[0];
    if (direct) {
        /* Integer labels name their classes themselves. */
        unsigned char *seen = calloc(CSV_MAX_CLASSES, 1);
        if (!seen)
            return util_err(err, CAVIAR_ENOMEM, "out of memory numbering classes");
        size_t max = 0, distinct = 0;
        for (size_t i = 0; i < n; i++) {
            size_t c = (size_t)ld->lab_num[i];
            label[i] = (int32_t)c;
            distinct += !seen[c];
            seen[c] = 1;
            if (c > max)
                max = c;
        }
        free(seen);
        *n_classes = max + 1;
        *n_distinct = distinct;
        return CAVIAR_OK;
    }
    label_key *keys = malloc(n * sizeof *keys);
    if (!keys)
        return util_err(err, CAVIAR_ENOMEM, "out of memory numbering classes");
    for (size_t i = 0; i < n; i++) {
        keys[i].text = ld->lab_text + ld->lab_off[i];
        keys[i].num = ld->lab_num[i];
        keys[i].row = i;
    }
    int (*cmp)(const void *, const void *) = ld->any_text_label ? cmp_text : cmp_num;
    qsort(keys, n, sizeof *keys, cmp);
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (i > 0 && cmp(&keys[i - 1], &keys[i]) != 0)
            k++;
        label[keys[i].row] = (int32_t)(k < INT32_MAX ? k : INT32_MAX);
    }
    free(keys);
    *n_classes = *n_distinct = n ? k + 1 : 0;
    return CAVIAR_OK;
}

static caviar_status build_raw(csv_load *ld, data_raw *raw, caviar_error *err)
{
    const caviar_data_opts *opts = ld->opts;
    const char *name = ld->train_name, *col = ld->cols[ld->label_col];
    char c1[48], c2[48];
    size_t nf = ld->n_cols - 1, n = ld->n_rows;
    caviar_status st;
    caviar_task task = opts->task;
    if (task == CAVIAR_TASK_AUTO)
        task = (ld->any_text_label || ld->all_integer) ? CAVIAR_TASK_CLASSIFICATION
                                                       : CAVIAR_TASK_REGRESSION;
    raw->task = task;
    raw->n_features = nf;
    raw->train.n = n;
    raw->train.x = ld->x;
    ld->x = NULL;
    float *exact = realloc(raw->train.x, n * nf * sizeof(float)); /* drop the spare capacity */
    if (exact)
        raw->train.x = exact;
    if (task == CAVIAR_TASK_REGRESSION) {
        raw->n_targets = 1;
        raw->train.target = malloc(n * sizeof(float));
        if (!raw->train.target)
            return util_err(err, CAVIAR_ENOMEM, "out of memory reading '%s'", name);
        for (size_t i = 0; i < n; i++)
            raw->train.target[i] = (float)ld->lab_num[i];
    } else {
        raw->train.label = malloc(n * sizeof(int32_t));
        if (!raw->train.label)
            return util_err(err, CAVIAR_ENOMEM, "out of memory reading '%s'", name);
        size_t n_classes = 0, n_distinct = 0;
        const char *example;
        st = number_classes(ld, raw->train.label, &n_classes, &n_distinct, &example, err);
        if (st)
            return st;
        if (n_distinct < 2)
            return util_err(err, CAVIAR_EFORMAT,
                            "%s:%zu:%zu: label column '%s' holds a single value ('%s'); a "
                            "classification needs at least two classes",
                            name, ld->label_line, ld->label_colpos, clip(col, c1, sizeof c1),
                            clip(example, c2, sizeof c2));
        if (n_classes > CSV_MAX_CLASSES)
            return util_err(err, CAVIAR_EFORMAT,
                            "%s:%zu:%zu: label column '%s' holds %zu distinct values, more than "
                            "the %d classes a classification may have\nhint: for a numeric "
                            "target, ask for the regression task",
                            name, ld->label_line, ld->label_colpos, clip(col, c1, sizeof c1),
                            n_classes, CSV_MAX_CLASSES);
        raw->n_classes = n_classes;
    }

    /* The test set: the rows of the test file, or a seeded share of the rows. */
    size_t n_test;
    if (ld->n_train_rows < n) {
        n_test = n - ld->n_train_rows;
    } else {
        n_test = data_fraction_count(opts->test_fraction, n);
        if (n_test >= n)
            return util_err(err, CAVIAR_EINVAL,
                            "'%s' has %zu data row%s: a test fraction of %g leaves none to train "
                            "on",
                            name, n, n == 1 ? "" : "s", opts->test_fraction);
        util_rng rng;
        util_rng_derive(&rng, opts->seed, DATA_STREAM_TEST);
        data_part_pick_tail(&raw->train, nf, raw->n_targets, n_test, &rng);
    }
    return data_part_cut_tail(&raw->train, nf, raw->n_targets, n_test, &raw->test, err);
}

static void load_release(csv_load *ld)
{
    for (size_t i = 0; ld->cols && i < ld->n_cols; i++)
        free(ld->cols[i]);
    free(ld->cols);
    free(ld->rd.text);
    free(ld->rd.fields);
    free(ld->x);
    free(ld->lab_text);
    free(ld->lab_off);
    free(ld->lab_num);
}

static void load_init(csv_load *ld, const caviar_data_opts *opts, const char *train_name)
{
    memset(ld, 0, sizeof *ld);
    ld->opts = opts;
    ld->train_name = train_name;
    ld->all_integer = 1;
}

caviar_status data_load_csv(const char *path, const caviar_data_opts *opts, data_raw *raw,
                            caviar_error *err)
{
    csv_load ld;
    load_init(&ld, opts, path);
    memset(raw, 0, sizeof *raw);
    caviar_status st = read_file(&ld, path, 0, err);
    if (st == CAVIAR_OK && opts->test_path)
        st = read_file(&ld, opts->test_path, 1, err);
    if (st == CAVIAR_OK)
        st = build_raw(&ld, raw, err);
    if (st != CAVIAR_OK)
        data_raw_release(raw);
    load_release(&ld);
    return st;
}

/* caviar_csv_parse() up to the data_raw. */
static caviar_status parse_csv(const void *bytes, size_t len, const char *name,
                               const caviar_data_opts *opts, data_raw *raw, caviar_error *err)
{
    csv_load ld;
    load_init(&ld, opts, name);
    memset(raw, 0, sizeof *raw);
    start_file(&ld, name, 0);
    caviar_status st = csv_feed(&ld, bytes, len, err);
    if (st == CAVIAR_OK)
        st = csv_end(&ld, err);
    if (st == CAVIAR_OK)
        st = end_file(&ld, err);
    if (st == CAVIAR_OK)
        st = build_raw(&ld, raw, err);
    if (st != CAVIAR_OK)
        data_raw_release(raw);
    load_release(&ld);
    return st;
}

caviar_data *caviar_csv_parse(const void *bytes, size_t len, const char *name,
                              const caviar_data_opts *opts, caviar_error *err)
{
    caviar_data_opts defaults;
    if (!opts) {
        caviar_data_opts_init(&defaults);
        opts = &defaults;
    }
    if (!name)
        name = "(memory)";
    if (!bytes && len > 0) {
        util_err(err, CAVIAR_EINVAL, "cannot parse CSV data '%s': no bytes given", name);
        return NULL;
    }
    if (data_check_opts(opts, err) != CAVIAR_OK)
        return NULL;
    data_raw raw;
    if (parse_csv(bytes ? bytes : "", len, name, opts, &raw, err) != CAVIAR_OK)
        return NULL;
    return data_finish(name, &raw, opts, err);
}
