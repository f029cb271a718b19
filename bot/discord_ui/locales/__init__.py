"""One message catalogue per language, plus the translations of command names and descriptions."""
