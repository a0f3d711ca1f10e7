// The moderators' page: a small script over the JSON API (no build step).
"use strict";

const state = { key: sessionStorage.getItem("vodgate-key") || "", items: [], index: -1, current: null, timer: null };
const $ = (id) => document.getElementById(id);

function say(text) { $("message").textContent = text || ""; }

async function api(method, path, body) {
  const response = await fetch(path, {
    method,
    headers: { Authorization: `Bearer ${state.key}`, ...(body ? { "Content-Type": "application/json" } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const data = response.headers.get("Content-Type")?.includes("json") ? await response.json() : await response.text();
  if (!response.ok) {
    const error = new Error(data?.error?.message || `HTTP ${response.status}`);
    error.code = data?.error?.code;
    throw error;
  }
  return data;
}

function el(tag, text, attrs = {}) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.textContent = String(text);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  return node;
}

function remaining(dueIso) {
  const ms = new Date(dueIso) - Date.now();
  const abs = Math.abs(ms), h = Math.floor(abs / 3.6e6), m = Math.floor((abs % 3.6e6) / 6e4), s = Math.floor((abs % 6e4) / 1e3);
  const text = `${h}h ${String(m).padStart(2, "0")}m ${String(s).padStart(2, "0")}s`;
  return ms < 0 ? { text: `overdue by ${text}`, overdue: true } : { text: `due in ${text}`, overdue: false };
}

async function loadQueue() {
  const params = new URLSearchParams({ limit: "100" });
  if ($("filter-clause").value.trim()) params.set("clause", $("filter-clause").value.trim());
  if ($("filter-overdue").checked) params.set("overdue", "true");
  const data = await api("GET", `/v1/review/queue?${params}`);
  state.items = data.items;
  const c = data.counts;
  const n = (name) => `${c[name]}${c[`${name}_more`] ? "+" : ""}`;
  $("counts").textContent = `${n("open")} open · ${n("claimed")} claimed · ${n("overdue")} overdue`;
  renderQueue();
}

function renderQueue() {
  const list = $("queue");
  list.replaceChildren();
  state.items.forEach((item, i) => {
    const due = remaining(item.due_at);
    const li = el("li", null, { "data-id": item.id, class: `sev-${item.severity}${due.overdue ? " overdue" : ""}${i === state.index ? " current" : ""}` });
    li.append(el("div", `#${item.id} ${item.kind} · ${item.clauses.join(", ") || "no clause"}`));
    li.append(el("div", due.text, { class: "due" }));
    li.addEventListener("click", () => open(i));
    list.append(li);
  });
  if (!state.items.length) list.append(el("li", "The queue is empty."));
}

// Each text a detector read (OCR, subtitles, a title, a QR code): the matched term marked
// in the original text; a click seeks the player to it. Text is hostile: textContent only.
function renderTextHits(decision, player) {
  const list = $("text-hits");
  list.replaceChildren();
  const rows = [];
  for (const hit of decision.hits || []) for (const f of hit.frames) if (f.text) rows.push([hit, f]);
  for (const f of decision.observed || []) rows.push([{ label: `${f.source}:unlisted`, item: "not judged" }, f]);
  rows.sort((a, b) => a[1].timestamp_s - b[1].timestamp_s);
  for (const [hit, f] of rows) {
    const li = el("li", null, { "data-t": f.timestamp_s });
    const text = el("span", null, { class: "text" });
    const [start, end] = f.span || [0, 0];
    if (end > start) text.append(f.text.slice(0, start), el("mark", f.text.slice(start, end)), f.text.slice(end));
    else text.append(f.text);
    const at = f.end_s ? `${f.timestamp_s.toFixed(1)}–${f.end_s.toFixed(1)} s` : `${f.timestamp_s.toFixed(1)} s`;
    const term = f.term ? ` · term “${f.term}”` : "";
    const normal = f.normalised ? ` · read as “${f.normalised}”` : "";
    li.append(text, el("div", `${at} · ${f.source || ""} · ${hit.label} · ${hit.item}${term}${normal}`, { class: "where" }));
    li.addEventListener("click", () => { player.currentTime = f.timestamp_s; player.play().catch(() => {}); });
    list.append(li);
  }
  $("texts").hidden = !rows.length;
}

async function open(index) {
  if (index < 0 || index >= state.items.length) return;
  state.index = index;
  renderQueue();
  const item = state.items[index];
  const previous = state.current?.item;
  if (previous && previous.id !== item.id) {
    // Moving on without deciding gives the item back to the queue at once.
    await api("POST", `/v1/review/items/${previous.id}/release`).catch(() => {});
    state.current = null;
  }
  try {
    await api("POST", `/v1/review/items/${item.id}/claim`);
    loadQueue().catch(() => {});  // the counts now include this claim
    const view = await api("GET", `/v1/review/items/${item.id}`);
    state.current = view;
    renderItem(view);
    say("");
  } catch (error) {
    say(`#${item.id}: ${error.message}`);
  }
}

function renderItem(view) {
  const item = view.item;
  $("item").hidden = false;
  $("item-title").textContent = `#${item.id} · ${item.kind} review · upload ${item.upload_id}`;
  clearInterval(state.timer);
  const tick = () => { const due = remaining(item.due_at); $("sla").textContent = due.text; $("sla").classList.toggle("overdue", due.overdue); };
  tick();
  state.timer = setInterval(tick, 1000);
  const player = $("player");
  player.src = view.video_url || "";
  const grid = $("evidence");
  grid.replaceChildren();
  grid.classList.remove("revealed");
  const scores = {};
  for (const hit of view.decision.hits || []) for (const f of hit.frames) scores[f.timestamp_s] = Math.max(scores[f.timestamp_s] || 0, f.score);
  for (const frame of view.decision.evidence || []) {
    const figure = el("figure", null, { "data-t": frame.timestamp_s });
    figure.append(el("img", null, { src: frame.url, alt: `frame at ${frame.timestamp_s} s` }));
    const score = scores[frame.timestamp_s];
    // A sampled frame says its time and score; a detector's picture (a bank match: upload
    // and reference side by side) says what it is.
    const sampled = frame.reason === "interval_or_scene" || frame.reason === "dense";
    const label = sampled ? `${frame.timestamp_s.toFixed(1)} s${score !== undefined ? ` · score ${score.toFixed(2)}` : ""}` : frame.reason;
    figure.append(el("figcaption", label));
    figure.addEventListener("click", () => { figure.classList.add("revealed"); player.currentTime = frame.timestamp_s; player.play().catch(() => {}); });
    grid.append(figure);
  }
  if (!grid.children.length) grid.append(el("p", "No evidence frames (no hit was on a frame: subtitles, a title, or no detector hit at all)."));
  renderTextHits(view.decision, player);
  const clauses = $("clauses");
  clauses.replaceChildren();
  for (const c of view.clauses) {
    const li = el("li", null, { class: c.fired ? "fired" : "" });
    const box = el("input", null, { type: "checkbox", value: c.id, "aria-label": c.id });
    box.checked = c.fired;
    li.append(box, ` ${c.id} ${c.text_zh}${c.second_review ? " (二审)" : ""}`);
    li.title = c.gloss_en;
    clauses.append(li);
  }
  const meta = $("metadata");
  meta.replaceChildren();
  const declared = { ...view.upload.metadata, bytes: view.upload.length, licence_id: view.upload.licence_id ?? "—" };
  for (const [k, v] of Object.entries(declared)) meta.append(el("dt", k), el("dd", v));
  $("appeal").hidden = !view.appeal;
  $("appeal-text").textContent = view.appeal || "";
  const earlier = $("earlier-list");
  earlier.replaceChildren();
  // Who decided is null while the upload's review is open (no reviewer learns who went before).
  for (const d of view.earlier_decisions) earlier.append(el("li", `${d.decided_at}: ${d.decided_by ?? "a reviewer"} ${d.decision} ${(d.decision_clauses || []).join(", ")} — ${d.reason}`));
  $("earlier").hidden = !view.earlier_decisions.length;
  $("reason").value = "";
}

async function decide(decision) {
  if (!state.current) return;
  const reason = $("reason").value.trim();
  if (!reason) { say("Write a reason first."); $("reason").focus(); return; }
  const clauses = [...document.querySelectorAll("#clauses input:checked")].map((b) => b.value);
  const id = state.current.item.id;
  try {
    const body = { decision, clauses: decision === "reject" ? clauses : [], reason };
    const bank = $("bank").value;
    if (decision === "reject" && bank) body.add_to_bank = bank;
    const result = await api("POST", `/v1/review/items/${id}/decision`, body);
    const banked = result.bank_entry ? ` · added to bank ${result.bank_entry.bank}` : "";
    say(`#${id}: ${result.decision} → ${result.outcome}${banked}`);
    $("bank").value = "";
    state.current = null;
    $("item").hidden = true;
    $("player").removeAttribute("src");
    await loadQueue();
    if (state.items.length) await open(Math.min(state.index, state.items.length - 1));
  } catch (error) {
    say(`#${id}: ${error.message}`);
  }
}

// The prohibited banks a rejected video can be added to (re-uploads then block unseen).
async function loadBanks() {
  const data = await api("GET", "/v1/review/banks");
  const select = $("bank");
  select.replaceChildren(el("option", "— no bank —", { value: "" }));
  for (const bank of data.banks) select.append(el("option", `${bank.name} (${bank.clause})`, { value: bank.name }));
}

async function loadLog() {
  const data = await api("GET", "/v1/review/log");
  const body = $("log");
  body.replaceChildren();
  for (const d of data.decisions) {
    const tr = el("tr");
    for (const v of [d.decided_at, d.decided_by ?? "—", d.kind, d.upload_id, d.decision, d.clauses, d.reason]) tr.append(el("td", v));
    body.append(tr);
  }
}

async function exportCsv() {
  const csv = await api("GET", "/v1/review/log?format=csv");
  const link = el("a", null, { href: URL.createObjectURL(new Blob([csv], { type: "text/csv" })), download: "review-decisions.csv" });
  document.body.append(link);
  link.click();
  link.remove();
}

function showTab(name) {
  $("queue-view").hidden = name !== "queue";
  $("log-view").hidden = name !== "log";
  $("tab-queue").classList.toggle("active", name === "queue");
  $("tab-log").classList.toggle("active", name === "log");
  if (name === "log") loadLog().catch((e) => say(e.message));
}

document.addEventListener("keydown", (event) => {
  const typing = ["INPUT", "TEXTAREA", "SELECT"].includes(document.activeElement?.tagName);
  if (typing || event.ctrlKey || event.metaKey || event.altKey) return;
  if (event.key === "j") open(state.index + 1);
  else if (event.key === "k") open(state.index - 1);
  else if (event.key === "a") decide("approve");
  else if (event.key === "r") decide("reject");
  else if (event.key === " ") { event.preventDefault(); const p = $("player"); p.paused ? p.play().catch(() => {}) : p.pause(); }
  else return;
});

$("signin").addEventListener("submit", async (event) => {
  event.preventDefault();
  state.key = $("key").value.trim();
  sessionStorage.setItem("vodgate-key", state.key);
  try { await loadQueue(); loadBanks().catch(() => {}); say("Signed in."); if (state.items.length) await open(0); } catch (error) { say(error.message); }
});
$("approve").addEventListener("click", () => decide("approve"));
$("reject").addEventListener("click", () => decide("reject"));
$("release").addEventListener("click", async () => {
  if (!state.current) return;
  await api("POST", `/v1/review/items/${state.current.item.id}/release`).catch((e) => say(e.message));
  $("item").hidden = true; state.current = null; await loadQueue();
});
$("reveal").addEventListener("click", () => $("evidence").classList.toggle("revealed"));
$("filter-clause").addEventListener("change", () => loadQueue().catch((e) => say(e.message)));
$("filter-overdue").addEventListener("change", () => loadQueue().catch((e) => say(e.message)));
$("tab-queue").addEventListener("click", () => showTab("queue"));
$("tab-log").addEventListener("click", () => showTab("log"));
$("export").addEventListener("click", () => exportCsv().catch((e) => say(e.message)));
setInterval(() => { if (state.key && !$("queue-view").hidden) loadQueue().catch(() => {}); }, 15000);
if (state.key) { $("key").value = state.key; loadBanks().catch(() => {}); loadQueue().then(() => state.items.length && open(0)).catch((e) => say(e.message)); }
