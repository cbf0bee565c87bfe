// The script editor of the episode page (the owner's): a row per line, the speaker as a select; save
// (PUT /v1/episodes/{id}/script with If-Match: the version read), approve a script in review, render a
// published episode again. Errors are shown as the API words them, naming the field.
(function () {
  "use strict";
  const csrf = () => document.querySelector('meta[name="csrf-token"]').content;

  function documentOf(form) {
    const segments = [];
    for (const fieldset of form.querySelectorAll("fieldset.segment")) {
      const lines = [];
      for (const row of fieldset.querySelectorAll("tr.line")) {
        const line = {
          speaker: row.querySelector("select").value,
          text: row.querySelector("textarea").value,
          sources: JSON.parse(row.dataset.sources || "[]"),
        };
        if (row.dataset.lineId) line.id = row.dataset.lineId;
        lines.push(line);
      }
      segments.push({ title: fieldset.dataset.title, kind: fieldset.dataset.kind, lines });
    }
    return { segments };
  }

  async function call(method, url, options) {
    const response = await fetch(url, {
      method,
      credentials: "same-origin",
      ...options,
      headers: { "X-CSRF-Token": csrf(), ...(options && options.headers) },
    });
    let payload = {};
    try { payload = await response.json(); } catch (e) { /* an empty body */ }
    return { response, payload };
  }

  function say(message, isError) {
    const out = document.getElementById("script-message");
    out.textContent = message;
    out.classList.toggle("error", Boolean(isError));
  }

  function setup() {
    const studio = document.getElementById("studio");
    const form = document.getElementById("script-form");
    if (!studio || !form) return;
    const id = studio.dataset.episodeId;
    const template = document.getElementById("line-template");

    form.addEventListener("click", (event) => {
      const button = event.target.closest("button");
      if (!button) return;
      if (button.classList.contains("remove")) {
        button.closest("tr").remove();
      } else if (button.classList.contains("add")) {
        const body = button.closest("fieldset").querySelector("tbody");
        const row = template.content.firstElementChild.cloneNode(true);
        const last = body.querySelector("tr.line:last-child select");
        if (last) {  // the other host answers
          const options = [...row.querySelector("select").options].map((o) => o.value);
          row.querySelector("select").value = options.find((o) => o !== last.value) || options[0];
        }
        body.appendChild(row);
        row.querySelector("textarea").focus();
      }
    });

    async function save() {
      const { response, payload } = await call("PUT", `/v1/episodes/${id}/script`, {
        headers: { "Content-Type": "application/json", "If-Match": `"${studio.dataset.version}"` },
        body: JSON.stringify(documentOf(form)),
      });
      if (!response.ok) {
        const error = payload.error || {};
        say(response.status === 412 ? "Someone changed this script meanwhile: reload the page and redo your change." : (error.message || `Saving failed (${response.status})`), true);
        return false;
      }
      studio.dataset.version = String(payload.version);
      // new lines got ids: keep them so the next save keeps them too
      const rows = form.querySelectorAll("tr.line");
      const ids = payload.segments.flatMap((s) => s.lines.map((l) => l.id));
      rows.forEach((row, index) => { row.dataset.lineId = ids[index]; });
      document.querySelector("#studio-h small").textContent = `version ${payload.version}`;
      say(`Saved as version ${payload.version}.`);
      return true;
    }

    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      await save();
    });

    for (const [buttonId, action, words] of [["script-approve", "approve", "Approved"], ["script-render", "render", "Rendering"]]) {
      const button = document.getElementById(buttonId);
      if (!button) continue;
      button.addEventListener("click", async () => {
        button.disabled = true;
        if (!(await save())) { button.disabled = false; return; }
        const { response, payload } = await call("POST", `/v1/episodes/${id}/${action}`);
        if (!response.ok) {
          say((payload.error && payload.error.message) || `${action} failed (${response.status})`, true);
          button.disabled = false;
          return;
        }
        say(`${words}: audio version ${payload.render_version} from script version ${payload.script_version} is being made.`);
        studio.dataset.status = "processing";
      });
    }
  }

  document.addEventListener("DOMContentLoaded", setup);
})();
