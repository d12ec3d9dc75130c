// Layered DAG drawing for a job graph (left to right), in plain SVG.
// cdcflowGraph.render(container, vertices, edges, {selected, onSelect, fmtRate}).
(function () {
  'use strict';
  const NS = 'http://www.w3.org/2000/svg';
  const W = 236, H = 96, GAP_X = 150, GAP_Y = 30, PAD = 28;

  function el(tag, attrs, parent) {
    const e = document.createElementNS(NS, tag);
    for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
    if (parent) parent.appendChild(e);
    return e;
  }
  function text(parent, x, y, cls, str, maxChars) {
    const t = el('text', {x, y, class: cls}, parent);
    if (maxChars && str.length > maxChars) {
      t.textContent = str.slice(0, maxChars - 1) + '…';
      el('title', {}, t).textContent = str;
    } else {
      t.textContent = str;
    }
    return t;
  }

  // Longest-path layering, then a few barycentre sweeps to reduce crossings.
  function layout(vertices, edges) {
    const ids = vertices.map(v => v.id);
    const preds = new Map(ids.map(id => [id, []]));
    const succs = new Map(ids.map(id => [id, []]));
    for (const e of edges) {
      if (preds.has(e.target) && succs.has(e.source)) {
        preds.get(e.target).push(e.source);
        succs.get(e.source).push(e.target);
      }
    }
    const layer = new Map();
    const visiting = new Set();
    function depth(id) {
      if (layer.has(id)) return layer.get(id);
      if (visiting.has(id)) return 0;  // a cycle: should not happen in a job graph
      visiting.add(id);
      let d = 0;
      for (const p of preds.get(id)) d = Math.max(d, depth(p) + 1);
      layer.set(id, d);
      return d;
    }
    ids.forEach(depth);
    const layers = [];
    for (const id of ids) {
      const l = layer.get(id);
      (layers[l] = layers[l] || []).push(id);
    }
    const pos = new Map();
    const reindex = () => layers.forEach(ls => ls.forEach((id, i) => pos.set(id, i)));
    reindex();
    const bary = (id, nbrs) => {
      const n = nbrs.get(id);
      return n.length ? n.reduce((s, x) => s + pos.get(x), 0) / n.length : pos.get(id);
    };
    for (let sweep = 0; sweep < 4; sweep++) {
      const order = sweep % 2 === 0 ? layers.slice(1) : layers.slice(0, -1).reverse();
      for (const ls of order) {
        const nb = sweep % 2 === 0 ? preds : succs;
        const b = new Map(ls.map(id => [id, bary(id, nb)]));
        ls.sort((a, c) => b.get(a) - b.get(c));
        ls.forEach((id, i) => pos.set(id, i));
      }
    }
    const maxRows = Math.max(1, ...layers.map(l => l.length));
    const height = PAD * 2 + maxRows * H + (maxRows - 1) * GAP_Y;
    const coords = new Map();
    layers.forEach((ls, li) => {
      const colH = ls.length * H + (ls.length - 1) * GAP_Y;
      const y0 = (height - colH) / 2;
      ls.forEach((id, i) => coords.set(id, {x: PAD + li * (W + GAP_X), y: y0 + i * (H + GAP_Y)}));
    });
    const width = PAD * 2 + layers.length * W + (layers.length - 1) * GAP_X;
    return {coords, width, height};
  }

  function bpClass(v) {
    if (v.state && v.state !== 'RUNNING') return 'bp-idle';
    const r = v.metrics.backpressure_ratio;
    return r >= 0.5 ? 'bp-bad' : r >= 0.1 ? 'bp-warn' : 'bp-ok';
  }

  function render(container, vertices, edges, opts) {
    opts = opts || {};
    const fmt = opts.fmtRate || (x => x.toFixed(0) + '/s');
    const {coords, width, height} = layout(vertices, edges);
    // Scales down to the container's width, never up.
    const svg = el('svg', {viewBox: `0 0 ${width} ${height}`, 'data-testid': 'job-graph',
      style: `width:100%;max-width:${width}px;height:auto`});
    const defs = el('defs', {}, svg);
    const marker = el('marker', {id: 'arrow', viewBox: '0 0 10 10', refX: 9, refY: 5,
      markerWidth: 7, markerHeight: 7, orient: 'auto-start-reverse'}, defs);
    el('path', {d: 'M0,0 L10,5 L0,10 z', fill: 'var(--edge)'}, marker);
    const byId = new Map(vertices.map(v => [v.id, v]));
    // Edges first so nodes draw on top. Spread several edges leaving/entering one node.
    const outCount = new Map(), inCount = new Map(), outIdx = new Map(), inIdx = new Map();
    for (const e of edges) {
      outCount.set(e.source, (outCount.get(e.source) || 0) + 1);
      inCount.set(e.target, (inCount.get(e.target) || 0) + 1);
    }
    for (const e of edges) {
      const a = coords.get(e.source), b = coords.get(e.target);
      if (!a || !b) continue;
      const oi = outIdx.get(e.source) || 0; outIdx.set(e.source, oi + 1);
      const ii = inIdx.get(e.target) || 0; inIdx.set(e.target, ii + 1);
      const y1 = a.y + H * (oi + 1) / (outCount.get(e.source) + 1);
      const y2 = b.y + H * (ii + 1) / (inCount.get(e.target) + 1);
      const x1 = a.x + W, x2 = b.x - 2;
      const g = el('g', {class: 'dag-edge'}, svg);
      const mx = (x1 + x2) / 2;
      el('path', {d: `M${x1},${y1} C${mx},${y1} ${mx},${y2} ${x2},${y2}`, 'marker-end': 'url(#arrow)'}, g);
      const src = byId.get(e.source);
      const label = `${e.partitioning} · ${fmt(src ? src.metrics.records_out_per_sec : 0)}`;
      const ly = (y1 + y2) / 2;
      const lw = label.length * 5.9 + 8;
      el('rect', {x: mx - lw / 2, y: ly - 15, width: lw, height: 13, rx: 3}, g);
      text(g, mx - lw / 2 + 4, ly - 5, '', label);
    }
    for (const v of vertices) {
      const c = coords.get(v.id);
      const m = v.metrics;
      const g = el('g', {class: `dag-node ${bpClass(v)}${opts.selected === v.id ? ' selected' : ''}`,
        transform: `translate(${c.x},${c.y})`, 'data-testid': 'vertex', 'data-vertex': v.id,
        'data-rate-in': m.records_in_per_sec, 'data-rate-out': m.records_out_per_sec}, svg);
      el('rect', {class: 'box', width: W, height: H, rx: 8}, g);
      el('rect', {class: 'band', width: 5, height: H - 2, x: 1, y: 1, rx: 2}, g);
      text(g, 14, 21, 'title', v.name, 30);
      const kind = v.connector ? `${v.kind} · ${v.connector}` : v.kind;
      text(g, 14, 38, 'small', `P=${v.parallelism} · ${kind}${v.target ? ' · ' + v.target : ''}`, 38);
      const rates = v.kind === 'source' ? `read ${fmt(m.records_out_per_sec)}`
        : v.kind === 'sink' ? `write ${fmt(m.records_in_per_sec)}`
        : `in ${fmt(m.records_in_per_sec)} · out ${fmt(m.records_out_per_sec)}`;
      text(g, 14, 58, 'rate', rates);
      // busy and backpressure bars
      const bw = (W - 28 - 8) / 2;
      el('rect', {class: 'bar-bg', x: 14, y: 70, width: bw, height: 5, rx: 2.5}, g);
      el('rect', {class: 'bar-busy', x: 14, y: 70, width: bw * Math.min(1, m.busy_ratio), height: 5, rx: 2.5}, g);
      el('rect', {class: 'bar-bg', x: 22 + bw, y: 70, width: bw, height: 5, rx: 2.5}, g);
      el('rect', {class: 'bar-bp', x: 22 + bw, y: 70, width: bw * Math.min(1, m.backpressure_ratio), height: 5, rx: 2.5}, g);
      text(g, 14, 88, 'small', `busy ${Math.round(m.busy_ratio * 100)}%`);
      text(g, 22 + bw, 88, 'small', `backpressure ${Math.round(m.backpressure_ratio * 100)}%`);
      el('title', {}, g).textContent = `${v.name}\nrecords in ${m.records_in}, out ${m.records_out}`;
      if (opts.onSelect) g.addEventListener('click', () => opts.onSelect(v.id));
    }
    container.replaceChildren(svg);
  }

  window.cdcflowGraph = {render, layout};
})();
