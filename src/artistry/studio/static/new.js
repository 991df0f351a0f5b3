// New-run page: a folder picker over the allowed roots, --dry-run preview, start.
"use strict";
(() => {
  const form = $("#new-run");
  let current = { root: 0, path: "" };

  async function open(root, path) {
    try {
      const d = await api("GET", `/api/folders?root=${root}&path=${encodeURIComponent(path)}`);
      current = { root, path: d.path };
      const crumbs = $("#crumbs");
      crumbs.replaceChildren();
      const parts = d.path ? d.path.split("/") : [];
      const top = document.createElement("a"); top.textContent = d.root_path; top.onclick = () => open(root, "");
      crumbs.append(top);
      parts.forEach((p, i) => {
        const a = document.createElement("a"); a.textContent = p;
        a.onclick = () => open(root, parts.slice(0, i + 1).join("/"));
        crumbs.append(" / ", a);
      });
      const list = $("#folders");
      list.replaceChildren();
      if (d.parent !== null) list.append(item("↑ up", () => open(root, d.parent)));
      for (const f of d.folders) list.append(item(`▸ ${f}`, () => open(root, d.path ? `${d.path}/${f}` : f), f));
      $("#folder-info").textContent = d.images
        ? `${d.images} images directly in this folder (subfolders are included too). Training uses: ${d.abs}`
        : `No images directly in this folder; subfolders are searched too. Training uses: ${d.abs}`;
      $("#previews").replaceChildren(...d.preview.map((name) => {
        const img = document.createElement("img");
        img.loading = "lazy"; img.alt = name;
        img.src = `/files/data/${root}/${(d.path ? d.path + "/" : "") + name}`.split("/").map(encodeURIComponent).join("/");
        return img;
      }));
      if (!$("#name").value) $("#name").placeholder = d.path ? d.path.split("/").pop() : "studio";
    } catch (e) { say($("#message"), e.message, true); }
  }

  function item(text, onclick, name) {
    const li = document.createElement("li"); const a = document.createElement("a");
    a.textContent = text; a.onclick = onclick; if (name) a.dataset.folder = name;
    li.append(a); return li;
  }

  function values() {
    return { root: current.root, path: current.path, name: $("#name").value, recipe: $("#recipe").value,
      size: Number($("#size").value), budget: Number($("#budget").value), budget_kind: $("#budget-kind").value,
      extra: $("#extra").value };
  }

  $("#dry-run").addEventListener("click", async () => {
    try {
      const d = await api("POST", "/api/dry-run", values());
      const pre = $("#config");
      pre.hidden = false;
      pre.textContent = `artistry train ${d.args.join(" ")}\n\n${JSON.stringify(d.config, null, 2)}`;
      say($("#message"), "This is the configuration training will use.");
    } catch (e) { say($("#message"), e.message, true); }
  });

  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    $("#start").disabled = true;
    try {
      const { job } = await api("POST", "/api/jobs", values());
      say($("#message"), "Queued. Waiting for the run folder…");
      for (let i = 0; i < 600; i++) {
        const j = await api("GET", `/api/jobs/${job.id}`);
        if (j.run) { location.href = `/runs/${j.run}`; return; }
        if (j.state === "failed") { say($("#message"), `Training failed to start:\n${j.log}`, true); break; }
        if (j.state === "queued" && i > 4) { location.href = "/"; return; }  // waits behind another run
        await new Promise((r) => setTimeout(r, 500));
      }
    } catch (e) { say($("#message"), e.message, true); }
    $("#start").disabled = false;
  });
  $("#root").addEventListener("change", (ev) => open(Number(ev.target.value), ""));
  open(0, "");
})();
