/*
 * chart.c — chart_render(): learning curves as a block of terminal text (see chart.h for what
 * the reader sees).
 *
 * How a value becomes a place. Each axis has a range [lo, hi] in position units (log10 of the
 * value on a log axis), lo < hi and both finite, and a number of dots: cells times dots per cell
 * (1 in ASCII mode; 2 across and 4 down for braille). A value at position p lands on dot
 *     d = round((p - lo) / (hi - lo) * (dots - 1)),   0 = bottom (y) or left (x) edge,
 * so the range's ends land on the outermost dots. The subtraction is done on halves,
 * (p/2 - lo/2) / (hi/2 - lo/2), because hi - lo overflows when the data run from -1e308 to 1e308.
 * A range is only ever taken from finite values, and one that is empty or too narrow to divide
 * (a single point, a constant, two values 1e-13 apart at 1) is padded first: no division here can
 * be by zero, whatever the data.
 *
 * The drawing is a canvas of the plot area, cell by cell: an ASCII glyph (0 = none), the braille
 * dots set in it, and whether a vertical marker crosses it. The series are drawn in passes so that
 * what matters most ends on top: lines, then points, then (braille) each series' last mark, then
 * the markers of clipped points. A cell shows its glyph, else its dots, else ':' for a marker.
 *
 * Lines of the output are laid out in a `width`-cell ASCII buffer and copied out, the cells of
 * the plot area from the canvas; every line therefore has exactly `width` cells by construction.
 */
#include "chart.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LABEL_MAX 10   /* y tick labels: %.3g needs at most 10 characters, "-1.23e-308" */
#define XLABEL_MAX 12  /* x tick labels */
#define MAX_TICKS 64   /* candidate ticks per axis */
#define LEGEND_SEP 3   /* spaces between legend entries */

static const char default_marks[] = "*o+x#%@&";

/* Finite values seen for one axis. */
typedef struct range {
    double lo, hi;
    size_t n;
    int all_pos; /* every value seen is > 0 */
} range;

typedef struct axis {
    int log;       /* positions are log10(value) */
    double lo, hi; /* the range in position units, lo < hi, both finite */
    int cells;     /* rows (y) or columns (x) of the plot area */
    int per_cell;  /* dots per cell along this axis */
} axis;

typedef struct tick {
    double v;       /* value, in data units */
    int cell;       /* row from the top (y) or column from the left of the plot area (x) */
    int at;         /* x labels: column of the line where the label starts */
    char text[32];
} tick;

/* The plot area: cell (col, row) is index row * w + col, row 0 at the top. */
typedef struct canvas {
    int w, h;
    int px, py;           /* dots per cell across and down: 1, 1 (ASCII) or 2, 4 (braille) */
    char *glyph;          /* w*h: ASCII glyph shown, 0 = none */
    unsigned char *dots;  /* w*h: braille dots (bit layout of U+2800..U+28FF) */
    unsigned char *vline; /* w*h: 1 where a vertical marker crosses */
} canvas;

/* ---- scales ------------------------------------------------------------------------------- */

static void range_add(range *r, double v)
{
    if (!isfinite(v))
        return;
    if (!r->n || v < r->lo)
        r->lo = v;
    if (!r->n || v > r->hi)
        r->hi = v;
    if (!(v > 0))
        r->all_pos = 0;
    r->n++;
}

/* Sets a->lo, a->hi from the values seen (log10 of them on a log axis), padding a range too
 * narrow to divide: around its centre c by rel * |c|, at least by min_pad (by zero_pad when c
 * is 0). */
static void axis_range(axis *a, const range *r, double rel, double min_pad, double zero_pad)
{
    double lo = 0, hi = 1;
    if (r->n) {
        lo = a->log ? log10(r->lo) : r->lo;
        hi = a->log ? log10(r->hi) : r->hi;
    }
    double half = hi / 2 - lo / 2, mag = fmax(fabs(lo), fabs(hi));
    if (!(half > 5e-13 * mag) || !(half >= 1e-300)) {
        double c = lo / 2 + hi / 2;
        double d = fabs(c) * rel;
        if (c == 0)
            d = zero_pad;
        if (!(d >= min_pad))
            d = min_pad;
        lo = c - d;
        hi = c + d;
        if (!(hi <= DBL_MAX))
            hi = DBL_MAX;
        if (!(lo >= -DBL_MAX))
            lo = -DBL_MAX;
    }
    a->lo = lo;
    a->hi = hi;
}

/* The dot where value v lands (0 = bottom or left edge, dots - 1 = top or right), or -1 for NaN.
 * *clip is +1 for a value past the top (+Inf), -1 past the bottom (-Inf, or not > 0 on a log
 * axis), and it then lands on the edge; 0 otherwise. Finite values out of range are clamped. */
static int axis_dot(const axis *a, double v, int *clip)
{
    int dots = a->cells * a->per_cell;
    *clip = 0;
    if (isnan(v))
        return -1;
    if (a->log) {
        if (!(v > 0)) {
            *clip = -1;
            return 0;
        }
        v = log10(v);
    }
    if (v == INFINITY) {
        *clip = 1;
        return dots - 1;
    }
    if (v == -INFINITY) {
        *clip = -1;
        return 0;
    }
    double f = (v / 2 - a->lo / 2) / (a->hi / 2 - a->lo / 2);
    double d = floor(f * (dots - 1) + 0.5);
    if (!(d >= 0))
        return 0;
    if (d > dots - 1)
        return dots - 1;
    return (int)d;
}

/* Whether value v (data units) lies within the axis range, allowing for rounding. */
static int axis_holds(const axis *a, double v)
{
    if (a->log) {
        if (!(v > 0))
            return 0;
        v = log10(v);
    }
    double slack = (a->hi / 2 - a->lo / 2) * 2e-9;
    return isfinite(v) && v >= a->lo - slack && v <= a->hi + slack;
}

/* ---- ticks -------------------------------------------------------------------------------- */

/* 1, 2 or 5 x 10^k, the nearest to raw on a log scale (so that the count of ticks is near the
 * one asked for; crowded labels are thinned later); 0 when there is none (raw not finite,
 * overflow). */
static double nice_step(double raw)
{
    if (!(raw > 0) || !isfinite(raw))
        return 0;
    double p = pow(10, floor(log10(raw)));
    if (!(p > 0) || !isfinite(p))
        return 0;
    double m = raw / p;
    double step = (m < 1.4142 ? 1 : m < 3.1623 ? 2 : m < 7.0711 ? 5 : 10) * p;
    return isfinite(step) ? step : 0;
}

/* Appends to out the multiples of a nice step in [lo, hi] (data units), about `target` of them. */
static size_t linear_ticks(double lo, double hi, int target, double *out, size_t n, size_t max)
{
    double step = nice_step((hi / 2 - lo / 2) / target * 2);
    if (step == 0)
        return n;
    double k0 = ceil(lo / step), k1 = floor(hi / step);
    if (!(k1 - k0 >= 0) || k1 - k0 > (double)MAX_TICKS)
        return n;
    /* k0 + i rather than k++: past 2^53 an increment can be lost. */
    for (int i = 0; i <= (int)(k1 - k0) && n < max; i++) {
        double k = k0 + i, t = k * step;
        if (k == 0)
            t = 0;
        if (!isfinite(t) || t < lo || t > hi || (n && t == out[n - 1]))
            continue;
        out[n++] = t;
    }
    return n;
}

/* A tick label: integers below a million in full, else %.*g with a short exponent ("1e-07"
 * becomes "1e-7", "2.5e+12" becomes "2.5e12"). */
static void tick_format(char *buf, size_t len, double v, int prec)
{
    if (v == 0)
        v = 0; /* no "-0" */
    if (v == floor(v) && fabs(v) < 1e6)
        snprintf(buf, len, "%.0f", v);
    else
        snprintf(buf, len, "%.*g", prec, v);
    char *e = strchr(buf, 'e');
    if (e) {
        char *from = e + 1, *to = e + 1;
        if (*from == '-')
            *to++ = *from++;
        else if (*from == '+')
            from++;
        while (*from == '0' && from[1])
            from++;
        memmove(to, from, strlen(from) + 1);
    }
}

/* Writes the labels of t[0..n): %.3g, or up to %.6g (while labels stay within maxlen) when
 * fewer digits would misstate a tick by 1% of the smallest gap between two ticks -- 102.5 is not
 * "102" when the next tick is 103. */
static void tick_labels(tick *t, size_t n, size_t maxlen)
{
    double res = INFINITY;
    for (size_t i = 1; i < n; i++) {
        double gap = fabs(t[i].v / 2 - t[i - 1].v / 2) * 2;
        if (gap < res)
            res = gap;
    }
    for (int prec = 3; prec <= 6; prec++) {
        char buf[MAX_TICKS][32];
        int exact = 1, fits = 1;
        for (size_t i = 0; i < n; i++) {
            tick_format(buf[i], sizeof buf[i], t[i].v, prec);
            if (strlen(buf[i]) > maxlen)
                fits = 0;
            double back = strtod(buf[i], NULL);
            if (!(fabs(back / 2 - t[i].v / 2) <= res * 0.005))
                exact = 0;
        }
        if (!fits && prec > 3)
            break;
        for (size_t i = 0; i < n; i++) {
            memcpy(t[i].text, buf[i], sizeof t[i].text);
            t[i].text[maxlen] = '\0';
            /* A locale's decimal comma, back to the point the rest of caviar writes. */
            for (char *c = t[i].text; *c; c++)
                if (*c == ',')
                    *c = '.';
        }
        if (exact)
            break;
    }
}

static int tick_by_cell(const void *a, const void *b)
{
    const tick *x = a, *y = b;
    return (x->cell > y->cell) - (x->cell < y->cell);
}

/* Accepts value v as a y tick when it is on the axis and at least 2 rows from every other. */
static size_t y_tick_try(const axis *a, double v, tick *t, size_t n)
{
    int clip;
    if (n >= MAX_TICKS || !isfinite(v) || !axis_holds(a, v))
        return n;
    int row = a->cells - 1 - axis_dot(a, v, &clip) / a->per_cell;
    for (size_t i = 0; i < n; i++)
        if (abs(t[i].cell - row) < 2)
            return n;
    t[n].v = v;
    t[n].cell = row;
    return n + 1;
}

/* The labelled rows of a y axis, top first, at least two: on a log axis powers of ten first, then
 * 2 and 5 times them, then plain nice steps (for a range under a decade); the first come are
 * kept when two would crowd each other. */
static size_t y_ticks(const axis *a, tick *t)
{
    double cand[3 * MAX_TICKS];
    size_t n_cand = 0, n = 0;
    int target = a->cells / 3 < 2 ? 2 : a->cells / 3;
    if (a->log) {
        double k0 = ceil(a->lo), k1 = floor(a->hi);
        if (k1 >= k0) {
            int count = (int)(k1 - k0) + 1, stride = (count + target - 1) / target;
            for (int k = (int)k0; k <= (int)k1; k++)
                if (k % stride == 0 && n_cand < MAX_TICKS)
                    cand[n_cand++] = pow(10, k);
        }
        if (a->hi - a->lo < 3)
            for (int k = (int)floor(a->lo); k <= (int)floor(a->hi); k++) {
                cand[n_cand++] = 2 * pow(10, k);
                cand[n_cand++] = 5 * pow(10, k);
            }
        if (a->hi - a->lo < 1)
            n_cand = linear_ticks(pow(10, a->lo), pow(10, a->hi), target, cand, n_cand,
                                  sizeof cand / sizeof *cand);
    } else {
        n_cand = linear_ticks(a->lo, a->hi, target, cand, 0, MAX_TICKS);
    }
    for (size_t i = 0; i < n_cand; i++)
        n = y_tick_try(a, cand[i], t, n);
    if (n < 2) {
        /* The ends of the axis, exact whatever the range. */
        n = y_tick_try(a, a->log ? pow(10, a->hi) : a->hi, t, n);
        n = y_tick_try(a, a->log ? pow(10, a->lo) : a->lo, t, n);
    }
    qsort(t, n, sizeof *t, tick_by_cell);
    tick_labels(t, n, LABEL_MAX);
    return n;
}

/* The labelled columns of the x axis, left to right. A label is centred on its column, kept
 * within the line (`width` cells, the plot area starting at `left`), and left out when it would
 * touch the previous one. */
static size_t x_ticks(const axis *a, int left, int width, tick *t)
{
    double cand[MAX_TICKS];
    int target = a->cells / 8 < 2 ? 2 : a->cells / 8, clip;
    size_t n_cand = linear_ticks(a->lo, a->hi, target, cand, 0, MAX_TICKS), n = 0;
    if (n_cand == 0) {
        cand[n_cand++] = a->lo;
        cand[n_cand++] = a->hi;
    }
    for (size_t i = 0; i < n_cand; i++) {
        t[i].v = cand[i];
        t[i].cell = axis_dot(a, cand[i], &clip) / a->per_cell;
    }
    tick_labels(t, n_cand, XLABEL_MAX);
    int end = -1; /* the column after the last label kept */
    for (size_t i = 0; i < n_cand; i++) {
        int len = (int)strlen(t[i].text);
        int at = left + t[i].cell - (len - 1) / 2;
        if (at > width - len)
            at = width - len;
        if (at < 0)
            at = 0;
        if ((end >= 0 && at <= end) || len > width)
            continue;
        t[n] = t[i];
        t[n].at = at;
        end = at + len;
        n++;
    }
    return n;
}

/* ---- canvas ------------------------------------------------------------------------------- */

/* Braille dot bits by column (0, 1) and row from the top (0..3). */
static const unsigned char braille_bit[2][4] = {{0x01, 0x02, 0x04, 0x40}, {0x08, 0x10, 0x20, 0x80}};

/* Dot (dx, dy), dy from the bottom: in ASCII the cell takes the glyph; in braille the dot. */
static void canvas_dot(canvas *cv, int dx, int dy, char glyph)
{
    int col = dx / cv->px, row = cv->h - 1 - dy / cv->py;
    size_t i = (size_t)row * (size_t)cv->w + (size_t)col;
    if (cv->px == 1)
        cv->glyph[i] = glyph;
    else
        cv->dots[i] |= braille_bit[dx % 2][3 - dy % 4];
}

/* The glyph of the cell holding dot (dx, dy), in either mode. */
static void canvas_glyph(canvas *cv, int dx, int dy, char glyph)
{
    int col = dx / cv->px, row = cv->h - 1 - dy / cv->py;
    cv->glyph[(size_t)row * (size_t)cv->w + (size_t)col] = glyph;
}

/* A straight line of dots from (x0, y0) to (x1, y1), both ends included (Bresenham). */
static void canvas_line(canvas *cv, int x0, int y0, int x1, int y1, char glyph)
{
    int dx = abs(x1 - x0), sx = x0 < x1 ? 1 : -1;
    int dy = -abs(y1 - y0), sy = y0 < y1 ? 1 : -1;
    int err = dx + dy;
    for (;;) {
        canvas_dot(cv, x0, y0, glyph);
        if (x0 == x1 && y0 == y1)
            break;
        int e2 = 2 * err;
        if (e2 >= dy) {
            err += dy;
            x0 += sx;
        }
        if (e2 <= dx) {
            err += dx;
            y0 += sy;
        }
    }
}

enum { PASS_LINES, PASS_POINTS, PASS_LAST, PASS_CLIPPED };

/* One pass over series s (see the top of the file). A point is drawn when its x is finite and its
 * y is not NaN; a line joins two drawn points that are neighbours in the arrays, unless x goes
 * back (a rollback: the run went on from an earlier epoch), so that both stretches stay visible
 * instead of being tied by a line drawn backwards. */
static void draw_series(canvas *cv, const chart_series *s, char mark, const axis *ax,
                        const axis *ay, int pass)
{
    int have_prev = 0, prev_x = 0, prev_y = 0, last_x = -1, last_y = 0;
    double prev_value = 0;
    if (!s->x || !s->y)
        return;
    for (size_t i = 0; i < s->n; i++) {
        int clip_x, clip_y;
        if (!isfinite(s->x[i]) || isnan(s->y[i])) {
            have_prev = 0;
            continue;
        }
        int dx = axis_dot(ax, s->x[i], &clip_x), dy = axis_dot(ay, s->y[i], &clip_y);
        switch (pass) {
        case PASS_LINES:
            if (have_prev && s->x[i] >= prev_value)
                canvas_line(cv, prev_x, prev_y, dx, dy, mark);
            break;
        case PASS_POINTS: canvas_dot(cv, dx, dy, mark); break;
        case PASS_LAST:
            if (!clip_y) {
                last_x = dx;
                last_y = dy;
            }
            break;
        case PASS_CLIPPED:
            if (clip_y)
                canvas_glyph(cv, dx, dy, clip_y > 0 ? '^' : 'v');
            break;
        default: break;
        }
        have_prev = 1;
        prev_value = s->x[i];
        prev_x = dx;
        prev_y = dy;
    }
    if (pass == PASS_LAST && last_x >= 0)
        canvas_glyph(cv, last_x, last_y, mark);
}

/* ---- text --------------------------------------------------------------------------------- */

/* Copies at most max bytes of s into line at col, as printable ASCII; returns the count. */
static int put_text(char *line, int col, const char *s, int max)
{
    int n = 0;
    for (; s && s[n] && n < max; n++) {
        unsigned char c = (unsigned char)s[n];
        line[col + n] = c >= 0x20 && c < 0x7f ? (char)c : '?';
    }
    return n;
}

static char series_mark(const chart_series *s, size_t i)
{
    unsigned char m = (unsigned char)s->mark;
    return m > 0x20 && m < 0x7f ? (char)m : default_marks[i % (sizeof default_marks - 1)];
}

/* Lays out the legend in lines of `width` cells, at most max_lines of them, into out (max_lines
 * lines of `width` bytes, already blank) or nowhere when out is NULL; returns the lines used.
 * Entries are "<mark> <name>", " (right)" added for series on the right axis when there is one,
 * then the note on a log scale if it fits. */
static int legend(const chart_series *s, size_t n_series, int has_right, int log_left,
                  int width, int max_lines, char *out)
{
    char entry[CHART_MAX_WIDTH + 1];
    int line = 0, col = 0;
    if (n_series == 0) {
        if (out)
            put_text(out, 0, "(no data)", width);
        return 1;
    }
    for (size_t i = 0; i <= n_series; i++) {
        int len;
        if (i < n_series) {
            entry[0] = series_mark(&s[i], i);
            entry[1] = ' ';
            len = 2 + put_text(entry, 2, s[i].name, width - 2);
            if (has_right && s[i].axis == 1)
                len += put_text(entry, len, " (right)", width - len);
        } else if (log_left) {
            len = put_text(entry, 0, "left axis: log", width);
        } else {
            break;
        }
        int at = col ? col + LEGEND_SEP : 0;
        if (at + len > width) {
            if (i == n_series)
                break; /* the note is not worth a line */
            if (line + 1 >= max_lines) {
                /* Out of lines: say that entries are missing. */
                if (out) {
                    int dots = col + 4 <= width ? col + 1 : width - 3;
                    put_text(out + (size_t)line * (size_t)width, dots, "...", 3);
                }
                break;
            }
            line++;
            at = 0;
        }
        if (out)
            memcpy(out + (size_t)line * (size_t)width + at, entry, (size_t)len);
        col = at + len;
    }
    return line + 1;
}

/* Appends `width` cells to *p: line[], except the plot area's cells [left, left + cv->w) of row
 * `row` (when row >= 0), which come from the canvas. Then '\n'. */
static void emit(char **p, const char *line, int width, const canvas *cv, int left, int row)
{
    char *o = *p;
    for (int c = 0; c < width; c++) {
        if (row < 0 || c < left || c >= left + cv->w) {
            *o++ = line[c];
            continue;
        }
        size_t i = (size_t)row * (size_t)cv->w + (size_t)(c - left);
        if (cv->glyph[i]) {
            *o++ = cv->glyph[i];
        } else if (cv->dots[i]) {
            /* U+2800 + dots as UTF-8: 1110 0010, 10 1000dd, 10 dddddd */
            *o++ = (char)0xE2;
            *o++ = (char)(0xA0 | (cv->dots[i] >> 6));
            *o++ = (char)(0x80 | (cv->dots[i] & 0x3F));
        } else {
            *o++ = cv->vline[i] ? ':' : ' ';
        }
    }
    *o++ = '\n';
    *p = o;
}

/* ---- the chart ---------------------------------------------------------------------------- */

static int clamp_int(int v, int lo, int hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

char *chart_render(const chart_series *s, size_t n_series, const chart_opts *o)
{
    static const chart_opts defaults = {70, 16, 0, 0, NULL, 0, NULL};
    if (!o)
        o = &defaults;
    if (!s)
        n_series = 0;
    int width = clamp_int(o->width, CHART_MIN_WIDTH, CHART_MAX_WIDTH);
    int height = clamp_int(o->height, CHART_MIN_HEIGHT, CHART_MAX_HEIGHT);

    /* The ranges of the three axes, from the points that will be drawn. */
    range rx = {0, 0, 0, 1}, ry[2] = {{0, 0, 0, 1}, {0, 0, 0, 1}};
    int has_right = 0;
    for (size_t k = 0; k < n_series; k++) {
        int side = s[k].axis == 1;
        has_right |= side;
        for (size_t i = 0; s[k].x && s[k].y && i < s[k].n; i++) {
            if (!isfinite(s[k].x[i]) || isnan(s[k].y[i]))
                continue;
            range_add(&rx, s[k].x[i]);
            range_add(&ry[side], s[k].y[i]);
        }
    }
    int log_left = o->log_left && ry[0].n && ry[0].all_pos;

    /* Rows: title, plot, x axis, x labels, legend; the plot keeps CHART_MIN_PLOT_ROWS. */
    int has_title = o->title && o->title[0];
    if (height - 2 - CHART_MIN_PLOT_ROWS - has_title < 1)
        has_title = 0;
    int max_legend = height - 2 - CHART_MIN_PLOT_ROWS - has_title;
    int n_legend = legend(s, n_series, has_right, log_left, width, max_legend, NULL);
    int rows = height - has_title - 2 - n_legend;

    /* Y axes, whose labels set the margins; then the x axis across what is left. */
    int py = o->unicode ? 4 : 1, px = o->unicode ? 2 : 1;
    axis ay[2] = {{log_left, 0, 1, rows, py}, {0, 0, 1, rows, py}};
    tick ty[2][MAX_TICKS];
    size_t n_ty[2] = {0, 0};
    int label_w[2] = {0, 0};
    for (int side = 0; side <= has_right; side++) {
        /* Log: a constant gets +-0.1 decade; linear: +-10 %, or +-1 around 0. */
        if (ay[side].log)
            axis_range(&ay[side], &ry[side], 0, 0.1, 0.1);
        else
            axis_range(&ay[side], &ry[side], 0.1, 1e-300, 1);
        n_ty[side] = y_ticks(&ay[side], ty[side]);
        for (size_t i = 0; i < n_ty[side]; i++)
            if ((int)strlen(ty[side][i].text) > label_w[side])
                label_w[side] = (int)strlen(ty[side][i].text);
    }
    int left = label_w[0] + 2;
    int cols = width - left - (has_right ? label_w[1] + 2 : 0);
    axis ax = {0, 0, 1, cols, px};
    axis_range(&ax, &rx, 0.1, 0.5, 0.5);
    tick tx[MAX_TICKS];
    size_t n_tx = x_ticks(&ax, left, width, tx);

    /* One allocation for the canvas, a line being laid out and the legend. */
    size_t area = (size_t)rows * (size_t)cols;
    char *mem = calloc(3 * area + (size_t)width * (size_t)(1 + n_legend), 1);
    char *out = malloc((size_t)height * (3 * (size_t)width + 1) + 1);
    if (!mem || !out) {
        free(mem);
        free(out);
        return NULL;
    }
    canvas cv = {cols, rows, px, py, mem, (unsigned char *)mem + area,
                 (unsigned char *)mem + 2 * area};
    char *line = mem + 3 * area, *leg = line + width;

    for (size_t i = 0; o->vlines && i < o->n_vlines; i++) {
        int clip;
        if (!isfinite(o->vlines[i]) || !axis_holds(&ax, o->vlines[i]))
            continue;
        int col = axis_dot(&ax, o->vlines[i], &clip) / px;
        for (int r = 0; r < rows; r++)
            cv.vline[(size_t)r * (size_t)cols + (size_t)col] = 1;
    }
    for (int pass = PASS_LINES; pass <= PASS_CLIPPED; pass++) {
        if (pass == PASS_LAST && !o->unicode)
            continue;
        for (size_t k = 0; k < n_series; k++)
            draw_series(&cv, &s[k], series_mark(&s[k], k), &ax, &ay[has_right && s[k].axis == 1],
                        pass);
    }

    char *p = out;
    if (has_title) {
        memset(line, ' ', (size_t)width);
        int len = (int)strlen(o->title);
        put_text(line, len < width ? (width - len) / 2 : 0, o->title, width);
        emit(&p, line, width, &cv, 0, -1);
    }
    size_t next[2] = {0, 0}; /* the next y tick of each side, in row order */
    for (int r = 0; r < rows; r++) {
        memset(line, ' ', (size_t)width);
        line[left - 1] = '|';
        if (next[0] < n_ty[0] && ty[0][next[0]].cell == r) {
            const char *text = ty[0][next[0]++].text;
            put_text(line, label_w[0] - (int)strlen(text), text, LABEL_MAX);
            line[left - 1] = '+';
        }
        if (has_right) {
            line[left + cols] = '|';
            if (next[1] < n_ty[1] && ty[1][next[1]].cell == r) {
                put_text(line, left + cols + 2, ty[1][next[1]++].text, LABEL_MAX);
                line[left + cols] = '+';
            }
        }
        emit(&p, line, width, &cv, left, r);
    }
    memset(line, ' ', (size_t)width);
    memset(line + left, '-', (size_t)cols);
    line[left - 1] = '+';
    if (has_right)
        line[left + cols] = '+';
    for (size_t i = 0; i < n_tx; i++)
        line[left + tx[i].cell] = '+';
    emit(&p, line, width, &cv, 0, -1);
    memset(line, ' ', (size_t)width);
    for (size_t i = 0; i < n_tx; i++)
        put_text(line, tx[i].at, tx[i].text, XLABEL_MAX);
    emit(&p, line, width, &cv, 0, -1);
    memset(leg, ' ', (size_t)width * (size_t)n_legend);
    legend(s, n_series, has_right, log_left, width, n_legend, leg);
    for (int l = 0; l < n_legend; l++)
        emit(&p, leg + (size_t)l * (size_t)width, width, &cv, 0, -1);
    *p = '\0';
    free(mem);
    return out;
}
