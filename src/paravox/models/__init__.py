"""Model backends (speech recognition, vocal events, emotion, embeddings), chosen by name."""
