"use strict";
// Alerts: the active-alert list on the dashboard (in the API's order: most severe first, then newest) and the page
// of one alert (/alerts/<id>) with an officer's actions: acknowledge, comment, resolve, silence, false-alarm mark.
// Shares common.js; the roster line and the false-alarm counts are desk.js's.
const alertsState = { list: [], doc: null, silences: [], action: null };
const isOfficer = () => hasRole("officer", "admin");
const alertTitle = (a) => a.title || `${a.kind} · ${a.subject_name || a.subject}`;
const severityBadge = (a) => el("span", { class: `sev sev-${a.severity}` }, t(a.severity));

function renderAlerts() {
  const list = $("#alerts");
  list.replaceChildren(...alertsState.list.map((a) => {
    const canAck = isOfficer() && a.state === "firing";
    return el("li", { class: `alert ${a.severity || ""} ${a.state}`, "data-alert": a.id },
      el("div", { class: "alert-head" }, severityBadge(a), " ",
        el("a", { href: `/alerts/${encodeURIComponent(a.id)}`, class: "alert-link" }, alertTitle(a))),
      el("div", { class: "meta" }, `${t(a.state)} · ${t("fired")} ${fmtTime(a.started_at || a.updated_at)}` +
        (a.acknowledged_by ? ` · ${t("acked")} ${t("by")} ${a.acknowledged_by}` : "") +
        (a.false_alarm ? ` · ${t("desk.false_alarm")}` : "")),
      canAck ? el("button", { type: "button", class: "primary ack", onclick: () => acknowledge(a.id),
        "aria-label": `${t("ack")}: ${alertTitle(a)}` }, t("ack")) : null);
  }));
  $("#no-alerts").hidden = alertsState.list.length > 0;
}

async function acknowledge(id) {
  const r = await sendJSON("POST", `/api/v1/alerts/${encodeURIComponent(id)}/ack`, { comment: "" });
  if (!r.ok && alertPageId()) $("#alert-action-error").textContent = `${t("desk.failed")}: ${await problemText(r)}`;
  if (r.ok) await (alertPageId() ? loadAlertPage() : loadAlerts());
}


// -- the alert page --------------------------------------------------------------------------------------------
function actorName(actor) {
  if (actor === "detector" || actor === "system") return t("actor." + actor);
  if (actor && actor.startsWith("link:")) return `${t("actor.link")} (${actor.slice(5)})`;
  return actor;
}
// Reasons the detectors and the service write are stored in English; the page says them in its own language: the
// catalogue's words for the fixed reasons, and the facts an entry carries (level, value, the reading's time).
const FIXED_REASONS = [[/^detector stayed clear/, "why.stayed_clear"], [/^detector cleared/, "why.cleared"],
  [/takes over$/, "why.taken_over"], [/after the restart/, "why.restart"], [/^raised again before the hold/, "why.refired"],
  [/^its end time passed/, "why.silence_ended"], [/within one batch/, "why.not_notified"],
  [/^acknowledge link/, "why.ack_link"]];
function entryDetail(e) {
  const rule = FIXED_REASONS.find(([re]) => re.test(e.reason || ""));
  if (e.actor !== "detector" && e.actor !== "system") return rule ? t(rule[1]) : (e.reason || ""); // an officer's words
  const d = e.data || {}; const parts = [];
  if (rule) parts.push(t(rule[1]));
  if (d.level) parts.push(t(d.level));
  if (d.value !== undefined && d.value !== null) parts.push(`${fmtNum(d.value)} ${d.unit || ""}`.trim());
  if (d.sample_ts) parts.push(`${t("desk.reading_at")} ${fmtTime(new Date(d.sample_ts * 1000).toISOString())}`);
  return parts.length ? parts.join(" · ") : (e.reason || "");
}
function actionName(action) { const k = "action." + action; const s = t(k); return s === k ? action : s; }
const epochIso = (ts) => (ts === null || ts === undefined) ? null : new Date(ts * 1000).toISOString();

function kindMatches(pattern, kind) { return pattern === kind || (pattern.endsWith(".") && kind.startsWith(pattern)); }
/** Silences now muting this alert: those whose kinds and subjects take it (area-only silences are not judged here). */
function silencesOf(a) {
  return alertsState.silences.filter((s) => s.active && !(s.matchers.areas || []).length &&
    (!s.matchers.kinds.length || s.matchers.kinds.some((k) => kindMatches(k, a.kind))) &&
    (!s.matchers.subjects.length || s.matchers.subjects.includes(a.subject)));
}

function actionButtons(a) {
  if (!isOfficer()) return [];
  const open = a.state !== "resolved";
  const b = (id, key, onclick, primary) => el("button", { type: "button", id, class: primary ? "primary" : "", onclick }, t(key));
  return [
    a.state === "firing" ? b("act-ack", "ack", () => acknowledge(a.id), true) : null,
    b("act-comment", "act.comment", () => openAction("comment")),
    open ? b("act-resolve", "act.resolve", () => openAction("resolve")) : null,
    open ? b("act-silence", "act.silence", () => openAction("silence")) : null,
    a.false_alarm ? b("act-withdraw", "act.withdraw_false_alarm", () => openAction("withdraw"))
      : b("act-false-alarm", "act.false_alarm", () => openAction("false_alarm")),
    // a dust alert's "confirmed" answer: its frames become dust labels the camera learns from (routes_learning)
    a.kind === "dust.plume" && !a.false_alarm ? b("act-confirm", "act.confirm_dust", () => openAction("confirm")) : null,
  ].filter(Boolean);
}

function renderAlertPage() {
  const doc = alertsState.doc; if (!doc) return;
  const a = doc.alert;
  $("#alert-title").replaceChildren(severityBadge(a), " ", alertTitle(a));
  const facts = [["status", t(a.state)], ["severity", t(a.severity)], ["subject", a.subject_name || a.subject],
    ["value", a.value === null ? "–" : `${fmtNum(a.value)} ${a.unit || ""}`], ["fired", fmtTime(a.started_at)]];
  if (a.acknowledged_by) facts.push(["acked", `${a.acknowledged_by} · ${fmtTime(a.acknowledged_at)}`]);
  if (a.state === "resolved") facts.push(["desk.resolved_by", `${actorName(a.resolved_by)} · ${fmtTime(a.resolved_at)}` +
    (a.resolve_reason ? ` · ${a.resolve_reason}` : "")]);
  if (a.false_alarm) facts.push(["desk.false_alarm", `${a.false_alarm.marked_by} · ${fmtTime(a.false_alarm.marked_at)} · ${a.false_alarm.note}`]);
  $("#alert-facts").replaceChildren(...facts.flatMap(([k, v]) => [el("dt", {}, t(k)), el("dd", {}, v)]));
  $("#alert-message").replaceChildren(...(a.message || []).map((line) => el("li", {}, line)));
  renderEvidence(a);
  const muting = a.state === "resolved" ? [] : silencesOf(a);
  $("#alert-silence").hidden = muting.length === 0;
  $("#alert-silence").replaceChildren(...muting.map((s) => el("span", { class: "silence", "data-silence": s.id },
    `${t("desk.silenced_until")} ${fmtTime(s.ends_at)} (${s.created_by}: ${s.reason}) `,
    isOfficer() ? el("button", { type: "button", class: "unsilence", onclick: () => endSilence(s.id) }, t("act.unsilence")) : null)));
  $("#alert-actions").replaceChildren(...actionButtons(a));
  $("#alert-log").replaceChildren(...doc.log.map((e) => el("li", { "data-action": e.action },
    el("time", { datetime: e.ts }, fmtTime(e.ts)), ` · ${actionName(e.action)} · ${actorName(e.actor)}`,
    entryDetail(e) ? ` · ${entryDetail(e)}` : "")));
  const sent = doc.notifications || [];
  $("#alert-notifications").replaceChildren(...sent.map((n) => el("li", { "data-receiver": n.receiver },
    `${fmtTime(epochIso(n.sent_ts || n.created_ts))} · ${n.receiver} (${n.channel}) · ${t("notice." + n.notice)} · ` +
    `${t("nstate." + n.state)}` + (n.tier ? ` · ${t("desk.escalated")}: ${n.tier}` : ""))));
  $("#no-notifications").hidden = sent.length > 0;
  const told = residentsTold(doc.residents);
  $("#alert-residents").replaceChildren(...told.map((line) => el("li", {}, line)));
  $("#alert-residents").hidden = $("#alert-residents-h").hidden = told.length === 0;
}

/** A dust detection's outlined snapshot and each kind of evidence it measured, fired (✓) or not, so that the
 * officer's "false alarm" or "confirmed" answer rests on what the detector saw. */
function renderEvidence(a) {
  const facts = (a.evidence && a.evidence.evidence) || {};
  $("#alert-evidence").hidden = !a.evidence_url;
  if (!a.evidence_url) return;
  $("#alert-evidence-link").href = a.evidence_url;
  $("#alert-evidence-img").src = a.evidence_url;
  $("#alert-evidence-img").alt = t("desk.evidence_alt");
  $("#alert-evidence-facts").replaceChildren(...Object.entries(facts).flatMap(([kind, f]) => [
    el("dt", {}, t("dust.evidence." + kind)),
    el("dd", { "data-fired": String(Boolean(f.fired)) }, `${fmtNum(f.value)}${f.fired ? " ✓" : ""}`)]));
}

async function loadAlertPage() {
  const id = alertPageId();
  const [doc, sil] = await Promise.all([getJSON(`/api/v1/alerts/${encodeURIComponent(id)}?lang=${state.lang}`),
    getJSON("/api/v1/silences").catch(() => ({ silences: [] }))]);
  alertsState.doc = doc; alertsState.silences = sil.silences || [];
  $("#alert-action-error").textContent = "";
  renderAlertPage();
}

async function endSilence(silenceId) {
  const r = await api(`/api/v1/silences/${encodeURIComponent(silenceId)}`, { method: "DELETE" });
  if (!r.ok) $("#alert-action-error").textContent = `${t("desk.failed")}: ${await problemText(r)}`;
  else await loadAlertPage();
}

// -- the action dialog: comment, resolve, silence, false-alarm mark and its withdrawal -------------------------------
const ACTIONS = {
  comment: { title: "act.comment", label: "desk.comment_text", path: "comment", body: (text) => ({ text }) },
  resolve: { title: "act.resolve", label: "desk.resolve_reason", path: "resolve", body: (reason) => ({ reason }) },
  silence: { title: "act.silence", label: "desk.silence_reason" },
  false_alarm: { title: "act.false_alarm", label: "desk.false_alarm_note", path: "false-alarm", body: (note) => ({ note }) },
  withdraw: { title: "act.withdraw_false_alarm", label: "desk.withdraw_note", path: "false-alarm/withdraw", body: (note) => ({ note }) },
  confirm: { title: "act.confirm_dust", label: "desk.confirm_note", path: "answer", body: (note) => ({ answer: "confirmed", note }) },
};

const pad = (n) => String(n).padStart(2, "0");
/** The next 07:00 in Vietnam time (UTC+7, no daylight saving) as RFC 3339. */
function nextSevenAm(nowMs = Date.now()) {
  const vn = new Date(nowMs + 7 * 3600e3);  // its UTC fields read Vietnam's wall clock
  let at = Date.UTC(vn.getUTCFullYear(), vn.getUTCMonth(), vn.getUTCDate());  // 00:00 UTC is 07:00 in Vietnam
  if (at <= nowMs) at += 24 * 3600e3;
  return new Date(at).toISOString();
}
function silenceEnd(choice) {
  if (choice === "1h") return new Date(Date.now() + 3600e3).toISOString();
  if (choice === "4h") return new Date(Date.now() + 4 * 3600e3).toISOString();
  if (choice === "7am") return nextSevenAm();
  const v = $("#act-custom").value;  // "2026-09-22T07:00", read as Vietnam time
  return v ? `${v}:00+07:00` : null;
}

function openAction(kind) {
  alertsState.action = kind;
  const spec = ACTIONS[kind];
  $("#act-title").textContent = t(spec.title);
  $("#act-text-label").textContent = t(spec.label);
  $("#act-text").value = ""; $("#act-error").textContent = "";
  const silence = kind === "silence";
  $("#act-until").hidden = !silence; $("#act-scope").hidden = !silence;
  if (silence) {
    document.querySelector('input[name="until"][value="1h"]').checked = true;
    $("#act-custom-box").hidden = true; $("#act-custom").value = "";
    document.querySelectorAll("[data-until]").forEach((n) => { n.textContent = `(${fmtTime(silenceEnd(n.dataset.until))})`; });
  }
  $("#act-dialog").showModal();
  (silence ? document.querySelector('input[name="until"][value="1h"]') : $("#act-text")).focus();
}

async function submitAction(ev) {
  ev.preventDefault();
  const a = alertsState.doc.alert, kind = alertsState.action, spec = ACTIONS[kind];
  const text = $("#act-text").value.trim();
  if (!text) { $("#act-error").textContent = `${t("desk.failed")}: ${t(spec.label)}`; $("#act-text").focus(); return; }
  let r;
  if (kind === "silence") {
    const ends = silenceEnd(document.querySelector('input[name="until"]:checked').value);
    if (!ends) { $("#act-error").textContent = t("desk.custom_end_missing"); $("#act-custom").focus(); return; }
    r = await sendJSON("POST", "/api/v1/silences", { matchers: { kinds: [a.kind], subjects: [a.subject] }, ends_at: ends, reason: text });
  } else {
    r = await sendJSON("POST", `/api/v1/alerts/${encodeURIComponent(a.id)}/${spec.path}`, spec.body(text));
  }
  if (!r.ok) { $("#act-error").textContent = `${t("desk.failed")}: ${await problemText(r)}`; return; }
  $("#act-dialog").close();
  await loadAlertPage();
}

function setUpActionDialog() {
  $("#act-form").addEventListener("submit", submitAction);
  $("#act-cancel").addEventListener("click", () => $("#act-dialog").close());
  document.querySelectorAll('input[name="until"]').forEach((n) => n.addEventListener("change", () => {
    $("#act-custom-box").hidden = n.value !== "custom" || !n.checked;
  }));
}

// -- the list --------------------------------------------------------------------------------------------------
async function loadAlerts() {
  const doc = await getJSON(`/api/v1/alerts?state=active&lang=${state.lang}`).catch(() => ({ alerts: [] }));
  alertsState.list = doc.alerts || []; renderAlerts();
}
let alertsTimer = null;
function scheduleAlerts(delay = 400) {
  clearTimeout(alertsTimer);
  alertsTimer = setTimeout(() => (alertPageId() ? loadAlertPage() : loadAlerts()).catch(() => {}), delay);
}

TW.page({
  async start() {
    if (alertPageId()) {
      $("#main").hidden = true; $("#alert-page").hidden = false;
      setUpActionDialog();
      await loadAlertPage().catch(() => { $("#alert-title").textContent = t("desk.not_found"); });
      return;
    }
    await loadAlerts();
  },
  render() { if (alertPageId()) renderAlertPage(); else renderAlerts(); },
  onLanguage() { scheduleAlerts(0); },
  onEvent(type, data) {
    if (type === "reset" || (type === "alert" && (!alertPageId() || data.alert_id === alertPageId()))) scheduleAlerts();
  },
});
