"""Email rendering: MJML compiled once, filled per recipient; editor content made safe; text."""
