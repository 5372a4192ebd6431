// Subnetes chain dashboard: reads the public API, follows /v1/events live, draws SVG by hand.
"use strict";
(() => {
  const RAO = 1e9, U16 = 65535, SHARE_ONE = 1e9, SUPPLY = 21e6 * RAO;
  const query = new URLSearchParams(location.search);
  const HISTORY_BLOCKS = Math.max(0, Number(query.get("history") || 5000)); // replayed on load
  const MAX_EPOCHS = 200;                                                    // kept per subnet
  const COLORS = ["#2563eb", "#dc2626", "#16a34a", "#d97706", "#9333ea", "#0891b2", "#db2777",
    "#65a30d", "#7c3aed", "#ea580c", "#0f766e", "#be123c"];
  const EVENTS = ["Block", "EpochResult", "SubnetRegistered", "SubnetDeregistered",
    "NeuronRegistered", "NeuronDeregistered"]; // each Block refreshes the rest (governance too)
  const SVG = "http://www.w3.org/2000/svg";
  const GOV_LIMIT = 20; // proposals shown, newest first

  const S = { chain: null, network: null, subnets: [], netuid: null, metagraph: null,
    senate: null, proposals: [], epochs: new Map() }; // netuid -> [{block, uids}]
  const $ = (id) => document.getElementById(id);

  // ---- formatting ---------------------------------------------------------------------------
  const num = (x, digits = 4) => x.toLocaleString("en-US", { maximumFractionDigits: digits });
  const tau = (rao, digits = 4) => num(rao / RAO, digits);
  const frac = (u16) => (u16 / U16).toFixed(4);
  const short = (s) => (s && s.length > 14 ? `${s.slice(0, 6)}…${s.slice(-6)}` : s || "—");
  const color = (uid) => COLORS[uid % COLORS.length];
  const compact = (x) => (Math.abs(x) >= 1e6 ? `${num(x / 1e6, 2)}M` : Math.abs(x) >= 1e3
    ? `${num(x / 1e3, 2)}k` : num(x, Math.abs(x) < 1 ? 3 : 2));

  function el(tag, attrs = {}, text) {
    const e = tag.startsWith("svg:") ? document.createElementNS(SVG, tag.slice(4)) : document.createElement(tag);
    for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
    if (text !== undefined) e.textContent = text;
    return e;
  }
  function cell(tr, text, cls) { return tr.appendChild(el("td", cls ? { class: cls } : {}, text)); }

  async function getJSON(path) {
    const r = await fetch(path, { cache: "no-store" });
    if (!r.ok) throw new Error(`${path}: HTTP ${r.status}`);
    return r.json();
  }
  function showError(msg) { const e = $("error"); e.textContent = msg || ""; e.hidden = !msg; }

  // ---- data ---------------------------------------------------------------------------------
  function pickNetuid() {
    const m = /subnet=(\d+)/.exec(location.hash);
    const ids = S.subnets.map((s) => s.netuid);
    if (m && ids.includes(Number(m[1]))) return Number(m[1]);
    if (S.netuid !== null && ids.includes(S.netuid)) return S.netuid;
    return ids.find((n) => n !== 0) ?? ids[0] ?? null;
  }

  let refreshing = false, again = false, timer = null;
  function scheduleRefresh(delay = 300) {
    if (!timer) timer = setTimeout(() => { timer = null; refresh(); }, delay);
  }
  async function refresh() {
    if (refreshing) { again = true; return; }
    refreshing = true;
    try {
      const [network, subnets, senate, proposals] = await Promise.all([getJSON("/v1/network"),
        getJSON("/v1/subnets"), getJSON("/v1/governance/senate"),
        getJSON(`/v1/governance/proposals?limit=${GOV_LIMIT}`)]);
      S.network = network; S.subnets = subnets; S.netuid = pickNetuid();
      S.senate = senate; S.proposals = proposals;
      S.metagraph = S.netuid === null ? null : await getJSON(`/v1/subnets/${S.netuid}/metagraph`);
      showError("");
      render();
    } catch (e) {
      showError(`could not read the chain: ${e.message}`);
    } finally {
      refreshing = false;
      if (again) { again = false; scheduleRefresh(); }
    }
  }

  function addEpoch(ev) {
    if (!S.epochs.has(ev.netuid)) S.epochs.set(ev.netuid, []);
    const list = S.epochs.get(ev.netuid);
    if (list.length && list[list.length - 1].block >= ev.block) return; // already seen
    list.push({ block: ev.block, uids: ev.uids });
    if (list.length > MAX_EPOCHS) list.splice(0, list.length - MAX_EPOCHS);
  }

  function onEvent(type, ev) {
    if (type === "EpochResult") { addEpoch(ev); scheduleCharts(); }
    else if (type === "SubnetRegistered") S.epochs.delete(ev.netuid); // a reused netuid starts afresh
    else if (type === "Block" && S.network && ev.block > S.network.block) {
      S.network.block = ev.block; S.network.issuance = ev.issuance; S.network.block_emission = ev.block_emission;
      renderOverview();
      scheduleRefresh();
    }
  }

  function connect() {
    const from = Math.max(0, (S.network ? S.network.block : 0) - HISTORY_BLOCKS);
    const es = new EventSource(`/v1/events?from_block=${from}`);
    const live = $("live");
    es.onopen = () => { live.textContent = "live"; live.className = "badge on"; };
    es.onerror = () => { live.textContent = "reconnecting"; live.className = "badge off"; };
    for (const t of EVENTS) es.addEventListener(t, (m) => onEvent(t, JSON.parse(m.data)));
  }

  // ---- overview and tables ------------------------------------------------------------------
  function halving(issuance, perBlock) {
    let k = 0;
    while ((SUPPLY - issuance) * 2 ** (k + 1) <= SUPPLY && k < 64) k += 1;
    const at = SUPPLY - SUPPLY / 2 ** (k + 1);
    const blocks = perBlock > 0 ? Math.ceil((at - issuance) / perBlock) : Infinity;
    return { at, blocks, k };
  }

  function renderOverview() {
    const n = S.network;
    if (!n) return;
    $("ov-block").textContent = num(n.block, 0);
    $("ov-issuance").textContent = `${tau(n.issuance, 2)} τ`;
    $("ov-emission").textContent = `${tau(n.block_emission)} τ`;
    const h = halving(n.issuance, n.block_emission);
    $("ov-halving").textContent = `${num(h.at / RAO, 0)} τ`;
    $("ov-halving-sub").textContent = Number.isFinite(h.blocks)
      ? `in ≈${num(h.blocks, 0)} blocks (halving #${h.k + 1})` : "";
    $("ov-lock").textContent = `${tau(n.lock_cost, 2)} τ`;
    $("ov-subnets").textContent = `${n.subnets} / ${n.subnet_limit}`;
    $("ov-stake").textContent = `${tau(n.total_stake, 2)} τ`;
  }

  function renderSubnets() {
    const body = $("subnets").tBodies[0];
    body.replaceChildren();
    for (const s of S.subnets) {
      const tr = el("tr", { "data-netuid": s.netuid });
      if (s.netuid === S.netuid) tr.className = "selected";
      cell(tr, s.netuid === 0 ? "0 (root)" : String(s.netuid));
      cell(tr, `${s.n} / ${s.max_allowed_uids}`);
      const td = el("td"), bar = el("span", { class: "share" }), fill = el("i");
      fill.style.width = `${(100 * s.emission_share) / SHARE_ONE}%`;
      bar.appendChild(fill); td.append(bar, `${num((100 * s.emission_share) / SHARE_ONE, 2)}%`);
      tr.appendChild(td);
      cell(tr, tau(s.emission_per_block), "num");
      cell(tr, String(s.tempo), "num");
      cell(tr, s.next_epoch_block === null ? "—" : num(s.next_epoch_block, 0), "num");
      cell(tr, tau(s.lock, 2), "num");
      cell(tr, short(s.owner_coldkey), "mono").title = s.owner_coldkey || "";
      tr.addEventListener("click", () => select(s.netuid));
      body.appendChild(tr);
    }
    const sel = $("netuid");
    const want = S.subnets.map((s) => String(s.netuid)).join(",");
    if (sel.dataset.ids !== want) {
      sel.replaceChildren(...S.subnets.map((s) => el("option", { value: s.netuid }, String(s.netuid))));
      sel.dataset.ids = want;
    }
    if (S.netuid !== null) sel.value = String(S.netuid);
  }

  function renderMetagraph() {
    const body = $("metagraph").tBodies[0];
    body.replaceChildren();
    const mg = S.metagraph;
    $("mg-block").textContent = mg ? `at block ${num(mg.block, 0)} · ${mg.n} UIDs` : "";
    if (!mg) return;
    for (const r of mg.neurons) {
      const tr = el("tr", { "data-uid": r.uid });
      const td = el("td"), dot = el("span", { class: "dot" });
      dot.style.background = color(r.uid);
      td.append(dot, String(r.uid));
      tr.appendChild(td);
      cell(tr, short(r.hotkey), "mono").title = r.hotkey;
      cell(tr, tau(r.stake), "num");
      cell(tr, frac(r.incentive), "num");
      cell(tr, frac(r.dividends), "num");
      cell(tr, tau(r.emission), "num");
      cell(tr, r.validator_permit ? "✓" : "");
      cell(tr, r.axon ? `${r.axon.ip}:${r.axon.port}` : "—", "mono");
      body.appendChild(tr);
    }
  }

  // ---- charts -------------------------------------------------------------------------------
  const W = 640, H = 260, M = { l: 64, r: 18, t: 14, b: 30 };
  const MAX_DOTS = 3000; // above this many points a chart draws lines only

  function series(field, scale) {
    const byUid = new Map();
    for (const e of S.epochs.get(S.netuid) || []) {
      for (const u of e.uids) {
        if (!byUid.has(u.uid)) byUid.set(u.uid, []);
        byUid.get(u.uid).push([e.block, u[field] / scale]);
      }
    }
    return [...byUid].sort((a, b) => a[0] - b[0]).map(([uid, points]) => ({ uid, points }));
  }

  function niceMax(v) {
    if (!(v > 0)) return 1;
    const p = 10 ** Math.floor(Math.log10(v)), m = v / p;
    return (m <= 1 ? 1 : m <= 2 ? 2 : m <= 5 ? 5 : 10) * p;
  }

  function empty(svg, msg) {
    svg.appendChild(el("svg:text", { x: W / 2, y: H / 2, "text-anchor": "middle", class: "empty" }, msg));
  }

  function lineChart(svg, data, fmt) {
    svg.replaceChildren();
    svg.setAttribute("viewBox", `0 0 ${W} ${H}`);
    const pts = data.flatMap((s) => s.points);
    if (!pts.length) { empty(svg, "waiting for the first epoch…"); return; }
    let x0 = Math.min(...pts.map((p) => p[0])), x1 = Math.max(...pts.map((p) => p[0]));
    if (x0 === x1) { x0 -= 1; x1 += 1; }
    const y1 = niceMax(Math.max(...pts.map((p) => p[1])));
    const sx = (x) => M.l + ((x - x0) / (x1 - x0)) * (W - M.l - M.r);
    const sy = (y) => H - M.b - (y / y1) * (H - M.t - M.b);
    for (let i = 0; i <= 4; i++) {
      const v = (y1 * i) / 4, y = sy(v);
      svg.appendChild(el("svg:line", { x1: M.l, x2: W - M.r, y1: y, y2: y, class: i ? "grid" : "axis" }));
      svg.appendChild(el("svg:text", { x: M.l - 6, y: y + 4, "text-anchor": "end" }, fmt(v)));
    }
    const xticks = x1 - x0 < 4 ? [[Math.round((x0 + x1) / 2), "middle"]] // one epoch: one label
      : [0, 1, 2, 3, 4].map((i) => [Math.round(x0 + ((x1 - x0) * i) / 4), ["start", "middle", "middle", "middle", "end"][i]]);
    for (const [v, anchor] of xticks) {
      svg.appendChild(el("svg:text", { x: sx(v), y: H - 8, "text-anchor": anchor }, `#${v}`));
    }
    for (const s of data) {
      const c = color(s.uid);
      const d = s.points.map((p, i) => `${i ? "L" : "M"}${sx(p[0]).toFixed(1)},${sy(p[1]).toFixed(1)}`).join("");
      svg.appendChild(el("svg:path", { d, class: "line", stroke: c, "data-uid": s.uid }));
      if (pts.length > MAX_DOTS) continue;
      for (const p of s.points) {
        const dot = el("svg:circle", { cx: sx(p[0]).toFixed(1), cy: sy(p[1]).toFixed(1), r: 3.2, fill: c,
          class: "pt", "data-uid": s.uid });
        dot.appendChild(el("svg:title", {}, `UID ${s.uid} · block ${p[0]}: ${fmt(p[1])}`));
        svg.appendChild(dot);
      }
    }
  }

  function stakeChart(svg) {
    svg.replaceChildren();
    const rows = (S.metagraph ? S.metagraph.neurons : []).filter((r) => r.stake > 0);
    const permitted = rows.filter((r) => r.validator_permit);
    const shown = (permitted.length ? permitted : rows).sort((a, b) => b.stake - a.stake).slice(0, 16);
    $("stake-caption").textContent = permitted.length || !rows.length
      ? "Stake by validator (τ)" : "Stake by hotkey (τ) — no validator permits yet";
    const rowH = 28, h = Math.max(H, M.t + shown.length * rowH + 8);
    svg.setAttribute("viewBox", `0 0 ${W} ${h}`);
    if (!shown.length) { empty(svg, "no stake yet"); return; }
    const max = Math.max(...shown.map((r) => r.stake)), left = 76, right = 130;
    shown.forEach((r, i) => {
      const y = M.t + i * rowH, w = Math.max(1, ((W - left - right) * r.stake) / max);
      svg.appendChild(el("svg:text", { x: left - 8, y: y + 19, "text-anchor": "end", class: "label" }, `UID ${r.uid}`));
      const bar = el("svg:rect", { x: left, y: y + 3, width: w.toFixed(1), height: rowH - 8, rx: 3,
        fill: color(r.uid), class: "bar", "data-uid": r.uid });
      bar.appendChild(el("svg:title", {}, `UID ${r.uid} ${r.hotkey}: ${tau(r.stake)} τ`));
      svg.appendChild(bar);
      svg.appendChild(el("svg:text", { x: left + w + 6, y: y + 19 }, `${tau(r.stake, 2)} τ`));
    });
  }

  function renderLegend() {
    const box = $("legend");
    box.replaceChildren();
    for (const r of S.metagraph ? S.metagraph.neurons : []) {
      const item = el("span", { class: "mono" }), dot = el("span", { class: "dot" });
      dot.style.background = color(r.uid);
      item.append(dot, `UID ${r.uid} ${short(r.hotkey)}`);
      box.appendChild(item);
    }
  }

  function renderCharts() {
    lineChart($("chart-emission"), series("emission", RAO), compact);
    lineChart($("chart-incentive"), series("incentive", U16), (v) => v.toFixed(2));
    stakeChart($("chart-stake"));
    renderLegend();
  }
  let chartTimer = null;
  function scheduleCharts() {
    if (!chartTimer) chartTimer = setTimeout(() => { chartTimer = null; renderCharts(); }, 200);
  }

  function renderGovernance() {
    const sen = S.senate;
    if (!sen) return;
    $("gov-rule").textContent = `${sen.members.length} / ${sen.senate_size} seats · a proposal ` +
      `is open ${num(sen.proposal_voting_period, 0)} blocks and ${sen.threshold}`;
    const body = $("senate").tBodies[0];
    body.replaceChildren();
    for (const m of sen.members) {
      const tr = el("tr", { "data-hotkey": m.hotkey });
      cell(tr, short(m.hotkey), "mono").title = m.hotkey;
      cell(tr, tau(m.stake), "num");
      cell(tr, m.uid === null ? "—" : String(m.uid), "num");
      body.appendChild(tr);
    }
    if (!sen.members.length) {
      const tr = el("tr");
      tr.appendChild(el("td", { colspan: 3, class: "muted" }, "no senate: no root validator has stake"));
      body.appendChild(tr);
    }
    const pb = $("proposals").tBodies[0];
    pb.replaceChildren();
    for (const p of S.proposals) {
      const tr = el("tr", { "data-proposal": p.id, "data-status": p.status });
      cell(tr, String(p.id), "num");
      const where = p.netuid === null ? "network" : `subnet ${p.netuid}`;
      cell(tr, `${where}: ${p.name} = ${p.value}`, "mono");
      cell(tr, p.status + (p.error ? ` (${p.error})` : ""), `status-${p.status}`);
      cell(tr, String(p.ayes.length), "num");
      cell(tr, String(p.nays.length), "num");
      cell(tr, num(p.end, 0), "num");
      pb.appendChild(tr);
    }
    if (!S.proposals.length) {
      const tr = el("tr");
      tr.appendChild(el("td", { colspan: 6, class: "muted" }, "no proposals yet"));
      pb.appendChild(tr);
    }
  }

  function render() {
    renderOverview(); renderSubnets(); renderMetagraph(); renderGovernance(); renderCharts();
  }

  function select(netuid) {
    S.netuid = netuid;
    history.replaceState(null, "", `#subnet=${netuid}`);
    refresh();
  }

  async function start() {
    $("netuid").addEventListener("change", (e) => select(Number(e.target.value)));
    try {
      S.chain = await getJSON("/v1/chain");
      $("chain-name").textContent = `${S.chain.chain_name} · ${S.chain.profile} · genesis ${short(S.chain.genesis_hash)}`;
    } catch (e) {
      showError(`could not read the chain: ${e.message}`);
    }
    await refresh();
    connect();
  }
  start();
})();
