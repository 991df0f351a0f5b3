// Shared helpers for the studio's pages: JSON requests, number formats and an SVG line chart.
"use strict";
const $ = (sel, root = document) => root.querySelector(sel);

async function api(method, url, body) {
  const opts = { method, headers: {} };
  if (body !== undefined) {
    opts.headers["Content-Type"] = "application/json";
    opts.body = JSON.stringify(body);
  }
  const res = await fetch(url, opts);
  const data = await res.json().catch(() => ({}));
  if (!res.ok) throw new Error(data.error || `${res.status} ${res.statusText}`);
  return data;
}

function say(el, text, error = false) {
  el.textContent = text;
  el.classList.toggle("error", error);
}

function fmtInt(n) { return n == null ? "–" : Math.round(n).toLocaleString("en"); }
function fmtDuration(s) {
  if (s == null || !isFinite(s)) return "–";
  s = Math.max(0, Math.round(s));
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
  return h ? `${h}:${String(m).padStart(2, "0")}:${String(r).padStart(2, "0")}` : `${m}:${String(r).padStart(2, "0")}`;
}

const SVGNS = "http://www.w3.org/2000/svg";
const COLORS = ["#b4532a", "#1f6fb2", "#2f7d4f", "#7b4bb3", "#b7791f", "#555"];

function svgEl(name, attrs) {
  const el = document.createElementNS(SVGNS, name);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
  return el;
}

// Draw series {name: [[x, y], ...]} as polylines into an <svg viewBox="0 0 W H">.
function drawChart(svg, series, legend) {
  const [W, H] = [600, 260], pad = { l: 48, r: 10, t: 10, b: 26 };
  svg.replaceChildren();
  const names = Object.keys(series).filter((k) => series[k].length);
  if (!names.length) {
    svg.appendChild(svgEl("text", { x: W / 2, y: H / 2, "text-anchor": "middle" })).textContent = "no losses logged yet";
    if (legend) legend.replaceChildren();
    return;
  }
  let x0 = Infinity, x1 = -Infinity, y0 = Infinity, y1 = -Infinity;
  for (const k of names) for (const [x, y] of series[k]) {
    if (!isFinite(y)) continue;
    x0 = Math.min(x0, x); x1 = Math.max(x1, x); y0 = Math.min(y0, y); y1 = Math.max(y1, y);
  }
  if (x1 === x0) x1 = x0 + 1;
  if (y1 === y0) { y1 += 1; y0 -= 1; }
  const sx = (x) => pad.l + ((x - x0) / (x1 - x0)) * (W - pad.l - pad.r);
  const sy = (y) => H - pad.b - ((y - y0) / (y1 - y0)) * (H - pad.t - pad.b);
  for (const t of [0, 0.5, 1]) {
    const y = y0 + t * (y1 - y0);
    svg.appendChild(svgEl("line", { x1: pad.l, x2: W - pad.r, y1: sy(y), y2: sy(y), stroke: "#eee7dc" }));
    svg.appendChild(svgEl("text", { x: pad.l - 4, y: sy(y) + 4, "text-anchor": "end" })).textContent = y.toPrecision(3);
  }
  svg.appendChild(svgEl("text", { x: pad.l, y: H - 6 })).textContent = fmtInt(x0);
  svg.appendChild(svgEl("text", { x: W - pad.r, y: H - 6, "text-anchor": "end" })).textContent = `${fmtInt(x1)} images`;
  names.forEach((k, i) => {
    const pts = series[k].filter(([, y]) => isFinite(y)).map(([x, y]) => `${sx(x).toFixed(1)},${sy(y).toFixed(1)}`);
    svg.appendChild(svgEl("polyline", { points: pts.join(" "), fill: "none", stroke: COLORS[i % COLORS.length], "stroke-width": 1.5 }));
  });
  if (legend) {
    legend.replaceChildren(...names.map((k, i) => {
      const span = document.createElement("span");
      const sw = document.createElement("i");
      sw.style.background = COLORS[i % COLORS.length];
      span.append(sw, k);
      return span;
    }));
  }
}
