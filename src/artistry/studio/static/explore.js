// Explore page: generate from a seed range (with optional post-processing), keep, download, walk.
"use strict";
(() => {
  const page = $("#explore-page");
  const run = page.dataset.run;
  const base = `/api/runs/${encodeURIComponent(run)}`;

  function post() {
    const steps = [];
    const d = $("#denoise");
    if (d && d.value) steps.push(`denoise:${d.value}`);
    if ($("#bw").checked) steps.push("bw");
    if ($("#contour").checked) steps.push("contour");
    if ($("#upscale").checked) steps.push("upscale:2");
    return steps.join(",");
  }

  function img(src, alt) { const i = document.createElement("img"); i.src = src; i.alt = alt; return i; }

  $("#gen-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const seed = Number($("#seed").value), n = Number($("#n").value), p = post();
    $("#generate").disabled = true;
    say($("#message"), "Generating…");
    try {
      const d = await api("POST", `${base}/generate`, { seed, n, post: p });
      $("#images").classList.toggle("pairs", !!p);
      $("#images").replaceChildren(...d.images.map((im) => {
        const fig = document.createElement("figure");
        fig.dataset.seed = im.seed;
        const view = im.post_url ? document.createElement("div") : null;
        if (view) { view.className = "pair"; view.append(img(im.url, `seed ${im.seed} before`), img(im.post_url, `seed ${im.seed} after`)); }
        const cap = document.createElement("figcaption");
        const label = document.createElement("a");
        label.textContent = `seed ${im.seed}`; label.href = im.post_url || im.url; label.download = `${run}-seed${im.seed}.png`;
        const keep = document.createElement("button");
        keep.type = "button"; keep.textContent = "Keep"; keep.className = "keep";
        keep.onclick = async () => {
          try {
            const k = await api("POST", `${base}/keep`, { seed: im.seed, post: p });
            fig.classList.add("kept"); keep.textContent = "Kept"; keep.disabled = true;
            const a = document.createElement("a"); a.href = k.url; a.download = ""; a.append(img(k.url, k.kept));
            $("#kept").append(a);
          } catch (e) { say($("#message"), e.message, true); }
        };
        cap.append(label, keep);
        fig.append(view || img(im.url, `seed ${im.seed}`), cap);
        return fig;
      }));
      const dl = $("#download");
      dl.href = d.zip; dl.hidden = false; dl.setAttribute("download", `${run}-seed${seed}.zip`);
      say($("#message"), p ? `${n} images; left: as generated, right: after ${p.replaceAll(",", " → ")}.` : `${n} images.`);
    } catch (e) { say($("#message"), e.message, true); }
    $("#generate").disabled = false;
  });

  $("#walk-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const a = Number($("#walk-a").value), b = Number($("#walk-b").value), frames = Number($("#walk-frames").value);
    const slider = $("#walk-slider");
    slider.max = frames - 1; slider.value = 0;
    const show = () => {
      const i = Number(slider.value);
      $("#walk-img").src = `${base}/walk.png?a=${a}&b=${b}&frames=${frames}&i=${i}`;
      $("#walk-label").textContent = `frame ${i + 1} of ${frames} (seed ${a} → seed ${b})`;
    };
    slider.oninput = show;
    $("#walk-view").hidden = false;
    show();
    for (let i = 0; i < frames; i++) new Image().src = `${base}/walk.png?a=${a}&b=${b}&frames=${frames}&i=${i}`;  // preload
  });
})();
