"""The bot's policy, with no Discord import: errors, the job pipeline, quotas, moderation, image options."""
