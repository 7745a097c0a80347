"use strict";
// The water-level chart of a station card: pure helpers (time and level ticks in local time, the level range, the
// line's gaps, markers kept inside the plot) and `draw`, which builds the SVG at the size it is shown, one SVG unit
// per CSS pixel, so its text keeps its size on a phone as on a desktop (a viewBox scaled to fit would shrink it).
// Rain upstream (when the station has rain gauges) is drawn as bars in a strip at the foot of the plot, behind the
// level line, with its own scale at the right. No page state here: dashboard.js gives the data, the texts and the
// formatting.
const TWChart = (() => {
  const HOUR = 3600e3, DAY = 24 * HOUR;
  const SPANS = {
    "24h": { ms: DAY, points: 288 }, "7d": { ms: 7 * DAY, points: 336 }, "30d": { ms: 30 * DAY, points: 360 },
  };
  const AHEAD_MS = 6 * HOUR; // room right of "now" for the forecast (the early warning's horizon)
  const FONT_PX = 12, PAD = { left: 44, right: 8, top: 18, bottom: 24 }, TICK_MIN_PX = { time: 50, level: 28 };
  const STEPS = [HOUR, 2 * HOUR, 3 * HOUR, 6 * HOUR, 12 * HOUR, DAY, 2 * DAY, 5 * DAY, 7 * DAY, 14 * DAY];
  const pad2 = (n) => String(n).padStart(2, "0");

  /** Offset of a time zone from UTC at an instant, in ms (Asia/Ho_Chi_Minh: +7 h all year). */
  function tzOffset(ms, tz) {
    const parts = new Intl.DateTimeFormat("en-US", { timeZone: tz, hourCycle: "h23", year: "numeric", month: "2-digit",
      day: "2-digit", hour: "2-digit", minute: "2-digit", second: "2-digit" }).formatToParts(new Date(ms));
    const p = Object.fromEntries(parts.map((x) => [x.type, Number(x.value)]));
    return Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second) - Math.floor(ms / 1000) * 1000;
  }

  /** Ticks of a time axis over [t0, t1]: at most `most`, on round local hours or at local midnight; each
   * {ms, label, day}: "15:00", or the date "28/09" at midnight and when the step is a day or more. */
  function timeTicks(t0, t1, most, tz) {
    const step = STEPS.find((s) => (t1 - t0) / s <= Math.max(1, most)) || STEPS[STEPS.length - 1];
    const off = tzOffset(t0, tz);
    const out = [];
    for (let local = Math.ceil((t0 + off) / step) * step; local - off <= t1; local += step) {
      const d = new Date(local); // its UTC fields read as the local wall clock
      const day = d.getUTCHours() === 0 && d.getUTCMinutes() === 0;
      out.push({ ms: local - off, day,
        label: day || step >= DAY ? `${pad2(d.getUTCDate())}/${pad2(d.getUTCMonth() + 1)}` : `${pad2(d.getUTCHours())}:00` });
    }
    return out;
  }

  /** Round level ticks over [lo, hi]: at most `most`, a step of 1, 2, 2.5 or 5 times a power of ten. */
  function levelTicks(lo, hi, most) {
    const raw = (hi - lo) / Math.max(1, most);
    const mag = Math.pow(10, Math.floor(Math.log10(raw)));
    const step = [1, 2, 2.5, 5, 10].map((k) => k * mag).find((s) => s >= raw);
    const out = [];
    for (let v = Math.ceil(lo / step - 1e-9) * step; v <= hi + 1e-9; v += step) out.push(Math.round(v * 1000) / 1000);
    return out;
  }

  /** The level range to draw: the line, the forecast's target and the alarm levels that matter (from half a metre
   * below BĐ I to above BĐ III), with a margin. Markers do not widen it: a 42 m reading would flatten the river. */
  function levelRange(values, alarm, extra) {
    const vals = values.concat(extra || []).filter((v) => Number.isFinite(v));
    const lo = Math.min(...vals, alarm.BD1 - 0.5), hi = Math.max(...vals, alarm.BD3 + 0.3);
    const m = (hi - lo) * 0.04;
    return [lo - m, hi + m];
  }

  /** The line's pieces: a new piece wherever two points are further apart than `maxGapMs` (the gauge was silent). */
  function segments(points, maxGapMs) {
    const out = [];
    let cur = [];
    for (const p of points) {
      if (cur.length && p.ms - cur[cur.length - 1].ms > maxGapMs) { out.push(cur); cur = []; }
      cur.push(p);
    }
    if (cur.length) out.push(cur);
    return out;
  }

  const RAIN_STRIP = 0.3; // share of the plot's height the rain bars may take, at its foot

  /** The rain strip's top value: the wettest bar rounded up to 1, 2 or 5 times a power of ten (at least 1 mm), so
   * the scale reads well and a drizzle does not look like a storm. */
  function rainScale(bars) {
    const top = Math.max(1, ...bars.map((b) => b.mm).filter((v) => Number.isFinite(v)));
    const mag = Math.pow(10, Math.floor(Math.log10(top)));
    return [1, 2, 5, 10].map((k) => k * mag).find((s) => s >= top - 1e-9);
  }

  /** A marker's place: its level, or the edge of the plot it lies beyond ({v, beyond: -1 | 0 | 1}). */
  function clampMarker(v, lo, hi) { return v > hi ? { v: hi, beyond: 1 } : v < lo ? { v: lo, beyond: -1 } : { v, beyond: 0 }; }

  /** The chart as an SVG element `width` CSS px wide. `c`: {width, height, t0, t1, now, tz, points: [{ms, v}],
   * gapMs, markers: [{ms, v, title}], alarm: {BD1, BD2, BD3}, bands: [{key, from, to, label}], forecast: {ms0, v0, ms1,
   * v1, title} | null, text: {now, unit}, num(v, digits), label, rain?: {bars: [{ms, mm}], bucketMs, unit, title}}. */
  function draw(c) {
    const W = Math.max(120, Math.round(c.width)), H = c.height;
    const ns = "http://www.w3.org/2000/svg";
    const node = (tag, attrs, text) => {
      const n = document.createElementNS(ns, tag);
      for (const [k, v] of Object.entries(attrs)) n.setAttribute(k, v);
      if (text !== undefined) n.textContent = text;
      return n;
    };
    const s = node("svg", { class: "chart", width: W, height: H, viewBox: `0 0 ${W} ${H}`, role: "img",
      "aria-label": c.label });
    const tEnd = c.t1 + AHEAD_MS;
    const [lo, hi] = levelRange(c.points.map((p) => p.v), c.alarm, c.forecast ? [c.forecast.v0, c.forecast.v1] : []);
    const x = (ms) => PAD.left + ((ms - c.t0) / (tEnd - c.t0)) * (W - PAD.left - PAD.right);
    const y = (v) => PAD.top + (1 - (v - lo) / (hi - lo)) * (H - PAD.top - PAD.bottom);
    const text = (attrs, t) => node("text", Object.assign({ "font-size": FONT_PX, fill: "#33393f" }, attrs), t);
    const plot = node("g", { class: "plot" });
    for (const b of c.bands) {
      const top = Math.min(b.to === null ? hi : b.to, hi);
      if (b.from >= hi) continue;
      plot.append(node("rect", { class: `band band-${b.key}`, x: PAD.left, y: y(top), width: W - PAD.left - PAD.right,
        height: Math.max(0, y(Math.max(b.from, lo)) - y(top)) }));
    }
    for (const v of levelTicks(lo, hi, Math.floor((H - PAD.top - PAD.bottom) / TICK_MIN_PX.level))) {
      plot.append(node("line", { class: "grid", x1: PAD.left, x2: W - PAD.right, y1: y(v), y2: y(v) }));
      s.append(text({ class: "tick tick-level", x: PAD.left - 4, y: y(v) + 4, "text-anchor": "end" }, c.num(v, 1)));
    }
    s.append(text({ class: "unit", x: 2, y: 12 }, c.text.unit));
    const ticks = timeTicks(c.t0, tEnd, Math.floor((W - PAD.left - PAD.right) / TICK_MIN_PX.time), c.tz);
    for (const tk of ticks.filter((k) => x(k.ms) > PAD.left + 16 && x(k.ms) < W - PAD.right - 16)) { // labels fit
      plot.append(node("line", { class: tk.day ? "grid day" : "grid", x1: x(tk.ms), x2: x(tk.ms), y1: PAD.top, y2: H - PAD.bottom }));
      s.append(text({ class: "tick tick-time", x: x(tk.ms), y: H - 6, "text-anchor": "middle" }, tk.label));
    }
    if (c.rain && c.rain.bars.length) drawRain(c.rain, plot, { x, node, text, W, H, t0: c.t0, tEnd, num: c.num }, s);
    s.prepend(plot);
    for (const b of c.bands) {
      if (b.from >= hi || b.from < lo) continue;
      // at the left, the oldest end: "now", the newest readings and the markers are at the right
      s.append(text({ class: `band-label band-${b.key}`, x: PAD.left + 4, y: y(b.from) - 4,
        stroke: "#fff", "stroke-width": 3, "paint-order": "stroke" }, b.label));
    }
    for (const seg of segments(c.points, c.gapMs)) {
      const pts = seg.map((p) => `${x(p.ms).toFixed(1)},${y(p.v).toFixed(1)}`).join(" ");
      s.append(seg.length > 1 ? node("polyline", { class: "line", points: pts, fill: "none" })
        : node("circle", { class: "line-dot", cx: x(seg[0].ms), cy: y(seg[0].v), r: 2 }));
    }
    if (c.forecast) {
      const f = c.forecast, line = node("line", { class: "forecast", x1: x(f.ms0), y1: y(f.v0), x2: x(Math.min(f.ms1, tEnd)),
        y2: y(f.ms1 > tEnd ? f.v0 + (f.v1 - f.v0) * (tEnd - f.ms0) / (f.ms1 - f.ms0) : f.v1) });
      line.append(node("title", {}, f.title));
      s.append(line);
    }
    s.append(node("line", { class: "now", x1: x(c.now), x2: x(c.now), y1: PAD.top - 4, y2: H - PAD.bottom }));
    s.append(text({ class: "now-label", x: x(c.now), y: PAD.top - 6, "text-anchor": "middle" }, c.text.now));
    for (const m of c.markers) {
      if (m.ms < c.t0 || m.ms > tEnd) continue;
      const at = clampMarker(m.v, lo, hi), cx = x(m.ms), cy = y(at.v);
      const g = node("g", { class: "marker", "data-level": m.v, transform: `translate(${cx.toFixed(1)},${cy.toFixed(1)})` });
      g.append(node("path", { d: at.beyond === 0 ? "M-4,-4L4,4M-4,4L4,-4" : at.beyond > 0 ? "M-5,5L0,-3L5,5Z" : "M-5,-5L0,3L5,-5Z" }));
      g.append(node("title", {}, m.title));
      s.append(g);
    }
    return s;
  }

  /** Rain bars in the plot's foot strip (into `plot`, behind the line) and their scale at the right (into `s`). */
  function drawRain(rain, plot, d, s) {
    const top = rainScale(rain.bars), foot = d.H - PAD.bottom, strip = (d.H - PAD.top - PAD.bottom) * RAIN_STRIP;
    const g = d.node("g", { class: "rain" });
    g.append(d.node("title", {}, rain.title));
    for (const b of rain.bars) {
      if (b.ms + rain.bucketMs < d.t0 || b.ms > d.tEnd || !(b.mm > 0)) continue;
      const x0 = d.x(Math.max(b.ms, d.t0)), x1 = d.x(Math.min(b.ms + rain.bucketMs, d.tEnd)), h = strip * Math.min(1, b.mm / top);
      g.append(d.node("rect", { class: "rain-bar", x: x0.toFixed(1), y: (foot - h).toFixed(1),
        width: Math.max(1, x1 - x0 - 0.5).toFixed(1), height: h.toFixed(1), "data-mm": b.mm }));
    }
    plot.append(g);
    s.append(d.text({ class: "tick tick-rain", x: d.W - PAD.right - 2, y: foot - strip + 4, "text-anchor": "end" },
      `${d.num(top, top < 10 ? 1 : 0)} ${rain.unit}`));
  }

  return { SPANS, AHEAD_MS, RAIN_STRIP, tzOffset, timeTicks, levelTicks, levelRange, segments, clampMarker, rainScale,
    draw };
})();
