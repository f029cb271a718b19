"""A self-hosted Discord bot that turns /imagine prompts into images."""
