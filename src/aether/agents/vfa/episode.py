"""An episode's audio from its script, in four streamed passes over files on disk:

1. speech: every line synthesised (in parallel, in order) and written with natural pauses (shorter
   within a turn, longer between segments); the real start and end of each line become the transcript;
2. mix: the music bed looped under the speech, ducked while a host speaks and opened up between
   segments, with the intro and outro stings; the mix is metered (BS.1770) as it is written;
3. master: gain to the target loudness and a true-peak limiter, straight into the MP3 and Opus encoders
   (each on a thread of its own, so the three run on all cores);
4. check: the MP3 and the Opus file are decoded and metered, side by side; if a codec overshoot broke
   the true-peak limit, the master pass runs again with a lower ceiling.

No pass holds more than a few seconds of audio, so memory stays flat however long the episode.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from numpy.typing import NDArray
from scipy.ndimage import uniform_filter1d

from aether.agents.vfa.clips import SpeechStats, speak
from aether.media import chapters as chapter_doc
from aether.media.audio import BLOCK, SAMPLE_RATE, PcmWriter, pcm_blocks, samples, seconds
from aether.media.chapters import Chapter
from aether.media.encode import BackgroundSink, Mp3Sink, OpusSink
from aether.media.ffmpeg import decode_pcm
from aether.media.loudness import LoudnessMeter, TruePeakMeter, master
from aether.media.music import MusicParts, bed_at
from aether.media.script import Line, Script
from aether.media.tags import EpisodeTags, write_id3, write_opus_tags
from aether.media.transcript import MUSIC, Cue, to_webvtt
from aether.providers.tts import VoiceSettings
from aether.storage import ObjectStore
from aether.text.speech import speech_text

Progress = Callable[[str, float], None]

PAUSE_SAME_SPEAKER_S = 0.30
PAUSE_TURN_S = 0.45
PAUSE_AFTER_QUESTION_S = 0.32
PAUSE_SEGMENT_S = 1.4
LEAD_IN_S = 0.5  # silence before the first line when there is no music
TAIL_S = 0.5
LOUDNESS_TOLERANCE_LU = 0.7  # a master further than this from the target is redone with corrected gain
LIMITER_ALLOWANCE_DB = 0.3  # loudness the limiter and the MP3 low-pass usually take, given up front
CODEC_MARGIN_DB = 1.0  # the limiter aims this far under the true-peak limit; MP3/Opus overshoot a little
BED_OPEN_DB = -7.0
BED_DUCKED_DB = -21.0
CONTROL_HOP = 441  # music gain envelope: one value per 10 ms


@dataclass(frozen=True)
class AudioOptions:
    loudness_lufs: float = -16.0
    true_peak_dbtp: float = -1.0
    mp3_bitrate: int = 96
    opus_bitrate: int = 48
    threads: int = 2


@dataclass(frozen=True)
class Speech:
    """How the lines are spoken: the clip cache (None: synthesize every line), the lexicon, the threads."""

    clips: ObjectStore | None
    lexicon: tuple[tuple[str, str], ...]
    threads: int


@dataclass
class EpisodeAudio:
    mp3: Path
    opus: Path
    transcript: Path
    chapters: Path
    duration_s: float
    cues: list[Cue]
    chapter_list: list[Chapter]
    loudness_lufs: float
    true_peak_dbtp: float
    opus_true_peak_dbtp: float
    voices: list[str] = field(default_factory=list)
    lines_total: int = 0
    lines_synthesized: int = 0

    @property
    def speech_cues(self) -> list[Cue]:
        return [c for c in self.cues if c.is_speech]


def pause_before(previous: Line | None, line: Line, new_segment: bool) -> float:
    if previous is None:
        return 0.0
    if new_segment:
        return PAUSE_SEGMENT_S
    if previous.speaker == line.speaker:
        return PAUSE_SAME_SPEAKER_S
    if previous.text.rstrip().endswith("?"):
        return PAUSE_AFTER_QUESTION_S
    return PAUSE_TURN_S


def _speech_pass(
    script: Script,
    voices: list[VoiceSettings],
    path: Path,
    lead_in_s: float,
    speech: Speech,
    progress: Progress | None,
    stats: SpeechStats,
) -> tuple[list[Cue], int]:
    lines = script.lines
    jobs = [
        (
            speech_text(line.text, language=script.language, lexicon=speech.lexicon),
            voices[script.host_index(line.speaker)],
        )
        for _, line in lines
    ]

    def on_line(done: int) -> None:
        if progress:
            progress("speech", done / len(lines))

    cues: list[Cue] = []
    previous: tuple[int, Line] | None = None
    with PcmWriter(path) as writer:
        writer.silence(samples(lead_in_s))
        spoken = speak(jobs, speech.clips, threads=speech.threads, on_line=on_line, stats=stats)
        for (segment, line), audio in zip(lines, spoken, strict=True):
            if previous is not None:
                writer.silence(samples(pause_before(previous[1], line, segment != previous[0])))
            start = writer.position
            writer.write(audio)
            cues.append(Cue(seconds(start), seconds(writer.position), line.text, line.speaker, segment))
            previous = (segment, line)
        return cues, writer.position


def _bed_envelope(cues: list[Cue], total: int, intro_n: int, outro_start: int) -> NDArray[np.float64]:
    """Gain of the bed per CONTROL_HOP samples: ducked under speech, open between, faded at the ends."""
    n = total // CONTROL_HOP + 2
    level = np.full(n, BED_OPEN_DB)
    for cue in cues:
        lo = max(0, int((cue.start - 0.2) * SAMPLE_RATE / CONTROL_HOP))
        hi = min(n, int((cue.end + 0.3) * SAMPLE_RATE / CONTROL_HOP) + 1)
        level[lo:hi] = BED_DUCKED_DB
    level = uniform_filter1d(level, size=25, mode="nearest")
    gain: NDArray[np.float64] = np.power(10.0, level / 20)
    fade_in = (max(0, intro_n - samples(1.4)) // CONTROL_HOP, max(1, intro_n - samples(0.2)) // CONTROL_HOP)
    gain[: fade_in[0]] = 0.0
    ramp = max(1, fade_in[1] - fade_in[0])
    gain[fade_in[0] : fade_in[0] + ramp] *= np.linspace(0, 1, ramp)[: max(0, min(ramp, n - fade_in[0]))]
    out_lo = outro_start // CONTROL_HOP
    out_ramp = samples(1.2) // CONTROL_HOP
    gain[out_lo : out_lo + out_ramp] *= np.linspace(1, 0, out_ramp)[: max(0, min(out_ramp, n - out_lo))]
    gain[out_lo + out_ramp :] = 0.0
    return gain


def _mix_pass(
    speech: Path, mix: Path, total: int, cues: list[Cue], music: MusicParts | None, outro_start: int
) -> float:
    """Write speech + music to `mix`; return its integrated loudness."""
    meter = LoudnessMeter()
    envelope = _bed_envelope(cues, total, music.intro.size if music else 0, outro_start) if music else None
    control = np.arange(envelope.size) * CONTROL_HOP if envelope is not None else None
    with PcmWriter(mix) as writer:
        blocks = pcm_blocks(speech)
        start = 0
        carry = np.zeros(0, dtype=np.float32)
        while start < total:
            count = min(BLOCK, total - start)
            while carry.size < count:
                nxt = next(blocks, None)
                if nxt is None:
                    carry = np.concatenate([carry, np.zeros(count - carry.size, dtype=np.float32)])
                    break
                carry = np.concatenate([carry, nxt[1]])
            block, carry = carry[:count].astype(np.float64), carry[count:]
            if music is not None and envelope is not None and control is not None:
                positions = np.arange(start, start + count)
                block += bed_at(music.bed, start, count) * np.interp(positions, control, envelope)
                for sting, at in ((music.intro, 0), (music.outro, outro_start)):
                    lo, hi = max(start, at), min(start + count, at + sting.size)
                    if hi > lo:
                        block[lo - start : hi - start] += sting[lo - at : hi - at]
            writer.write(block)
            meter.feed(block)
            start += count
    return meter.integrated()


def _chapters(script: Script, cues: list[Cue], total_s: float) -> list[Chapter]:
    starts: list[float] = []
    for index in range(len(script.segments)):
        first = next(c for c in cues if c.segment == index)
        if index == 0:
            starts.append(0.0)
        else:
            previous_end = max(c.end for c in cues if c.segment == index - 1)
            starts.append(round((previous_end + first.start) / 2, 3))
    ends = [*starts[1:], total_s]
    return [
        Chapter(start, end, segment.title) for start, end, segment in zip(starts, ends, script.segments, strict=True)
    ]


def _master_pass(
    mix: Path, mp3: Path, opus: Path, options: AudioOptions, *, gain_db: float, ceiling_dbtp: float
) -> None:
    """The limiter on this thread; LAME and the Opus pipe each on a thread of its own."""
    with (
        Mp3Sink(mp3, bitrate_kbps=options.mp3_bitrate) as mp3_sink,
        OpusSink(opus, bitrate_kbps=options.opus_bitrate) as opus_sink,
    ):
        to_mp3 = BackgroundSink(mp3_sink, name="lame")
        to_opus = BackgroundSink(opus_sink, name="opus-pipe")
        try:

            def sink(block: np.ndarray) -> None:
                to_mp3(block)
                to_opus(block)

            master(mix, sink, gain_db=gain_db, ceiling_dbtp=ceiling_dbtp)
        finally:
            try:
                to_mp3.finish()
            finally:
                to_opus.finish()


def _measure(path: Path) -> tuple[float, float]:
    """(integrated loudness, true peak) of an encoded file, decoded."""
    loud, peak = LoudnessMeter(), TruePeakMeter()
    for block in decode_pcm(path):
        loud.feed(block)
        peak.feed(block)
    return loud.integrated(), peak.dbtp


def render_episode_audio(
    script: Script,
    workdir: Path,
    *,
    voices: list[VoiceSettings],
    music: MusicParts | None,
    cover_jpeg: bytes | None,
    options: AudioOptions,
    progress: Progress | None = None,
    clips: ObjectStore | None = None,
    lexicon: Sequence[tuple[str, str]] = (),
) -> EpisodeAudio:
    """Render the episode into `workdir`: episode.mp3, episode.opus, transcript.vtt, chapters.json.
    Lines are spoken as `lexicon` says (speech only; the transcript keeps the script's words) and taken
    from the clip cache in `clips` when they were spoken before with the same voice."""
    workdir.mkdir(parents=True, exist_ok=True)
    speech, mix = workdir / "speech.f32", workdir / "mix.f32"
    lead_in = max(LEAD_IN_S, seconds(music.intro.size) - 0.8) if music else LEAD_IN_S
    stats = SpeechStats()
    cues, speech_end = _speech_pass(
        script, voices, speech, lead_in, Speech(clips, tuple(lexicon), options.threads), progress, stats
    )
    outro_start = speech_end + samples(0.5)
    total = outro_start + music.outro.size if music else speech_end + samples(TAIL_S)
    total_s = seconds(total)
    if progress:
        progress("mix", 0.0)
    mix_loudness = _mix_pass(speech, mix, total, cues, music, outro_start)
    speech.unlink()
    if not math.isfinite(mix_loudness):
        raise ValueError("the rendered episode is silent")

    chapter_list = _chapters(script, cues, total_s)
    tags = EpisodeTags(
        title=script.episode_title,
        show=script.show_title,
        author=script.author,
        hosts=[h.name for h in script.hosts],
        description=script.description,
        language=script.language,
        chapters=chapter_list,
        cover_jpeg=cover_jpeg,
    )
    mp3, opus = workdir / "episode.mp3", workdir / "episode.opus"
    ceiling = options.true_peak_dbtp - CODEC_MARGIN_DB
    gain_db = options.loudness_lufs - mix_loudness + LIMITER_ALLOWANCE_DB
    for _attempt in range(4):
        if progress:
            progress("master", 0.0)
        _master_pass(mix, mp3, opus, options, gain_db=gain_db, ceiling_dbtp=ceiling)
        with ThreadPoolExecutor(max_workers=2, thread_name_prefix="measure") as pool:
            mp3_check, opus_check = pool.submit(_measure, mp3), pool.submit(_measure, opus)
            loudness, peak = mp3_check.result()
            _, opus_peak = opus_check.result()
        worst = max(peak, opus_peak)
        off = options.loudness_lufs - loudness
        if worst <= options.true_peak_dbtp and abs(off) <= LOUDNESS_TOLERANCE_LU:
            break
        # the limiter took loudness away (more gain), or a codec overshot the peak limit (lower ceiling)
        gain_db += off * 1.1
        if worst > options.true_peak_dbtp:
            ceiling -= worst - options.true_peak_dbtp + 0.3
    mix.unlink()
    write_id3(mp3, tags)
    write_opus_tags(opus, tags)

    all_cues = list(cues)
    if music is not None:
        all_cues.insert(0, Cue(0.0, cues[0].start, MUSIC))
        all_cues.append(Cue(cues[-1].end, total_s, MUSIC))
    transcript = workdir / "transcript.vtt"
    transcript.write_text(to_webvtt(all_cues, script.episode_title), encoding="utf-8")
    chapters = workdir / "chapters.json"
    chapters.write_text(
        chapter_doc.to_json(
            chapter_doc.podcasting20(chapter_list, title=script.episode_title, podcast=script.show_title)
        ),
        encoding="utf-8",
    )
    if progress:
        progress("done", 1.0)
    return EpisodeAudio(
        mp3=mp3,
        opus=opus,
        transcript=transcript,
        chapters=chapters,
        duration_s=total_s,
        cues=all_cues,
        chapter_list=chapter_list,
        loudness_lufs=round(loudness, 2),
        true_peak_dbtp=round(peak, 2),
        opus_true_peak_dbtp=round(opus_peak, 2),
        voices=[v.label for v in voices],
        lines_total=stats.lines_total,
        lines_synthesized=stats.lines_synthesized,
    )
