"""Custom Rasa components for SafeStep (they import nothing from `bot/`)."""
