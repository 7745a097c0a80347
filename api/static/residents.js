"use strict";
// The residents screen (officers and admins): subscribers per hamlet with counts, the list (numbers masked for
// officers, whole for admins), adding a resident on their behalf, changes, unsubscribing; for admins exports and
// erasure. Uses common.js (texts, API client, sign-in).
(() => {
  const rs = { form: null, items: [], next: null, filters: {} };
  const LANGS = ["vi", "en"], CHANNELS = ["zns", "sms"], STATUSES = ["active", "pending", "unsubscribed"];
  const isOfficer = () => hasRole("officer", "admin");
  const isAdmin = () => hasRole("admin");
  const label = { lang: (v) => t("sub.lang_" + v), channel: (v) => v === "zns" ? "Zalo" : "SMS", status: (v) => t("rs_status_" + v) };

  function say(key) { $("#rs-status").textContent = key ? t(key) : ""; }
  function fail(text) { $("#rs-error").textContent = text || ""; }

  function fillSelect(sel, values, name, any) {
    const chosen = sel.value;
    sel.replaceChildren(...(any ? [new Option(t("rs_all"), "")] : []), ...values.map((v) => new Option(name(v), v)));
    if (chosen) sel.value = chosen;
  }
  function fillSelects() {
    const hamlets = rs.form ? rs.form.hamlets : [];
    const hamletName = (id) => (hamlets.find((h) => h.id === id) || { name: id }).name;
    document.querySelectorAll("select.hamlets").forEach((s) => fillSelect(s, hamlets.map((h) => h.id), hamletName, !!s.dataset.any));
    document.querySelectorAll("select.langs").forEach((s) => fillSelect(s, LANGS, label.lang, !!s.dataset.any));
    document.querySelectorAll("select.channels").forEach((s) => fillSelect(s, CHANNELS, label.channel, !!s.dataset.any));
    document.querySelectorAll("select.statuses").forEach((s) => fillSelect(s, STATUSES, label.status, !!s.dataset.any));
    if (rs.form) $("#rs-consent-text").textContent = rs.form.consent[state.lang];
  }

  async function loadSummary() {
    const body = await getJSON("/api/v1/subscribers/summary");
    $("#rs-summary tbody").replaceChildren(...body.hamlets.map((h) => el("tr", {},
      el("th", { scope: "row" }, h.hamlet), el("td", {}, String(h.by_status.active)),
      el("td", {}, String(h.active_by_channel.zns)), el("td", {}, String(h.active_by_channel.sms)),
      el("td", {}, String(h.by_status.pending)), el("td", {}, String(h.by_status.unsubscribed)),
      el("td", {}, String(h.total)))));
  }

  function query(cursor) {
    const q = new URLSearchParams({ limit: "50" });
    for (const [k, v] of Object.entries(rs.filters)) if (v) q.set(k, v);
    if (cursor) q.set("cursor", cursor);
    return "/api/v1/subscribers?" + q.toString();
  }

  async function loadList(more) {
    const body = await getJSON(more && rs.next ? rs.next : query());
    rs.items = more ? rs.items.concat(body.items) : body.items;
    rs.next = body.next;
    renderList();
  }

  function selectOf(values, name, value, aria) {
    const s = el("select", { "aria-label": aria });
    values.forEach((v) => s.append(new Option(name(v), v)));
    s.value = value; return s;
  }

  function row(s) {
    const hamlets = rs.form ? rs.form.hamlets : [];
    const hamlet = selectOf(hamlets.map((h) => h.id), (id) => (hamlets.find((h) => h.id === id) || { name: id }).name, s.hamlet_id, t("rs_hamlet"));
    const lang = selectOf(LANGS, label.lang, s.lang, t("rs_lang"));
    const channel = selectOf(CHANNELS, label.channel, s.channel, t("rs_channel"));
    const actions = el("td", { class: "actions", "data-label": t("rs_actions") },
      el("button", { type: "button", onclick: () => change(s, hamlet.value, lang.value, channel.value) }, t("rs_save")),
      s.status !== "unsubscribed" ? el("button", { type: "button", onclick: () => unsubscribe(s) }, t("rs_unsubscribe")) : null,
      isAdmin() ? el("button", { type: "button", onclick: () => exportOne(s) }, t("rs_export_one")) : null,
      isAdmin() ? el("button", { type: "button", class: "danger", onclick: () => erase(s) }, t("rs_erase")) : null);
    return el("tr", { "data-id": String(s.id) },
      el("td", { "data-label": "#" }, String(s.id)),
      el("td", { class: "phone", "data-label": t("rs_phone") }, s.phone ? s.phone_national : s.phone_masked),
      el("td", { "data-label": t("rs_hamlet") }, hamlet), el("td", { "data-label": t("rs_lang") }, lang),
      el("td", { "data-label": t("rs_channel") }, channel),
      el("td", { "data-label": t("rs_status") }, el("span", { class: "st st-" + s.status }, label.status(s.status))),
      el("td", { "data-label": t("rs_registered_by") }, s.registered_by === "self" ? t("rs_self") : s.registered_by),
      el("td", { "data-label": t("rs_consent_at") }, fmtTime(s.consent_at)), actions);
  }

  function renderList() {
    $("#rs-list tbody").replaceChildren(...rs.items.map(row));
    $("#rs-empty").hidden = rs.items.length > 0;
    $("#rs-more").hidden = !rs.next;
  }

  async function refresh() {
    fail("");
    try { await Promise.all([loadSummary(), loadList(false)]); } catch (e) { fail(String(e.message || e)); }
  }

  async function act(method, path, body) {
    fail(""); say("");
    const r = await sendJSON(method, path, body);
    if (!r.ok) { fail(await problemText(r)); return null; }
    say("rs_saved"); await refresh(); return r.json();
  }

  const change = (s, hamlet_id, lang, channel) => act("PATCH", `/api/v1/subscribers/${s.id}`, { hamlet_id, lang, channel });

  function ask(text, withReason) {
    return new Promise((resolve) => {
      const d = $("#rs-dialog");
      $("#rs-dialog-text").textContent = text;
      $("#rs-reason-label").hidden = !withReason; $("#rs-reason").value = "";
      d.addEventListener("close", () => resolve(d.returnValue === "yes" ? $("#rs-reason").value.trim() || (withReason ? null : "") : null), { once: true });
      d.returnValue = ""; d.showModal();
    });
  }

  async function unsubscribe(s) {
    if ((await ask(t("rs_confirm_unsubscribe"), false)) === null) return;
    await act("POST", `/api/v1/subscribers/${s.id}/unsubscribe`, {});
  }

  async function erase(s) {
    const reason = await ask(t("rs_confirm_erase"), true);
    if (!reason) return;
    await act("POST", `/api/v1/subscribers/${s.id}/erase`, { reason });
  }

  async function download(path, name) {
    fail("");
    const r = await api(path);
    if (!r.ok) { fail(await problemText(r)); return; }
    const url = URL.createObjectURL(await r.blob());
    const a = el("a", { href: url, download: name }); document.body.append(a); a.click(); a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 1000);
  }
  const exportOne = (s) => download(`/api/v1/subscribers/export?format=json&phone=${encodeURIComponent(s.phone)}`, `subscriber-${s.id}.json`);

  async function add(ev) {
    ev.preventDefault();
    const body = { phone: $("#rs-add-phone").value.trim(), hamlet_id: $("#rs-add-hamlet").value, lang: $("#rs-add-lang").value,
      channel: $("#rs-add-channel").value, consent_collected: $("#rs-add-consent").checked };
    if (!body.phone || !body.hamlet_id || !body.consent_collected) { fail(t("sub.error_fields")); return; }
    if (await act("POST", "/api/v1/subscribers", body)) { $("#rs-add-phone").value = ""; $("#rs-add-consent").checked = false; }
  }

  function filter(ev) {
    ev.preventDefault();
    rs.filters = { hamlet_id: $("#rs-f-hamlet").value, status: $("#rs-f-status").value, channel: $("#rs-f-channel").value,
      phone: $("#rs-f-phone").value.trim() };
    refresh();
  }

  function render() {
    const allowed = isOfficer();
    $("#rs-gate").hidden = allowed;
    for (const id of ["#rs-summary-panel", "#rs-add-panel", "#rs-list-panel"]) $(id).hidden = !allowed;
    $("#rs-export").hidden = !isAdmin();
    fillSelects();
    if (allowed && rs.form) renderList();
  }

  let started = false;
  TW.page({
    async start() {
      const r = await fetch("/api/v1/subscriptions/form");
      rs.form = r.ok ? await r.json() : { hamlets: [], consent: { vi: "", en: "" } };
      $("#rs-add-form").addEventListener("submit", add);
      $("#rs-filter").addEventListener("submit", filter);
      $("#rs-more").addEventListener("click", () => loadList(true).catch((e) => fail(String(e.message || e))));
      $("#rs-export-csv").addEventListener("click", () => download("/api/v1/subscribers/export?format=csv", "subscribers.csv"));
      $("#rs-export-json").addEventListener("click", () => download("/api/v1/subscribers/export?format=json", "subscribers.json"));
      started = true; render();
      if (isOfficer()) await refresh();
    },
    render() { if (!started) return; const was = !$("#rs-list-panel").hidden; render(); if (isOfficer() && !was) refresh(); },
  });
})();
