/*
 * report_page.js — the page of a caviar report: builds every chart and the table of trials from
 * the study's JSON (the <script id="caviar-data"> block that src/report/html.c writes; its keys
 * are described there). Embedded into every report by the build, after Apache ECharts.
 *
 * Every chart is an ECharts option built here from the data: no drawing code of our own. Large
 * studies stay usable: series with more than LARGE items use ECharts' large mode (one path
 * for many points or lines, drawn in chunks: progressive rendering), animation is off for
 * them, and the learning curves arrive thinned (see html.c).
 *
 * Self-check: when every chart has finished drawing, the page writes into the hidden
 * check block (pre#caviar-check) what each chart holds, read back from ECharts (getOption): its
 * series with their types, names and counts of items and points, whether a canvas exists, and
 * the table's rows; and any script error. tests/test_report.sh reads it from the DOM that
 * headless Chromium dumps.
 *
 * The table reads its starting state from the address's fragment: #state=pruned&sort=value&
 * desc=1&q=text (a link to a view; the tests use it too).
 *
 * The same script draws the pages of caviar dashboard (src/report/dashboard.c). There the page
 * holds no data but a <script id="caviar-live"> block saying where to fetch it (mode "study":
 * /api/study/NAME, mode "index": /api/studies) and how often to look again; the page redraws
 * when the answer changes (the server answers 304 to the ETag it holds otherwise), keeping the
 * reader's zoom, legend selection, table state, focus and scroll. The self-check then also
 * says how many times the page was drawn (check.live) and, for the index, which studies it
 * lists (check.index).
 */
(function () {
  'use strict';

  var LARGE = 2000;            /* items from which a series uses ECharts' large mode */
  var PAGE_ROWS = 100;         /* table rows per page */
  var STATES = ['waiting', 'running', 'complete', 'pruned', 'fail'];
  var STATE_COLOR = {complete: '#4c78a8', pruned: '#f28e2b', fail: '#d62728',
                     running: '#59a14f', waiting: '#9aa5b1'};
  var VIRIDIS = ['#440154', '#3b528b', '#21918c', '#5ec962', '#fde725'];

  var check = {charts: {}, table: null, errors: [], done: false};
  var charts = [];
  var pending = 0;

  function writeCheck() {
    var pre = document.getElementById('caviar-check');
    if (pre) pre.textContent = JSON.stringify(check);
  }
  window.addEventListener('error', function (e) {
    check.errors.push(String(e.message || e) + (e.error && e.error.stack ?
      ' at ' + String(e.error.stack).split('\n').slice(1, 3).join(' ').replace(/\s+/g, ' ') : ''));
    writeCheck();
  });

  /* ---- small helpers, of the report's page and the live pages --------------------------- */

  function el(tag, attrs, children) {
    var e = document.createElement(tag);
    if (attrs) for (var k in attrs) {
      if (k === 'text') e.textContent = attrs[k];
      else if (k === 'className') e.className = attrs[k];
      else e.setAttribute(k, attrs[k]);
    }
    (children || []).forEach(function (c) {
      if (c != null) e.appendChild(typeof c === 'string' ? document.createTextNode(c) : c);
    });
    return e;
  }
  function count(n) { return Number(n).toLocaleString('en-US'); }
  function fmt(v) {
    if (v == null || !isFinite(v)) return '–';
    if (Number.isInteger(v) && Math.abs(v) < 1e15) return String(v);
    var a = Math.abs(v);
    if (a !== 0 && (a < 1e-3 || a >= 1e6)) return v.toExponential(3).replace(/\.?0+e/, 'e');
    return String(Number(v.toPrecision(6)));
  }

  /* ---- the reader's view, kept across live redraws ----------------------------------------- */

  /* Per chart (by id) its zoom and legend selection, and the table's state: a live page
   * redraws everything from new data, and the reader must not lose their place. A zoomed
   * chart with one x and one y axis (the learning curves, the history) keeps the very window
   * it shows, in values (so that new trials do not shift it), read from ECharts' model (the
   * scroll-wheel zoom and the toolbox's box zoom alike; getModel is not public API, so on any
   * failure only the zoom percentages are kept); a window that reaches the right end keeps
   * following new data. The toolbox's restore button gives the chart its whole range back. */
  var view = {charts: {}, table: null};
  var resetView = {};     /* charts whose restore button was pressed: forget their view */
  var redrawLast = null;  /* live: draws the last data again */
  /* (A log axis's scale gives its extent in values too, not in exponents.) */
  function axisWindow(m, dim) {
    return m.getComponent(dim + 'Axis', 0).axis.scale.getExtent().slice();
  }
  function saveView() {
    charts.forEach(function (c) {
      var id = c.getDom().id, opt = c.getOption(), v = {};
      if (resetView[id]) {
        delete resetView[id];
        delete view.charts[id];
        return;
      }
      if (opt.dataZoom && opt.dataZoom.length)
        v.zoom = opt.dataZoom.map(function (z) { return {start: z.start, end: z.end}; });
      if (opt.legend && opt.legend[0] && opt.legend[0].selected)
        v.selected = opt.legend[0].selected;
      try {
        if (opt.xAxis && opt.xAxis.length === 1 && opt.yAxis && opt.yAxis.length === 1) {
          var m = c.getModel(), zx = false, zy = false, follow = true;
          m.eachComponent('dataZoom', function (dz) {
            var o = dz.option;
            var part = o.startValue != null || o.endValue != null || o.start > 0 || o.end < 100;
            if (!part) return;
            if (/yAxis/.test(String(dz.id))) zy = true;
            else {
              zx = true;
              if (o.endValue != null || o.end < 100) follow = false;
            }
          });
          if (zx) v.x = {window: axisWindow(m, 'x'), follow: follow};
          if (zy) v.y = axisWindow(m, 'y');
        }
      } catch (e) { /* the percentages only */ }
      view.charts[id] = v;
    });
  }
  function restoreView(id, option) {
    var v = view.charts[id];
    if (!v) return;
    if ((v.x || v.y) && option.xAxis && option.yAxis && !Array.isArray(option.xAxis)) {
      if (v.x) {
        option.xAxis.min = v.x.window[0];
        if (!v.x.follow) option.xAxis.max = v.x.window[1];
      }
      if (v.y) {
        option.yAxis.min = v.y[0];
        option.yAxis.max = v.y[1];
      }
    } else if (v.zoom && option.dataZoom) {
      [].concat(option.dataZoom).forEach(function (z, k) {
        if (v.zoom[k] && v.zoom[k].start != null) { z.start = v.zoom[k].start; z.end = v.zoom[k].end; }
      });
    }
    if (v.selected && option.legend && !Array.isArray(option.legend))
      option.legend.selected = v.selected;
  }
  window.addEventListener('resize', function () {
    charts.forEach(function (c) { c.resize(); });
  });

  /* Draws the whole page from the study's JSON into #app (again on every change when live:
   * the reader's view is kept, see view). */
  var typingTimer = null;  /* the table's filter, typed but not yet applied */
  function render(data, live) {
    clearTimeout(typingTimer);
    charts.forEach(function (c) { c.dispose(); });
    charts = [];
    pending = 0;
    check.charts = {};
    check.table = null;
    check.done = false;
    document.getElementById('app').textContent = '';
    var minimize = data.study.direction !== 'maximize';
    var params = data.params;
    var trials = data.trials;
    var nTrials = trials.number.length;
    var rowOf = {};                    /* trial number -> index in the columns */
    for (var i = 0; i < nTrials; i++) rowOf[trials.number[i]] = i;
    var bestTrial = data.study.best ? data.study.best.trial : null;

    /* ---- small helpers ---------------------------------------------------------------------- */

    /* el, count and fmt: above render (the live pages use them too). */
    /* A value near 1 on the one-minus-log scale: enough digits to show how near. */
    function fmtNear1(v) {
      if (v == null || !isFinite(v)) return '–';
      var t = 1 - v;
      if (!(t > 0)) return fmt(v);
      var digits = Math.max(1, Math.ceil(-Math.log10(t) - 1e-9));
      return String(Number(v.toFixed(Math.min(digits + 2, 15))));
    }
    /* A parameter's value as people read it: the choice, the integer, the number. */
    function paramText(p, x) {
      if (x == null) return '';
      if (p.kind === 'categorical') return p.choices[x] != null ? p.choices[x] : '?';
      if (p.axis === 'one-minus-log') return fmtNear1(x);
      return fmt(x);
    }
    /* A share or a score for display: rounding noise (1e-32) shows as 0. */
    function share(x, digits) { return Math.abs(x) < 5e-5 ? 0 : Number(x.toPrecision(digits)); }
    function stateName(s) { return STATES[s] || '?'; }
    function better(a, b) { return minimize ? a < b : a > b; }
    function isBest(n) { return n === bestTrial; }

    /* Whether values (all finite) should go on a log axis: all positive, two decades apart. */
    function wantsLog(values) {
      var lo = Infinity, hi = -Infinity;
      for (var i = 0; i < values.length; i++) {
        var v = values[i];
        if (!(v > 0)) return false;
        if (v < lo) lo = v;
        if (v > hi) hi = v;
      }
      return values.length > 1 && hi >= 100 * lo;
    }

    /* The colour range of values: the best end in full, the worst 5 % clipped so that a few
     * disasters do not wash out the differences that matter. */
    function colorRange(values) {
      var v = values.filter(function (x) { return x != null && isFinite(x); })
                    .sort(function (a, b) { return a - b; });
      if (!v.length) return [0, 1];
      var lo = v[0], hi = v[v.length - 1];
      var cut = v[Math.floor(0.95 * (v.length - 1))], cutLo = v[Math.ceil(0.05 * (v.length - 1))];
      if (minimize) hi = cut; else lo = cutLo;
      if (hi <= lo) hi = lo + (Math.abs(lo) || 1) * 1e-6;
      return [lo, hi];
    }
    /* Colours from worst to best mapped onto min..max. */
    function valueColors() { return minimize ? VIRIDIS.slice().reverse() : VIRIDIS.slice(); }

    /* An axis range that covers [lo, hi] (the search range) and every value drawn on it (a
     * quantised value may lie up to q/2 outside the bounds). */
    function span(a, lo, hi) {
      a.min = function (e) { return Math.min(e.min, lo); };
      a.max = function (e) { return Math.max(e.max, hi); };
    }
    /* The axis of a parameter on its own scale (x or y of a cartesian chart, or parallel). */
    function paramAxis(p, extra) {
      var a = {name: p.name, nameLocation: 'middle', nameGap: 28};
      if (p.axis === 'category') {
        a.type = 'category';
        a.data = p.choices.slice();
      } else if (p.axis === 'log') {
        a.type = 'log';
        a.name = p.name + ' (log)';
        if (p.low != null) span(a, p.low, p.high);
        a.axisLabel = {formatter: function (v) { return fmt(v); }};
      } else if (p.axis === 'one-minus-log') {
        /* 1 - v on a log axis, reversed so that v grows to the right (or up); the ticks show v. */
        a.type = 'log';
        a.inverse = true;
        a.name = p.name + ' (one-minus-log: 1 − v on a log axis)';
        if (p.low != null) span(a, 1 - p.high, 1 - p.low);
        a.axisLabel = {formatter: function (t) { return fmtNear1(1 - t); }};
      } else {
        a.type = 'value';
        a.scale = true;
        if (p.low != null) span(a, p.low, p.high);
        a.axisLabel = {formatter: function (v) { return fmt(v); }};
      }
      for (var k in extra || {}) a[k] = extra[k];
      return a;
    }
    /* Where an internal value goes on that axis. */
    function paramCoord(p, x) {
      if (x == null) return null;
      if (p.axis === 'one-minus-log') return 1 - x;
      return x;
    }

    /* An item of a 'lines' series with polyline: ECharts draws a polyline of two points or
     * more, so a curve of one point (a trial pruned at its first report) repeats it; the
     * self-check counts it once. */
    function polyline(coords, extra) {
      var item = {coords: coords.length === 1 ? [coords[0], coords[0]] : coords};
      if (coords.length === 1) item.single = true;
      for (var k in extra || {}) item[k] = extra[k];
      return item;
    }

    /* ECharts sizes an axis from the series that hold x and y values, which 'lines' series do
     * not: a chart of lines gets this invisible series holding the corners of their extent, so
     * that its axes span every line and keep ECharts' own rounded ticks. The self-check names it
     * "(extent)". */
    function extentSeries(items, logY, axes) {
      var x0 = Infinity, x1 = -Infinity, y0 = Infinity, y1 = -Infinity;
      items.forEach(function (it) {
        it.coords.forEach(function (c) {
          if (c[0] < x0) x0 = c[0];
          if (c[0] > x1) x1 = c[0];
          if (c[1] < y0 && (!logY || c[1] > 0)) y0 = c[1];
          if (c[1] > y1) y1 = c[1];
        });
      });
      var sr = {type: 'scatter', name: '(extent)', symbolSize: 0, silent: true,
                tooltip: {show: false}, data: x0 <= x1 && y0 <= y1 ? [[x0, y0], [x1, y1]] : []};
      if (axes) { sr.xAxisIndex = axes; sr.yAxisIndex = axes; }
      return sr;
    }
    function legendOf(series) {
      return series.map(function (x) { return x.name; })
                   .filter(function (n) { return n && n.charAt(0) !== '('; });
    }

    /* ---- charts and the self-check ---------------------------------------------------------- */

    function summarize(id, chart) {
      var opt = chart.getOption();
      var out = {finished: true, canvas: !!chart.getDom().querySelector('canvas'), series: []};
      (opt.series || []).forEach(function (s) {
        var d = s.data || [];
        var item = {type: s.type, name: s.name == null ? '' : String(s.name), n: d.length};
        if (s.type === 'lines') {
          var pts = 0;
          for (var i = 0; i < d.length; i++)
            pts += d[i].single ? 1 : d[i].coords ? d[i].coords.length : 0;
          item.points = pts;
        }
        if (s.markArea && s.markArea.data) item.areas = s.markArea.data.length;
        out.series.push(item);
      });
      check.charts[id] = out;
    }

    /* Makes a chart in a new <div> of parent; its entry in the self-check is filled in when
     * ECharts says it has finished drawing. */
    function chart(parent, id, height, option) {
      var div = el('div', {className: 'chart', id: id});
      if (height) div.style.height = height + 'px';
      parent.appendChild(div);
      var c = echarts.init(div, 'caviar', {renderer: 'canvas'});
      var done = false;
      check.charts[id] = {finished: false};
      pending++;
      c.on('finished', function () {
        if (done) return;
        done = true;
        try {
          summarize(id, c);
        } catch (e) {
          check.errors.push(id + ': ' + e.message);
        }
        pending--;
        check.done = pending === 0;
        if (check.done) check.drawn_ms = Math.round(performance.now());
        writeCheck();
      });
      if (option.animation == null) option.animation = !live && nTrials <= LARGE;
      restoreView(id, option);
      c.setOption(option);
      c.on('restore', function () {
        if (!view.charts[id] || !redrawLast) return;
        resetView[id] = true;
        /* after ECharts has finished its restore: redrawing disposes this chart */
        setTimeout(redrawLast, 0);
      });
      charts.push(c);
      return c;
    }
    /* Axes keep their line at the edge of the plot, not where the other axis is 0. */
    echarts.registerTheme('caviar', {
      valueAxis: {axisLine: {show: true, onZero: false}},
      logAxis: {axisLine: {show: true, onZero: false}}
    });

    function section(id, title, why) {
      var s = el('section', {id: id}, [el('h2', {text: title})]);
      if (why) s.appendChild(el('p', {className: 'why', text: why}));
      document.getElementById('app').appendChild(s);
      nav.appendChild(el('a', {href: '#' + id, text: title}));
      return s;
    }
    function empty(parent, text) { parent.appendChild(el('div', {className: 'empty', text: text})); }

    var TOOLBOX = {feature: {dataZoom: {}, restore: {}, saveAsImage: {}}, right: 10};
    /* The toolbox, with a button that switches the value axis between linear and log when every
     * value is positive. */
    function toolbox(positive, getChart, logNow) {
      if (!positive) return TOOLBOX;
      var log = logNow;
      return {right: 10, feature: {
        myLog: {show: true, title: 'linear / log value axis',
                icon: 'path://M2,28 L2,2 M2,28 L30,28 M4,24 C10,8 18,4 30,3',
                onclick: function () {
                  log = !log;
                  getChart().setOption({yAxis: {type: log ? 'log' : 'value'}});
                }},
        dataZoom: {}, restore: {}, saveAsImage: {}}};
    }
    /* Lighter tints of the state colours: the background of thousands of thinned curves, over
     * which the best curves and the pruned ends stand out. */
    var STATE_TINT = {complete: '#b7c9de', pruned: '#f7cfa8', fail: '#eeaaaa', running: '#b9d9b4',
                      waiting: '#d5dadf'};

    /* ---- the header ------------------------------------------------------------------------- */

    var app = document.getElementById('app');
    var st = data.study;
    app.appendChild(el('h1', {text: 'Study ' + st.name}));
    var facts = el('div', {className: 'facts'});
    function fact(label, value) {
      facts.appendChild(el('div', null, [el('b', {text: label + ': '}), String(value)]));
    }
    fact('direction', st.direction);
    if (st.sampler) fact('sampler', st.sampler);
    if (st.pruner) fact('pruner', st.pruner);
    fact('trials', count(st.counts.trials));
    fact('complete', count(st.counts.complete));
    fact('pruned', count(st.counts.pruned));
    fact('failed', count(st.counts.fail));
    if (st.counts.running) fact('running', count(st.counts.running));
    if (st.counts.waiting) fact('waiting', count(st.counts.waiting));
    if (st.best) fact('best', fmt(st.best.value) + ' (trial ' + st.best.trial + ')');
    if (st.storage) fact('storage', st.storage);
    app.appendChild(facts);
    if (st.best && rowOf[st.best.trial] != null) {
      var r = rowOf[st.best.trial];
      var parts = params.map(function (p, k) {
        var x = trials.params[k][r];
        return x == null ? null : p.name + ' = ' + paramText(p, x);
      }).filter(function (s) { return s; });
      if (parts.length)
        app.appendChild(el('p', {className: 'note', text: 'Best parameters: ' + parts.join(', ')}));
    }
    var nav = el('nav');
    app.appendChild(nav);

    /* ---- learning curves -------------------------------------------------------------------- */

    (function () {
      var cv = data.curves;
      var nOther = cv.other.length;
      var why = 'The intermediate values every trial reported, by step, on one chart. ' +
        'The best ' + cv.top.length + ' complete trials are drawn whole (the best one thick); ' +
        'pruned trials are orange (dashed unless there are many) with a triangle where they ' +
        'stopped, failed ones red with a diamond.';
      if (cv.n_drawn < cv.n_points)
        why += ' To stay quick with ' + count(cv.n_curves) + ' curves, the other curves are ' +
          'thinned to at most ' + cv.per_curve + ' points each (largest-triangle-three-buckets ' +
          'keeps each curve\'s shape, its first and last points): ' + count(cv.n_drawn) + ' of ' +
          count(cv.n_points) + ' points are drawn.';
      if (cv.log_y) why += ' The value axis is logarithmic (the values span more than two decades).';
      var s = section('curves', 'Learning curves', why);
      if (!cv.n_curves) { empty(s, 'No trial has reported an intermediate value yet.'); return; }
      var groups = {};
      var ends = {pruned: [], fail: []};
      cv.other.forEach(function (c) {
        var state = stateName(c[1]);
        var coords = [];
        for (var k = 2; k + 1 < c.length; k += 2) coords.push([c[k], c[k + 1]]);
        (groups[state] = groups[state] || []).push(polyline(coords, {trial: c[0]}));
        if (ends[state]) ends[state].push([coords[coords.length - 1][0],
                                           coords[coords.length - 1][1], c[0]]);
      });
      var series = [];
      var labels = {complete: 'complete', pruned: 'pruned', fail: 'failed', running: 'running',
                    waiting: 'waiting'};
      ['complete', 'pruned', 'fail', 'running', 'waiting'].forEach(function (state) {
        var g = groups[state];
        if (!g) return;
        var large = g.length > LARGE / 10;
        /* In large mode thousands of dashed lines overlap into stripes: fainter, solid lines. */
        series.push({
          type: 'lines', name: labels[state], coordinateSystem: 'cartesian2d', polyline: true,
          large: large, largeThreshold: LARGE / 10, progressive: 400, progressiveThreshold: 1000,
          data: g, z: 2, color: large ? STATE_TINT[state] : STATE_COLOR[state],
          lineStyle: {color: large ? STATE_TINT[state] : STATE_COLOR[state], width: 1,
                      opacity: large ? 0.6 : 0.55,
                      type: state === 'pruned' && !large ? 'dashed' : 'solid'},
          emphasis: {lineStyle: {width: 2, opacity: 1}},
          tooltip: {formatter: function (q) {
            return 'trial ' + q.data.trial + ' (' + labels[state] + ')';
          }}
        });
      });
      [['pruned', 'pruned: last report', 'triangle'], ['fail', 'failed: last report', 'diamond']]
        .forEach(function (e) {
          if (!ends[e[0]].length) return;
          series.push({
            type: 'scatter', name: e[1], symbol: e[2], z: 3,
            symbolSize: ends[e[0]].length > LARGE ? 3 : 7,
            large: ends[e[0]].length > LARGE, largeThreshold: LARGE, data: ends[e[0]],
            itemStyle: {color: STATE_COLOR[e[0]]},
            tooltip: {formatter: function (q) {
              return 'trial ' + q.value[2] + ' ' + e[1] + '<br>step ' + q.value[0] + ': ' +
                     fmt(q.value[1]);
            }}
          });
        });
      var allLines = [];
      series.forEach(function (x) { if (x.type === 'lines') allLines = allLines.concat(x.data); });
      series.push(extentSeries(allLines, cv.log_y));
      cv.top.forEach(function (t, k) {
        var pts = [];
        for (var j = 0; j + 1 < t.xy.length; j += 2) pts.push([t.xy[j], t.xy[j + 1]]);
        var best = t.trial === cv.best;
        series.push({
          type: 'line', name: 'trial ' + t.trial + (best ? ' (best)' : ''), data: pts,
          showSymbol: pts.length < 30, symbolSize: 4, z: best ? 10 : 5,
          lineStyle: {width: best ? 3.5 : 1.6}, emphasis: {focus: 'series'},
          endLabel: best ? {show: true, formatter: 'best: trial ' + t.trial} : undefined,
          color: best ? '#111111' : undefined
        });
      });
      var curves = null;
      curves = chart(s, 'chart-curves', 460, {
        tooltip: {trigger: 'item'},
        legend: {type: 'scroll', top: 0, right: 150, data: legendOf(series)},
        toolbox: toolbox(cv.positive, function () { return curves; }, cv.log_y),
        grid: {left: 70, right: 110, top: 56, bottom: 60},
        xAxis: {type: 'value', name: 'step', nameLocation: 'middle', nameGap: 28, min: 'dataMin'},
        yAxis: {type: cv.log_y ? 'log' : 'value', scale: true, name: 'intermediate value',
                axisLabel: {formatter: fmt}},
        dataZoom: [{type: 'inside', filterMode: 'none'}],
        series: series
      });
    })();

    /* ---- optimisation history ---------------------------------------------------------------- */

    function valueSeries(stateCode) {
      var pts = [];
      for (var i = 0; i < nTrials; i++)
        if (trials.state[i] === stateCode && trials.value[i] != null)
          pts.push([trials.number[i], trials.value[i]]);
      return pts;
    }

    (function () {
      var s = section('history', 'Optimisation history',
        'The value of each trial by trial number (pruned trials at their last reported value), ' +
        'and the best value so far among the complete trials.');
      var done = valueSeries(2), pruned = valueSeries(3);
      if (!done.length && !pruned.length) { empty(s, 'No trial has a value yet.'); return; }
      var bestSoFar = [], best = null;
      done.slice().sort(function (a, b) { return a[0] - b[0]; }).forEach(function (p) {
        if (best == null || better(p[1], best)) best = p[1];
        bestSoFar.push([p[0], best]);
      });
      var all = done.concat(pruned).map(function (p) { return p[1]; });
      var logY = wantsLog(all);
      var positive = all.every(function (v) { return v > 0; });
      var series = [
        {type: 'scatter', name: 'complete', data: done, symbolSize: 5,
         large: done.length > LARGE, largeThreshold: LARGE,
         itemStyle: {color: STATE_COLOR.complete, opacity: 0.7}},
        {type: 'scatter', name: 'pruned (last value)', data: pruned, symbol: 'triangle',
         symbolSize: 5, large: pruned.length > LARGE, largeThreshold: LARGE,
         itemStyle: {color: STATE_COLOR.pruned, opacity: 0.6}},
        {type: 'line', name: 'best so far', data: bestSoFar, step: 'end', showSymbol: false,
         lineStyle: {width: 2.5, color: '#d62728'}, z: 10}
      ];
      var history = null;
      history = chart(s, 'chart-history', 400, {
        tooltip: {trigger: 'item', formatter: function (q) {
          return q.seriesName + '<br>trial ' + q.value[0] + ': ' + fmt(q.value[1]);
        }},
        legend: {top: 0},
        toolbox: toolbox(positive, function () { return history; }, logY),
        grid: {left: 70, right: 40, top: 40, bottom: 60},
        xAxis: {type: 'value', name: 'trial', nameLocation: 'middle', nameGap: 28, min: 0},
        yAxis: {type: logY ? 'log' : 'value', scale: true, name: 'value',
                axisLabel: {formatter: fmt}},
        dataZoom: [{type: 'inside'}, {type: 'slider', height: 18, bottom: 8}],
        series: series
      });
    })();

    /* The complete trials with a value: their indices. */
    var scoredRows = [];
    for (var q = 0; q < nTrials; q++)
      if (trials.state[q] === 2 && trials.value[q] != null) scoredRows.push(q);
    var scoredValues = scoredRows.map(function (r) { return trials.value[r]; });

    /* ---- parallel coordinates ---------------------------------------------------------------- */

    (function () {
      var s = section('parallel', 'Parallel coordinates',
        'One line per complete trial through its parameters, each on its own scale, and its ' +
        'value (last axis); the colour is the value, the brightest the best. Drag along an axis ' +
        'to select a range.');
      if (!scoredRows.length || !params.length) {
        empty(s, 'No complete trial with parameters yet.');
        return;
      }
      var axes = params.map(function (p, k) {
        var a = paramAxis(p, {dim: k, nameLocation: 'start', nameGap: 12});
        a.nameTextStyle = {fontSize: 11};
        a.name = p.name + (p.axis === 'log' ? ' (log)' : p.axis === 'one-minus-log' ? ' (1−v, log)' : '');
        return a;
      });
      axes.push({dim: params.length, name: 'value', type: wantsLog(scoredValues) ? 'log' : 'value',
                 scale: true, nameLocation: 'start', nameGap: 12, axisLabel: {formatter: fmt}});
      var rows = scoredRows.map(function (r) {
        var row = params.map(function (p, k) { return paramCoord(p, trials.params[k][r]); });
        row.push(trials.value[r]);
        return row;
      });
      var range = colorRange(scoredValues);
      chart(s, 'chart-parallel', 440, {
        parallel: {left: 60, right: 90, top: 30, bottom: 50,
                   parallelAxisDefault: {nameTextStyle: {fontSize: 11}}},
        parallelAxis: axes,
        visualMap: {type: 'continuous', dimension: params.length, min: range[0], max: range[1],
                    inRange: {color: valueColors()}, right: 0, top: 'middle', itemHeight: 200,
                    calculable: true, text: ['value', ''], formatter: fmt},
        series: [{type: 'parallel', name: 'complete trials', data: rows, smooth: false,
                  lineStyle: {width: 1, opacity: rows.length > LARGE ? 0.15 : 0.5},
                  progressive: 500, progressiveThreshold: 1000}]
      });
    })();

    /* ---- slices ------------------------------------------------------------------------------ */

    (function () {
      var s = section('slices', 'Slices: the value against each parameter',
        'One chart per parameter, on its own scale: a log axis for log-scale parameters; a ' +
        'one-minus-log parameter (a beta near 1) is drawn as 1 − v on a log axis, reversed, and ' +
        'its ticks are labelled with v (0.9, 0.99, 0.999 equally spaced). Later trials are darker.');
      if (!scoredRows.length || !params.length) {
        empty(s, 'No complete trial with parameters yet.');
        return;
      }
      var grid = el('div', {className: 'grid'});
      s.appendChild(grid);
      var logY = wantsLog(scoredValues);
      params.forEach(function (p, k) {
        var pts = [];
        scoredRows.forEach(function (r) {
          var x = trials.params[k][r];
          if (x != null) pts.push([paramCoord(p, x), trials.value[r], trials.number[r]]);
        });
        var card = el('div', {className: 'card'}, [el('h3', {text: p.name}),
          el('div', {className: 'note', text: p.describe})]);
        grid.appendChild(card);
        chart(card, 'chart-slice-' + k, 300, {
          tooltip: {trigger: 'item', formatter: function (q) {
            var v = p.axis === 'one-minus-log' ? 1 - q.value[0] : q.value[0];
            return 'trial ' + q.value[2] + '<br>' + p.name + ' = ' + paramText(p, v) +
                   '<br>value ' + fmt(q.value[1]);
          }},
          grid: {left: 60, right: 20, top: 15, bottom: 50},
          xAxis: paramAxis(p),
          yAxis: {type: logY ? 'log' : 'value', scale: true, axisLabel: {formatter: fmt}},
          visualMap: {show: false, type: 'continuous', dimension: 2, min: 0,
                      max: Math.max(1, nTrials - 1), inRange: {color: ['#9ecae1', '#08306b']}},
          series: [{type: 'scatter', name: p.name, data: pts, symbolSize: 5,
                    large: pts.length > LARGE, largeThreshold: LARGE,
                    itemStyle: {opacity: 0.75}}]
        });
      });
    })();

    /* ---- importance and the heat map -------------------------------------------------------- */

    var imp = data.importance;
    var fanova = imp.method === 'fanova';

    (function () {
      var hm = data.heatmap;
      var s = section('heatmap', 'Heat map of the two most important parameters',
        hm ? 'The value over ' + params[hm.x].name + ' and ' + params[hm.y].name + ' (the two ' +
             'most important parameters), each on its own scale: a Gaussian-kernel average ' +
             '(bandwidth ' + hm.bandwidth + ' of each unit interval) of the ' + count(hm.n_trials) +
             ' complete trials, which are drawn on top; cells with no trial within 2.5 bandwidths ' +
             'are left empty. The brightest cells are the best.'
           : null);
      if (!hm) {
        empty(s, 'Needs two parameters that vary and at least three complete trials.');
        return;
      }
      var n = hm.n, cells = [], vals = [];
      for (var j = 0; j < n; j++)
        for (var i = 0; i < n; i++) {
          var v = hm.cells[j * n + i];
          if (v != null) { cells.push([i, j, v]); vals.push(v); }
        }
      var range = colorRange(vals), lo = range[0], hi = range[1];
      var px = params[hm.x], py = params[hm.y];
      chart(s, 'chart-heatmap', 520, {
        tooltip: {trigger: 'item', formatter: function (q) {
          if (q.seriesType === 'heatmap')
            return px.name + ' ≈ ' + hm.xlabels[q.value[0]] + '<br>' + py.name + ' ≈ ' +
                   hm.ylabels[q.value[1]] + '<br>mean value ' + fmt(q.value[2]);
          return 'trial ' + q.value[3] + '<br>value ' + fmt(q.value[2]);
        }},
        grid: {left: 90, right: 110, top: 20, bottom: 70},
        xAxis: [{type: 'category', data: hm.xlabels, name: px.name + ' (' + px.scale + ')',
                 nameLocation: 'middle', nameGap: 50, axisLabel: {rotate: 45}, splitArea: {show: false}},
                {type: 'value', min: 0, max: n, show: false}],
        yAxis: [{type: 'category', data: hm.ylabels, name: py.name + ' (' + py.scale + ')',
                 nameLocation: 'middle', nameGap: 70},
                {type: 'value', min: 0, max: n, show: false}],
        visualMap: {type: 'continuous', seriesIndex: 0, min: lo, max: hi, calculable: true,
                    inRange: {color: valueColors()}, right: 0, top: 'middle', formatter: fmt},
        series: [
          {type: 'heatmap', name: 'mean value', data: cells, progressive: 2000},
          {type: 'scatter', name: 'complete trials', xAxisIndex: 1, yAxisIndex: 1,
           data: hm.points, symbolSize: 4, large: hm.points.length > LARGE, largeThreshold: LARGE,
           itemStyle: {color: '#ffffff', borderColor: '#222222', borderWidth: 0.6, opacity: 0.8}}
        ]
      });
    })();

    (function () {
      var why = fanova
        ? 'fANOVA: a random forest fitted to the ' + count(imp.n_trials) + ' complete trials ' +
          '(each parameter on its own scale), and the share of the variance of its prediction ' +
          'over the whole space that each parameter explains alone (± its spread over the trees).'
        : 'The absolute Spearman rank correlation between each parameter (on its own scale) ' +
          'and the value over the ' + count(imp.n_trials) + ' complete trials: monotone effects ' +
          'only.' + (imp.note ? ' (fANOVA was not available: ' + imp.note + ')' : '');
      var s = section('importance', 'Importance of each hyperparameter', why);
      var rows = imp.params.filter(function (e) { return e.score != null; });
      if (!rows.length) { empty(s, 'No parameter to rank yet.'); return; }
      var names = rows.map(function (e) { return params[e.param].name; });
      chart(s, 'chart-importance', 80 + 34 * rows.length, {
        tooltip: {trigger: 'item', formatter: function (q) {
          var e = rows[q.dataIndex];
          return params[e.param].name + ': ' + fmt(e.score) + (e.sd != null ? ' ± ' + fmt(e.sd) : '');
        }},
        grid: {left: 150, right: 60, top: 10, bottom: 40},
        xAxis: {type: 'value', min: 0, max: fanova ? null : 1,
                name: fanova ? 'share of variance' : '|Spearman ρ|', nameLocation: 'middle',
                nameGap: 26},
        yAxis: {type: 'category', data: names, inverse: true},
        series: [{type: 'bar', name: fanova ? 'share of variance' : '|Spearman rho|',
                  data: rows.map(function (e) { return e.score; }),
                  itemStyle: {color: '#4c78a8'},
                  label: {show: true, position: 'right', formatter: function (q) {
                    var e = rows[q.dataIndex];
                    return fmt(share(e.score, 3)) + (e.sd != null ? ' ± ' + fmt(share(e.sd, 2)) : '');
                  }}}]
      });
      var pairs = (imp.pairs || []).filter(function (e) { return e.score >= 0.005; });
      if (pairs.length)
        s.appendChild(el('p', {className: 'note', text: 'Strongest interactions (share beyond ' +
          'the two main effects): ' + pairs.slice(0, 5).map(function (e) {
            return params[e.a].name + ' × ' + params[e.b].name + ' ' +
                   fmt(share(e.score, 3));
          }).join(', ')}));
    })();

    /* ---- coarse-to-fine ---------------------------------------------------------------------- */

    if (data.c2f) (function () {
      var c2f = data.c2f;
      var s = section('c2f', 'Coarse-to-fine rounds',
        'Each chart is one parameter in its unit interval (its own scale: log for a learning ' +
        'rate, one-minus-log for a beta), by trial number: the shaded boxes are the boxes each ' +
        'round drew from (zoomed around the best trials of the round before), the dots the ' +
        'trials, coloured by value (brightest the best, grey without one).');
      var tbl = el('table', null, [el('tr', null, ['round', 'trials', 'complete', 'best', 'trial']
        .map(function (h, k) { return el('th', {className: k ? 'num' : '', text: h}); }))]);
      c2f.rounds.forEach(function (r) {
        tbl.appendChild(el('tr', null, [String(r.round), r.first + '–' + r.last + ' (' + r.n + ')',
          String(r.complete), fmt(r.best), r.best_trial == null ? '–' : String(r.best_trial)]
          .map(function (t, k) { return el('td', {className: k ? 'num' : '', text: t}); })));
      });
      s.appendChild(tbl);
      var grid = el('div', {className: 'grid'});
      s.appendChild(grid);
      var range = colorRange(scoredValues);
      params.forEach(function (p, k) {
        var pts = [], grey = [];
        for (var i = 0; i < nTrials; i++) {
          var u = c2f.u[k][i];
          if (u == null || c2f.round_of[i] < 0) continue;
          var v = trials.state[i] === 2 ? trials.value[i] : null;
          if (v == null) grey.push([trials.number[i], u, trials.number[i]]);
          else pts.push([trials.number[i], u, v, trials.number[i]]);
        }
        var areas = [], labelled = {};
        c2f.runs.forEach(function (run) {
          var label = c2f.rounds.length <= 12 && !labelled[run.round] ? 'round ' + run.round : '';
          labelled[run.round] = true;
          /* A parameter the study did not know yet when the run began was drawn over its
           * whole range. */
          (run.box[k] || [[0, 1]]).forEach(function (b) {
            areas.push([{name: label, xAxis: run.first - 0.5, yAxis: b[0]},
                        {xAxis: run.last + 0.5, yAxis: b[1]}]);
          });
        });
        var labels = c2f.labels[k];
        var card = el('div', {className: 'card'}, [el('h3', {text: p.name})]);
        grid.appendChild(card);
        chart(card, 'chart-c2f-' + k, 280, {
          tooltip: {trigger: 'item', formatter: function (q) {
            if (q.componentType === 'markArea') return q.name || 'box';
            return 'trial ' + q.value[0] + (q.value.length > 3 ? '<br>value ' + fmt(q.value[2]) : '');
          }},
          grid: {left: 70, right: 20, top: 15, bottom: 40},
          xAxis: {type: 'value', name: 'trial', nameLocation: 'middle', nameGap: 24, min: 'dataMin',
                  max: 'dataMax'},
          yAxis: {type: 'value', min: 0, max: 1, interval: 0.25,
                  name: 'u', axisLabel: {formatter: function (u) {
                    return labels[Math.round(u * 4)] != null ? labels[Math.round(u * 4)] : '';
                  }}},
          visualMap: {show: false, type: 'continuous', seriesIndex: 0, dimension: 2,
                      min: range[0], max: range[1], inRange: {color: valueColors()}},
          series: [
            {type: 'scatter', name: 'trials with a value', data: pts, symbolSize: 5,
             large: pts.length > LARGE, largeThreshold: LARGE,
             markArea: {silent: false, data: areas,
                        itemStyle: {color: 'rgba(76,120,168,0.12)', borderColor: '#4c78a8',
                                    borderWidth: 1},
                        label: {position: 'insideTopLeft', fontSize: 10, color: '#4c78a8'}}},
            {type: 'scatter', name: 'trials without a value', data: grey, symbolSize: 4,
             large: grey.length > LARGE, largeThreshold: LARGE,
             itemStyle: {color: '#b0b7bf'}}
          ]
        });
      });
    })();

    /* ---- panda days -------------------------------------------------------------------------- */

    if (data.panda) (function () {
      var days = data.panda.days.slice().sort(function (a, b) { return a.day - b.day; });
      var s = section('panda', 'Panda: the days of the session',
        'Each day trained from the end of its parent day (a rollback starts a branch). The days ' +
        'leading to the newest one are drawn in colour, the days a rollback left behind in grey. ' +
        'Top: the dev metric by epoch; middle: training (dashed) and dev loss; bottom: the ' +
        'learning rate.');
      var byDay = {};
      days.forEach(function (d) { byDay[d.day] = d; });
      var onBranch = {};
      for (var d = days.length ? days[days.length - 1] : null; d; d = byDay[d.parent])
        onBranch[d.day] = true;
      var lines = {metric: [[], []], train: [[], []], dev: [[], []], lr: [[], []]};
      var ends = [];
      days.forEach(function (day) {
        var rows = day.curve.slice();
        var parent = byDay[day.parent];
        if (parent && parent.curve.length) rows.unshift(parent.curve[parent.curve.length - 1]);
        var which = onBranch[day.day] ? 0 : 1;
        function add(key, col) {
          var coords = rows.filter(function (r) { return r[col] != null && (col !== 1 && col !== 2 &&
            col !== 3 || r[col] > 0); }).map(function (r) { return [r[0], r[col]]; });
          if (coords.length) lines[key][which].push(polyline(coords, {day: day.day}));
        }
        add('metric', 4); add('train', 2); add('dev', 3); add('lr', 1);
        var last = day.curve[day.curve.length - 1];
        if (last) ends.push({value: [last[0], last[4] == null ? null : last[4], day.day],
                             day: day, symbol: day.diverged ? 'diamond' : 'circle'});
      });
      var series = [];
      function addLines(key, grid, name, color, dashed) {
        [0, 1].forEach(function (which) {
          if (!lines[key][which].length) return;
          series.push({type: 'lines', coordinateSystem: 'cartesian2d', polyline: true,
            name: name + (which ? ' (rolled back)' : ''), xAxisIndex: grid, yAxisIndex: grid,
            data: lines[key][which],
            lineStyle: {color: which ? '#b0b7bf' : color, width: which ? 1 : 2, opacity: 1,
                        type: dashed ? 'dashed' : 'solid'},
            tooltip: {formatter: function (q) { return 'day ' + q.data.day + ': ' + name; }}});
        });
      }
      addLines('metric', 0, 'dev metric', '#4c78a8', false);
      addLines('train', 1, 'training loss', '#f28e2b', true);
      addLines('dev', 1, 'dev loss', '#e15759', false);
      addLines('lr', 2, 'learning rate', '#59a14f', false);
      [['metric'], ['train', 'dev'], ['lr']].forEach(function (keys, g) {
        var items = [];
        keys.forEach(function (key) { items = items.concat(lines[key][0], lines[key][1]); });
        series.push(extentSeries(items, g > 0, g));
      });
      series.push({type: 'scatter', name: 'end of a day', xAxisIndex: 0, yAxisIndex: 0,
        data: ends, symbolSize: 8, z: 5, itemStyle: {color: '#222222'},
        label: {show: days.length <= 40, position: 'top', fontSize: 10,
                formatter: function (q) { return String(q.value[2]); }},
        tooltip: {formatter: function (q) {
          var day = q.data.day;
          return 'day ' + day.day + ' (from day ' + day.parent + ', epoch ' + day.epoch + ')<br>' +
                 'dev metric ' + fmt(day.value) + (day.diverged ? ' (diverged)' : '') +
                 (day.note ? '<br>' + day.note.replace(/</g, '&lt;') : '');
        }}});
      var axisX = function (i) {
        return {gridIndex: i, type: 'value', min: 'dataMin', max: 'dataMax',
                name: i === 2 ? 'epoch' : '', nameLocation: 'middle', nameGap: 24};
      };
      chart(s, 'chart-panda', 680, {
        tooltip: {trigger: 'item'},
        legend: {top: 0, data: legendOf(series)},
        axisPointer: {link: [{xAxisIndex: 'all'}]},
        grid: [{left: 70, right: 30, top: 70, height: 190}, {left: 70, right: 30, top: 300, height: 150},
               {left: 70, right: 30, top: 490, height: 130}],
        xAxis: [axisX(0), axisX(1), axisX(2)],
        yAxis: [{gridIndex: 0, type: 'value', scale: true, name: 'dev metric',
                 axisLabel: {formatter: fmt}},
                {gridIndex: 1, type: 'log', name: 'loss', axisLabel: {formatter: fmt}},
                {gridIndex: 2, type: 'log', name: 'learning rate', axisLabel: {formatter: fmt}}],
        series: series
      });
      var tbl = el('table', null, [el('tr', null, ['day', 'from', 'epoch', 'dev metric', 'note']
        .map(function (h) { return el('th', {text: h}); }))]);
      days.forEach(function (day) {
        tbl.appendChild(el('tr', null, [String(day.day), String(day.parent), String(day.epoch),
          fmt(day.value) + (day.diverged ? ' (diverged)' : ''), day.note]
          .map(function (t, k) { return el('td', {className: k === 4 ? 'note' : '', text: t}); })));
      });
      s.appendChild(tbl);
    })();

    /* ---- PBT lineages ------------------------------------------------------------------------ */

    if (data.pbt) (function () {
      var members = data.pbt.members.slice().sort(function (a, b) { return a.trial - b.trial; });
      var s = section('pbt', 'Population-based training: lineages',
        'One row per member, by epoch; the colour is its dev metric at each epoch (brightest the ' +
        'best). An arrow is an exploit: the member copied the state of the member the arrow ' +
        'comes from, as that member was after the epoch the arrow starts at, then explored. ' +
        'Members train asynchronously, so an arrow may point back in time: a member that is ' +
        'behind copied one that is ahead.');
      var row = {};
      members.forEach(function (m, k) { row[m.trial] = k; });
      var pts = [], spans = [], arrows = [], vals = [];
      members.forEach(function (m, k) {
        for (var j = 0; j < m.steps.length; j++) {
          if (m.values[j] == null) continue;
          pts.push([m.steps[j], k, m.values[j], m.trial]);
          vals.push(m.values[j]);
        }
        if (m.steps.length)
          spans.push({coords: [[Math.min.apply(null, m.steps), k],
                               [Math.max.apply(null, m.steps), k]], trial: m.trial});
        m.exploits.forEach(function (e) {
          if (row[e.from] == null) return;
          arrows.push({coords: [[e.from_epoch, row[e.from]], [e.epoch, k]], e: e, trial: m.trial});
        });
      });
      /* The metric is better when larger unless the study minimises. */
      var range = colorRange(vals);
      chart(s, 'chart-pbt', 120 + 36 * members.length, {
        tooltip: {trigger: 'item', formatter: function (q) {
          if (q.seriesType === 'lines' && q.data.e)
            return 'member ' + q.data.trial + ' after epoch ' + q.data.e.epoch + ': copied member ' +
                   q.data.e.from + ' (after its epoch ' + q.data.e.from_epoch + ')<br>' +
                   q.data.e.explore.replace(/</g, '&lt;');
          if (q.seriesType === 'lines') return 'member ' + q.data.trial;
          return 'member ' + q.value[3] + ', epoch ' + q.value[0] + ': ' + fmt(q.value[2]);
        }},
        grid: {left: 110, right: 90, top: 20, bottom: 50},
        xAxis: {type: 'value', name: 'epoch', nameLocation: 'middle', nameGap: 26, min: 0},
        yAxis: {type: 'category', data: members.map(function (m) { return 'member ' + m.trial; }),
                inverse: true},
        visualMap: {type: 'continuous', seriesIndex: 2, dimension: 2, min: range[0], max: range[1],
                    inRange: {color: valueColors()}, right: 0, top: 'middle', calculable: true,
                    formatter: fmt, text: ['dev', '']},
        series: [
          {type: 'lines', name: 'members', coordinateSystem: 'cartesian2d', data: spans,
           lineStyle: {color: '#d0d7de', width: 6, opacity: 1}, z: 1},
          {type: 'lines', name: 'exploits', coordinateSystem: 'cartesian2d', data: arrows,
           symbol: ['circle', 'arrow'], symbolSize: [4, 9],
           lineStyle: {color: '#444444', width: 1.3, curveness: 0.1, opacity: 0.9}, z: 3},
          {type: 'scatter', name: 'dev metric', data: pts, symbolSize: 10, z: 2,
           large: pts.length > LARGE, largeThreshold: LARGE}
        ]
      });
    })();

    /* ---- the table of trials ----------------------------------------------------------------- */

    (function () {
      var s = section('trials', 'Trials',
        'Every trial: click a column to sort (again to reverse), filter by state or by any text. ' +
        'The best trial is highlighted.');
      var cols = [
        {name: 'trial', num: true, get: function (r) { return trials.number[r]; }},
        {name: 'state', get: function (r) { return stateName(trials.state[r]); }},
        {name: 'value', num: true, get: function (r) { return trials.value[r]; }, text: fmt},
        {name: 'duration (s)', key: 'duration', num: true,
         get: function (r) { return trials.duration[r]; }, text: fmt}
      ];
      params.forEach(function (p, k) {
        cols.push({name: p.name, num: p.kind !== 'categorical',
                   get: function (r) { return p.kind === 'categorical' ? paramText(p, trials.params[k][r])
                                                                       : trials.params[k][r]; },
                   text: function (v) { return p.kind === 'categorical' ? v : paramText(p, v); }});
      });
      trials.attr_keys.forEach(function (key, k) {
        cols.push({name: key, num: true, get: function (r) {
          var t = trials.attrs[k][r];
          if (t == null) return null;
          var x = Number(t);
          return t !== '' && isFinite(x) ? x : t;
        }, text: function (v) { return typeof v === 'number' ? fmt(v) : v; }});
      });
      cols.push({name: 'note', get: function (r) { return trials.note[r]; }, cls: 'note'});
      cols.forEach(function (c) { if (!c.key) c.key = c.name; });

      var hash = {};
      location.hash.replace(/^#/, '').split('&').forEach(function (kv) {
        var at = kv.indexOf('=');
        if (at > 0) hash[decodeURIComponent(kv.slice(0, at))] = decodeURIComponent(kv.slice(at + 1));
      });
      /* The table's state: from the address's fragment at first, then the reader's, kept
       * across live redraws (the sort by its column's key: columns may come and go). */
      var state = view.table;
      if (!state) {
        state = view.table = {sortKey: hash.sort, desc: hash.desc === '1', page: 0,
                              filter: STATES.indexOf(hash.state) >= 0 ? hash.state : '',
                              q: hash.q || ''};
      }
      state.sort = 0;
      cols.forEach(function (c, k) { if (c.key === state.sortKey || c.name === state.sortKey) state.sort = k; });

      var controls = el('div', {className: 'controls'});
      var stateSel = el('select', {'aria-label': 'state', id: 'trials-state'}, [el('option', {value: '', text: 'all states'})]
        .concat(STATES.map(function (n) { return el('option', {value: n, text: n}); })));
      stateSel.value = state.filter;
      var search = el('input', {type: 'search', id: 'trials-search',
                                placeholder: 'filter: any text in a row'});
      search.value = state.q;
      var info = el('span', {className: 'note'});
      var pager = el('span', {className: 'pager'});
      controls.appendChild(stateSel);
      controls.appendChild(search);
      controls.appendChild(info);
      controls.appendChild(pager);
      s.appendChild(controls);
      var wrap = el('div', {className: 'tablewrap'});
      var table = el('table', {id: 'trials-table'});
      wrap.appendChild(table);
      s.appendChild(wrap);

      var rowText = [];
      function textOf(r) {
        if (rowText[r] == null)
          rowText[r] = cols.map(function (c) {
            var v = c.get(r);
            return v == null ? '' : c.text ? c.text(v) : String(v);
          }).join(' ').toLowerCase();
        return rowText[r];
      }
      function compare(a, b) {
        var c = cols[state.sort], x = c.get(a), y = c.get(b);
        var nx = x == null || x === '', ny = y == null || y === '';
        if (nx || ny) return nx === ny ? a - b : nx ? 1 : -1; /* empty cells last */
        var d;
        if (typeof x === 'number' && typeof y === 'number') d = x - y;
        else d = String(x).localeCompare(String(y), 'en', {numeric: true});
        if (state.desc) d = -d;
        return d || a - b;
      }
      var matched = [];
      function refresh() {
        var q = state.q.toLowerCase();
        matched = [];
        for (var r = 0; r < nTrials; r++) {
          if (state.filter && stateName(trials.state[r]) !== state.filter) continue;
          if (q && textOf(r).indexOf(q) < 0) continue;
          matched.push(r);
        }
        matched.sort(compare);
        var pages = Math.max(1, Math.ceil(matched.length / PAGE_ROWS));
        if (state.page >= pages) state.page = pages - 1;
        render(pages);
      }
      function render(pages) {
        table.textContent = '';
        var head = el('tr');
        cols.forEach(function (c, k) {
          var th = el('th', {text: c.name, className: (c.num ? 'num ' : '') +
            (k === state.sort ? (state.desc ? 'sorted-desc' : 'sorted-asc') : '')});
          th.addEventListener('click', function () {
            if (state.sort === k) state.desc = !state.desc;
            else { state.sort = k; state.desc = false; }
            state.sortKey = c.key;
            state.page = 0;
            refresh();
          });
          head.appendChild(th);
        });
        table.appendChild(head);
        var from = state.page * PAGE_ROWS, to = Math.min(matched.length, from + PAGE_ROWS);
        var shown = [];
        for (var i = from; i < to; i++) {
          var r = matched[i];
          shown.push(trials.number[r]);
          var tr = el('tr', {className: 'state-' + stateName(trials.state[r]) +
                                        (isBest(trials.number[r]) ? ' best' : '')});
          cols.forEach(function (c) {
            var v = c.get(r);
            tr.appendChild(el('td', {className: (c.num ? 'num' : '') + (c.cls ? ' ' + c.cls : '') +
                                                (c.name === 'state' ? ' state' : ''),
                                     text: v == null ? '' : c.text ? c.text(v) : String(v)}));
          });
          table.appendChild(tr);
        }
        info.textContent = matched.length
          ? 'rows ' + count(from + 1) + '–' + count(to) + ' of ' + count(matched.length) +
            (matched.length < nTrials ? ' (of ' + count(nTrials) + ' trials)' : '')
          : 'no trial matches';
        pager.textContent = '';
        [['« first', 0], ['‹ previous', state.page - 1], ['next ›', state.page + 1],
         ['last »', pages - 1]].forEach(function (b) {
          var btn = el('button', {type: 'button', text: b[0]});
          btn.disabled = b[1] < 0 || b[1] >= pages || b[1] === state.page;
          btn.addEventListener('click', function () { state.page = b[1]; render(pages); });
          pager.appendChild(btn);
        });
        check.table = {total: nTrials, matched: matched.length, shown: to - from,
                       columns: cols.map(function (c) { return c.name; }),
                       sort: cols[state.sort].key, desc: state.desc, filter: state.filter,
                       first: shown.slice(0, 5)};
        writeCheck();
      }
      stateSel.addEventListener('change', function () {
        state.filter = stateSel.value; state.page = 0; refresh();
      });
      search.addEventListener('input', function () {
        clearTimeout(typingTimer);
        state.q = search.value;
        typingTimer = setTimeout(function () { state.page = 0; refresh(); }, 200);
      });
      refresh();
    })();

    app.appendChild(el('footer', {text: live
      ? 'caviar ' + st.caviar + ' dashboard: the data of ' + st.generated + ', served live. ' +
        'Charts: Apache ECharts ' + st.echarts + ' (Apache License 2.0).'
      : 'caviar ' + st.caviar + ' report, generated ' + st.generated + '. Charts: Apache ' +
        'ECharts ' + st.echarts + ' (Apache License 2.0), embedded: this file works offline.'}));
    check.done = pending === 0;
    writeCheck();
  }

  /* ---- live: the dashboard's pages ------------------------------------------------------- */

  function timeText(d) {
    function two(n) { return (n < 10 ? '0' : '') + n; }
    return two(d.getHours()) + ':' + two(d.getMinutes()) + ':' + two(d.getSeconds());
  }

  /* The dashboard's list of studies, from /api/studies. */
  function renderIndex(data) {
    var app = document.getElementById('app');
    app.textContent = '';
    app.appendChild(el('h1', {text: 'Studies'}));
    app.appendChild(el('p', {className: 'note', text: data.studies.length + ' ' +
      (data.studies.length === 1 ? 'study' : 'studies') + ' in ' + data.storage + '.'}));
    var s = el('section', {id: 'studies'});
    app.appendChild(s);
    if (!data.studies.length) {
      s.appendChild(el('div', {className: 'empty', text: 'No study yet: caviar tune writes one.'}));
    } else {
      var cols = ['study', 'direction', 'sampler', 'pruner', 'trials', 'complete', 'pruned',
                  'failed', 'running', 'waiting', 'best', 'best trial', 'last activity (UTC)'];
      var table = el('table', {id: 'studies-table'});
      table.appendChild(el('tr', null, cols.map(function (c, k) {
        return el('th', {text: c, className: k >= 4 && k <= 11 ? 'num' : ''});
      })));
      data.studies.forEach(function (x) {
        var cells = [el('a', {href: x.url, text: x.name}), x.direction, x.sampler, x.pruner,
                     count(x.trials), count(x.complete), count(x.pruned), count(x.fail),
                     count(x.running), count(x.waiting), x.best ? fmt(x.best.value) : '–',
                     x.best ? String(x.best.trial) : '–',
                     x.last ? x.last.replace('T', ' ').replace('Z', '') : '–'];
        table.appendChild(el('tr', {className: x.running ? 'state-running' : ''},
          cells.map(function (c, k) {
            return el('td', {className: k >= 4 && k <= 11 ? 'num' : ''}, [c]);
          })));
      });
      s.appendChild(el('div', {className: 'tablewrap'}, [table]));
    }
    check.index = {studies: data.studies.length,
                   names: data.studies.map(function (x) { return x.name; }),
                   trials: data.studies.map(function (x) { return x.trials; })};
    check.done = true;
  }

  /* Fetches cfg.api every cfg.refresh seconds (asking with the ETag it holds: 304 while nothing
   * changed) and redraws on a change, keeping the reader's view. Waits while the page is hidden
   * or a mouse button is down (a zoom or a brush being dragged); a redraw that took long spaces
   * the next look out. */
  function live(cfg) {
    var bar = document.getElementById('live');
    var dot = el('span', {className: 'dot'});
    var msg = el('span', {id: 'live-status'});
    var pause = el('button', {type: 'button', id: 'live-pause', text: 'pause'});
    if (cfg.mode === 'study') bar.appendChild(el('a', {href: cfg.home, text: '← all studies'}));
    bar.appendChild(dot);
    bar.appendChild(msg);
    bar.appendChild(pause);
    var etag = null, timer = null, paused = false, mouseDown = false, failures = 0;
    var interval = 1000 * (cfg.refresh > 0 ? cfg.refresh : 2), drawMs = 0;
    check.live = {mode: cfg.mode, renders: 0, polls: 0, not_modified: 0, etag: null};
    document.addEventListener('mousedown', function () { mouseDown = true; }, true);
    document.addEventListener('mouseup', function () { mouseDown = false; }, true);
    function say(kind, text) {
      bar.className = 'live ' + kind;
      msg.textContent = text;
    }
    function schedule(ms) {
      clearTimeout(timer);
      timer = setTimeout(poll, ms);
    }
    pause.addEventListener('click', function () {
      paused = !paused;
      pause.textContent = paused ? 'resume' : 'pause';
      if (paused) { clearTimeout(timer); say('paused', 'paused: the page no longer updates'); }
      else poll();
    });
    document.addEventListener('visibilitychange', function () {
      if (!document.hidden && !paused) schedule(0);
    });
    var lastData = null;
    redrawLast = function () { if (lastData) draw(lastData); };
    function draw(data) {
      lastData = data;
      var t0 = performance.now();
      if (cfg.mode === 'index') {
        renderIndex(data);
      } else {
        var focus = document.activeElement && document.activeElement.id, sel = null;
        if (focus === 'trials-search')
          sel = [document.activeElement.selectionStart, document.activeElement.selectionEnd];
        var app = document.getElementById('app');
        var x = window.scrollX, y = window.scrollY;
        app.style.minHeight = app.offsetHeight + 'px';
        saveView();
        render(data, true);
        window.scrollTo(x, y);
        setTimeout(function () { app.style.minHeight = ''; }, 2000);
        var f = focus && document.getElementById(focus);
        if (f) {
          f.focus();
          if (sel) f.setSelectionRange(sel[0], sel[1]);
        }
        document.title = data.study.name + ' (' + count(data.study.counts.trials) +
                         ' trials) · caviar dashboard';
      }
      drawMs = performance.now() - t0;
      check.live.renders++;
      check.live.etag = etag;
      var n = cfg.mode === 'index' ? data.studies.length : data.study.counts.trials;
      say('ok', 'live: ' + count(n) + (cfg.mode === 'index' ? ' studies' : ' trials') +
          ', updated ' + timeText(new Date()));
      writeCheck();
    }
    function poll() {
      clearTimeout(timer);
      if (paused) return;
      if (document.hidden || mouseDown) { schedule(500); return; }
      var headers = {};
      if (etag) headers['If-None-Match'] = etag;
      check.live.polls++;
      fetch(cfg.api, {headers: headers, cache: 'no-store', credentials: 'same-origin'})
        .then(function (r) {
          if (r.status === 304) return null;
          if (!r.ok)
            return r.json().catch(function () { return {}; }).then(function (j) {
              throw new Error(j.error || 'HTTP ' + r.status);
            });
          var tag = r.headers.get('ETag');
          return r.json().then(function (d) { etag = tag; return d; });
        })
        .then(function (d) {
          failures = 0;
          if (d) draw(d);
          else {
            check.live.not_modified++;
            say('ok', msg.textContent.replace(/^(live|retrying)[^:]*: /, 'live: '));
            writeCheck();
          }
          schedule(Math.max(interval, 3 * drawMs));
        })
        .catch(function (e) {
          failures++;
          say('error', 'cannot update (' + e.message + '); trying again');
          check.live.error = e.message;
          writeCheck();
          schedule(Math.min(30000, interval * Math.pow(2, Math.min(failures, 4))));
        });
    }
    say('ok', 'loading…');
    poll();
  }

  /* A report holds its data; a dashboard's page says where to fetch it. */
  var liveCfg = document.getElementById('caviar-live');
  if (liveCfg) {
    try {
      live(JSON.parse(liveCfg.textContent));
    } catch (e) {
      check.errors.push('cannot start the live page: ' + e.message);
      writeCheck();
    }
  } else {
    var data;
    try {
      data = JSON.parse(document.getElementById('caviar-data').textContent);
    } catch (e) {
      check.errors.push('cannot read the data: ' + e.message);
      writeCheck();
      return;
    }
    render(data, false);
  }

})();
