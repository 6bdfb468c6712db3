/*
 * chart.h — the learning-curve chart of panda: a few (x, y) series drawn as a block of text for
 * a terminal, e.g. training loss and dev loss per epoch on the left axis and dev accuracy on the
 * right, with the day boundaries as vertical markers. A pure function: it reads its arguments,
 * writes one new string, and does no other I/O.
 *
 * The block is `height` lines of exactly `width` display cells each: a title when given and
 * there is room, the plot rows (left axis labels, the plot, the right axis and its labels), the
 * x axis with its labels, and the legend. 64 x 12, ASCII, log_left, markers at epochs 3 and 6:
 *
 *                                day 3
 *     2 +****              :                :  ++++++++++++++++|
 *       |    **o*o*ooooo   :        +++++++++++                |
 *     1 +          ******ooooo++++++        :                  + 0.8
 *       |               +*++*+**ooooooooooooooo            oooo|
 *       |           ++++   :    *******   **:  oooooooooooo    |
 *   0.2 +         ++       :           ***  *** *****          + 0.6
 *       |       ++         :                :  *     *******   |
 *   0.1 +      +           :                :               ***|
 *       ++-----------+-----------+----------+-----------+------+
 *        0           2           4          6           8
 *   * train loss   o dev loss   + dev accuracy (right)
 *
 * The legend wraps onto more lines when it must, as long as the plot keeps at least
 * CHART_MIN_PLOT_ROWS rows, and ends in "..." when entries had to be left out; the note on a
 * log scale ("left axis: log", after the entries) is shown only if it fits on their last line.
 *
 * Scales. Each axis spans exactly the finite values drawn on it: a point at the maximum lands on
 * the top plot row and one at the minimum on the bottom plot row. A range of one value (a single
 * point, a constant series) is padded on both sides, and an axis without any finite value gets
 * [0, 1]. The left axis is logarithmic when log_left is set and every finite value on it is > 0;
 * otherwise it is linear. The right axis is drawn only when some series has axis == 1 and is
 * always linear. The x axis spans the x of every drawn point (vertical markers outside it are
 * not drawn). Ticks are at multiples of 1, 2 or 5 x 10^k (on a log axis powers of ten first),
 * thinned so that labels do not crowd; labels are %.3g with a short exponent ("1e-7", "2.5e12"),
 * integers below a million in full, and get up to 6 digits only when %.3g would misstate a tick
 * ("100.5", not "100"). Labels on the y axes are at most 10 characters.
 *
 * Points. A NaN y (or a non-finite x) is a gap: the curve is broken there. An infinite y is
 * clipped to the top (+Inf, marked '^') or bottom (-Inf, marked 'v') edge, and never widens the
 * range, so a diverged loss leaves the scale of the rest alone. Consecutive drawn points are
 * joined by straight lines, except where x goes back: a series that continues from an earlier
 * epoch after a rollback shows both stretches, not a line drawn backwards between them. Each
 * line costs at most the plot's width plus height in dots: thousands of points are cheap.
 *
 * Glyphs. In ASCII mode (unicode == 0) each series is drawn with its `mark` (a missing or
 * unprintable mark becomes one of "*o+x#%@&" by position), lines first and points over them,
 * later series over earlier ones. In Unicode mode the curves are braille dots, 2 x 4 per cell,
 * all series in the same dots (no colours here); to tell them apart, the cell of each series'
 * last finite point shows its ASCII mark, the glyph the legend shows. In both modes vertical
 * markers are ':' behind everything, and the markers of clipped points ('^', 'v') are drawn over
 * everything. Braille cells are 3 bytes of UTF-8 and one display cell; everything else is ASCII.
 * Names and the title are shown as ASCII: other bytes are shown as '?'. The axis of a series is
 * the right one only for axis == 1; any other value means the left one.
 *
 * Output is deterministic: the same arguments give the same bytes. Numbers are formatted with
 * snprintf, so the process is expected to run in the "C" LC_NUMERIC locale (caviar never calls
 * setlocale); a ',' decimal point is turned back into '.'.
 */
#ifndef CAVIAR_PANDA_CHART_H
#define CAVIAR_PANDA_CHART_H

#include <stddef.h>

/* Sizes are clamped to these (in cells); a smaller width or height gives a bigger chart. */
#define CHART_MIN_WIDTH 32
#define CHART_MAX_WIDTH 1000
#define CHART_MIN_HEIGHT 6
#define CHART_MAX_HEIGHT 500
#define CHART_MIN_PLOT_ROWS 3 /* the legend and title give way before the plot goes below this */

/* One curve. The arrays are borrowed for the duration of chart_render(); x or y NULL with
 * n > 0 is drawn as an empty series (named in the legend). */
typedef struct chart_series {
    const char *name;      /* legend text, e.g. "train loss" */
    const double *x;       /* n points, x increasing (epochs, may be fractional); NaN y = gap */
    const double *y;
    size_t n;
    char mark;             /* glyph used in ASCII mode, e.g. '*', 'o', '+' */
    int axis;              /* 0: left axis, 1: right axis (e.g. loss left, accuracy right) */
} chart_series;

/* Options; chart_render() accepts NULL for a 70 x 16 ASCII chart without markers or title. */
typedef struct chart_opts {
    int width, height;     /* whole chart in character cells, axes and legend included; sensible minimums enforced */
    int log_left;          /* left axis on a log scale (losses) when all its values > 0 */
    int unicode;           /* 1: Unicode braille dots (2x4 per cell) for resolution; 0: plain ASCII marks */
    const double *vlines;  /* x positions of vertical markers (day boundaries), may be NULL */
    size_t n_vlines;
    const char *title;     /* may be NULL */
} chart_opts;

/* s: n_series curves (NULL: none); o: NULL for the defaults. The caller frees the result. */
/* Renders into a malloc'd NUL-terminated string of `height` lines (each ending in '\n'); NULL when out of memory. */
char *chart_render(const chart_series *s, size_t n_series, const chart_opts *o);

#endif
