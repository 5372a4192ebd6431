// The router's traffic page: polls GET /v1/traffic (same origin) every 2 s and draws one
// table per subnet. Text goes in through textContent only (never innerHTML).
"use strict";

const POLL_MS = 2000;

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  for (const c of children) e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return e;
}

function ms(seconds) {
  return seconds === null || seconds === undefined ? "—" : `${(seconds * 1000).toFixed(1)} ms`;
}

function row(cells) {
  return el("tr", {}, ...cells.map(([text, cls]) => el("td", cls ? { class: cls } : {}, text)));
}

function table(head, rows) {
  const thead = el("thead", {}, el("tr", {}, ...head.map(([h, cls]) => el("th", cls ? { class: cls } : {}, h))));
  return el("table", {}, thead, el("tbody", {}, ...rows));
}

function subnetSection(s) {
  const r = s.router;
  const cards = el("div", { class: "cards" },
    ...[["Requests", r.requests], ["Verified", r.verified], ["Rejected (4xx)", r.rejected],
      ["Errors", r.errors], ["Latency p50", ms(r.latency_p50_s)]]
      .map(([k, v]) => el("div", { class: "card" }, el("div", { class: "k" }, k), el("div", { class: "v" }, v))));
  const head = [["uid"], ["axon"], ["requests", "num"], ["verified", "num"], ["failures", "num"],
    ["wrong", "num"], ["latency", "num"], ["share", "num"], ["state"]];
  const miners = s.miners.map((m) => row([
    [m.uid], [m.axon || "—", "mono"], [m.requests, "num"], [m.verified, "num"],
    [m.failures, "num"], [m.wrong, "num"], [ms(m.latency_ewma_s), "num"],
    [`${(m.share * 100).toFixed(1)} %`, "num"],
    [m.in_pool ? "in pool" : `penalised (${m.breaker})`, m.in_pool ? "ok" : "bad"],
  ]));
  const body = s.pool_error
    ? el("p", { class: "error" }, `gateway did not answer: ${s.pool_error}`)
    : table(head, miners);
  return el("section", {},
    el("h2", {}, `Subnet ${s.netuid}`, el("span", { class: "muted" },
      `${s.capabilities.join(", ")} · ${s.url}` + (s.block === null ? "" : ` · block ${s.block}`))),
    cards, body);
}

async function poll() {
  const live = document.getElementById("live");
  const error = document.getElementById("error");
  try {
    const resp = await fetch("/v1/traffic", { cache: "no-store" });
    if (!resp.ok) throw new Error(`GET /v1/traffic: HTTP ${resp.status}`);
    const doc = await resp.json();
    document.getElementById("policy").textContent = `split policy: ${doc.policy}`;
    document.getElementById("subnets").replaceChildren(
      ...(doc.subnets.length ? doc.subnets.map(subnetSection) : [el("p", { class: "muted" }, "No routes yet.")]));
    error.hidden = true;
    live.textContent = "live";
    live.className = "badge on";
  } catch (e) {
    error.textContent = String(e.message || e);
    error.hidden = false;
    live.textContent = "offline";
    live.className = "badge off";
  }
  setTimeout(poll, POLL_MS);
}

poll();
