"use strict";
// The reports page (/reports) for duty officers and administrators: the weekly and monthly reports to the commune
// People's Committee and those asked for, each with its PDF and DOCX (fetched with the reader's credentials, then
// saved as a file), and a form to ask for a report of any days (made in the background: the list refreshes until it
// is done). Shares common.js (state, t, el, api, sendJSON, getJSON, problemText, fmtTime, hasRole, TW.page).
const RP_API = "/api/v1/reports";
const RP_ROLES = ["officer", "admin"];
const rp = { rows: [], next: null, loadedFor: null, timer: null };
const dmy = (iso) => iso.split("-").reverse().join("/");

function rpSay(text, error = false) {
  $("#rp-status").textContent = error ? "" : text; $("#rp-error").textContent = error ? text : "";
}

async function rpLoad(more = false) {
  const page = await getJSON(more && rp.next ? rp.next : `${RP_API}?limit=20`);
  rp.rows = more ? rp.rows.concat(page.reports) : page.reports;
  rp.next = page.next;
  rpRender();
  clearTimeout(rp.timer); // while one is being made, look again shortly
  if (rp.rows.some((r) => r.state === "queued")) rp.timer = setTimeout(() => rpLoad().catch(() => {}), 3000);
}

// A file behind the API's authentication: fetched, then handed to the browser as a download.
async function rpDownload(report, fmt) {
  const r = await api(report.files[fmt]);
  if (!r.ok) { rpSay(await problemText(r), true); return; }
  const url = URL.createObjectURL(await r.blob());
  const a = el("a", { href: url, download: `bao-cao-${report.first_day}-${report.last_day}.${fmt}` });
  document.body.append(a); a.click(); a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}

function rpRow(r) {
  const files = r.state === "done"
    ? ["pdf", "docx"].map((fmt) => el("button", { type: "button", class: "link", onclick: () => rpDownload(r, fmt) }, fmt.toUpperCase()))
    : [r.error ? el("span", { class: "error", title: r.error }, r.error.slice(0, 80)) : "–"];
  // data-label: the column's name, shown beside each value when a phone stacks the row (reports.css)
  return el("tr", {},
    el("td", { "data-label": t("rp_period") }, `${dmy(r.first_day)} – ${dmy(r.last_day)}`),
    el("td", { "data-label": t("rp_kind") }, t("rp_kind_" + r.kind)),
    el("td", { "data-label": t("rp_state") }, t("rp_state_" + r.state),
      r.done ? el("span", { class: "muted" }, " " + fmtTime(r.done)) : null),
    el("td", { "data-label": t("rp_requested_by") }, r.requested_by === "schedule" ? t("rp_actor_schedule") : r.requested_by),
    el("td", { "data-label": t("rp_files") }, ...files));
}

function rpRender() {
  const allowed = hasRole(...RP_ROLES);
  $("#rp-gate").hidden = allowed;
  $("#rp-gate").textContent = t(state.user ? "rp_need_role" : "rp_need_signin");
  $("#rp-new-panel").hidden = !allowed; $("#rp-list-panel").hidden = !allowed;
  if (!allowed) return;
  $("#rp-rows").replaceChildren(...rp.rows.map(rpRow));
  $("#rp-empty").hidden = rp.rows.length > 0;
  $("#rp-more").hidden = !rp.next;
}

async function rpRequest(ev) {
  ev.preventDefault();
  const button = $("#rp-request"); button.disabled = true;
  try {
    const r = await sendJSON("POST", RP_API, { first_day: $("#rp-first").value, last_day: $("#rp-last").value });
    if (!r.ok) { rpSay(await problemText(r), true); return; }
    rpSay(t("rp_requested"));
    await rpLoad();
  } finally { button.disabled = false; }
}

TW.page({
  async start() {
    $("#rp-new-form").addEventListener("submit", rpRequest);
    $("#rp-more").addEventListener("click", () => rpLoad(true).catch((e) => rpSay(String(e), true)));
    const today = new Intl.DateTimeFormat("en-CA", { timeZone: TZ }).format(new Date());
    $("#rp-last").value = today; $("#rp-last").max = today; $("#rp-first").max = today;
    $("#rp-first").value = today.slice(0, 8) + "01";
    this.render();
  },
  render() {
    const who = state.user ? state.user.username : null;
    if (hasRole(...RP_ROLES) && rp.loadedFor !== who) {
      rp.loadedFor = who; rpLoad().catch((e) => rpSay(String(e), true));
    }
    if (!state.user) { rp.loadedFor = null; rp.rows = []; }
    rpRender();
  },
});
