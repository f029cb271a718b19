"""Plain async services with no Discord imports: image generation, downloads, encoding, identities."""
