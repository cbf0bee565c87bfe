-- Show notes: each published episode keeps its notes (aether.podcasts.notes) -- a summary, the sources
-- with their titles and links, the chapter times, and the plain-text and HTML renderings the feed, the
-- episode page, the API, mails and the YouTube description show. NULL until the episode is released.

ALTER TABLE episodes ADD COLUMN IF NOT EXISTS notes JSONB
  CHECK (notes IS NULL OR jsonb_typeof(notes) = 'object');
