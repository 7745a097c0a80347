"use strict";
// TichWatch pages: plain JavaScript, no build step. This file holds what every page shares: the text catalogue
// (GET /i18n/<lang>.json, Vietnamese first), formatting in Vietnam time, the API client, sign-in, the live badge and the
// live stream. Each page script registers itself with `TW.page({ start, render, onEvent })`.
const state = { lang: localStorage.getItem("tw.lang") === "en" ? "en" : "vi", token: sessionStorage.getItem("tw.token"),
  user: null, live: "connecting", texts: {} };
const t = (k) => (state.texts[state.lang] && state.texts[state.lang][k]) || k;
const $ = (sel) => document.querySelector(sel);
const el = (tag, attrs = {}, ...kids) => {
  const n = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") n.className = v; else if (k.startsWith("on")) n.addEventListener(k.slice(2), v);
    else if (v !== null && v !== undefined && v !== false) n.setAttribute(k, v === true ? "" : v);
  }
  for (const kid of kids.flat()) if (kid !== null && kid !== undefined && kid !== false) n.append(kid);
  return n;
};
const SVGNS = "http://www.w3.org/2000/svg";
const svg = (tag, attrs = {}) => { const n = document.createElementNS(SVGNS, tag); for (const [k, v] of Object.entries(attrs)) n.setAttribute(k, v); return n; };
const TZ = "Asia/Ho_Chi_Minh";
const locale = () => state.lang === "vi" ? "vi-VN" : "en-GB";
// One date style everywhere: "14:30 28/09" (time first, then day/month; the year only when it is not this year).
function fmtTime(iso) {
  if (!iso) return "–";
  const d = new Date(iso);
  const sameYear = new Intl.DateTimeFormat("en", { timeZone: TZ, year: "numeric" }).format(d) ===
    new Intl.DateTimeFormat("en", { timeZone: TZ, year: "numeric" }).format(new Date());
  const opts = { timeZone: TZ, hour: "2-digit", minute: "2-digit", hour12: false, day: "2-digit", month: "2-digit" };
  if (!sameYear) opts.year = "numeric";
  const parts = Object.fromEntries(new Intl.DateTimeFormat("en-GB", opts).formatToParts(d).map((p) => [p.type, p.value]));
  return `${parts.hour}:${parts.minute} ${parts.day}/${parts.month}` + (parts.year ? `/${parts.year}` : "");
}
const fmtNum = (x, d = 2) => (x === null || x === undefined) ? "–" : Number(x).toLocaleString(locale(), { minimumFractionDigits: d, maximumFractionDigits: d });

async function api(path, opts = {}) {
  const headers = Object.assign({ "Accept": "application/json" }, opts.headers || {});
  if (state.token) headers["Authorization"] = "Bearer " + state.token;
  // The page refreshes because something changed (a live event, an action): never from the browser's cache.
  const r = await fetch(path, Object.assign({ cache: "no-cache" }, opts, { headers }));
  if (r.status === 401 && state.token && !path.endsWith("/login")) { signOut(); }
  return r;
}
async function getJSON(path) { const r = await api(path); if (!r.ok) throw new Error(path + " " + r.status); return r.json(); }
async function sendJSON(method, path, body) {
  return api(path, { method, headers: { "Content-Type": "application/json" }, body: JSON.stringify(body || {}) });
}
async function problemText(r) { const p = await r.json().catch(() => ({})); return p.detail || p.title || String(r.status); }

async function loadTexts(lang) {
  if (state.texts[lang]) return;
  const r = await fetch(`/i18n/${lang}.json`);
  state.texts[lang] = r.ok ? await r.json() : {};
}

const pages = [];
const TW = {
  /** Registers a page script: start() once after sign-in is known, render() on a language or user change,
   * onEvent(type, data) for each live event. */
  page(hooks) { pages.push(hooks); },
};

// The chrome every page shares, built once here (pages hold only `<div class="tools" data-nav="desk|home">`): the
// navigation link, the live badge, the language switch, sign-in/out and the sign-in dialog.
function buildChrome() {
  const tools = $(".top .tools");
  const nav = tools.dataset.nav === "home"
    ? el("a", { class: "navlink", href: "/", "data-i18n": "back" }, t("back"))
    : el("a", { id: "nav-desk", class: "navlink", href: "/bulletins/desk", hidden: true, "data-i18n": "nav_desk" }, t("nav_desk"));
  // The residents screen (subscribers by hamlet), for officers and admins.
  const residentsNav = tools.dataset.nav === "home" ? [] : [el("a", { id: "nav-residents", class: "navlink", href: "/residents",
    hidden: true, "data-i18n": "nav_residents" }, t("nav_residents"))];
  // The reports to the People's Committee, for officers and admins.
  const reportsNav = tools.dataset.nav === "home" ? [] : [el("a", { id: "nav-reports", class: "navlink", href: "/reports",
    hidden: true, "data-i18n": "nav_reports" }, t("nav_reports"))];
  tools.replaceChildren(nav, ...residentsNav, ...reportsNav,
    el("span", { id: "live", class: "live", role: "status", "aria-live": "polite" }),
    el("button", { id: "lang", type: "button" }),
    el("button", { id: "signin-open", type: "button", "data-i18n": "signin" }),
    el("span", { id: "who", hidden: true }),
    el("button", { id: "signout", type: "button", hidden: true, "data-i18n": "signout" }));
  const field = (key, attrs) => el("label", {}, el("span", { "data-i18n": key }), el("input", attrs));
  document.body.append(el("dialog", { id: "signin-dialog", "aria-labelledby": "signin-title" },
    el("form", { id: "signin-form", method: "dialog" },
      el("h2", { id: "signin-title", "data-i18n": "signin_title" }),
      field("username", { id: "username", name: "username", autocomplete: "username", required: true }),
      field("password", { id: "password", name: "password", type: "password", autocomplete: "current-password", required: true }),
      el("p", { id: "signin-error", class: "error", role: "alert" }),
      el("div", { class: "row" },
        el("button", { type: "submit", id: "signin-submit", "data-i18n": "signin" }),
        el("button", { type: "button", id: "signin-cancel", "data-i18n": "cancel" })))));
}

function renderLive() {
  const n = $("#live"); if (!n) return;
  n.textContent = t(state.live); n.className = "live " + ({ live: "on", offline: "off" }[state.live] || "");
}

function applyI18n() {
  document.documentElement.lang = state.lang;
  document.querySelectorAll("[data-i18n]").forEach((n) => { n.textContent = t(n.dataset.i18n); });
  document.querySelectorAll("[data-i18n-label]").forEach((n) => { n.setAttribute("aria-label", t(n.dataset.i18nLabel)); });
  $("#lang").textContent = state.lang === "vi" ? "EN" : "VI";
  $("#lang").setAttribute("aria-label", state.lang === "vi" ? "Switch to English" : "Chuyển sang tiếng Việt");
  renderLive();
}

function renderAll() { for (const p of pages) if (p.render) p.render(); }

function showUser() {
  const signedIn = !!state.user;
  $("#signin-open").hidden = signedIn; $("#signout").hidden = !signedIn; $("#who").hidden = !signedIn;
  $("#who").textContent = signedIn ? `${state.user.username} (${t("role." + state.user.role)})` : "";
  document.body.dataset.role = signedIn ? state.user.role : "public";
  const deskLink = $("#nav-desk"); // the bulletin desk, for those who may draft bulletins
  if (deskLink) deskLink.hidden = !hasRole("communicator", "officer", "admin");
  const residentsLink = $("#nav-residents");
  if (residentsLink) residentsLink.hidden = !hasRole("officer", "admin");
  const reportsLink = $("#nav-reports");
  if (reportsLink) reportsLink.hidden = !hasRole("officer", "admin");
  renderAll();
}
function signOut() { state.token = null; state.user = null; sessionStorage.removeItem("tw.token"); showUser(); }
/** The id of the alert whose page this is (/alerts/<id>), or null on any other page. */
const alertPageId = () => { const m = location.pathname.match(/^\/alerts\/([A-Za-z0-9_-]+)$/); return m ? m[1] : null; };
const hasRole = (...roles) => !!state.user && roles.includes(state.user.role);

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

const LIVE_TYPES = ["reading", "detection", "alert", "camera", "station", "bulletin", "reset"];
function connectStream() {
  const es = new EventSource("/api/v1/stream");
  es.onopen = () => { state.live = "live"; renderLive(); };
  es.onerror = () => { state.live = "offline"; renderLive(); };
  for (const type of LIVE_TYPES) es.addEventListener(type, (e) => {
    let data = {}; try { data = JSON.parse(e.data); } catch (_) { /* a reset carries no data */ }
    for (const p of pages) if (p.onEvent) p.onEvent(type, data);
  });
}

document.addEventListener("DOMContentLoaded", async () => {
  await loadTexts(state.lang).catch(() => {});
  buildChrome();
  applyI18n();
  $("#lang").addEventListener("click", async () => {
    state.lang = state.lang === "vi" ? "en" : "vi"; localStorage.setItem("tw.lang", state.lang);
    await loadTexts(state.lang).catch(() => {}); applyI18n(); showUser();
    for (const p of pages) if (p.onLanguage) p.onLanguage();
  });
  $("#signin-open").addEventListener("click", () => $("#signin-dialog").showModal());
  $("#signin-cancel").addEventListener("click", () => $("#signin-dialog").close());
  $("#signin-form").addEventListener("submit", signIn);
  $("#signout").addEventListener("click", async () => { await api("/api/v1/auth/logout", { method: "POST" }); signOut(); });
  await restoreSession(); showUser();
  for (const p of pages) if (p.start) await p.start().catch((e) => console.warn("page start failed", e));
  connectStream();
});

// Messages to subscribed residents about an alert or a bulletin, counted by channel and state ({"zns_sent": 120,
// "zns_failed": 1, "sms_sent": 1}): one line per channel ("Zalo: 120 đã gửi · 1 gửi lỗi").
const residentsTold = (counts) => ["zns", "sms"]
  .filter((c) => Object.keys(counts || {}).some((k) => k.startsWith(c + "_")))
  .map((c) => `${t("rchan." + c)}: ` + ["sent", "pending", "failed"].filter((st) => counts[`${c}_${st}`])
    .map((st) => `${counts[`${c}_${st}`]} ${t("nstate." + st)}`).join(" · "));
