"""Moderation policy: the layered prompt check, thresholds, the blocklist and the folding it matches against."""
