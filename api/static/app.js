"use strict";
// TichWatch dashboard: plain JavaScript, no build step. Vietnamese first, English on the switch.
const I18N = {
  vi: {
    skip: "Bỏ qua đến nội dung", subtitle: "Giám sát lũ sông Tích và bụi công trường", connecting: "Đang kết nối…",
    live: "Trực tiếp", offline: "Mất kết nối – đang thử lại", signin: "Đăng nhập", signout: "Đăng xuất",
    signin_title: "Đăng nhập cán bộ trực", username: "Tên đăng nhập", password: "Mật khẩu", cancel: "Huỷ",
    active_alerts: "Cảnh báo đang hoạt động", no_alerts: "Không có cảnh báo nào.",
    river: "Sông Tích – các trạm đo mực nước", cameras: "Camera bụi công trường", indicators: "Chỉ số của xã",
    footer: "Dữ liệu trực tiếp; giờ Việt Nam (UTC+7).", level: "Mực nước", at: "lúc", normal: "Bình thường",
    BD1: "Báo động I", BD2: "Báo động II", BD3: "Báo động III", RECORD: "Vượt lũ lịch sử",
    to_next: "Còn đến", trend: "Xu thế", eta: "Dự báo đạt", no_data: "Chưa có số liệu", health: "Cảm biến",
    healthy: "Bình thường", dust_index: "Chỉ số bụi", ack: "Xác nhận", acked: "Đã xác nhận", by: "bởi",
    wrong_login: "Sai tên đăng nhập hoặc mật khẩu", throttled: "Thử sai quá nhiều lần, vui lòng chờ",
    busy: "Máy chủ đang bận, vui lòng thử lại sau vài giây",
    m_per_h: "m/giờ", rising: "đang lên", falling: "đang xuống", steady: "ổn định", hours: "giờ",
    sensors_up: "Cảm biến hoạt động", cameras_up: "Camera hoạt động", acked_in_target: "Cảnh báo xác nhận đúng hạn",
    median_ack: "Thời gian xác nhận (trung vị)", minutes: "phút", status: "Trạng thái", no_frame: "Chưa có ảnh",
    fired: "Bắt đầu", firing: "Đang cảnh báo", acknowledged: "Đã xác nhận", chart_label: "Biểu đồ mực nước 24 giờ",
    schematic_label: "Sơ đồ sông Tích từ thượng lưu xuống hạ lưu", back: "← Bảng điều khiển", history: "Lịch sử",
    resolved: "Đã kết thúc", value: "Giá trị", subject: "Trạm / camera", severity: "Mức độ",
    "sensor.offline": "Mất tín hiệu", "sensor.stuck": "Số liệu đứng yên", "sensor.spike": "Giá trị bất thường",
    "sensor.range": "Ngoài dải đo", "sensor.battery": "Pin yếu", "sensor.clock": "Lệch đồng hồ",
    warning: "Cảnh báo", critical: "Nghiêm trọng", emergency: "Khẩn cấp", info: "Thông tin",
    edit_levels: "Sửa mức báo động", levels_title: "Sửa mức báo động", record_level: "Lũ lịch sử",
    reason: "Lý do (số quyết định…)", save: "Lưu", levels_set_by: "Mức báo động do", not_saved: "Chưa lưu",
    levels_order: "các mức phải tăng dần: BĐ I < BĐ II < BĐ III < lũ lịch sử",
  },
  en: {
    skip: "Skip to content", subtitle: "Tích river flood and construction dust monitoring", connecting: "Connecting…",
    live: "Live", offline: "Disconnected – retrying", signin: "Sign in", signout: "Sign out",
    signin_title: "Duty officer sign-in", username: "Username", password: "Password", cancel: "Cancel",
    active_alerts: "Active alerts", no_alerts: "No active alerts.",
    river: "Tích river – water-level stations", cameras: "Construction dust cameras", indicators: "Commune indicators",
    footer: "Live data; Vietnam time (UTC+7).", level: "Level", at: "at", normal: "Normal",
    BD1: "Alarm level I", BD2: "Alarm level II", BD3: "Alarm level III", RECORD: "Above record flood",
    to_next: "To next level", trend: "Trend", eta: "Forecast to reach", no_data: "No data yet", health: "Sensor",
    healthy: "Healthy", dust_index: "Dust index", ack: "Acknowledge", acked: "Acknowledged", by: "by",
    wrong_login: "Wrong username or password", throttled: "Too many attempts, please wait",
    busy: "The server is busy, please try again in a few seconds",
    m_per_h: "m/h", rising: "rising", falling: "falling", steady: "steady", hours: "h",
    sensors_up: "Sensors reporting", cameras_up: "Cameras reporting", acked_in_target: "Alerts acknowledged in time",
    median_ack: "Median time to acknowledge", minutes: "min", status: "Status", no_frame: "No image yet",
    fired: "Since", firing: "Firing", acknowledged: "Acknowledged", chart_label: "24-hour water-level chart",
    schematic_label: "Schematic of the Tích river from upstream to downstream", back: "← Dashboard", history: "History",
    resolved: "Resolved", value: "Value", subject: "Station / camera", severity: "Severity",
    "sensor.offline": "Offline", "sensor.stuck": "Stuck value", "sensor.spike": "Spike", "sensor.range": "Out of range",
    "sensor.battery": "Low battery", "sensor.clock": "Clock skew",
    warning: "Warning", critical: "Critical", emergency: "Emergency", info: "Info",
    edit_levels: "Edit alarm levels", levels_title: "Edit alarm levels", record_level: "Record flood",
    reason: "Reason (decision number…)", save: "Save", levels_set_by: "Alarm levels set by", not_saved: "Not saved",
    levels_order: "levels must rise: I < II < III < record",
  },
};
const state = { lang: localStorage.getItem("tw.lang") || "vi", token: sessionStorage.getItem("tw.token"),
  user: null, stations: [], cameras: [], alerts: [], series: {} };
const t = (k) => (I18N[state.lang] && I18N[state.lang][k]) || k;
const $ = (sel) => document.querySelector(sel);
const el = (tag, attrs = {}, ...kids) => {
  const n = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") n.className = v; else if (k.startsWith("on")) n.addEventListener(k.slice(2), v);
    else if (v !== null && v !== undefined) n.setAttribute(k, v);
  }
  for (const kid of kids.flat()) if (kid !== null && kid !== undefined) n.append(kid);
  return n;
};
const SVGNS = "http://www.w3.org/2000/svg";
const svg = (tag, attrs = {}) => { const n = document.createElementNS(SVGNS, tag); for (const [k, v] of Object.entries(attrs)) n.setAttribute(k, v); return n; };
const fmtTime = (iso) => iso ? new Intl.DateTimeFormat(state.lang === "vi" ? "vi-VN" : "en-GB",
  { timeZone: "Asia/Ho_Chi_Minh", hour: "2-digit", minute: "2-digit", day: "2-digit", month: "2-digit" }).format(new Date(iso)) : "–";
const fmtNum = (x, d = 2) => (x === null || x === undefined) ? "–" : Number(x).toLocaleString(state.lang === "vi" ? "vi-VN" : "en-GB", { minimumFractionDigits: d, maximumFractionDigits: d });

async function api(path, opts = {}) {
  const headers = Object.assign({ "Accept": "application/json" }, opts.headers || {});
  if (state.token) headers["Authorization"] = "Bearer " + state.token;
  // The page refreshes because something changed (a live event, an action): never from the browser's cache.
  const r = await fetch(path, Object.assign({ cache: "no-cache" }, opts, { headers }));
  if (r.status === 401 && state.token && !path.endsWith("/login")) { signOut(); }
  return r;
}
async function getJSON(path) { const r = await api(path); if (!r.ok) throw new Error(path + " " + r.status); return r.json(); }

function applyI18n() {
  document.documentElement.lang = state.lang;
  document.querySelectorAll("[data-i18n]").forEach((n) => { n.textContent = t(n.dataset.i18n); });
  $("#lang").textContent = state.lang === "vi" ? "EN" : "VI";
  $("#lang").setAttribute("aria-label", state.lang === "vi" ? "Switch to English" : "Chuyển sang tiếng Việt");
  $("#schematic").setAttribute("aria-label", t("schematic_label"));
}

function levelClass(st) { return (st.status && st.status.alarm_level) || null; }

function renderSchematic() {
  const box = $("#schematic"); box.replaceChildren();
  const n = state.stations.length; if (!n) return;
  const s = svg("svg", { viewBox: "0 0 600 110", role: "presentation" });
  s.append(svg("path", { d: "M10,60 C150,20 250,100 400,55 S560,40 590,60", fill: "none", stroke: "#5b8fc9", "stroke-width": 10, "stroke-linecap": "round" }));
  state.stations.forEach((st, i) => {
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
  const data = state.series[st.id] || [];
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
  $("#levels-dialog").close(); await refresh();
}

function renderStations() { $("#stations").replaceChildren(...state.stations.map(stationCard)); renderSchematic(); }

function renderCameras() {
  $("#cameras").replaceChildren(...state.cameras.map((c) => el("article", { class: "camera", "data-camera": c.id },
    c.snapshot_url ? el("img", { src: c.snapshot_url, alt: `${c.site}`, loading: "lazy" }) : el("p", { class: "muted" }, t("no_frame")),
    el("h3", {}, c.site),
    el("p", {}, `${t("dust_index")}: `, el("strong", {}, c.dust_index === null || c.dust_index === undefined ? "–" : fmtNum(c.dust_index, 2)),
      " · ", `${t("status")}: ${c.status || "–"}`))));
}

function renderAlerts() {
  const list = $("#alerts");
  list.replaceChildren(...state.alerts.map((a) => {
    const canAck = state.user && state.user.role !== "viewer" && a.state === "firing";
    return el("li", { class: `alert ${a.severity || ""} ${a.state}`, "data-alert": a.id },
      el("strong", {}, a.title || `${a.kind} · ${a.subject_name || a.subject}`),
      el("div", { class: "meta" }, `${t(a.state) || a.state} · ${t("fired")} ${fmtTime(a.started_at || a.updated_at)}` +
        (a.acknowledged_by ? ` · ${t("acked")} ${t("by")} ${a.acknowledged_by}` : "")),
      canAck ? el("button", { type: "button", class: "primary ack", onclick: () => acknowledge(a.id) }, t("ack")) : null);
  }));
  $("#no-alerts").hidden = state.alerts.length > 0;
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
  state.series[st.id] = r.buckets;
}

async function refresh() {
  const [st, cams, alerts, ind] = await Promise.all([getJSON("/api/v1/stations"), getJSON("/api/v1/cameras").catch(() => ({ cameras: [] })),
    getJSON("/api/v1/alerts?state=active").catch(() => ({ alerts: [] })), getJSON("/api/v1/indicators").catch(() => ({}))]);
  state.stations = st.stations; state.cameras = cams.cameras || []; state.alerts = alerts.alerts || [];
  await Promise.all(state.stations.map(loadSeries));
  renderStations(); renderCameras(); renderAlerts(); renderIndicators(ind);
}

let refreshTimer = null;
function scheduleRefresh(delay = 400) { clearTimeout(refreshTimer); refreshTimer = setTimeout(() => refresh().catch(() => {}), delay); }

function onReading(d) {
  const st = state.stations.find((s) => s.id === d.station_id);
  if (!st) return;
  st.latest = Object.assign({}, st.latest || {}, d);
  const span = document.querySelector(`[data-level="${CSS.escape(d.station_id)}"]`);
  if (span) span.textContent = `${fmtNum(d.level_m)} m`; else renderStations();
  scheduleRefresh(2000);
}

function connectStream() {
  const es = new EventSource("/api/v1/stream");
  es.onopen = () => { const n = $("#live"); n.textContent = t("live"); n.className = "live on"; };
  es.onerror = () => { const n = $("#live"); n.textContent = t("offline"); n.className = "live off"; };
  es.addEventListener("reading", (e) => onReading(JSON.parse(e.data)));
  for (const type of ["detection", "alert", "camera", "station", "reset"]) es.addEventListener(type, () => scheduleRefresh());
}

async function acknowledge(id) {
  const r = await api(`/api/v1/alerts/${encodeURIComponent(id)}/ack`, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ comment: "" }) });
  if (r.ok) await (alertPageId() ? renderAlertPage() : refresh());
}

const alertPageId = () => { const m = location.pathname.match(/^\/alerts\/([A-Za-z0-9_-]+)$/); return m ? m[1] : null; };

async function renderAlertPage() {
  const id = alertPageId();
  const doc = await getJSON(`/api/v1/alerts/${encodeURIComponent(id)}`);
  const a = doc.alert;
  $("#alert-title").textContent = a.title || `${a.kind} · ${a.subject_name || a.subject}`;
  const facts = [["status", t(a.state)], ["severity", t(a.severity)], ["subject", a.subject_name || a.subject],
    ["value", a.value === null ? "–" : `${fmtNum(a.value)} ${a.unit || ""}`], ["fired", fmtTime(a.started_at)]];
  if (a.acknowledged_by) facts.push(["acked", `${a.acknowledged_by} · ${fmtTime(a.acknowledged_at)}`]);
  $("#alert-facts").replaceChildren(...facts.flatMap(([k, v]) => [el("dt", {}, t(k)), el("dd", {}, v)]));
  const canAck = state.user && state.user.role !== "viewer" && a.state === "firing";
  $("#alert-actions").replaceChildren(canAck ? el("button", { type: "button", class: "primary ack", onclick: () => acknowledge(a.id) }, t("ack")) : "");
  $("#alert-log").replaceChildren(...doc.log.map((e) => el("li", {}, `${fmtTime(e.ts)} · ${e.action} · ${e.actor}${e.reason ? " · " + e.reason : ""}`)));
}

function showUser() {
  const signedIn = !!state.user;
  $("#signin-open").hidden = signedIn; $("#signout").hidden = !signedIn; $("#who").hidden = !signedIn;
  $("#who").textContent = signedIn ? `${state.user.username} (${state.user.role})` : "";
  renderAlerts(); renderStations();
}
function signOut() { state.token = null; state.user = null; sessionStorage.removeItem("tw.token"); showUser(); }

async function signIn(ev) {
  ev.preventDefault();
  const r = await api("/api/v1/auth/login", { method: "POST", headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ username: $("#username").value, password: $("#password").value }) });
  if (!r.ok) {
    const why = { 429: "throttled", 503: "busy" }[r.status] || "wrong_login";
    $("#signin-error").textContent = t(why); return;
  }
  const body = await r.json();
  state.token = body.access_token; sessionStorage.setItem("tw.token", state.token);
  state.user = { username: body.username, role: body.role };
  $("#signin-dialog").close(); $("#password").value = ""; $("#signin-error").textContent = "";
  showUser();
}

async function restoreSession() {
  if (!state.token) return;
  const r = await api("/api/v1/auth/me");
  if (r.ok) state.user = await r.json(); else signOut();
}

document.addEventListener("DOMContentLoaded", async () => {
  applyI18n();
  $("#lang").addEventListener("click", () => { state.lang = state.lang === "vi" ? "en" : "vi"; localStorage.setItem("tw.lang", state.lang); applyI18n(); renderStations(); renderCameras(); renderAlerts(); scheduleRefresh(0); });
  $("#signin-open").addEventListener("click", () => $("#signin-dialog").showModal());
  $("#signin-cancel").addEventListener("click", () => $("#signin-dialog").close());
  $("#signin-form").addEventListener("submit", signIn);
  $("#levels-form").addEventListener("submit", saveLevels);
  $("#levels-cancel").addEventListener("click", () => $("#levels-dialog").close());
  $("#signout").addEventListener("click", async () => { await api("/api/v1/auth/logout", { method: "POST" }); signOut(); });
  await restoreSession(); showUser();
  if (alertPageId()) {
    $("#main").hidden = true; $("#alert-page").hidden = false;
    await renderAlertPage().catch(() => { $("#alert-title").textContent = "404"; });
    return;
  }
  await refresh().catch(() => {});
  connectStream();
  setInterval(() => refresh().catch(() => {}), 60000);
});
