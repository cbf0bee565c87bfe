// Aether's small client: create-episode form, live progress by server-sent events, transcript that
// follows playback, chapters. No external code besides htmx (vendored).
(function () {
  "use strict";
  const csrf = () => document.querySelector('meta[name="csrf-token"]').content;

  function renderProgress(state) {
    const status = document.getElementById("progress-status");
    const list = document.getElementById("progress-steps");
    if (!status || !list) return;
    // the words come from the server (aether.podcasts.stages), the same on the page and in the stream
    status.textContent = state.said || `Episode ${state.status}`;
    list.innerHTML = "";
    for (const step of state.steps || []) {
      const li = document.createElement("li");
      li.dataset.status = step.status;
      li.dataset.step = step.name;
      li.textContent = step.said || `${step.name}: ${step.status}`;
      list.appendChild(li);
    }
  }

  function follow(episodeId, onDone) {
    const source = new EventSource(`/v1/episodes/${episodeId}/events`);
    source.addEventListener("progress", (ev) => renderProgress(JSON.parse(ev.data)));
    source.addEventListener("done", (ev) => {
      source.close();
      const data = JSON.parse(ev.data);
      const status = document.getElementById("progress-status");
      if (status) status.dataset.final = data.status;
      if (onDone) onDone(data.status);
    });
    return source;
  }

  function setupEpisodeForm() {
    const form = document.getElementById("episode-form");
    if (!form) return;
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const error = document.getElementById("episode-error");
      error.hidden = true;
      const data = new FormData(form);
      const body = { topic: data.get("topic") };
      if (data.get("title")) body.title = data.get("title");
      if (data.get("episode_minutes")) body.episode_minutes = Number(data.get("episode_minutes"));
      const hosts = String(data.get("hosts") || "").split(",").map((h) => h.trim()).filter(Boolean);
      if (hosts.length) body.hosts = hosts;
      if (data.get("language")) body.language = data.get("language");
      body.video = data.get("video") === "on";
      const button = form.querySelector("button");
      button.disabled = true;
      const response = await fetch(`/v1/shows/${form.dataset.showId}/episodes`, {
        method: "POST",
        headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf(), "X-Idempotency-Key": form.dataset.idempotencyKey },
        body: JSON.stringify(body),
        credentials: "same-origin",
      });
      const payload = await response.json();
      if (!response.ok) {
        error.textContent = payload.error ? payload.error.message : "The episode could not be created.";
        error.hidden = false;
        button.disabled = false;
        if (response.status === 422 || response.status === 400) {
          form.dataset.idempotencyKey = crypto.randomUUID ? crypto.randomUUID() : String(Date.now());
        }
        return;
      }
      const episode = payload.episode;
      document.getElementById("progress").hidden = false;
      form.hidden = true;
      follow(episode.id, () => {
        const done = document.getElementById("progress-done");
        const link = document.getElementById("episode-link");
        link.href = `/episodes/${episode.id}`;
        done.hidden = false;
      });
    });
  }

  function parseTime(text) {
    const parts = text.trim().split(":").map(Number);
    return parts.reduce((acc, v) => acc * 60 + v, 0);
  }

  function parseVtt(text) {
    const cues = [];
    for (const block of text.replace(/\r/g, "").split("\n\n")) {
      const lines = block.split("\n");
      const idx = lines.findIndex((l) => l.includes("-->"));
      if (idx < 0) continue;
      const [start, end] = lines[idx].split("-->").map((s) => parseTime(s.split(" ").filter(Boolean)[0]));
      const raw = lines.slice(idx + 1).join(" ");
      const text = raw.replace(/<v(?:\.[^\s>]*)?\s+([^>]+)>/g, "$1: ").replace(/<\/?[^>]+>/g, "").trim();
      cues.push({ start, end, text });
    }
    return cues;
  }

  async function setupPlayer() {
    const player = document.getElementById("player");
    if (!player) return;
    if (player.dataset.chapters) {
      try {
        const chapters = await (await fetch(player.dataset.chapters)).json();
        const list = document.getElementById("chapters");
        for (const ch of chapters.chapters || []) {
          const li = document.createElement("li");
          const a = document.createElement("a");
          a.href = "#";
          a.textContent = ch.title || `Chapter at ${ch.startTime}s`;
          a.addEventListener("click", (e) => { e.preventDefault(); player.currentTime = ch.startTime; player.play(); });
          li.appendChild(a);
          list.appendChild(li);
        }
        document.getElementById("chapters-section").hidden = !(chapters.chapters || []).length;
      } catch (e) { /* no chapters */ }
    }
    if (player.dataset.transcript) {
      try {
        const cues = parseVtt(await (await fetch(player.dataset.transcript)).text());
        const box = document.getElementById("transcript");
        const nodes = cues.map((cue) => {
          const p = document.createElement("p");
          p.textContent = cue.text;
          p.addEventListener("click", () => { player.currentTime = cue.start; player.play(); });
          box.appendChild(p);
          return p;
        });
        document.getElementById("transcript-section").hidden = !cues.length;
        let current = -1;
        player.addEventListener("timeupdate", () => {
          const t = player.currentTime;
          const i = cues.findIndex((c) => t >= c.start && t < c.end);
          if (i === current || i < 0) return;
          if (current >= 0) nodes[current].classList.remove("current");
          nodes[i].classList.add("current");
          current = i;
          box.scrollTop = nodes[i].offsetTop - box.offsetTop - 40;
        });
      } catch (e) { /* no transcript */ }
    }
  }

  function setupProgressPage() {
    const section = document.getElementById("progress");
    if (section && section.dataset.episodeId) follow(section.dataset.episodeId, () => window.location.reload());
  }

  document.addEventListener("DOMContentLoaded", () => {
    setupEpisodeForm();
    setupPlayer();
    setupProgressPage();
  });
})();
