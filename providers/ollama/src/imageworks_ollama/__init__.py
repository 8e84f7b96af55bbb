"""ImageWorks ollama provider."""
