"""Everything members see: replies, the public job flow, progress, buttons, embeds, the mod-log, texts, locales."""
