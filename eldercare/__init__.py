"""eldercare."""
