"""Local stand-ins for Discord and OpenAI that speak the real protocols over 127.0.0.1."""
