// Compare page: each run's sample grid at (about) the same number of images seen.
"use strict";
(() => {
  const box = $("#compare");
  if (!box) return;
  const runs = JSON.parse(box.dataset.runs);
  const seen = [...new Set(runs.flatMap((r) => r.samples.map((s) => s[0])))].sort((a, b) => a - b);
  const slider = $("#seen-slider");
  slider.max = Math.max(0, seen.length - 1);
  slider.value = slider.max;

  function show() {
    const target = seen[Number(slider.value)] || 0;
    $("#seen-label").textContent = `${fmtInt(target)}`;
    for (const r of runs) {
      const fig = box.querySelector(`figure[data-run="${CSS.escape(r.name)}"]`);
      let best = null;
      for (const s of r.samples) if (s[0] <= target) best = s;  // the newest grid not past the target
      if (!best && r.samples.length) best = r.samples[0];
      const im = fig.querySelector("img");
      if (best) { im.src = best[1]; fig.querySelector(".at").textContent = `grid at ${fmtInt(best[0])} images`; }
      else { im.removeAttribute("src"); fig.querySelector(".at").textContent = "no samples"; }
    }
  }
  slider.addEventListener("input", show);
  show();
})();
