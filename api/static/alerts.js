"use strict";
// Alerts: the active-alert list on the dashboard and the page of one alert (/alerts/<id>). Shares common.js.
const alertsState = { list: [] };
function renderAlerts() {
  const list = $("#alerts");
  list.replaceChildren(...alertsState.list.map((a) => {
    const canAck = state.user && state.user.role !== "viewer" && a.state === "firing";
    return el("li", { class: `alert ${a.severity || ""} ${a.state}`, "data-alert": a.id },
      el("strong", {}, a.title || `${a.kind} · ${a.subject_name || a.subject}`),
      el("div", { class: "meta" }, `${t(a.state) || a.state} · ${t("fired")} ${fmtTime(a.started_at || a.updated_at)}` +
        (a.acknowledged_by ? ` · ${t("acked")} ${t("by")} ${a.acknowledged_by}` : "")),
      canAck ? el("button", { type: "button", class: "primary ack", onclick: () => acknowledge(a.id) }, t("ack")) : null);
  }));
  $("#no-alerts").hidden = alertsState.list.length > 0;
}

async function acknowledge(id) {
  const r = await api(`/api/v1/alerts/${encodeURIComponent(id)}/ack`, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ comment: "" }) });
  if (r.ok) await (alertPageId() ? renderAlertPage() : loadAlerts());
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


async function loadAlerts() {
  const doc = await getJSON(`/api/v1/alerts?state=active&lang=${state.lang}`).catch(() => ({ alerts: [] }));
  alertsState.list = doc.alerts || []; renderAlerts();
}
let alertsTimer = null;
function scheduleAlerts(delay = 400) {
  clearTimeout(alertsTimer);
  alertsTimer = setTimeout(() => (alertPageId() ? renderAlertPage() : loadAlerts()).catch(() => {}), delay);
}

TW.page({
  async start() {
    if (alertPageId()) {
      $("#main").hidden = true; $("#alert-page").hidden = false;
      await renderAlertPage().catch(() => { $("#alert-title").textContent = "404"; });
      return;
    }
    await loadAlerts();
  },
  render() { if (!alertPageId()) renderAlerts(); },
  onLanguage() { scheduleAlerts(0); },
  onEvent(type) { if (type === "alert" || type === "reset") scheduleAlerts(); },
});
