"""Discord adapters, one per feature: each translates interactions to service calls and back."""
