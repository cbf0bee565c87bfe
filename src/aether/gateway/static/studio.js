// The studio: the script editor of the episode page (the owner's: a row per line, the speaker as a select;
// save = PUT /v1/episodes/{id}/script with If-Match: the version read; approve a script in review; render
// a published episode again) and the show bible of /shows/{slug}/settings (PATCH /v1/shows/{id}).
// Errors are shown as the API words them, naming the field.
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

  // ---- the show bible (/shows/{slug}/settings) ------------------------------------------------------
  function bibleOf(form) {
    const hosts = [];
    for (const row of form.querySelectorAll("tr.host")) {
      const get = (name) => row.querySelector(`[name=${name}]`).value.trim();
      if (!get("name")) continue;
      const engine = get("engine");
      const voice = { engine, pitch: Number(get("pitch") || 1), tempo: Number(get("tempo") || 1), volume_db: Number(get("volume_db") || 0) };
      if (get("voice")) voice[engine === "api" ? "voice" : "model"] = get("voice");
      hosts.push({ name: get("name"), persona: get("persona"), voice });
    }
    const pronunciations = [];
    for (const row of form.querySelectorAll("tr.word")) {
      const text = row.querySelector("[name=text]").value.trim();
      const say = row.querySelector("[name=say]").value.trim();
      if (text || say) pronunciations.push({ text, say });
    }
    const value = (id) => form.querySelector(`#${id}`).value.trim();
    return {
      hosts,
      pronunciations,
      intro: value("intro") || null,
      outro: value("outro") || null,
      language: value("language"),
      loudness_lufs: Number(value("loudness_lufs")),
      music: form.querySelector("#music").checked,
      review: form.querySelector("#review").checked,
    };
  }

  function setupBible() {
    const form = document.getElementById("bible-form");
    if (!form) return;
    const out = document.getElementById("bible-message");
    form.addEventListener("click", (event) => {
      const button = event.target.closest("button");
      if (!button) return;
      if (button.classList.contains("remove")) button.closest("tr").remove();
      if (button.id === "add-word") {
        const row = document.getElementById("word-template").content.firstElementChild.cloneNode(true);
        form.querySelector("table.lexicon tbody").appendChild(row);
        row.querySelector("input").focus();
      }
    });
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const { response, payload } = await call("PATCH", `/v1/shows/${form.dataset.showId}`, {
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify(bibleOf(form)),
      });
      out.classList.toggle("error", !response.ok);
      out.textContent = response.ok ? "Saved. New episodes use these settings." : ((payload.error && payload.error.message) || `Saving failed (${response.status})`);
    });
  }

  document.addEventListener("DOMContentLoaded", setup);
  document.addEventListener("DOMContentLoaded", setupBible);
})();
