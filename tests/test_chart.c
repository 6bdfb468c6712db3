/*
 * test_chart.c — chart_render (src/panda/chart.c), the learning-curve chart:
 *   - golden outputs of two tiny ASCII charts, worked out by hand (the derivation is written
 *     next to each, Bresenham steps included);
 *   - properties of bigger ones: line count and display width of every line, the maximum on the
 *     top plot row and the minimum on the bottom one (ASCII and braille), log scale spacing,
 *     NaN gaps, rollbacks, clipped infinities and their markers, a constant series, one point,
 *     no series, vertical markers, the right axis only when used, increasing tick labels, legend
 *     wrapping and clamped sizes, each series' mark present in braille mode, determinism;
 *   - a fixed-seed loop over thousands of random charts (NaN, infinities, huge and tiny values,
 *     random sizes, titles with any bytes) that must keep the shape and produce valid UTF-8.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "panda/chart.h"

/* ---- helpers ------------------------------------------------------------------------------ */

/* A rendered chart cut into lines (pointers into s, without the '\n'). */
typedef struct lines {
    char *s;
    int n;
    const char *at[CHART_MAX_HEIGHT + 1];
    int len[CHART_MAX_HEIGHT + 1]; /* bytes */
} lines;

static void lines_cut(lines *l, char *s)
{
    assert_non_null(s);
    l->s = s;
    l->n = 0;
    for (char *p = s; *p;) {
        char *nl = strchr(p, '\n');
        assert_non_null(nl); /* every line ends in '\n' */
        assert_true(l->n <= CHART_MAX_HEIGHT);
        l->at[l->n] = p;
        l->len[l->n] = (int)(nl - p);
        l->n++;
        p = nl + 1;
    }
}

static lines *render(const chart_series *s, size_t n, const chart_opts *o)
{
    lines *l = malloc(sizeof *l);
    assert_non_null(l);
    lines_cut(l, chart_render(s, n, o));
    return l;
}

static void lines_free(lines *l)
{
    free(l->s);
    free(l);
}

/* Display cells of a line: every byte but UTF-8 continuation bytes; checks that the only
 * multi-byte characters are braille (U+2800..U+28FF: E2 A0..A3 80..BF). */
static int cells(const char *p, int len)
{
    int n = 0;
    for (int i = 0; i < len; i++) {
        unsigned char c = (unsigned char)p[i];
        if (c >= 0x80) {
            assert_int_equal(c, 0xE2);
            assert_true(i + 2 < len);
            unsigned char c1 = (unsigned char)p[i + 1], c2 = (unsigned char)p[i + 2];
            assert_true(c1 >= 0xA0 && c1 <= 0xA3);
            assert_true(c2 >= 0x80 && c2 <= 0xBF);
            i += 2;
        } else {
            assert_true(c >= 0x20 && c < 0x7f);
        }
        n++;
    }
    return n;
}

static void check_shape(const lines *l, int width, int height)
{
    assert_int_equal(l->n, height);
    for (int i = 0; i < l->n; i++)
        assert_int_equal(cells(l->at[i], l->len[i]), width);
}

/* The cell at display column col of line i: its ASCII byte, or for braille 0x2800 + dots. */
static int cell(const lines *l, int i, int col)
{
    const unsigned char *p = (const unsigned char *)l->at[i];
    for (int b = 0, c = 0; b < l->len[i]; c++) {
        int code = p[b] < 0x80 ? p[b] : 0x2800 + ((p[b + 1] & 0x3) << 6) + (p[b + 2] & 0x3F);
        if (c == col)
            return code;
        b += p[b] < 0x80 ? 1 : 3;
    }
    fail_msg("line %d has no column %d", i, col);
    return -1;
}

/* The x axis line: spaces, then '+' and only '-' and '+' up to trailing spaces. */
static int is_axis_line(const lines *l, int i)
{
    int c = 0, len = l->len[i];
    const char *p = l->at[i];
    while (c < len && p[c] == ' ')
        c++;
    if (c + 1 >= len || p[c] != '+' || (p[c + 1] != '-' && p[c + 1] != '+'))
        return 0;
    while (c < len && (p[c] == '-' || p[c] == '+'))
        c++;
    while (c < len && p[c] == ' ')
        c++;
    return c == len;
}

/* Where the plot area is: rows [top, top + rows), columns [left, left + cols). */
typedef struct plot {
    int top, rows, left, cols;
} plot;

static plot find_plot(const lines *l, int has_title, int has_right)
{
    plot pl = {has_title, 0, 0, 0};
    int axis = -1;
    for (int i = 0; i < l->n && axis < 0; i++)
        if (is_axis_line(l, i))
            axis = i;
    assert_true(axis > pl.top);
    pl.rows = axis - pl.top;
    const char *p = l->at[axis];
    pl.left = (int)(strchr(p, '+') - p) + 1;
    int end = pl.left;
    while (end < l->len[axis] && (p[end] == '-' || p[end] == '+'))
        end++;
    pl.cols = end - pl.left - (has_right ? 1 : 0);
    return pl;
}

/* How many times glyph occurs in the plot area. */
static int count_in_plot(const lines *l, const plot *pl, int glyph)
{
    int n = 0;
    for (int r = pl->top; r < pl->top + pl->rows; r++)
        for (int c = pl->left; c < pl->left + pl->cols; c++)
            n += cell(l, r, c) == glyph;
    return n;
}

/* The plot column of x when the x axis spans [lo, hi] (the rule in chart.c). */
static int col_of(const plot *pl, double x, double lo, double hi)
{
    return (int)floor((x - lo) / (hi - lo) * (pl->cols - 1) + 0.5);
}

/* ---- golden outputs ----------------------------------------------------------------------- */

/*
 * 32 x 8, one series "up" through (0,0), (1,1), (2,2). Five plot rows (8 - axis - labels -
 * legend). Left axis [0, 2], ticks every 1 at rows 4, 2, 0; labels one character wide, so the
 * plot starts at column 3 and is 29 columns wide. X axis [0, 2], ticks every 0.5 at plot columns
 * 0, 7, 14, 21, 28; the labels centred there: "0" at 3, "0.5" at 9, "1" at 17, "1.5" at 23, "2"
 * at 31. The points are cells (0, row 4), (14, row 2), (28, row 0); Bresenham from (0,0) to
 * (14,2) (y up) steps to y = 1 at x = 4 and y = 2 at x = 11, and the second half is the same
 * shifted by (14, 2).
 */
static const char golden_line[] =
    "2 +                         ****\n"
    "  |                  *******    \n"
    "1 +           *******           \n"
    "  |    *******                  \n"
    "0 +****                         \n"
    "  ++------+------+------+------+\n"
    "   0     0.5     1     1.5     2\n"
    "* up                            \n";

/*
 * 32 x 8: "loss" ('o', left) through (0,1), (1,NaN), (2,3), (3,+Inf), (4,1); "acc" ('+', right)
 * from (0,0) to (4,1); markers at x = 1 and x = 5 (outside, not drawn). Left axis [1, 3] (the
 * +Inf does not count), ticks 1, 2, 3 at rows 4, 2, 0; right axis [0, 1], ticks 0, 0.5, 1 at rows
 * 4, 2, 0, labels 3 wide: plot columns 3..26, right axis at 27, its labels from 29. X axis
 * [0, 4] over 24 columns: x = 0..4 at plot columns 0, 6, 12, 17, 23 (5.75 and 17.25 round to 6
 * and 17, 11.5 up to 12). loss: (0,1) alone (its neighbour is NaN); a line (12,4)-(17,4) to the
 * clipped point, which gets '^'; (17,4)-(23,0) steps through (18,3) (19,3) (20,2) (21,1) (22,1).
 * acc, drawn after loss: (0,0)-(23,4) has y = 0 for x 0-2, 1 for 3-8, 2 for 9-14, 3 for 15-20,
 * 4 for 21-23, over loss's line at (18,3) and (19,3); points over lines, so acc's '+' at (0,0)
 * covers loss's 'o'. The marker at x = 1 is ':' in column 6 wherever no curve is.
 */
static const char golden_gaps[] =
    "3 +      :     ooooo^   ++++ 1  \n"
    "  |      :        ++++++   |    \n"
    "2 +      :  ++++++     o   + 0.5\n"
    "  |   ++++++            oo |    \n"
    "1 ++++   :                o+ 0  \n"
    "  ++-----+-----+----+-----++    \n"
    "   0     1     2    3     4     \n"
    "o loss   + acc (right)          \n";

static void test_golden(void **state)
{
    (void)state;
    const double x[] = {0, 1, 2}, y[] = {0, 1, 2};
    chart_series s = {"up", x, y, 3, '*', 0};
    chart_opts o = {32, 8, 0, 0, NULL, 0, NULL};
    char *out = chart_render(&s, 1, &o);
    assert_non_null(out);
    assert_string_equal(out, golden_line);
    free(out);

    const double lx[] = {0, 1, 2, 3, 4}, ly[] = {1, NAN, 3, INFINITY, 1};
    const double ax[] = {0, 4}, ay[] = {0, 1}, marks[] = {1, 5};
    chart_series two[] = {{"loss", lx, ly, 5, 'o', 0}, {"acc", ax, ay, 2, '+', 1}};
    chart_opts o2 = {32, 8, 0, 0, marks, 2, NULL};
    out = chart_render(two, 2, &o2);
    assert_non_null(out);
    assert_string_equal(out, golden_gaps);
    free(out);
}

/* ---- properties --------------------------------------------------------------------------- */

/* A learning curve of n epochs: train loss, dev loss, dev accuracy. */
typedef struct curves {
    double x[200], train[200], dev[200], acc[200];
    chart_series s[3];
} curves;

static void curves_init(curves *c, int n)
{
    for (int i = 0; i < n; i++) {
        c->x[i] = 0.5 * (i + 1);
        c->train[i] = 2.3 * exp(-0.05 * i) + 0.02;
        c->dev[i] = 2.3 * exp(-0.04 * i) + 0.15;
        c->acc[i] = 0.95 - 0.85 * exp(-0.06 * i);
    }
    c->s[0] = (chart_series){"train loss", c->x, c->train, (size_t)n, '*', 0};
    c->s[1] = (chart_series){"dev loss", c->x, c->dev, (size_t)n, 'o', 0};
    c->s[2] = (chart_series){"dev accuracy", c->x, c->acc, (size_t)n, '+', 1};
}

static void test_shape(void **state)
{
    (void)state;
    static curves c;
    curves_init(&c, 120);
    const double days[] = {10, 20, 30};
    const int sizes[][2] = {{70, 16}, {32, 6}, {120, 40}, {33, 7}, {200, 9}, {1000, 500}};
    for (size_t k = 0; k < sizeof sizes / sizeof *sizes; k++)
        for (int uni = 0; uni <= 1; uni++)
            for (int lg = 0; lg <= 1; lg++) {
                chart_opts o = {sizes[k][0], sizes[k][1], lg, uni, days, 3, "day 3 of 5"};
                lines *l = render(c.s, 3, &o);
                check_shape(l, sizes[k][0], sizes[k][1]);
                lines_free(l);
            }
    /* Below the minimums, and far above the maximums, sizes are clamped. */
    chart_opts small = {5, 2, 0, 1, NULL, 0, "t"};
    lines *l = render(c.s, 3, &small);
    check_shape(l, CHART_MIN_WIDTH, CHART_MIN_HEIGHT);
    lines_free(l);
    chart_opts neg = {-100, -1, 0, 0, NULL, 0, NULL};
    l = render(c.s, 3, &neg);
    check_shape(l, CHART_MIN_WIDTH, CHART_MIN_HEIGHT);
    lines_free(l);
    chart_opts huge = {1 << 30, 1 << 30, 0, 0, NULL, 0, NULL};
    l = render(c.s, 1, &huge);
    check_shape(l, CHART_MAX_WIDTH, CHART_MAX_HEIGHT);
    lines_free(l);
    /* NULL options: 70 x 16 ASCII. */
    l = render(c.s, 3, NULL);
    check_shape(l, 70, 16);
    lines_free(l);
    /* The same arguments give the same bytes. */
    chart_opts o = {70, 16, 1, 1, days, 3, "again"};
    char *a = chart_render(c.s, 3, &o), *b = chart_render(c.s, 3, &o);
    assert_non_null(a);
    assert_non_null(b);
    assert_string_equal(a, b);
    free(a);
    free(b);
}

/* The maximum lands on the top plot row and the minimum on the bottom one, at the column of
 * their x: in ASCII as the mark, in braille as a top dot (dots 1 and 4, bits 0x01 and 0x08) of
 * the top row and a bottom dot (dots 7 and 8, bits 0x40 and 0x80) of the bottom row. Points are
 * kept apart by NaN so that no line is drawn. */
static void test_extremes(void **state)
{
    (void)state;
    double x[41], y[41];
    for (int i = 0; i < 41; i++) {
        x[i] = i;
        y[i] = i % 2 ? NAN : exp(sin(0.37 * i) * (1 + 0.1 * i)); /* > 0: log applies */
    }
    int imax = 0, imin = 0;
    for (int i = 0; i < 41; i += 2) {
        if (y[i] > y[imax])
            imax = i;
        if (y[i] < y[imin])
            imin = i;
    }
    /* the last point shows the mark in braille; it is neither extreme here */
    assert_true(imax != 40 && imin != 40);
    chart_series s = {"wave", x, y, 41, '#', 0};
    for (int uni = 0; uni <= 1; uni++)
        for (int lg = 0; lg <= 1; lg++) {
            chart_opts o = {80, 20, lg, uni, NULL, 0, NULL};
            lines *l = render(&s, 1, &o);
            check_shape(l, 80, 20);
            plot pl = find_plot(l, 0, 0);
            assert_int_equal(pl.rows, 20 - 3);
            assert_int_equal(strstr(l->at[19], "left axis: log") != NULL, lg);
            /* the column: the dot of x, over the dots per cell (2 across in braille) */
            int per = uni ? 2 : 1, dots = pl.cols * per;
            int cmax = pl.left + (int)floor((double)imax / 40 * (dots - 1) + 0.5) / per;
            int cmin = pl.left + (int)floor((double)imin / 40 * (dots - 1) + 0.5) / per;
            int top = cell(l, pl.top, cmax), bottom = cell(l, pl.top + pl.rows - 1, cmin);
            if (!uni) {
                assert_int_equal(top, '#');
                assert_int_equal(bottom, '#');
                assert_int_equal(count_in_plot(l, &pl, '#'), 21);
                for (int c = pl.left; c < pl.left + pl.cols; c++)
                    if (c != cmax)
                        assert_int_not_equal(cell(l, pl.top, c), '#');
            } else {
                assert_true(top > 0x2800 && top <= 0x28FF && ((top - 0x2800) & 0x09));
                assert_true(bottom > 0x2800 && bottom <= 0x28FF && ((bottom - 0x2800) & 0xC0));
                assert_int_equal(count_in_plot(l, &pl, '#'), 1);
            }
            lines_free(l);
        }
}

/* 1, 10, 100 on a log axis with 11 plot rows: rows 10, 5, 0, each with its label. */
static void test_log_scale(void **state)
{
    (void)state;
    const double x[] = {0, 0.5, 1, 1.5, 2}, y[] = {1, NAN, 10, NAN, 100};
    chart_series s = {"loss", x, y, 5, '*', 0};
    chart_opts o = {60, 14, 1, 0, NULL, 0, NULL};
    lines *l = render(&s, 1, &o);
    check_shape(l, 60, 14);
    plot pl = find_plot(l, 0, 0);
    assert_int_equal(pl.rows, 11);
    int row_of[3];
    for (int k = 0; k < 3; k++) {
        int col = pl.left + col_of(&pl, k, 0, 2);
        row_of[k] = -1;
        for (int r = 0; r < pl.rows; r++)
            if (cell(l, r, col) == '*')
                row_of[k] = r;
    }
    assert_int_equal(row_of[0], 10);
    assert_int_equal(row_of[1], 5);
    assert_int_equal(row_of[2], 0);
    assert_memory_equal(l->at[0], "100 +", 5);
    assert_memory_equal(l->at[5], " 10 +", 5);
    assert_memory_equal(l->at[10], "  1 +", 5);
    assert_non_null(strstr(l->at[13], "left axis: log"));
    lines_free(l);

    /* The same data on a linear axis: 10 is near the bottom, not in the middle. */
    o.log_left = 0;
    l = render(&s, 1, &o);
    pl = find_plot(l, 0, 0);
    assert_int_equal(cell(l, 9, pl.left + col_of(&pl, 1, 0, 2)), '*');
    assert_null(strstr(l->at[13], "log"));
    lines_free(l);

    /* A value <= 0 keeps the axis linear even when log is asked for. */
    const double z[] = {0, NAN, 10, NAN, 100};
    chart_series sz = {"loss", x, z, 5, '*', 0};
    o.log_left = 1;
    l = render(&sz, 1, &o);
    check_shape(l, 60, 14);
    assert_null(strstr(l->at[13], "log"));
    lines_free(l);
}

/* NaN breaks the curve: no glyph strictly between the columns of the points around the gap. */
static void test_nan_gap(void **state)
{
    (void)state;
    double x[10], y[10];
    for (int i = 0; i < 10; i++) {
        x[i] = i;
        y[i] = i == 4 || i == 5 ? NAN : 10 - i;
    }
    for (int uni = 0; uni <= 1; uni++) {
        chart_series s = {"dev loss", x, y, 10, 'o', 0};
        chart_opts o = {50, 12, 0, uni, NULL, 0, NULL};
        lines *l = render(&s, 1, &o);
        check_shape(l, 50, 12);
        plot pl = find_plot(l, 0, 0);
        int c3 = col_of(&pl, 3, 0, 9), c6 = col_of(&pl, 6, 0, 9);
        assert_true(c6 - c3 > 4);
        for (int r = 0; r < pl.rows; r++) {
            for (int c = c3 + 1; c < c6; c++)
                assert_int_equal(cell(l, r, pl.left + c), ' ');
        }
        /* and the curve is there on both sides */
        int left_side = 0, right_side = 0;
        for (int r = 0; r < pl.rows; r++) {
            left_side += cell(l, r, pl.left + c3) != ' ';
            right_side += cell(l, r, pl.left + c6) != ' ';
        }
        assert_true(left_side > 0 && right_side > 0);
        lines_free(l);
    }
    /* All NaN: an empty plot, the legend still names the series. */
    double nan[3] = {NAN, NAN, NAN};
    chart_series s = {"nothing yet", x, nan, 3, 'o', 0};
    chart_opts o = {40, 10, 1, 0, NULL, 0, NULL};
    lines *l = render(&s, 1, &o);
    check_shape(l, 40, 10);
    plot pl = find_plot(l, 0, 0);
    assert_int_equal(count_in_plot(l, &pl, 'o'), 0);
    assert_memory_equal(l->at[9], "o nothing yet", 13);
    lines_free(l);
}

/* A rollback (x going back) breaks the curve: the stretch at y = 0 up to x = 3 and the one at
 * y = 2 from x = 1 again are not joined, so the rows in between stay empty. */
static void test_rollback(void **state)
{
    (void)state;
    const double x[] = {0, 1, 2, 3, 1, 2, 3}, y[] = {0, 0, 0, 0, 2, 2, 2};
    for (int uni = 0; uni <= 1; uni++) {
        chart_series s = {"loss", x, y, 7, '*', 0};
        chart_opts o = {40, 12, 0, uni, NULL, 0, NULL};
        lines *l = render(&s, 1, &o);
        check_shape(l, 40, 12);
        plot pl = find_plot(l, 0, 0);
        for (int r = 1; r < pl.rows - 1; r++)
            for (int c = pl.left; c < pl.left + pl.cols; c++)
                assert_int_equal(cell(l, r, c), ' ');
        assert_int_not_equal(cell(l, 0, pl.left + col_of(&pl, 2, 0, 3)), ' ');
        assert_int_not_equal(cell(l, pl.rows - 1, pl.left + col_of(&pl, 2, 0, 3)), ' ');
        lines_free(l);
    }
}

/* +Inf goes to the top edge with '^', -Inf to the bottom with 'v', and neither moves the scale:
 * the finite maximum is still on the top row. */
static void test_infinity(void **state)
{
    (void)state;
    const double x[] = {1, 2, 3, 4, 5, 6}, y[] = {2, 1.5, 1, INFINITY, 3, -INFINITY};
    for (int uni = 0; uni <= 1; uni++) {
        chart_series s = {"train loss", x, y, 6, '*', 0};
        chart_opts o = {60, 15, 1, uni, NULL, 0, NULL};
        lines *l = render(&s, 1, &o);
        check_shape(l, 60, 15);
        plot pl = find_plot(l, 0, 0);
        int c4 = pl.left + col_of(&pl, 4, 1, 6), c5 = pl.left + col_of(&pl, 5, 1, 6);
        int c6 = pl.left + col_of(&pl, 6, 1, 6);
        assert_int_equal(cell(l, pl.top, c4), '^');
        assert_int_equal(cell(l, pl.top + pl.rows - 1, c6), 'v');
        assert_int_equal(count_in_plot(l, &pl, '^'), 1);
        assert_int_equal(count_in_plot(l, &pl, 'v'), 1);
        if (!uni) {
            assert_int_equal(cell(l, pl.top, c5), '*'); /* 3, the finite max, on the top row */
            assert_int_equal(cell(l, pl.top + pl.rows - 1, pl.left + col_of(&pl, 3, 1, 6)), '*');
        }
        /* The labels stay within the finite values: [1, 3]. */
        int labels = 0;
        for (int r = pl.top; r < pl.top + pl.rows; r++)
            if (l->at[r][pl.left - 1] == '+') {
                double v = strtod(l->at[r], NULL);
                assert_true(v >= 1 && v <= 3);
                labels++;
            }
        assert_true(labels >= 2);
        lines_free(l);
    }
    /* Only infinities: a default scale, markers on the edges. */
    const double inf[] = {INFINITY, -INFINITY};
    chart_series s = {"diverged", x, inf, 2, '*', 0};
    chart_opts o = {40, 8, 0, 0, NULL, 0, NULL};
    lines *l = render(&s, 1, &o);
    check_shape(l, 40, 8);
    plot pl = find_plot(l, 0, 0);
    assert_int_equal(count_in_plot(l, &pl, '^'), 1);
    assert_int_equal(count_in_plot(l, &pl, 'v'), 1);
    lines_free(l);
}

/* A constant series and a single point sit in the middle row; a single point also in the middle
 * column. Huge constants too. */
static void test_degenerate(void **state)
{
    (void)state;
    const double x[] = {1, 2, 3, 4, 5};
    const double constants[] = {0.5, 0, -7, 1e300, -1e-300, 1.7976931348623157e308, 4.9e-324};
    for (size_t k = 0; k < sizeof constants / sizeof *constants; k++)
        for (int lg = 0; lg <= 1; lg++) {
            double y[5];
            for (int i = 0; i < 5; i++)
                y[i] = constants[k];
            chart_series s = {"flat", x, y, 5, '=', 0};
            chart_opts o = {40, 11, lg, 0, NULL, 0, NULL}; /* 8 plot rows */
            lines *l = render(&s, 1, &o);
            check_shape(l, 40, 11);
            plot pl = find_plot(l, 0, 0);
            assert_int_equal(pl.rows, 8);
            int n_row = 0, row = -1;
            for (int r = 0; r < pl.rows; r++)
                if (cell(l, r, pl.left) == '=') {
                    n_row++;
                    row = r;
                }
            assert_int_equal(n_row, 1);
            if (k < 5) /* padded symmetrically (the largest double cannot be) */
                assert_true(row == 3 || row == 4);
            assert_int_equal(count_in_plot(l, &pl, '='), pl.cols);
            lines_free(l);
        }
    const double px[] = {3}, py[] = {0.7};
    for (int uni = 0; uni <= 1; uni++) {
        chart_series s = {"one", px, py, 1, '@', 0};
        chart_opts o = {41, 10, 0, uni, NULL, 0, NULL}; /* 7 plot rows */
        lines *l = render(&s, 1, &o);
        check_shape(l, 41, 10);
        plot pl = find_plot(l, 0, 0);
        assert_int_equal(count_in_plot(l, &pl, '@'), 1);
        assert_int_equal(cell(l, 3, pl.left + col_of(&pl, 3, 2.5, 3.5)), '@'); /* x padded by 0.5 */
        lines_free(l);
    }
}

/* No series (n_series 0, or s NULL): axes over [0, 1], the title, "(no data)" as the legend. */
static void test_no_series(void **state)
{
    (void)state;
    const double days[] = {0.5};
    chart_opts o = {50, 10, 1, 1, days, 1, "waiting for day 1"};
    for (int null_s = 0; null_s <= 1; null_s++) {
        chart_series unused = {"x", NULL, NULL, 5, '*', 0};
        lines *l = render(null_s ? NULL : &unused, null_s ? 3 : 0, &o);
        check_shape(l, 50, 10);
        assert_non_null(strstr(l->at[0], "waiting for day 1"));
        assert_memory_equal(l->at[9], "(no data)", 9);
        lines_free(l);
    }
    /* x or y NULL with n > 0: named, nothing drawn. */
    chart_series empty = {"empty", NULL, NULL, 5, '*', 0};
    lines *l = render(&empty, 1, &o);
    check_shape(l, 50, 10);
    assert_memory_equal(l->at[9], "* empty", 7);
    lines_free(l);
}

/* Day boundaries: ':' down the whole plot where no curve is; outside the x range, not drawn. */
static void test_vlines(void **state)
{
    (void)state;
    const double x[] = {0, 1, 2, 3, 4}, y[] = {1, 1, 1, 1, 1};
    const double days[] = {2, 100, NAN, -INFINITY};
    chart_series s = {"flat", x, y, 5, '*', 0};
    chart_opts o = {50, 12, 0, 0, days, 4, NULL};
    lines *l = render(&s, 1, &o);
    check_shape(l, 50, 12);
    plot pl = find_plot(l, 0, 0);
    int c = pl.left + col_of(&pl, 2, 0, 4);
    int n_marker = count_in_plot(l, &pl, ':');
    assert_int_equal(n_marker, pl.rows - 1); /* one row is the curve */
    for (int r = 0; r < pl.rows; r++)
        assert_true(cell(l, r, c) == ':' || cell(l, r, c) == '*');
    lines_free(l);
    /* NULL markers with a count: nothing. */
    chart_opts none = {50, 12, 0, 0, NULL, 3, NULL};
    l = render(&s, 1, &none);
    pl = find_plot(l, 0, 0);
    assert_int_equal(count_in_plot(l, &pl, ':'), 0);
    lines_free(l);
}

/* The right axis (a column of '|' and '+' with labels after it) only when a series uses it. */
static void test_right_axis(void **state)
{
    (void)state;
    static curves c;
    curves_init(&c, 30);
    for (int used = 0; used <= 1; used++) {
        chart_opts o = {70, 16, 1, 0, NULL, 0, NULL};
        lines *l = render(c.s, used ? 3 : 2, &o);
        check_shape(l, 70, 16);
        plot pl = find_plot(l, 0, used);
        int axis = pl.top + pl.rows, end = l->len[axis];
        while (l->at[axis][end - 1] == ' ')
            end--;
        if (!used) {
            assert_int_equal(end, 70); /* the plot runs to the edge */
            assert_int_equal(pl.left + pl.cols, 70);
            assert_null(strstr(l->at[15], "(right)"));
            lines_free(l);
            continue;
        }
        int right = end - 1, labels = 0;
        assert_int_equal(right, pl.left + pl.cols);
        assert_true(right < 70 - 2);
        for (int r = pl.top; r < axis; r++) {
            char bar = l->at[r][right];
            assert_true(bar == '|' || bar == '+');
            if (bar == '+') {
                char *after;
                double v = strtod(l->at[r] + right + 1, &after);
                assert_true(after > l->at[r] + right + 1);
                assert_true(v >= 0 && v <= 1);
                labels++;
            }
        }
        assert_true(labels >= 2);
        assert_non_null(strstr(l->at[15], "+ dev accuracy (right)"));
        lines_free(l);
    }
}

/* Tick labels: numbers of at most 10 characters, decreasing down the axis, on rows at least
 * two apart, at least two of them; for narrow ranges far from 0 and for log axes over less than
 * a decade up to hundreds of decades (where 2x and 5x candidates would crowd the rows). */
static void test_labels(void **state)
{
    (void)state;
    const struct {
        double lo, hi;
        int log, height;
    } cases[] = {
        {100, 101, 0, 20},      {0.1234, 0.5678, 0, 20},   {1e-7, 3e-7, 0, 20},
        {-5, 5, 0, 20},         {1000, 1000.5, 0, 20},     {1e12, 1.0001e12, 0, 20},
        {-1e308, 1e308, 0, 20}, {0.1, 10, 1, 12},          {0.1, 10, 1, 40},
        {0.3, 0.7, 1, 16},      {1e-300, 1e300, 1, 16},    {0.02, 2.5, 1, 9},
    };
    for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
        const double x[] = {0, 1}, y[] = {cases[k].lo, cases[k].hi};
        chart_series s = {"v", x, y, 2, '*', 0};
        chart_opts o = {60, cases[k].height, cases[k].log, 0, NULL, 0, NULL};
        lines *l = render(&s, 1, &o);
        check_shape(l, 60, cases[k].height);
        plot pl = find_plot(l, 0, 0);
        double prev = INFINITY;
        int n = 0, prev_row = -2;
        for (int r = 0; r < pl.rows; r++) {
            if (l->at[r][pl.left - 1] != '+')
                continue;
            char *end;
            double v = strtod(l->at[r], &end);
            assert_true(end > l->at[r]);
            assert_true(end - l->at[r] <= 11); /* " " + at most 10 characters */
            assert_true(*end == ' ');
            assert_true(v < prev);
            assert_true(r - prev_row >= 2);
            prev = v;
            prev_row = r;
            n++;
        }
        assert_true(n >= 2);
        lines_free(l);
    }
}

/* A legend too long for one line wraps; too long for the room left, it ends in "...". */
static void test_legend(void **state)
{
    (void)state;
    const double x[] = {0, 1}, y[] = {0, 1};
    chart_series s[8];
    const char *names[] = {"train loss", "dev loss", "dev accuracy", "lr",
                           "a rather long name for a series", "grad norm", "weight norm",
                           "caf\xc3\xa9\ttab"};
    for (int i = 0; i < 8; i++)
        s[i] = (chart_series){names[i], x, y, 2, 0, i % 2};
    chart_opts o = {40, 14, 0, 0, NULL, 0, "legend"};
    lines *l = render(s, 8, &o);
    check_shape(l, 40, 14);
    plot pl = find_plot(l, 1, 1);
    int legend_lines = 14 - pl.top - pl.rows - 2;
    assert_true(legend_lines >= 3);
    assert_memory_equal(l->at[pl.top + pl.rows + 2], "* train loss", 12);
    assert_non_null(strstr(l->s, "& caf???tab (right)")); /* bytes other than ASCII as '?' */
    lines_free(l);

    o.height = 8; /* room for one legend line only */
    l = render(s, 8, &o);
    check_shape(l, 40, 8);
    assert_non_null(strstr(l->at[7], "..."));
    lines_free(l);
    /* 6 rows: no room for the title either; the plot keeps its rows. */
    o.height = 6;
    l = render(s, 8, &o);
    check_shape(l, 40, 6);
    assert_null(strstr(l->s, "legend"));
    plot small = find_plot(l, 0, 1);
    assert_int_equal(small.rows, CHART_MIN_PLOT_ROWS);
    lines_free(l);
}

/* Braille mode: every series' mark is somewhere in the plot (at its last point). */
static void test_unicode_marks(void **state)
{
    (void)state;
    static curves c;
    curves_init(&c, 60);
    const double days[] = {10, 20};
    chart_opts o = {70, 16, 1, 1, days, 2, "day 2"};
    lines *l = render(c.s, 3, &o);
    check_shape(l, 70, 16);
    plot pl = find_plot(l, 1, 1);
    assert_int_equal(count_in_plot(l, &pl, '*'), 1);
    assert_int_equal(count_in_plot(l, &pl, 'o'), 1);
    assert_int_equal(count_in_plot(l, &pl, '+'), 1);
    int braille = 0;
    for (int r = pl.top; r < pl.top + pl.rows; r++)
        for (int k = pl.left; k < pl.left + pl.cols; k++)
            braille += cell(l, r, k) > 0x2800;
    assert_true(braille > 50);
    /* the marks sit in the last column: the curves end at the right edge */
    int last = pl.left + pl.cols - 1, found = 0;
    for (int r = pl.top; r < pl.top + pl.rows; r++)
        found += cell(l, r, last) == '*' || cell(l, r, last) == 'o' || cell(l, r, last) == '+';
    assert_true(found >= 1);
    lines_free(l);
}

/* ---- random charts ------------------------------------------------------------------------ */

static uint64_t rng_next(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static double rng_value(uint64_t *s)
{
    static const double special[] = {NAN, INFINITY, -INFINITY, 0, -0.0, 1e308, -1e308,
                                     1.7976931348623157e308, 4.9e-324, -4.9e-324, 1e-310, 1};
    uint64_t r = rng_next(s);
    switch (r % 8) {
    case 0: return special[(r >> 8) % (sizeof special / sizeof *special)];
    case 1: {
        /* any bit pattern */
        double d;
        uint64_t bits = rng_next(s);
        memcpy(&d, &bits, sizeof d);
        return d;
    }
    case 2: return (double)(int64_t)(rng_next(s) % 2001) - 1000;
    default: return ((double)(rng_next(s) >> 11) / 9007199254740992.0 - 0.3) *
                    pow(10, (double)((r >> 8) % 13) - 6);
    }
}

static void test_random(void **state)
{
    (void)state;
    uint64_t seed = 20240611;
    for (int iter = 0; iter < 4000; iter++) {
        double xs[4][64], ys[4][64], vl[6];
        char names[4][24];
        char title[24];
        chart_series s[4];
        size_t n_series = rng_next(&seed) % 5;
        for (size_t k = 0; k < n_series; k++) {
            size_t n = rng_next(&seed) % 65;
            int sorted = rng_next(&seed) % 4 != 0;
            double x = 0;
            for (size_t i = 0; i < n; i++) {
                if (sorted) {
                    double step = (double)(rng_next(&seed) % 5) / 4; /* 0 repeats an x */
                    x = i == 0 ? (double)(rng_next(&seed) % 10) : x + step;
                    xs[k][i] = rng_next(&seed) % 16 == 0 ? rng_value(&seed) : x;
                } else {
                    xs[k][i] = rng_value(&seed);
                }
                ys[k][i] = rng_value(&seed);
            }
            for (size_t i = 0; i < sizeof names[k] - 1; i++)
                names[k][i] = (char)(rng_next(&seed) % 255 + 1);
            names[k][rng_next(&seed) % sizeof names[k]] = '\0';
            names[k][sizeof names[k] - 1] = '\0';
            s[k] = (chart_series){rng_next(&seed) % 5 ? names[k] : NULL, xs[k], ys[k], n,
                                  (char)(rng_next(&seed) % 256), (int)(rng_next(&seed) % 4) - 1};
        }
        size_t n_vl = rng_next(&seed) % 7;
        for (size_t i = 0; i < n_vl; i++)
            vl[i] = rng_next(&seed) % 2 ? (double)(rng_next(&seed) % 40) / 2 : rng_value(&seed);
        for (size_t i = 0; i < sizeof title - 1; i++)
            title[i] = (char)(rng_next(&seed) % 255 + 1);
        title[rng_next(&seed) % sizeof title] = '\0';
        title[sizeof title - 1] = '\0';
        int width = (int)(rng_next(&seed) % 180) - 10, height = (int)(rng_next(&seed) % 50) - 5;
        chart_opts o = {width, height, (int)(rng_next(&seed) % 2), (int)(rng_next(&seed) % 2),
                        n_vl ? vl : NULL, n_vl, rng_next(&seed) % 3 ? title : NULL};
        lines *l = render(s, n_series, &o);
        int w = width < CHART_MIN_WIDTH ? CHART_MIN_WIDTH : width;
        int h = height < CHART_MIN_HEIGHT ? CHART_MIN_HEIGHT : height;
        check_shape(l, w, h);
        lines_free(l);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_golden),      cmocka_unit_test(test_shape),
        cmocka_unit_test(test_extremes),    cmocka_unit_test(test_log_scale),
        cmocka_unit_test(test_nan_gap),     cmocka_unit_test(test_rollback),
        cmocka_unit_test(test_infinity),
        cmocka_unit_test(test_degenerate),  cmocka_unit_test(test_no_series),
        cmocka_unit_test(test_vlines),      cmocka_unit_test(test_right_axis),
        cmocka_unit_test(test_labels),      cmocka_unit_test(test_legend),
        cmocka_unit_test(test_unicode_marks), cmocka_unit_test(test_random),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
