"use strict";
// The officer's desk on the dashboard: who is on duty now and next, and the roster of the coming days (signed-in
// officers only, GET /api/v1/roster), and the false alarms per station and camera under the commune's indicators
// (dashboard.js's renderIndicators hands them to renderFalseAlarms). Shares common.js.
const deskState = { roster: null, who: undefined };
const officerNames = (slot) => slot.officers.map((o) => o.name).join(", ");

async function loadRoster() {
  deskState.roster = hasRole("officer", "admin") && !alertPageId() ? await getJSON("/api/v1/roster").catch(() => null) : null;
  renderRoster();
}

function renderRoster() {
  const box = $("#on-duty"); const r = deskState.roster;
  if (!box) return;
  if (!r || !r.configured || !hasRole("officer", "admin")) { box.hidden = true; box.replaceChildren(); return; }
  const now = r.now && r.now.officers.length ? `${officerNames(r.now)} (${t("desk.until")} ${fmtTime(r.now.ends_at)})`
    : t("desk.nobody_on_duty");
  const next = r.next ? `${officerNames(r.next)} (${t("desk.from")} ${fmtTime(r.next.starts_at)})` : null;
  box.replaceChildren(
    el("p", { class: "duty-now" }, el("strong", {}, `${t("desk.on_duty")}: `), el("span", { id: "on-duty-now" }, now),
      next ? el("span", { class: "muted" }, ` · ${t("desk.next_on_duty")}: ${next}`) : null),
    el("details", { class: "roster" }, el("summary", {}, t("desk.roster")),
      el("ol", {}, ...r.slots.map((s) => el("li", { class: s.officers.length ? "" : "gap" },
        `${fmtTime(s.starts_at)} – ${fmtTime(s.ends_at)}: ${s.officers.length ? officerNames(s) : t("desk.gap")}` +
        (s.overrides.length ? ` (${t("desk.override")})` : ""))))));
  box.hidden = false;
}

/** False alarms per station and camera over the indicators' window (the subjects that had alerts in it). */
function renderFalseAlarms(ind) {
  const box = $("#false-alarms"); if (!box || !ind) return;
  const rows = (ind.false_alarms || []).filter((r) => r.alerts > 0);
  box.replaceChildren(el("h3", {}, `${t("desk.false_alarms_title")} (${ind.window_days} ${t("desk.days")})`),
    rows.length ? el("table", { class: "fa-table" },
      el("thead", {}, el("tr", {}, el("th", { scope: "col" }, t("desk.fa_subject")),
        el("th", { scope: "col" }, t("desk.fa_alerts")), el("th", { scope: "col" }, t("desk.fa_false")))),
      el("tbody", {}, ...rows.map((r) => el("tr", { "data-subject": r.subject }, el("th", { scope: "row" }, r.name),
        el("td", {}, fmtNum(r.alerts, 0)), el("td", {}, fmtNum(r.false_alarms, 0))))))
      : el("p", { class: "muted" }, t("desk.fa_none")));
}

TW.page({
  async start() {
    deskState.who = state.user ? state.user.username : null;
    await loadRoster();
    setInterval(() => { if (deskState.roster) loadRoster(); }, 5 * 60e3);  // shifts change while the page is open
  },
  render() {  // a sign-in, sign-out or language switch
    const who = state.user ? state.user.username : null;
    if (deskState.who === undefined) return;  // not started yet
    if (who !== deskState.who) { deskState.who = who; loadRoster(); } else renderRoster();
  },
  onEvent(type) { if (type === "reset" && deskState.roster) loadRoster(); },
});
