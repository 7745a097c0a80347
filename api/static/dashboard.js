"use strict";
// The dashboard page: the stations' summary (first on a phone), the river's stations (schematic, cards, charts), the
// cameras and the commune's indicators. Shares common.js; the chart is chart.js's; the active alerts are alerts.js's.
// A station's level is its latest ACCEPTED reading (the API's `latest`, the same as its status); a rejected one
// (`latest_rejected`, the charts' `rejected`) is shown as such: a note on the card and a marker off the line.
const dash = { stations: [], cameras: [], series: {}, rain: {}, indicators: {}, span: spanFromStore(), widths: {},
  hamlets: [] };
const CHART_HEIGHT_PX = 210;
const LEVEL_COLOUR = { BD1: "#8a6d00", BD2: "#b34700", BD3: "#b00020", RECORD: "#6a1b9a" };

function spanFromStore() { const s = localStorage.getItem("tw.span"); return TWChart.SPANS[s] ? s : "24h"; }
/** A catalogue text with {name} placeholders filled in. */
const tf = (key, vars) => t(key).replace(/\{(\w+)\}/g, (_, k) => (vars[k] === undefined || vars[k] === null ? "" : vars[k]));
const levelName = (lvl) => (lvl ? t(`${lvl}.short`) : t("normal"));
const alarmLevel = (st) => (st.status && st.status.alarm_level) || null;
const isSet = (v) => v !== null && v !== undefined;

function trendWord(rate) {
  if (!isSet(rate)) return null;
  return rate > 0.02 ? t("rising") : rate < -0.02 ? t("falling") : t("steady");
}
const trendArrow = (rate) => (!isSet(rate) ? "" : rate > 0.02 ? "↑" : rate < -0.02 ? "↓" : "→");

function rejectedNote(st) {
  const r = st.latest_rejected;
  if (!r) return null;
  return el("p", { class: "rejected-note", "data-rejected": st.id },
    tf(`rejected.${r.reason}`, { level: fmtNum(r.level_m), time: fmtTime(r.ts) }));
}

/** What the station's alarm level means for the hamlets (the API's `impact`): who must prepare or move, what floods
 * and what to do, in the page's language; nothing below báo động I. */
function impactBox(st) {
  const im = st.impact;
  if (!im || !alarmLevel(st) || !im.hamlets.length) return null;
  const hit = [...im.roads, ...im.schools], said = im.action[state.lang] || im.action.vi;
  const action = said ? said[0].toUpperCase() + said.slice(1) : "";
  return el("div", { class: `impact ${im.level}`, "data-impact": st.id },
    el("p", {}, el("strong", {}, `${t("impact_hamlets")}: `), el("span", { class: "impact-hamlets" }, im.hamlets.map((h) => h.name).join(", "))),
    hit.length ? el("p", { class: "muted" }, `${t("impact_flooding")}: ${hit.join("; ")}`) : null,
    im.households ? el("p", { class: "muted" }, tf("impact_households", { n: im.households })) : null,
    action ? el("p", { class: "impact-action" }, action) : null);
}

// --- the stations' summary: one compact row per station, what a phone shows first ---------------------------------
function renderSummary() {
  $("#summary").replaceChildren(...dash.stations.map((st) => {
    const lvl = alarmLevel(st), status = st.status || {};
    const faults = (status.faults || []).filter((f) => f !== "sensor.spike"); // a spike is not the station's state
    return el("li", { class: "st-" + (lvl || "ok"), "data-summary": st.id },
      el("a", { href: `#station-${st.id}` },
        el("span", { class: "s-name" }, st.name),
        el("span", { class: "s-level" }, st.latest ? `${fmtNum(st.latest.level_m)} m` : "–",
          el("span", { class: "s-trend", title: trendWord(status.rate_m_per_h) || "" }, trendArrow(status.rate_m_per_h))),
        el("span", { class: "badge " + (lvl || "") }, levelName(lvl)),
        faults.length ? el("span", { class: "badge fault" }, t(faults[0])) : null,
        lvl && st.impact && st.impact.hamlets.length ?
          el("span", { class: "s-impact" }, st.impact.hamlets.map((h) => h.name).join(", ")) : null));
  }));
}

// --- the river: schematic and cards ---------------------------------------------------------------------------------
function renderSchematic() {
  const box = $("#schematic"); box.replaceChildren();
  const n = dash.stations.length; if (!n) return;
  const s = svg("svg", { viewBox: "0 0 600 110", role: "presentation" });
  s.append(svg("path", { d: "M10,60 C150,20 250,100 400,55 S560,40 590,60", fill: "none", stroke: "#5b8fc9", "stroke-width": 10, "stroke-linecap": "round" }));
  dash.stations.forEach((st, i) => {
    const x = 40 + (520 * i) / Math.max(1, n - 1);
    const g = svg("g", {});
    g.append(svg("circle", { cx: x, cy: 58, r: 11, fill: LEVEL_COLOUR[alarmLevel(st)] || "#1b7a3a", stroke: "#fff", "stroke-width": 3 }));
    const label = svg("text", { x, y: 95, "text-anchor": "middle", "font-size": 15, fill: "#14181f" });
    label.textContent = st.name.split(" (")[0];
    g.append(label); s.append(g);
  });
  box.append(s);
}

function stationCard(st) {
  const lvl = alarmLevel(st), status = st.status || {};
  const faults = (status.faults || []).map((f) => el("span", { class: "badge fault" }, t(f)));
  const word = trendWord(status.rate_m_per_h);
  const trend = word ? `${fmtNum(status.rate_m_per_h, 2)} ${t("m_per_h")} (${word})` : "–";
  const eta = status.eta_s ? `${t(status.next_level)} ~${fmtNum(status.eta_s / 3600, 1)} ${t("hours")}` +
    (status.eta_low_s && status.eta_high_s ? ` (${fmtNum(status.eta_low_s / 3600, 1)}–${fmtNum(status.eta_high_s / 3600, 1)})` : "") : "–";
  return el("article", { class: "station st-" + (lvl || "ok"), id: `station-${st.id}`, "data-station": st.id, tabindex: "0", "aria-label": st.name },
    el("h3", {}, st.name, " ", el("span", { class: "badge " + (lvl || "") }, levelName(lvl)), ...faults),
    st.latest ? el("div", {}, el("span", { class: "level", "data-level": st.id }, `${fmtNum(st.latest.level_m)} m`),
      " ", el("span", { class: "muted" }, `${t("at")} ${fmtTime(st.latest.ts)}`)) : el("p", { class: "muted" }, t("no_data")),
    rejectedNote(st),
    impactBox(st),
    el("dl", { class: "facts" },
      el("dt", {}, t("to_next")), el("dd", {}, isSet(status.distance_m) && status.next_level ? `${fmtNum(status.distance_m)} m (${t(status.next_level)})` : "–"),
      el("dt", {}, t("trend")), el("dd", {}, trend),
      el("dt", {}, t("eta")), el("dd", {}, eta)),
    el("div", { class: "chart-box", "data-chart": st.id }),
    st.alarm_levels_set && st.alarm_levels_set.source === "officer" ?
      el("p", { class: "muted" }, `${t("levels_set_by")} ${st.alarm_levels_set.by} · ${fmtTime(st.alarm_levels_set.ts)}`) : null,
    hasRole("admin") ? el("button", { type: "button", class: "edit-levels", onclick: () => openLevels(st) }, t("edit_levels")) : null);
}

// --- the hamlets' map: their areas shaded by the alarm level affecting them (GET /api/v1/hamlets.geojson) -----------
const HAMLET_FILL = { BD1: "#fff4c2", BD2: "#ffd0a8", BD3: "#ffb3bf" };
const HAMLET_MAP_MAX_PX = 360;

/** The map drawn at its shown width (text in CSS pixels, as the charts): each hamlet's polygon, its name, the
 * stations as dots; an equirectangular projection around the hamlets (a commune is a few kilometres wide). */
function hamletMap(features, width) {
  const rings = features.map((f) => f.geometry.coordinates[0]);
  const all = rings.flat(), lons = all.map((p) => p[0]), lats = all.map((p) => p[1]);
  const [x0, x1, y0, y1] = [Math.min(...lons), Math.max(...lons), Math.min(...lats), Math.max(...lats)];
  const k = Math.cos(((y0 + y1) / 2) * Math.PI / 180), pad = 14;
  const most = Math.min(HAMLET_MAP_MAX_PX, 0.75 * width); // on a phone the map leaves room for the cards
  const scale = Math.min((width - 2 * pad) / Math.max(1e-9, (x1 - x0) * k), (most - 2 * pad) / Math.max(1e-9, y1 - y0));
  const height = Math.ceil((y1 - y0) * scale + 2 * pad);
  const xy = ([lon, lat]) => [pad + (lon - x0) * k * scale, height - pad - (lat - y0) * scale];
  const s = svg("svg", { class: "hamlet-svg", width, height, viewBox: `0 0 ${width} ${height}`, role: "img",
    "aria-label": tf("hamlet_map_label", { list: features.map((f) => `${f.properties.name}: ${f.properties.level ? levelName(f.properties.level) : t("hamlet_safe")}`).join("; ") }) });
  const dots = dash.stations.map((st) => [st, xy([st.lon, st.lat])])
    .filter(([, [x, y]]) => x >= 0 && x <= width && y >= 0 && y <= height);
  const labels = features.map((f, i) => {
    const pts = rings[i].map(xy), lvl = f.properties.level, corners = pts.slice(0, -1); // the last closes the ring
    s.append(svg("polygon", { points: pts.map((p) => p.map((v) => v.toFixed(1)).join(",")).join(" "), class: "hamlet " + (lvl || "ok"),
      fill: HAMLET_FILL[lvl] || "#e8f3ea", "data-hamlet": f.properties.id }));
    const cx = corners.reduce((a, p) => a + p[0], 0) / corners.length, cy = corners.reduce((a, p) => a + p[1], 0) / corners.length;
    const onDot = dots.some(([, [x, y]]) => Math.abs(x - cx) < 32 && Math.abs(y - cy) < 12); // a station's dot: above it
    const label = svg("text", { x: cx, y: cy + (onDot ? -12 : 4), "text-anchor": "middle", class: "hamlet-name" });
    label.textContent = f.properties.name;
    return label;
  });
  for (const [st, [x, y]] of dots) {
    const dot = svg("circle", { cx: x, cy: y, r: 6, fill: LEVEL_COLOUR[alarmLevel(st)] || "#1b7a3a", stroke: "#fff", "stroke-width": 2 });
    const name = svg("title", {}); name.textContent = st.name; dot.append(name); s.append(dot);
  }
  s.append(...labels);
  return s;
}

/** The map's box, made once under the schematic; hidden when the deployment has no hamlet areas. */
function renderHamletMap() {
  let box = $("#hamlet-map");
  if (!box) {
    box = el("figure", { id: "hamlet-map", class: "hamlet-map" }, el("figcaption", { class: "muted" }), el("div", { class: "hamlet-draw" }));
    $("#schematic").after(box);
  }
  box.hidden = !dash.hamlets.length;
  box.querySelector("figcaption").textContent = t("hamlet_map");
  const draw = box.querySelector(".hamlet-draw"), width = draw.clientWidth;
  draw.replaceChildren(dash.hamlets.length && width ? hamletMap(dash.hamlets, width) : "");
}

// --- charts ----------------------------------------------------------------------------------------------------------
/** What a chart says, for a screen reader: the level now and its trend, the span's lowest and highest, rejections. */
function chartSummary(st, series, rain) {
  const span = t(`span.${dash.span}`), parts = [`${t("chart_label")} ${span}, ${st.name}`];
  if (st.latest) {
    const word = trendWord((st.status || {}).rate_m_per_h);
    parts.push(`${fmtNum(st.latest.level_m)} m ${t("at")} ${fmtTime(st.latest.ts)}` + (word ? `, ${word}` : ""));
  }
  const lows = series.buckets.map((b) => b.min_m), highs = series.buckets.map((b) => b.max_m);
  if (lows.length) parts.push(tf("chart_range", { min: fmtNum(Math.min(...lows)), max: fmtNum(Math.max(...highs)) }));
  if (series.rejected_total) parts.push(tf("chart_rejected", { n: series.rejected_total }));
  if (rain) parts.push(rain.title);
  return parts.join("; ");
}

/** Upstream rain for a station's chart: the mean over its gauges of each bucket's rain (the basin's rain, as the
 * forecast reads it), or null when it has no gauge or no rain data. */
function rainOf(st) {
  const gauges = (st.rain_gauges || []).map((g) => dash.rain[g]).filter((r) => r && r.buckets);
  if (!gauges.length) return null;
  const sums = new Map();
  for (const r of gauges) for (const b of r.buckets) sums.set(b.ts, (sums.get(b.ts) || 0) + b.rain_mm);
  const bucketS = gauges[0].bucket_s, h = bucketS / 3600;
  const bars = [...sums].map(([ts, mm]) => ({ ms: Date.parse(ts), mm: mm / gauges.length }));
  const total = bars.reduce((a, b) => a + b.mm, 0), most = Math.max(0, ...bars.map((b) => b.mm));
  return { bars, bucketMs: bucketS * 1000, unit: h === 1 ? t("rain_unit_hour") : tf("rain_unit", { h: fmtNum(h, 0) }),
    title: tf("rain_summary", { total: fmtNum(total, 0), max: fmtNum(most, 1), h: fmtNum(h, 0) }) };
}

function chartOf(st, width) {
  const series = dash.series[st.id] || { buckets: [], rejected: [], rejected_total: 0, bucket_s: 300 };
  const a = st.alarm_levels_m, status = st.status || {}, now = Date.now(), rain = rainOf(st);
  const forecast = status.eta_s && st.latest && isSet(status.next_threshold_m) ? {
    ms0: Date.parse(st.latest.ts), v0: st.latest.level_m, ms1: Date.parse(st.latest.ts) + status.eta_s * 1000,
    v1: status.next_threshold_m, title: `${t("forecast_line")}: ${t(status.next_level)} ${t("at")} ${fmtTime(status.eta_at)}` } : null;
  const bands = [["BD1", a.BD1, a.BD2], ["BD2", a.BD2, a.BD3], ["BD3", a.BD3, isSet(a.record) ? a.record : null]]
    .concat(isSet(a.record) ? [["RECORD", a.record, null]] : [])
    .map(([key, from, to]) => ({ key, from, to, label: `${t(key + ".short")} ${fmtNum(from)}` }));
  return TWChart.draw({
    width, height: CHART_HEIGHT_PX, t0: now - TWChart.SPANS[dash.span].ms, t1: now, now, tz: TZ,
    points: series.buckets.map((b) => ({ ms: Date.parse(b.ts) + series.bucket_s * 500, v: b.mean_m })),
    gapMs: Math.max(3 * series.bucket_s * 1000, 3 * st.expected_interval_s * 1000),
    markers: series.rejected.map((r) => ({ ms: Date.parse(r.ts), v: r.level_m,
      title: tf(`rejected.${r.reason}`, { level: fmtNum(r.level_m), time: fmtTime(r.ts) }) })),
    alarm: a, bands, forecast, text: { now: t("now"), unit: "m" }, num: fmtNum, label: chartSummary(st, series, rain),
    rain,
  });
}

function drawCharts(force = false) {
  for (const box of document.querySelectorAll(".chart-box[data-chart]")) {
    const st = dash.stations.find((s) => s.id === box.dataset.chart);
    const width = box.clientWidth;
    if (!st || !width || (!force && dash.widths[st.id] === width && box.firstChild)) continue;
    dash.widths[st.id] = width;
    box.replaceChildren(chartOf(st, width));
  }
}

function renderZoom() {
  document.querySelectorAll("#zoom button[data-span]").forEach((b) => b.setAttribute("aria-pressed", String(b.dataset.span === dash.span)));
}

async function setSpan(span) {
  if (!TWChart.SPANS[span] || span === dash.span) return;
  dash.span = span; localStorage.setItem("tw.span", span); renderZoom();
  await Promise.all(dash.stations.map(loadSeries).concat(loadRain()));
  drawCharts(true);
}

async function loadSeries(st) {
  const span = TWChart.SPANS[dash.span], endMs = Date.now();
  const q = new URLSearchParams({ start: new Date(endMs - span.ms).toISOString(), end: new Date(endMs).toISOString(),
    points: span.points, rejected: "exclude" });
  dash.series[st.id] = await getJSON(`/api/v1/stations/${encodeURIComponent(st.id)}/readings?${q}`);
}

/** Each rain gauge's rain per bucket over the span, once per gauge however many stations it feeds: hourly over a
 * day, coarser over longer spans (about 120 bars whatever the span). A gauge that fails to load is left out. */
async function loadRain() {
  const span = TWChart.SPANS[dash.span], endMs = Date.now();
  const bucket = Math.max(3600, Math.ceil(span.ms / 1000 / 120 / 3600) * 3600);
  const gauges = [...new Set(dash.stations.flatMap((s) => s.rain_gauges || []))];
  const q = new URLSearchParams({ start: new Date(endMs - span.ms).toISOString(), end: new Date(endMs).toISOString(),
    bucket_s: bucket });
  const got = await Promise.all(gauges.map((g) => getJSON(`/api/v1/rain-gauges/${encodeURIComponent(g)}/readings?${q}`)
    .catch(() => null)));
  dash.rain = Object.fromEntries(gauges.map((g, i) => [g, got[i]]).filter(([, r]) => r));
}

// --- alarm levels (admin) --------------------------------------------------------------------------------------------
let levelsStation = null;
function openLevels(st) {
  levelsStation = st; const a = st.alarm_levels_m;
  $("#levels-station").textContent = st.name;
  $("#lv-bd1").value = a.BD1; $("#lv-bd2").value = a.BD2; $("#lv-bd3").value = a.BD3;
  $("#lv-record").value = isSet(a.record) ? a.record : "";
  $("#lv-reason").value = ""; $("#levels-error").textContent = "";
  $("#levels-dialog").showModal();
}

async function saveLevels(ev) {
  ev.preventDefault();
  const num = (id) => $(id).value === "" ? null : Number($(id).value);
  const a = levelsStation.alarm_levels_m;
  const body = { bd1_m: num("#lv-bd1"), bd2_m: num("#lv-bd2"), bd3_m: num("#lv-bd3"), record_m: num("#lv-record"),
    record_year: num("#lv-record") === a.record ? a.record_year : null, reason: $("#lv-reason").value };
  if (!(body.bd1_m < body.bd2_m && body.bd2_m < body.bd3_m && (body.record_m === null || body.record_m > body.bd3_m))) {
    $("#levels-error").textContent = `${t("not_saved")}: ${t("levels_order")}`; return;
  }
  const r = await api(`/api/v1/stations/${encodeURIComponent(levelsStation.id)}/alarm-levels`,
    { method: "PUT", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
  if (!r.ok) { $("#levels-error").textContent = `${t("not_saved")}: ${await problemText(r)}`; return; }
  $("#levels-dialog").close(); await refreshDashboard();
}

// --- cameras and indicators ------------------------------------------------------------------------------------------
function renderCameras() {
  $("#cameras").replaceChildren(...dash.cameras.map((c) => el("article", { class: "camera", "data-camera": c.id },
    c.snapshot_url ? el("img", { src: c.snapshot_url, alt: c.site, loading: "lazy" }) : el("p", { class: "muted" }, t("no_frame")),
    el("h3", {}, el("a", { class: "cam-link", href: `/cameras/${encodeURIComponent(c.id)}` }, c.site)),
    el("p", {}, `${t("dust_index")}: `, el("strong", {}, isSet(c.dust_index) ? fmtNum(c.dust_index, 2) : "–"),
      c.dust_index_ts ? el("span", { class: "muted" }, ` ${t("at")} ${fmtTime(c.dust_index_ts)}`) : null),
    el("p", {}, `${t("status")}: `, el("span", { class: "cam-state", "data-state": c.status_code || "" },
      c.status_code ? t(`camstate.${c.status_code}`) : "–")))));
}

function renderIndicators(ind) {
  const rows = [["sensors_up", ind.sensor_availability, "%"], ["cameras_up", ind.camera_availability, "%"],
    ["acked_in_target", ind.ack_within_target, "%"], ["median_ack", isSet(ind.median_ack_s) ? ind.median_ack_s / 60 : null, t("minutes")]];
  $("#indicators").replaceChildren(...rows.flatMap(([k, v, unit]) => [el("dt", {}, t(k)),
    el("dd", {}, !isSet(v) ? "–" : unit === "%" ? `${fmtNum(v * 100, 0)} %` : `${fmtNum(v, 0)} ${unit}`)]));
}

// --- loading and rendering -------------------------------------------------------------------------------------------
async function refreshDashboard() {
  const [st, cams, ind, hamlets] = await Promise.all([getJSON("/api/v1/stations"), getJSON("/api/v1/cameras").catch(() => ({ cameras: [] })),
    getJSON("/api/v1/indicators").catch(() => ({})), getJSON("/api/v1/hamlets.geojson").catch(() => ({ features: [] }))]);
  dash.stations = st.stations; dash.cameras = cams.cameras || []; dash.indicators = ind;
  dash.hamlets = (hamlets.features || []).filter((f) => f.geometry && f.geometry.type === "Polygon");
  await Promise.all(dash.stations.map(loadSeries).concat(loadRain()));
  renderDashboard();
}

function renderDashboard() {
  document.title = t("page_title");
  renderSummary(); renderSchematic(); renderHamletMap(); renderZoom();
  $("#stations").replaceChildren(...dash.stations.map(stationCard));
  drawCharts(true);
  renderCameras(); renderIndicators(dash.indicators);
}

let refreshTimer = null;
function scheduleRefresh(delay = 400) { clearTimeout(refreshTimer); refreshTimer = setTimeout(() => refreshDashboard().catch(() => {}), delay); }

let resizeFrame = null;
function onResize() { cancelAnimationFrame(resizeFrame); resizeFrame = requestAnimationFrame(() => { drawCharts(); renderHamletMap(); }); }

TW.page({
  async start() {
    if (alertPageId()) return;
    $("#levels-form").addEventListener("submit", saveLevels);
    $("#levels-cancel").addEventListener("click", () => $("#levels-dialog").close());
    document.querySelectorAll("#zoom button[data-span]").forEach((b) => b.addEventListener("click", () => setSpan(b.dataset.span).catch(() => {})));
    window.addEventListener("resize", onResize);
    await refreshDashboard().catch(() => {});
    setInterval(() => refreshDashboard().catch(() => {}), 60000);
  },
  render() { if (!alertPageId()) renderDashboard(); },
  onEvent(type, data) {
    if (alertPageId()) return;
    if (type === "reading") { if (dash.stations.some((s) => s.id === data.station_id)) scheduleRefresh(2000); }
    else if (type !== "alert") scheduleRefresh();
  },
});
