// The review page's script: postcall's own, inlined by src/report/html/page.rs.
//
// It reads the report data embedded in #data and draws four views: the overview (per
// metric distribution, statuses, confidence and evidence rates, trends), the calls table
// (filtered, searched, sorted, rendered in a window of rows so 100k calls stay quick), one
// call (answers, evidence quotes linked into the transcript) and, with --compare, what
// `postcall diff` found. What is shown lives in the URL hash (#tab=calls&where=…&call=…),
// so a link or a reload shows the same thing, and a headless browser can be pointed at a
// state. Report text is untrusted: it only ever goes into the page as text nodes.
(function () {
  'use strict';
  const started = performance.now();
  const D = JSON.parse(document.getElementById('data').textContent);

  /** The calls' text: JSON as it is, or (a big page) gzip'd JSON in base64. */
  function loadText() {
    const source = document.getElementById('text');
    if (source.getAttribute('data-encoding') !== 'gzip') return Promise.resolve(JSON.parse(source.textContent));
    const text = source.textContent.trim();
    let bytes;
    if (Uint8Array.fromBase64) bytes = Uint8Array.fromBase64(text);
    else {
      const raw = atob(text);
      bytes = new Uint8Array(raw.length);
      for (let i = 0; i < raw.length; i++) bytes[i] = raw.charCodeAt(i);
    }
    const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream('gzip'));
    return new Response(stream).text().then(JSON.parse);
  }

  start(D);

  function start(D) {
    const C = D.calls;
    const N = C.id.length;
    const METRICS = D.metrics;
    const BY_ID = {};
    METRICS.forEach(function (m) { BY_ID[m.id] = m; });
    const STATUS = { o: 'ok', n: 'null', a: 'not_applicable', i: 'invalid', m: 'missing' };
    const STATUS_ORDER = ['ok', 'null', 'not_applicable', 'invalid', 'missing'];
    const ROW = 28;
    const main = document.getElementById('main');
    const perf = document.getElementById('perf');
    let textReady = false;

    // ---- building the page -------------------------------------------------------------

    function el(tag, attrs) {
      const node = document.createElement(tag);
      setAll(node, attrs);
      for (let i = 2; i < arguments.length; i++) add(node, arguments[i]);
      return node;
    }

    const SVG = 'http://www.w3.org/2000/svg';
    function sv(tag, attrs) {
      const node = document.createElementNS(SVG, tag);
      setAll(node, attrs);
      for (let i = 2; i < arguments.length; i++) add(node, arguments[i]);
      return node;
    }

    function setAll(node, attrs) {
      if (!attrs) return;
      Object.keys(attrs).forEach(function (k) {
        const v = attrs[k];
        if (v === null || v === undefined || v === false) return;
        if (k === 'text') node.textContent = String(v);
        else if (k.startsWith('on')) node.addEventListener(k.slice(2), v);
        else node.setAttribute(k, String(v));
      });
    }

    function add(node, kid) {
      if (kid === null || kid === undefined || kid === false) return;
      if (Array.isArray(kid)) kid.forEach(function (k) { add(node, k); });
      else if (typeof kid === 'object') node.appendChild(kid);
      else node.appendChild(document.createTextNode(String(kid)));
    }

    function pct(part, whole) {
      return whole > 0 ? (100 * part / whole).toFixed(1) + '%' : '-';
    }

    function num(x) {
      if (x === null || x === undefined) return '-';
      return Math.abs(x) >= 100 || Number.isInteger(x) ? String(Math.round(x * 100) / 100) : x.toFixed(2);
    }

    // ---- what the report says about one call -------------------------------------------

    function display(v) {
      if (Array.isArray(v)) return v.join('; ');
      return String(v);
    }

    function statusOf(id, i) { return STATUS[C.metrics[id].s[i]]; }

    /** The value text, or the status name: what `postcall filter` shows in its table. */
    function shown(id, i) {
      const col = C.metrics[id];
      const s = STATUS[col.s[i]];
      return s === 'ok' ? display(col.v[i]) : s;
    }

    function extras(id, i) {
      const xs = C.metrics[id].x;
      return !xs || xs[i] === 0 ? {} : xs[i];
    }

    // ---- the state in the URL hash -----------------------------------------------------

    function readState() {
      const p = new URLSearchParams(location.hash.slice(1));
      return {
        tab: p.get('tab') || (p.get('call') ? 'call' : 'overview'),
        where: p.getAll('where'),
        q: p.get('q') || '',
        sort: p.get('sort') || '',
        desc: p.get('desc') === '1',
        call: p.get('call'),
        ev: p.get('ev'),
        minconf: p.get('minconf') || '',
        row: parseInt(p.get('row') || '0', 10) || 0,
      };
    }

    function writeState(s) {
      const p = new URLSearchParams();
      p.set('tab', s.tab);
      s.where.forEach(function (w) { p.append('where', w); });
      if (s.q) p.set('q', s.q);
      if (s.sort) p.set('sort', s.sort);
      if (s.desc) p.set('desc', '1');
      if (s.minconf) p.set('minconf', s.minconf);
      if (s.call) p.set('call', s.call);
      if (s.ev) p.set('ev', s.ev);
      history.replaceState(null, '', '#' + p.toString());
    }

    let state = readState();

    function go(changes) {
      state = Object.assign({}, state, changes);
      writeState(state);
      render();
    }

    // ---- conditions, as `postcall filter --where` reads them (src/filter.rs) -------------

    const OPS = ['!=', '<=', '>=', '==', '=', '<', '>', '~'];

    function shapeOf(type) {
      if (type === 'enum' || type === 'boolean') return 'categorical';
      if (type === 'integer' || type === 'number') return 'numeric';
      if (type === 'datetime') return 'date';
      if (type === 'list') return 'set';
      return 'text';
    }

    function normalizeText(text) {
      let out = '';
      let space = false;
      for (const ch of String(text)) {
        if (/[\p{L}\p{N}]/u.test(ch)) {
          if (space && out) out += ' ';
          space = false;
          out += ch.toLowerCase();
        } else if (/\s/u.test(ch) || '-_/\\|:;,'.includes(ch)) {
          space = true;
        }
      }
      return out;
    }

    function dateOf(text) {
      const head = String(text).trim().slice(0, 10);
      return /^\d{4}-\d{2}-\d{2}$/.test(head) && !isNaN(Date.parse(head + 'T00:00:00Z')) ? head : null;
    }

    function itemSet(items) {
      const set = new Set();
      items.forEach(function (i) { const n = normalizeText(i); if (n) set.add(n); });
      return set;
    }

    function parseCondition(text) {
      const start = text.search(/[!<>=~:]/);
      if (start < 0) throw new Error('no operator; write METRIC=VALUE (or != < <= > >= ~), or METRIC:status=invalid');
      const metric = text.slice(0, start).trim();
      const m = BY_ID[metric];
      if (!m) throw new Error('no metric `' + metric + '` in the report; its metrics are: ' + METRICS.map(function (x) { return x.id; }).join(', '));
      let rest = text.slice(start);
      const byStatus = rest.startsWith(':');
      if (byStatus) {
        rest = rest.slice(1).trimStart();
        if (!rest.startsWith('status')) throw new Error('after `:` only `status` is known, as in METRIC:status=invalid');
        rest = rest.slice(6).trimStart();
      }
      const op = OPS.find(function (o) { return rest.startsWith(o); });
      if (!op) throw new Error('no operator; use = != < <= > >= or ~');
      const value = rest.slice(op.length).trim();
      const cond = { metric: metric, type: m.type, op: op === '==' ? '=' : op, text: text };
      if (byStatus) {
        if (cond.op !== '=' && cond.op !== '!=') throw new Error('a status is compared with = or != only');
        const s = STATUS_ORDER.find(function (x) { return x === value.toLowerCase(); });
        if (!s) throw new Error('`' + value + '` is not a status; statuses are: ' + STATUS_ORDER.join(', '));
        cond.status = s;
        return cond;
      }
      cond.value = typedValue(m, cond.op, value);
      return cond;
    }

    function typedValue(m, op, text) {
      const ordered = ['<', '<=', '>', '>='].includes(op);
      const shape = shapeOf(m.type);
      if (shape === 'numeric') {
        if (op === '~') throw new Error('`~` (contains) needs a text or list metric; `' + m.id + '` is a number');
        const n = Number(text);
        if (text === '' || !isFinite(n)) throw new Error('`' + text + '` is not a number, and `' + m.id + '` is a ' + m.type + ' metric');
        return n;
      }
      if (shape === 'date') {
        if (op === '~') throw new Error('`~` (contains) needs a text or list metric; `' + m.id + '` is a datetime');
        if (!dateOf(text)) throw new Error('`' + text + '` is not a date like 2024-03-15');
        return text;
      }
      if (ordered) throw new Error('`' + m.id + '` is a ' + m.type + ' metric: < <= > >= need a number or a date; use = != or ~');
      if (shape === 'categorical') {
        if (m.type === 'boolean') {
          const t = text.toLowerCase();
          if (t === 'true' || t === 'yes') return true;
          if (t === 'false' || t === 'no') return false;
          throw new Error('`' + text + '` is not true or false (`' + m.id + '` is a boolean)');
        }
        if (op === '~' || !m.choices) return text;
        const choice = m.choices.find(function (c) { return c.toLowerCase() === text.toLowerCase(); });
        if (choice === undefined) throw new Error('`' + text + '` is not one of the choices of `' + m.id + '` (' + m.choices.join(', ') + ')');
        return choice;
      }
      if (shape === 'set') return text.split(';').map(function (s) { return s.trim(); }).filter(Boolean);
      return text;
    }

    function sameValue(type, a, b) {
      switch (shapeOf(type)) {
        case 'numeric': return Math.abs(a - b) <= 1e-9 * Math.max(Math.abs(a), Math.abs(b), 1);
        case 'text': return normalizeText(display(a)) === normalizeText(display(b));
        case 'date': {
          const x = dateOf(display(a)), y = dateOf(display(b));
          return x && y ? x === y : display(a).trim() === display(b).trim();
        }
        case 'set': {
          if (!Array.isArray(a) || !Array.isArray(b)) return false;
          const x = itemSet(a), y = itemSet(b);
          return x.size === y.size && Array.from(x).every(function (i) { return y.has(i); });
        }
        default:
          return a === b || (type === 'enum' && display(a).toLowerCase() === display(b).toLowerCase());
      }
    }

    function matches(cond, i) {
      const col = C.metrics[cond.metric];
      const status = STATUS[col.s[i]];
      if (cond.status) return (status === cond.status) !== (cond.op === '!=');
      if (status !== 'ok') return cond.op === '!=';
      const v = col.v[i];
      switch (cond.op) {
        case '=': return sameValue(cond.type, v, cond.value);
        case '!=': return !sameValue(cond.type, v, cond.value);
        case '~':
          if (Array.isArray(v)) return itemSet(v).has(normalizeText(display(cond.value)));
          return display(v).toLowerCase().includes(display(cond.value).toLowerCase());
        default: {
          let x, y;
          if (shapeOf(cond.type) === 'numeric') { x = v; y = cond.value; }
          else { x = dateOf(display(v)); y = dateOf(display(cond.value)); if (!x || !y) return false; }
          if (cond.op === '<') return x < y;
          if (cond.op === '<=') return x <= y;
          if (cond.op === '>') return x > y;
          return x >= y;
        }
      }
    }

    // ---- the tabs ----------------------------------------------------------------------

    const TABS = [['overview', 'Overview', '1'], ['calls', 'Calls', '2'], ['call', 'One call', '3']];
    if (D.compare) TABS.push(['compare', 'Compare', '4']);

    function renderTabs() {
      const nav = document.getElementById('tabs');
      nav.replaceChildren();
      nav.setAttribute('role', 'tablist');
      TABS.forEach(function (t) {
        nav.appendChild(el('button', {
          role: 'tab', 'aria-selected': state.tab === t[0] ? 'true' : 'false', 'data-tab': t[0],
          title: 'Key ' + t[2], onclick: function () { go({ tab: t[0] }); },
        }, t[1], ' ', el('kbd', { text: t[2] })));
      });
    }

    // ---- overview ----------------------------------------------------------------------

    /** Horizontal bars, one per row {value, count}: the label, the bar, and the count and
     *  share as text. `opts`: `rowClass`, `max` (the count a full bar is), `note(row)` (the
     *  text after a bar instead of count and share), `attrs(row)` (the row's data
     *  attributes instead of its count), and `stacked`: each row is then one full-width bar
     *  of its `parts` ({value, count}, a share of the row each), every part with its own
     *  pattern, named in a legend above, so the parts read without colour. */
    function bars(metricId, counts, total, opts) {
      opts = opts || {};
      const width = 400, labelW = 130, rowH = 20, barMax = width - labelW - 90;
      const max = opts.max || Math.max(1, ...counts.map(function (c) { return c.count; }));
      const legend = opts.stacked && counts.length ? legendOf(counts[0].parts, width) : null;
      const top = legend ? legend.height : 0;
      const svg = sv('svg', {
        class: 'chart', width: width, height: top + counts.length * rowH + 4, role: 'img',
        'aria-label': opts.label || metricId + ': ' + counts.map(function (c) { return c.value + ' ' + c.count; }).join(', '),
      });
      if (legend) svg.appendChild(legend.node);
      counts.forEach(function (c, k) {
        const y = top + k * rowH + 2;
        const w = opts.stacked ? (c.count ? barMax : 0) : Math.round(barMax * c.count / max);
        const attrs = opts.attrs ? opts.attrs(c) : { 'data-count': c.count };
        const bar = opts.stacked ? segments(c, y + 3, labelW, barMax, rowH - 6)
          : sv('rect', { class: 'bar', x: labelW, y: y + 3, width: Math.max(w, c.count ? 1 : 0), height: rowH - 6 });
        const note = opts.note ? opts.note(c) : c.count + ' (' + pct(c.count, total) + ')';
        svg.appendChild(sv('g', Object.assign({ class: opts.rowClass || 'bar-row', 'data-metric': metricId, 'data-value': c.value }, attrs),
          sv('title', { text: c.value + ': ' + note }),
          label(clip(c.value, 20), labelW - 6, y + 14, labelW - 10),
          bar,
          sv('text', { x: labelW + w + 6, y: y + 14, text: note })));
      });
      return svg;
    }

    /** A bar's label, right-aligned at x. One that would be wider than `room` pixels (20
     *  capitals are; the width is estimated, the chart is built before it is on screen) is
     *  squeezed to fit rather than run off the chart's left edge. */
    function label(text, x, y, room) {
      const attrs = { x: x, y: y, 'text-anchor': 'end', text: text };
      let estimate = 0;
      for (const ch of text) estimate += /[A-Z0-9@#%&MW]/.test(ch) ? 8.2 : 6.4;
      if (estimate > room) { attrs.textLength = room; attrs.lengthAdjust = 'spacingAndGlyphs'; }
      return sv('text', attrs);
    }

    /** How many patterns (and colours) parts of a stacked bar cycle through. */
    const PATTERNS = 8;
    /** Each pattern's lines on a 6-pixel tile: none, stripes one way and the other, across,
     *  crossed, dots, down, dots again (on another colour). page.css fills the parts with them (`url(#pattern-K)`). */
    const HATCH = ['', 'M-1,1 L1,-1 M0,6 L6,0 M5,7 L7,5', 'M-1,5 L1,7 M0,0 L6,6 M5,-1 L7,1', 'M0,3 H6', 'M0,0 L6,6 M6,0 L0,6', '', 'M3,0 V6', ''];
    const DOTTED = [5, 7];
    document.body.appendChild(sv('svg', { width: 0, height: 0, 'aria-hidden': 'true', style: 'position:absolute' },
      sv('defs', null, HATCH.map(function (d, k) {
        return sv('pattern', { id: 'pattern-' + k, width: 6, height: 6, patternUnits: 'userSpaceOnUse' },
          sv('rect', { class: 'pattern-bg p' + k, width: 6, height: 6 }),
          d ? sv('path', { class: 'pattern-line', d: d }) : null,
          DOTTED.includes(k) ? sv('circle', { class: 'pattern-dot', cx: 3, cy: 3, r: 1.3 }) : null);
      }))));

    /** A stacked bar's parts, side by side, each its share of the row's width. */
    function segments(row, y, x0, width, height) {
      const g = sv('g', { class: 'stack' });
      let x = x0;
      row.parts.forEach(function (p, k) {
        const w = row.count ? width * p.count / row.count : 0;
        g.appendChild(sv('rect', { class: 'seg p' + (k % PATTERNS), 'data-part': p.value, 'data-count': p.count, x: x.toFixed(1), y: y, width: w.toFixed(1), height: height },
          sv('title', { text: p.value + ': ' + p.count + ' (' + pct(p.count, row.count) + ')' })));
        x += w;
      });
      return g;
    }

    /** A swatch and its name per part, wrapped to the chart's width. */
    function legendOf(parts, width) {
      const node = sv('g', { class: 'legend', 'aria-hidden': 'true' });
      let x = 0, y = 0;
      parts.forEach(function (p, k) {
        const label = clip(p.value, 24), w = 22 + label.length * 6.5;
        if (x > 0 && x + w > width) { x = 0; y += 16; }
        node.appendChild(sv('rect', { class: 'seg p' + (k % PATTERNS), x: x, y: y + 2, width: 12, height: 12 }));
        node.appendChild(sv('text', { x: x + 16, y: y + 12, text: label }));
        x += w;
      });
      return { node: node, height: y + 20 };
    }

    function clip(text, n) {
      const s = String(text);
      return s.length > n ? s.slice(0, n - 1) + '…' : s;
    }

    function distribution(st) {
      const d = st.distribution;
      const total = STATUS_ORDER.reduce(function (a, s) { return a + st[s]; }, 0);
      if (d.shape === 'categories') return bars(st.id, d.counts, total);
      if (d.shape === 'numbers') {
        return el('div', null,
          bars(st.id, d.histogram, st.ok),
          el('p', { class: 'muted' }, 'mean ' + num(d.mean) + ', median ' + num(d.median) + ', min ' + num(d.min) + ', max ' + num(d.max)));
      }
      return el('div', null, bars(st.id, d.top, st.ok), el('p', { class: 'muted' }, d.distinct + ' distinct; the most frequent shown'));
    }

    function statusTable(st) {
      const total = STATUS_ORDER.reduce(function (a, s) { return a + st[s]; }, 0);
      return el('table', { class: 'statuses' },
        el('tbody', null, STATUS_ORDER.map(function (s) {
          return el('tr', null, el('th', { text: s }),
            el('td', { class: 'num', 'data-status': s, text: st[s] }),
            el('td', { class: 'num muted', text: pct(st[s], total) }));
        })));
    }

    /** Confidence and evidence rates over the calls, from the columns. */
    function rates(id) {
      const col = C.metrics[id];
      let conf = 0, confN = 0, low = 0, quotes = 0, verified = 0, consistency = 0, consN = 0;
      for (let i = 0; i < N; i++) {
        const c = col.c[i];
        if (c !== null && c !== undefined) { conf += c; confN++; if (c < 0.5) low++; }
        const x = col.x ? col.x[i] : 0;
        if (x !== 0) {
          (x.evidence || []).forEach(function (e) { quotes++; if (e.verified) verified++; });
          if (typeof x.consistency === 'number') { consistency += x.consistency; consN++; }
        }
      }
      const rows = [
        ['mean confidence', confN ? num(conf / confN) : '-', 'confidence'],
        ['confidence below 0.5', confN ? low + ' (' + pct(low, confN) + ')' : '-', 'low-confidence'],
      ];
      if (quotes) rows.push(['evidence verified', verified + ' of ' + quotes + ' quotes (' + pct(verified, quotes) + ')', 'evidence-verified']);
      if (consN) rows.push(['mean consistency', num(consistency / consN), 'consistency']);
      return el('table', { class: 'rates' }, el('tbody', null, rows.map(function (r) {
        return el('tr', null, el('th', { text: r[0] }), el('td', { 'data-rate': r[2], text: r[1] }));
      })));
    }

    /** A metric whose samples agree less than `stats --flaky-below` (0.80): one ask of it
     *  is close to a coin flip, which its chart alone does not show. */
    function flakyMark(st) {
      const c = st.consistency;
      if (!c || !c.flaky) return null;
      return el('span', {
        class: 'flaky', 'data-flaky': st.id,
        title: 'mean consistency ' + num(c.mean) + ' over ' + c.values + ' values, below ' + num(D.stats.flaky_below) +
          ': its samples often disagree, so one ask of it is close to a coin flip',
        text: 'flaky',
      });
    }

    function metricCard(st) {
      const m = BY_ID[st.id] || { type: st.type };
      return el('section', { class: 'card', 'data-metric': st.id },
        el('h3', null, st.id, ' ', el('span', { class: 'type', text: m.type + (m.inferred ? ' (inferred)' : '') }), ' ', flakyMark(st)),
        m.description ? el('p', { class: 'muted', text: m.description }) : null,
        distribution(st),
        el('div', { class: 'pair' }, statusTable(st), rates(st.id)),
        el('p', null, el('a', { href: '#tab=calls&where=' + encodeURIComponent(st.id + ':status=invalid'), text: 'calls with an invalid ' + st.id })));
    }

    function splitCards(by) {
      return by.metrics.map(function (cm) {
        return el('section', { class: 'card', 'data-metric': cm.id, 'data-by': by.by },
          el('h3', null, cm.id, ' ', el('span', { class: 'type', text: 'by ' + by.by })),
          cm.groups.map(function (g, k) {
            return el('div', { 'data-group': by.groups[k] },
              el('h3', { class: 'muted', text: by.by + ' = ' + by.groups[k] + ' (' + by.group_sizes[k] + ' calls)' }),
              distribution(g));
          }));
      });
    }

    function sum(xs) { return xs.reduce(function (a, b) { return a + b; }, 0); }

    /** One trend's chart, and its numbers as a table for reading or copying. */
    function trendFigure(id, title, chart, head, rows) {
      return el('figure', { class: 'trend', 'data-trend': id },
        el('figcaption', { text: title }), chart,
        el('details', null, el('summary', { text: 'the numbers' }),
          el('table', null, el('thead', null, el('tr', null, head.map(function (h, k) { return el('th', { class: k ? 'num' : null, text: h }); }))),
            el('tbody', null, rows.map(function (r) {
              return el('tr', null, r.map(function (v, k) { return el('td', { class: k ? 'num' : null, text: v }); }));
            })))));
    }

    /** The trend charts of one series (every call's, or one --by group's). */
    function trendFigures(t, series) {
      const total = sum(series.calls);
      const days = t.buckets.map(function (b, k) { return { value: b, count: series.calls[k] }; });
      const figures = [trendFigure('calls', 'Calls per ' + t.unit,
        bars('calls', days, total, { rowClass: 'trend-row', label: 'calls per ' + t.unit + ': ' + days.map(function (d) { return d.value + ' ' + d.count; }).join(', ') }),
        [t.unit, 'calls'], days.map(function (d) { return [d.value, d.count]; }))];
      series.metrics.forEach(function (mt) {
        if (mt.shape === 'mean') {
          const rows = t.buckets.map(function (b, k) { return { value: b, count: mt.means[k] === null ? 0 : mt.means[k], mean: mt.means[k] }; });
          const range = BY_ID[mt.id] && BY_ID[mt.id].range;
          figures.push(trendFigure(mt.id, mt.id + ': mean per ' + t.unit,
            bars(mt.id, rows, 0, {
              rowClass: 'trend-row', max: range ? range[1] : null,
              attrs: function (r) { return { 'data-mean': r.mean === null ? '' : r.mean }; },
              note: function (r) { return r.mean === null ? 'no values' : 'mean ' + num(r.mean); },
              label: mt.id + ', mean per ' + t.unit + ': ' + rows.map(function (r) { return r.value + ' ' + num(r.mean); }).join(', '),
            }),
            [t.unit, 'mean'], rows.map(function (r) { return [r.value, num(r.mean)]; })));
        } else {
          const rows = t.buckets.map(function (b, k) {
            return { value: b, count: sum(mt.counts[k]), parts: mt.categories.map(function (c, j) { return { value: c, count: mt.counts[k][j] }; }) };
          });
          figures.push(trendFigure(mt.id, mt.id + ': answers per ' + t.unit + ', as shares',
            bars(mt.id, rows, 0, {
              rowClass: 'trend-row', stacked: true,
              note: function (r) { return r.count + ' calls'; },
              label: mt.id + ', answers per ' + t.unit + ': ' + rows.map(function (r) {
                return r.value + ' ' + r.parts.filter(function (p) { return p.count; }).map(function (p) { return p.value + ' ' + p.count; }).join(' ');
              }).join(', '),
            }),
            [t.unit].concat(mt.categories),
            t.buckets.map(function (b, k) { return [b].concat(mt.counts[k]); })));
        }
      });
      return figures;
    }

    function trendsSection() {
      const t = D.trends;
      if (!t) return el('p', { class: 'muted', text: 'No trends: no call has a start time in its metadata (run with --metadata basic or all).' });
      const parts = [el('section', { class: 'card', id: 'trends' },
        t.undated ? el('p', { class: 'muted', text: t.undated + ' calls without a date are not counted here.' }) : null,
        el('div', { class: 'grid' }, trendFigures(t, t)))];
      if (t.by) {
        parts.push(el('h2', { text: 'Trends by ' + t.by.by }));
        t.by.groups.forEach(function (g, k) {
          parts.push(el('section', { class: 'card trend-group', 'data-trend-group': g },
            el('h3', { text: t.by.by + ' = ' + g + ' (' + sum(t.by.series[k].calls) + ' dated calls)' }),
            el('div', { class: 'grid' }, trendFigures(t, t.by.series[k]))));
        });
      }
      return parts;
    }

    function renderOverview() {
      const st = D.stats;
      main.appendChild(el('h2', { text: 'Overview: ' + st.calls + ' calls, ' + st.metrics.length + ' metrics' }));
      main.appendChild(el('div', { class: 'grid', id: 'metric-cards' }, st.metrics.map(metricCard)));
      if (st.by) {
        main.appendChild(el('h2', { text: 'Split by ' + st.by.by }));
        main.appendChild(el('div', { class: 'grid', id: 'by-cards' }, splitCards(st.by)));
      }
      main.appendChild(el('h2', { text: 'Trends' }));
      add(main, trendsSection());
    }

    // ---- calls -------------------------------------------------------------------------

    let lastKey = null, lastRows = null, filterError = null;

    /** The calls the filters, search and sort select, in order (cached by state). */
    function selected() {
      const key = JSON.stringify([state.where, state.q, state.sort, state.desc, state.minconf]);
      if (key === lastKey) return lastRows;
      const t = performance.now();
      filterError = null;
      let conds = [];
      try { conds = state.where.map(parseCondition); } catch (e) { filterError = e.message; conds = null; }
      const rows = [];
      const q = state.q.toLowerCase();
      const minconf = state.minconf === '' ? null : Number(state.minconf);
      const ids = METRICS.map(function (m) { return m.id; });
      for (let i = 0; conds && i < N; i++) {
        if (!conds.every(function (c) { return matches(c, i); })) continue;
        if (minconf !== null && !ids.every(function (id) { const c = C.metrics[id].c[i]; return c === null || c === undefined || c >= minconf; })) continue;
        if (q && !searchHit(i, q)) continue;
        rows.push(i);
      }
      if (state.sort) sortRows(rows);
      lastKey = key;
      lastRows = rows;
      perf.setAttribute('data-filter-ms', (performance.now() - t).toFixed(1));
      return rows;
    }

    function searchHit(i, q) {
      if (C.id[i].toLowerCase().includes(q) || C.source[i].toLowerCase().includes(q)) return true;
      if (C.summary && C.summary[i] && C.summary[i].toLowerCase().includes(q)) return true;
      return METRICS.some(function (m) {
        const col = C.metrics[m.id];
        const r = col.r ? col.r[i] : null;
        return (r && r.toLowerCase().includes(q)) || (col.s[i] === 'o' && display(col.v[i]).toLowerCase().includes(q));
      });
    }

    function sortRows(rows) {
      const key = state.sort;
      const dir = state.desc ? -1 : 1;
      let get;
      if (key === 'call_id') get = function (i) { return C.id[i]; };
      else if (key === 'started') get = function (i) { return C.started[i] || ''; };
      else if (C.metrics[key]) {
        const col = C.metrics[key];
        get = function (i) { return col.s[i] === 'o' ? col.v[i] : null; };
      } else return;
      rows.sort(function (a, b) {
        const x = get(a), y = get(b);
        if (x === y) return a - b;
        if (x === null) return 1;
        if (y === null) return -1;
        if (typeof x === 'number' && typeof y === 'number') return (x - y) * dir;
        return display(x).localeCompare(display(y)) * dir;
      });
    }

    function filterBar() {
      const metricSel = el('select', { 'aria-label': 'metric' }, METRICS.map(function (m) { return el('option', { value: m.id, text: m.id }); }));
      const opSel = el('select', { 'aria-label': 'operator' }, ['=', '!=', '<', '<=', '>', '>=', '~', ':status=', ':status!='].map(function (o) { return el('option', { value: o, text: o }); }));
      const value = el('input', { 'aria-label': 'value', placeholder: 'value or status', size: 14, list: 'value-hints' });
      const hints = el('datalist', { id: 'value-hints' });
      function fillHints() {
        hints.replaceChildren();
        const m = BY_ID[metricSel.value];
        const options = opSel.value.startsWith(':') ? STATUS_ORDER : (m.choices || (m.type === 'boolean' ? ['true', 'false'] : []));
        options.forEach(function (o) { hints.appendChild(el('option', { value: o })); });
      }
      metricSel.addEventListener('change', fillHints);
      opSel.addEventListener('change', fillHints);
      fillHints();
      const addCond = function () {
        if (!value.value.trim()) return;
        const op = opSel.value;
        const text = metricSel.value + (op.startsWith(':') ? op : op) + value.value.trim();
        go({ where: state.where.concat([text]), row: 0 });
      };
      value.addEventListener('keydown', function (e) { if (e.key === 'Enter') addCond(); });
      const search = el('input', { type: 'search', id: 'search', 'aria-label': 'search ids and text', placeholder: 'search id, source, text  (/)', value: state.q });
      search.addEventListener('change', function () { go({ q: search.value }); });
      const minconf = el('input', { type: 'number', min: 0, max: 1, step: 0.05, 'aria-label': 'minimum confidence', placeholder: 'min conf', value: state.minconf, style: 'width:7em' });
      minconf.addEventListener('change', function () { go({ minconf: minconf.value }); });
      const chips = state.where.map(function (w, k) {
        return el('span', { class: 'chip', 'data-where': w }, w,
          el('button', { 'aria-label': 'remove ' + w, text: '×', onclick: function () { go({ where: state.where.filter(function (_, j) { return j !== k; }) }); } }));
      });
      return el('div', { class: 'filters' }, 'Where', metricSel, opSel, value, hints,
        el('button', { text: 'Add', onclick: addCond }), chips, search, 'confidence ≥', minconf);
    }

    function renderCalls() {
      main.appendChild(filterBar());
      const rows = selected();
      if (filterError) main.appendChild(el('p', { class: 'bad', id: 'filter-error', role: 'alert', text: filterError }));
      main.appendChild(el('p', { id: 'match-count', 'data-matched': rows.length, 'data-total': N, 'aria-live': 'polite' },
        rows.length + ' of ' + N + ' calls match (' + pct(rows.length, N) + ')', ' ',
        el('span', { class: 'muted', text: 'j/k or ↑/↓ move, Enter opens, / searches' })));
      const columns = [['call_id', 'call'], ['started', 'started']].concat(METRICS.map(function (m) { return [m.id, m.id]; }));
      const head = el('tr', null, columns.map(function (c) {
        const sorted = state.sort === c[0];
        return el('th', {
          scope: 'col', tabindex: 0, 'data-sort': c[0], 'aria-sort': sorted ? (state.desc ? 'descending' : 'ascending') : 'none',
          onclick: function () { go({ sort: c[0], desc: sorted ? !state.desc : false }); },
          onkeydown: function (e) { if (e.key === 'Enter') e.target.click(); },
        }, c[1], sorted ? (state.desc ? ' ▼' : ' ▲') : '');
      }));
      const body = el('tbody', { id: 'call-rows' });
      const scroll = el('div', { class: 'table-scroll', id: 'table-scroll', tabindex: 0 },
        el('table', { id: 'calls-table' }, el('thead', null, head), body));
      main.appendChild(scroll);
      let cursor = Math.min(state.row, Math.max(rows.length - 1, 0));
      function paint() {
        const first = Math.max(0, Math.floor(scroll.scrollTop / ROW) - 10);
        const visible = Math.ceil((scroll.clientHeight || 600) / ROW) + 20;
        const last = Math.min(rows.length, first + visible);
        body.replaceChildren();
        body.appendChild(spacer(first * ROW, columns.length));
        for (let k = first; k < last; k++) body.appendChild(callRow(rows[k], k === cursor));
        body.appendChild(spacer((rows.length - last) * ROW, columns.length));
      }
      scroll.addEventListener('scroll', paint);
      scroll.addEventListener('keydown', function (e) {
        if (e.key === 'ArrowDown' || e.key === 'j') cursor = Math.min(cursor + 1, rows.length - 1);
        else if (e.key === 'ArrowUp' || e.key === 'k') cursor = Math.max(cursor - 1, 0);
        else if (e.key === 'Enter' && rows.length) { go({ tab: 'call', call: C.id[rows[cursor]], ev: null }); return; }
        else return;
        e.preventDefault();
        state.row = cursor;
        const top = cursor * ROW, bottom = top + ROW + ROW;
        if (top < scroll.scrollTop + ROW) scroll.scrollTop = Math.max(0, top - ROW);
        else if (bottom > scroll.scrollTop + scroll.clientHeight) scroll.scrollTop = bottom - scroll.clientHeight;
        paint();
      });
      paint();
    }

    function spacer(height, span) {
      return el('tr', { class: 'spacer', 'aria-hidden': 'true', style: 'height:' + height + 'px' }, el('td', { colspan: span }));
    }

    function callRow(i, current) {
      const link = el('a', { href: '#tab=call&call=' + encodeURIComponent(C.id[i]), text: C.id[i] });
      return el('tr', { 'data-call-id': C.id[i], 'aria-selected': current ? 'true' : 'false' },
        el('td', { title: C.source[i] }, link, C.errors && C.errors[i] !== 0 ? el('span', { class: 'bad', text: ' (errors)' }) : null),
        el('td', { class: 'muted', text: C.started[i] ? C.started[i].slice(0, 16).replace('T', ' ') : '' }),
        METRICS.map(function (m) {
          const s = statusOf(m.id, i);
          const c = C.metrics[m.id].c[i];
          return el('td', { class: 'status-' + s, 'data-metric': m.id, title: c !== null && c !== undefined ? 'confidence ' + num(c) : s, text: shown(m.id, i) });
        }));
    }

    // ---- one call ----------------------------------------------------------------------

    function callIndex(id) {
      if (id === null || id === undefined) return N ? 0 : -1;
      return C.id.indexOf(id);
    }

    function renderCall() {
      const i = callIndex(state.call);
      if (i < 0) {
        main.appendChild(el('p', { class: 'bad', role: 'alert', text: N ? 'No call `' + state.call + '` in this report.' : 'The report has no calls.' }));
        return;
      }
      if (!textReady) {
        main.appendChild(el('p', { class: 'muted', id: 'text-loading', text: 'Reading the calls\' text…' }));
        return;
      }
      const rows = selected();
      const k = rows.indexOf(i);
      const nav = el('p', { class: 'filters' },
        el('button', { text: '← previous (p)', disabled: k <= 0, onclick: function () { go({ call: C.id[rows[k - 1]], ev: null }); } }),
        el('button', { text: 'next (n) →', disabled: k < 0 || k >= rows.length - 1, onclick: function () { go({ call: C.id[rows[k + 1]], ev: null }); } }),
        el('a', { href: '#tab=calls', text: 'back to the calls (Esc)' }));
      main.appendChild(nav);
      main.appendChild(el('h2', { id: 'call-title' }, 'Call ', el('code', { text: C.id[i] })));
      const facts = C.facts[i] || {};
      main.appendChild(el('dl', { class: 'facts', id: 'call-facts' },
        fact('source', C.source[i]), fact('format', facts.format), fact('started', C.started[i]),
        facts.call ? Object.keys(facts.call).map(function (k) { return fact(k, display(facts.call[k])); }) : null,
        facts.requests ? fact('requests', facts.requests[0] + ' (' + facts.requests[1] + ' cached answers)') : null,
        facts.cost_usd !== undefined ? fact('cost', '$' + facts.cost_usd.toFixed(5)) : null,
        facts.skipped ? fact('skipped', facts.skipped) : null,
        facts.truncated ? fact('truncated', facts.truncated.note) : null));
      if (C.summary[i]) main.appendChild(el('p', { id: 'call-summary' }, el('strong', { text: 'Summary: ' }), C.summary[i]));
      if (C.errors[i] !== 0) {
        main.appendChild(el('div', { id: 'call-errors', class: 'bad' }, el('h3', { text: 'Errors' }),
          el('ul', null, C.errors[i].map(function (e) { return el('li', { text: (e.metric ? e.metric + ': ' : '') + e.message }); }))));
      }
      const answers = el('div', { id: 'answers' }, METRICS.map(function (m) { return metricResult(m, i); }));
      main.appendChild(el('div', { class: 'call-layout' }, answers, transcript(i)));
      if (state.ev) {
        const target = document.getElementById('ev-' + state.ev) || document.querySelector('mark[data-evidence~="' + CSS.escape(state.ev) + '"]');
        if (target) { target.classList.add('current'); target.scrollIntoView({ block: 'center' }); }
      }
    }

    function fact(label, value) {
      if (value === null || value === undefined || value === '') return null;
      return el('div', null, el('dt', { text: label }), el('dd', { text: value }));
    }

    function metricResult(m, i) {
      const col = C.metrics[m.id];
      const s = STATUS[col.s[i]];
      const x = extras(m.id, i);
      const conf = col.c[i];
      const evidence = (x.evidence || []).map(function (e, k) {
        const key = m.id + '-' + k;
        return el('li', { 'data-evidence': key, 'data-verified': e.verified ? 'true' : 'false' },
          el('a', { href: '#tab=call&call=' + encodeURIComponent(C.id[i]) + '&ev=' + encodeURIComponent(key) }, '“' + e.quote + '”'),
          ' ', el('span', { class: 'muted', text: 'turn ' + e.turn + (e.verified ? ', verified' : ', NOT verified in the transcript') }));
      });
      return el('section', { class: 'metric-result', 'data-metric': m.id, 'data-status': s },
        el('h3', null, m.id, ' ', el('span', { class: 'type', text: m.type })),
        el('div', null, el('span', { class: 'value status-' + s, text: s === 'ok' ? display(col.v[i]) : s }),
          s === 'ok' ? el('span', { class: 'muted', text: '  (' + s + ')' }) : null,
          conf !== null && conf !== undefined ? el('span', { class: 'muted', text: '  confidence ' + num(conf) }) : null,
          typeof x.consistency === 'number' ? el('span', { class: 'muted', text: '  consistency ' + num(x.consistency) }) : null),
        col.r[i] ? el('p', { class: 'reasoning', text: col.r[i] }) : null,
        x.reason ? el('p', { class: 'bad', text: 'invalid: ' + x.reason }) : null,
        x.raw !== undefined ? el('pre', { class: 'reasoning', text: 'last answer: ' + x.raw }) : null,
        evidence.length ? el('ol', { class: 'evidence-list', start: 0 }, evidence) : null);
    }

    /** Quotes of every metric of call i, by the turn they are in: where postcall found
     *  them (`found_in_turn`) when that is not the turn the model cited. */
    function quotesByTurn(i) {
      const out = {};
      METRICS.forEach(function (m) {
        (extras(m.id, i).evidence || []).forEach(function (e, k) {
          const at = typeof e.found_in_turn === 'number' ? e.found_in_turn : e.turn;
          (out[at] = out[at] || []).push({ key: m.id + '-' + k, quote: e.quote });
        });
      });
      return out;
    }

    function transcript(i) {
      const t = D.transcripts.calls[i];
      if (typeof t === 'string') return el('section', { class: 'transcript', id: 'transcript' }, el('p', { class: 'muted', id: 'transcript-note', text: t }));
      const quotes = quotesByTurn(i);
      // Numbered as the run's prompt numbered them (postcall embeds the number), the
      // numbers evidence cites; a turn the prompt left out is shown, unnumbered.
      return el('section', { class: 'transcript', id: 'transcript', 'aria-label': 'transcript' },
        t.map(function (turn) {
          const n = turn[3] === undefined ? null : turn[3];
          const conversational = n !== null;
          const cited = n === null ? [] : quotes[n] || [];
          const at = turn[2] !== null && turn[2] !== undefined ? clock(turn[2]) : '';
          return el('div', { class: 'turn' + (conversational ? '' : ' other') + (cited.length ? ' cited' : ''), id: n === null ? null : 'turn-' + n, 'data-turn': n },
            el('span', { class: 'n', text: (n === null ? '' : '#' + n) + (n !== null && at ? ' ' : '') + at }),
            el('span', { class: 'who', text: turn[0] }),
            el('span', { class: 'said' }, highlight(turn[1], cited)));
        }));
    }

    function clock(secs) {
      const s = Math.floor(secs);
      return Math.floor(s / 60) + ':' + String(s % 60).padStart(2, '0');
    }

    /** The turn's text with each quote found in it marked; a quote not found marks nothing. */
    function highlight(text, cited) {
      const lower = text.toLowerCase();
      const spans = [];
      cited.forEach(function (q) {
        const at = lower.indexOf(String(q.quote).toLowerCase().trim());
        if (at >= 0 && q.quote.trim()) spans.push([at, at + q.quote.trim().length, q.key]);
      });
      spans.sort(function (a, b) { return a[0] - b[0]; });
      const out = [];
      let pos = 0, last = null;
      spans.forEach(function (s) {
        // Two metrics often quote the same words: one mark holds both keys, so either
        // link finds it.
        if (s[0] < pos) { last.setAttribute('data-evidence', last.getAttribute('data-evidence') + ' ' + s[2]); return; }
        out.push(text.slice(pos, s[0]));
        last = el('mark', { class: 'evidence', id: 'ev-' + s[2], 'data-evidence': s[2], text: text.slice(s[0], s[1]) });
        out.push(last);
        pos = s[1];
      });
      out.push(text.slice(pos));
      return out;
    }

    // ---- compare -----------------------------------------------------------------------

    function renderCompare() {
      const d = D.compare;
      main.appendChild(el('h2', { text: 'Compared with ' + d.base.path }));
      main.appendChild(el('p', null, d.calls_compared + ' calls in both reports; ' + d.only_in_base.length + ' only in the base, ' + d.only_in_new.length + ' only in this one. ',
        d.same_metric_file === false ? el('strong', { text: 'The metric files differ.' }) : null));
      const head = el('tr', null, ['metric', 'compared', 'agreed', 'changed', 'agreement', 'limit', ''].map(function (h) { return el('th', { text: h }); }));
      main.appendChild(el('table', { id: 'agreement' }, el('thead', null, head), el('tbody', null, d.metrics.map(function (md) {
        return el('tr', { 'data-metric': md.id },
          el('td', { text: md.id }), el('td', { class: 'num', text: md.compared }), el('td', { class: 'num', text: md.agreed }),
          el('td', { class: 'num', 'data-changed': md.changed, text: md.changed }),
          el('td', { class: 'num', text: md.agreement === null ? '-' : (100 * md.agreement).toFixed(1) + '%' }),
          el('td', { class: 'num', text: md.max_changed === null ? '-' : (100 * md.max_changed).toFixed(1) + '%' }),
          el('td', { class: md.exceeded ? 'bad' : 'muted', text: md.exceeded ? 'OVER THE LIMIT' : '' }));
      }))));
      d.metrics.forEach(function (md) {
        const parts = [el('h3', null, md.id, ' ', el('span', { class: 'type', text: md.type + ', ' + md.changed + ' changed' }))];
        if (md.definition_changed.length) parts.push(el('p', { class: 'muted', text: 'definition changed: ' + md.definition_changed.join(', ') }));
        if (md.transitions) parts.push(transitions(md));
        if (md.numeric) parts.push(el('p', null, 'mean ' + num(md.numeric.mean_old) + ' → ' + num(md.numeric.mean_new) + ' (shift ' + num(md.numeric.mean_shift) + ')'));
        parts.push(el('details', { open: md.changes.length <= 20 ? 'open' : null }, el('summary', { text: 'changed calls (' + md.changes.length + ')' }),
          md.changes.map(function (ch) { return change(md, ch); })));
        main.appendChild(el('section', { class: 'card', 'data-compare-metric': md.id }, parts));
      });
    }

    function transitions(md) {
      const t = md.transitions;
      return el('table', { class: 'transitions', 'aria-label': 'base (rows) to new (columns)' },
        el('thead', null, el('tr', null, el('th', { text: 'base \\ new' }), t.categories.map(function (c) { return el('th', { class: 'num', text: c }); }))),
        el('tbody', null, t.counts.map(function (row, r) {
          return el('tr', null, el('th', { text: t.categories[r] }), row.map(function (n, c) {
            return el('td', { class: 'num' + (r !== c && n ? ' bad' : ''), 'data-from': t.categories[r], 'data-to': t.categories[c], text: n });
          }));
        })));
    }

    function answerText(a) { return a.status === 'ok' ? display(a.value) : a.status; }

    function change(md, ch) {
      return el('div', { class: 'side-by-side', 'data-changed-call': ch.call_id },
        el('div', null, el('strong', null, 'base: ', answerText(ch.old)), ch.old_confidence !== undefined ? ' (' + num(ch.old_confidence) + ')' : '',
          el('p', { class: 'reasoning', text: ch.old_reasoning || '' })),
        el('div', null, el('strong', null, 'new: ', answerText(ch.new)), ch.new_confidence !== undefined ? ' (' + num(ch.new_confidence) + ')' : '', ' ',
          el('a', { href: '#tab=call&call=' + encodeURIComponent(ch.call_id), text: ch.call_id }),
          el('p', { class: 'reasoning', text: ch.new_reasoning || '' })));
    }

    // ---- the whole page ----------------------------------------------------------------

    function render() {
      const t = performance.now();
      renderTabs();
      main.replaceChildren();
      if (state.tab === 'calls') renderCalls();
      else if (state.tab === 'call') renderCall();
      else if (state.tab === 'compare' && D.compare) renderCompare();
      else renderOverview();
      main.setAttribute('data-tab', state.tab);
      perf.setAttribute('data-render-ms', (performance.now() - t).toFixed(1));
    }

    window.addEventListener('hashchange', function () { state = readState(); render(); });
    document.addEventListener('keydown', function (e) {
      if (e.target.closest && e.target.closest('input, select, textarea')) return;
      const tab = TABS.find(function (t) { return t[2] === e.key; });
      if (tab) go({ tab: tab[0] });
      else if (e.key === '/') { const s = document.getElementById('search'); if (s) { e.preventDefault(); s.focus(); } }
      else if (e.key === 'Escape' && state.tab === 'call') go({ tab: 'calls' });
      else if ((e.key === 'n' || e.key === 'p') && state.tab === 'call') {
        const rows = selected(), k = rows.indexOf(callIndex(state.call)), next = k + (e.key === 'n' ? 1 : -1);
        if (k >= 0 && next >= 0 && next < rows.length) go({ call: C.id[rows[next]], ev: null });
      } else if (e.key === 'Enter' && state.tab === 'calls' && e.target === document.body) {
        const sc = document.getElementById('table-scroll'); if (sc) sc.focus();
      }
    });

    render();
    // Read by scripts/measure-view.sh: the time from navigation to the first view drawn, and
    // the time the script itself took (parse of the table's data included).
    perf.setAttribute('data-open-ms', performance.now().toFixed(1));
    perf.setAttribute('data-script-ms', (performance.now() - started).toFixed(1));
    // The calls' text comes second: one call's view and the search wait for it; the
    // overview's evidence rates are drawn again with it.
    loadText().then(function (T) {
      C.summary = T.calls.summary;
      C.errors = T.calls.errors;
      C.facts = T.calls.facts;
      METRICS.forEach(function (m) {
        C.metrics[m.id].r = T.calls.metrics[m.id].r;
        C.metrics[m.id].x = T.calls.metrics[m.id].x;
      });
      D.transcripts = T.transcripts;
      textReady = true;
      lastKey = null;
      render();
      perf.setAttribute('data-text-ms', performance.now().toFixed(1));
      perf.setAttribute('data-ready', 'true');
    }, function (e) {
      main.prepend(el('p', { class: 'bad', role: 'alert', text: 'This page could not read its calls\' text: ' + e }));
    });
  }
})();
