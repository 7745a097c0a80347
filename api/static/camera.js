"use strict";
// The camera page (/cameras/<id>): the latest or a chosen recent frame with the dust grid; officers label frames
// (dust with the selected cells, or clear), edit the ignore region by clicking cells, train the camera's model now and
// put any version back in service. Visitors see the same without the actions and without officers' names (the API
// gives none). Shares common.js.
const cam = { id: decodeURIComponent((location.pathname.match(/^\/cameras\/([A-Za-z0-9_-]+)$/) || [])[1] || ""),
  info: null, data: null, frameMs: null, selected: new Set(), ignore: new Set(), mode: "dust" };
const officer = () => hasRole("officer", "admin");
const cellKey = (r, c) => `${r},${c}`;

async function loadCamera() {
  const [info, data] = await Promise.all([getJSON(`/api/v1/cameras/${cam.id}`), getJSON(`/api/v1/cameras/${cam.id}/learning`)]);
  cam.info = info; cam.data = data;
  cam.ignore = new Set(data.ignore_cells.map(([r, c]) => cellKey(r, c)));
  const withJpeg = data.frames.filter((f) => f.jpeg_url);
  if (cam.frameMs === null || !withJpeg.some((f) => f.ts_ms === cam.frameMs)) cam.frameMs = withJpeg.length ? withJpeg[0].ts_ms : null;
  renderCamera();
}

function currentFrame() { return cam.data ? cam.data.frames.find((f) => f.ts_ms === cam.frameMs) || null : null; }

function renderCamera() {
  if (!cam.info || !cam.data) return;
  const d = cam.data; const p = d.period;
  $("#cam-site").textContent = cam.info.site; $("#cam-id").textContent = cam.id;
  document.title = `${cam.info.site} – TichWatch`;
  $("#cam-status").textContent = cam.info.status_code ? t(`camstate.${cam.info.status_code}`) : "–";
  $("#cam-period").textContent = p.learning
    ? `${t("cam.learning_on")} (${t("cam.clear_frames")}: ${p.clear_frames}/${p.needed_frames})`
    : t("cam.learning_done");
  const f = currentFrame();
  const img = $("#cam-frame");
  const src = f ? f.jpeg_url : cam.info.snapshot_url;
  if (src && img.getAttribute("src") !== src) img.setAttribute("src", src);
  img.alt = cam.info.site;
  $("#cam-frame-time").textContent = f ? `${fmtTime(f.ts)} · ${t("cam.max_prob")}: ${fmtNum(f.max_prob, 2)}` : "";
  renderGrid();
  renderRecent();
  renderModels();
}

function renderGrid() {
  const [rows, cols] = cam.data.grid; const grid = $("#cam-grid");
  grid.style.gridTemplateColumns = `repeat(${cols}, 1fr)`; grid.style.gridTemplateRows = `repeat(${rows}, 1fr)`;
  const cells = [];
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) {
    const k = cellKey(r, c);
    const cls = [cam.ignore.has(k) ? "ignored" : "", cam.selected.has(k) ? "selected" : ""].join(" ").trim();
    cells.push(el("button", { type: "button", class: cls, "data-cell": k, "aria-pressed": String(cam.selected.has(k) || cam.ignore.has(k)),
      "aria-label": `${r + 1}/${c + 1}`, disabled: !officer(), onclick: () => toggleCell(k) }));
  }
  grid.replaceChildren(...cells);
}

function toggleCell(k) {
  const set = cam.mode === "ignore" ? cam.ignore : cam.selected;
  if (set.has(k)) set.delete(k); else set.add(k);
  renderGrid();
}

function renderRecent() {
  const frames = cam.data.frames.filter((f) => f.jpeg_url);
  $("#cam-recent").replaceChildren(...(frames.length ? frames.map((f) => el("li", { class: f.ts_ms === cam.frameMs ? "current" : "", "data-frame": f.ts_ms },
    el("img", { src: f.jpeg_url, alt: fmtTime(f.ts), loading: "lazy" }),
    el("div", {}, fmtTime(f.ts), " · ", fmtNum(f.max_prob, 2)),
    el("div", { class: f.label ? `lab-${f.label}` : "muted" }, f.label ? t(`cam.label.${f.label}`) : t("cam.unlabelled")),
    el("button", { type: "button", class: "show", onclick: () => { cam.frameMs = f.ts_ms; cam.selected.clear(); renderCamera(); } }, t("cam.show"))))
    : [el("li", { class: "muted" }, t("cam.no_frames"))]));
}

function renderModels() {
  const d = cam.data;
  $("#cam-training").textContent = t(`cam.training.${d.training.state}`) + (d.training.last_error ? ` – ${d.training.last_error}` : "");
  const head = el("tr", {}, ...["cam.version", "status", "cam.figures", ""].map((k) => el("th", {}, k ? t(k) : "")));
  const useBtn = (v) => officer() && v !== d.active_version
    ? el("button", { type: "button", class: "use-version", "data-version": v, onclick: () => activate(v) }, t("cam.use_version")) : null;
  const rows = d.versions.map((v) => el("tr", { class: v.version === d.active_version ? "active" : "", "data-version": v.version },
    el("td", {}, `v${v.version}`, el("div", { class: "muted" }, `${fmtTime(v.created.at)} · ${t(`cam.trigger.${v.trigger}`)}`)),
    el("td", {}, t(`cam.state.${v.state}`)),
    el("td", {}, `${t("cam.camera_correct")}: ${v.figures.camera_correct}/${v.figures.camera_frames}`, el("br"),
      `${t("cam.reference_f1")}: ${fmtNum(v.figures.reference_f1, 2)} (${t("cam.shipped")} ${fmtNum(v.figures.shipped_reference_f1, 2)})`),
    el("td", {}, useBtn(v.version))));
  const shipped = el("tr", { class: d.active_version === 0 ? "active" : "", "data-version": 0 },
    el("td", {}, t("cam.shipped")), el("td", {}, d.active_version === 0 ? t("cam.state.active") : ""), el("td", {}, ""),
    el("td", {}, useBtn(0)));
  $("#cam-models").replaceChildren(head, ...rows, shipped);
}

async function act(method, path, body) {
  const r = await sendJSON(method, path, body);
  $("#cam-message").textContent = r.ok ? t("cam.saved") : await problemText(r);
  if (r.ok) await loadCamera();
  return r.ok;
}

async function label(kind) {
  const f = currentFrame(); if (!f) return;
  const cells = kind === "dust" ? [...cam.selected].map((k) => k.split(",").map(Number)) : null;
  if (await act("POST", `/api/v1/cameras/${cam.id}/labels`, { frame_ts: f.frame_ts, label: kind, cells })) cam.selected.clear();
}

const reason = () => $("#cam-reason").value.trim() || t("cam.reason");
const saveIgnore = () => act("PUT", `/api/v1/cameras/${cam.id}/ignore`, { cells: [...cam.ignore].map((k) => k.split(",").map(Number)), reason: reason() });
const activate = (v) => act("POST", `/api/v1/cameras/${cam.id}/models/${v}/activate`, { reason: reason() });

TW.page({
  async start() {
    document.querySelectorAll("input[name=cam-mode]").forEach((n) => n.addEventListener("change", () => { cam.mode = n.value; }));
    $("#label-dust").addEventListener("click", () => label("dust"));
    $("#label-clear").addEventListener("click", () => label("clear"));
    $("#save-ignore").addEventListener("click", saveIgnore);
    $("#train-now").addEventListener("click", () => act("POST", `/api/v1/cameras/${cam.id}/models/train`, {}));
    await loadCamera();
  },
  render() { renderCamera(); },
  onEvent(type, data) { if (type === "camera" && data && data.camera_id === cam.id) loadCamera().catch(() => {}); },
});
