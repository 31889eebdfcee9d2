// petzoo web page: send each dropped photo to POST /v1/segment, show photo and result side by side.
"use strict";
const $ = (id) => document.getElementById(id);
const status = $("status");

async function loadModels() {
  const res = await fetch("/v1/models");
  const models = await res.json();
  const health = await fetch("/healthz").then((r) => r.json()).catch(() => ({}));
  for (const m of models) {
    if (!m.default_weights) continue;
    const opt = document.createElement("option");
    opt.value = m.model;
    const acc = m.test_pixel_acc ? ` — ${(m.test_pixel_acc * 100).toFixed(1)} % test` : "";
    opt.textContent = `${m.model}${acc}`;
    if (m.model === health.model) opt.selected = true;
    $("model").append(opt);
  }
}

function query() {
  const q = new URLSearchParams({ model: $("model").value, mode: $("mode").value });
  if ($("mode").value === "background") q.set("background", $("background").value);
  if ($("clean").checked) q.set("clean", "true");
  if ($("matting").checked && ["cutout", "background"].includes($("mode").value)) q.set("matting", "true");
  return q;
}

async function segment(file) {
  const card = $("card").content.firstElementChild.cloneNode(true);
  card.querySelector(".name").textContent = file.name;
  const original = card.querySelector(".original");
  original.src = URL.createObjectURL(file);
  original.onload = () => {
    card.querySelector(".osize").textContent = `${original.naturalWidth}×${original.naturalHeight}`;
  };
  $("results").prepend(card);
  const body = new FormData();
  body.append("file", file, file.name);
  const q = query();
  const started = performance.now();
  let res;
  try {
    res = await fetch(`/v1/segment?${q}`, { method: "POST", body });
  } catch (err) {
    card.querySelector(".error").textContent = `request failed: ${err}`;
    return;
  }
  if (!res.ok) {
    let message = `${res.status} ${res.statusText}`;
    try { message = `${res.status}: ${(await res.json()).error}`; } catch (e) { /* not JSON */ }
    card.querySelector(".error").textContent = message;
    card.querySelector(".pair").hidden = true;
    return;
  }
  const blob = await res.blob();
  const url = URL.createObjectURL(blob);
  const result = card.querySelector(".result");
  result.onload = () => {
    card.querySelector(".rsize").textContent = `${result.naturalWidth}×${result.naturalHeight}`;
  };
  result.src = url;
  const link = card.querySelector(".download");
  link.href = url;
  link.download = `${file.name.replace(/\.[^.]*$/, "")}.${q.get("mode")}.png`;
  link.hidden = false;
  card.querySelector(".info").textContent =
    `${res.headers.get("X-Petzoo-Model")} (${res.headers.get("X-Petzoo-Weights")}), ` +
    `${((performance.now() - started) / 1000).toFixed(2)} s`;
}

async function handle(files) {
  const list = Array.from(files);
  status.textContent = `${list.length} photo(s)…`;
  for (const f of list) await segment(f);  // one at a time: the server's queue stays short
  status.textContent = `${list.length} photo(s) done`;
}

$("files").addEventListener("change", (e) => handle(e.target.files));
const drop = $("drop");
drop.addEventListener("dragover", (e) => { e.preventDefault(); drop.classList.add("over"); });
drop.addEventListener("dragleave", () => drop.classList.remove("over"));
drop.addEventListener("drop", (e) => { e.preventDefault(); drop.classList.remove("over"); handle(e.dataTransfer.files); });
$("mode").addEventListener("change", () => {
  $("colour-label").hidden = $("mode").value !== "background";
});
$("colour-label").hidden = $("mode").value !== "background";
loadModels().catch((err) => { status.textContent = `could not list models: ${err}`; });
