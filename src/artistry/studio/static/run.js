// Run page: live progress, losses, samples and evaluations from server-sent events.
"use strict";
(() => {
  const page = $("#run-page");
  const run = page.dataset.run;
  const series = {};
  let offset = 0, samples = [], followLatest = true, drawPending = false;

  function addRecords(records) {
    for (const r of records) {
      for (const [k, v] of Object.entries(r)) {
        if (k.startsWith("loss") && typeof v === "number") (series[k] ||= []).push([r.images_seen, v]);
      }
    }
    if (!drawPending) {
      drawPending = true;
      requestAnimationFrame(() => {
        drawPending = false;
        const thin = {};
        for (const [k, pts] of Object.entries(series)) {
          const every = Math.ceil(pts.length / 800);
          thin[k] = every > 1 ? pts.filter((_, i) => i % every === 0 || i === pts.length - 1) : pts;
        }
        drawChart($("#losses"), thin, $("#legend"));
      });
    }
  }

  function showSample(i) {
    if (!samples.length) return;
    const s = samples[i];
    $("#sample").src = s.url;
    $("#sample-label").textContent = `${fmtInt(s.images_seen)} images seen (${i + 1} of ${samples.length})`;
  }

  function cell(text) { const td = document.createElement("td"); td.textContent = text; return td; }
  const num = (v, d) => (v == null ? "–" : Number(v).toFixed(d));

  function applyState(st) {
    const badge = $("#status");
    if (badge.textContent !== st.status) say($("#message"), "");
    badge.textContent = st.status;
    $("#budget").textContent = st.budget;
    badge.className = `badge ${st.status}`;
    const p = st.progress;
    $("#images").textContent = fmtInt(p.images_seen);
    $("#step").textContent = fmtInt(p.step);
    $("#rate").textContent = p.img_per_s == null ? "–" : p.img_per_s.toFixed(1);
    $("#fraction").textContent = p.fraction == null ? "–" : `${Math.round(100 * p.fraction)}%`;
    $("#eta").textContent = st.status === "training" ? fmtDuration(p.eta_s) : "–";
    $("#progress-bar").style.width = `${Math.round(100 * (p.fraction || 0))}%`;
    $("#stop").disabled = !st.can_stop;
    $("#resume").disabled = !st.can_resume;
    $("#explore").classList.toggle("off", !st.can_generate);
    const slider = $("#sample-slider");
    const atEnd = followLatest || Number(slider.value) >= samples.length - 1;
    samples = st.samples;
    slider.max = Math.max(0, samples.length - 1);
    if (atEnd) { slider.value = slider.max; showSample(samples.length - 1); }
    const c = st.collapse, alarm = $("#collapse");
    if (!c) { alarm.textContent = "no check yet"; alarm.className = "alarm"; }
    else {
      alarm.className = `alarm ${c.collapse ? "bad" : "ok"}`;
      alarm.textContent = (c.collapse ? "Possible mode collapse" : "Samples look diverse") +
        ` at ${fmtInt(c.images_seen)} images: diversity ${num(c.diversity_px, 2)}× the real images in pixels` +
        (c.diversity_d != null ? `, ${num(c.diversity_d, 2)}× in D's features` : "") +
        `, ${Math.round(100 * (c.near_dup || 0))}% near-duplicate pairs.`;
    }
    if (st.timelapse) { const t = $("#timelapse"); t.hidden = false; if (!t.src) t.src = st.timelapse; }
    $("#evals").replaceChildren(...st.evals.map((e) => {
      const tr = document.createElement("tr");
      tr.append(cell(e.name), cell(num(e.fid, 2)), cell(num(e.kid, 4)), cell(num(e.precision, 3)),
        cell(num(e.recall, 3)), cell(num(e.coverage, 3)));
      return tr;
    }));
    if (!st.evals.length) {
      const tr = document.createElement("tr"); const td = cell("no evaluation yet"); td.colSpan = 6; tr.append(td);
      $("#evals").replaceChildren(tr);
    }
    $("#log").textContent = st.log || "(no output: this run was not started from the studio)";
  }

  function connect() {
    const es = new EventSource(`/api/runs/${encodeURIComponent(run)}/events?offset=${offset}`);
    es.addEventListener("metrics", (ev) => { const d = JSON.parse(ev.data); offset = d.offset; addRecords(d.records); });
    es.addEventListener("state", (ev) => applyState(JSON.parse(ev.data)));
    es.addEventListener("gone", () => { es.close(); es.onerror = null; say($("#message"), "This run's folder is gone.", true); });
    es.onerror = () => { es.close(); setTimeout(connect, 2000); };
  }

  $("#sample-slider").addEventListener("input", (ev) => {
    followLatest = Number(ev.target.value) === samples.length - 1;
    showSample(Number(ev.target.value));
  });
  $("#stop").addEventListener("click", async () => {
    try { await api("POST", `/api/runs/${run}/stop`, {}); say($("#message"), "Stopping: saving a checkpoint…"); }
    catch (e) { say($("#message"), e.message, true); }
  });
  $("#resume").addEventListener("click", async () => {
    const budget = $("#resume-budget").value;
    try {
      await api("POST", `/api/runs/${run}/resume`, budget ? { budget: Number(budget), budget_kind: $("#resume-kind").value } : {});
      say($("#message"), "Resuming from the last checkpoint…");
      $("#resume").disabled = true;
    } catch (e) { say($("#message"), e.message, true); }
  });
  drawChart($("#losses"), {}, $("#legend"));
  connect();
})();
