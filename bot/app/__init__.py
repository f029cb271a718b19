"""Start-up and wiring: settings, the Discord client, command registration, health, logging."""
