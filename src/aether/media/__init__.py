"""Pure media building blocks: audio (PCM, loudness, encoders), music, covers, video frames, transcripts,
chapters and ID3/Opus tags. No database, no network."""
