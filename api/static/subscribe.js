"use strict";
// The residents' sign-up page: plain JavaScript, no build step, no sign-in. Texts come from the one catalogue
// (/i18n/<lang>.json); hamlets and the consent text from /api/v1/subscriptions/form.
(() => {
  const $ = (sel) => document.querySelector(sel);
  const params = new URLSearchParams(location.search);
  const st = { lang: params.get("lang") === "en" ? "en" : (localStorage.getItem("tw.lang") === "en" ? "en" : "vi"),
    texts: {}, form: null };
  const t = (k) => (st.texts[st.lang] && st.texts[st.lang][k]) || k;

  async function loadTexts() {
    if (st.texts[st.lang]) return;
    const r = await fetch(`/i18n/${st.lang}.json`);
    st.texts[st.lang] = r.ok ? await r.json() : {};
  }

  function render() {
    document.documentElement.lang = st.lang;
    document.querySelectorAll("[data-i18n]").forEach((n) => { n.textContent = t(n.dataset.i18n); });
    $("#sub-lang").textContent = st.lang === "vi" ? "EN" : "VI";
    $("#sub-lang").setAttribute("aria-label", st.lang === "vi" ? "Switch to English" : "Chuyển sang tiếng Việt");
    document.title = t("sub.page_title") + " – TichWatch";
    if (!st.form) return;
    $("#sub-consent-text").textContent = st.form.consent[st.lang];
    const sel = $("#sub-hamlet"), chosen = sel.value;
    sel.replaceChildren(new Option(t("sub.choose_hamlet"), ""),
      ...st.form.hamlets.map((h) => new Option(h.name, h.id)));
    sel.value = chosen;
    const open = st.form.self_registration;
    $("#sub-closed").hidden = open; $("#sub-form").hidden = !open || !$("#sub-code-form").hidden || !$("#sub-done").hidden;
  }

  const phone = () => $("#sub-phone").value.trim();
  const picked = (name) => (document.querySelector(`input[name=${name}]:checked`) || {}).value;
  const why = (status, fallback) => t({ 429: "sub.error_throttled", 409: "sub.error_consent_changed" }[status] || fallback);

  async function post(path, body) {
    return fetch(path, { method: "POST", headers: { "Content-Type": "application/json", "Accept": "application/json" },
      body: JSON.stringify(body) });
  }

  async function register(ev) {
    ev.preventDefault();
    $("#sub-error").textContent = "";
    if (!phone() || !$("#sub-hamlet").value || !$("#sub-consent").checked) { $("#sub-error").textContent = t("sub.error_fields"); return; }
    $("#sub-submit").disabled = true;
    try {
      const r = await post("/api/v1/subscriptions", { phone: phone(), hamlet_id: $("#sub-hamlet").value,
        lang: picked("lang"), channel: picked("channel"), consent: true, consent_version: st.form.consent_version });
      if (r.status === 202) { $("#sub-form").hidden = true; $("#sub-code-form").hidden = false; $("#sub-code").focus(); return; }
      const p = await r.json().catch(() => ({}));
      $("#sub-error").textContent = r.status === 422 && /phone/.test(p.detail || "") ? t("sub.error_phone") : why(r.status, "sub.error_generic");
    } catch (_) { $("#sub-error").textContent = t("sub.error_generic"); }
    finally { $("#sub-submit").disabled = false; }
  }

  async function confirm(ev) {
    ev.preventDefault();
    $("#sub-code-error").textContent = "";
    $("#sub-confirm").disabled = true;
    try {
      const r = await post("/api/v1/subscriptions/confirm", { phone: phone(), code: $("#sub-code").value.trim() });
      if (r.ok) { $("#sub-code-form").hidden = true; $("#sub-done").hidden = false; return; }
      $("#sub-code-error").textContent = why(r.status, r.status === 400 || r.status === 422 ? "sub.error_code" : "sub.error_generic");
    } catch (_) { $("#sub-code-error").textContent = t("sub.error_generic"); }
    finally { $("#sub-confirm").disabled = false; }
  }

  document.addEventListener("DOMContentLoaded", async () => {
    await loadTexts().catch(() => {});
    const r = await fetch("/api/v1/subscriptions/form").catch(() => null);
    st.form = r && r.ok ? await r.json() : null;
    render();
    $("#sub-form").addEventListener("submit", register);
    $("#sub-code-form").addEventListener("submit", confirm);
    $("#sub-lang").addEventListener("click", async () => {
      st.lang = st.lang === "vi" ? "en" : "vi"; localStorage.setItem("tw.lang", st.lang);
      await loadTexts().catch(() => {}); render();
    });
  });
})();
