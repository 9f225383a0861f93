"""Off-site copies (issue 16)."""
