"""Generated and hand-written Control API modules (the generated ones are never edited)."""
