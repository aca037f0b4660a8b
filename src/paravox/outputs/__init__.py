"""Output formats rendered from an Analysis."""
