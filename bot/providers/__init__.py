"""Wrappers around the one shared ``AsyncOpenAI`` client: generation, moderation, model retirement, downloads."""
