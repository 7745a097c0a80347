"use strict";
// The portal widget (GET /widget): the commune's overall status, each station's latest level, alarm badge and trend,
// the active public alerts and the latest bulletin. Plain JavaScript, no build step, nothing from another origin, no
// cookie or storage. It reads only the public snapshot endpoints, polling with If-None-Match every `refresh_s`
// (plus up to 20 % at random, so a portal's crowd spreads out; paused while the page is hidden): an unchanged answer
// is a 304 with no body. It posts its height to the page that frames it (embed.js sizes the iframe with it).
(() => {
  const config = JSON.parse(document.getElementById("tw-widget-config").textContent);
  const lang = config.lang === "en" ? "en" : "vi";
  const TZ = "Asia/Ho_Chi_Minh";
  const HEIGHT_MESSAGE = "tichwatch-widget:height";
  const MAX_STATIONS_FILTER = 50;
  const t = (key) => config.texts[key] || key;
  const tf = (key, vars) => t(key).replace(/\{(\w+)\}/g, (_, k) => (vars[k] === undefined || vars[k] === null ? "" : String(vars[k])));
  const only = new Set((new URLSearchParams(location.search).get("stations") || "").split(",")
    .map((s) => s.trim()).filter(Boolean).slice(0, MAX_STATIONS_FILTER));
  const known = new Map(); // path → { etag, body }: the last answer of each endpoint, for If-None-Match

  /** A text node holder: an element with a class and children (strings become text, never HTML). */
  function node(tag, cls, ...kids) {
    const n = document.createElement(tag);
    if (cls) n.className = cls;
    for (const kid of kids) if (kid !== null && kid !== undefined && kid !== "") n.append(kid);
    return n;
  }

  const timeFormat = new Intl.DateTimeFormat("en-GB", { timeZone: TZ, hour: "2-digit", minute: "2-digit",
    day: "2-digit", month: "2-digit", hour12: false });
  /** "14:30 28/09" in Vietnam time, as the dashboard writes times. */
  function when(value) {
    if (!value) return "–";
    const parts = {};
    for (const p of timeFormat.formatToParts(new Date(value))) parts[p.type] = p.value;
    return `${parts.hour}:${parts.minute} ${parts.day}/${parts.month}`;
  }
  const metres = (x) => Number(x).toLocaleString(lang === "vi" ? "vi-VN" : "en-GB",
    { minimumFractionDigits: 2, maximumFractionDigits: 2 }) + " m";
  const levelLong = (lvl) => (lvl === "RECORD" ? t("widget.RECORD") : t(lvl));
  const levelShort = (lvl) => (!lvl ? t("normal") : lvl === "RECORD" ? t("widget.RECORD") : t(lvl + ".short"));
  const isSet = (v) => v !== null && v !== undefined;
  function trend(rate) {
    if (!isSet(rate)) return null;
    return rate > 0.02 ? ["↑", t("rising")] : rate < -0.02 ? ["↓", t("falling")] : ["→", t("steady")];
  }
  const safeLink = (url) => (typeof url === "string" && /^https?:\/\//.test(url) ? url : null);

  let changed = false; // did any answer change since the last rendering
  async function getJSON(path) {
    const last = known.get(path);
    const headers = { Accept: "application/json" };
    if (last) headers["If-None-Match"] = last.etag;
    const r = await fetch(path, { headers, cache: "no-store", credentials: "omit" });
    if (r.status === 304 && last) return last.body;
    if (!r.ok) throw new Error(`${path}: ${r.status}`);
    const body = await r.json();
    const etag = r.headers.get("ETag");
    if (etag) known.set(path, { etag, body });
    changed = true;
    return body;
  }

  // --- rendering -----------------------------------------------------------------------------------------------
  function renderStatus(status, names) {
    const box = document.getElementById("w-status");
    const lvl = status.alarm_level;
    box.className = "w-overall " + (lvl || "");
    const head = lvl ? tf("widget.status_alarm", { level: levelLong(lvl), station: names[status.worst_station_id] || "" })
      : t("widget.status_normal");
    const subs = [];
    const soon = status.soonest_station_id && (status.stations || {})[status.soonest_station_id];
    if (status.early_warning && soon && soon.next_level && soon.eta_at) {
      subs.push(tf("widget.status_forecast", { station: names[status.soonest_station_id] || status.soonest_station_id,
        level: levelLong(soon.next_level), time: when(soon.eta_at) }));
    }
    const faulty = (status.stations_with_faults || []).length;
    if (faulty) subs.push(tf("widget.status_faults", { n: faulty }));
    box.replaceChildren(head, ...subs.map((s) => node("span", "w-sub", s)));
  }

  function isPublic(kind) {
    return config.public_kinds.some((k) => (k.endsWith(".") ? kind.startsWith(k) : kind === k));
  }
  function renderAlerts(alerts) {
    const n = (alerts.alerts || []).filter((a) => isPublic(String(a.kind || ""))).length;
    const box = document.getElementById("w-alerts");
    box.className = "w-alerts" + (n ? " some" : "");
    box.textContent = n ? tf("widget.alerts", { n: alerts.next ? `${n}+` : n }) : t("widget.alerts_none");
  }

  /** The hamlets a station's `impact` names (names, or ids where a hamlet has no name), and its action. */
  function impactOf(st) {
    const imp = st.impact || (st.status && st.status.impact);
    if (!imp || typeof imp !== "object") return null;
    const hamlets = (Array.isArray(imp.hamlets) ? imp.hamlets : [])
      .map((h) => (typeof h === "string" ? h : h && (h.name || h.id))).filter(Boolean);
    if (!hamlets.length) return null;
    const action = imp[`action_${lang}`] || (imp.action && typeof imp.action === "object" ? imp.action[lang] : imp.action);
    return { hamlets, action: typeof action === "string" ? action : "" };
  }

  function stationItem(st) {
    const status = st.status || {};
    const lvl = status.alarm_level || null;
    const tr = trend(status.rate_m_per_h);
    const level = st.latest ? node("span", "w-level", metres(st.latest.level_m),
      tr ? node("span", "w-trend", tr[0]) : null) : node("span", "w-muted", t("widget.no_data"));
    if (tr) { level.title = tr[1]; level.setAttribute("aria-label", `${metres(st.latest.level_m)}, ${tr[1]}`); }
    const faults = (status.faults || []).slice(0, 1).map((f) => node("span", "w-badge fault", t(f)));
    const item = node("li", "w-station " + (lvl || ""),
      node("div", "w-row", node("span", "w-name", st.name), level,
        node("span", "w-badge " + (lvl || ""), levelShort(lvl)), ...faults),
      st.latest ? node("div", "w-time", tf("widget.measured_at", { time: when(st.latest.ts) })) : null);
    item.dataset.station = st.id;
    const impact = impactOf(st);
    if (impact) {
      item.append(node("p", "w-hamlets", tf("widget.hamlets", { hamlets: impact.hamlets.join(", ") }),
        impact.action ? node("span", "w-muted", ` — ${impact.action}`) : null));
    }
    return item;
  }

  function renderStations(stations) {
    const chosen = stations.filter((s) => only.has(s.id));
    const shown = only.size && chosen.length ? chosen : stations; // a filter naming no station shows them all
    document.getElementById("w-stations").replaceChildren(...shown.map(stationItem));
  }

  function renderBulletin(list) {
    const b = (list.bulletins || [])[0];
    const box = document.getElementById("w-bulletin");
    if (!b) { box.replaceChildren(node("p", "w-muted", t("widget.no_bulletin"))); return; }
    const title = (b.title || {})[lang] || (b.title || {}).vi || "";
    const quote = (b.quote || {})[lang] || (b.quote || {}).vi || "";
    const href = safeLink((b.links || {})[`text_${lang}`] || (b.links || {}).self);
    const published = b.published && (b.published.utc || b.published.local);
    const link = href ? node("a", "", t("widget.read_bulletin")) : null;
    if (link) {
      link.href = href; link.target = "_blank"; link.rel = "noopener noreferrer";
      link.setAttribute("aria-label", `${t("widget.read_bulletin")} ${t("widget.new_window")}`);
    }
    box.replaceChildren(node("p", "w-btitle", node("strong", "", title)),
      quote ? node("blockquote", "", quote) : null,
      node("p", "w-muted", published ? tf("widget.published", { time: when(published) }) : null, link ? " · " : null, link));
    box.dataset.bulletin = b.id;
  }

  // --- polling ---------------------------------------------------------------------------------------------------
  let lastLoad = 0;
  let timer = null;
  async function load() {
    clearTimeout(timer);
    lastLoad = Date.now();
    const updated = document.getElementById("w-updated");
    try {
      const [status, stations, alerts, bulletins] = await Promise.all([
        getJSON("/api/v1/status"), getJSON("/api/v1/stations"),
        getJSON("/api/v1/alerts?state=active&limit=200"), getJSON("/api/v1/bulletins?limit=1")]);
      if (changed) { // unchanged answers (304) leave the page as it is: a screen reader hears nothing new
        const names = Object.fromEntries((stations.stations || []).map((s) => [s.id, s.name]));
        renderStatus(status, names);
        renderAlerts(alerts);
        renderStations(stations.stations || []);
        renderBulletin(bulletins);
        changed = false;
      }
      updated.className = "w-muted";
      updated.textContent = tf("widget.updated", { time: when(Date.now()) });
    } catch (err) {
      updated.className = "w-offline";
      updated.textContent = t("widget.offline");
      console.warn("widget: could not refresh", err);
    }
    timer = setTimeout(() => { if (!document.hidden) load(); }, config.refresh_s * 1000 * (1 + Math.random() * 0.2));
  }
  document.addEventListener("visibilitychange", () => {
    if (!document.hidden && Date.now() - lastLoad >= config.refresh_s * 1000) load();
  });

  // --- height for the framing page -------------------------------------------------------------------------------
  let sentHeight = 0;
  function postHeight() {
    if (window.parent === window) return;
    const height = Math.ceil(document.getElementById("w").getBoundingClientRect().height);
    if (height === sentHeight) return;
    sentHeight = height;
    // Only a number, to whichever page frames us: nothing to keep from it (the loader checks who sent it).
    window.parent.postMessage({ type: HEIGHT_MESSAGE, height }, "*");
  }
  new ResizeObserver(postHeight).observe(document.getElementById("w"));

  load();
})();
