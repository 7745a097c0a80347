"use strict";
// The dashboard page: the river's stations (cards, schematic, charts), the cameras and the commune's indicators.
// Shares common.js; the active alerts on the same page are alerts.js's.
const dash = { stations: [], cameras: [], series: {}, indicators: {} };
const onAlertPage = () => /^\/alerts\/[A-Za-z0-9_-]+$/.test(location.pathname);

function levelClass(st) { return (st.status && st.status.alarm_level) || null; }

function renderSchematic() {
  const box = $("#schematic"); box.replaceChildren();
  const n = dash.stations.length; if (!n) return;
  const s = svg("svg", { viewBox: "0 0 600 110", role: "presentation" });
  s.append(svg("path", { d: "M10,60 C150,20 250,100 400,55 S560,40 590,60", fill: "none", stroke: "#5b8fc9", "stroke-width": 10, "stroke-linecap": "round" }));
  dash.stations.forEach((st, i) => {
    const x = 40 + (520 * i) / Math.max(1, n - 1);
    const lvl = levelClass(st);
    const colour = { BD1: "#8a6d00", BD2: "#b34700", BD3: "#b00020", RECORD: "#6a1b9a" }[lvl] || "#1b7a3a";
    const g = svg("g", {}); g.append(svg("circle", { cx: x, cy: 58, r: 11, fill: colour, stroke: "#fff", "stroke-width": 3 }));
    const label = svg("text", { x, y: 95, "text-anchor": "middle", "font-size": 13, fill: "#14181f" }); label.textContent = st.name.split(" (")[0];
    g.append(label); s.append(g);
  });
  box.append(s);
}

function chart(st) {
  const data = dash.series[st.id] || [];
  const W = 600, H = 180, P = 34;
  const s = svg("svg", { class: "chart", viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": `${t("chart_label")}: ${st.name}` });
  const a = st.alarm_levels_m; const status = st.status || {};
  const vals = data.map((b) => b.mean_m);
  const lo = Math.min(...vals, a.BD1 - 0.5), hi = Math.max(...vals, a.BD3 + 0.3);
  const t1 = Date.now(), t0 = t1 - 24 * 3600e3, tEnd = t1 + 6 * 3600e3;
  const x = (ms) => P + ((ms - t0) / (tEnd - t0)) * (W - P - 6), y = (v) => H - 18 - ((v - lo) / (hi - lo)) * (H - 30);
  [["BD1", a.BD1, a.BD2, "#fff4c2"], ["BD2", a.BD2, a.BD3, "#ffe0c7"], ["BD3", a.BD3, hi, "#ffd6dc"]].forEach(([name, from, to, fill]) => {
    s.append(svg("rect", { x: P, y: y(to), width: W - P - 6, height: Math.max(0, y(from) - y(to)), fill }));
    const lab = svg("text", { x: W - 8, y: y(from) - 3, "text-anchor": "end", "font-size": 11, fill: "#4a5260" }); lab.textContent = `${name} ${fmtNum(from)}`; s.append(lab);
  });
  for (const v of [lo, (lo + hi) / 2, hi]) { const tx = svg("text", { x: 2, y: y(v) + 4, "font-size": 10, fill: "#4a5260" }); tx.textContent = fmtNum(v, 1); s.append(tx); }
  if (data.length) {
    const pts = data.map((b) => `${x(Date.parse(b.ts)).toFixed(1)},${y(b.mean_m).toFixed(1)}`).join(" ");
    s.append(svg("polyline", { points: pts, fill: "none", stroke: "#0d47a1", "stroke-width": 2.5 }));
  }
  if (status.eta_s && st.latest && status.next_threshold_m) {
    const tl = Date.parse(st.latest.ts), te = tl + status.eta_s * 1000;
    s.append(svg("line", { x1: x(tl), y1: y(st.latest.level_m), x2: x(Math.min(te, tEnd)), y2: y(status.next_threshold_m), stroke: "#b34700", "stroke-width": 2, "stroke-dasharray": "6 4" }));
  }
  s.append(svg("line", { x1: x(t1), y1: 8, x2: x(t1), y2: H - 18, stroke: "#888", "stroke-dasharray": "2 3" }));
  return s;
}

function stationCard(st) {
  const lvl = levelClass(st); const status = st.status || {};
  const badge = el("span", { class: "badge " + (lvl || "") }, lvl ? t(lvl) : t("normal"));
  const faults = (status.faults || []).map((f) => el("span", { class: "badge fault" }, t(f)));
  const trend = status.rate_m_per_h === undefined || status.rate_m_per_h === null ? "–" :
    `${fmtNum(status.rate_m_per_h, 2)} ${t("m_per_h")} (${status.rate_m_per_h > 0.02 ? t("rising") : status.rate_m_per_h < -0.02 ? t("falling") : t("steady")})`;
  const eta = status.eta_s ? `${t(status.next_level)} ~${fmtNum(status.eta_s / 3600, 1)} ${t("hours")}` +
    (status.eta_low_s && status.eta_high_s ? ` (${fmtNum(status.eta_low_s / 3600, 1)}–${fmtNum(status.eta_high_s / 3600, 1)})` : "") : "–";
  return el("article", { class: "station st-" + (lvl || "ok"), "data-station": st.id, tabindex: "0", "aria-label": st.name },
    el("h3", {}, st.name, " ", badge, ...faults),
    st.latest ? el("div", {}, el("span", { class: "level", "data-level": st.id }, `${fmtNum(st.latest.level_m)} m`),
      " ", el("span", { class: "muted" }, `${t("at")} ${fmtTime(st.latest.ts)}`)) : el("p", { class: "muted" }, t("no_data")),
    el("dl", { class: "facts" },
      el("dt", {}, t("to_next")), el("dd", {}, status.distance_m !== undefined && status.distance_m !== null ? `${fmtNum(status.distance_m)} m (${t(status.next_level) || ""})` : "–"),
      el("dt", {}, t("trend")), el("dd", {}, trend),
      el("dt", {}, t("eta")), el("dd", {}, eta)),
    chart(st),
    st.alarm_levels_set && st.alarm_levels_set.source === "officer" ?
      el("p", { class: "muted" }, `${t("levels_set_by")} ${st.alarm_levels_set.by} · ${fmtTime(st.alarm_levels_set.ts)}`) : null,
    state.user && state.user.role === "admin" ?
      el("button", { type: "button", class: "edit-levels", onclick: () => openLevels(st) }, t("edit_levels")) : null);
}

let levelsStation = null;
function openLevels(st) {
  levelsStation = st; const a = st.alarm_levels_m;
  $("#levels-station").textContent = st.name;
  $("#lv-bd1").value = a.BD1; $("#lv-bd2").value = a.BD2; $("#lv-bd3").value = a.BD3;
  $("#lv-record").value = a.record === null || a.record === undefined ? "" : a.record;
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
  if (!r.ok) { const p = await r.json().catch(() => ({})); $("#levels-error").textContent = `${t("not_saved")}: ${p.detail || r.status}`; return; }
  $("#levels-dialog").close(); await refreshDashboard();
}

function renderStations() { $("#stations").replaceChildren(...dash.stations.map(stationCard)); renderSchematic(); }

function renderCameras() {
  $("#cameras").replaceChildren(...dash.cameras.map((c) => el("article", { class: "camera", "data-camera": c.id },
    c.snapshot_url ? el("img", { src: c.snapshot_url, alt: `${c.site}`, loading: "lazy" }) : el("p", { class: "muted" }, t("no_frame")),
    el("h3", {}, c.site),
    el("p", {}, `${t("dust_index")}: `, el("strong", {}, c.dust_index === null || c.dust_index === undefined ? "–" : fmtNum(c.dust_index, 2)),
      " · ", `${t("status")}: ${c.status || "–"}`))));
}

function renderIndicators(ind) {
  const rows = [["sensors_up", ind.sensor_availability, "%"], ["cameras_up", ind.camera_availability, "%"],
    ["acked_in_target", ind.ack_within_target, "%"], ["median_ack", ind.median_ack_s === null || ind.median_ack_s === undefined ? null : ind.median_ack_s / 60, t("minutes")]];
  $("#indicators").replaceChildren(...rows.flatMap(([k, v, unit]) => [el("dt", {}, t(k)),
    el("dd", {}, v === null || v === undefined ? "–" : unit === "%" ? `${fmtNum(v * 100, 0)} %` : `${fmtNum(v, 0)} ${unit}`)]));
}

async function loadSeries(st) {
  const end = new Date().toISOString(), start = new Date(Date.now() - 24 * 3600e3).toISOString();
  const r = await getJSON(`/api/v1/stations/${encodeURIComponent(st.id)}/readings?start=${start}&end=${end}&points=288`);
  dash.series[st.id] = r.buckets;
}


async function refreshDashboard() {
  const [st, cams, ind] = await Promise.all([getJSON("/api/v1/stations"), getJSON("/api/v1/cameras").catch(() => ({ cameras: [] })),
    getJSON("/api/v1/indicators").catch(() => ({}))]);
  dash.stations = st.stations; dash.cameras = cams.cameras || []; dash.indicators = ind;
  await Promise.all(dash.stations.map(loadSeries));
  renderDashboard();
}
function renderDashboard() { renderStations(); renderCameras(); renderIndicators(dash.indicators); }

let refreshTimer = null;
function scheduleRefresh(delay = 400) { clearTimeout(refreshTimer); refreshTimer = setTimeout(() => refreshDashboard().catch(() => {}), delay); }

function onReading(d) {
  const st = dash.stations.find((s) => s.id === d.station_id);
  if (!st) return;
  scheduleRefresh(2000);
}

TW.page({
  async start() {
    if (onAlertPage()) return;
    $("#levels-form").addEventListener("submit", saveLevels);
    $("#levels-cancel").addEventListener("click", () => $("#levels-dialog").close());
    await refreshDashboard().catch(() => {});
    setInterval(() => refreshDashboard().catch(() => {}), 60000);
  },
  render() { if (!onAlertPage()) renderDashboard(); },
  onEvent(type, data) {
    if (onAlertPage()) return;
    if (type === "reading") onReading(data); else if (type !== "alert") scheduleRefresh();
  },
});
