"use strict";
// The bulletin desk (/bulletins/desk) for communicators, officers and administrators: drafts from the live figures,
// edits within each text's limit, previews (card, chart, spoken text, audio), approval by someone who did not write
// the bulletin, publication (or the emergency rule, shown and logged as such), the delivery state per channel as it
// changes (live `bulletin` events), a retry for a failed channel, and the published bulletins with search.
// Shares common.js (state, t, el, api, sendJSON, fmtTime, hasRole, TW.page). What may be done is the API's answer
// (`allowed` of each bulletin): the page shows a button only where the API would accept it.
const API = "/api/v1/bulletins";
const DESK_ROLES = ["communicator", "officer", "admin"];
const FIELDS = ["title_vi", "quote_vi", "text_vi", "radio_vi", "title_en", "quote_en", "text_en"];
const desk = {
  rules: null, queue: [], history: [], next: null, selected: null, doc: null,
  loadedFor: null, // whose data is shown (a sign-in as someone else reloads)
  dirty: {}, // texts typed and not saved yet: kept when the bulletin is reloaded
  chosen: null, // the channels ticked for publication (a Set), kept when the bulletin is reloaded
  textsKey: null, picturesKey: null, audioKey: null, blobs: {}, timers: {},
};
const enc = encodeURIComponent;
const when = (time) => (time ? fmtTime(time.utc) : "–");
const who = (name) => (name === "schedule" ? t("bl_actor_schedule") : name || t("bl_not_yet"));
const deskUser = () => hasRole(...DESK_ROLES);

function say(key) { $("#bl-status").textContent = key ? t(key) : ""; $("#bl-error").textContent = ""; }

// A refusal in the reader's language: the API's rule `code` has its text in the catalogue (bl_err_<code>).
async function fail(r) {
  const p = await r.json().catch(() => ({}));
  const key = p.code ? "bl_err_" + p.code : ({ 401: "bl_err_signin", 403: "bl_err_forbidden" }[r.status] || "");
  $("#bl-status").textContent = "";
  $("#bl-error").textContent = key && t(key) !== key ? t(key) : `${t("bl_err_other")}: ${p.detail || p.title || r.status}`;
}

// Runs a request with its button disabled (no double submission) and a "working" note.
async function busy(button, work) {
  if (button) button.disabled = true;
  say("bl_working");
  try { await work(); } finally { if (button) button.disabled = false; }
}

function later(name, work, delayMs = 300) {
  clearTimeout(desk.timers[name]);
  desk.timers[name] = setTimeout(() => work().catch((e) => console.warn("bulletin desk:", e)), delayMs);
}

// -- loading --------------------------------------------------------------------------------------------------------
async function loadRules() { desk.rules = await getJSON(`${API}/desk`); renderRules(); }
async function loadQueue() { desk.queue = (await getJSON(`${API}/drafts`)).bulletins; renderQueue(); }
async function loadDoc() {
  if (!desk.selected) return;
  const r = await api(`${API}/drafts/${enc(desk.selected)}`);
  if (!r.ok) { await fail(r); return; }
  desk.doc = await r.json();
  renderEditor();
}
async function loadAll() {
  await Promise.all([loadRules(), loadQueue(), searchHistory()]);
  const wanted = decodeURIComponent(location.hash.slice(1));
  if (wanted && !desk.selected) await openBulletin(wanted, false);
}

function historyURL() {
  const p = new URLSearchParams({ limit: "20" });
  const q = $("#bl-q").value.trim();
  if (q) p.set("q", q);
  const from = $("#bl-from").value, to = $("#bl-to").value;
  if (from) p.set("start", `${from}T00:00:00+07:00`); // the day in Vietnam time, inclusive
  if (to) p.set("end", new Date(Date.parse(`${to}T00:00:00+07:00`) + 86400000).toISOString());
  return `${API}?${p}`;
}
async function searchHistory(more = false) {
  const r = await api(more && desk.next ? desk.next : historyURL());
  if (!r.ok) { await fail(r); return; }
  const body = await r.json();
  desk.history = more ? desk.history.concat(body.bulletins) : body.bulletins;
  desk.next = body.next;
  renderHistory();
}

// -- lists ----------------------------------------------------------------------------------------------------------
function renderRules() {
  const e = desk.rules && desk.rules.emergency;
  const node = $("#bl-emergency-state");
  node.textContent = e ? t(e.in_force ? "bl_emergency_on" : "bl_emergency_off") : "";
  node.classList.toggle("on", !!(e && e.in_force));
}

function badges(b) {
  return [el("span", { class: `state ${b.state}` }, t("bl_state_" + b.state)),
    el("span", { class: `kind ${b.kind}` }, t("bl_kind_" + b.kind))];
}

function item(b, meta) {
  return el("li", { class: b.id === desk.selected ? "selected" : "", "data-bulletin": b.id, "data-state": b.state },
    el("button", { type: "button", class: "item", onclick: () => openBulletin(b.id) },
      el("span", { class: "badges" }, badges(b)), el("strong", {}, b.title[state.lang] || b.title.vi),
      el("span", { class: "meta" }, meta)));
}

function renderQueue() {
  $("#bl-queue").replaceChildren(...desk.queue.map((b) => item(b,
    `${t("bl_author")}: ${who(b.created_by)} · ${when(b.created)} · ${t("bl_approver")}: ${who(b.approved_by)}`)));
  $("#bl-queue-empty").hidden = desk.queue.length > 0;
}

function renderHistory() {
  $("#bl-history").replaceChildren(...desk.history.map((b) => item(b,
    `${when(b.published)} · ${t("bl_author")}: ${who(b.created_by)} · ${t("bl_approver")}: ${who(b.approved_by)}` +
    ` · ${t("bl_publisher")}: ${who(b.published_by)}`)));
  $("#bl-history-empty").hidden = desk.history.length > 0;
  $("#bl-more").hidden = !desk.next;
}

// -- one bulletin ---------------------------------------------------------------------------------------------------
async function openBulletin(id, scroll = true) {
  if (desk.selected !== id) {
    // unsaved texts kept over a sign-out (a session that ended mid-edit) come back when the same person reopens it
    const me = state.user ? state.user.username : null;
    const kept = desk.kept && desk.kept.id === id && desk.kept.user === me ? desk.kept.dirty : {};
    desk.selected = id; desk.doc = null; desk.dirty = kept; desk.kept = null; desk.chosen = null;
    desk.textsKey = desk.picturesKey = null;
    resetAudio();
  }
  history.replaceState(null, "", "#" + enc(id));
  renderQueue(); renderHistory();
  await loadDoc();
  if (scroll && desk.doc) $("#bl-editor").scrollIntoView({ block: "start" });
}

function closeBulletin() {
  desk.selected = null; desk.doc = null; desk.dirty = {};
  history.replaceState(null, "", location.pathname);
  resetAudio();
  $("#bl-editor").hidden = true;
  renderQueue(); renderHistory();
}

const withoutApproval = (d) => d.log.some((e) => e.action === "published" && e.detail && e.detail.without_approval);

function renderEditor() {
  const d = desk.doc, editor = $("#bl-editor");
  editor.hidden = !d;
  if (!d) return;
  editor.dataset.bulletin = d.id; editor.dataset.state = d.state;
  $("#ed-title").textContent = d[state.lang].title;
  renderFacts(d); renderActions(d); renderDeliveries(d); renderTexts(d); renderSpoken(d); renderLog(d);
  if (desk.picturesKey !== d.id + state.lang) loadPictures(d).catch((e) => console.warn("pictures:", e));
}

function renderFacts(d) {
  const facts = [["status", badges(d)], ["bl_data_time", when(d.data_time)],
    ["bl_author", `${who(d.created_by)} · ${when(d.created)}`], ["bl_writers", d.authors.map(who).join(", ")],
    ["bl_approver", d.approved_by ? `${who(d.approved_by)} · ${when(d.approved)}` : t("bl_not_yet")]];
  if (d.published) facts.push(["bl_publisher", `${who(d.published_by)} · ${when(d.published)}`]);
  $("#ed-facts").replaceChildren(...facts.flatMap(([k, v]) => [el("dt", {}, t(k)), el("dd", {}, v)]));
}

function channelChooser(d) {
  const receivers = (desk.rules && desk.rules.receivers) || [];
  if (!desk.chosen) desk.chosen = new Set(d.channels);
  const toggle = (e) => { if (e.target.checked) desk.chosen.add(e.target.value); else desk.chosen.delete(e.target.value); };
  return el("fieldset", { class: "channels" }, el("legend", {}, t("bl_channels")),
    receivers.map((r) => el("label", {}, el("input", { type: "checkbox", name: "channel", value: r.name,
      checked: desk.chosen.has(r.name), onchange: toggle }), `${r.name} (${r.channel})`)));
}

function renderActions(d) {
  const a = d.allowed, parts = [];
  if (d.state === "published") {
    parts.push(el("p", { class: "note" }, `${t("bl_state_published")} · ${when(d.published)} · ${who(d.published_by)}`));
    if (withoutApproval(d)) parts.push(el("p", { class: "emergency-note" }, t("bl_without_approval")));
  } else {
    if (a.approve) {
      parts.push(el("button", { type: "button", id: "bl-approve", class: "primary", onclick: (e) => approve(e.target) },
        t("bl_approve")));
    } else if (d.state === "draft") {
      const mine = state.user && d.authors.includes(state.user.username);
      parts.push(el("p", { class: "note approve-note" }, t(mine ? "bl_approve_own" : "bl_wait_approval")));
    }
    if (a.publish === "emergency") parts.push(el("p", { class: "emergency-note" }, t("bl_emergency_rule")));
    if (a.publish) {
      parts.push(channelChooser(d));
      parts.push(a.publish === "emergency"
        ? el("button", { type: "button", id: "bl-publish-emergency", class: "danger", onclick: (e) => publish(e.target, true) },
          t("bl_publish_emergency"))
        : el("button", { type: "button", id: "bl-publish", class: "primary", onclick: (e) => publish(e.target, false) },
          t("bl_publish")));
    } else if (a.publish_refused && !a.approve && d.state !== "draft") {
      parts.push(el("p", { class: "note" }, t("bl_err_" + a.publish_refused)));
    }
  }
  $("#ed-actions").replaceChildren(...parts);
}

function deliveryText(r) {
  const tries = `${r.attempts} ${t("bl_attempts")}`;
  if (r.state === "sent") return `${t("bl_dl_sent")} ${when(r.sent)} · ${tries}`;
  if (r.state === "failed") return `${t("bl_dl_failed")} · ${tries}`;
  if (r.attempts > 0 && r.next_attempt) return `${t("bl_dl_retrying")} ${when(r.next_attempt)} · ${tries}`;
  return t("bl_dl_queued");
}

function renderDeliveries(d) {
  const receivers = (d.delivery && d.delivery.receivers) || [];
  const rows = receivers.map((r) => el("li", { class: `delivery ${r.state}`, "data-receiver": r.receiver, "data-state": r.state },
    el("strong", {}, r.receiver), el("span", { class: "muted" }, ` · ${r.channel}`),
    el("div", { class: "dl-state" }, deliveryText(r)),
    r.error ? el("div", { class: "dl-error" }, `${t("bl_error_was")}: ${r.error}`) : null,
    r.state === "failed" && d.allowed.retry
      ? el("button", { type: "button", class: "retry", onclick: (e) => retry(e.target, r.receiver) }, t("bl_retry")) : null));
  const told = residentsTold(d.delivery && d.delivery.residents).map((line) => el("li", { class: "delivery residents" },
    el("strong", {}, t("desk.residents_told")), el("div", { class: "dl-state" }, line)));
  rows.push(...told);
  $("#ed-deliveries").replaceChildren(...(rows.length ? rows : [el("li", { class: "muted" }, t("bl_deliveries_none"))]));
}

const textOf = (d, f) => { const [part, lang] = f.split("_"); return part === "radio" ? d.radio_vi : d[lang][part]; };

function showCount(f, max) {
  const n = $(`#ed-${f}`).value.length;
  const node = $(`#count-${f}`);
  node.textContent = `${n} / ${max} ${t("bl_chars")}`;
  node.classList.toggle("near", n > max * 0.9);
}

function textField(d, f, max, editable) {
  const area = el("textarea", { name: f, id: `ed-${f}`, maxlength: max, readonly: !editable,
    rows: f.startsWith("title") ? 2 : f.startsWith("quote") ? 4 : 10,
    oninput: (e) => { desk.dirty[f] = e.target.value; showCount(f, max); } });
  area.value = f in desk.dirty ? desk.dirty[f] : textOf(d, f);
  return el("label", { class: "field", for: `ed-${f}` },
    el("span", { class: "field-head" }, el("span", {}, t("bl_field_" + f)), el("span", { class: "count", id: `count-${f}` })),
    area);
}

// The texts are built again only when the bulletin changed (or the language): a live event must not wipe what
// someone is typing, and what they typed and did not save stays when it is rebuilt.
function renderTexts(d) {
  const key = `${d.id}@${d.updated && d.updated.utc}@${d.state}@${d.allowed.edit}@${state.lang}`;
  if (desk.textsKey === key) return;
  desk.textsKey = key;
  const limits = (desk.rules && desk.rules.limits) || {};
  const editable = d.allowed.edit;
  $("#ed-text-note").textContent = !editable ? t("bl_readonly") : d.state === "approved" ? t("bl_edit_withdraws") : "";
  $("#ed-form").replaceChildren(...FIELDS.map((f) => textField(d, f, limits[f] || 20000, editable)),
    editable ? el("button", { type: "submit", id: "bl-save", class: "primary" }, t("bl_save")) : "");
  for (const f of FIELDS) showCount(f, limits[f] || 20000);
}

async function save(ev) {
  ev.preventDefault();
  const d = desk.doc, changes = {};
  for (const f of FIELDS) { const v = $(`#ed-${f}`).value; if (v !== textOf(d, f)) changes[f] = v; }
  if (!Object.keys(changes).length) { say("bl_no_changes"); return; }
  const wasApproved = d.state === "approved";
  await busy($("#bl-save"), async () => {
    const r = await sendJSON("PUT", `${API}/${enc(d.id)}`, changes);
    if (!r.ok) { await fail(r); return; }
    desk.dirty = {}; desk.textsKey = null;
    say(wasApproved ? "bl_saved_withdrawn" : "bl_saved");
    await Promise.all([loadDoc(), loadQueue()]);
  });
}

async function approve(button) {
  await busy(button, async () => {
    const r = await sendJSON("POST", `${API}/${enc(desk.selected)}/approve`);
    if (!r.ok) { await fail(r); return; }
    say("bl_approved_ok");
    await Promise.all([loadDoc(), loadQueue()]);
  });
}

function confirmed(text) {
  const dialog = $("#bl-confirm-dialog");
  $("#bl-confirm-text").textContent = text;
  return new Promise((resolve) => {
    dialog.addEventListener("close", () => resolve(dialog.returnValue === "yes"), { once: true });
    dialog.returnValue = "";
    dialog.showModal();
  });
}

async function publish(button, emergency) {
  if (emergency && !(await confirmed(t("bl_emergency_confirm")))) return;
  const channels = [...(desk.chosen || [])];
  await busy(button, async () => {
    const r = await sendJSON("POST", `${API}/${enc(desk.selected)}/publish`, { channels });
    if (!r.ok) { await fail(r); return; }
    say("bl_published_ok");
    await Promise.all([loadDoc(), loadQueue(), searchHistory()]);
  });
}

async function retry(button, receiver) {
  await busy(button, async () => {
    const r = await sendJSON("POST", `${API}/${enc(desk.selected)}/deliveries/${enc(receiver)}/retry`);
    if (!r.ok) { await fail(r); return; }
    say((await r.json()).retried ? "bl_retry_done" : "bl_retry_waiting");
    await loadDoc();
  });
}

// -- previews: pictures and audio come with the reader's credentials, shown through blob: URLs --------------------
function keepBlob(name, url) {
  if (desk.blobs[name]) URL.revokeObjectURL(desk.blobs[name]);
  desk.blobs[name] = url;
}
async function blobOf(path) {
  const r = await api(path);
  return r.ok ? URL.createObjectURL(await r.blob()) : null;
}

async function loadPictures(d) {
  const key = d.id + state.lang;
  desk.picturesKey = key;
  for (const name of ["card", "chart"]) {
    const url = await blobOf(`${API}/drafts/${enc(d.id)}/${name}.png?lang=${state.lang}`);
    if (desk.picturesKey !== key) { if (url) URL.revokeObjectURL(url); return; } // another bulletin meanwhile
    keepBlob(name, url);
    const img = $(`#ed-${name}`), label = t(name === "card" ? "bl_card" : "bl_chart");
    img.hidden = !url; img.alt = label;
    if (url) img.src = url; else img.removeAttribute("src");
    $(`#ed-${name}-cap`).textContent = url ? label : `${label}: ${t("bl_no_picture")}`;
  }
}

function renderSpoken(d) {
  $("#ed-spoken").textContent = d.radio_spoken;
  if (desk.audioKey && desk.audioKey !== d.id + "@" + d.radio_vi) resetAudio(); // the script changed: hear it again
}

function resetAudio() {
  const audio = $("#ed-audio");
  audio.pause(); audio.removeAttribute("src"); audio.hidden = true;
  keepBlob("audio", null); desk.audioKey = null;
  $("#ed-audio-note").textContent = "";
}

async function listen() {
  const d = desk.doc, button = $("#bl-listen");
  $("#ed-audio-note").textContent = t("bl_audio_making");
  button.disabled = true;
  try {
    const r = await api(`${API}/drafts/${enc(d.id)}/audio`);
    if (!r.ok) { $("#ed-audio-note").textContent = ""; await fail(r); return; }
    const url = URL.createObjectURL(await r.blob());
    keepBlob("audio", url);
    const audio = $("#ed-audio");
    audio.src = url; audio.hidden = false;
    desk.audioKey = d.id + "@" + d.radio_vi;
    $("#ed-audio-note").textContent = t("bl_audio_ready");
  } finally { button.disabled = false; }
}

function logText(e) {
  const key = "bl_act_" + e.action, x = e.detail || {};
  const base = t(key) === key ? e.action : t(key);
  if (e.action === "edited") return `${base}: ${Object.keys(x.fields || {}).map((f) => t("bl_field_" + f)).join(", ")}`;
  if (x.receiver) return `${base} ${x.receiver}`;
  if (e.action === "published" && x.without_approval) return `${base} · ${t("bl_without_approval")}`;
  if (e.action === "published") return `${base} · ${t("bl_approver")}: ${who(x.approved_by)}`;
  return base;
}

function renderLog(d) {
  $("#ed-log").replaceChildren(...d.log.map((e) => el("li", { "data-action": e.action },
    `${when(e.time)} · ${who(e.actor)} · ${logText(e)}`)));
}

// -- the page -------------------------------------------------------------------------------------------------------
function renderGate() {
  const ok = deskUser();
  const gate = $("#bl-gate");
  gate.hidden = ok;
  gate.textContent = t(state.user ? "bl_need_role" : "bl_need_signin");
  for (const id of ["#bl-new-panel", "#bl-queue-panel", "#bl-history-panel"]) $(id).hidden = !ok;
  if (!ok) {
    if (desk.selected && Object.keys(desk.dirty || {}).length) desk.kept = { id: desk.selected, dirty: desk.dirty, user: desk.loadedFor };
    desk.loadedFor = null; desk.selected = null; desk.doc = null; $("#bl-editor").hidden = true; say("");
  }
}

function enter() {
  const name = state.user ? state.user.username : null;
  if (!deskUser() || desk.loadedFor === name) return;
  desk.loadedFor = name;
  loadAll().catch((e) => console.warn("bulletin desk:", e));
}

async function create(ev) {
  ev.preventDefault();
  const kind = $("#bl-kind").value;
  await busy($("#bl-create"), async () => {
    const r = await sendJSON("POST", API, kind ? { kind } : {});
    if (!r.ok) { await fail(r); return; }
    const d = await r.json();
    say("bl_created_ok");
    await loadQueue();
    await openBulletin(d.id);
  });
}

TW.page({
  async start() {
    $("#bl-new-form").addEventListener("submit", create);
    $("#bl-search-form").addEventListener("submit", (ev) => { ev.preventDefault(); searchHistory(); });
    $("#bl-more").addEventListener("click", () => searchHistory(true));
    $("#bl-close").addEventListener("click", closeBulletin);
    $("#bl-listen").addEventListener("click", listen);
    $("#ed-form").addEventListener("submit", save);
    renderGate();
    enter();
  },
  render() {
    renderGate();
    if (!deskUser()) return;
    enter();
    renderRules(); renderQueue(); renderHistory();
    if (desk.doc) renderEditor();
  },
  onLanguage() { desk.textsKey = null; desk.picturesKey = null; if (deskUser()) later("lang", loadAll, 0); },
  onEvent(type, data) {
    if (!deskUser()) return;
    if (type === "bulletin") {
      later("queue", loadQueue);
      if (data.bulletin_id === desk.selected) later("doc", loadDoc);
      if (data.action === "published") later("history", () => searchHistory());
    } else if (type === "alert") { // the emergency rule follows the flood alerts
      later("rules", loadRules);
      if (desk.selected) later("doc", loadDoc);
    } else if (type === "reset") {
      later("all", loadAll);
    }
  },
});
