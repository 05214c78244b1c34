"""The Discord edge: thin cogs, views and embed rendering. Translate an interaction, call a service, render."""
